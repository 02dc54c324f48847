"""Image files and arrays through Pillow: `load_img`, `img_to_array`, `array_to_img`,
`save_img`, `smart_resize`. [leaf: stdlib, numpy; Pillow imported on first use]

Pillow is an optional dependency (`pip install "gazelle[image]"`); only these functions
need it. `resize_image` is the host-side resize that `image_dataset_from_directory` and
`ImageDataGenerator` use: NumPy, one image at a time, with the same sampling as
`keras.ops.image.resize` (half-pixel centres, no antialiasing), so images decoded here
match what Keras's PIL-based loader produces.
"""
import functools
import io
import os
import pathlib
import warnings

import numpy as np

from gazelle import config
from gazelle.utils.io import atomic_write

_PIL_RESAMPLING = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")
RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")


def _pil():
    try:
        from PIL import Image
    except ImportError as e:  # pragma: no cover - Pillow is in the test extra
        raise ImportError("Image loading and saving needs Pillow: pip install "
                          "'gazelle[image]' (or pip install pillow).") from e
    return Image


def _resampling(name):
    image = _pil()
    table = getattr(image, "Resampling", image)
    return getattr(table, name.upper())


def _data_format(data_format, where):
    data_format = config.image_data_format() if data_format is None else data_format
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{where}: `data_format` must be 'channels_last' or 'channels_first'. "
                         f"Received: data_format={data_format!r}")
    return data_format


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """Converts a rank-3 array (one image) to a PIL Image.

    Args:
        x: the image, anything NumPy can turn into an array of shape `(height, width,
            channels)` (or `(channels, height, width)` with "channels_first"); 1, 3 or 4
            channels.
        data_format: "channels_last" or "channels_first"; defaults to
            `keras.config.image_data_format()`.
        scale: stretch the values so that the smallest becomes 0 and the largest 255
            (default True). Without it the values are cast to uint8 as they are.
        dtype: the float type used for the arithmetic; defaults to `keras.config.floatx()`.

    Returns:
        A PIL Image ("RGB", "RGBA", "L", or "I" for one channel above 255).

    ```python
    img = keras.utils.array_to_img(np.random.random((64, 64, 3)))
    ```
    """
    data_format = _data_format(data_format, "array_to_img")
    image = _pil()
    x = np.asarray(x, dtype=dtype or config.floatx())
    if x.ndim != 3:
        raise ValueError("array_to_img: expected one image of rank 3 (height, width, "
                         f"channels). Received an array of shape {x.shape}.")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        top = np.max(x)
        if top != 0:
            x = x / top
        x = x * 255
    channels = x.shape[2]
    if channels in (3, 4):
        return image.fromarray(x.astype("uint8"), "RGB" if channels == 3 else "RGBA")
    if channels == 1:
        if np.max(x) > 255:
            return image.fromarray(x[:, :, 0].astype("int32"), "I")
        return image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"array_to_img: images need 1, 3 or 4 channels. Received {channels} "
                     f"(array of shape {x.shape}, data_format={data_format!r}).")


def img_to_array(img, data_format=None, dtype=None):
    """Converts a PIL Image to a rank-3 NumPy array.

    Args:
        img: a PIL Image (or anything NumPy turns into a rank-2 or rank-3 array).
        data_format: "channels_last" (height, width, channels) or "channels_first";
            defaults to `keras.config.image_data_format()`.
        dtype: the array's dtype; defaults to `keras.config.floatx()`.

    Returns:
        A rank-3 array; grayscale images get a channel axis of size 1.

    ```python
    x = keras.utils.img_to_array(keras.utils.load_img("cat.png"))  # (h, w, 3) float32
    ```
    """
    data_format = _data_format(data_format, "img_to_array")
    x = np.asarray(img, dtype=dtype or config.floatx())
    if x.ndim == 3:
        return x.transpose(2, 0, 1) if data_format == "channels_first" else x
    if x.ndim == 2:
        return x[None] if data_format == "channels_first" else x[:, :, None]
    raise ValueError(f"img_to_array: expected an image of rank 2 or 3. Received shape {x.shape}.")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Saves an image array to a file (written atomically) or a file object.

    Args:
        path: a path or a writable binary file object.
        x: the image array (see `array_to_img`).
        data_format: "channels_last" or "channels_first".
        file_format: "png", "jpeg", ...; by default taken from the file name's extension
            (needed with a file object).
        scale: stretch the values to 0..255 first (default True).
        **kwargs: passed on to `PIL.Image.save` (e.g. `quality=90`).

    ```python
    keras.utils.save_img("out.png", np.random.random((32, 32, 3)))
    ```
    """
    if file_format is None and isinstance(path, (str, os.PathLike)):
        file_format = pathlib.Path(path).suffix[1:].lower() or None
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("save_img: JPEG cannot store an alpha channel; the image is saved as RGB.",
                      stacklevel=2)
        img = img.convert("RGB")
    if not isinstance(path, (str, os.PathLike)):
        img.save(path, format=file_format, **kwargs)
        return
    if file_format is None:
        raise ValueError(f"save_img: cannot tell the file format of {os.fspath(path)!r}; give "
                         "the file an extension (.png, .jpg) or pass file_format=.")
    buffer = io.BytesIO()
    img.save(buffer, format=file_format, **kwargs)
    atomic_write(path, buffer.getvalue())


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest",
             keep_aspect_ratio=False):
    """Loads an image file into a PIL Image.

    Args:
        path: a path (str, bytes or `pathlib.Path`) or an `io.BytesIO`.
        color_mode: "rgb" (default), "rgba" or "grayscale" (16- and 32-bit grayscale
            images keep their depth).
        target_size: None (keep the size) or `(height, width)`.
        interpolation: Pillow's resampling when resizing: "nearest" (default),
            "bilinear", "bicubic", "hamming", "box" or "lanczos".
        keep_aspect_ratio: resize without distortion: crop the centre to the target's
            aspect ratio first.

    Returns:
        A PIL Image.

    ```python
    img = keras.utils.load_img("cat.jpg", target_size=(224, 224))
    x = keras.utils.img_to_array(img)[None]  # a batch of one
    ```
    """
    image = _pil()
    if isinstance(path, io.BytesIO):
        img = image.open(path)
    elif isinstance(path, (str, bytes, pathlib.Path)):
        if isinstance(path, pathlib.Path):
            path = str(path.resolve())
        with open(path, "rb") as f:
            img = image.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"load_img: `path` must be a path (str, bytes, pathlib.Path) or an "
                        f"io.BytesIO. Received: {type(path).__name__}")
    img = _convert(img, color_mode, "load_img")
    if target_size is None:
        return img
    size = (target_size[1], target_size[0])
    if img.size == size:
        return img
    if interpolation not in _PIL_RESAMPLING:
        raise ValueError(f"load_img: `interpolation` must be one of {list(_PIL_RESAMPLING)}. "
                         f"Received: interpolation={interpolation!r}")
    resample = _resampling(interpolation)
    if not keep_aspect_ratio:
        return img.resize(size, resample)
    width, height = img.size
    crop_h = min(height, (width * size[1]) // size[0])
    crop_w = min(width, (height * size[0]) // size[1])
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return img.resize(size, resample, box=[left, top, left + crop_w, top + crop_h])


def _convert(img, color_mode, where):
    if color_mode == "grayscale":
        return img if img.mode in ("L", "I;16", "I") else img.convert("L")
    if color_mode in ("rgb", "rgba"):
        mode = color_mode.upper()
        return img if img.mode == mode else img.convert(mode)
    raise ValueError(f"{where}: `color_mode` must be 'grayscale', 'rgb' or 'rgba'. "
                     f"Received: color_mode={color_mode!r}")


def decode_image(path, color_mode="rgb"):
    """Reads an image file into a float32 (height, width, channels) array."""
    with open(path, "rb") as f:
        img = _pil().open(io.BytesIO(f.read()))
        img = _convert(img, color_mode, "decode_image")
        x = np.asarray(img, dtype="float32")
    return x[:, :, None] if x.ndim == 2 else x


# Kernels of `jax.image.scale_and_translate` (what keras.ops.image.resize uses on JAX).
def _triangle(x):
    return np.maximum(0.0, 1.0 - x)


def _keys_cubic(x):
    out = ((1.5 * x - 2.5) * x) * x + 1.0
    out = np.where(x >= 1.0, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0, out)
    return np.where(x >= 2.0, 0.0, out)


def _lanczos(radius, x):
    y = radius * np.sin(np.pi * x) * np.sin(np.pi * x / radius)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(x > 1e-3, y / (np.pi ** 2 * x ** 2), 1.0)
    return np.where(x > radius, 0.0, out)


_KERNELS = {"bilinear": _triangle, "bicubic": _keys_cubic,
            "lanczos3": functools.partial(_lanczos, 3.0),
            "lanczos5": functools.partial(_lanczos, 5.0)}


@functools.lru_cache(maxsize=256)
def _weights(in_size, out_size, interpolation):
    """The (out_size, in_size) matrix that resamples one axis."""
    if interpolation == "nearest":
        index = np.floor((np.arange(out_size, dtype=np.float32) + 0.5) * in_size / out_size)
        return np.eye(in_size, dtype=np.float32)[index.astype(np.int64)]
    inv_scale = np.float32(in_size) / np.float32(out_size)
    sample = (np.arange(out_size, dtype=np.float32) + 0.5) * inv_scale - 0.5
    distance = np.abs(sample[None, :] - np.arange(in_size, dtype=np.float32)[:, None])
    w = _KERNELS[interpolation](distance).astype(np.float32)
    total = w.sum(axis=0, keepdims=True)
    w = np.where(np.abs(total) > 1000 * np.finfo(np.float32).eps,
                 w / np.where(total != 0, total, 1), 0)
    inside = (sample >= -0.5) & (sample <= in_size - 0.5)
    return np.where(inside[None, :], w, 0).T.astype(np.float32)


@functools.lru_cache(maxsize=256)
def _taps(in_size, out_size, interpolation):
    """The nonzero entries of `_weights`: `(index, weight)`, each (out_size, taps)."""
    dense = _weights(in_size, out_size, interpolation)
    taps = max(1, int((dense != 0).sum(axis=1).max()))
    index = np.zeros((out_size, taps), dtype=np.int64)
    weight = np.zeros((out_size, taps), dtype=np.float32)
    for o, row in enumerate(dense):
        (cols,) = np.nonzero(row)
        index[o, :len(cols)], weight[o, :len(cols)] = cols, row[cols]
    return index, weight


def resize_image(x, size, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_value=0.0):
    """Resizes one (height, width, channels) float image on the host, as
    `keras.ops.image.resize` does (half-pixel centres, no antialiasing)."""
    if interpolation not in RESIZE_INTERPOLATIONS:
        raise NotImplementedError(
            f"Resizing with interpolation={interpolation!r} is not available in gazelle; use "
            f"one of {list(RESIZE_INTERPOLATIONS)}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Pass only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio`.")
    x = np.asarray(x, dtype=np.float32)
    th, tw = int(size[0]), int(size[1])
    h, w = x.shape[0], x.shape[1]
    if crop_to_aspect_ratio:
        ch = max(min(h, int(float(w * th) / tw)), 1)
        cw = max(min(w, int(float(h * tw) / th)), 1)
        top, left = int(float(h - ch) / 2), int(float(w - cw) / 2)
        x = x[top:top + ch, left:left + cw]
    elif pad_to_aspect_ratio:
        top = int(float(max(h, int(float(w * th) / tw)) - h) / 2)
        left = int(float(max(w, int(float(h * tw) / th)) - w) / 2)
        if top > 0:
            x = np.pad(x, ((top, top), (0, 0), (0, 0)), constant_values=fill_value)
        elif left > 0:
            x = np.pad(x, ((0, 0), (left, left), (0, 0)), constant_values=fill_value)
    # Each output row (then column) mixes a few input rows: gather them and weight them.
    # (Dense matrix products would do 50x the work, and BLAS threads would fight the
    # decoding threads.)
    if x.shape[0] != th:
        index, weight = _taps(x.shape[0], th, interpolation)
        x = np.einsum("okwc,ok->owc", x[index], weight)
    if x.shape[1] != tw:
        index, weight = _taps(x.shape[1], tw, interpolation)
        x = np.einsum("hokc,ok->hoc", x[:, index], weight)
    return np.ascontiguousarray(x, dtype=np.float32)


def smart_resize(x, size, interpolation="bilinear", data_format="channels_last"):
    """Resizes images to `size` without distorting them: crops the largest centred region
    with the target's aspect ratio, then resizes it.

    Args:
        x: one image `(height, width, channels)` or a batch `(batch, height, width,
            channels)` (channels first with `data_format="channels_first"`).
        size: `(height, width)`.
        interpolation: "bilinear" (default), "nearest", "bicubic", "lanczos3" or "lanczos5".
        data_format: "channels_last" (default) or "channels_first".

    Returns:
        A float32 NumPy array with the new height and width.

    ```python
    x = keras.preprocessing.image.smart_resize(np.ones((340, 500, 3)), (200, 200))
    ```
    """
    if len(size) != 2:
        raise ValueError(f"smart_resize: `size` must be (height, width). Received: {size}")
    x = np.asarray(x, dtype=np.float32)
    if x.ndim not in (3, 4):
        raise ValueError("smart_resize: expected an image (height, width, channels) or a batch "
                         f"of them. Received an array of shape {x.shape}.")
    batch = x if x.ndim == 4 else x[None]
    if data_format == "channels_first":
        batch = batch.transpose(0, 2, 3, 1)
    out = np.stack([resize_image(img, size, interpolation, crop_to_aspect_ratio=True)
                    for img in batch])
    if data_format == "channels_first":
        out = out.transpose(0, 3, 1, 2)
    return out if x.ndim == 4 else out[0]
