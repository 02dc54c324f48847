"""Color augmentation: RandomContrast, RandomBrightness, and the value-range layers.
[L2: jax, random]

Images arrive as floats (the base Layer casts uint8 and other integer images to the
layer's dtype), and `value_range` says which range they are in: `(0, 255)` by default,
`(0, 1)` for rescaled images. Each random layer draws its factors once per image.
"""
import jax
import jax.numpy as jnp

from gazelle.layers.preprocessing.image.base import (ImageLayer, check_value_range,
                                                     parse_factor)
from gazelle.random import SeedGenerator


def _per_image_uniform(key, images, bounds):
    return jax.random.uniform(key, (images.shape[0], 1, 1, 1), images.dtype,
                              minval=bounds[0], maxval=bounds[1])


class _RandomColorLayer(ImageLayer):
    """A color layer with a `value_range` and a seed (not public)."""

    def __init__(self, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.value_range = check_value_range(type(self).__name__, value_range)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)

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

    def get_transformation(self, images, training):
        if not training:
            return None
        return _per_image_uniform(self.seed_generator.next(), images,
                                  (1.0 - self.factor[0], 1.0 + self.factor[1]))

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

    def get_transformation(self, images, training):
        if not training:
            return None
        delta = _per_image_uniform(self.seed_generator.next(), images, self.factor)
        return delta * (self.value_range[1] - self.value_range[0])

    def transform_images(self, images, delta, training):
        if delta is None:
            return images
        return self._clip(images + delta)
