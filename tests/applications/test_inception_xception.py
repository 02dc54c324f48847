"""Xception, InceptionV3 and InceptionResNetV2 against Keras 3: the same layers (names,
classes, order, weight shapes) and parameter counts, Keras-saved weights (Keras 3's and
tf.keras 2's layouts) loading with the same predictions, Keras's ImageNet file names and
hashes, the offline error, argument errors, preprocessing, and InceptionResNetV2's scaled
residual layer (`CustomScaleLayer`) through `.keras` files.

Each structure comparison builds both models in a fresh naming session, so that even the
auto-named layers (`conv2d_7`, `batch_normalization_7`, ...) must match by name."""
import hashlib
import inspect
import re
import shutil

import numpy as np
import pytest

# A heavy sweep (whole application networks built in both libraries): in the slow pass,
# which CI runs; ResNet/VGG (test_resnet_vgg.py) stay in the default run.
pytestmark = pytest.mark.slow

keras = pytest.importorskip("keras")

import gazelle  # noqa: E402
import gazelle.applications as ga  # noqa: E402
from gazelle.applications import inception_resnet_v2, inception_v3, xception  # noqa: E402
from gazelle.core import naming  # noqa: E402
from gazelle.utils import file_utils  # noqa: E402

NAMES = ["Xception", "InceptionV3", "InceptionResNetV2"]
MODULES = {"Xception": xception, "InceptionV3": inception_v3,
           "InceptionResNetV2": inception_resnet_v2}
KERAS_MODULES = {"Xception": "xception", "InceptionV3": "inception_v3",
                 "InceptionResNetV2": "inception_resnet_v2"}
MIN_SIZE = {"Xception": 71, "InceptionV3": 75, "InceptionResNetV2": 75}


def _fresh_names():
    keras.backend.clear_session()
    naming.reset()


def _pair(name, **kwargs):
    """The Keras 3 model and gazelle's, each built in a fresh naming session."""
    _fresh_names()
    expected = getattr(keras.applications, name)(weights=None, **kwargs)
    _fresh_names()
    got = getattr(ga, name)(weights=None, **kwargs)
    return expected, got


def _assert_same_structure(expected, got):
    # The input layer is left out: Keras 3 names it `input_layer`, gazelle `input_1`.
    assert got.name == expected.name
    assert [layer.name for layer in got.layers[1:]] == \
        [layer.name for layer in expected.layers[1:]]
    assert [type(layer).__name__ for layer in got.layers[1:]] == \
        [type(layer).__name__ for layer in expected.layers[1:]]
    assert got.count_params() == expected.count_params()
    assert tuple(got.output.shape) == tuple(expected.output.shape)
    assert [tuple(w.shape) for w in got.weights] == [tuple(w.shape) for w in expected.weights]


@pytest.mark.parametrize("name", [
    "Xception",
    # the default run checks these two at small sizes (test_same_structure_other_options)
    pytest.param("InceptionV3", marks=pytest.mark.slow),
    pytest.param("InceptionResNetV2", marks=pytest.mark.slow)])
def test_same_layers_and_parameters_as_keras(name):
    expected, got = _pair(name)
    _assert_same_structure(expected, got)
    assert tuple(got.input.shape) == (None, 299, 299, 3)
    assert tuple(got.output.shape) == (None, 1000)


@pytest.mark.parametrize("name, kwargs", [
    ("Xception", dict(include_top=False, pooling="avg", input_shape=(71, 71, 3))),
    ("InceptionV3", dict(include_top=False, pooling="max", input_shape=(75, 75, 3))),
    ("InceptionResNetV2", dict(include_top=False, input_shape=(75, 80, 3))),
    ("InceptionV3", dict(input_shape=(96, 96, 1), classes=7, classifier_activation=None)),
])
def test_same_structure_other_options(name, kwargs):
    _assert_same_structure(*_pair(name, **kwargs))


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_same_structure_channels_first(name):
    before = gazelle.config.image_data_format()
    try:
        keras.config.set_image_data_format("channels_first")
        gazelle.config.set_image_data_format("channels_first")
        expected, got = _pair(name, include_top=False, pooling="avg",
                              input_shape=(3, 96, 96))
    finally:
        keras.config.set_image_data_format("channels_last")
        gazelle.config.set_image_data_format(before)
    _assert_same_structure(expected, got)
    assert tuple(got.input.shape) == (None, 3, 96, 96)


# -- Keras-saved weights ---------------------------------------------------------------------------
def _randomize_batchnorm(model, seed=0):
    """Moving statistics and offsets away from 0/1, so that loading them shows."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.moving_mean.shape
            layer.moving_mean.assign(rng.normal(0, 0.1, n).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 1.5, n).astype("float32"))
            layer.beta.assign(rng.normal(0, 0.1, n).astype("float32"))
            if layer.gamma is not None:
                layer.gamma.assign(rng.uniform(0.8, 1.2, n).astype("float32"))


class _Saved:
    """A Keras model with random weights, its predictions, and its weights in both layouts."""

    def __init__(self, name, kwargs, folder):
        import h5py
        from keras.src.legacy.saving import legacy_h5_format
        self.kwargs = kwargs
        _fresh_names()
        model = getattr(keras.applications, name)(weights=None, **kwargs)
        _randomize_batchnorm(model)
        shape = kwargs.get("input_shape", (299, 299, 3))
        self.x = np.random.default_rng(1).uniform(-1, 1, (2,) + shape).astype("float32")
        self.expected = np.asarray(model.predict(self.x, verbose=0))
        self.keras3_path = str(folder / f"{name}.weights.h5")
        model.save_weights(self.keras3_path)            # Keras 3's layout
        self.legacy_path = str(folder / f"{name}_legacy.h5")
        with h5py.File(self.legacy_path, "w") as f:     # tf.keras 2's (the published files')
            legacy_h5_format.save_weights_to_hdf5_group(f, model)


# Small inputs keep these fast; Xception keeps a (small) top so that Dense loads too.
SMALL = {
    "Xception": dict(input_shape=(71, 71, 3), classes=10, classifier_activation=None),
    "InceptionV3": dict(include_top=False, pooling="avg", input_shape=(75, 75, 3)),
    "InceptionResNetV2": dict(include_top=False, pooling="avg", input_shape=(75, 75, 3)),
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    cache = {}

    def get(name, kwargs=None):
        key = (name, repr(kwargs))
        if key not in cache:
            cache[key] = _Saved(name, SMALL[name] if kwargs is None else kwargs,
                                tmp_path_factory.mktemp(name))
        return cache[key]
    return get


def _check_loads(case, name, layout):
    path = case.keras3_path if layout == "keras3" else case.legacy_path
    model = getattr(ga, name)(weights=path, **case.kwargs)
    got = np.asarray(model.predict(case.x, verbose=0))
    scale = float(np.abs(case.expected).max())
    assert scale > 1e-3, "the outputs are too small for the comparison to mean anything"
    np.testing.assert_allclose(got, case.expected, rtol=1e-4, atol=1e-4 * scale)
    return model


# InceptionResNetV2's scaled residual layer is also checked by the fast block tests below.
@pytest.mark.parametrize("name, layout", [
    ("Xception", "keras3"), ("Xception", "legacy_h5"),
    pytest.param("InceptionResNetV2", "keras3", marks=pytest.mark.slow),
    pytest.param("InceptionResNetV2", "legacy_h5", marks=pytest.mark.slow),
    pytest.param("InceptionV3", "keras3", marks=pytest.mark.slow),
    pytest.param("InceptionV3", "legacy_h5", marks=pytest.mark.slow),
])
def test_keras_saved_weights_load(saved, name, layout):
    _check_loads(saved(name), name, layout)


def test_fresh_model_differs_from_saved(saved):
    # The comparison above can fail: a model without the file predicts something else.
    case = saved("Xception")
    model = ga.Xception(weights=None, **case.kwargs)
    assert not np.allclose(np.asarray(model.predict(case.x, verbose=0)), case.expected,
                           atol=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_keras_saved_weights_load_full_size(saved, name):
    # The default configuration: 299x299 inputs and the 1000-class classifier.
    _check_loads(saved(name, {}), name, "legacy_h5")


# -- weights="imagenet" ------------------------------------------------------------------------------
@pytest.fixture
def offline(tmp_path, monkeypatch):
    for var, sub in (("HOME", "home"), ("KERAS_HOME", "keras"), ("GAZELLE_HOME", "gazelle")):
        monkeypatch.setenv(var, str(tmp_path / sub))

    def no_network(url, target, *args, **kwargs):
        raise OSError(f"no network access for {url}")

    monkeypatch.setattr(file_utils, "download", no_network)
    return tmp_path


@pytest.mark.parametrize("name, include_top", [
    ("Xception", True), ("InceptionV3", False), ("InceptionResNetV2", False)])
def test_imagenet_offline_error(offline, name, include_top):
    module = MODULES[name]
    file_name = module.FILE_NAME if include_top else module.FILE_NAME_NO_TOP
    kwargs = {} if include_top else dict(include_top=False, input_shape=(80, 80, 3))
    with pytest.raises(FileNotFoundError) as info:
        getattr(ga, name)(**kwargs)
    message = str(info.value)
    url = ("https://storage.googleapis.com/tensorflow/keras-applications/"
           f"{KERAS_MODULES[name]}/{file_name}")
    assert url in message
    assert module.WEIGHTS_HASHES[0 if include_top else 1] in message
    assert str(offline / "keras" / "models") in message
    assert "weights=None" in message


@pytest.mark.slow
def test_imagenet_weights_from_keras_cache(offline, saved, monkeypatch):
    # Keras's published files are tf.keras 2 `.h5` files in ~/.keras/models: one written
    # by Keras (random weights) stands in, with its own md5 as the expected hash.
    case = saved("Xception", dict(include_top=False, pooling="max", input_shape=(71, 71, 3)))
    with open(case.legacy_path, "rb") as f:
        md5 = hashlib.md5(f.read()).hexdigest()
    monkeypatch.setattr(xception, "WEIGHTS_HASHES", ("0" * 32, md5))
    folder = offline / "keras" / "models"
    folder.mkdir(parents=True)
    shutil.copy(case.legacy_path, folder / xception.FILE_NAME_NO_TOP)
    model = ga.Xception(**case.kwargs)          # weights="imagenet"
    np.testing.assert_allclose(np.asarray(model.predict(case.x, verbose=0)), case.expected,
                               rtol=1e-4, atol=1e-5)
    monkeypatch.setattr(xception, "WEIGHTS_HASHES", ("0" * 32, "1" * 32))
    with pytest.raises(FileNotFoundError, match="Rejected \\(wrong hash\\)"):
        ga.Xception(**case.kwargs)


@pytest.mark.parametrize("name", NAMES)
def test_weights_file_names_and_hashes_are_keras(name):
    import importlib
    module = MODULES[name]
    theirs = importlib.import_module(f"keras.src.applications.{KERAS_MODULES[name]}")
    # Keras splits some long names over two string literals: join them back.
    source = re.sub(r'"\s*\n\s*"', "", inspect.getsource(theirs))
    assert module.FILE_NAME == f"{KERAS_MODULES[name]}_weights_tf_dim_ordering_tf_kernels.h5"
    assert module.FILE_NAME_NO_TOP == module.FILE_NAME.replace(".h5", "_notop.h5")
    for file_name, file_hash in zip((module.FILE_NAME, module.FILE_NAME_NO_TOP),
                                    module.WEIGHTS_HASHES):
        assert f'"{file_name}"' in source or f'/{file_name}"' in source
        assert f'file_hash="{file_hash}"' in source
    assert module.ORIGIN == ("https://storage.googleapis.com/tensorflow/keras-applications/"
                             f"{KERAS_MODULES[name]}/")


# -- arguments ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_argument_errors(name, tmp_path):
    build = getattr(ga, name)
    small = MIN_SIZE[name]
    with pytest.raises(ValueError, match="`classes` should be 1000"):
        build(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match=r"`input_shape` should be \(299, 299, 3\)"):
        build(weights="imagenet", input_shape=(224, 224, 3))
    with pytest.raises(ValueError, match="`weights` argument should be either"):
        build(weights="imagenet21k")
    with pytest.raises(ValueError, match="no such file"):
        build(weights=str(tmp_path / "missing.h5"))
    with pytest.raises(ValueError, match=f"at least {small}x{small}"):
        build(weights=None, include_top=False, input_shape=(small - 1, 128, 3))
    with pytest.raises(ValueError, match="static `input_shape`"):
        build(weights=None, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="Only `None` and `softmax`"):
        build(weights="imagenet", classifier_activation="sigmoid")
    with pytest.raises(ValueError, match="input_tensor"):
        build(weights=None, input_tensor=np.zeros((1, 299, 299, 3), "float32"))


def test_free_spatial_dimensions():
    # (The minimum sizes build in test_same_structure_other_options.)
    model = ga.InceptionV3(weights=None, include_top=False)
    assert tuple(model.input.shape) == (None, None, None, 3)
    assert tuple(model.output.shape) == (None, None, None, 2048)
    assert model.layers[-1].name == "mixed10"
    model = ga.InceptionResNetV2(weights=None, include_top=False, pooling="max")
    assert tuple(model.output.shape) == (None, 1536)
    assert model.layers[-2].name == "conv_7b_ac"


def test_options_and_input_tensor():
    model = ga.Xception(weights=None, input_shape=(71, 71, 3), classes=7,
                        classifier_activation=None, name="mine")
    assert model.name == "mine" and tuple(model.output.shape) == (None, 7)
    assert model.get_layer("predictions").get_config()["activation"] == "linear"
    source = gazelle.Input((90, 90, 3))
    resized = gazelle.layers.Resizing(80, 80)(source)
    built = ga.InceptionV3(weights=None, include_top=False, pooling="avg",
                           input_tensor=resized)
    assert built.inputs == [source]
    x = np.random.default_rng(0).uniform(0, 1, (1, 90, 90, 3)).astype("float32")
    assert built.predict(x, verbose=0).shape == (1, 2048)


def test_modules_and_available():
    assert {"Xception", "InceptionV3", "InceptionResNetV2"} <= set(ga.available())
    assert ga.xception is xception and ga.Xception is xception.Xception
    assert ga.inception_v3.InceptionV3 is ga.InceptionV3
    assert ga.inception_resnet_v2.InceptionResNetV2 is ga.InceptionResNetV2


# -- preprocessing -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_preprocess_input_is_keras_tf_mode(name):
    import importlib
    theirs = importlib.import_module(f"keras.applications.{KERAS_MODULES[name]}")
    ours = MODULES[name]
    x = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    want = theirs.preprocess_input(x.copy())
    np.testing.assert_allclose(ours.preprocess_input(x.copy()), want, rtol=1e-6)
    assert want.min() >= -1.0 and want.max() <= 1.0
    tensor = ours.preprocess_input(gazelle.ops.convert_to_tensor(x))
    np.testing.assert_allclose(np.asarray(tensor), want, rtol=1e-6, atol=1e-6)
    ints = np.array([[[[0, 255, 127]]]], dtype="uint8")
    np.testing.assert_allclose(ours.preprocess_input(ints), [[[[-1.0, 1.0, 127 / 127.5 - 1]]]],
                               rtol=1e-6)
    with pytest.raises(ValueError, match="data_format"):
        ours.preprocess_input(x, data_format="channels_middle")


@pytest.mark.parametrize("name", NAMES)
def test_decode_predictions_is_keras(name, monkeypatch):
    import importlib
    import json
    import os

    from keras.src.applications import imagenet_utils as keras_utils
    # Keras downloads its class index on first use: give it gazelle's copy (same md5).
    with open(os.path.join(os.path.dirname(ga.imagenet_utils.__file__),
                           "imagenet_class_index.json"), encoding="utf8") as f:
        monkeypatch.setattr(keras_utils, "CLASS_INDEX", json.load(f))
    theirs = importlib.import_module(f"keras.applications.{KERAS_MODULES[name]}")
    preds = np.random.default_rng(3).dirichlet(np.ones(1000), size=2).astype("float32")
    got = MODULES[name].decode_predictions(preds, top=3)
    want = theirs.decode_predictions(preds, top=3)
    assert [[t[:2] for t in row] for row in got] == [[t[:2] for t in row] for row in want]
    np.testing.assert_allclose([[t[2] for t in row] for row in got],
                               [[t[2] for t in row] for row in want])
    with pytest.raises(ValueError, match=r"\(samples, 1000\)"):
        MODULES[name].decode_predictions(preds[:, :10])


# -- InceptionResNetV2's scaled residual ---------------------------------------------------------------
def _tiny_block_model(module, block_type="block35", channels=8):
    """A model of one Inception-ResNet block on a small input, built with `module`'s
    `inception_resnet_block` (Keras's module or gazelle's)."""
    lib = gazelle if module is inception_resnet_v2 else keras
    inputs = lib.Input((6, 6, channels))
    x = module.inception_resnet_block(inputs, scale=0.17, block_type=block_type, block_idx=1)
    return lib.Model(inputs, x, name="block")


def test_custom_scale_layer():
    layer = inception_resnet_v2.CustomScaleLayer(0.5)
    x = np.ones((2, 3), "float32")
    r = np.full((2, 3), 4.0, "float32")
    np.testing.assert_allclose(np.asarray(layer([x, r])), np.full((2, 3), 3.0))
    assert layer.get_config()["scale"] == 0.5
    clone = inception_resnet_v2.CustomScaleLayer.from_config(layer.get_config())
    assert clone.scale == 0.5
    with pytest.raises(TypeError, match="`scale` must be a number"):
        inception_resnet_v2.CustomScaleLayer("0.5")
    with pytest.raises(ValueError, match="two tensors"):
        layer(x)
    with pytest.raises(ValueError, match="block_type"):
        inception_resnet_v2.inception_resnet_block(gazelle.Input((6, 6, 8)), 0.1,
                                                   "block99", 1)


@pytest.mark.parametrize("block_type", ["block35", "block17", "block8"])
def test_inception_resnet_block_matches_keras(block_type, tmp_path):
    from keras.src.applications import inception_resnet_v2 as theirs
    _fresh_names()
    expected = _tiny_block_model(theirs, block_type)
    _randomize_batchnorm(expected)
    _fresh_names()
    got = _tiny_block_model(inception_resnet_v2, block_type)
    _assert_same_structure(expected, got)
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 8)).astype("float32")
    want = np.asarray(expected.predict(x, verbose=0))
    assert not np.allclose(np.asarray(got.predict(x, verbose=0)), want, atol=1e-3)
    # Keras 3's weights file keys layers by class name: `custom_scale_layer` included.
    path = str(tmp_path / "block.weights.h5")
    expected.save_weights(path)
    got.load_weights(path)
    np.testing.assert_allclose(np.asarray(got.predict(x, verbose=0)), want,
                               rtol=1e-5, atol=1e-5)


def test_scaled_residual_survives_keras_file(tmp_path):
    model = _tiny_block_model(inception_resnet_v2)
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 8)).astype("float32")
    want = np.asarray(model.predict(x, verbose=0))
    path = str(tmp_path / "block.keras")
    model.save(path)
    loaded = gazelle.models.load_model(path)
    scale_layers = [layer for layer in loaded.layers
                    if isinstance(layer, inception_resnet_v2.CustomScaleLayer)]
    assert len(scale_layers) == 1 and scale_layers[0].scale == pytest.approx(0.17)
    np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)), want,
                               rtol=1e-6, atol=1e-6)


def test_keras_saved_block_loads_in_gazelle(tmp_path):
    # A `.keras` file Keras wrote with its own CustomScaleLayer (not registered in Keras:
    # its config names the bare class) loads into gazelle's layer.
    from keras.src.applications import inception_resnet_v2 as theirs
    expected = _tiny_block_model(theirs)
    _randomize_batchnorm(expected)
    path = str(tmp_path / "keras_block.keras")
    expected.save(path)
    loaded = gazelle.models.load_model(path)
    assert any(isinstance(layer, inception_resnet_v2.CustomScaleLayer)
               for layer in loaded.layers)
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 8)).astype("float32")
    np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)),
                               np.asarray(expected.predict(x, verbose=0)),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_inception_resnet_v2_keras_file_round_trip(tmp_path):
    model = ga.InceptionResNetV2(weights=None, include_top=False, pooling="avg",
                                 input_shape=(75, 75, 3))
    x = np.random.default_rng(0).uniform(-1, 1, (1, 75, 75, 3)).astype("float32")
    want = np.asarray(model.predict(x, verbose=0))
    path = str(tmp_path / "irv2.keras")
    model.save(path)
    loaded = gazelle.models.load_model(path)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)), want,
                               rtol=1e-5, atol=1e-6)
