"""Policies built from the other image layers: RandAugment, AugMix. [L2: jax, random]

A policy draws which layers run and hands each one a key of its own; only the chosen
layers compute (`lax.switch`), and the choice is drawn in the compiled step, anew at
every step of `fit`.
"""
import numbers

import jax
import jax.numpy as jnp
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


def _apply_op(layers, index, key, values, method, allow_skip=False):
    """Runs `layers[index]`'s `method` on `values` with parameters drawn from `key`
    (`index == len(layers)` skips when `allow_skip`)."""
    def branch(layer):
        def run(x, k):
            return getattr(layer, method)(x, layer._draw(k, x), True)
        return run

    branches = [branch(layer) for layer in layers]
    if allow_skip:
        branches.append(lambda x, k: x)
    return lax.switch(index, branches, values, key)


def _policy_layers(value_range, factor, interpolation, color=True):
    """Keras's RandAugment/AugMix operations at strength `factor`, by Keras's names."""
    vr = dict(value_range=value_range)
    ops = {
        "random_shear": RandomShear(x_factor=factor, y_factor=factor,
                                    interpolation=interpolation),
        "random_translation": RandomTranslation(factor, factor, interpolation=interpolation),
        "random_rotation": RandomRotation(factor, interpolation=interpolation),
        "random_posterization": RandomPosterization(max(1, int(8 * factor[1])), **vr),
        "solarization": Solarization(addition_factor=factor, threshold_factor=factor, **vr),
        "auto_contrast": AutoContrast(**vr),
        "equalization": Equalization(**vr),
    }
    if color:
        ops.update(random_brightness=RandomBrightness(factor, **vr),
                   random_color_degeneration=RandomColorDegeneration(factor, **vr),
                   random_contrast=RandomContrast(factor, **vr),
                   random_sharpness=RandomSharpness(factor, **vr))
    return ops


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

    # Keras's order: the drawn index i runs the i-th of these layers.
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
        # Sublayers under Keras's attribute names; they see channels-last batches from
        # this layer, whatever its data_format.
        for name, layer in _policy_layers(value_range, self.factor, interpolation).items():
            setattr(self, name, layer)

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
        for i in range(self.num_ops):
            values = _apply_op(self._ops(), ops[i], keys[i], values, method)
        return values

    def transform_images(self, images, transformation, training):
        return self._run(transformation, images, "transform_images")

    def transform_segmentation_masks(self, masks, transformation, training):
        return self._run(transformation, masks, "transform_segmentation_masks")

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "num_ops": self.num_ops, "factor": self.factor,
                "interpolation": self.interpolation, "seed": self.seed}


def _check_count(layer_name, arg, value, least):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise ValueError(f"{layer_name}: `{arg}` must be an int >= {least}. "
                         f"Received: {arg}={value!r}")
    return int(value)


class AugMix(ImageLayer):
    """AugMix (Hendrycks et al., 2020): a mix of several random augmentation chains.

    Each of `num_chains` chains applies up to `chain_depth` operations drawn at random
    (each step may also be skipped); the chains are mixed with Dirichlet(alpha) weights,
    and the mix is blended with the original image with a Beta(alpha, alpha) weight.
    The operations are Keras's (shear, translation, rotation, posterization,
    solarization, auto contrast, equalization, and with `all_ops` also brightness,
    color degeneration, contrast and sharpness). Unlike Keras 3.15, which picks the
    chains' operations in Python when a step is traced (so a compiled `fit` repeats
    the same chains), gazelle draws them in the step. Identity at inference.

    Args:
        value_range: the `(low, high)` range of the images (default `(0, 255)`).
        num_chains: int, the number of chains (default 3).
        chain_depth: int, the most operations per chain (default 3).
        factor: a float f in `[0, 1]` (meaning `(0, f)`) or a pair: the strength of
            every operation (default 0.3).
        alpha: float > 0, the Dirichlet and Beta parameter (default 1.0).
        all_ops: whether to include the color operations (default True).
        interpolation: `"bilinear"` (default) or `"nearest"`, for the geometric ones.
        seed: optional int, the random seed.
        data_format: `"channels_last"` or `"channels_first"`.

    ```python
    keras.layers.AugMix(num_chains=3, chain_depth=2)
    ```
    """

    def __init__(self, value_range=(0, 255), num_chains=3, chain_depth=3, factor=0.3,
                 alpha=1.0, all_ops=True, interpolation="bilinear", seed=None,
                 data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        name = type(self).__name__
        self.num_chains = _check_count(name, "num_chains", num_chains, 1)
        self.chain_depth = _check_count(name, "chain_depth", chain_depth, 0)
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or alpha <= 0:
            raise ValueError(f"{name}: `alpha` must be a number > 0. Received: alpha={alpha!r}")
        self.value_range = value_range
        self.factor = parse_factor(name, factor, (0.0, 1.0))
        self.alpha = alpha
        self.all_ops = bool(all_ops)
        self.interpolation = interpolation
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        ops = _policy_layers(value_range, self.factor, interpolation, color=self.all_ops)
        for op_name, layer in ops.items():
            setattr(self, op_name, layer)
        self._augment_layers = tuple(ops)

    def _ops(self):
        return [getattr(self, name) for name in self._augment_layers]

    def _draw(self, key, images):
        key_w, key_m, key_ops, key_draws = jax.random.split(key, 4)
        chains = (self.num_chains, self.chain_depth)
        weights = jax.random.dirichlet(key_w, jnp.full((self.num_chains,), float(self.alpha)))
        blend = jax.random.beta(key_m, self.alpha, self.alpha)
        ops = jax.random.randint(key_ops, chains, 0, len(self._augment_layers) + 1)
        keys = jax.random.split(key_draws, self.num_chains * self.chain_depth)
        return weights, blend, ops, keys.reshape(chains + keys.shape[1:])

    def _mix(self, transformation, values, method):
        weights, blend, ops, keys = transformation
        mixed = 0.0
        for c in range(self.num_chains):
            chain = values
            for d in range(self.chain_depth):
                chain = _apply_op(self._ops(), ops[c, d], keys[c, d], chain, method,
                                  allow_skip=True)
            mixed = mixed + chain * weights[c].astype(values.dtype)
        blend = blend.astype(values.dtype)
        return blend * values + (1 - blend) * mixed

    def transform_images(self, images, transformation, training):
        if transformation is None:
            return images
        out = self._mix(transformation, images, "transform_images")
        return jnp.clip(out, self.value_range[0], self.value_range[1])

    def transform_segmentation_masks(self, masks, transformation, training):
        if transformation is None:
            return masks
        return self._mix(transformation, masks, "transform_segmentation_masks")

    def get_config(self):
        return {**super().get_config(), "value_range": self.value_range,
                "num_chains": self.num_chains, "chain_depth": self.chain_depth,
                "factor": self.factor, "alpha": self.alpha, "all_ops": self.all_ops,
                "interpolation": self.interpolation, "seed": self.seed}
