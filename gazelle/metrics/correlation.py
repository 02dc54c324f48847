"""Correlation metrics (Pearson, concordance) and the R2 score.
[L1: jax, numpy, gazelle.config, gazelle.losses, gazelle.metrics.metric]

The two correlations are per-sample functions (correlation along `axis`) wrapped in a
running mean, as in Keras 3; `R2Score` accumulates per-output sums over all samples.
"""
import jax
import jax.numpy as jnp
import numpy as np

from gazelle import config
from gazelle.losses import squeeze_or_expand_to_same_rank
from gazelle.metrics.metric import Metric, MeanMetricWrapper


def _pair(y_true, y_pred):
    y_pred = jnp.asarray(y_pred)
    if not jnp.issubdtype(y_pred.dtype, jnp.floating):
        y_pred = y_pred.astype(config.floatx())
    y_true = jnp.asarray(y_true).astype(y_pred.dtype)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def pearson_correlation(y_true, y_pred, axis=-1):
    """Computes the Pearson coefficient between labels and predictions along `axis`.

    Args:
        y_true: Tensor of true targets.
        y_pred: Tensor of predicted targets.
        axis: Axis along which to determine similarity. Defaults to `-1`.

    ```python
    pearson_correlation(np.array([[0., 1.], [1., 3.]]), np.array([[1., 2.], [0., 4.]]))
    ```
    """
    y_true, y_pred = _pair(y_true, y_pred)
    t = y_true - jnp.mean(y_true, axis=axis, keepdims=True)
    p = y_pred - jnp.mean(y_pred, axis=axis, keepdims=True)
    t = t / jnp.std(t, axis=axis, keepdims=True)
    p = p / jnp.std(p, axis=axis, keepdims=True)
    return jnp.mean(t * p, axis=axis)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Computes the Concordance coefficient between labels and predictions along `axis`.

    Args:
        y_true: Tensor of true targets.
        y_pred: Tensor of predicted targets.
        axis: Axis along which to determine similarity. Defaults to `-1`.

    ```python
    concordance_correlation(np.array([[0., 1.], [1., 3.]]), np.array([[1., 2.], [0., 4.]]))
    ```
    """
    y_true, y_pred = _pair(y_true, y_pred)
    true_mean = jnp.mean(y_true, axis=axis, keepdims=True)
    pred_mean = jnp.mean(y_pred, axis=axis, keepdims=True)
    true_var = jnp.var(y_true - true_mean, axis=axis, keepdims=True)
    pred_var = jnp.var(y_pred - pred_mean, axis=axis, keepdims=True)
    # Keras 3 centres y_true on the *prediction* mean here; kept for identical results.
    covar = (y_true - pred_mean) * (y_pred - pred_mean)
    norm = true_var + pred_var + jnp.square(true_mean - pred_mean)
    return jnp.mean(2 * covar / (norm + config.epsilon()), axis=axis)


class PearsonCorrelation(MeanMetricWrapper):
    """Calculates the Pearson Correlation Coefficient (PCC), averaged over samples.

    Args:
        name: (Optional) string name of the metric instance. Defaults to
            `"pearson_correlation"`.
        dtype: (Optional) data type of the metric result.
        axis: (Optional) integer or tuple of integers of the axis/axes along
            which to compute the metric. Defaults to `-1`.

    ```python
    m = PearsonCorrelation()
    m.update_state([[0., 1., 2.]], [[0.5, 1., 2.5]])
    m.result()
    ```
    """

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


class ConcordanceCorrelation(MeanMetricWrapper):
    """Calculates the Concordance Correlation Coefficient (CCC), averaged over samples.

    Args:
        name: (Optional) string name of the metric instance. Defaults to
            `"concordance_correlation"`.
        dtype: (Optional) data type of the metric result.
        axis: (Optional) integer or tuple of integers of the axis/axes along
            which to compute the metric. Defaults to `-1`.

    ```python
    m = ConcordanceCorrelation()
    m.update_state([[0., 1., 2.]], [[0.5, 1., 2.5]])
    m.result()
    ```
    """

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


class R2Score(Metric):
    """Computes the R2 score (coefficient of determination).

    `1 - sum((y_true - y_pred)**2) / sum((y_true - mean(y_true))**2)` per output column,
    over all samples seen; then aggregated over columns.

    Args:
        class_aggregation: Specifies how to aggregate scores corresponding to
            different output classes (or target dimensions): `None` (one score
            per column), `"uniform_average"` (default: their mean) or
            `"variance_weighted_average"` (mean weighted by each column's variance).
        num_regressors: Number of independent regressors used
            ("Adjusted R2" score). 0 is the standard R2 score. Defaults to `0`.
        name: Optional. string name of the metric instance. Defaults to `"r2_score"`.
        dtype: Optional. data type of the metric result.

    ```python
    m = R2Score()
    m.update_state(np.array([[1.], [4.], [3.]]), np.array([[2.], [4.], [4.]]))
    m.result()   # 0.5714
    ```
    """

    def __init__(self, class_aggregation="uniform_average", num_regressors=0,
                 name="r2_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        valid = (None, "uniform_average", "variance_weighted_average")
        if class_aggregation not in valid:
            raise ValueError("Invalid value for argument `class_aggregation`. Expected one "
                             f"of {valid}. Received: class_aggregation={class_aggregation}")
        if num_regressors < 0:
            raise ValueError("Invalid value for argument `num_regressors`. Expected a value "
                             f">= 0. Received: num_regressors={num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable(shape=(), name="num_samples")
        self._built = False

    def _build(self, y_true_shape, y_pred_shape):
        """Creates the per-column state for inputs of these shapes."""
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(
                "R2Score expects 2D inputs with shape (batch_size, output_dim). Received "
                f"input shapes: y_pred.shape={tuple(y_pred_shape)} and "
                f"y_true.shape={tuple(y_true_shape)}.")
        n = y_pred_shape[-1]
        self.squared_sum = self.add_variable(shape=(n,), name="squared_sum")
        self.sum = self.add_variable(shape=(n,), name="sum")
        self.total_mse = self.add_variable(shape=(n,), name="residual")
        self.count = self.add_variable(shape=(n,), name="count")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulates root mean squared error statistics.

        Args:
            y_true: The ground truth values, shape `(batch_size, output_dim)`.
            y_pred: The predicted values, shape `(batch_size, output_dim)`.
            sample_weight: Optional weighting of each example. Defaults to `None`.
        """
        y_true = jnp.asarray(y_true).astype(self.dtype)
        y_pred = jnp.asarray(y_pred).astype(self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if not self._built:
            if isinstance(y_pred, jax.core.Tracer):
                raise ValueError(
                    f"R2Score '{self.name}': its state is shaped by the number of outputs, "
                    "which it learns from the first eager `update_state`; it was first "
                    "called inside compiled code. Call `_build(y_true_shape, y_pred_shape)` "
                    "(or one eager `update_state`) before compiling.")
            self._build(y_true.shape, y_pred.shape)
        w = jnp.asarray(1 if sample_weight is None else sample_weight).astype(self.dtype)
        if w.ndim == 1:
            w = jnp.expand_dims(w, 1)
        w = jnp.broadcast_to(w, y_true.shape)
        weighted = y_true * w
        self.sum.assign(self.sum + jnp.sum(weighted, axis=0))
        self.squared_sum.assign(self.squared_sum + jnp.sum(y_true * weighted, axis=0))
        self.total_mse.assign(self.total_mse + jnp.sum((y_true - y_pred) ** 2 * w, axis=0))
        self.count.assign(self.count + jnp.sum(w, axis=0))
        self.num_samples.assign(self.num_samples + y_true.size)

    def result(self):
        if not self._built:
            return jnp.zeros((), self.dtype)
        mean = self.sum.value / self.count.value
        total = self.squared_sum.value - self.sum.value * mean
        raw = 1 - self.total_mse.value / total
        raw = jnp.where(jnp.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = jnp.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = jnp.sum(total * raw) / jnp.sum(total)
        else:
            score = raw
        if self.num_regressors != 0:
            # Adjusted R2; with too few samples Keras falls back to the plain score (and
            # warns when eager; here the choice is a `where`, so it also works compiled).
            n = self.num_samples.value.astype("float32")
            p = float(self.num_regressors)
            adjusted = 1.0 - (1.0 - score) * (n - 1.0) / (n - p - 1.0)
            score = jnp.where(p < n - 1, adjusted, score)
        return score

    def reset_state(self):
        for v in self.variables:
            v.assign(np.zeros(v.shape, jnp.dtype(v.dtype)))

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
