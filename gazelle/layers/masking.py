"""Masking: marks time steps whose features all equal `mask_value` as padding. [L2: core]

The mask (`(batch, timesteps)` booleans, True = keep) travels with the output as Keras 3's
`_keras_mask` does (`gazelle.core.masks`); layers downstream whose `call` takes `mask=`
receive it (LSTM, GRU, GlobalAveragePooling1D, ...).
"""
import jax.numpy as jnp

from gazelle.core import masks
from gazelle.layers.layer import Layer


class Masking(Layer):
    """Masks a sequence: skips the time steps whose features all equal `mask_value`.

    The output is the input with masked steps set to 0, and carries a
    `(batch, timesteps)` mask for the layers that follow.

    Args:
        mask_value: the padding value (default 0.0).

    ```python
    x = np.random.rand(2, 5, 3).astype("float32")
    x[0, 3:] = 0.0                      # sample 0 has 3 steps
    model = keras.Sequential([keras.layers.Masking(0.0), keras.layers.LSTM(4)])
    y = model(x)                        # the LSTM ignores sample 0's last two steps
    ```
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return jnp.any(jnp.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs):
        keep = jnp.any(jnp.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        outputs = jnp.where(keep, inputs, jnp.zeros_like(inputs))
        masks.set_keras_mask(outputs, jnp.squeeze(keep, axis=-1))
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}


__all__ = ["Masking"]
