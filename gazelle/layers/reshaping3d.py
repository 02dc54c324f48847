"""Volumetric reshaping layers: UpSampling3D, ZeroPadding3D, Cropping3D. [L2: config]

Inputs are `(batch, dim1, dim2, dim3, channels)` (`"channels_last"`) or
`(batch, channels, dim1, dim2, dim3)` (`"channels_first"`).
"""
import numbers

import jax.numpy as jnp

from gazelle.layers import input_spec
from gazelle.layers.layer import Layer
from gazelle.layers.reshaping import _crop, _cropped_shape, _data_format, _int_tuple


def _triples(value, name, layer_name):
    """3D padding/cropping: an int, 3 ints (symmetric per axis) or 3 pairs of ints."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,) * 3
    try:
        items = tuple(value)
    except TypeError:
        items = ()
    if len(items) != 3:
        raise ValueError(f"{layer_name}: `{name}` must be an int, a tuple of 3 ints or a tuple "
                         f"of 3 tuples of 2 ints. Received: {name}={value!r}")
    return tuple(_int_tuple(item, 2, f"{name}[{i}]", layer_name, allow_zero=True)
                 for i, item in enumerate(items))


def _spatial_axes(data_format):
    return (2, 3, 4) if data_format == "channels_first" else (1, 2, 3)


class UpSampling3D(Layer):
    """Upsamples volumes by repeating their entries along the three spatial axes.

    Args:
        size: int or tuple of 3 ints, the factors for dim1, dim2 and dim3
            (default (2, 2, 2)).
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.config.image_data_format()`.

    ```python
    keras.layers.UpSampling3D(2)     # (None, 4, 4, 4, 8) -> (None, 8, 8, 8, 8)
    ```
    """

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.size = _int_tuple(size, 3, "size", "UpSampling3D")
        self.data_format = _data_format(data_format, "UpSampling3D")

    def _check_input(self, inputs):
        input_spec.check_rank(self, tuple(inputs.shape), ndim=5)

    def call(self, inputs):
        x = inputs
        for axis, factor in zip(_spatial_axes(self.data_format), self.size):
            x = jnp.repeat(x, factor, axis=axis)
        return x

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for axis, factor in zip(_spatial_axes(self.data_format), self.size):
            out[axis] = None if out[axis] is None else out[axis] * factor
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}


class ZeroPadding3D(Layer):
    """Pads the three spatial axes of volumes with zeros.

    Args:
        padding: int (same everywhere), tuple of 3 ints (symmetric per axis), or
            `((left1, right1), (left2, right2), (left3, right3))`
            (default ((1, 1), (1, 1), (1, 1))).
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.config.image_data_format()`.

    ```python
    keras.layers.ZeroPadding3D(1)    # (None, 4, 4, 4, 8) -> (None, 6, 6, 6, 8)
    ```
    """

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _triples(padding, "padding", "ZeroPadding3D")
        self.data_format = _data_format(data_format, "ZeroPadding3D")

    def _check_input(self, inputs):
        input_spec.check_rank(self, tuple(inputs.shape), ndim=5)

    def call(self, inputs):
        pads = [(0, 0)] * 5
        for axis, pair in zip(_spatial_axes(self.data_format), self.padding):
            pads[axis] = pair
        return jnp.pad(inputs, pads)

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for axis, (a, b) in zip(_spatial_axes(self.data_format), self.padding):
            out[axis] = None if out[axis] is None else out[axis] + a + b
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class Cropping3D(Layer):
    """Crops the three spatial axes of volumes.

    Args:
        cropping: int (same everywhere), tuple of 3 ints (symmetric per axis), or
            `((left1, right1), (left2, right2), (left3, right3))`
            (default ((1, 1), (1, 1), (1, 1))).
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.config.image_data_format()`.

    ```python
    keras.layers.Cropping3D(1)       # (None, 6, 6, 6, 8) -> (None, 4, 4, 4, 8)
    ```
    """

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _triples(cropping, "cropping", "Cropping3D")
        self.data_format = _data_format(data_format, "Cropping3D")

    def _check_input(self, inputs):
        input_spec.check_rank(self, tuple(inputs.shape), ndim=5)
        _crop(self, inputs.shape, _spatial_axes(self.data_format), self.cropping)

    def call(self, inputs):
        index = [slice(None)] * 5
        for axis, (a, b) in zip(_spatial_axes(self.data_format), self.cropping):
            index[axis] = slice(a, inputs.shape[axis] - b)
        return inputs[tuple(index)]

    def compute_output_shape(self, input_shape):
        return _cropped_shape(self, input_shape, _spatial_axes(self.data_format), self.cropping)

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping,
                "data_format": self.data_format}
