"""RandomElasticTransform: smooth random warps of images. [L2: jax, random]

A call draws one distortion strength `d` in `scale` and, per image, whether to warp it
(with a probability drawn in `factor`), as Keras 3 does. Each pixel of a warped image is
read from `(x + dx, y + dy)`, where `dx` and `dy` are independent normal noise fields
blurred by a Gaussian of std `sigma = 0.05 d min(height, width)` and scaled by
`alpha sigma` with `alpha = 0.1 d max(height, width)` (Keras's `elastic_transform`
field). The Gaussian window is the one of the largest `sigma` the layer can draw, so the
whole draw runs on the device inside compiled steps (Keras sizes it from the drawn sigma
on the host). Pixels are sampled with the interpolation and fill rules of the geometric
layers' shared kernel (`affine.py`); the output is clipped to `value_range`.
"""
import functools

import jax
import jax.numpy as jnp
from jax import lax

from gazelle.layers.preprocessing.image import affine
from gazelle.layers.preprocessing.image.base import (ImageLayer, check_choice,
                                                     check_value_range, parse_factor)
from gazelle.random import SeedGenerator


def sample(images, src_y, src_x, interpolation="bilinear", fill_mode="reflect",
           fill_value=0.0):
    """`images` `(batch, height, width, channels)` read at the input points `(src_y,
    src_x)`, each `(batch, height, width)`, with the affine kernel's interpolation and
    fill rules."""
    batch, height, width, _ = images.shape
    dtype = images.dtype if jnp.issubdtype(images.dtype, jnp.floating) else jnp.float32
    rows = affine._corners(src_y.astype(dtype), height, interpolation, fill_mode)
    cols = affine._corners(src_x.astype(dtype), width, interpolation, fill_mode)
    b = jnp.arange(batch)[:, None, None]
    fill = jnp.asarray(fill_value, dtype)
    out = None
    for iy, vy, wy in rows:
        for ix, vx, wx in cols:
            value = images[b, iy, ix].astype(dtype)
            if vy is not None:
                value = jnp.where((vy & vx)[..., None], value, fill)
            if wy is not None:
                value = (wy * wx)[..., None] * value
            out = value if out is None else out + value
    if not jnp.issubdtype(images.dtype, jnp.floating):
        out = lax.round(out).astype(images.dtype)
    return out


def _blur(fields, sigma, size):
    """Zero-padded Gaussian blur (std `sigma`, a possibly traced scalar) of `(n, h, w)`
    fields with a `size`-tap window, as two 1-D convolutions."""
    taps = jnp.arange(size, dtype=fields.dtype) - (size - 1) / 2
    kernel = jnp.exp(-0.5 * (taps / jnp.maximum(sigma, 1e-6)) ** 2)
    kernel = kernel / jnp.sum(kernel)
    x = fields[:, None]                                  # (n, 1, h, w)
    pad = (size - 1) // 2
    for shape, padding in (((1, 1, size, 1), [(pad, pad), (0, 0)]),
                           ((1, 1, 1, size), [(0, 0), (pad, pad)])):
        x = lax.conv_general_dilated(x, kernel.reshape(shape), (1, 1), padding,
                                     precision=lax.Precision.HIGHEST)
    return x[:, 0]


@functools.partial(jax.jit, static_argnums=(4, 5, 6, 7))
def _warp(images, noise, distortion, apply, max_distortion, interpolation, fill_mode,
          value_range, fill_value=0.0):
    """Warps `images` (batch, height, width, channels) by the normal `noise` fields
    `(2, batch, height, width)` (x then y displacements) at strength `distortion`."""
    _, height, width, _ = images.shape
    alpha = max(height, width) * 0.1 * distortion
    sigma = min(height, width) * 0.05 * distortion
    size = int(6 * min(height, width) * 0.05 * max_distortion) | 1
    dx, dy = (alpha * _blur(n * sigma, sigma, size) for n in noise)
    y = jnp.arange(height, dtype=images.dtype)[None, :, None]
    x = jnp.arange(width, dtype=images.dtype)[None, None, :]
    warped = sample(images, y + dy, x + dx, interpolation, fill_mode, fill_value)
    out = jnp.where(apply[:, None, None, None], warped, images)
    return jnp.clip(out, value_range[0], value_range[1])


class RandomElasticTransform(ImageLayer):
    """Applies random elastic (smooth, local) distortions to images during training.

    Args:
        factor: a float f in `[0, 1]` (meaning `(0, f)`) or a pair: the range of the
            per-image probability of a warp (default 1.0: every image). `0` disables it.
        scale: a float s in `[0, 1]` (meaning `(0, s)`) or a pair: the range of the
            distortion strength drawn per call (default 1.0).
        interpolation: `"bilinear"` (default) or `"nearest"`.
        fill_mode: how points outside the image are read: `"reflect"` (default),
            `"constant"`, `"nearest"`, `"wrap"` or `"mirror"`.
        fill_value: the value outside the image with `fill_mode="constant"`.
        value_range: `(low, high)` of the pixel values (default `(0, 255)`); warped images
            are clipped to it.
        seed: optional int, the random seed.
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.config.image_data_format()`.

    At inference (`training=False`), and with `factor=0` or `scale=0`, images pass
    unchanged. Segmentation masks get the same warp with nearest sampling.

    ```python
    augment = keras.layers.RandomElasticTransform(factor=0.5, scale=0.3, value_range=(0, 1))
    ```
    """

    _moves_pixels = True

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_mode="reflect",
                 fill_value=0.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        name = type(self).__name__
        self.factor = parse_factor(name, factor, (0.0, 1.0))
        self.scale = parse_factor(name, scale, (0.0, 1.0), arg="scale")
        self.interpolation = check_choice(name, "interpolation", interpolation,
                                          affine.INTERPOLATIONS)
        self.fill_mode = check_choice(name, "fill_mode", fill_mode, affine.FILL_MODES)
        self.fill_value = fill_value
        check_value_range(name, value_range)
        self.value_range = value_range
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)

    def _draw(self, key, images):
        if self.factor[1] == 0 or self.scale[1] == 0:
            return None
        batch = images.shape[0]
        key_p, key_u, key_d, key_field = jax.random.split(key, 4)
        probability = jax.random.uniform(key_p, (batch,), minval=self.factor[0],
                                         maxval=self.factor[1])
        apply = jax.random.uniform(key_u, (batch,)) < probability
        distortion = jax.random.uniform(key_d, (), minval=self.scale[0], maxval=self.scale[1])
        return {"apply_transform": apply, "distortion_factor": distortion,
                "seed": key_field}

    def transform_images(self, images, transformation, training, interpolation=None):
        if transformation is None or not training:
            return images
        images = jnp.asarray(images)
        dtype = images.dtype if jnp.issubdtype(images.dtype, jnp.floating) else jnp.float32
        low, high = sorted(float(v) for v in self.value_range)
        if interpolation == "nearest":          # segmentation masks: no clipping of ids
            low, high = -jnp.inf, jnp.inf
        noise = jax.random.normal(transformation["seed"], (2,) + images.shape[:3], dtype)
        out = _warp(images.astype(dtype), noise,
                    jnp.asarray(transformation["distortion_factor"], dtype),
                    jnp.asarray(transformation["apply_transform"]), float(self.scale[1]),
                    interpolation or self.interpolation, self.fill_mode, (low, high),
                    self.fill_value)
        return out.astype(images.dtype)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "scale": self.scale,
                "interpolation": self.interpolation, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "value_range": self.value_range,
                "seed": self.seed}
