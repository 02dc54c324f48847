"""Augmentations over regions and across a batch: RandomErasing, RandomGaussianBlur,
MixUp, CutMix. [L2: jax, ops, random]

MixUp and CutMix mix each image with another image of the same batch; give them a dict
`{"images": x, "labels": one_hot_y}` so the labels are mixed with the same weights.
"""
import numbers

import jax
import jax.numpy as jnp

from gazelle.layers.preprocessing.image.base import (ImageLayer, check_value_range,
                                                     parse_factor)
from gazelle.ops import image as image_ops
from gazelle.random import SeedGenerator


def _box_masks(key, batch, height, width, ratios_x, ratios_y):
    """Boolean `(batch, height, width, 1)` masks of one random box per image.

    A box spans `ratio * length` pixels along each axis, at a uniform random offset.
    """
    key_x, key_y = jax.random.split(key)
    length_x, length_y = ratios_x * width, ratios_y * height
    x0 = jax.random.uniform(key_x, (batch,)) * (width - length_x)
    y0 = jax.random.uniform(key_y, (batch,)) * (height - length_y)
    x1, y1 = x0 + length_x, y0 + length_y
    gx = jnp.arange(width, dtype=jnp.float32)[None, None, :]
    gy = jnp.arange(height, dtype=jnp.float32)[None, :, None]
    inside = ((gx >= x0[:, None, None]) & (gx < x1[:, None, None])
              & (gy >= y0[:, None, None]) & (gy < y1[:, None, None]))
    area = (x1 - x0) * (y1 - y0) / (width * height)
    return inside[..., None], area


class RandomErasing(ImageLayer):
    """Erases a random rectangle of images during training (random erasing / cutout).

    Each image erases with a probability drawn from `factor`; the box covers a fraction
    of each side drawn from `sqrt(scale)`, and is filled with `fill_value` (clipped to
    `value_range`) or, by default, with Gaussian noise times the range's high end.

    Args:
        factor: a float f in `[0, 1]` (meaning `(0, f)`) or a pair: the range of the
            per-image erasing probability (default 1.0: half the images on average).
        scale: a pair `(lower, upper)` in `[0, 1]`, the range of the erased area's
            fraction (default `(0.02, 0.33)`).
        fill_value: None (noise), a number, or a list of one value per channel.
        value_range: the `(low, high)` range of the images (default `(0, 255)`).
        seed: optional int, the random seed.
        data_format: `"channels_last"` or `"channels_first"`.

    ```python
    keras.layers.RandomErasing(factor=0.5, fill_value=0)
    ```
    """

    def __init__(self, factor=1.0, scale=(0.02, 0.33), fill_value=None, value_range=(0, 255),
                 seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        name = type(self).__name__
        self.factor = parse_factor(name, factor, (0.0, 1.0))
        self.scale = parse_factor(name, scale, (0.0, 1.0), "scale")
        if fill_value is not None and not isinstance(fill_value, numbers.Real) and not (
                isinstance(fill_value, (list, tuple))
                and all(isinstance(v, numbers.Real) for v in fill_value)):
            raise ValueError(f"{name}: `fill_value` must be None, a number or a list of "
                             f"numbers (one per channel). Received: fill_value={fill_value!r}")
        self.fill_value = fill_value
        self.value_range = check_value_range(name, value_range)
        self._value_range_arg = value_range
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)

    def _draw(self, key, images):
        batch, height, width, _ = images.shape
        key_size, key_box, key_p, key_u, key_fill = jax.random.split(key, 5)
        ratios = jnp.sqrt(jax.random.uniform(key_size, (batch, 2), minval=self.scale[0],
                                             maxval=self.scale[1]))
        masks, _ = _box_masks(key_box, batch, height, width, ratios[:, 0], ratios[:, 1])
        p = jax.random.uniform(key_p, (batch,), minval=self.factor[0], maxval=self.factor[1])
        apply = jax.random.uniform(key_u, (batch,)) < p
        if self.fill_value is None:
            fill = jax.random.normal(key_fill, images.shape, images.dtype) * self.value_range[1]
        else:
            fill = jnp.broadcast_to(jnp.asarray(self.fill_value, images.dtype), images.shape)
        fill = jnp.clip(fill, self.value_range[0], self.value_range[1])
        return masks & apply[:, None, None, None], fill

    def transform_images(self, images, transformation, training):
        if transformation is None:
            return images
        masks, fill = transformation
        return jnp.where(masks, fill, images)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "scale": self.scale,
                "fill_value": self.fill_value, "value_range": self._value_range_arg,
                "seed": self.seed}


def _odd_kernel_size(layer_name, kernel_size):
    sizes = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size,) * 2
    if len(sizes) != 2 or not all(isinstance(k, numbers.Integral) and not isinstance(k, bool)
                                  and k > 0 and k % 2 == 1 for k in sizes):
        raise ValueError(f"{layer_name}: `kernel_size` must be an odd positive int or a pair "
                         f"of them. Received: kernel_size={kernel_size!r}")
    return tuple(int(k) for k in sizes)


class RandomGaussianBlur(ImageLayer):
    """Blurs images with a random Gaussian during training.

    Each image is blurred with a probability drawn from `factor`; the standard
    deviations along x and y are drawn once per call from `sigma`, as in Keras.

    Args:
        factor: a float f in `[0, 1]` (meaning `(0, f)`) or a pair: the range of the
            per-image blur probability (default 1.0).
        kernel_size: an odd int, or a pair `(x, y)` of odd ints (default 3).
        sigma: a float s in `[0, 1]` (meaning `(0, s)`) or a pair: the range of the
            standard deviation (default 1.0).
        value_range: the `(low, high)` range of the images (default `(0, 255)`).
        data_format: `"channels_last"` or `"channels_first"`.
        seed: optional int, the random seed.

    ```python
    keras.layers.RandomGaussianBlur(factor=0.5, kernel_size=5)
    ```
    """

    def __init__(self, factor=1.0, kernel_size=3, sigma=1.0, value_range=(0, 255),
                 data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        name = type(self).__name__
        self.factor = parse_factor(name, factor, (0.0, 1.0))
        self.kernel_size = _odd_kernel_size(name, kernel_size)
        self.sigma = parse_factor(name, sigma, (0.0, 1.0), "sigma")
        self.value_range = check_value_range(name, value_range)
        self._value_range_arg = value_range
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)

    def _draw(self, key, images):
        key_p, key_u, key_s = jax.random.split(key, 3)
        batch = images.shape[0]
        p = jax.random.uniform(key_p, (batch,), minval=self.factor[0], maxval=self.factor[1])
        apply = jax.random.uniform(key_u, (batch,)) < p
        sigma = jax.random.uniform(key_s, (2,), minval=self.sigma[0],
                                   maxval=self.sigma[1]) + 1e-6
        return apply, sigma

    def transform_images(self, images, transformation, training):
        if transformation is None:
            return images
        apply, sigma = transformation
        blurred = image_ops.gaussian_blur(images, self.kernel_size, sigma,
                                          data_format="channels_last")
        out = jnp.where(apply[:, None, None, None], blurred, images)
        return jnp.clip(out, self.value_range[0], self.value_range[1])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "kernel_size": self.kernel_size, "sigma": self.sigma,
                "value_range": self._value_range_arg, "seed": self.seed}


def _mix(values, partner_order, weight):
    weight = weight.reshape((-1,) + (1,) * (values.ndim - 1)).astype(values.dtype)
    return weight * values + (1.0 - weight) * values[partner_order]


class MixUp(ImageLayer):
    """MixUp in training: each image (and label) is blended with another of the batch.

    The weights are drawn per image from Beta(alpha, alpha); the partner comes from a
    random permutation of the batch. Pass `{"images": x, "labels": y}` (one-hot or soft
    labels) to mix the labels too.

    Args:
        alpha: float > 0, the Beta distribution's parameter (default 0.2).
        data_format: `"channels_last"` or `"channels_first"`.
        seed: optional int, the random seed.

    ```python
    out = keras.layers.MixUp()({"images": images, "labels": one_hot_labels})
    ```
    """

    def __init__(self, alpha=0.2, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or alpha <= 0:
            raise ValueError(f"MixUp: `alpha` must be a number > 0. Received: alpha={alpha!r}")
        self.alpha = alpha
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)

    def _draw(self, key, images):
        key_perm, key_w = jax.random.split(key)
        batch = images.shape[0]
        order = jax.random.permutation(key_perm, batch)
        weight = jax.random.beta(key_w, self.alpha, self.alpha, (batch,))
        return order, weight

    def transform_images(self, images, transformation, training):
        return images if transformation is None else _mix(images, *transformation)

    def transform_labels(self, labels, transformation, training):
        return labels if transformation is None else _mix(labels, *transformation)

    def transform_segmentation_masks(self, masks, transformation, training):
        return masks if transformation is None else _mix(masks, *transformation)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "seed": self.seed}


class CutMix(ImageLayer):
    """CutMix in training: a random box of each image is pasted from another image.

    The box's side ratio is `sqrt(1 - w)` with `w` drawn from Beta(a, a), `a` drawn from
    `factor`; labels are mixed by the box's area. A single (unbatched) image passes
    through unchanged.

    Args:
        factor: a float f in `[0, 1]` (meaning `(0, f)`) or a pair: the range of the
            Beta parameter (default 1.0).
        seed: optional int, the random seed.
        data_format: `"channels_last"` or `"channels_first"`.

    ```python
    out = keras.layers.CutMix()({"images": images, "labels": one_hot_labels})
    ```
    """

    def __init__(self, factor=1.0, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.factor = parse_factor(type(self).__name__, factor, (0.0, 1.0))
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)

    def call(self, inputs, training=None):
        images = inputs["images"] if isinstance(inputs, dict) else inputs
        if getattr(images, "ndim", 4) == 3:     # one image: nothing to mix with
            return inputs
        return super().call(inputs, training=training)

    def _draw(self, key, images):
        batch, height, width, _ = images.shape
        key_a, key_w, key_box, key_perm = jax.random.split(key, 4)
        alpha = jax.random.uniform(key_a, (), minval=self.factor[0],
                                   maxval=self.factor[1]) + 1e-6
        weight = jax.random.beta(key_w, alpha, alpha, (batch,))
        ratio = jnp.sqrt(1.0 - weight)
        masks, area = _box_masks(key_box, batch, height, width, ratio, ratio)
        order = jax.random.permutation(key_perm, batch)
        return order, masks, 1.0 - area

    def transform_images(self, images, transformation, training):
        if transformation is None:
            return images
        order, masks, _ = transformation
        return jnp.where(masks, images[order], images)

    def transform_labels(self, labels, transformation, training):
        if transformation is None:
            return labels
        order, _, weight = transformation
        return _mix(labels, order, weight)

    def transform_segmentation_masks(self, masks, transformation, training):
        return self.transform_images(masks, transformation, training)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "seed": self.seed}
