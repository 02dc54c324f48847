"""Preprocessing layers: Normalization (with `adapt`), Rescaling. [L2: core, config]

`Normalization.adapt` computes its statistics in NumPy on the host, once, before
training; the results live in non-trainable weights so they are saved with the model.
"""
import numbers

import jax.numpy as jnp
import numpy as np

from gazelle import config
from gazelle.layers import input_spec
from gazelle.layers.layer import Layer


def _first(batch):
    return batch[0] if isinstance(batch, tuple) else batch


class Normalization(Layer):
    """Shifts and scales inputs to mean 0 and variance 1 per feature.

    Computes `(input - mean) / sqrt(var)` (the square root floored at
    `keras.config.epsilon()`). The statistics are either passed as `mean` and
    `variance`, or learned from data with `adapt(data)` before training.

    Args:
        axis: int, tuple of ints, or None. The axis (or axes) that keep separate
            statistics; all other axes are reduced. Default -1: one mean and variance
            per feature of the last axis. None: a single scalar mean and variance.
        mean: optional mean to use (a scalar, or an array broadcastable to the kept
            axes). Pass `variance` with it.
        variance: optional variance to use, with `mean`.
        invert: if True, apply the inverse transformation
            `mean + input * sqrt(var)` instead (default False).

    ```python
    norm = keras.layers.Normalization()
    norm.adapt(x_train)                 # per-feature mean and variance of x_train
    model = keras.Sequential([norm, keras.layers.Dense(1)])
    ```
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
            axis = (int(axis),)
        else:
            try:
                axis = tuple(int(a) for a in axis)
            except (TypeError, ValueError):
                raise TypeError("Normalization: `axis` must be an int, a tuple of ints or "
                                f"None. Received: axis={axis!r}") from None
        self.axis = axis
        if (mean is None) != (variance is None):
            raise ValueError(
                "Normalization: pass both `mean` and `variance`, or neither (then call "
                f"`adapt(data)`). Received: mean={mean!r}, variance={variance!r}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(
                    "Normalization: `mean` and `variance` must have the same shape. "
                    f"Received: mean shape {np.shape(mean)}, variance shape "
                    f"{np.shape(variance)}")
            if np.ndim(mean) > len(self.axis):
                raise ValueError(
                    f"Normalization: `mean` has rank {np.ndim(mean)}, more than the number "
                    f"of kept axes ({len(self.axis)}). Received: mean shape "
                    f"{np.shape(mean)} for axis={self.axis}")
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)

    def build(self, input_shape):
        ndim = len(input_shape)
        for a in self.axis:
            if not -ndim <= a < ndim:
                raise ValueError(
                    f"Layer '{self.name}': every `axis` must be in [-{ndim}, {ndim}) for "
                    f"inputs of shape {tuple(input_shape)}. Received: axis={self.axis}")
        self._keep_axis = tuple(sorted(a % ndim for a in self.axis))
        for d in self._keep_axis:
            if input_shape[d] is None:
                raise ValueError(
                    f"Layer '{self.name}': the kept axis {d} needs a known size. Received "
                    f"input shape {tuple(input_shape)} with axis={self.axis}.")
        self._reduce_axis = tuple(d for d in range(ndim) if d not in self._keep_axis)
        self._broadcast_shape = tuple(
            input_shape[d] if d in self._keep_axis else 1 for d in range(ndim))
        stat_shape = tuple(input_shape[d] for d in self._keep_axis)
        self._ndim = ndim
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(
                shape=stat_shape, initializer="zeros", trainable=False, name="mean")
            self.adapt_variance = self.add_weight(
                shape=stat_shape, initializer="ones", trainable=False, name="variance")
            self.count = self.add_weight(
                shape=(), dtype="int32", initializer="zeros", trainable=False, name="count")
        else:
            self._fixed = tuple(self._to_broadcast(np.asarray(v, config.floatx()))
                                for v in (self.input_mean, self.input_variance))

    def _to_broadcast(self, value):
        # Align a user-given statistic with the kept axes (from the right), then broadcast.
        shape = [1] * self._ndim
        for axis, size in zip(self._keep_axis[::-1], value.shape[::-1]):
            shape[axis] = size
        return jnp.broadcast_to(value.reshape(shape), self._broadcast_shape)

    def _check_input(self, inputs):
        shape = tuple(inputs.shape)
        input_spec.check_rank(self, shape, ndim=self._ndim)
        for d in self._keep_axis:
            if shape[d] != self._broadcast_shape[d]:
                raise ValueError(
                    f"Layer '{self.name}' was built for size {self._broadcast_shape[d]} on "
                    f"axis {d}, but received shape {shape}.")

    def adapt(self, data):
        """Computes the mean and variance of `data` and stores them in the layer.

        Args:
            data: a NumPy array (or array-like), or an iterable of such batches
                (e.g. a list of arrays or a generator; `(x, y)` tuples use `x`).
        """
        if self.input_mean is not None:
            raise ValueError(
                f"Layer '{self.name}' was given `mean` and `variance`; it cannot be adapted.")
        if hasattr(data, "shape") or isinstance(data, (list, tuple)) and not any(
                hasattr(_first(b), "shape") for b in data):
            batches = [np.asarray(data)]        # one array (or nested lists of numbers)
        elif hasattr(data, "__iter__") and not isinstance(data, (str, bytes, dict)):
            batches = (np.asarray(_first(b)) for b in data)
        else:
            raise TypeError(
                f"Normalization.adapt: `data` must be a NumPy array or an iterable of "
                f"array batches. Received: {type(data).__name__}")
        mean = var = None
        total = 0
        for batch in batches:
            batch = batch.astype(np.float64)
            if not self.built:
                keep = {a % batch.ndim for a in self.axis if -batch.ndim <= a < batch.ndim}
                self._maybe_build([tuple(None if d == 0 and 0 not in keep else size
                                         for d, size in enumerate(batch.shape))])
            self._check_input(batch)
            count = int(np.prod([batch.shape[d] for d in self._reduce_axis]))
            if count == 0:
                continue
            b_mean = batch.mean(axis=self._reduce_axis)
            b_var = batch.var(axis=self._reduce_axis)
            if mean is None:
                mean, var, total = b_mean, b_var, count
                continue
            # Combine with the running statistics (Chan et al.'s parallel formula).
            total += count
            w = count / total
            new_mean = mean * (1 - w) + b_mean * w
            var = (var + (mean - new_mean) ** 2) * (1 - w) + (b_var + (b_mean - new_mean) ** 2) * w
            mean = new_mean
        if mean is None:
            raise ValueError("Normalization.adapt: `data` is empty; expected at least one "
                             "sample.")
        self.adapt_mean.assign(mean)
        self.adapt_variance.assign(var)

    def _statistics(self):
        if self.input_mean is not None:
            return self._fixed
        return (self.adapt_mean.value.reshape(self._broadcast_shape),
                self.adapt_variance.value.reshape(self._broadcast_shape))

    def call(self, inputs):
        mean, variance = self._statistics()
        std = jnp.maximum(jnp.sqrt(variance), config.epsilon())
        if self.invert:
            return mean + inputs * std
        return (inputs - mean) / std

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": np.array(self.input_mean).tolist(),
                "variance": np.array(self.input_variance).tolist()}


class Rescaling(Layer):
    """Multiplies inputs by `scale` and adds `offset`.

    Args:
        scale: float (or array broadcastable to the inputs), the factor. For example
            `1 / 255` maps `[0, 255]` pixels to `[0, 1]`.
        offset: float (or array), added after scaling (default 0.0).

    ```python
    keras.layers.Rescaling(1.0 / 255)
    keras.layers.Rescaling(1.0 / 127.5, offset=-1)   # [0, 255] -> [-1, 1]
    ```
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        for what, value in (("scale", scale), ("offset", offset)):
            try:
                np.asarray(value, dtype="float64")
            except (TypeError, ValueError):
                raise TypeError(f"Rescaling: `{what}` must be a number or an array of numbers. "
                                f"Received: {what}={value!r}") from None
        self.scale = scale
        self.offset = offset

    def call(self, inputs):
        scale = jnp.asarray(self.scale, inputs.dtype)
        offset = jnp.asarray(self.offset, inputs.dtype)
        return inputs * scale + offset

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        def plain(v):
            return v.tolist() if isinstance(v, np.ndarray) else v
        return {**super().get_config(), "scale": plain(self.scale),
                "offset": plain(self.offset)}


__all__ = ["Normalization", "Rescaling"]
