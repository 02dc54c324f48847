"""Metric base class, Mean, Sum and MeanMetricWrapper.
[L1: jax, numpy, gazelle.config, gazelle.core, gazelle.losses]

A metric keeps running statistics in non-trainable Variables. Subclasses create them in
`__init__` with `add_variable`, update them in `update_state` with `Variable.assign`, and
read them in `result`. The stateless twins (`stateless_update_state`, `stateless_result`,
`stateless_reset_state`) run that same code inside a `StatelessScope`, so the compiled
trainer can carry metric values as plain arrays through `jit` and `lax.scan`.
"""
import inspect

import jax.numpy as jnp
import numpy as np

from gazelle import config
from gazelle import losses
from gazelle.core import masks, naming
from gazelle.core.variables import StatelessScope, Variable


def divide_no_nan(x, y):
    """Returns `x / y`, or 0 where `y == 0`."""
    safe_y = jnp.where(y == 0, 1, y)
    return jnp.where(y == 0, 0, x / safe_y)


class Metric:
    """Encapsulates metric logic and state.

    Args:
        name: Optional name for the metric instance. Defaults to the snake-case
            class name.
        dtype: The dtype of the metric's computations. Defaults to `None`, which
            means `config.floatx()` (`"float32"`).

    ```python
    class BinaryTruePositives(Metric):
        def __init__(self, name="binary_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), name="true_positives")

        def update_state(self, y_true, y_pred, sample_weight=None):
            hits = jnp.logical_and(y_true == 1, y_pred >= 0.5).astype(self.dtype)
            if sample_weight is not None:
                hits = hits * jnp.asarray(sample_weight, self.dtype)
            self.true_positives.assign(self.true_positives + jnp.sum(hits))

        def result(self):
            return self.true_positives.value
    ```
    """

    def __init__(self, name=None, dtype=None):
        self.name = name or naming.uniquify(naming.to_snake_case(type(self).__name__))
        self._dtype = jnp.dtype(dtype or config.floatx()).name
        self._variables = []

    @property
    def dtype(self):
        return self._dtype

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="sum",
                     name=None):
        """Creates a non-trainable state Variable owned by this metric.

        Args:
            shape: the variable's shape, e.g. `()`.
            initializer: `"zeros"`, `"ones"`, an array-like value, or a callable
                `(shape, dtype) -> array`. Defaults to `"zeros"`.
            dtype: the variable's dtype. Defaults to the metric's dtype.
            aggregation: how replicas combine it (`"sum"`, `"mean"`, ...). Defaults to
                `"sum"`.
            name: the variable's name, e.g. `"total"`.
        """
        if "_variables" not in vars(self):
            raise RuntimeError(f"{type(self).__name__}: call `super().__init__()` in "
                               "`__init__` before `add_variable`.")
        dtype = dtype or self.dtype
        shape = tuple(shape)
        if isinstance(initializer, str):
            # Filled on the host: jnp.zeros would compile a program per new shape.
            fills = {"zeros": np.zeros, "ones": np.ones}
            if initializer not in fills:
                raise ValueError(f"add_variable: unknown `initializer` {initializer!r}; "
                                 f"expected one of {sorted(fills)}, a value or a callable.")
            value = fills[initializer](shape, jnp.dtype(dtype))
        elif callable(initializer):
            value = initializer(shape, dtype=dtype)
        else:
            value = jnp.broadcast_to(jnp.asarray(initializer, dtype), shape)
        variable = Variable(value, dtype=dtype, trainable=False, name=name,
                            aggregation=aggregation)
        variable.path = f"{self.name}/{variable.name}"
        self._variables.append(variable)
        return variable

    def add_weight(self, shape=(), initializer="zeros", dtype=None, name=None):
        """Same as `add_variable` (the tf.keras spelling)."""
        return self.add_variable(shape, initializer=initializer, dtype=dtype, name=name)

    @property
    def variables(self):
        """This metric's Variables in creation order, then those of sub-metrics."""
        variables = list(self._variables)
        for value in vars(self).values():
            for item in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(item, Metric):
                    variables.extend(item.variables)
        return variables

    def update_state(self, *args, **kwargs):
        """Accumulates statistics for the metric."""
        raise NotImplementedError(f"{type(self).__name__} must implement `update_state`.")

    def result(self):
        """Computes and returns the current metric value (a scalar)."""
        raise NotImplementedError(f"{type(self).__name__} must implement `result`.")

    def reset_state(self):
        """Resets all of the metric state variables to zero."""
        for v in self.variables:
            v.assign(np.zeros(v.shape, jnp.dtype(v.dtype)))

    def __call__(self, *args, **kwargs):
        """Updates the state with one batch, then returns the (cumulative) result."""
        self.update_state(*args, **kwargs)
        return self.result()

    # -- stateless twins: the same code, with values carried outside the Variables ------
    def _check_values(self, metric_values):
        if len(metric_values) != len(self.variables):
            raise ValueError(
                f"{type(self).__name__}: `metric_values` must hold one array per entry of "
                f"`variables` ({len(self.variables)}), received {len(metric_values)}.")

    def _collect(self, scope):
        out = []
        for v in self.variables:
            value = scope.get_current_value(v)
            out.append(v.value if value is None else value)
        return out

    def stateless_update_state(self, metric_values, *args, **kwargs):
        """Pure `update_state`: returns the new values, aligned with `variables`.

        Args:
            metric_values: list of arrays, one per entry of `variables`.
            *args, **kwargs: the arguments of `update_state`.
        """
        self._check_values(metric_values)
        with StatelessScope(zip(self.variables, metric_values)) as scope:
            self.update_state(*args, **kwargs)
        return self._collect(scope)

    def stateless_result(self, metric_values):
        """Pure `result`, computed from `metric_values`.

        Args:
            metric_values: list of arrays, one per entry of `variables`.
        """
        self._check_values(metric_values)
        with StatelessScope(zip(self.variables, metric_values)):
            return self.result()

    def stateless_reset_state(self):
        """Pure `reset_state`: returns the reset values, aligned with `variables`."""
        with StatelessScope() as scope:
            self.reset_state()
        return self._collect(scope)

    # -- config ---------------------------------------------------------------------
    def get_config(self):
        """Returns the serializable config of the metric."""
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        """Creates a metric from the dict returned by `get_config`."""
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _reduce_to_samplewise(values, sample_weight, reduce_fn, dtype):
    """Per-sample values and weights, following Keras's `reduce_to_samplewise_values`."""
    values = jnp.asarray(values).astype(dtype)
    if sample_weight is not None:
        sample_weight = jnp.asarray(sample_weight).astype(dtype)
        values, sample_weight = losses.squeeze_or_expand_to_same_rank(values, sample_weight)
        weight_ndim = sample_weight.ndim
        if values.ndim > weight_ndim:
            values = reduce_fn(values, axis=tuple(range(weight_ndim, values.ndim)))
        # Broadcasting changes the weight total used for the mean, not the product.
        sample_weight = jnp.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if weight_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, weight_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Sum(Metric):
    """Computes the (weighted) sum of the given values.

    Args:
        name: (Optional) string name of the metric instance. Defaults to `"sum"`.
        dtype: (Optional) data type of the metric result.

    ```python
    m = Sum()
    m.update_state([1, 3, 5, 7])
    m.result()   # 16.0
    ```
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), name="total")

    def update_state(self, values, sample_weight=None):
        """Adds `values` (times `sample_weight`) to the total.

        Args:
            values: array of values to sum.
            sample_weight: Optional weights broadcastable to `values`. Defaults to `None`.
        """
        values, _ = _reduce_to_samplewise(values, sample_weight, jnp.sum, self.dtype)
        self.total.assign(self.total + jnp.sum(values))

    def result(self):
        return self.total.value


class Mean(Metric):
    """Computes the (weighted) mean of the given values.

    Args:
        name: (Optional) string name of the metric instance. Defaults to `"mean"`.
        dtype: (Optional) data type of the metric result.

    ```python
    m = Mean()
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    m.result()   # 2.0
    ```
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), name="total")
        self.count = self.add_variable(shape=(), name="count")

    def update_state(self, values, sample_weight=None):
        """Accumulates the weighted sum of `values` and the sum of weights.

        Args:
            values: array of values; non-batch axes are averaged per sample.
            sample_weight: Optional weights broadcastable to `values`. Defaults to `None`.
        """
        values, sample_weight = _reduce_to_samplewise(values, sample_weight, jnp.mean,
                                                      self.dtype)
        self.total.assign(self.total + jnp.sum(values))
        if sample_weight is not None:
            num_samples = jnp.sum(sample_weight)
        else:
            num_samples = values.shape[0] if values.ndim >= 1 else 1
        self.count.assign(self.count + jnp.asarray(num_samples, self.dtype))

    def result(self):
        return divide_no_nan(self.total.value, self.count.value)


class MeanMetricWrapper(Mean):
    """Wraps a stateless metric function `fn(y_true, y_pred, **kwargs)` as a `Mean`.

    `result()` is the weighted mean of `fn`'s per-sample values over all batches seen.

    Args:
        fn: The metric function to wrap, with signature `fn(y_true, y_pred, **kwargs)`.
        name: (Optional) string name of the metric instance.
        dtype: (Optional) data type of the metric result.
        **kwargs: Keyword arguments to pass on to `fn`.

    ```python
    m = MeanMetricWrapper(losses.mean_squared_error, name="mse")
    m.update_state(y_true, y_pred, sample_weight=w)
    ```
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper: `fn` must be callable, received {fn!r}.")
        super().__init__(name=name or naming.uniquify("mean_metric_wrapper"), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulates `fn(y_true, y_pred)` weighted by `sample_weight`.

        Args:
            y_true: Ground truth values.
            y_pred: The predicted values.
            sample_weight: Optional per-sample weights. Defaults to `None`.

        A mask attached to `y_pred` (Keras 3's `_keras_mask`) weighs its False entries 0.
        """
        mask = masks.get_keras_mask(y_pred)
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        if mask is not None:
            weight = jnp.asarray(mask, self.dtype)
            if sample_weight is not None:
                weight, sample_weight = losses.squeeze_or_expand_to_same_rank(
                    weight, jnp.asarray(sample_weight, self.dtype))
                weight = weight * sample_weight
            sample_weight = weight
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        return {**super().get_config(), "fn": _serialize_fn(self._fn), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("fn"), (dict, str)):
            from gazelle.metrics import deserialize  # the package table resolves names
            config["fn"] = deserialize(config["fn"])
        return cls(**config)


def _serialize_fn(fn):
    if isinstance(fn, losses.Loss):
        return losses.serialize(fn)
    if inspect.isfunction(fn):
        return {"module": "builtins", "class_name": "function", "config": fn.__name__,
                "registered_name": "function"}
    return fn
