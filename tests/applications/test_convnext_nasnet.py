"""keras.applications ConvNeXt (Tiny..XLarge) and NASNet (Mobile, Large) against Keras 3:
the same ordered layer names (automatic ones included) and parameter counts, weights Keras
saved (Keras 3's layout and tf.keras 2's, the published files' layout) giving the same
predictions, the same ImageNet file names/hashes/URLs, the offline error, `.keras` round
trips of ConvNeXt's own layers (LayerScale, StochasticDepth), and argument errors.

Keras's random initializers compile one XLA program per weight shape (NASNetMobile: about
30 s on 2 cores); Keras's models are built here with a NumPy initializer instead
(`_fast_keras_init`), which changes none of their structure, and get their weights from
`_randomize` before any prediction is compared."""
import hashlib
import shutil

import numpy as np
import pytest

# A heavy sweep (whole application networks built in both libraries): in the slow pass,
# which CI runs; ResNet/VGG (test_resnet_vgg.py) stay in the default run.
pytestmark = pytest.mark.slow

keras = pytest.importorskip("keras")

import gazelle  # noqa: E402
import gazelle.applications as ga  # noqa: E402
from gazelle.applications import _common, convnext, nasnet  # noqa: E402
from gazelle.core import naming  # noqa: E402
from gazelle.utils import file_utils  # noqa: E402

from keras.src.applications import convnext as k_convnext  # noqa: E402
from keras.src.applications import nasnet as k_nasnet  # noqa: E402
from keras.src.initializers import random_initializers  # noqa: E402


@pytest.fixture(autouse=True)
def _fast_keras_init(monkeypatch):
    def numpy_init(self, shape, dtype=None):
        rng = np.random.default_rng(len(shape) + int(np.prod(shape)))
        return rng.normal(0.0, 0.05, shape).astype(dtype or "float32")
    monkeypatch.setattr(random_initializers.VarianceScaling, "__call__", numpy_init)


def _fresh_names():
    keras.backend.clear_session()
    naming.reset()


def _pair(build_keras, build_gazelle, **kwargs):
    """Keras's model and gazelle's, each built in a fresh naming session."""
    _fresh_names()
    expected = build_keras(weights=None, **kwargs)
    _fresh_names()
    got = build_gazelle(weights=None, **kwargs)
    return expected, got


def _named_pair(model, **kwargs):
    return _pair(getattr(keras.applications, model), getattr(ga, model), **kwargs)


def _names(model):
    # The input layer is left out: Keras 3 calls it `input_layer`, gazelle `input_<n>`.
    assert type(model.layers[0]).__name__ == "InputLayer"
    return [layer.name for layer in model.layers[1:]]


def _assert_same_structure(expected, got):
    assert got.name == expected.name
    assert _names(got) == _names(expected)
    assert [type(layer).__name__ for layer in got.layers[1:]] == \
        [type(layer).__name__ for layer in expected.layers[1:]]
    assert got.count_params() == expected.count_params()
    assert tuple(got.output_shape) == tuple(expected.output_shape)
    assert [tuple(w.shape) for w in got.weights] == [tuple(w.shape) for w in expected.weights]
    assert _graph(got) == _graph(expected)


def _assert_same_weights(got, expected):
    assert len(got.weights) == len(expected.weights)
    for mine, other in zip(got.weights, expected.weights):
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(other), err_msg=mine.path)


def _plain(value):
    """A config made of JSON's types (tuples as lists), for comparisons."""
    import json
    return json.loads(json.dumps(value, default=lambda v: list(v) if isinstance(v, tuple)
                                 else str(v)))


def _graph(model):
    """Each layer (and op) of the functional graph as (class, name, the tensors it takes:
    producing layer, node, index, shape), from Keras 3's model config: the wiring."""
    layers = _plain(model.get_config())["layers"]
    inputs = {e["name"] for e in layers if e["class_name"] == "InputLayer"}

    def rename(name):       # Keras 3 calls the input layer `input_layer`, gazelle `input_<n>`
        return "<input>" if name in inputs else name

    def tensors(value, found):
        if isinstance(value, dict):
            if value.get("class_name") == "__keras_tensor__":
                name, node, index = value["config"]["keras_history"]
                found.append((rename(name), node, index, tuple(value["config"]["shape"])))
            else:
                for v in value.values():
                    tensors(v, found)
        elif isinstance(value, list):
            for v in value:
                tensors(v, found)
        return found

    return [(e["class_name"], rename(e["name"]), tensors(e.get("inbound_nodes"), []))
            for e in layers]


def _randomize(model, seed=0):
    """Weights that exercise every parameter: normalization statistics and offsets away
    from 0/1, kernels scaled to keep activations of order 1, LayerScale's tiny 1e-6
    initial scales made of order 1 so that each block's branch counts."""
    rng = np.random.default_rng(seed)
    values = []
    for variable in model.weights:
        shape = tuple(variable.shape)
        path = variable.path
        if path.endswith("moving_variance"):
            value = rng.uniform(0.5, 1.5, shape)
        elif path.endswith(("moving_mean", "beta", "bias")):
            value = rng.normal(0.0, 0.1, shape)
        elif len(shape) <= 1:           # BN/LN gamma, LayerScale's scale
            value = rng.uniform(0.5, 1.0, shape)
        else:
            fan_in = int(np.prod(shape[:-1])) if len(shape) != 4 or shape[-1] != 1 \
                else int(np.prod(shape[:2]))
            value = rng.normal(0.0, (1.0 / max(fan_in, 1)) ** 0.5, shape)
        values.append(value.astype("float32"))
    model.set_weights(values)
    return model


def _images(shape, low, high, seed=1):
    return np.random.default_rng(seed).uniform(low, high, (2,) + tuple(shape)).astype("float32")


def _assert_close(have, want):
    want, have = np.asarray(want), np.asarray(have)
    scale = float(np.abs(want).max())
    assert scale > 1e-3, "the outputs are too small for the comparison to mean anything"
    np.testing.assert_allclose(have, want, rtol=1e-4, atol=1e-4 * scale)


def _legacy_h5(model, path):
    """Writes `model`'s weights in tf.keras 2's `.h5` layout (the published files')."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return str(path)


# ---------------------------------------------------------------- structure

FAST = [
    ("ConvNeXtTiny", dict()),
    ("ConvNeXtTiny", dict(include_top=False, input_shape=(32, 32, 3))),
    ("ConvNeXtTiny", dict(include_top=False, pooling="avg", include_preprocessing=False,
                          input_shape=(64, 48, 3), name="tiny_features")),
    ("NASNetMobile", dict()),
    ("NASNetMobile", dict(include_top=False, pooling="max", input_shape=(64, 64, 3))),
]
SLOW = [
    ("ConvNeXtSmall", dict(include_top=False, pooling="max", input_shape=(32, 32, 3))),
    ("ConvNeXtBase", dict(input_shape=(32, 32, 3))),
    ("ConvNeXtLarge", dict(include_top=False, input_shape=(32, 32, 3))),
    ("ConvNeXtXLarge", dict(classes=10, input_shape=(32, 32, 3))),
    ("NASNetLarge", dict(input_shape=(64, 64, 3))),
    ("NASNetLarge", dict(include_top=False, pooling="avg", input_shape=(331, 331, 3))),
    ("NASNetMobile", dict(include_top=False)),
]


def _id(case):
    name, kwargs = case
    return name + "-" + ",".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("case", FAST, ids=_id)
def test_same_layers_and_parameters_as_keras(case):
    expected, got = _named_pair(case[0], **case[1])
    _assert_same_structure(expected, got)


@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW, ids=_id)
def test_same_layers_and_parameters_as_keras_larger(case):
    expected, got = _named_pair(case[0], **case[1])
    _assert_same_structure(expected, got)
    del expected, got


def test_convnext_is_built_as_keras_builds_it():
    _, got = _named_pair("ConvNeXtTiny", include_top=False, input_shape=(32, 32, 3))
    kinds = [type(layer).__name__ for layer in got.layers[1:4]]
    assert kinds == ["Normalization", "Sequential", "Conv2D"]
    assert [layer.name for layer in got.get_layer("convnext_tiny_downsampling_block_2").layers] \
        == ["convnext_tiny_downsampling_layernorm_2", "convnext_tiny_downsampling_conv_2"]
    assert isinstance(got.get_layer("convnext_tiny_stage_3_block_2_layer_scale"),
                      convnext.LayerScale)
    # Without the top the features still end in a layer normalization (Keras does so).
    assert type(got.layers[-1]).__name__ == "LayerNormalization"
    assert len(got.layers) == 133
    # Without preprocessing, or without 3 channels, there is no Normalization layer.
    plain = ga.ConvNeXtTiny(weights=None, include_top=False, input_shape=(32, 32, 1))
    assert "Normalization" not in [type(layer).__name__ for layer in plain.layers]


# ---------------------------------------------------------------- Keras-saved weights

def _small_nasnet(module, **kwargs):
    """NASNet-A with one normal cell per stage: every cell kind and both adjust paths of
    NASNetMobile/Large in a model that compiles in seconds."""
    def build(weights=None, **more):
        return module.NASNet(penultimate_filters=192, num_blocks=1, stem_block_filters=8,
                             filter_multiplier=2, weights=weights, **kwargs, **more)
    return build


def _small_convnext(module, **kwargs):
    def build(weights=None, **more):
        return module.ConvNeXt(depths=[1, 2, 1, 1], projection_dims=[8, 16, 24, 32],
                               weights=weights, name="convnext_small_test", **kwargs, **more)
    return build


# name -> (Keras builder, gazelle builder, build kwargs, input shape, input range)
_LOAD_CASES = {
    "ConvNeXtTiny": (keras.applications.ConvNeXtTiny, ga.ConvNeXtTiny,
                     dict(input_shape=(32, 32, 3), classes=10, classifier_activation=None),
                     (0.0, 255.0)),
    "ConvNeXtTiny-notop": (keras.applications.ConvNeXtTiny, ga.ConvNeXtTiny,
                           dict(include_top=False, input_shape=(32, 32, 3)), (0.0, 255.0)),
    "convnext-drop-path": (_small_convnext(k_convnext, drop_path_rate=0.3),
                           _small_convnext(convnext, drop_path_rate=0.3),
                           dict(input_shape=(32, 32, 3), classes=5), (0.0, 255.0)),
    "nasnet-small-skip": (_small_nasnet(k_nasnet, skip_reduction=True),
                          _small_nasnet(nasnet, skip_reduction=True),
                          dict(input_shape=(48, 48, 3), classes=7,
                               classifier_activation=None), (-1.0, 1.0)),
    "nasnet-small-noskip": (_small_nasnet(k_nasnet, skip_reduction=False),
                            _small_nasnet(nasnet, skip_reduction=False),
                            dict(include_top=False, pooling="avg", input_shape=(33, 33, 3)),
                            (-1.0, 1.0)),
    "NASNetMobile": (keras.applications.NASNetMobile, ga.NASNetMobile,
                     dict(input_shape=(32, 32, 3), classes=10, classifier_activation=None),
                     (-1.0, 1.0)),
}


class _Saved:
    """A Keras model with random weights, its weights saved in both layouts, and (on
    first use) its predictions."""

    def __init__(self, case, folder):
        build_keras, self.build, self.kwargs, (low, high) = _LOAD_CASES[case]
        _fresh_names()
        self.keras_model = _randomize(build_keras(weights=None, **self.kwargs))
        self.x = _images(self.kwargs["input_shape"], low, high)
        self._expected = None
        self.keras3_path = str(folder / "w.weights.h5")
        self.keras_model.save_weights(self.keras3_path)
        self.legacy_path = _legacy_h5(self.keras_model, folder / "legacy.h5")

    @property
    def expected(self):
        if self._expected is None:
            self._expected = np.asarray(self.keras_model.predict(self.x, verbose=0))
        return self._expected

    def load(self, layout="keras3"):
        path = self.keras3_path if layout == "keras3" else self.legacy_path
        return self.build(weights=path, **self.kwargs)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    cache = {}

    def get(case):
        if case not in cache:
            cache[case] = _Saved(case, tmp_path_factory.mktemp(case))
        return cache[case]
    return get


# Compiling a NASNet for `predict` takes 10-20 s (2 cores): the default run predicts with
# the smallest configurations; every case checks, in both layouts, that each weight lands
# where Keras had it (with the wiring checked by `_graph`, that fixes the predictions).
ALL_LOADS = list(_LOAD_CASES)
FAST_PREDICTIONS = ["ConvNeXtTiny", "convnext-drop-path"]


@pytest.mark.parametrize("layout", ["keras3", "legacy_h5"])
@pytest.mark.parametrize("case", [c if c != "NASNetMobile" else
                                  pytest.param(c, marks=pytest.mark.slow) for c in ALL_LOADS])
def test_keras_saved_weights_load_in_place(saved, case, layout):
    entry = saved(case)
    _assert_same_weights(entry.load(layout), entry.keras_model)


@pytest.mark.parametrize("case", FAST_PREDICTIONS)
def test_keras_saved_weights_give_keras_predictions(saved, case):
    entry = saved(case)
    _assert_close(entry.load().predict(entry.x, verbose=0), entry.expected)


def test_keras_saved_weights_give_keras_predictions_nasnet_cells(saved):
    # The stem, both reduction cells of the stem and the first normal cell (both paths of
    # `_adjust_block`'s reduction): what the whole network repeats, compiled in seconds.
    entry = saved("nasnet-small-noskip")
    ours, theirs = entry.load(), entry.keras_model
    cut = "normal_concat_0"
    ours = gazelle.Model(ours.inputs, ours.get_layer(cut).output)
    theirs = keras.Model(theirs.inputs, theirs.get_layer(cut).output)
    _assert_close(ours.predict(entry.x, verbose=0), theirs.predict(entry.x, verbose=0))


@pytest.mark.slow
@pytest.mark.parametrize("layout", ["keras3", "legacy_h5"])
@pytest.mark.parametrize("case", ALL_LOADS)
def test_keras_saved_weights_give_keras_predictions_all(saved, case, layout):
    entry = saved(case)
    _assert_close(entry.load(layout).predict(entry.x, verbose=0), entry.expected)


def test_small_variants_have_keras_structure(saved):
    for case in ("convnext-drop-path", "nasnet-small-skip", "nasnet-small-noskip"):
        entry = saved(case)
        _fresh_names()
        _assert_same_structure(entry.keras_model, entry.build(weights=None, **entry.kwargs))


def test_fresh_model_differs_from_saved(saved):
    # The comparisons above can fail: without the file the predictions are others.
    entry = saved("ConvNeXtTiny")
    fresh = entry.build(weights=None, **entry.kwargs)
    assert not np.allclose(np.asarray(fresh.predict(entry.x, verbose=0)), entry.expected,
                           atol=1e-3)


# ---------------------------------------------------------------- stochastic depth

def test_stochastic_depth_is_random_only_in_training():
    layer = convnext.StochasticDepth(0.5, seed=3)
    x = np.ones((400, 2, 2, 3), "float32")
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    y = np.asarray(layer(x, training=True))
    per_sample = y.reshape(400, -1)
    # Each sample's whole branch is dropped (0) or kept and scaled by 1 / (1 - rate).
    assert set(np.unique(per_sample)) <= {0.0, 2.0}
    assert np.all(per_sample.min(axis=1) == per_sample.max(axis=1))
    kept = float((per_sample[:, 0] > 0).mean())
    assert 0.35 < kept < 0.65
    assert not np.array_equal(y, np.asarray(layer(x, training=True)))   # a new draw each call


def test_convnext_drop_path_rates_are_keras_rates(saved):
    # Rates grow linearly over the blocks, from 0 (an identity Activation, no layer) to
    # drop_path_rate; the predictions at inference are compared above.
    entry = saved("convnext-drop-path")
    model = entry.load()

    def rates(m):
        return [(layer.name, float(layer.drop_path_rate)) for layer in m.layers
                if type(layer).__name__ == "StochasticDepth"]
    assert rates(model) == rates(entry.keras_model)
    assert [r for _, r in rates(model)] == pytest.approx([0.075, 0.15, 0.225, 0.3])


@pytest.mark.slow
def test_convnext_with_drop_path_is_random_in_training_and_trains(saved):
    entry = saved("convnext-drop-path")
    model = entry.load()
    x = np.concatenate([entry.x] * 4)
    inference = np.asarray(model(x, training=False))
    _assert_close(inference[:2], entry.expected)
    draws = [np.asarray(model(x, training=True)) for _ in range(3)]
    assert any(not np.allclose(d, inference, atol=1e-5) for d in draws)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(x, np.arange(8) % 5, epochs=2, batch_size=4, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


def test_convnext_layers_check_their_arguments():
    with pytest.raises(ValueError, match="drop_path_rate"):
        convnext.StochasticDepth(1.5)
    with pytest.raises(TypeError, match="drop_path_rate"):
        convnext.StochasticDepth("often")
    with pytest.raises(ValueError, match="projection_dim"):
        convnext.LayerScale(1e-6, 0)
    with pytest.raises(ValueError, match="projection_dim=4"):
        convnext.LayerScale(1e-6, 4)(np.ones((1, 3), "float32"))


# ---------------------------------------------------------------- .keras files

def test_convnext_keras_file_round_trip(saved, tmp_path):
    entry = saved("convnext-drop-path")
    model = entry.load()
    path = str(tmp_path / "convnext.keras")
    model.save(path)
    loaded = gazelle.models.load_model(path)
    assert isinstance(loaded.get_layer("convnext_small_test_stage_0_block_0_layer_scale"),
                      convnext.LayerScale)
    depth = loaded.get_layer("convnext_small_test_stage_3_block_0_stochastic_depth")
    assert isinstance(depth, convnext.StochasticDepth)
    assert depth.drop_path_rate == pytest.approx(0.3)
    _assert_close(loaded.predict(entry.x, verbose=0), entry.expected)


def test_convnext_keras_files_move_between_keras_and_gazelle(saved, tmp_path):
    entry = saved("convnext-drop-path")
    keras_path = str(tmp_path / "by_keras.keras")
    entry.keras_model.save(keras_path)
    from_keras = gazelle.models.load_model(keras_path)
    _assert_close(from_keras.predict(entry.x, verbose=0), entry.expected)
    gazelle_path = str(tmp_path / "by_gazelle.keras")
    from_keras.save(gazelle_path)
    back = keras.models.load_model(gazelle_path)
    _assert_close(back.predict(entry.x, verbose=0), entry.expected)


def test_nasnet_keras_file_round_trip(saved, tmp_path):
    entry = saved("nasnet-small-skip")
    model = entry.load()
    path = str(tmp_path / "nasnet.keras")
    model.save(path)
    loaded = gazelle.models.load_model(path)
    assert _graph(loaded) == _graph(model)
    _assert_same_weights(loaded, model)


# ---------------------------------------------------------------- ImageNet files

class _Asked(Exception):
    pass


@pytest.mark.parametrize("name, kwargs", [
    ("ConvNeXtTiny", dict(include_top=False, input_shape=(32, 32, 3))),
    ("ConvNeXtTiny", dict()),
    ("NASNetMobile", dict(include_top=False, input_shape=(32, 32, 3))),
    ("NASNetMobile", dict()),
    pytest.param("ConvNeXtBase", dict(include_top=False, input_shape=(32, 32, 3)),
                 marks=pytest.mark.slow),
    pytest.param("NASNetLarge", dict(include_top=False, input_shape=(32, 32, 3)),
                 marks=pytest.mark.slow),
    pytest.param("NASNetLarge", dict(), marks=pytest.mark.slow),
], ids=lambda v: v if isinstance(v, str) else ",".join(f"{k}={w}" for k, w in v.items()))
def test_imagenet_weights_are_keras_files(monkeypatch, name, kwargs):
    """The file name, hash and URL `weights="imagenet"` asks for are Keras's."""
    from keras.src.utils import file_utils as keras_file_utils

    def keras_get_file(fname=None, origin=None, file_hash=None, **_):
        raise _Asked(fname, file_hash, origin)

    def gazelle_weights_file(file_name, file_hash, origin_prefix):
        raise _Asked(file_name, file_hash, origin_prefix + file_name)

    def gazelle_nasnet_file(file_name, file_hash, url):
        raise _Asked(file_name, file_hash, url)

    monkeypatch.setattr(keras_file_utils, "get_file", keras_get_file)
    monkeypatch.setattr(_common, "weights_file", gazelle_weights_file)
    monkeypatch.setattr(nasnet, "weights_file", gazelle_nasnet_file)
    _fresh_names()
    with pytest.raises(_Asked) as expected:
        getattr(keras.applications, name)(weights="imagenet", **kwargs)
    with pytest.raises(_Asked) as got:
        getattr(ga, name)(weights="imagenet", **kwargs)
    assert got.value.args == expected.value.args


def test_weights_tables_are_keras_tables():
    assert convnext.WEIGHTS_HASHES == k_convnext.WEIGHTS_HASHES
    assert convnext.MODEL_CONFIGS == k_convnext.MODEL_CONFIGS
    assert convnext.BASE_WEIGHTS_PATH == k_convnext.BASE_WEIGHTS_PATH
    for attr in ("NASNET_MOBILE_WEIGHT_PATH", "NASNET_MOBILE_WEIGHT_PATH_NO_TOP",
                 "NASNET_LARGE_WEIGHT_PATH", "NASNET_LARGE_WEIGHT_PATH_NO_TOP"):
        assert getattr(nasnet, attr) == getattr(k_nasnet, attr)


@pytest.fixture
def offline(tmp_path, monkeypatch):
    for var, sub in (("HOME", "home"), ("KERAS_HOME", "keras"), ("GAZELLE_HOME", "gazelle")):
        monkeypatch.setenv(var, str(tmp_path / sub))

    def no_network(url, target, *args, **kwargs):
        raise OSError(f"no network access for {url}")

    monkeypatch.setattr(file_utils, "download", no_network)
    return tmp_path


def test_imagenet_offline_error_convnext(offline):
    with pytest.raises(FileNotFoundError) as info:
        ga.ConvNeXtTiny(include_top=False, input_shape=(32, 32, 3))
    message = str(info.value)
    assert ("https://storage.googleapis.com/tensorflow/keras-applications/convnext/"
            "convnext_tiny_notop.h5") in message
    assert convnext.WEIGHTS_HASHES["convnext_tiny"][1] in message
    assert str(offline / "keras" / "models") in message


def test_imagenet_offline_error_nasnet(offline):
    with pytest.raises(FileNotFoundError) as info:
        ga.NASNetMobile(include_top=False, input_shape=(32, 32, 3))
    message = str(info.value)
    assert "nasnet_mobile_no_top.h5" in message
    assert ("https://storage.googleapis.com/tensorflow/keras-applications/nasnet/"
            "NASNet-mobile-no-top.h5") in message
    assert "1ed92395b5b598bdda52abe5c0dbfd63" in message
    assert str(offline / "keras" / "models" / "nasnet_mobile_no_top.h5") in message


def test_imagenet_weights_from_keras_cache_nasnet(offline, monkeypatch):
    # Keras caches NASNet's files under its own names (nasnet_mobile_no_top.h5), not the
    # URL's: a file Keras wrote (random weights) stands in, with its md5 as the hash.
    _fresh_names()
    theirs = _randomize(keras.applications.NASNetMobile(weights=None, include_top=False,
                                                        input_shape=(32, 32, 3)))
    folder = offline / "keras" / "models"
    folder.mkdir(parents=True)
    path = _legacy_h5(theirs, folder / "nasnet_mobile_no_top.h5")
    with open(path, "rb") as f:
        md5 = hashlib.md5(f.read()).hexdigest()
    entry = nasnet.WEIGHTS_FILES[(224, False)]
    monkeypatch.setitem(nasnet.WEIGHTS_FILES, (224, False), (entry[0], md5, entry[2]))
    ours = ga.NASNetMobile(include_top=False, input_shape=(32, 32, 3))     # "imagenet"
    _assert_same_weights(ours, theirs)
    # a copy with another hash is not used
    with pytest.raises(FileNotFoundError, match="Rejected \\(wrong hash\\)"):
        nasnet.weights_file(entry[0], "1" * 32, entry[2])


def test_imagenet_weights_from_keras_cache_convnext(offline, monkeypatch, saved):
    entry = saved("ConvNeXtTiny-notop")
    folder = offline / "gazelle" / "models"
    folder.mkdir(parents=True)
    shutil.copy(entry.legacy_path, folder / "convnext_tiny_notop.h5")
    with open(entry.legacy_path, "rb") as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    monkeypatch.setitem(convnext.WEIGHTS_HASHES, "convnext_tiny", ("0" * 64, sha256))
    model = ga.ConvNeXtTiny(include_top=False, input_shape=(32, 32, 3))    # "imagenet"
    _assert_same_weights(model, entry.keras_model)


# ---------------------------------------------------------------- arguments

@pytest.mark.parametrize("name", ["ConvNeXtTiny", "NASNetMobile"])
def test_common_argument_errors(name, tmp_path):
    build = getattr(ga, name)
    with pytest.raises(ValueError, match="`weights` argument should be either"):
        build(weights="imagenet21k")
    with pytest.raises(ValueError, match="no such file"):
        build(weights=str(tmp_path / "missing.weights.h5"))
    with pytest.raises(ValueError, match="`classes` should be 1000"):
        build(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="at least 32x32"):
        build(weights=None, include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match=r"`input_shape` should be \("):
        build(weights="imagenet", input_shape=(64, 64, 3))
    with pytest.raises(ValueError, match="Only `None` and `softmax`"):
        build(weights="imagenet", classifier_activation="sigmoid")
    with pytest.raises(ValueError, match="input_tensor"):
        build(weights=None, input_tensor=np.zeros((1, 32, 32, 3), "float32"))


@pytest.mark.parametrize("name", ["ConvNeXtTiny", "NASNetMobile"])
def test_channels_first_is_refused(name, monkeypatch):
    monkeypatch.setattr(gazelle.config, "image_data_format", lambda: "channels_first")
    with pytest.raises(ValueError, match="channels_first"):
        getattr(ga, name)(weights=None)


def test_convnext_imagenet_needs_the_published_variant():
    with pytest.raises(ValueError, match="must contain the weights variant"):
        ga.ConvNeXtTiny(weights="imagenet", name="my_model")
    with pytest.raises(ValueError, match="Expected depths: \\[3, 3, 9, 3\\]"):
        convnext.ConvNeXt(depths=[2, 2, 2, 2], projection_dims=[96, 192, 384, 768],
                          weights="imagenet", name="convnext_tiny",
                          weights_name="convnext_tiny")
    with pytest.raises(ValueError, match="4 entries"):
        convnext.ConvNeXt(depths=[3, 3, 9], projection_dims=[96, 192, 384])


def test_nasnet_argument_errors():
    with pytest.raises(ValueError, match="multiple of 24"):
        nasnet.NASNet(penultimate_filters=100, weights=None, input_shape=(64, 64, 3))
    with pytest.raises(ValueError, match="must be static"):
        ga.NASNetLarge(weights="imagenet", include_top=False, input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="NASNetLarge or NASNetMobile"):
        nasnet.NASNet(default_size=128, weights="imagenet", include_top=False,
                      input_shape=(128, 128, 3))
    with pytest.raises(ValueError, match="num_blocks"):
        nasnet.NASNet(num_blocks=0, weights=None)


def test_nasnet_default_shapes_are_keras():
    features = ga.NASNetMobile(weights=None, include_top=False)
    assert tuple(features.input_shape) == (None, 224, 224, 3)
    assert tuple(features.output_shape) == (None, 7, 7, 1056)


def test_convnext_options_and_input_tensor():
    source = gazelle.Input((40, 40, 3))
    resized = gazelle.layers.Resizing(32, 32)(source)
    model = ga.ConvNeXtTiny(weights=None, input_tensor=resized, include_top=False,
                            pooling="max", name="mine")
    assert model.name == "mine" and model.inputs == [source]
    assert tuple(model.output_shape) == (None, 768)
    assert model.layers[-3].name == "mine_stage_3_block_2_identity"
    small = _small_convnext(convnext)(input_tensor=resized, include_top=False)
    assert small.inputs == [source]
    assert small.predict(_images((40, 40, 3), 0, 255), verbose=0).shape == (2, 1, 1, 32)
    top = ga.ConvNeXtTiny(weights=None, input_shape=(32, 32, 3), classes=3,
                          classifier_activation=None)
    assert top.get_layer("convnext_tiny_head_dense").get_config()["activation"] == "linear"


def test_preprocess_input_and_decode_predictions_match_keras():
    x = _images((4, 4, 3), 0.0, 255.0)
    want = keras.applications.nasnet.preprocess_input(x.copy())
    np.testing.assert_allclose(np.asarray(ga.nasnet.preprocess_input(x.copy())),
                               np.asarray(want), rtol=1e-6, atol=1e-6)
    assert ga.convnext.preprocess_input(x) is x
    preds = np.zeros((1, 1000), "float32")
    preds[0, 1] = 0.9
    preds[0, 3] = 0.1
    for module in ("convnext", "nasnet"):
        top = getattr(ga, module).decode_predictions(preds, top=2)
        assert [entry[0] for entry in top[0]] == ["n01443537", "n01491361"]
        with pytest.raises(ValueError, match="1000"):
            getattr(ga, module).decode_predictions(np.zeros((1, 10)))
