"""The one projective-transform kernel behind every geometric image layer. [L2: jax]

A transform is Keras's 8-vector `[a0, a1, a2, b0, b1, b2, c0, c1]` (the first eight
entries of a 3x3 matrix whose last entry is 1). It maps each *output* pixel `(x, y)`
to the *input* point `((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)` with
`k = c0 x + c1 y + 1`, where the image is sampled with `interpolation`; points that
fall outside the image are filled according to `fill_mode`:

- `"reflect"`: `(d c b a | a b c d | d c b a)`, mirrored about the edge pixel's edge;
- `"wrap"`: `(a b c d | a b c d | a b c d)`;
- `"constant"`: `(k k k k | a b c d | k k k k)` with `k = fill_value`;
- `"nearest"`: `(a a a a | a b c d | d d d d)`;
- `"mirror"`: `(c d c b | a b c d | c b a b)`, mirrored about the edge pixel.

Each interpolation corner is fetched as a whole channel vector (one gather per corner),
so a bilinear sample costs four gathers whatever the number of channels.
"""
import functools
import math

import jax
import jax.numpy as jnp
from jax import lax

from gazelle import config

INTERPOLATIONS = ("nearest", "bilinear")
FILL_MODES = ("reflect", "wrap", "constant", "nearest", "mirror")


def _fix_index(index, size, fill_mode):
    """Maps integer pixel indices outside [0, size) back inside, per `fill_mode`."""
    if fill_mode == "wrap":
        return index % size
    if fill_mode == "reflect":
        period = index % (2 * size)
        return jnp.where(period < size, period, 2 * size - 1 - period)
    if fill_mode == "mirror":
        if size == 1:
            return jnp.zeros_like(index)
        period = index % (2 * (size - 1))
        return jnp.where(period < size, period, 2 * (size - 1) - period)
    return jnp.clip(index, 0, size - 1)   # "nearest"; "constant" masks these out


def _corners(coord, size, interpolation, fill_mode):
    """[(index, valid, weight)] along one axis for sample coordinates `coord`."""
    if interpolation == "nearest":
        nodes = [(lax.round(coord).astype(jnp.int32), None)]   # half away from zero
    else:
        low = jnp.floor(coord)
        upper_weight = coord - low
        low = low.astype(jnp.int32)
        nodes = [(low, 1 - upper_weight), (low + 1, upper_weight)]
    out = []
    for index, weight in nodes:
        valid = (index >= 0) & (index < size) if fill_mode == "constant" else None
        out.append((_fix_index(index, size, fill_mode), valid, weight))
    return out


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant",
                     fill_value=0.0, data_format=None):
    """Applies one projective transform per image (Keras's `ops.image.affine_transform`).

    Args:
        images: `(batch, height, width, channels)` or one `(height, width, channels)`
            image (channels first with `data_format="channels_first"`).
        transform: `(batch, 8)` or `(8,)` transforms `[a0, a1, a2, b0, b1, b2, c0, c1]`
            mapping output pixels to input points (see the module docstring).
        interpolation: `"nearest"` or `"bilinear"`.
        fill_mode: `"constant"`, `"nearest"`, `"wrap"`, `"mirror"` or `"reflect"`.
        fill_value: the value outside the image with `fill_mode="constant"`.
        data_format: `"channels_last"` or `"channels_first"`.

    ```python
    shift_right = np.array([1, 0, -2, 0, 1, 0, 0, 0], "float32")   # x_in = x_out - 2
    affine_transform(images, shift_right, fill_mode="constant")
    ```
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"affine_transform: `interpolation` must be one of {INTERPOLATIONS}. "
                         f"Received: interpolation={interpolation!r}")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"affine_transform: `fill_mode` must be one of {FILL_MODES}. "
                         f"Received: fill_mode={fill_mode!r}")
    images = jnp.asarray(images)
    transform = jnp.asarray(transform)
    if images.ndim not in (3, 4):
        raise ValueError("affine_transform: `images` must have rank 3 (one image) or 4 (a "
                         f"batch). Received shape {tuple(images.shape)}.")
    if transform.ndim not in (1, 2) or transform.shape[-1] != 8:
        raise ValueError("affine_transform: `transform` must have shape (8,) or (batch, 8). "
                         f"Received shape {tuple(transform.shape)}.")
    data_format = data_format or config.image_data_format()
    single = images.ndim == 3
    if single:
        images = images[None]
    if data_format == "channels_first":
        images = jnp.transpose(images, (0, 2, 3, 1))
    out = _transform_nhwc(images, transform, fill_value, interpolation, fill_mode)
    if data_format == "channels_first":
        out = jnp.transpose(out, (0, 3, 1, 2))
    return out[0] if single else out


@functools.partial(jax.jit, static_argnums=(3, 4))
def _transform_nhwc(images, transform, fill_value, interpolation, fill_mode):
    # Jitted so eager calls (layer(numpy_images)) run as one program, not ~40 dispatches.
    batch, height, width, _ = images.shape
    dtype = images.dtype if jnp.issubdtype(images.dtype, jnp.floating) else jnp.float32
    transform = jnp.broadcast_to(transform.astype(dtype), (batch, 8))

    t = [transform[:, i, None, None] for i in range(8)]
    y = jnp.arange(height, dtype=dtype)[None, :, None]
    x = jnp.arange(width, dtype=dtype)[None, None, :]
    k = t[6] * x + t[7] * y + 1
    src_x = (t[1] * y + t[0] * x + t[2]) / k
    src_y = (t[4] * y + t[3] * x + t[5]) / k

    rows = _corners(src_y, height, interpolation, fill_mode)
    cols = _corners(src_x, width, interpolation, fill_mode)
    b = jnp.arange(batch)[:, None, None]
    fill = jnp.asarray(fill_value, dtype)
    out = None
    for iy, vy, wy in rows:
        for ix, vx, wx in cols:
            value = images[b, iy, ix].astype(dtype)            # (batch, height, width, C)
            if vy is not None:
                value = jnp.where((vy & vx)[..., None], value, fill)
            if wy is not None:
                value = (wy * wx)[..., None] * value
            out = value if out is None else out + value
    if not jnp.issubdtype(images.dtype, jnp.floating):
        out = lax.round(out).astype(images.dtype)
    return out


def affine_matrix(angle, translate_x, translate_y, scale, shear_x, shear_y, height, width,
                  center_x=0.5, center_y=0.5):
    """Keras's rotation/shear/scale/translation transforms, `(batch, 8)`, per image.

    Angles are in degrees; `center_*` place the fixed point as a fraction of
    `(width - 1, height - 1)`; translations are in pixels.
    """
    radians = math.pi / 180.0
    angle = angle * radians
    tan_x = jnp.tan(shear_x * radians)
    tan_y = jnp.tan(shear_y * radians)
    cx = center_x * (width - 1.0)
    cy = center_y * (height - 1.0)
    cos, sin = jnp.cos(angle), jnp.sin(angle)
    a0 = scale * (cos + tan_x * sin)
    a1 = scale * (tan_x * cos - sin)
    b0 = scale * (sin + tan_y * cos)
    b1 = scale * (cos - tan_y * sin)
    a2 = translate_x + cx - cx * a0 - cy * a1
    b2 = translate_y + cy - cx * b0 - cy * b1
    zeros = jnp.zeros_like(a0)
    return jnp.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)


def homography(start_points, end_points):
    """The `(batch, 8)` projective transforms that map `end_points` onto `start_points`.

    Each of `start_points` and `end_points` is `(batch, 4, 2)` (x, y) corners; the
    transform sends output pixels at the end points to input points at the start points,
    so `affine_transform` with it moves the start corners to the end corners.
    """
    sx, sy = start_points[..., 0], start_points[..., 1]
    ex, ey = end_points[..., 0], end_points[..., 1]
    zeros, ones = jnp.zeros_like(ex), jnp.ones_like(ex)
    # x_in (c0 ex + c1 ey + 1) = a0 ex + a1 ey + a2, and the same for y: 8 linear equations.
    rows_x = jnp.stack([ex, ey, ones, zeros, zeros, zeros, -sx * ex, -sx * ey], axis=-1)
    rows_y = jnp.stack([zeros, zeros, zeros, ex, ey, ones, -sy * ex, -sy * ey], axis=-1)
    system = jnp.concatenate([rows_x, rows_y], axis=1)
    target = jnp.concatenate([sx, sy], axis=1)
    return jnp.linalg.solve(system, target[..., None])[..., 0]
