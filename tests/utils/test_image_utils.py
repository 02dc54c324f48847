"""load_img / img_to_array / array_to_img / save_img / smart_resize against Keras 3, on
small image files written by the tests; the host resize against keras.ops.image.resize."""
import io
import os

import numpy as np
import pytest

PIL = pytest.importorskip("PIL.Image")
k3 = pytest.importorskip("keras")

import gazelle as keras  # noqa: E402
from gazelle.utils import image_utils  # noqa: E402


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    out = {}
    for mode, shape in (("RGB", (21, 34, 3)), ("RGBA", (30, 18, 4)), ("L", (25, 25))):
        path = folder / f"{mode}.png"
        PIL.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(path)
        out[mode] = str(path)
    return out


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
@pytest.mark.parametrize("color_mode", ["rgb", "rgba", "grayscale"])
def test_load_img_color_modes_match_keras(files, mode, color_mode):
    ours = keras.utils.load_img(files[mode], color_mode=color_mode)
    theirs = k3.utils.load_img(files[mode], color_mode=color_mode)
    assert ours.mode == theirs.mode
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic", "hamming", "box",
                                           "lanczos"])
@pytest.mark.parametrize("keep_aspect_ratio", [False, True])
def test_load_img_resize_matches_keras(files, interpolation, keep_aspect_ratio):
    for mode, size in (("RGB", (16, 16)), ("RGBA", (10, 40))):
        kw = dict(target_size=size, interpolation=interpolation,
                  keep_aspect_ratio=keep_aspect_ratio)
        ours = keras.utils.load_img(files[mode], **kw)
        theirs = k3.utils.load_img(files[mode], **kw)
        assert ours.size == (size[1], size[0])
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_load_img_accepts_bytesio_pathlib_and_bytes(files, tmp_path):
    import pathlib
    expected = np.asarray(keras.utils.load_img(files["RGB"]))
    with open(files["RGB"], "rb") as f:
        data = f.read()
    for source in (io.BytesIO(data), pathlib.Path(files["RGB"]), files["RGB"].encode()):
        np.testing.assert_array_equal(np.asarray(keras.utils.load_img(source)), expected)


def test_load_img_errors(files):
    with pytest.raises(ValueError, match="color_mode"):
        keras.utils.load_img(files["RGB"], color_mode="cmyk")
    with pytest.raises(ValueError, match="interpolation"):
        keras.utils.load_img(files["RGB"], target_size=(5, 5), interpolation="cubic")
    with pytest.raises(TypeError, match="path"):
        keras.utils.load_img(42)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("dtype", [None, "uint8", "float64"])
@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_img_to_array_matches_keras(files, data_format, dtype, mode):
    img = PIL.open(files[mode])
    ours = keras.utils.img_to_array(img, data_format=data_format, dtype=dtype)
    theirs = k3.utils.img_to_array(img, data_format=data_format, dtype=dtype)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


def test_img_to_array_rejects_bad_rank():
    with pytest.raises(ValueError, match="rank 2 or 3"):
        keras.utils.img_to_array(np.zeros((2, 3, 4, 5)))


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("scale", [True, False])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_array_to_img_matches_keras(channels, scale, data_format):
    rng = np.random.default_rng(channels)
    x = rng.uniform(-3, 200, (9, 7, channels))
    if data_format == "channels_first":
        x = x.transpose(2, 0, 1)
    ours = keras.utils.array_to_img(x, data_format=data_format, scale=scale)
    theirs = k3.utils.array_to_img(x, data_format=data_format, scale=scale)
    assert ours.mode == theirs.mode and ours.size == theirs.size
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_array_to_img_wide_grayscale_is_mode_i():
    x = np.arange(12, dtype="float32").reshape(3, 4, 1) * 100
    ours = keras.utils.array_to_img(x, scale=False)
    theirs = k3.utils.array_to_img(x, scale=False)
    assert ours.mode == theirs.mode == "I"
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_array_to_img_errors():
    with pytest.raises(ValueError, match="rank 3"):
        keras.utils.array_to_img(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="1, 3 or 4 channels"):
        keras.utils.array_to_img(np.zeros((4, 4, 2)))
    with pytest.raises(ValueError, match="data_format"):
        keras.utils.array_to_img(np.zeros((4, 4, 3)), data_format="nhwc")


@pytest.mark.parametrize("ext", ["png", "jpg", "bmp"])
def test_save_img_matches_keras(tmp_path, ext):
    x = np.random.default_rng(1).uniform(0, 1, (12, 10, 3))
    ours, theirs = tmp_path / f"ours.{ext}", tmp_path / f"theirs.{ext}"
    keras.utils.save_img(ours, x)
    k3.utils.save_img(theirs, x)
    np.testing.assert_array_equal(np.asarray(PIL.open(ours)), np.asarray(PIL.open(theirs)))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_save_img_rgba_as_jpeg_warns_and_drops_alpha(tmp_path):
    x = np.random.default_rng(2).uniform(0, 255, (6, 6, 4))
    with pytest.warns(UserWarning, match="alpha"):
        keras.utils.save_img(tmp_path / "a.jpeg", x)
    assert PIL.open(tmp_path / "a.jpeg").mode == "RGB"


def test_save_img_to_file_object_and_atomicity(tmp_path):
    x = np.random.default_rng(3).uniform(0, 255, (5, 5, 3))
    buffer = io.BytesIO()
    keras.utils.save_img(buffer, x, file_format="png", scale=False)
    buffer.seek(0)
    np.testing.assert_array_equal(np.asarray(PIL.open(buffer)), x.astype("uint8"))
    target = tmp_path / "keep.png"
    keras.utils.save_img(target, x)
    before = target.read_bytes()
    with pytest.raises((KeyError, ValueError)):
        keras.utils.save_img(target, x, file_format="no-such-format")
    assert target.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["keep.png"]
    with pytest.raises(ValueError, match="file format"):
        keras.utils.save_img(tmp_path / "noext", x)


@pytest.mark.sweep
@pytest.mark.parametrize("interpolation", list(image_utils.RESIZE_INTERPOLATIONS))
@pytest.mark.parametrize("aspect", ["none", "crop", "pad"])
def test_host_resize_matches_keras_ops_resize(interpolation, aspect):
    rng = np.random.default_rng(4)
    for (h, w), size in (((17, 23), (8, 8)), ((10, 12), (31, 7)), ((6, 6), (6, 11))):
        x = rng.uniform(0, 255, (h, w, 3)).astype("float32")
        kw = dict(crop_to_aspect_ratio=aspect == "crop", pad_to_aspect_ratio=aspect == "pad")
        theirs = np.asarray(k3.ops.image.resize(x, size, interpolation=interpolation, **kw))
        ours = image_utils.resize_image(x, size, interpolation, **kw)
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-3)


def test_host_resize_rejects_tensorflow_only_methods():
    with pytest.raises(NotImplementedError, match="area"):
        image_utils.resize_image(np.zeros((4, 4, 1)), (2, 2), "area")


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_smart_resize_matches_keras(data_format):
    from keras.src.utils.image_utils import smart_resize as k3_smart_resize
    x = np.random.default_rng(5).uniform(0, 255, (2, 34, 50, 3)).astype("float32")
    if data_format == "channels_first":
        x = x.transpose(0, 3, 1, 2)
    ours = keras.preprocessing.image.smart_resize(x, (20, 20), data_format=data_format)
    theirs = k3_smart_resize(x, (20, 20), data_format=data_format)
    np.testing.assert_allclose(ours, np.asarray(theirs), rtol=1e-5, atol=1e-3)
    one = keras.preprocessing.image.smart_resize(x[0], (20, 20), data_format=data_format)
    np.testing.assert_allclose(one, ours[0], rtol=1e-6, atol=1e-6)


def test_public_paths():
    for name in ("load_img", "img_to_array", "array_to_img", "save_img"):
        assert getattr(keras.utils, name) is getattr(image_utils, name)
        assert getattr(keras.preprocessing.image, name) is getattr(image_utils, name)


def test_image_modules_stay_on_the_host():
    """The file and folder helpers import neither JAX nor (until used) Pillow."""
    import subprocess
    import sys
    code = ("import sys, gazelle.preprocessing.image, gazelle.utils.image_dataset, "
            "gazelle.datasets.cifar100; print('jax' in sys.modules, 'PIL' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]
