"""Reshaping layers: Flatten, Reshape. [L2]"""
import math

import jax.numpy as jnp

from gazelle.layers.layer import Layer


class Flatten(Layer):
    """Flattens the input, keeping the batch dimension: `(N, 28, 28) -> (N, 784)`.

    Args:
        data_format: `"channels_last"` (default) or `"channels_first"`.

    ```python
    keras.layers.Flatten(input_shape=[28, 28])
    ```
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last", "channels_first"):
            raise ValueError("Flatten: `data_format` must be 'channels_last' or "
                             f"'channels_first', received {data_format!r}.")
        self.data_format = data_format or "channels_last"

    def call(self, inputs):
        x = inputs
        if self.data_format == "channels_first" and x.ndim > 2:
            x = jnp.moveaxis(x, 1, -1)
        return x.reshape((x.shape[0], -1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        flat = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], flat)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshapes inputs to `target_shape` (batch dimension kept; one -1 allowed).

    Args:
        target_shape: tuple of ints, the shape without the batch dimension.
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ValueError(f"Reshape: at most one -1 in target_shape, received {target_shape}.")

    def call(self, inputs):
        return inputs.reshape((inputs.shape[0],) + self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


