"""Adaptive pooling: AdaptiveAveragePooling1D/2D/3D, AdaptiveMaxPooling1D/2D/3D. [L2]

The output has a fixed size whatever the input's: along an axis of length L pooled to
n bins, bin i covers `[floor(i L / n), ceil((i + 1) L / n))`, as in Keras 3 and PyTorch.
Each axis is pooled in turn (a mean or max over a box is the mean or max along each of
its axes), as a gather of each bin's window and a reduction over it.
"""
import numbers

import jax.numpy as jnp
import numpy as np

from gazelle import config
from gazelle.layers import input_spec
from gazelle.layers.layer import Layer


def _bin_windows(length, bins):
    """`(bins, widest)` indices of each bin's window (short windows repeat their last
    index) and the `(bins, widest)` mask of the real entries."""
    starts = (np.arange(bins) * length) // bins
    ends = -((-np.arange(1, bins + 1) * length) // bins)           # ceil division
    widest = int((ends - starts).max())
    offsets = starts[:, None] + np.arange(widest)[None, :]
    mask = offsets < ends[:, None]
    return np.minimum(offsets, ends[:, None] - 1), mask


def _pool_axis(x, axis, bins, reduce):
    index, mask = _bin_windows(x.shape[axis], bins)
    windows = jnp.take(x, jnp.asarray(index.reshape(-1)), axis=axis)
    windows = windows.reshape(x.shape[:axis] + index.shape + x.shape[axis + 1:])
    if reduce == "max":
        return jnp.max(windows, axis=axis + 1)     # repeated entries do not change a max
    weights = (mask / mask.sum(axis=1, keepdims=True)).astype(x.dtype)
    weights = weights.reshape(index.shape + (1,) * (x.ndim - axis - 1))
    return jnp.sum(windows * weights, axis=axis + 1)


class _AdaptivePooling(Layer):
    _rank = None
    _reduce = None

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        name, n = type(self).__name__, self._rank
        if isinstance(output_size, numbers.Integral) and not isinstance(output_size, bool):
            output_size = (output_size,) * n
        if (not isinstance(output_size, (tuple, list)) or len(output_size) != n
                or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0
                           for v in output_size)):
            raise TypeError(f"{name}: `output_size` must be a positive int or a tuple of {n} "
                            f"positive ints. Received: output_size={output_size!r}")
        self.output_size = tuple(int(v) for v in output_size)
        data_format = data_format or config.image_data_format()
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"{name}: `data_format` must be 'channels_last' or "
                             f"'channels_first'. Received: data_format={data_format!r}")
        self.data_format = data_format

    def _axes(self):
        start = 2 if self.data_format == "channels_first" else 1
        return range(start, start + self._rank)

    def _check_input(self, inputs):
        input_spec.check_rank(self, tuple(inputs.shape), ndim=self._rank + 2)

    def call(self, inputs):
        x = inputs
        for axis, bins in zip(self._axes(), self.output_size):
            x = _pool_axis(x, axis, bins, self._reduce)
        return x

    def compute_output_shape(self, input_shape):
        out = list(input_shape)
        for axis, bins in zip(self._axes(), self.output_size):
            out[axis] = bins
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size,
                "data_format": self.data_format}


class AdaptiveAveragePooling1D(_AdaptivePooling):
    """Average pooling over the steps axis to a fixed number of bins, `output_size`.

    Args:
        output_size: int, the number of output bins per pooled axis.
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.config.image_data_format()`.

    ```python
    keras.layers.AdaptiveAveragePooling1D(8)    # (None, 100, 16) -> (None, 8, 16)
    ```
    """

    _rank = 1
    _reduce = "mean"


class AdaptiveAveragePooling2D(_AdaptivePooling):
    """Average pooling over rows and columns to a fixed number of bins, `output_size`.

    Args:
        output_size: int or tuple of 2 ints, the number of output bins per pooled axis.
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.config.image_data_format()`.

    ```python
    keras.layers.AdaptiveAveragePooling2D((7, 7))    # (None, 30, 40, 3) -> (None, 7, 7, 3)
    ```
    """

    _rank = 2
    _reduce = "mean"


class AdaptiveAveragePooling3D(_AdaptivePooling):
    """Average pooling over the three spatial axes to a fixed number of bins, `output_size`.

    Args:
        output_size: int or tuple of 3 ints, the number of output bins per pooled axis.
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.config.image_data_format()`.

    ```python
    keras.layers.AdaptiveAveragePooling3D(4)    # (None, 9, 9, 9, 2) -> (None, 4, 4, 4, 2)
    ```
    """

    _rank = 3
    _reduce = "mean"


class AdaptiveMaxPooling1D(_AdaptivePooling):
    """Max pooling over the steps axis to a fixed number of bins, `output_size`.

    Args:
        output_size: int, the number of output bins per pooled axis.
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.config.image_data_format()`.

    ```python
    keras.layers.AdaptiveMaxPooling1D(8)    # (None, 100, 16) -> (None, 8, 16)
    ```
    """

    _rank = 1
    _reduce = "max"


class AdaptiveMaxPooling2D(_AdaptivePooling):
    """Max pooling over rows and columns to a fixed number of bins, `output_size`.

    Args:
        output_size: int or tuple of 2 ints, the number of output bins per pooled axis.
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.config.image_data_format()`.

    ```python
    keras.layers.AdaptiveMaxPooling2D((7, 7))    # (None, 30, 40, 3) -> (None, 7, 7, 3)
    ```
    """

    _rank = 2
    _reduce = "max"


class AdaptiveMaxPooling3D(_AdaptivePooling):
    """Max pooling over the three spatial axes to a fixed number of bins, `output_size`.

    Args:
        output_size: int or tuple of 3 ints, the number of output bins per pooled axis.
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.config.image_data_format()`.

    ```python
    keras.layers.AdaptiveMaxPooling3D(4)    # (None, 9, 9, 9, 2) -> (None, 4, 4, 4, 2)
    ```
    """

    _rank = 3
    _reduce = "max"
