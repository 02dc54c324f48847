"""`keras.ops.image`: resizing, geometric transforms, colour spaces, patches, crops. [L0]

Images are `(height, width, channels)` or batched `(batch, height, width, channels)`
(channels first with `data_format="channels_first"`). Interpolation and fill-mode names are
Keras's; the work is done by `jax.image` and `jax.scipy.ndimage`.

```python
from gazelle import ops
ops.image.resize(ops.ones((2, 8, 8, 3)), (4, 4), interpolation="bilinear").shape  # (2, 4, 4, 3)
```
"""
import jax
import jax.numpy as jnp

from gazelle.ops import core as _core
from gazelle.ops import nn as _nn
from gazelle.ops._common import data_format_arg as _data_format
from gazelle.ops._common import tensor as _t

_RESIZE = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic")
_ORDERS = {"nearest": 0, "bilinear": 1}
_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def _check_rank(images, name):
    if images.ndim not in (3, 4):
        raise ValueError(f"{name}: expected images of rank 3 (one image) or 4 (a batch), "
                         f"received shape {images.shape}.")


def _hw_axes(images, data_format):
    return (images.ndim - 3, images.ndim - 2) if data_format == "channels_last" else \
        (images.ndim - 2, images.ndim - 1)


def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    """Resizes images to `size = (height, width)`.

    Args:
        images: rank-3 or rank-4 images.
        size: `(height, width)`.
        interpolation: "bilinear", "nearest", "lanczos3", "lanczos5" or "bicubic".
        antialias: filter when downsampling.
        crop_to_aspect_ratio: centre-crop to the target aspect ratio first.
        pad_to_aspect_ratio: pad (with `fill_value`) to the target aspect ratio first.
        fill_mode: only "constant".
        fill_value: padding value for `pad_to_aspect_ratio`.
        data_format: "channels_last" or "channels_first".
    """
    data_format = _data_format(data_format)
    images = _t(images)
    _check_rank(images, "resize")
    if interpolation not in _RESIZE:
        raise ValueError(f"resize: `interpolation` must be one of {_RESIZE}, received "
                         f"{interpolation!r}.")
    if fill_mode != "constant":
        raise ValueError(f"resize: only fill_mode='constant' is supported, received {fill_mode!r}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("resize: pass only one of crop_to_aspect_ratio and pad_to_aspect_ratio.")
    if len(size) != 2 or size[0] <= 0 or size[1] <= 0:
        raise ValueError(f"resize: `size` must be a positive (height, width), received {size}.")
    th, tw = size
    ha, wa = _hw_axes(images, data_format)
    h, w = images.shape[ha], images.shape[wa]
    if crop_to_aspect_ratio:
        ch = max(min(h, int(w * th / tw)), 1)
        cw = max(min(w, int(h * tw / th)), 1)
        top, left = int((h - ch) / 2), int((w - cw) / 2)
        images = jax.lax.slice_in_dim(images, top, top + ch, axis=ha)
        images = jax.lax.slice_in_dim(images, left, left + cw, axis=wa)
    elif pad_to_aspect_ratio:
        ph, pw = max(h, int(w * th / tw)), max(w, int(h * tw / th))
        top, left = int((ph - h) / 2), int((pw - w) / 2)
        pads = [(0, 0)] * images.ndim
        if top > 0:
            pads[ha] = (top, top)
        elif left > 0:
            pads[wa] = (left, left)
        images = jnp.pad(images, pads, constant_values=fill_value)
    shape = list(images.shape)
    shape[ha], shape[wa] = th, tw
    out = jax.image.resize(images, tuple(shape), method=interpolation, antialias=antialias)
    if out.dtype == images.dtype:
        return out
    if jnp.issubdtype(images.dtype, jnp.integer):      # ints come back rounded and clipped
        out = jnp.round(out)
    return _core.saturate_cast(out, images.dtype)


def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """Samples `inputs` at `coordinates` (shape `(inputs.ndim, ...)`) with spline order 0 or 1."""
    inputs, coordinates = _t(inputs), _t(coordinates)
    if coordinates.ndim < 2:
        raise ValueError(f"map_coordinates: `coordinates` must have rank >= 2, received "
                         f"{coordinates.shape}.")
    if coordinates.shape[0] != inputs.ndim:
        raise ValueError(f"map_coordinates: the first dimension of `coordinates` "
                         f"({coordinates.shape[0]}) must equal the rank of `inputs` "
                         f"({inputs.ndim}).")
    if fill_mode not in _FILL_MODES:
        raise ValueError(f"map_coordinates: `fill_mode` must be one of {_FILL_MODES}, received "
                         f"{fill_mode!r}.")
    if order not in (0, 1):
        raise ValueError(f"map_coordinates: `order` must be 0 or 1, received {order!r}.")
    return jax.scipy.ndimage.map_coordinates(inputs, list(coordinates), order, mode=fill_mode,
                                             cval=fill_value)


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant",
                     fill_value=0, data_format=None):
    """Applies projective transforms `[a0, a1, a2, b0, b1, b2, c0, c1]` to images.

    Each output pixel (x, y) samples the input at
    `((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)` with `k = c0 x + c1 y + 1`.

    Args:
        images: rank-3 or rank-4 images.
        transform: `(8,)` or `(batch, 8)`.
        interpolation: "nearest" or "bilinear".
        fill_mode: "constant", "nearest", "wrap", "mirror" or "reflect".
        fill_value: value outside the input with fill_mode="constant".
        data_format: "channels_last" or "channels_first".
    """
    data_format = _data_format(data_format)
    if interpolation not in _ORDERS:
        raise ValueError(f"affine_transform: `interpolation` must be 'nearest' or 'bilinear', "
                         f"received {interpolation!r}.")
    if fill_mode not in _FILL_MODES:
        raise ValueError(f"affine_transform: `fill_mode` must be one of {_FILL_MODES}, received "
                         f"{fill_mode!r}.")
    images, transform = _t(images), _t(transform)
    _check_rank(images, "affine_transform")
    if transform.ndim not in (1, 2):
        raise ValueError(f"affine_transform: `transform` must be (8,) or (batch, 8), received "
                         f"{transform.shape}.")
    single = images.ndim == 3
    if single:
        images = images[None]
    if transform.ndim == 1:
        transform = transform[None]
    if data_format == "channels_first":
        images = jnp.transpose(images, (0, 2, 3, 1))
    _, h, w, c = images.shape
    y, x = jnp.meshgrid(jnp.arange(h, dtype=transform.dtype),
                        jnp.arange(w, dtype=transform.dtype), indexing="ij")
    order = _ORDERS[interpolation]

    def one(image, t):
        k = t[6] * x + t[7] * y + 1.0
        xin = (t[0] * x + t[1] * y + t[2]) / k
        yin = (t[3] * x + t[4] * y + t[5]) / k

        def channel(plane):
            return jax.scipy.ndimage.map_coordinates(plane, [yin, xin], order, mode=fill_mode,
                                                     cval=fill_value)
        return jax.vmap(channel, in_axes=-1, out_axes=-1)(image)

    transform = jnp.broadcast_to(transform, (images.shape[0], 8))
    out = jax.vmap(one)(images, transform)
    if data_format == "channels_first":
        out = jnp.transpose(out, (0, 3, 1, 2))
    return out[0] if single else out


def _homography(start, end):
    # the 8 coefficients mapping end points (output) back to start points (input)
    sx, sy, ex, ey = start[..., 0], start[..., 1], end[..., 0], end[..., 1]
    zero, one = jnp.zeros_like(ex), jnp.ones_like(ex)
    rows_x = jnp.stack([ex, ey, one, zero, zero, zero, -sx * ex, -sx * ey], axis=-1)
    rows_y = jnp.stack([zero, zero, zero, ex, ey, one, -sy * ex, -sy * ey], axis=-1)
    a = jnp.concatenate([rows_x, rows_y], axis=-2)
    b = jnp.concatenate([sx, sy], axis=-1)[..., None]
    return jnp.linalg.solve(a, b)[..., 0]


def perspective_transform(images, start_points, end_points, interpolation="bilinear",
                          fill_value=0, data_format=None):
    """Warps images so that the 4 `start_points` (x, y) land on the 4 `end_points`."""
    start_points, end_points = _t(start_points), _t(end_points)
    for name, p in (("start_points", start_points), ("end_points", end_points)):
        if p.shape[-2:] != (4, 2) or p.ndim not in (2, 3):
            raise ValueError(f"perspective_transform: `{name}` must be (4, 2) or (batch, 4, 2), "
                             f"received {p.shape}.")
    if start_points.shape != end_points.shape:
        raise ValueError("perspective_transform: start_points and end_points must have the same "
                         f"shape, received {start_points.shape} and {end_points.shape}.")
    transform = _homography(start_points.astype("float32"), end_points.astype("float32"))
    return affine_transform(images, transform, interpolation=interpolation, fill_mode="constant",
                            fill_value=fill_value, data_format=data_format)


def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method,
                        antialias=True):
    """Resamples `images` over `spatial_dims` with a scale and a translation (jax.image)."""
    methods = ("linear", "bilinear", "trilinear", "cubic", "bicubic", "tricubic", "lanczos3",
               "lanczos5")
    if method not in methods:
        raise ValueError(f"scale_and_translate: `method` must be one of {methods}, received "
                         f"{method!r}.")
    return jax.image.scale_and_translate(_t(images), output_shape, spatial_dims, _t(scale),
                                         _t(translation), method, antialias=antialias)


def rgb_to_grayscale(images, data_format=None):
    """Converts RGB images to one-channel grayscale (ITU-R 601 weights)."""
    data_format = _data_format(data_format)
    images = _t(images)
    _check_rank(images, "rgb_to_grayscale")
    axis = -1 if data_format == "channels_last" else -3
    if images.shape[axis] not in (1, 3):
        raise ValueError(f"rgb_to_grayscale: expected 1 or 3 channels, received shape "
                         f"{images.shape}.")
    if images.shape[axis] == 1:
        return images
    original = images.dtype
    x = images.astype(jnp.result_type(images.dtype, float))
    weights = jnp.asarray([0.2989, 0.5870, 0.1140], x.dtype)
    gray = jnp.tensordot(x, weights, axes=(axis, -1))
    return jnp.expand_dims(gray, axis).astype(original)


def _float_images(images, name):
    images = _t(images)
    _check_rank(images, name)
    if not jnp.issubdtype(images.dtype, jnp.floating):
        raise ValueError(f"{name}: expected float images, received dtype {images.dtype}.")
    return images


def rgb_to_hsv(images, data_format=None):
    """Converts RGB images in [0, 1] to HSV (hue, saturation, value all in [0, 1])."""
    data_format = _data_format(data_format)
    images = _float_images(images, "rgb_to_hsv")
    axis = -1 if data_format == "channels_last" else -3
    images = jnp.where(jnp.abs(images) < jnp.finfo(images.dtype).eps, 0.0, images)
    r, g, b = (jnp.take(images, i, axis=axis) for i in range(3))
    value = jnp.maximum(jnp.maximum(r, g), b)
    spread = value - jnp.minimum(jnp.minimum(r, g), b)
    saturation = jnp.where(value > 0, spread / jnp.where(value > 0, value, 1.0), 0.0)
    norm = 1.0 / (6.0 * jnp.where(spread > 0, spread, 1.0))
    hue = jnp.where(value == g, norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0)
    hue = jnp.where(value == r, norm * (g - b), hue)
    hue = jnp.where(spread > 0, hue, 0.0) + (hue < 0.0).astype(hue.dtype)
    return jnp.stack([hue, saturation, value], axis=axis)


def hsv_to_rgb(images, data_format=None):
    """Converts HSV images (all channels in [0, 1]) to RGB."""
    data_format = _data_format(data_format)
    images = _float_images(images, "hsv_to_rgb")
    axis = -1 if data_format == "channels_last" else -3
    h, s, v = (jnp.take(images, i, axis=axis) for i in range(3))
    dh = jnp.mod(h, 1.0) * 6.0
    dr = jnp.clip(jnp.abs(dh - 3.0) - 1.0, 0.0, 1.0)
    dg = jnp.clip(2.0 - jnp.abs(dh - 2.0), 0.0, 1.0)
    db = jnp.clip(2.0 - jnp.abs(dh - 4.0), 0.0, 1.0)
    return jnp.stack([v * (1.0 - s + s * d) for d in (dr, dg, db)], axis=axis)


def _patches(images, size, strides, dilation_rate, padding, data_format, n, name):
    data_format = _data_format(data_format)
    images = _t(images)
    size = (size,) * n if isinstance(size, int) else tuple(size)
    if len(size) != n:
        raise TypeError(f"{name}: `size` must be an int or a tuple of {n} ints, received {size}.")
    channels = images.shape[-1] if data_format == "channels_last" else images.shape[-n - 1]
    single = images.ndim == n + 1
    if single:
        images = images[None]
    out_dim = channels
    for s in size:
        out_dim *= s
    kernel = jnp.reshape(jnp.eye(out_dim, dtype=images.dtype), size + (channels, out_dim))
    out = _nn.conv(images, kernel, strides=strides or size, padding=padding,
                   data_format=data_format, dilation_rate=dilation_rate)
    return out[0] if single else out


def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid",
                    data_format=None):
    """Patches of `size` flattened into the channel axis (2-D; 3-D when `size` has 3 ints).

    ```python
    ops.image.extract_patches(ops.ones((1, 8, 8, 3)), 4).shape     # (1, 2, 2, 48)
    ```
    """
    if not isinstance(size, int) and len(size) == 3:
        return extract_patches_3d(images, size, strides, dilation_rate, padding, data_format)
    return _patches(images, size, strides, dilation_rate, padding, data_format, 2,
                    "extract_patches")


def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid",
                       data_format=None):
    """3-D patches of `size` flattened into the channel axis."""
    return _patches(volumes, size, strides, dilation_rate, padding, data_format, 3,
                    "extract_patches_3d")


def _two_of_three(a, b, c, names):
    if [a, b, c].count(None) != 1:
        raise ValueError(f"Specify exactly two of {', '.join(names)}; received "
                         f"{names[0]}={a}, {names[1]}={b}, {names[2]}={c}.")
    for value, name in zip((a, b, c), names):
        if value is not None and value < 0:
            raise ValueError(f"{name} must be >= 0, received {value}.")


def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None,
               right_padding=None, target_height=None, target_width=None, data_format=None):
    """Zero-pads images; give two of (top, bottom, target_height) and two of (left, right,
    target_width)."""
    data_format = _data_format(data_format)
    images = _t(images)
    _check_rank(images, "pad_images")
    _two_of_three(top_padding, bottom_padding, target_height,
                  ("top_padding", "bottom_padding", "target_height"))
    _two_of_three(left_padding, right_padding, target_width,
                  ("left_padding", "right_padding", "target_width"))
    ha, wa = _hw_axes(images, data_format)
    h, w = images.shape[ha], images.shape[wa]
    top = target_height - bottom_padding - h if top_padding is None else top_padding
    bottom = target_height - top - h if bottom_padding is None else bottom_padding
    left = target_width - right_padding - w if left_padding is None else left_padding
    right = target_width - left - w if right_padding is None else right_padding
    for value, name in ((top, "top_padding"), (bottom, "bottom_padding"),
                        (left, "left_padding"), (right, "right_padding")):
        if value < 0:
            raise ValueError(f"pad_images: {name} must be >= 0, received {value} (the target "
                             "size is smaller than the image).")
    pads = [(0, 0)] * images.ndim
    pads[ha], pads[wa] = (top, bottom), (left, right)
    return jnp.pad(images, pads)


def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None,
                right_cropping=None, target_height=None, target_width=None, data_format=None):
    """Crops images; give two of (top, bottom, target_height) and two of (left, right,
    target_width)."""
    data_format = _data_format(data_format)
    images = _t(images)
    _check_rank(images, "crop_images")
    _two_of_three(top_cropping, bottom_cropping, target_height,
                  ("top_cropping", "bottom_cropping", "target_height"))
    _two_of_three(left_cropping, right_cropping, target_width,
                  ("left_cropping", "right_cropping", "target_width"))
    ha, wa = _hw_axes(images, data_format)
    h, w = images.shape[ha], images.shape[wa]
    top = h - target_height - bottom_cropping if top_cropping is None else top_cropping
    height = h - bottom_cropping - top if target_height is None else target_height
    left = w - target_width - right_cropping if left_cropping is None else left_cropping
    width = w - right_cropping - left if target_width is None else target_width
    for value, name in ((top, "top_cropping"), (height, "target_height"),
                        (left, "left_cropping"), (width, "target_width")):
        if value < 0:
            raise ValueError(f"crop_images: {name} must be >= 0, received {value}.")
    images = jax.lax.slice_in_dim(images, top, top + height, axis=ha)
    return jax.lax.slice_in_dim(images, left, left + width, axis=wa)


def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Blurs images with a Gaussian kernel (`kernel_size`/`sigma` given as (x, y))."""
    data_format = _data_format(data_format)
    images = _t(images)
    _check_rank(images, "gaussian_blur")
    dtype = images.dtype
    sigma = _t(sigma, dtype=dtype)

    def kernel1d(size, s):
        x = jnp.arange(size, dtype=dtype) - (size - 1) / 2
        k = jnp.exp(-0.5 * (x / s) ** 2)
        return k / jnp.sum(k)

    kernel = jnp.outer(kernel1d(kernel_size[1], sigma[1]), kernel1d(kernel_size[0], sigma[0]))
    single = images.ndim == 3
    if single:
        images = images[None]
    c = images.shape[-1] if data_format == "channels_last" else images.shape[1]
    kernel = jnp.tile(kernel[:, :, None, None], (1, 1, c, 1))
    out = _nn.depthwise_conv(images, kernel, padding="same", data_format=data_format)
    return out[0] if single else out


def sobel_edges(images, data_format=None):
    """Sobel gradients of a batch of images: `(..., channels, 2)` holding (dy, dx).

    ```python
    ops.image.sobel_edges(ops.ones((1, 8, 8, 3))).shape         # (1, 8, 8, 3, 2)
    ```
    """
    data_format = _data_format(data_format)
    images = _t(images)
    if images.ndim != 4:
        raise ValueError(f"sobel_edges: expected a batch of images (rank 4), received shape "
                         f"{images.shape}.")
    c = images.shape[-1] if data_format == "channels_last" else images.shape[1]
    gx = jnp.asarray([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], images.dtype)
    edges = [_nn.depthwise_conv(images, jnp.tile(k[:, :, None, None], (1, 1, c, 1)),
                                padding="same", data_format=data_format) for k in (gx.T, gx)]
    return jnp.stack(edges, axis=-1)


def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
         data_format=None):
    """Structural similarity between two images (or batches), averaged over channels.

    Args:
        image1, image2: rank-3 or rank-4 images of the same shape.
        max_val: the dynamic range of the pixel values (1.0 or 255).
        filter_size: size of the Gaussian window.
        filter_sigma: its standard deviation.
        k1, k2: the SSIM stability constants.
        data_format: "channels_last" or "channels_first".

    Returns a scalar per image.
    """
    data_format = _data_format(data_format)
    a, b = _t(image1), _t(image2)
    _check_rank(a, "ssim")
    _check_rank(b, "ssim")
    original = a.dtype
    dtype = jnp.result_type(a.dtype, float)
    a, b = a.astype(dtype), b.astype(dtype)
    single = a.ndim == 3
    if single:
        a, b = a[None], b[None]
    if data_format == "channels_first":
        a, b = jnp.moveaxis(a, 1, -1), jnp.moveaxis(b, 1, -1)
    n, h, w, c = a.shape
    x = jnp.arange(filter_size, dtype=dtype) - (filter_size - 1) / 2.0
    g = jnp.exp(-(x ** 2) / (2.0 * filter_sigma ** 2))
    g = g / jnp.sum(g)
    kernel = jnp.outer(g, g).reshape(filter_size, filter_size, 1, 1)

    def blur(t):      # each channel on its own, 'valid' windows
        t = jnp.transpose(t, (0, 3, 1, 2)).reshape(-1, h, w, 1)
        return _nn.conv(t, kernel, padding="valid", data_format="channels_last")

    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    mu1, mu2 = blur(a), blur(b)
    s11, s22, s12 = blur(a * a) - mu1 ** 2, blur(b * b) - mu2 ** 2, blur(a * b) - mu1 * mu2
    ssim_map = ((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / \
        ((mu1 ** 2 + mu2 ** 2 + c1) * (s11 + s22 + c2))
    out = jnp.mean(jnp.mean(ssim_map, axis=(1, 2, 3)).reshape(n, c), axis=-1)
    return (out[0] if single else out).astype(original)


def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear",
                      fill_mode="reflect", fill_value=0.0, seed=None, data_format=None):
    """Distorts images with a smooth random displacement field.

    Each pixel moves by `alpha` times a Gaussian-blurred (std `sigma`) normal noise field,
    drawn independently for the x and y displacements.

    Args:
        images: rank-3 or rank-4 images.
        alpha: strength of the displacement.
        sigma: smoothness (std of the Gaussian blur, in pixels).
        interpolation: "nearest" or "bilinear".
        fill_mode: "constant", "nearest", "wrap", "mirror" or "reflect".
        fill_value: value outside the image with fill_mode="constant".
        seed: an int, a `keras.random.SeedGenerator`, or None.
        data_format: "channels_last" or "channels_first".
    """
    from gazelle.random import draw_seed

    data_format = _data_format(data_format)
    if interpolation not in _ORDERS:
        raise ValueError(f"elastic_transform: `interpolation` must be 'nearest' or 'bilinear', "
                         f"received {interpolation!r}.")
    if fill_mode not in _FILL_MODES:
        raise ValueError(f"elastic_transform: `fill_mode` must be one of {_FILL_MODES}, "
                         f"received {fill_mode!r}.")
    images = _t(images)
    _check_rank(images, "elastic_transform")
    single = images.ndim == 3
    if single:
        images = images[None]
    if data_format == "channels_first":
        images = jnp.transpose(images, (0, 2, 3, 1))
    n, h, w, _ = images.shape
    dtype = images.dtype if jnp.issubdtype(images.dtype, jnp.floating) else jnp.float32
    kx, ky = jax.random.split(draw_seed(seed))
    size = int(6 * float(sigma)) | 1

    def field(key):
        noise = jax.random.normal(key, (n, h, w, 1), dtype) * sigma
        blurred = gaussian_blur(noise, (size, size), (sigma, sigma), "channels_last")
        return alpha * blurred[..., 0]

    x, y = jnp.meshgrid(jnp.arange(w, dtype=dtype), jnp.arange(h, dtype=dtype))
    xs, ys = x + field(kx), y + field(ky)
    order = _ORDERS[interpolation]

    def sample(plane, yy, xx):
        return jax.scipy.ndimage.map_coordinates(plane, [yy, xx], order, mode=fill_mode,
                                                 cval=fill_value)

    per_channel = jax.vmap(sample, in_axes=(-1, None, None), out_axes=-1)
    out = jax.vmap(per_channel)(images.astype(dtype), ys, xs).astype(images.dtype)
    if data_format == "channels_first":
        out = jnp.transpose(out, (0, 3, 1, 2))
    return out[0] if single else out
