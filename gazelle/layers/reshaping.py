"""Reshaping layers: Flatten, Reshape, Permute, RepeatVector, UpSampling1D/2D,
ZeroPadding1D/2D, Cropping1D/2D. [L2: core, config]"""
import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np

from gazelle import config
from gazelle.layers import input_spec
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
        try:
            dims = tuple(target_shape)
        except TypeError:
            dims = None
        if dims is None or not all(
                isinstance(d, (int, np.integer)) and not isinstance(d, bool) and (d > 0 or d == -1)
                for d in dims):
            raise ValueError(f"Reshape: `target_shape` must be a tuple of positive ints (one may "
                             f"be -1). Received: target_shape={target_shape!r}")
        self.target_shape = tuple(int(d) for d in dims)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ValueError(f"Reshape: at most one -1 in target_shape, received {target_shape}.")

    def call(self, inputs):
        return inputs.reshape((inputs.shape[0],) + self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}




def _int_tuple(value, n, name, layer_name, allow_zero=False):
    """`value` (an int or n ints) as a tuple of n ints, or a ValueError naming `name`."""
    least = 0 if allow_zero else 1
    items = (value,) * n if isinstance(value, numbers.Integral) else value
    try:
        items = tuple(items)
    except TypeError:
        items = None
    if (items is None or len(items) != n or any(
            isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < least
            for v in items)):
        raise ValueError(
            f"{layer_name}: `{name}` must be an int or a tuple of {n} ints, each >= {least}. "
            f"Received: {name}={value!r}")
    return tuple(int(v) for v in items)


def _pairs(value, name, layer_name):
    """2D padding/cropping: an int, 2 ints (symmetric) or 2 pairs of ints."""
    if isinstance(value, numbers.Integral):
        value = (value, value)
    try:
        first, second = value
    except (TypeError, ValueError):
        raise ValueError(
            f"{layer_name}: `{name}` must be an int, a tuple of 2 ints or a tuple of 2 "
            f"tuples of 2 ints. Received: {name}={value!r}") from None
    return (_int_tuple(first, 2, f"{name}[0]", layer_name, allow_zero=True),
            _int_tuple(second, 2, f"{name}[1]", layer_name, allow_zero=True))


def _data_format(value, layer_name):
    value = value or config.image_data_format()
    if value not in ("channels_last", "channels_first"):
        raise ValueError(f"{layer_name}: `data_format` must be 'channels_last' or "
                         f"'channels_first'. Received: data_format={value!r}")
    return value


class Permute(Layer):
    """Permutes the non-batch dimensions of the input.

    Args:
        dims: tuple of ints, the permutation, indexing from 1 (the batch dimension is
            not permuted). `(2, 1)` swaps the first and second non-batch dimensions.

    ```python
    keras.layers.Permute((2, 1), input_shape=(10, 64))   # -> (None, 64, 10)
    ```
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        dims = tuple(dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(
                "Permute: `dims` must be a permutation of 1..n (indices start at 1, the "
                f"batch dimension is not permuted). Received: dims={dims}")
        self.dims = tuple(int(d) for d in dims)

    def _check_input(self, inputs):
        input_spec.check_rank(self, tuple(inputs.shape), ndim=len(self.dims) + 1)

    def call(self, inputs):
        return jnp.transpose(inputs, (0,) + self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """Repeats the input `n` times: `(batch, features) -> (batch, n, features)`.

    Args:
        n: positive int, the number of repetitions.

    ```python
    keras.layers.RepeatVector(3)        # (None, 32) -> (None, 3, 32)
    ```
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise TypeError(f"RepeatVector: `n` must be an int. Received: n={n!r} "
                            f"(of type {type(n).__name__})")
        if n <= 0:
            raise ValueError(f"RepeatVector: `n` must be a positive int. Received: n={n}")
        self.n = int(n)

    def _check_input(self, inputs):
        input_spec.check_rank(self, tuple(inputs.shape), ndim=2)

    def call(self, inputs):
        return jnp.repeat(inputs[:, None, :], self.n, axis=1)

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class UpSampling1D(Layer):
    """Repeats each temporal step `size` times: `(batch, steps, features)` ->
    `(batch, steps * size, features)`.

    Args:
        size: positive int, the upsampling factor (default 2).
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise TypeError(f"UpSampling1D: `size` must be an int. Received: size={size!r}")
        if size <= 0:
            raise ValueError(f"UpSampling1D: `size` must be a positive int. Received: size={size}")
        self.size = int(size)

    def _check_input(self, inputs):
        input_spec.check_rank(self, tuple(inputs.shape), ndim=3)

    def call(self, inputs):
        return jnp.repeat(inputs, self.size, axis=1)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class UpSampling2D(Layer):
    """Upsamples images by repeating rows and columns (or by bilinear interpolation).

    Args:
        size: int or tuple of 2 ints, the factors for rows and columns (default (2, 2)).
        data_format: `"channels_last"` (inputs `(batch, rows, cols, channels)`) or
            `"channels_first"`. Default: `keras.config.image_data_format()`.
        interpolation: `"nearest"` (default) or `"bilinear"` (also `"bicubic"`,
            `"lanczos3"`, `"lanczos5"`).

    ```python
    keras.layers.UpSampling2D(size=(2, 2))    # (None, 7, 7, 64) -> (None, 14, 14, 64)
    ```
    """

    _INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5")

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = _int_tuple(size, 2, "size", "UpSampling2D")
        self.data_format = _data_format(data_format, "UpSampling2D")
        interpolation = str(interpolation).lower()
        if interpolation not in self._INTERPOLATIONS:
            raise ValueError(f"UpSampling2D: `interpolation` must be one of "
                             f"{self._INTERPOLATIONS}. Received: interpolation={interpolation!r}")
        self.interpolation = interpolation

    def _check_input(self, inputs):
        input_spec.check_rank(self, tuple(inputs.shape), ndim=4)

    def call(self, inputs):
        x = inputs
        if self.data_format == "channels_first":
            x = jnp.transpose(x, (0, 2, 3, 1))
        if self.interpolation == "nearest":
            x = jnp.repeat(jnp.repeat(x, self.size[0], axis=1), self.size[1], axis=2)
        else:
            n, h, w, c = x.shape
            x = jax.image.resize(x, (n, h * self.size[0], w * self.size[1], c),
                                 method=self.interpolation, antialias=False)
        if self.data_format == "channels_first":
            x = jnp.transpose(x, (0, 3, 1, 2))
        return x

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format,
                "interpolation": self.interpolation}


class ZeroPadding1D(Layer):
    """Pads the temporal axis with zeros: `(batch, steps, features)` ->
    `(batch, left + steps + right, features)`.

    Args:
        padding: int (same on both sides) or tuple of 2 ints `(left, right)`
            (default 1).
        data_format: `"channels_last"` (default) or `"channels_first"`.
    """

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _int_tuple(padding, 2, "padding", "ZeroPadding1D", allow_zero=True)
        self.data_format = _data_format(data_format, "ZeroPadding1D")

    def _check_input(self, inputs):
        input_spec.check_rank(self, tuple(inputs.shape), ndim=3)

    def call(self, inputs):
        pads = [(0, 0), (0, 0), (0, 0)]
        pads[2 if self.data_format == "channels_first" else 1] = self.padding
        return jnp.pad(inputs, pads)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class ZeroPadding2D(Layer):
    """Pads rows and columns of images with zeros.

    Args:
        padding: int (same on all sides), tuple of 2 ints (symmetric rows, columns),
            or `((top, bottom), (left, right))` (default (1, 1)).
        data_format: `"channels_last"` (default) or `"channels_first"`.

    ```python
    keras.layers.ZeroPadding2D(padding=2)     # (None, 28, 28, 1) -> (None, 32, 32, 1)
    ```
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pairs(padding, "padding", "ZeroPadding2D")
        self.data_format = _data_format(data_format, "ZeroPadding2D")

    def _check_input(self, inputs):
        input_spec.check_rank(self, tuple(inputs.shape), ndim=4)

    def call(self, inputs):
        if self.data_format == "channels_first":
            return jnp.pad(inputs, ((0, 0), (0, 0), *self.padding))
        return jnp.pad(inputs, ((0, 0), *self.padding, (0, 0)))

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


def _crop(layer, shape, axes, cropping):
    for axis, (a, b) in zip(axes, cropping):
        if shape[axis] is not None and a + b >= shape[axis]:
            raise ValueError(
                f"Layer '{layer.name}': cropping {layer.cropping} removes all of axis {axis} "
                f"(size {shape[axis]}); it must be smaller than the input. Received shape "
                f"{tuple(shape)}.")


def _cropped_shape(layer, shape, axes, cropping):
    # Written out (not traced): tracing would stand in small sizes for unknown dims.
    _crop(layer, shape, axes, cropping)
    out = list(shape)
    for axis, (a, b) in zip(axes, cropping):
        out[axis] = None if shape[axis] is None else shape[axis] - a - b
    return tuple(out)


class Cropping1D(Layer):
    """Crops the temporal axis: `(batch, steps, features)` ->
    `(batch, steps - left - right, features)`.

    Args:
        cropping: int (same on both sides) or tuple of 2 ints `(left, right)`
            (default (1, 1)).
    """

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _int_tuple(cropping, 2, "cropping", "Cropping1D", allow_zero=True)

    def _check_input(self, inputs):
        input_spec.check_rank(self, tuple(inputs.shape), ndim=3)
        _crop(self, inputs.shape, [1], [self.cropping])

    def call(self, inputs):
        a, b = self.cropping
        return inputs[:, a:inputs.shape[1] - b, :]

    def compute_output_shape(self, input_shape):
        return _cropped_shape(self, input_shape, [1], [self.cropping])

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping}


class Cropping2D(Layer):
    """Crops rows and columns of images.

    Args:
        cropping: int (same on all sides), tuple of 2 ints (symmetric rows, columns),
            or `((top, bottom), (left, right))` (default ((0, 0), (0, 0))).
        data_format: `"channels_last"` (default) or `"channels_first"`.

    ```python
    keras.layers.Cropping2D(cropping=((2, 2), (4, 4)))   # (None, 28, 28, 3) -> (None, 24, 20, 3)
    ```
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pairs(cropping, "cropping", "Cropping2D")
        self.data_format = _data_format(data_format, "Cropping2D")

    def _axes(self):
        return (2, 3) if self.data_format == "channels_first" else (1, 2)

    def _check_input(self, inputs):
        input_spec.check_rank(self, tuple(inputs.shape), ndim=4)
        _crop(self, inputs.shape, self._axes(), self.cropping)

    def call(self, inputs):
        index = [slice(None)] * 4
        for axis, (a, b) in zip(self._axes(), self.cropping):
            index[axis] = slice(a, inputs.shape[axis] - b)
        return inputs[tuple(index)]

    def compute_output_shape(self, input_shape):
        return _cropped_shape(self, input_shape, self._axes(), self.cropping)

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping,
                "data_format": self.data_format}
