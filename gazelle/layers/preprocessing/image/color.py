"""Color augmentation: RandomContrast, RandomBrightness, and the value-range layers.
[L2: jax, ops, random]

Images arrive as floats (the base Layer casts uint8 and other integer images to the
layer's dtype), and `value_range` says which range they are in: `(0, 255)` by default,
`(0, 1)` for rescaled images. Each random layer draws its factors once per image.
"""
import jax
import jax.numpy as jnp

from gazelle import config
from gazelle.layers.preprocessing.image.base import (ImageLayer, check_value_range,
                                                     parse_factor)
from gazelle.ops import image as image_ops
from gazelle.random import SeedGenerator


def grayscale(images):
    return image_ops.rgb_to_grayscale(images, data_format="channels_last")


def rgb_to_hsv(images):
    return image_ops.rgb_to_hsv(images, data_format="channels_last")


def hsv_to_rgb(images):
    return image_ops.hsv_to_rgb(images, data_format="channels_last")



def _per_image_uniform(key, images, bounds):
    return jax.random.uniform(key, (images.shape[0], 1, 1, 1), images.dtype,
                              minval=bounds[0], maxval=bounds[1])


def _rescale(images, source, target):
    """Maps values linearly from the range `source` to the range `target`."""
    if tuple(source) == tuple(target):
        return images
    unit = (images - source[0]) / (source[1] - source[0])
    return unit * (target[1] - target[0]) + target[0]


def _check_rgb(layer, images):
    if images.shape[-1] != 3:
        raise ValueError(f"Layer '{layer.name}' expects RGB images with 3 channels. Received "
                         f"images of shape {tuple(images.shape)} (channels last).")


class _RandomColorLayer(ImageLayer):
    """A color layer with a `value_range` and a seed (not public)."""

    def __init__(self, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = check_value_range(type(self).__name__, value_range)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)

    def _draw(self, key, images):
        """This call's random parameters, drawn from `key`."""
        raise NotImplementedError

    def _clip(self, images):
        return jnp.clip(images, self.value_range[0], self.value_range[1])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor,
                "value_range": list(self.value_range), "seed": self.seed}


class RandomContrast(_RandomColorLayer):
    """Randomly adjusts the contrast of images during training.

    Each channel of each image becomes `(x - mean) * c + mean` (the mean over the
    image's pixels), clipped to `value_range`, with `c` drawn from
    `[1 - lower, 1 + upper]`.

    gazelle reads a single float f as Keras documents it, `c` in `[1 - f, 1 + f]`
    (tf.keras 2 did the same); Keras 3.15's code stores `(0, f)` instead and only ever
    raises the contrast. A pair `(lower, upper)` means the same in both.

    Args:
        factor: a float in `[0, 1]`, or a pair `(lower, upper)` of such floats.
        value_range: the `(low, high)` range of the images (default `(0, 255)`).
        seed: optional int, the random seed.

    ```python
    keras.layers.RandomContrast(0.2)
    ```
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(value_range, seed, **kwargs)
        lower, upper = parse_factor(type(self).__name__, factor, (0.0, 1.0),
                                    symmetric_low=lambda f: f)
        self.factor = (lower, upper)

    def _draw(self, key, images):
        return _per_image_uniform(key, images, (1.0 - self.factor[0], 1.0 + self.factor[1]))

    def transform_images(self, images, contrast, training):
        if contrast is None:
            return images
        mean = jnp.mean(jnp.mean(images, axis=1, keepdims=True), axis=2, keepdims=True)
        return self._clip((images - mean) * contrast + mean)

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range}


class RandomBrightness(_RandomColorLayer):
    """Randomly brightens or darkens images during training.

    A delta drawn from `[lower, upper] * (high - low)` of `value_range` is added to
    every pixel of an image, and the result is clipped to `value_range`.

    Integer images come back as floats (Keras 3.15 keeps their dtype, which wraps
    around for negative deltas on uint8 images).

    Args:
        factor: a float in `[-1, 1]` (f means `(-f, f)`), or a pair `(lower, upper)`.
        value_range: the `(low, high)` range of the images (default `(0, 255)`).
        seed: optional int, the random seed.

    ```python
    keras.layers.RandomBrightness(0.2)                       # +-20% of 255
    keras.layers.RandomBrightness(0.1, value_range=(0, 1))   # rescaled images
    ```
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(value_range, seed, **kwargs)
        self.factor = parse_factor(type(self).__name__, factor)

    def _draw(self, key, images):
        delta = _per_image_uniform(key, images, self.factor)
        return delta * (self.value_range[1] - self.value_range[0])

    def transform_images(self, images, delta, training):
        if delta is None:
            return images
        return self._clip(images + delta)


class RandomGrayscale(ImageLayer):
    """Turns images to grayscale with probability `factor` during training.

    Grayscale images keep their number of channels (the luma repeated), so the layer
    can sit anywhere in a model.

    Args:
        factor: float in `[0, 1]`, the probability that an image becomes grayscale
            (default 0.5).
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.config.image_data_format()`.
        seed: optional int, the random seed.

    ```python
    keras.layers.RandomGrayscale(0.2)
    ```
    """

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 <= factor <= 1:
            raise ValueError("RandomGrayscale: `factor` must be a probability in [0, 1]. "
                             f"Received: factor={factor!r}")
        self.factor = factor
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)

    def _draw(self, key, images):
        return jax.random.uniform(key, (images.shape[0], 1, 1, 1)) < self.factor

    def transform_images(self, images, apply, training):
        if apply is None:
            return images
        if images.shape[-1] not in (1, 3):
            raise ValueError(f"Layer '{self.name}' expects images with 1 or 3 channels. "
                             f"Received images of shape {tuple(images.shape)} (channels last).")
        return jnp.where(apply, grayscale(images), images)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class RandomInvert(_RandomColorLayer):
    """Inverts images (`high - x`, with `high` from `value_range`) at random in training.

    Each image draws a probability from `factor` and is inverted with it, as in Keras
    (the default `factor=1.0` draws it from `[0, 1]`, so half of the images on average).

    Args:
        factor: a float f in `[0, 1]` (meaning `(0, f)`) or a pair `(lower, upper)`.
        value_range: the `(low, high)` range of the images (default `(0, 255)`).
        seed: optional int, the random seed.
        data_format: `"channels_last"` or `"channels_first"`.

    ```python
    keras.layers.RandomInvert(0.5, value_range=(0, 1))
    ```
    """

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None,
                 **kwargs):
        super().__init__(value_range, seed, data_format, **kwargs)
        self.factor = parse_factor(type(self).__name__, factor, (0.0, 1.0))
        self._value_range_arg = value_range

    def _draw(self, key, images):
        key_p, key_u = jax.random.split(key)
        p = _per_image_uniform(key_p, images, self.factor)
        return _per_image_uniform(key_u, images, (0.0, 1.0)) < p

    def transform_images(self, images, apply, training):
        if apply is None:
            return images
        return jnp.where(apply, self.value_range[1] - images, images)

    def get_config(self):
        return {**super().get_config(), "value_range": self._value_range_arg}


class Solarization(ImageLayer):
    """Solarizes images in training: pixels above a threshold are inverted.

    On the 0-255 scale, `x + addition` (clipped to `[0, 255]`) is kept where it is below
    `threshold` and replaced by `255 - x` above it. Both are drawn per image from their
    factors times 255. With the default factors (0) every pixel is inverted, as in Keras.

    Args:
        addition_factor: a float f in `[0, 1]` (meaning `(0, f)`) or a pair; the range
            of the value (times 255) added before thresholding. Default 0.0.
        threshold_factor: a float or a pair like `addition_factor`; the range of the
            threshold (times 255). Default 0.0.
        value_range: the `(low, high)` range of the images (default `(0, 255)`).
        seed: optional int, the random seed.

    ```python
    keras.layers.Solarization(threshold_factor=(0.5, 0.5), value_range=(0, 1))
    ```
    """

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255),
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        self.addition_factor = parse_factor(name, addition_factor, (0.0, 1.0), "addition_factor")
        self.threshold_factor = parse_factor(name, threshold_factor, (0.0, 1.0),
                                             "threshold_factor")
        self.value_range = check_value_range(name, value_range)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)

    def _draw(self, key, images):
        key_a, key_t = jax.random.split(key)
        (a0, a1), (t0, t1) = self.addition_factor, self.threshold_factor
        return (_per_image_uniform(key_a, images, (a0 * 255.0, a1 * 255.0)),
                _per_image_uniform(key_t, images, (t0 * 255.0, t1 * 255.0)))

    def transform_images(self, images, transformation, training):
        if transformation is None:
            return images
        additions, thresholds = transformation
        x = jnp.clip(_rescale(images, self.value_range, (0, 255)) + additions, 0, 255)
        x = jnp.where(x < thresholds, x, 255 - x)
        return _rescale(x, (0, 255), self.value_range)

    def get_config(self):
        return {**super().get_config(), "value_range": list(self.value_range),
                "addition_factor": self.addition_factor,
                "threshold_factor": self.threshold_factor, "seed": self.seed}


class RandomPosterization(_RandomColorLayer):
    """Keeps only the top bits of each 8-bit channel value, at random, in training.

    Args:
        factor: int in `[1, 8]` or a pair `(lower, upper)`: the number of bits to keep
            is drawn from `[lower, upper)` (an int f means `(1, f)`; a pair of equal
            values keeps exactly that many bits), as in Keras.
        value_range: the `(low, high)` range of the images (default `(0, 255)`).
        data_format: `"channels_last"` or `"channels_first"`.
        seed: optional int, the random seed.

    ```python
    keras.layers.RandomPosterization((4, 4))     # keep 4 bits of every channel
    ```
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(value_range, seed, data_format, **kwargs)
        lower, upper = parse_factor(type(self).__name__, factor, (1, 8))
        self.factor = (int(lower), int(upper))

    def _draw(self, key, images):
        lower, upper = self.factor
        if lower == upper:
            bits = jnp.full((images.shape[0], 1, 1, 1), lower, jnp.int32)
        else:
            bits = jax.random.randint(key, (images.shape[0], 1, 1, 1), lower, upper)
        return (8 - bits).astype(jnp.uint8)

    def transform_images(self, images, shift, training):
        if shift is None:
            return images
        x = jnp.clip(_rescale(images, self.value_range, (0, 255)), 0, 255).astype(jnp.uint8)
        x = jnp.left_shift(jnp.right_shift(x, shift), shift)
        return _rescale(x.astype(images.dtype), (0, 255), self.value_range)


class AutoContrast(ImageLayer):
    """Stretches each channel of each image to span the whole `value_range`.

    Deterministic, and applied at inference too (as in Keras). A constant channel is
    left unchanged.

    Args:
        value_range: the `(low, high)` range of the images (default `(0, 255)`).

    ```python
    keras.layers.AutoContrast(value_range=(0, 1))
    ```
    """

    def __init__(self, value_range=(0, 255), **kwargs):
        super().__init__(**kwargs)
        self.value_range = check_value_range(type(self).__name__, value_range)

    def transform_images(self, images, transformation, training):
        x = _rescale(images, self.value_range, (0, 255))
        low = jnp.min(x, axis=(1, 2), keepdims=True)
        high = jnp.max(x, axis=(1, 2), keepdims=True)
        scale = 255.0 / (high - low)
        out = jnp.clip(x * scale + (-low * scale), 0.0, 255.0)
        out = _rescale(out, (0, 255), self.value_range)
        return jnp.where(jnp.isnan(out), images, out)

    def get_config(self):
        return {**super().get_config(), "value_range": list(self.value_range)}


def _symmetric_or_pair(layer_name, factor, arg="factor"):
    # A float f means (0, f), as Keras documents; pairs may reach down to -1, which
    # Keras 3.15's own configs for these layers contain.
    if isinstance(factor, (tuple, list)):
        return parse_factor(layer_name, factor, (-1.0, 1.0), arg)
    return parse_factor(layer_name, factor, (0.0, 1.0), arg)


class RandomSaturation(_RandomColorLayer):
    """Randomly changes the color saturation of RGB images during training.

    A draw `u` from `factor` scales the HSV saturation by `u / (1 - u)`: 0.5 keeps the
    image, 0 makes it gray, 1 saturates it fully.

    gazelle reads a single float f as Keras documents it, `u` in `[0, f]`; Keras 3.15's
    code draws from `[-f, f]` (negative draws also give gray images). Pairs agree.

    Args:
        factor: a float in `[0, 1]` or a pair `(lower, upper)`.
        value_range: the `(low, high)` range of the images (default `(0, 255)`).
        data_format: `"channels_last"` or `"channels_first"`.
        seed: optional int, the random seed.

    ```python
    keras.layers.RandomSaturation((0.3, 0.7))
    ```
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(value_range, seed, data_format, **kwargs)
        self.factor = _symmetric_or_pair(type(self).__name__, factor)

    def _draw(self, key, images):
        u = jax.random.uniform(key, (images.shape[0], 1, 1), images.dtype,
                               minval=self.factor[0], maxval=self.factor[1])
        return u / (1.0 - u + config.epsilon())

    def transform_images(self, images, scale, training):
        if scale is None:
            return images
        _check_rgb(self, images)
        hsv = rgb_to_hsv(images)
        saturation = jnp.clip(hsv[..., 1] * scale, self.value_range[0], self.value_range[1])
        return hsv_to_rgb(jnp.stack([hsv[..., 0], saturation, hsv[..., 2]], axis=-1))


class RandomHue(_RandomColorLayer):
    """Randomly rotates the hue of RGB images during training.

    The hue (in `[0, 1)`) moves by `+-factor / 2` at most: a magnitude drawn from
    `factor` with a random sign, per image.

    Args:
        factor: a float f in `[0, 1]` (meaning `(0, f)`) or a pair `(lower, upper)`.
        value_range: the `(low, high)` range of the images (default `(0, 255)`).
        data_format: `"channels_last"` or `"channels_first"`.
        seed: optional int, the random seed.

    ```python
    keras.layers.RandomHue(0.2)
    ```
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(value_range, seed, data_format, **kwargs)
        self.factor = parse_factor(type(self).__name__, factor, (0.0, 1.0))
        self._value_range_arg = value_range

    def _draw(self, key, images):
        key_sign, key_size = jax.random.split(key)
        shape = (images.shape[0], 1, 1)
        sign = jnp.where(jax.random.uniform(key_sign, shape) > 0.5, -1.0, 1.0)
        return sign * jax.random.uniform(key_size, shape, minval=self.factor[0],
                                         maxval=self.factor[1]) * 0.5

    def transform_images(self, images, delta, training):
        if delta is None:
            return images
        _check_rgb(self, images)
        hsv = rgb_to_hsv(_rescale(images, self.value_range, (0, 1)))
        hue = hsv[..., 0] + delta.astype(images.dtype)
        hue = jnp.where(hue > 1.0, hue - 1.0, hue)
        hue = jnp.where(hue < 0.0, hue + 1.0, hue)
        rgb = hsv_to_rgb(jnp.stack([hue, hsv[..., 1], hsv[..., 2]], axis=-1))
        return _rescale(jnp.clip(rgb, 0, 1), (0, 1), self.value_range)

    def get_config(self):
        return {**super().get_config(), "value_range": self._value_range_arg}


class RandomSharpness(_RandomColorLayer):
    """Randomly sharpens or blurs images during training.

    Each image is blended with a 3x3 smoothed copy: `x + (1 - 2u) * (smooth - x)`, with
    `u` drawn from `factor` (0: fully smoothed, 0.5: unchanged, 1: sharpened), then
    clipped to `value_range`.

    Args:
        factor: a float f in `[0, 1]` (meaning `(0, f)`) or a pair `(lower, upper)`.
        value_range: the `(low, high)` range of the images (default `(0, 255)`).
        data_format: `"channels_last"` or `"channels_first"`.
        seed: optional int, the random seed.

    ```python
    keras.layers.RandomSharpness((0.4, 0.9))
    ```
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(value_range, seed, data_format, **kwargs)
        self.factor = parse_factor(type(self).__name__, factor, (0.0, 1.0))

    def _draw(self, key, images):
        return _per_image_uniform(key, images, self.factor) * 2.0

    def transform_images(self, images, sharpness, training):
        if sharpness is None:
            return images
        # The smoothing kernel [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 with zero padding.
        height, width = images.shape[1:3]
        padded = jnp.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)))
        smooth = sum(padded[:, i:i + height, j:j + width] for i in range(3) for j in range(3))
        smooth = (smooth + 4.0 * images) / 13.0
        return self._clip(images + (1.0 - sharpness) * (smooth - images))


class RandomColorDegeneration(_RandomColorLayer):
    """Randomly blends RGB images towards their grayscale version during training.

    Each image becomes `x + u * (gray - x)` with `u` drawn from `factor`, clipped to
    `value_range`.

    gazelle reads a single float f as Keras documents it, `u` in `[0, f]`; Keras 3.15's
    code draws from `[-f, f]`. Pairs agree.

    Args:
        factor: a float in `[0, 1]` or a pair `(lower, upper)`.
        value_range: the `(low, high)` range of the images (default `(0, 255)`).
        data_format: `"channels_last"` or `"channels_first"`.
        seed: optional int, the random seed.

    ```python
    keras.layers.RandomColorDegeneration(0.5)
    ```
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(value_range, seed, data_format, **kwargs)
        self.factor = _symmetric_or_pair(type(self).__name__, factor)

    def _draw(self, key, images):
        return _per_image_uniform(key, images, self.factor)

    def transform_images(self, images, factor, training):
        if factor is None:
            return images
        _check_rgb(self, images)
        return self._clip(images + factor * (grayscale(images) - images))


class Equalization(ImageLayer):
    """Equalizes the histogram of each channel of each image during training.

    Pixel values are binned (on the 0-255 scale) into `bins` bins and mapped through
    the normalized cumulative histogram, which spreads them over the whole range. A
    channel with a single occupied bin is left unchanged. Like Keras, the layer is
    the identity at inference. Keras 3.15 pools the histogram over the whole batch;
    gazelle equalizes each image on its own (they agree on single images).

    Args:
        value_range: the `(low, high)` range of the images (default `(0, 255)`).
        bins: int, the number of histogram bins (default 256).
        data_format: `"channels_last"` or `"channels_first"`.

    ```python
    keras.layers.Equalization()
    ```
    """

    def __init__(self, value_range=(0, 255), bins=256, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
            raise ValueError(f"Equalization: `bins` must be an int >= 2. Received: bins={bins!r}")
        self.bins = bins
        self.value_range = check_value_range(type(self).__name__, value_range)

    def transform_images(self, images, transformation, training):
        if not training:
            return images
        batch, height, width, channels = images.shape
        x = _rescale(images, self.value_range, (0, 255))
        index = jnp.clip((x * (self.bins - 1) / 255.0).astype(jnp.int32), 0, self.bins - 1)
        b = jnp.arange(batch)[:, None, None, None]
        c = jnp.arange(channels)[None, None, None, :]
        hist = jnp.zeros((batch, channels, self.bins), jnp.int32).at[b, c, index].add(1)
        cdf = jnp.cumsum(hist, axis=-1)
        cdf_min = jnp.take_along_axis(cdf, jnp.argmax(cdf > 0, axis=-1)[..., None], axis=-1)
        span = cdf[..., -1:] - cdf_min
        table = (cdf - cdf_min) * 255 / jnp.where(span == 0, 1, span)
        table = jnp.clip(jnp.round(table), 0, 255).astype(images.dtype)
        lookup = jnp.clip(x / 255.0 * (self.bins - 1), 0, self.bins - 1).astype(jnp.int32)
        equalized = table[b, c, lookup]
        single_bin = (jnp.count_nonzero(hist, axis=-1) <= 1)[:, None, None, :]
        out = jnp.where(single_bin, x, equalized)
        return _rescale(out, (0, 255), self.value_range)

    def get_config(self):
        return {**super().get_config(), "bins": self.bins,
                "value_range": list(self.value_range)}


class RandomColorJitter(ImageLayer):
    """Applies RandomBrightness, RandomContrast, RandomSaturation and RandomHue in turn.

    Each adjustment runs only when its factor is given; the draws come from this
    layer's seed.

    Args:
        value_range: the `(low, high)` range of the images (default `(0, 255)`).
        brightness_factor: the `factor` of RandomBrightness, or None (skipped).
        contrast_factor: the `factor` of RandomContrast, or None.
        saturation_factor: the `factor` of RandomSaturation, or None.
        hue_factor: the `factor` of RandomHue, or None.
        seed: optional int, the random seed.
        data_format: `"channels_last"` or `"channels_first"`.

    ```python
    keras.layers.RandomColorJitter(brightness_factor=0.2, contrast_factor=0.2)
    ```
    """

    def __init__(self, value_range=(0, 255), brightness_factor=None, contrast_factor=None,
                 saturation_factor=None, hue_factor=None, seed=None, data_format=None,
                 **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = value_range
        self.brightness_factor = brightness_factor
        self.contrast_factor = contrast_factor
        self.saturation_factor = saturation_factor
        self.hue_factor = hue_factor
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        # Sublayers named as in Keras; the draws come from this layer's generator.
        def part(cls, factor):
            return None if factor is None else cls(factor, value_range=value_range)
        self.random_brightness = part(RandomBrightness, brightness_factor)
        self.random_contrast = part(RandomContrast, contrast_factor)
        self.random_saturation = part(RandomSaturation, saturation_factor)
        self.random_hue = part(RandomHue, hue_factor)
        self._parts = [p for p in (self.random_brightness, self.random_contrast,
                                   self.random_saturation, self.random_hue) if p is not None]

    def _draw(self, key, images):
        return jax.random.split(key, len(self._parts)) if self._parts else None

    def transform_images(self, images, keys, training):
        if keys is None:
            return images
        for part, key in zip(self._parts, keys):
            draw = part._draw(key, images)
            images = part.transform_images(images, draw, True)
        return images

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "brightness_factor": self.brightness_factor,
                "contrast_factor": self.contrast_factor,
                "saturation_factor": self.saturation_factor, "hue_factor": self.hue_factor,
                "seed": self.seed}
