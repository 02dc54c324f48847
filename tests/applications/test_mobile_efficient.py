"""keras.applications, mobile and efficient families (MobileNet v1/v2/v3, EfficientNet B0-B7,
DenseNet, EfficientNetV2) against Keras 3: the same ordered layer names (weight files map by
name), the same parameter counts, the same ImageNet file names/hashes/URLs, and for
MobileNetV2 and EfficientNetB0 the same predictions with the same (random) weights, copied
by `set_weights` and through a weights file Keras saved.

Predictions are compared at rtol=atol=1e-4 relative to the output scale: the networks are
50-80 layers deep in float32, so rounding differences in convolution order add up (the
observed differences are ~1e-7)."""
import warnings

import numpy as np
import pytest

# A heavy sweep (whole application networks built in both libraries): in the slow pass,
# which CI runs; ResNet/VGG (test_resnet_vgg.py) stay in the default run.
pytestmark = pytest.mark.slow

keras = pytest.importorskip("keras")

import gazelle.applications as ga  # noqa: E402
from gazelle.applications import _common  # noqa: E402
from gazelle.core import naming  # noqa: E402


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


def _names(model):
    # The first entry is the input layer: Keras 3 names it `input_layer`, gazelle follows
    # tf.keras 2 (`input_1`); it has no weights, so files map the same.
    assert type(model.layers[0]).__name__ == "InputLayer"
    return [layer.name for layer in model.layers[1:]]


def _assert_same_structure(expected, got):
    assert _names(got) == _names(expected)
    assert got.count_params() == expected.count_params()
    assert got.name == expected.name
    assert tuple(got.output_shape) == tuple(expected.output_shape)
    assert [tuple(w.shape) for w in got.weights] == [tuple(w.shape) for w in expected.weights]


def _randomize(model, seed=0):
    """Weights that exercise every parameter: batch-norm statistics and offsets away from
    their initial 0/1, biases away from 0."""
    rng = np.random.default_rng(seed)
    values = []
    for variable in model.weights:
        value = np.asarray(variable)
        path = variable.path
        if path.endswith("moving_variance"):
            value = rng.uniform(0.5, 1.5, value.shape)
        elif path.endswith(("moving_mean", "beta", "bias")):
            value = rng.normal(0.0, 0.1, value.shape)
        elif path.endswith("gamma"):
            value = rng.uniform(0.8, 1.2, value.shape)
        elif path.endswith("normalization/mean"):
            value = rng.uniform(0.3, 0.6, value.shape)
        elif path.endswith("normalization/variance"):
            value = rng.uniform(0.04, 0.08, value.shape)
        values.append(np.asarray(value, dtype=value.dtype if value.dtype != np.float64
                                 else np.float32))
    model.set_weights(values)
    # Keras's Normalization reads its variables into constants when built or loaded, not
    # on `set_weights`: refresh them so that Keras computes with the values just set.
    for layer in model.layers:
        if hasattr(layer, "finalize_state"):
            layer.finalize_state()


def _assert_close_predictions(expected, got, x):
    want = np.asarray(expected.predict(x, verbose=0))
    have = np.asarray(got.predict(x, verbose=0))
    scale = float(np.abs(want).max())
    assert scale > 1e-3, "the outputs are too small for the comparison to mean anything"
    np.testing.assert_allclose(have, want, rtol=1e-4, atol=1e-4 * scale)


# ---------------------------------------------------------------- MobileNetV2, EfficientNetB0

@pytest.fixture(scope="module")
def mobilenet_v2_pair():
    expected, got = _pair("MobileNetV2", input_shape=(96, 96, 3), classifier_activation=None)
    _randomize(expected)
    return expected, got


@pytest.fixture(scope="module")
def efficientnet_b0_pair():
    expected, got = _pair("EfficientNetB0", input_shape=(64, 64, 3),
                          classifier_activation=None)
    _randomize(expected)
    return expected, got


def _images(shape, low, high, seed=1):
    return np.random.default_rng(seed).uniform(low, high, (2,) + shape).astype("float32")


@pytest.mark.parametrize("pair, low, high", [
    ("mobilenet_v2_pair", -1.0, 1.0),
    ("efficientnet_b0_pair", 0.0, 255.0),
])
def test_structure_and_predictions_with_keras_weights(request, pair, low, high):
    expected, got = request.getfixturevalue(pair)
    _assert_same_structure(expected, got)
    got.set_weights(expected.get_weights())
    _assert_close_predictions(expected, got, _images(tuple(expected.input_shape[1:]), low, high))


@pytest.mark.parametrize("name, pair, shape, low, high", [
    ("MobileNetV2", "mobilenet_v2_pair", (96, 96, 3), -1.0, 1.0),
    ("EfficientNetB0", "efficientnet_b0_pair", (64, 64, 3), 0.0, 255.0),
])
def test_weights_file_saved_by_keras_loads(request, tmp_path, name, pair, shape, low, high):
    expected, _ = request.getfixturevalue(pair)
    path = tmp_path / "w.weights.h5"
    expected.save_weights(str(path))
    got = getattr(ga, name)(weights=str(path), input_shape=shape, classifier_activation=None)
    _assert_close_predictions(expected, got, _images(shape, low, high, seed=2))


def test_efficientnet_normalization_is_inside_the_model(efficientnet_b0_pair):
    _, got = efficientnet_b0_pair
    kinds = [type(layer).__name__ for layer in got.layers[1:4]]
    assert kinds == ["Rescaling", "Normalization", "ZeroPadding2D"]
    x = _images((8, 8, 3), 0, 255)
    assert ga.efficientnet.preprocess_input(x) is x


# ---------------------------------------------------------------- structure of the others

FAST = [
    ("MobileNet", dict(input_shape=(64, 64, 3))),
    ("MobileNet", dict(alpha=0.5, depth_multiplier=2, include_top=False, pooling="avg")),
    ("MobileNetV2", dict(alpha=0.35, input_shape=(128, 128, 3), classes=10)),
    ("MobileNetV3Small", dict(input_shape=(32, 32, 3))),
    ("MobileNetV3Large", dict(input_shape=(32, 32, 3))),
    ("MobileNetV3Small", dict(minimalistic=True, include_preprocessing=False, alpha=0.75,
                              include_top=False, pooling="avg")),
    ("EfficientNetB0", dict(include_top=False, pooling="max", input_shape=(32, 32, 3))),
    ("DenseNet121", dict(input_shape=(32, 32, 3))),
    ("EfficientNetV2B0", dict(input_shape=(32, 32, 3))),
]
SLOW = [
    ("MobileNetV2", dict(alpha=1.4, include_top=False, pooling="max",
                         input_shape=(64, 64, 3))),
    ("MobileNetV3Large", dict(minimalistic=True, alpha=1.25, include_top=False)),
    ("EfficientNetB1", dict(input_shape=(32, 32, 3))),
    ("EfficientNetB2", dict(input_shape=(32, 32, 3))),
    ("EfficientNetB3", dict(include_top=False, input_shape=(32, 32, 3))),
    ("EfficientNetB4", dict(input_shape=(32, 32, 3))),
    ("EfficientNetB5", dict(include_top=False, pooling="avg", input_shape=(32, 32, 3))),
    ("EfficientNetB6", dict(input_shape=(32, 32, 3))),
    ("EfficientNetB7", dict(input_shape=(32, 32, 3))),
    ("DenseNet169", dict(input_shape=(32, 32, 3))),
    ("DenseNet201", dict(include_top=False, pooling="max", input_shape=(32, 32, 3))),
    ("EfficientNetV2B1", dict(input_shape=(32, 32, 3))),
    ("EfficientNetV2B2", dict(include_top=False, include_preprocessing=False,
                              input_shape=(32, 32, 3))),
    ("EfficientNetV2B3", dict(input_shape=(32, 32, 3))),
    ("EfficientNetV2S", dict(input_shape=(32, 32, 3))),
    ("EfficientNetV2M", dict(include_top=False, pooling="avg", input_shape=(32, 32, 3))),
    ("EfficientNetV2L", dict(input_shape=(32, 32, 3))),
]


def _id(case):
    name, kwargs = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("case", FAST, ids=_id)
def test_same_layers_and_parameters_as_keras(case):
    expected, got = _pair(case[0], **case[1])
    _assert_same_structure(expected, got)


@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW, ids=_id)
def test_same_layers_and_parameters_as_keras_larger(case):
    expected, got = _pair(case[0], **case[1])
    _assert_same_structure(expected, got)


# ---------------------------------------------------------------- ImageNet files

class _Asked(Exception):
    pass


@pytest.mark.parametrize("name, kwargs", [
    ("MobileNetV2", dict(include_top=False, input_shape=(96, 96, 3))),
    ("MobileNetV2", dict(include_top=False, alpha=0.35, input_shape=(100, 100, 3))),
    ("MobileNet", dict(include_top=False, alpha=0.25, input_shape=(128, 128, 3))),
    ("MobileNetV3Small", dict(include_top=False, input_shape=(224, 224, 3))),
    ("MobileNetV3Large", dict(include_top=False, minimalistic=True,
                              input_shape=(224, 224, 3))),
    ("EfficientNetB0", dict(include_top=False, input_shape=(32, 32, 3))),
    ("DenseNet121", dict(include_top=False, input_shape=(32, 32, 3))),
    ("EfficientNetV2B0", dict(include_top=False, input_shape=(32, 32, 3))),
    pytest.param("EfficientNetV2S", dict(include_top=False, input_shape=(32, 32, 3)),
                 marks=pytest.mark.slow),
], ids=lambda v: v if isinstance(v, str) else ",".join(f"{k}={w}" for k, w in v.items()))
def test_imagenet_weights_are_keras_files(monkeypatch, name, kwargs):
    """The file name, hash and URL `weights="imagenet"` asks for are Keras's."""
    from keras.src.utils import file_utils as keras_file_utils

    def keras_get_file(fname=None, origin=None, file_hash=None, **_):
        raise _Asked(fname, file_hash, origin)

    def gazelle_weights_file(file_name, file_hash, origin_prefix):
        raise _Asked(file_name, file_hash, origin_prefix + file_name)

    monkeypatch.setattr(keras_file_utils, "get_file", keras_get_file)
    monkeypatch.setattr(_common, "weights_file", gazelle_weights_file)
    _fresh_names()
    with warnings.catch_warnings(record=True) as keras_warned:
        warnings.simplefilter("always")
        with pytest.raises(_Asked) as expected:
            getattr(keras.applications, name)(weights="imagenet", **kwargs)
    with warnings.catch_warnings(record=True) as gazelle_warned:
        warnings.simplefilter("always")
        with pytest.raises(_Asked) as got:
            getattr(ga, name)(weights="imagenet", **kwargs)
    assert got.value.args == expected.value.args

    def default_size_warnings(caught):
        return [str(w.message) for w in caught if "will be loaded as the default" in
                str(w.message)]
    assert len(default_size_warnings(gazelle_warned)) == len(default_size_warnings(keras_warned))


def test_imagenet_weights_missing_offline_is_a_clear_error(monkeypatch, tmp_path):
    def offline(file_name, file_hash, origin_prefix):
        raise FileNotFoundError(f"Could not find Keras's ImageNet weights file {file_name}")

    monkeypatch.setattr(_common, "weights_file", offline)
    with pytest.raises(FileNotFoundError, match="mobilenet_v2_weights_tf_dim_ordering_tf_"
                                                "kernels_1.0_96_no_top.h5"):
        ga.MobileNetV2(weights="imagenet", include_top=False, input_shape=(96, 96, 3))


# ---------------------------------------------------------------- arguments

ALL = ["MobileNet", "MobileNetV2", "MobileNetV3Small", "MobileNetV3Large", "EfficientNetB0",
       "DenseNet121", "EfficientNetV2B0"]


@pytest.mark.parametrize("name", ALL)
def test_bad_weights_argument(name, tmp_path):
    with pytest.raises(ValueError, match="weights"):
        getattr(ga, name)(weights=str(tmp_path / "missing.weights.h5"))


@pytest.mark.parametrize("name", ALL)
def test_imagenet_with_other_classes_is_refused(name):
    with pytest.raises(ValueError, match="classes"):
        getattr(ga, name)(weights="imagenet", classes=10)


@pytest.mark.parametrize("name, kwargs", [
    ("MobileNet", dict(alpha=0.3, include_top=False)),
    ("MobileNet", dict(depth_multiplier=2, include_top=False)),
    ("MobileNetV2", dict(alpha=0.6, include_top=False)),
    ("MobileNetV3Small", dict(alpha=0.5)),
    ("MobileNetV3Large", dict(alpha=0.75, minimalistic=True)),
])
def test_imagenet_needs_a_published_width(name, kwargs):
    with pytest.raises(ValueError, match="alpha|depth multiplier"):
        getattr(ga, name)(weights="imagenet", **kwargs)


@pytest.mark.parametrize("name", ALL)
def test_inputs_smaller_than_32_are_refused(name):
    with pytest.raises(ValueError, match="at least 32"):
        getattr(ga, name)(weights=None, include_top=False, input_shape=(16, 16, 3))


def test_imagenet_top_needs_the_default_shape():
    with pytest.raises(ValueError, match="input_shape"):
        ga.EfficientNetB0(weights="imagenet", input_shape=(64, 64, 3))


def test_non_symbolic_input_tensor_is_refused():
    with pytest.raises(ValueError, match="input_tensor"):
        ga.MobileNetV2(weights=None, input_tensor=np.zeros((1, 96, 96, 3), "float32"))


@pytest.mark.parametrize("include_top", [False, True])
def test_built_on_an_input_tensor_keeps_its_source_inputs(include_top):
    import gazelle as gz
    inputs = gz.Input((96, 96, 3))
    scaled = gz.layers.Rescaling(1.0 / 127.5, offset=-1.0)(inputs)
    model = ga.MobileNetV2(weights=None, input_tensor=scaled, include_top=include_top,
                           pooling="avg", alpha=0.35)
    assert model.inputs[0] is inputs
    assert tuple(model.output_shape) == ((None, 1000) if include_top else (None, 1280))
    # Keras's naming: the rows come from the shape it settles on, which is free (None)
    # without the top.
    k_inputs = keras.Input((96, 96, 3))
    k_scaled = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0)(k_inputs)
    expected = keras.applications.MobileNetV2(weights=None, input_tensor=k_scaled,
                                              include_top=include_top, pooling="avg",
                                              alpha=0.35)
    assert model.name == expected.name


def test_preprocess_input_matches_keras():
    x = _images((4, 4, 3), 0.0, 255.0)
    for module in ("mobilenet", "mobilenet_v2", "densenet"):
        want = getattr(keras.applications, module).preprocess_input(x.copy())
        have = getattr(ga, module).preprocess_input(x.copy())
        np.testing.assert_allclose(np.asarray(have), np.asarray(want), rtol=1e-6, atol=1e-6)
    for module in ("mobilenet_v3", "efficientnet", "efficientnet_v2"):
        assert getattr(ga, module).preprocess_input(x) is x


def test_decode_predictions_delegates():
    preds = np.zeros((1, 1000), "float32")
    preds[0, 1] = 0.9
    preds[0, 3] = 0.1
    for module in ("mobilenet", "mobilenet_v2", "mobilenet_v3", "efficientnet", "densenet",
                   "efficientnet_v2"):
        top = getattr(ga, module).decode_predictions(preds, top=2)
        assert [entry[0] for entry in top[0]] == ["n01443537", "n01491361"]
