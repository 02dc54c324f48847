"""Regression metrics: running means of the regression losses, plus RMSE and cosine.
[L1: jax, gazelle.losses, gazelle.metrics.metric]

The per-sample math is `gazelle.losses`' (functions first); these classes only give it
Keras 3's metric names and a running weighted mean.
"""
import jax.numpy as jnp

from gazelle import losses
from gazelle.metrics.metric import Mean, MeanMetricWrapper


class _LossMean(MeanMetricWrapper):
    """A running mean of one loss function; config is just name and dtype."""

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class MeanSquaredError(_LossMean):
    """Computes the mean squared error between `y_true` and `y_pred`.

    Args:
        name: (Optional) string name of the metric instance. Defaults to
            `"mean_squared_error"`.
        dtype: (Optional) data type of the metric result.
    """

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(losses.mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(_LossMean):
    """Computes the mean absolute error between the labels and predictions.

    Args:
        name: (Optional) string name of the metric instance. Defaults to
            `"mean_absolute_error"`.
        dtype: (Optional) data type of the metric result.
    """

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(losses.mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(_LossMean):
    """Computes the mean absolute percentage error between `y_true` and `y_pred`.

    Args:
        name: (Optional) string name of the metric instance. Defaults to
            `"mean_absolute_percentage_error"`.
        dtype: (Optional) data type of the metric result.
    """

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(losses.mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(_LossMean):
    """Computes the mean squared logarithmic error between `y_true` and `y_pred`.

    Args:
        name: (Optional) string name of the metric instance. Defaults to
            `"mean_squared_logarithmic_error"`.
        dtype: (Optional) data type of the metric result.
    """

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(losses.mean_squared_logarithmic_error, name=name, dtype=dtype)


class LogCoshError(_LossMean):
    """Computes the logarithm of the hyperbolic cosine of the prediction error.

    Args:
        name: (Optional) string name of the metric instance. Defaults to `"logcosh"`.
        dtype: (Optional) data type of the metric result.
    """

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(losses.log_cosh, name=name, dtype=dtype)


def _cosine_similarity(y_true, y_pred, axis=-1):
    # The metric reports the similarity itself; the loss of the same name negates it.
    return -losses.cosine_similarity(y_true, y_pred, axis=axis)


class CosineSimilarity(MeanMetricWrapper):
    """Computes the cosine similarity between the labels and predictions.

    Args:
        name: (Optional) string name of the metric instance. Defaults to
            `"cosine_similarity"`.
        dtype: (Optional) data type of the metric result.
        axis: (Optional) Defaults to `-1`. The dimension along which the cosine
            similarity is computed.
    """

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(_cosine_similarity, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


class RootMeanSquaredError(Mean):
    """Computes the root mean squared error between `y_true` and `y_pred`.

    Args:
        name: (Optional) string name of the metric instance. Defaults to
            `"root_mean_squared_error"`.
        dtype: (Optional) data type of the metric result.
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulates squared errors.

        Args:
            y_true: The ground truth values.
            y_pred: The predicted values.
            sample_weight: Optional weighting of each example. Defaults to `None`.
        """
        y_true = jnp.asarray(y_true, self.dtype)
        y_pred = jnp.asarray(y_pred, self.dtype)
        y_true, y_pred = losses.squeeze_or_expand_to_same_rank(y_true, y_pred)
        super().update_state(jnp.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self):
        return jnp.sqrt(super().result())
