"""keras.applications' shared pieces: input shapes, argument checks, inputs, finding
Keras's weight files, and imagenet_utils (against Keras 3 where Keras defines the answer)."""
import hashlib
import itertools
import json
import os

import numpy as np
import pytest

import gazelle as keras
from gazelle import applications
from gazelle.applications import _common, imagenet_utils
from gazelle.utils import file_utils

kapps = pytest.importorskip("keras.src.applications.imagenet_utils")


# -- input_shape_for ----------------------------------------------------------------------
_SHAPES = [None, (224, 224, 3), (64, 64, 3), (None, None, 3), (20, 20, 3), (64, 20, 3),
           (64, 64, 1), (64, 64, 4), (64, 64), (3, 64, 64), (3, 224, 224), (1, 64, 64),
           (3, None, None), (3, 16, 64)]


def _outcome(fn, *args):
    try:
        return fn(*args)
    except ValueError:
        return "ValueError"


@pytest.mark.filterwarnings("ignore:This model usually expects")
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_input_shape_for_matches_keras(data_format):
    for shape, flatten, weights in itertools.product(_SHAPES, [True, False], [None, "imagenet"]):
        args = (shape, 224, 32, data_format, flatten, weights)
        assert _outcome(_common.input_shape_for, *args) == \
            _outcome(kapps.obtain_input_shape, *args), args


def test_input_shape_for_messages():
    with pytest.raises(ValueError, match="at least 32x32"):
        _common.input_shape_for((16, 16, 3), 224, 32, "channels_last", False, None)
    with pytest.raises(ValueError, match="3 channels"):
        _common.input_shape_for((64, 64, 1), 224, 32, "channels_last", False, "imagenet")
    with pytest.raises(ValueError, match=r"should be \(224, 224, 3\)"):
        _common.input_shape_for((64, 64, 3), 224, 32, "channels_last", True, "imagenet")
    with pytest.raises(ValueError, match="static `input_shape`"):
        _common.input_shape_for((None, None, 3), 224, 32, "channels_last", True, None)
    with pytest.raises(ValueError, match="data_format"):
        _common.input_shape_for(None, 224, 32, "nhwc", True, None)
    with pytest.warns(UserWarning, match="1 or 3 input channels"):
        assert _common.input_shape_for((64, 64, 5), 224, 32, "channels_last", False,
                                       None) == (64, 64, 5)
    # the global image data format is the default
    assert _common.input_shape_for(None, 224, 32, None, False, None) == (None, None, 3)


# -- argument checks --------------------------------------------------------------------------
def test_check_weights_args(tmp_path):
    _common.check_weights_args(None, True, 10)
    _common.check_weights_args("imagenet", True, 1000)
    _common.check_weights_args("imagenet", False, 10)
    path = tmp_path / "w.h5"
    path.write_bytes(b"")
    _common.check_weights_args(str(path), True, 10)
    _common.check_weights_args(path, True, 10)          # a pathlib.Path too
    with pytest.raises(ValueError, match="`weights` argument should be either"):
        _common.check_weights_args("imagenet21k", True, 1000)
    with pytest.raises(ValueError, match="no such file"):
        _common.check_weights_args(str(tmp_path / "missing.h5"), True, 1000)
    with pytest.raises(ValueError, match="`classes` should be 1000. Received classes=10"):
        _common.check_weights_args("imagenet", True, 10, "resnet50")


def test_check_classifier_activation():
    _common.check_classifier_activation("relu", None)
    _common.check_classifier_activation("softmax", "imagenet")
    _common.check_classifier_activation(None, "imagenet")
    with pytest.raises(ValueError, match="Only `None` and `softmax`"):
        _common.check_classifier_activation("relu", "imagenet")


def test_inputs_for():
    x, inputs = _common.inputs_for(None, (32, 32, 3))
    assert x is inputs and tuple(x.shape) == (None, 32, 32, 3)
    source = keras.Input((40, 40, 3))
    resized = keras.layers.Resizing(32, 32)(source)
    x, inputs = _common.inputs_for(resized, (32, 32, 3))
    assert x is resized and inputs == [source]
    with pytest.raises(ValueError, match="`input_tensor` must be a symbolic tensor"):
        _common.inputs_for(np.zeros((1, 32, 32, 3)), (32, 32, 3))


def test_pooled_or_none():
    x = keras.Input((8, 8, 5))
    assert _common.pooled_or_none(x, None) is x
    assert tuple(_common.pooled_or_none(x, "avg").shape) == (None, 5)
    assert tuple(_common.pooled_or_none(x, "max", max_name="mp").shape) == (None, 5)


# -- weights_file ------------------------------------------------------------------------------
@pytest.fixture
def homes(tmp_path, monkeypatch):
    """Empty gazelle and Keras caches, and no network (download raises OSError)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("GAZELLE_HOME", str(tmp_path / "gazelle"))
    calls = []

    def offline(url, target, file_hash=None, hash_algorithm="auto", progress=False):
        calls.append((url, target))
        raise OSError("network is unreachable")

    monkeypatch.setattr(file_utils, "download", offline)
    return tmp_path, calls


def _put(folder, name, data):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_weights_file_offline_message(homes):
    tmp, calls = homes
    with pytest.raises(FileNotFoundError) as info:
        _common.weights_file("net_notop.h5", "0" * 32, "https://example.org/w/")
    message = str(info.value)
    assert "net_notop.h5" in message
    assert "https://example.org/w/net_notop.h5" in message
    assert os.path.join(str(tmp), "keras", "models") in message
    assert os.path.join(str(tmp), "gazelle", "models") in message
    assert "network is unreachable" in message
    assert calls == [("https://example.org/w/net_notop.h5",
                      os.path.join(str(tmp), "gazelle", "models", "net_notop.h5"))]


def test_weights_file_finds_caches_and_checks_hashes(homes):
    tmp, calls = homes
    data = b"weights!"
    md5 = hashlib.md5(data).hexdigest()
    keras_copy = _put(os.path.join(str(tmp), "keras", "models"), "w.h5", data)
    assert _common.weights_file("w.h5", md5, "https://x/") == keras_copy
    gazelle_copy = _put(os.path.join(str(tmp), "gazelle", "models"), "w.h5", data)
    assert _common.weights_file("w.h5", md5, "https://x/") == gazelle_copy
    assert _common.weights_file("w.h5", hashlib.sha256(data).hexdigest(),
                                "https://x/") == gazelle_copy
    assert calls == []
    with pytest.raises(FileNotFoundError, match="Rejected \\(wrong hash\\)"):
        _common.weights_file("w.h5", "f" * 32, "https://x/")


def test_weights_file_downloads(homes, monkeypatch):
    tmp, _ = homes
    data = b"downloaded"

    def fake(url, target, file_hash=None, hash_algorithm="auto", progress=False):
        assert url == "https://x/d.h5"
        return _put(os.path.dirname(target), os.path.basename(target), data)

    monkeypatch.setattr(file_utils, "download", fake)
    path = _common.weights_file("d.h5", hashlib.md5(data).hexdigest(), "https://x/")
    assert path == os.path.join(str(tmp), "gazelle", "models", "d.h5")


def test_load_weights_none_and_path(tmp_path):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="d")(inputs))
    before = [np.array(w) for w in model.get_weights()]
    assert _common.load_weights(model, None) is model
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    other = keras.Model(inputs, keras.layers.Dense(2, name="d2")(inputs))
    path = str(tmp_path / "w.weights.h5")
    other.save_weights(path)
    _common.load_weights(model, path)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)


# -- imagenet_utils.preprocess_input --------------------------------------------------------
def _images(data_format, batched, dtype="float32"):
    rng = np.random.default_rng(0)
    shape = (4, 5, 3) if data_format == "channels_last" else (3, 4, 5)
    if batched:
        shape = (2,) + shape
    return rng.uniform(0, 255, shape).astype(dtype)


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("batched", [True, False])
def test_preprocess_input_numpy_matches_keras(mode, data_format, batched):
    x = _images(data_format, batched)
    ours, theirs = x.copy(), x.copy()
    got = imagenet_utils.preprocess_input(ours, data_format=data_format, mode=mode)
    want = kapps.preprocess_input(theirs, data_format=data_format, mode=mode)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-5)
    assert got.dtype == want.dtype
    # Keras overwrites a float input: so does gazelle, the same way
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-5)
    assert not np.allclose(ours, x)
    # integer images become floatx first (the input is left alone)
    ints = x.astype("uint8")
    got = imagenet_utils.preprocess_input(ints, data_format=data_format, mode=mode)
    want = kapps.preprocess_input(ints.copy(), data_format=data_format, mode=mode)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-5)
    np.testing.assert_array_equal(ints, x.astype("uint8"))


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("batched", [True, False])
def test_preprocess_input_tensor_matches_keras(mode, data_format, batched):
    import jax.numpy as jnp
    x = _images(data_format, batched)
    got = imagenet_utils.preprocess_input(jnp.asarray(x), data_format=data_format, mode=mode)
    want = kapps.preprocess_input(jnp.asarray(x), data_format=data_format, mode=mode)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, atol=1e-4)


def test_preprocess_input_symbolic_and_default_format():
    inputs = keras.Input((4, 5, 3))
    model = keras.Model(inputs, applications.resnet.preprocess_input(inputs))
    x = _images("channels_last", True)
    np.testing.assert_allclose(np.asarray(model(x)),
                               kapps.preprocess_input(x.copy(), mode="caffe"), atol=1e-4)
    np.testing.assert_allclose(applications.resnet_v2.preprocess_input(x.copy()),
                               x / 127.5 - 1, rtol=1e-6, atol=1e-6)


def test_preprocess_input_errors():
    x = _images("channels_last", True)
    with pytest.raises(ValueError, match="mode.*Received: mode='pytorch'"):
        imagenet_utils.preprocess_input(x, mode="pytorch")
    with pytest.raises(ValueError, match="data_format.*Received: data_format='nhwc'"):
        imagenet_utils.preprocess_input(x, data_format="nhwc")


# -- decode_predictions -------------------------------------------------------------------------
_CLASS_INDEX = os.path.join(os.path.dirname(imagenet_utils.__file__), "imagenet_class_index.json")


def test_class_index_is_keras_file():
    # The md5 Keras checks when it downloads the file.
    assert file_utils.validate_file(_CLASS_INDEX, "c2c37ea517e94d9795004a39431a14cb")


def test_decode_predictions_matches_keras(monkeypatch):
    with open(_CLASS_INDEX) as f:
        monkeypatch.setattr(kapps, "CLASS_INDEX", json.load(f))   # no download for Keras
    preds = np.random.default_rng(3).random((3, 1000)).astype("float32")
    got = imagenet_utils.decode_predictions(preds, top=4)
    assert got == kapps.decode_predictions(preds, top=4)
    assert [t[:2] for t in got[0]][0] == tuple(
        json.load(open(_CLASS_INDEX))[str(int(preds[0].argmax()))])
    assert len(applications.vgg16.decode_predictions(preds)[0]) == 5
    one_hot = np.zeros((1, 1000), "float32")
    one_hot[0, 1] = 1
    assert applications.resnet.decode_predictions(one_hot, top=1) == [
        [("n01443537", "goldfish", np.float32(1.0))]]


def test_decode_predictions_shape_error():
    with pytest.raises(ValueError, match=r"\(samples, 1000\).*\(2, 10\)"):
        imagenet_utils.decode_predictions(np.zeros((2, 10)))
    with pytest.raises(ValueError, match="2D array"):
        imagenet_utils.decode_predictions(np.zeros((1000,)))


def test_lazy_names():
    from gazelle.applications import resnet, resnet_v2, vgg16, vgg19
    assert applications.ResNet50 is resnet.ResNet50
    assert applications.ResNet152V2 is resnet_v2.ResNet152V2
    assert applications.VGG16 is vgg16.VGG16 and applications.VGG19 is vgg19.VGG19
    assert applications.imagenet_utils is imagenet_utils
    assert {"ResNet50", "ResNet101V2", "VGG19"} <= set(applications.available())


def test_module_names_match_keras():
    """Every `keras.applications.<module>` Keras has is a gazelle module name, and
    `resnet50` (Keras's ResNet50-only module) is the resnet family's model and preprocessing."""
    import keras as K

    import gazelle.applications as apps
    keras_modules = {n for n in dir(K.applications) if not n.startswith("_") and n.islower()}
    assert keras_modules <= set(apps._MODULES)
    assert apps.resnet50.ResNet50 is apps.resnet.ResNet50
    assert apps.resnet50.preprocess_input is apps.resnet.preprocess_input
    assert set(apps.resnet50.__all__) == {n for n in dir(K.applications.resnet50)
                                          if not n.startswith("_")}


def test_application_layers_resolve_in_a_fresh_process():
    """A saved ConvNeXt or InceptionResNetV2 names layers private to its family; a fresh
    process resolves them without the user importing the family module first."""
    import subprocess
    import sys
    code = ("import sys\n"
            "from gazelle.core.serialization import lookup_layer_class\n"
            "assert 'gazelle.applications.convnext' not in sys.modules\n"
            "for name in ('LayerScale', 'StochasticDepth', 'CustomScaleLayer'):\n"
            "    print(lookup_layer_class({'class_name': name}).__module__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["gazelle.applications.convnext"] * 2 + [
        "gazelle.applications.inception_resnet_v2"]
