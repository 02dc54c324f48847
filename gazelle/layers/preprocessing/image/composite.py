"""Policies built from the other image layers: RandAugment. [L2: jax, random]

The policy draws which layers run and hands each one a key of its own; only the chosen
layers compute (`lax.switch`), whichever ops a call draws.
"""
import numbers

import jax
from jax import lax

from gazelle.layers.preprocessing.image.base import ImageLayer, parse_factor
from gazelle.layers.preprocessing.image.color import (AutoContrast, Equalization,
                                                      RandomBrightness,
                                                      RandomColorDegeneration, RandomContrast,
                                                      RandomPosterization, RandomSharpness,
                                                      Solarization)
from gazelle.layers.preprocessing.image.geometric import (RandomRotation, RandomShear,
                                                          RandomTranslation)
from gazelle.random import SeedGenerator


class RandAugment(ImageLayer):
    """RandAugment (Cubuk et al., 2019): `num_ops` augmentations drawn at random per call.

    Each call draws `num_ops` operations (with repetition) from shear, translation,
    rotation, brightness, color degeneration, contrast, sharpness, posterization,
    solarization, auto contrast and equalization, all of strength `factor`, and applies
    them in turn, as Keras does. Identity at inference.

    Args:
        value_range: the `(low, high)` range of the images (default `(0, 255)`).
        num_ops: int, the number of operations per call (default 2).
        factor: a float f in `[0, 1]` (meaning `(0, f)`) or a pair: the strength of
            every operation (default 0.5).
        interpolation: `"bilinear"` (default) or `"nearest"`, for the geometric ones.
        seed: optional int, the random seed.
        data_format: `"channels_last"` or `"channels_first"`.

    ```python
    keras.layers.RandAugment(num_ops=2, factor=0.3)
    ```
    """

    # Keras's order: the drawn index i runs the i-th layer.
    _AUGMENT_LAYERS = ("random_shear", "random_translation", "random_rotation",
                       "random_brightness", "random_color_degeneration", "random_contrast",
                       "random_sharpness", "random_posterization", "solarization",
                       "auto_contrast", "equalization")

    def __init__(self, value_range=(0, 255), num_ops=2, factor=0.5, interpolation="bilinear",
                 seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        name = type(self).__name__
        if isinstance(num_ops, bool) or not isinstance(num_ops, numbers.Integral) or num_ops < 0:
            raise ValueError(f"{name}: `num_ops` must be an int >= 0. Received: num_ops={num_ops!r}")
        self.value_range = value_range
        self.num_ops = int(num_ops)
        self.factor = parse_factor(name, factor, (0.0, 1.0))
        self.interpolation = interpolation
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        f, vr = self.factor, dict(value_range=value_range)
        # The sublayers see channels-last batches from this layer, whatever data_format is.
        self.random_shear = RandomShear(x_factor=f, y_factor=f, interpolation=interpolation)
        self.random_translation = RandomTranslation(f, f, interpolation=interpolation)
        self.random_rotation = RandomRotation(f, interpolation=interpolation)
        self.random_brightness = RandomBrightness(f, **vr)
        self.random_color_degeneration = RandomColorDegeneration(f, **vr)
        self.random_contrast = RandomContrast(f, **vr)
        self.random_sharpness = RandomSharpness(f, **vr)
        self.random_posterization = RandomPosterization(max(1, int(8 * f[1])), **vr)
        self.solarization = Solarization(addition_factor=f, threshold_factor=f, **vr)
        self.auto_contrast = AutoContrast(**vr)
        self.equalization = Equalization(**vr)

    def _ops(self):
        return [getattr(self, name) for name in self._AUGMENT_LAYERS]

    def _draw(self, key, images):
        key_ops, key_draws = jax.random.split(key)
        ops = jax.random.randint(key_ops, (self.num_ops,), 0, len(self._AUGMENT_LAYERS))
        return ops, jax.random.split(key_draws, self.num_ops)

    def _run(self, transformation, values, method):
        if transformation is None:
            return values
        ops, keys = transformation

        def branch(layer):
            def run(x, key):
                return getattr(layer, method)(x, layer._draw(key, x), True)
            return run

        branches = [branch(layer) for layer in self._ops()]
        for i in range(self.num_ops):
            values = lax.switch(ops[i], branches, values, keys[i])
        return values

    def transform_images(self, images, transformation, training):
        return self._run(transformation, images, "transform_images")

    def transform_segmentation_masks(self, masks, transformation, training):
        return self._run(transformation, masks, "transform_segmentation_masks")

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "num_ops": self.num_ops, "factor": self.factor,
                "interpolation": self.interpolation, "seed": self.seed}
