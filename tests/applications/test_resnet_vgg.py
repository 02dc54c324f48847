"""ResNet (V1, V2) and VGG against Keras 3: the same layers (names, order) and parameter
counts, Keras-saved weights loading into gazelle's models with the same predictions, the
ImageNet weights lookup, and the transfer-learning recipe."""
import hashlib
import os
import re
import shutil

import numpy as np
import pytest

import gazelle
from gazelle import applications
from gazelle.applications import resnet, vgg16
from gazelle.utils import file_utils

keras3 = pytest.importorskip("keras")

FAST = ["ResNet50", "ResNet50V2", "VGG16"]
SLOW = ["ResNet101", "ResNet152", "ResNet101V2", "ResNet152V2", "VGG19"]
ALL = FAST + [pytest.param(name, marks=pytest.mark.slow) for name in SLOW]
KERAS_NAMES = {"ResNet50": "resnet50", "ResNet101": "resnet101", "ResNet152": "resnet152",
               "ResNet50V2": "resnet50v2", "ResNet101V2": "resnet101v2",
               "ResNet152V2": "resnet152v2", "VGG16": "vgg16", "VGG19": "vgg19"}
# Layers Keras names from a global counter (`max_pooling2d_3`): compared without the suffix.
_AUTO = re.compile(r"^(max_pooling2d|global_average_pooling2d|global_max_pooling2d)(_\d+)?$")


def _layer_names(model):
    # The input layer is left out: Keras 3 calls it `input_layer`, gazelle `input_<n>`.
    return [_AUTO.sub(r"\1", layer.name) for layer in model.layers[1:]]


@pytest.mark.parametrize("config", [{}, {"include_top": False, "pooling": "avg"}],
                         ids=["top", "notop_avg"])
@pytest.mark.parametrize("name", ALL)
def test_same_layers_and_parameters_as_keras(name, config):
    ours = getattr(applications, name)(weights=None, **config)
    theirs = getattr(keras3.applications, name)(weights=None, **config)
    assert ours.name == theirs.name == KERAS_NAMES[name]
    assert ours.count_params() == theirs.count_params()
    assert _layer_names(ours) == _layer_names(theirs)
    assert tuple(ours.output.shape) == tuple(theirs.output.shape)
    assert [type(layer).__name__ for layer in ours.layers[1:]] == \
        [type(layer).__name__ for layer in theirs.layers[1:]]
    for mine, other in zip(ours.layers[1:], theirs.layers[1:]):
        assert [w.shape for w in mine.weights] == [tuple(w.shape) for w in other.weights], \
            mine.name


# -- Keras-saved weights ---------------------------------------------------------------------------
# name -> (build kwargs, input shape). Small inputs keep these fast; VGG keeps its top (small
# with 32x32 inputs and 10 classes) to check the Flatten/Dense layers load too.
_LOAD_CASES = {
    "ResNet50": dict(include_top=False, pooling="avg", input_shape=(64, 64, 3)),
    "ResNet50V2": dict(include_top=False, pooling="avg", input_shape=(64, 64, 3)),
    "VGG16": dict(include_top=True, input_shape=(32, 32, 3), classes=10,
                  classifier_activation=None),
    "ResNet101": dict(include_top=True, input_shape=(32, 32, 3), classes=10),
    "ResNet152": dict(include_top=False, pooling="max", input_shape=(32, 32, 3)),
    "ResNet101V2": dict(include_top=False, input_shape=(32, 32, 3)),
    "ResNet152V2": dict(include_top=False, pooling="avg", input_shape=(32, 32, 3)),
    "VGG19": dict(include_top=True, input_shape=(32, 32, 3), classes=10),
}


def _randomize_batchnorm(model, seed=0):
    """Moving statistics away from 0/1, so that loading them is visible in predictions."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras3.layers.BatchNormalization):
            n = layer.moving_mean.shape
            layer.moving_mean.assign(rng.normal(0, 0.1, n).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 1.5, n).astype("float32"))
            layer.gamma.assign(rng.uniform(0.8, 1.2, n).astype("float32"))
            layer.beta.assign(rng.normal(0, 0.1, n).astype("float32"))


class _Saved:
    def __init__(self, name, folder):
        from keras.src.legacy.saving import legacy_h5_format
        import h5py
        self.kwargs = _LOAD_CASES[name]
        model = getattr(keras3.applications, name)(weights=None, **self.kwargs)
        _randomize_batchnorm(model)
        rng = np.random.default_rng(1)
        self.x = rng.uniform(-1, 1, (2,) + self.kwargs["input_shape"]).astype("float32")
        self.expected = np.asarray(model.predict(self.x, verbose=0))
        self.keras3_path = str(folder / f"{name}.weights.h5")
        model.save_weights(self.keras3_path)            # Keras 3's layout
        self.legacy_path = str(folder / f"{name}_legacy.h5")
        with h5py.File(self.legacy_path, "w") as f:     # tf.keras 2's (the published files')
            legacy_h5_format.save_weights_to_hdf5_group(f, model)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = _Saved(name, tmp_path_factory.mktemp(name))
        return cache[name]
    return get


def _check_loads(saved, name, layout):
    case = saved(name)
    path = case.keras3_path if layout == "keras3" else case.legacy_path
    model = getattr(applications, name)(weights=path, **case.kwargs)
    got = np.asarray(model.predict(case.x, verbose=0))
    scale = max(1.0, float(np.abs(case.expected).max()))
    np.testing.assert_allclose(got, case.expected, rtol=1e-4, atol=1e-5 * scale)
    return model


@pytest.mark.parametrize("layout", ["keras3", "legacy_h5"])
@pytest.mark.parametrize("name", FAST)
def test_keras_saved_weights_load(saved, name, layout):
    _check_loads(saved, name, layout)


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["keras3", "legacy_h5"])
@pytest.mark.parametrize("name", SLOW)
def test_keras_saved_weights_load_slow(saved, name, layout):
    _check_loads(saved, name, layout)


def test_fresh_model_differs_from_saved(saved):
    # The comparison above can fail: a model without the file predicts something else.
    case = saved("ResNet50")
    model = applications.ResNet50(weights=None, **case.kwargs)
    assert not np.allclose(np.asarray(model.predict(case.x, verbose=0)), case.expected,
                           atol=1e-3)


# -- weights="imagenet" ------------------------------------------------------------------------------
@pytest.fixture
def offline(tmp_path, monkeypatch):
    for var, sub in (("HOME", "home"), ("KERAS_HOME", "keras"), ("GAZELLE_HOME", "gazelle")):
        monkeypatch.setenv(var, str(tmp_path / sub))

    def no_network(url, target, *args, **kwargs):
        raise OSError(f"no network access for {url}")

    monkeypatch.setattr(file_utils, "download", no_network)
    return tmp_path


def test_imagenet_offline_error(offline):
    name = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
    with pytest.raises(FileNotFoundError) as info:
        applications.ResNet50(include_top=False, input_shape=(32, 32, 3))
    message = str(info.value)
    assert name in message
    assert ("https://storage.googleapis.com/tensorflow/keras-applications/resnet/" + name
            in message)
    assert str(offline / "keras" / "models") in message


def test_imagenet_offline_error_vgg(offline):
    with pytest.raises(FileNotFoundError) as info:
        applications.VGG19(include_top=True)
    assert ("https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
            "vgg19_weights_tf_dim_ordering_tf_kernels.h5") in str(info.value)
    assert "cbe5617147190e668d6c5d5026f83318" in str(info.value)


def test_imagenet_weights_from_keras_cache(offline, saved, monkeypatch):
    # Keras's published files are tf.keras 2 `.h5` files in ~/.keras/models: one written
    # by Keras (random weights) stands in, with its own md5 as the expected hash.
    case = saved("ResNet50")
    with open(case.legacy_path, "rb") as f:
        md5 = hashlib.md5(f.read()).hexdigest()
    monkeypatch.setitem(resnet.WEIGHTS_HASHES, "resnet50", ("0" * 32, md5))
    folder = offline / "keras" / "models"
    folder.mkdir(parents=True)
    shutil.copy(case.legacy_path, folder / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5")
    model = applications.ResNet50(**case.kwargs)          # weights="imagenet"
    np.testing.assert_allclose(np.asarray(model.predict(case.x, verbose=0)), case.expected,
                               rtol=1e-4, atol=1e-5)
    # a copy with another hash is not used
    monkeypatch.setitem(resnet.WEIGHTS_HASHES, "resnet50", ("0" * 32, "1" * 32))
    with pytest.raises(FileNotFoundError, match="Rejected \\(wrong hash\\)"):
        applications.ResNet50(**case.kwargs)


def test_weights_file_names_and_hashes():
    assert resnet.weights_file_name("resnet101v2", False) == \
        "resnet101v2_weights_tf_dim_ordering_tf_kernels_notop.h5"
    from keras.src.applications import resnet as kresnet
    assert resnet.WEIGHTS_HASHES == {k: v for k, v in kresnet.WEIGHTS_HASHES.items()
                                     if k in resnet.WEIGHTS_HASHES}
    assert len(resnet.WEIGHTS_HASHES) == 6 and set(vgg16.WEIGHTS_HASHES) == {"vgg16", "vgg19"}


# -- arguments ---------------------------------------------------------------------------------------
def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="`classes` should be 1000"):
        applications.ResNet50(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match=r"`input_shape` should be \(224, 224, 3\)"):
        applications.VGG16(weights="imagenet", input_shape=(64, 64, 3))
    with pytest.raises(ValueError, match="`weights` argument should be either"):
        applications.ResNet50V2(weights="imagenet_v2")
    with pytest.raises(ValueError, match="no such file"):
        applications.VGG19(weights=str(tmp_path / "missing.h5"))
    with pytest.raises(ValueError, match="at least 32x32"):
        applications.ResNet50(weights=None, include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="Only `None` and `softmax`"):
        applications.ResNet50(weights="imagenet", classifier_activation="sigmoid")


def test_options_and_input_tensor():
    model = applications.ResNet50(weights=None, input_shape=(32, 32, 3), classes=7,
                                  classifier_activation=None, name="mine")
    assert model.name == "mine" and tuple(model.output.shape) == (None, 7)
    assert model.get_layer("predictions").get_config()["activation"] == "linear"
    features = applications.ResNet50V2(weights=None, include_top=False)
    assert tuple(features.output.shape) == (None, None, None, 2048)
    assert features.layers[-1].name == "post_relu"
    maxed = applications.VGG16(weights=None, include_top=False, pooling="max",
                               input_shape=(48, 48, 3))
    assert tuple(maxed.output.shape) == (None, 512)
    source = gazelle.Input((40, 40, 3))
    resized = gazelle.layers.Resizing(32, 32)(source)
    built = applications.VGG16(weights=None, include_top=False, input_tensor=resized)
    assert built.inputs == [source]
    x = np.random.default_rng(0).uniform(0, 1, (1, 40, 40, 3)).astype("float32")
    assert built.predict(x, verbose=0).shape == (1, 1, 1, 512)


# -- transfer learning -------------------------------------------------------------------------------
def _transfer_model():
    base = applications.ResNet50(weights=None, include_top=False, input_shape=(32, 32, 3))
    base.trainable = False
    inputs = gazelle.Input((32, 32, 3))
    x = base(inputs, training=False)
    x = gazelle.layers.GlobalAveragePooling2D()(x)
    outputs = gazelle.layers.Dense(3, activation="softmax", name="head")(x)
    model = gazelle.Model(inputs, outputs)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (16, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 3, 16)
    return base, model, x, y


def _values(variables):
    return [np.array(v) for v in variables]


def _fit_frozen(base, model, x, y):
    base_before = _values(base.weights)
    head_before = _values(model.get_layer("head").weights)
    assert len(base.trainable_weights) == 0 and len(base_before) == 318
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    # Frozen: kernels, BN gamma/beta and BN moving statistics all unchanged
    for before, var in zip(base_before, base.weights):
        np.testing.assert_array_equal(before, np.array(var), err_msg=var.path)
    assert any(not np.array_equal(b, np.array(v))
               for b, v in zip(head_before, model.get_layer("head").weights))
    return base_before


def test_transfer_learning_frozen_base():
    _fit_frozen(*_transfer_model())


@pytest.mark.slow
def test_transfer_learning_then_fine_tune():
    base, model, x, y = _transfer_model()
    base_before = _fit_frozen(base, model, x, y)
    base.trainable = True
    model.compile(optimizer=gazelle.optimizers.Adam(1e-5),
                  loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    # Every trainable weight moves; the moving statistics stay: the base is called with
    # training=False, so its BatchNormalization layers keep running in inference mode.
    trainable = {id(v) for v in base.trainable_weights}
    assert len(trainable) == 212
    for before, var in zip(base_before, base.weights):
        if id(var) in trainable:
            assert not np.array_equal(before, np.array(var)), var.path
        else:
            assert "moving_" in var.path
            np.testing.assert_array_equal(before, np.array(var), err_msg=var.path)
