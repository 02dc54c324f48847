"""Noise and dropout layers: Dropout, AlphaDropout, GaussianNoise, GaussianDropout,
SpatialDropout1D/2D/3D. [L2: core, config, random]

Each layer is the identity at inference and random only when called with
`training=True` (which `fit` passes). Randomness comes from the layer's own
`SeedGenerator`, whose state the trainer threads through compiled steps.
"""
import math
import numbers

import jax
import jax.numpy as jnp

from gazelle import config
from gazelle.layers import input_spec
from gazelle.layers.layer import Layer
from gazelle.random import SeedGenerator

# SELU's constants (Klambauer et al., 2017), used by AlphaDropout.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _check_rate(layer_name, rate):
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
        raise ValueError(
            f"{layer_name}: invalid value for argument `rate`. Expected a float in "
            f"[0, 1) (the fraction of units to drop). Received: rate={rate!r}")
    return float(rate)


def _check_noise_shape(noise_shape):
    if noise_shape is None:
        return None
    if isinstance(noise_shape, str):
        raise ValueError("Invalid value for argument `noise_shape`: expected a tuple of "
                         f"positive ints or None. Received: noise_shape={noise_shape!r}")
    try:
        noise_shape = tuple(noise_shape)
    except TypeError:
        raise ValueError("Invalid value for argument `noise_shape`: expected a tuple of "
                         f"positive ints or None. Received: noise_shape={noise_shape!r}"
                         ) from None
    for d in noise_shape:
        if d is not None and (isinstance(d, bool) or not isinstance(d, int) or d <= 0):
            raise ValueError("Invalid value for argument `noise_shape`: expected a tuple "
                             "of positive ints or None. Received: "
                             f"noise_shape={noise_shape!r}")
    return noise_shape


def _check_data_format(layer_name, data_format):
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer_name}: `data_format` must be 'channels_last' or "
                         f"'channels_first'. Received: data_format={data_format!r}")
    return data_format


class Dropout(Layer):
    """Randomly sets input units to 0 with frequency `rate` during training.

    Units that are kept are scaled by `1 / (1 - rate)` so that the expected sum is
    unchanged. At inference (`training=False`, as in `evaluate` and `predict`) the
    layer returns its input unchanged.

    Args:
        rate: float between 0 and 1 (1 excluded). Fraction of the input units to drop.
        noise_shape: optional tuple of ints, the shape of the binary dropout mask that
            is multiplied with the input; `None` entries take the input's size. For
            inputs `(batch, timesteps, features)`, `noise_shape=(None, 1, None)` drops
            the same features at every timestep. Default `None`: the input's shape.
        seed: optional int, the random seed.

    ```python
    layer = keras.layers.Dropout(0.2)
    y = layer(np.ones((2, 5), "float32"), training=True)   # some entries 0, the rest 1.25
    ```
    """

    supports_masking = True     # passes its input's mask on, as in Keras 3

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _check_rate(type(self).__name__, rate)
        self.noise_shape = _check_noise_shape(noise_shape)
        self.seed = seed
        if self.rate > 0:
            self.seed_generator = SeedGenerator(seed)

    def _check_input(self, inputs):
        if self.noise_shape is None:
            return
        shape = tuple(inputs.shape)
        ok = len(shape) == len(self.noise_shape) and all(
            n is None or n == 1 or n == d for n, d in zip(self.noise_shape, shape))
        if not ok:
            raise ValueError(
                f"Layer '{self.name}': noise_shape={self.noise_shape} does not broadcast to "
                f"the input shape {shape}; each entry must be None, 1 or the input's size.")

    def _mask_shape(self, inputs):
        if self.noise_shape is None:
            return inputs.shape
        return tuple(d if n is None else n for n, d in zip(self.noise_shape, inputs.shape))

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        keep = 1.0 - self.rate
        mask = jax.random.bernoulli(self.seed_generator.next(), keep, self._mask_shape(inputs))
        mask = jnp.broadcast_to(mask, inputs.shape)
        return jnp.where(mask, inputs / keep, jnp.zeros_like(inputs))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": self.noise_shape}


class SpatialDropout1D(Dropout):
    """Dropout that drops whole 1D feature maps (channels) instead of single units.

    For inputs `(batch, timesteps, channels)` the mask has shape `(batch, 1, channels)`,
    which helps when adjacent timesteps are strongly correlated.

    Args:
        rate: float between 0 and 1 (1 excluded). Fraction of the channels to drop.
        seed: optional int, the random seed.
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)

    def _check_input(self, inputs):
        input_spec.check_rank(self, tuple(inputs.shape), ndim=3)

    def _mask_shape(self, inputs):
        return (inputs.shape[0], 1, inputs.shape[2])

    def get_config(self):
        # Keras 3's constructor takes only these keys, so its config has only these.
        out = {"rate": self.rate, "seed": self.seed, "name": self.name, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            out["batch_input_shape"] = self._batch_input_shape
        return out


class SpatialDropout2D(SpatialDropout1D):
    """Dropout that drops whole 2D feature maps (channels) instead of single pixels.

    Args:
        rate: float between 0 and 1 (1 excluded). Fraction of the channels to drop.
        data_format: `"channels_last"` (inputs `(batch, rows, cols, channels)`) or
            `"channels_first"`. Default: `keras.config.image_data_format()`,
            i.e. `"channels_last"`.
        seed: optional int, the random seed.
    """

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = _check_data_format(type(self).__name__, data_format)

    def _check_input(self, inputs):
        input_spec.check_rank(self, tuple(inputs.shape), ndim=4)

    def _mask_shape(self, inputs):
        s = inputs.shape
        if self.data_format == "channels_first":
            return (s[0], s[1], 1, 1)
        return (s[0], 1, 1, s[3])

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class SpatialDropout3D(SpatialDropout2D):
    """Dropout that drops whole 3D feature maps (channels) instead of single voxels.

    Args:
        rate: float between 0 and 1 (1 excluded). Fraction of the channels to drop.
        data_format: `"channels_last"` (inputs `(batch, dim1, dim2, dim3, channels)`) or
            `"channels_first"`. Default: `keras.config.image_data_format()`.
        seed: optional int, the random seed.
    """

    def _check_input(self, inputs):
        input_spec.check_rank(self, tuple(inputs.shape), ndim=5)

    def _mask_shape(self, inputs):
        s = inputs.shape
        if self.data_format == "channels_first":
            return (s[0], s[1], 1, 1, 1)
        return (s[0], 1, 1, 1, s[4])


class AlphaDropout(Dropout):
    """Dropout that keeps the mean and variance of its inputs (for SELU networks).

    Dropped units are set to SELU's negative saturation value and the result is
    shifted and scaled so that self-normalization holds.

    Args:
        rate: float between 0 and 1 (1 excluded). Fraction of the units to drop.
        noise_shape: optional tuple of ints, the shape of the random mask (`None`
            entries take the input's size). Default `None`.
        seed: optional int, the random seed.
    """

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        u = jax.random.uniform(self.seed_generator.next(), self._mask_shape(inputs))
        kept = jnp.broadcast_to((u >= self.rate).astype(inputs.dtype), inputs.shape)
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        return a * (inputs * kept + alpha_p * (1 - kept)) + b


class GaussianNoise(Layer):
    """Adds zero-centered Gaussian noise during training (a regularizer).

    Args:
        stddev: float >= 0, standard deviation of the noise.
        seed: optional int, the random seed.

    ```python
    keras.layers.GaussianNoise(0.1)
    ```
    """

    supports_masking = True     # passes its input's mask on, as in Keras 3

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, numbers.Real) or stddev < 0:
            raise ValueError(
                "GaussianNoise: invalid value for argument `stddev`. Expected a float >= 0. "
                f"Received: stddev={stddev!r}")
        self.stddev = float(stddev)
        self.seed = seed
        if stddev > 0:
            self.seed_generator = SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training or self.stddev == 0:
            return inputs
        noise = jax.random.normal(self.seed_generator.next(), inputs.shape, inputs.dtype)
        return inputs + self.stddev * noise

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(Layer):
    """Multiplies inputs by 1-centered Gaussian noise during training.

    The noise has standard deviation `sqrt(rate / (1 - rate))`.

    Args:
        rate: float between 0 and 1 (1 excluded), the drop probability (as in Dropout).
        seed: optional int, the random seed.
    """

    supports_masking = True     # passes its input's mask on, as in Keras 3

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _check_rate(type(self).__name__, rate)
        self.seed = seed
        if self.rate > 0:
            self.seed_generator = SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = jax.random.normal(self.seed_generator.next(), inputs.shape, inputs.dtype)
        return inputs * (1.0 + stddev * noise)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


__all__ = ["Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "AlphaDropout",
           "GaussianNoise", "GaussianDropout"]
