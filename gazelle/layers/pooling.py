"""Pooling layers: Max/AveragePooling1D/2D/3D and Global{Average,Max}Pooling1D/2D/3D. [L2]

On CPUs, pooling whose windows tile the input (strides == pool_size, the default) is a
reshape and a max/mean over the window axes, with max pooling's gradient routed to the
first maximum of each window as XLA's select-and-scatter does (that gradient is 2.7-4.5x
faster than select-and-scatter there; bench/pooling.py). Other windows, and every window
on other devices (where the two were even on an H200), are one `jax.lax.reduce_window`.
Global pooling is a mean/max over the spatial axes. No weights. May import: jax,
gazelle.layers.layer, gazelle.layers.convolutional (its argument checks).
"""
import functools
import itertools
import math

import jax
import jax.numpy as jnp

from gazelle.layers.convolutional import (check_rank, conv_output_length,
                                          standardize_data_format, standardize_padding,
                                          standardize_tuple)
from gazelle.layers.layer import Layer


class _Pooling(Layer):
    """Downsamples N-D inputs by taking the {mode} over each `pool_size` window.

    Args:
        pool_size: int or tuple of ints, the window size (default {default}).
        strides: int or tuple of ints, the step between windows (default None: `pool_size`).
        padding: `"valid"` (no padding, default) or `"same"` (pad evenly so that the
            output size is `ceil(input / strides)`{same_note}).
        data_format: `"channels_last"` (default, from `image_data_format()`) or
            `"channels_first"`.
    """

    rank = 2
    mode = "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.pool_size = standardize_tuple(pool_size, self.rank, "pool_size", owner)
        self.strides = standardize_tuple(pool_size if strides is None else strides, self.rank,
                                         "strides", owner)
        self.padding = standardize_padding(padding, owner)
        self.data_format = standardize_data_format(data_format, owner)

    def _window(self, spatial):
        return ((1,) + spatial + (1,) if self.data_format == "channels_last"
                else (1, 1) + spatial)

    def _check_input(self, inputs):
        check_rank(self, inputs.shape, self.rank)
        out = self.compute_output_shape(inputs.shape)
        if any(d <= 0 for d in out):
            raise ValueError(
                f"Layer '{self.name}': inputs of shape {tuple(inputs.shape)} are too small for "
                f"pool_size={self.pool_size} with padding='valid'; the output would be empty. "
                "Use padding='same' or a smaller pool_size.")

    def call(self, inputs):
        tiled = self._tiled(inputs.shape)
        if tiled is not None:
            return _tiled_pool(inputs, tiled, self.mode)
        window, strides = self._window(self.pool_size), self._window(self.strides)
        padding = self.padding.upper()
        if self.mode == "max":
            return jax.lax.reduce_window(inputs, -jnp.inf, jax.lax.max, window, strides, padding)
        total = jax.lax.reduce_window(inputs, 0.0, jax.lax.add, window, strides, padding)
        if self.padding == "valid":
            return total / math.prod(self.pool_size)
        # "same": divide by the number of real (unpadded) entries in each window.
        ones = jnp.ones((1,) * inputs.ndim, inputs.dtype)
        ones = jnp.broadcast_to(ones, tuple(n if w > 1 else 1 for n, w in
                                            zip(inputs.shape, window)))
        counts = jax.lax.reduce_window(ones, 0.0, jax.lax.add, window, strides, padding)
        return total / counts

    def _tiled(self, shape):
        """On CPUs, the (axis, size) of each window axis when the windows tile the input
        exactly as reduce_window would (strides == pool_size; 'valid', or 'same' with no
        padding), or None. 'valid' drops the remainder rows, as reduce_window does."""
        if self.strides != self.pool_size or jax.default_backend() != "cpu":
            return None
        first = 1 if self.data_format == "channels_last" else 2
        axes = tuple(zip(range(first, first + self.rank), self.pool_size))
        if self.padding == "same" and any(shape[a] % p for a, p in axes):
            return None
        return axes

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        check_rank(self, input_shape, self.rank)
        first = 1 if self.data_format == "channels_last" else 2
        spatial = tuple(conv_output_length(n, p, s, self.padding) for n, p, s in zip(
            input_shape[first:first + self.rank], self.pool_size, self.strides))
        return input_shape[:first] + spatial + input_shape[first + self.rank:]

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


def _tiled_pool(x, axes, mode):
    """Pooling over windows that tile `x`: each window axis (axis, p) is cropped to a
    multiple of p, split into (n // p, p) and reduced over the p part."""
    pools = dict(axes)
    x = x[tuple(slice(0, n - n % pools[a]) if a in pools else slice(None)
                for a, n in enumerate(x.shape))]
    split = []
    for a, n in enumerate(x.shape):
        split += [n // pools[a], pools[a]] if a in pools else [n]
    window_axes = tuple(a + i + 1 for i, (a, _) in enumerate(axes))
    xr = x.reshape(split)
    if mode == "max":
        return _window_max(xr, window_axes)
    return jnp.mean(xr, axis=window_axes)


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def _window_max(xr, window_axes):
    return jnp.max(xr, axis=window_axes)


@_window_max.defjvp
def _window_max_jvp(window_axes, primals, tangents):
    """The tangent (and so, transposed, the gradient) flows through each window's first
    maximum in row-major window order, as through XLA's select-and-scatter (reduce_window's
    gradient); jnp.max's own rule would split it between tied entries."""
    (xr,), (t,) = primals, tangents
    out = jnp.max(xr, axis=window_axes)
    mask = _first_max_mask(xr, jnp.expand_dims(out, window_axes), window_axes)
    return out, jnp.sum(jnp.where(mask, t, jnp.zeros_like(t)), axis=window_axes)


def _first_max_mask(xr, out, window_axes):
    """True at the first entry of each window equal to its maximum `out`."""
    sizes = [xr.shape[a] for a in window_axes]
    taken, masks = None, {}
    for offset in itertools.product(*(range(p) for p in sizes)):
        index = [slice(None)] * xr.ndim
        for a, o in zip(window_axes, offset):
            index[a] = slice(o, o + 1)
        hit = xr[tuple(index)] == out
        hit = hit if taken is None else hit & ~taken
        taken = hit if taken is None else taken | hit
        masks[offset] = hit
    # Join the per-offset masks along the window axes, the last window axis first.
    for d in reversed(range(len(sizes))):
        masks = {key: jnp.concatenate([masks[key + (o,)] for o in range(sizes[d])],
                                      axis=window_axes[d])
                 for key in {k[:d] for k in masks}}
    return masks[()]


def _pool_doc(mode, rank, default, example):
    same_note = "; windows at the edge average only the real entries" if mode == "average" \
        else ""
    doc = _Pooling.__doc__.format(mode=mode, default=default, same_note=same_note)
    return doc.replace("N-D", f"{rank}D") + example


class MaxPooling1D(_Pooling):
    __doc__ = _pool_doc("max", 1, "2", "")
    rank, mode = 1, "max"


class MaxPooling2D(_Pooling):
    __doc__ = _pool_doc("max", 2, "(2, 2)", """
    ```python
    keras.layers.MaxPooling2D(2)   # (N, 28, 28, 64) -> (N, 14, 14, 64)
    ```
    """)
    rank, mode = 2, "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling3D(_Pooling):
    __doc__ = _pool_doc("max", 3, "(2, 2, 2)", "")
    rank, mode = 3, "max"

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(_Pooling):
    __doc__ = _pool_doc("average", 1, "2", "")
    rank, mode = 1, "average"


class AveragePooling2D(_Pooling):
    __doc__ = _pool_doc("average", 2, "(2, 2)", """
    ```python
    keras.layers.AveragePooling2D(pool_size=3, strides=1, padding="same")
    ```
    """)
    rank, mode = 2, "average"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling3D(_Pooling):
    __doc__ = _pool_doc("average", 3, "(2, 2, 2)", "")
    rank, mode = 3, "average"

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class _GlobalPooling(Layer):
    """Global {mode} pooling over the spatial axes of N-D inputs.

    Args:
        data_format: `"channels_last"` (default, from `image_data_format()`) or
            `"channels_first"`.
        keepdims: whether to keep the spatial axes with length 1 (default False: output
            `(batch, channels)`).
    """

    rank = 2
    mode = "max"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)

    def _axes(self):
        first = 1 if self.data_format == "channels_last" else 2
        return tuple(range(first, first + self.rank))

    def _check_input(self, inputs):
        check_rank(self, inputs.shape, self.rank)

    def call(self, inputs):
        reduce = jnp.max if self.mode == "max" else jnp.mean
        return reduce(inputs, axis=self._axes(), keepdims=self.keepdims)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        check_rank(self, input_shape, self.rank)
        axes = self._axes()
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


def _global_doc(mode, rank, example=""):
    return _GlobalPooling.__doc__.format(mode=mode).replace("N-D", f"{rank}D") + example


class GlobalAveragePooling1D(_GlobalPooling):
    __doc__ = _global_doc("average", 1, """
    Call arguments: `mask`, optional `(batch, steps)` booleans: masked steps are left out
    of the average (an Embedding with `mask_zero=True` before it passes one).
    """)
    rank, mode = 1, "average"

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        axis = 1 if self.data_format == "channels_last" else 2
        keep = jnp.expand_dims(jnp.asarray(mask).astype(bool), 3 - axis)
        total = jnp.sum(jnp.where(keep, inputs, 0), axis=axis, keepdims=self.keepdims)
        count = jnp.sum(keep.astype(inputs.dtype), axis=axis, keepdims=self.keepdims)
        return total / count

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalAveragePooling2D(_GlobalPooling):
    __doc__ = _global_doc("average", 2, """
    ```python
    keras.layers.GlobalAveragePooling2D()   # (N, 7, 7, 512) -> (N, 512)
    ```
    """)
    rank, mode = 2, "average"


class GlobalAveragePooling3D(_GlobalPooling):
    __doc__ = _global_doc("average", 3)
    rank, mode = 3, "average"


class GlobalMaxPooling1D(_GlobalPooling):
    __doc__ = _global_doc("max", 1)
    rank, mode = 1, "max"


class GlobalMaxPooling2D(_GlobalPooling):
    __doc__ = _global_doc("max", 2)
    rank, mode = 2, "max"


class GlobalMaxPooling3D(_GlobalPooling):
    __doc__ = _global_doc("max", 3)
    rank, mode = 3, "max"


# Keras's short names.
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D)
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = (
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D)

__all__ = ["MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D",
           "AveragePooling2D", "AveragePooling3D", "GlobalAveragePooling1D",
           "GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalMaxPooling1D",
           "GlobalMaxPooling2D", "GlobalMaxPooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D",
           "AvgPool1D", "AvgPool2D", "AvgPool3D", "GlobalAvgPool1D", "GlobalAvgPool2D",
           "GlobalAvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D"]
