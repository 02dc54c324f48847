"""F-scores: FBetaScore and F1Score over per-class true/false positive counts.
[L1: jax, gazelle.config, gazelle.metrics.metric]

The state (one count per class, or scalars with `average="micro"`) is created on the first
`update_state`, when the number of classes is known; under compiled code that first call
comes too late, so `_build(y_true_shape, y_pred_shape)` can create it ahead of time.
"""
import jax
import jax.numpy as jnp

from gazelle import config
from gazelle.metrics.metric import Metric

_STATE = ("true_positives", "false_positives", "false_negatives", "intermediate_weights")


class FBetaScore(Metric):
    """Computes the F-Beta score.

    `F_beta = (1 + beta**2) * precision * recall / (beta**2 * precision + recall)`,
    from per-class counts accumulated over all batches.

    Args:
        average: Type of averaging to be performed across per-class results
            in the multi-class case. One of `None` (default: one score per class),
            `"micro"` (count over all classes at once), `"macro"` (unweighted mean of
            the class scores) or `"weighted"` (mean weighted by each class's support).
        beta: Determines the weight given to recall in the harmonic mean between
            precision and recall. Must be a positive Python float. Defaults to `1.0`.
        threshold: Elements of `y_pred` greater than `threshold` are converted to
            1, and the rest to 0. If `None` (default), the argmax of each row is 1.
        name: Optional. String name of the metric instance. Defaults to
            `"fbeta_score"`.
        dtype: Optional. Data type of the metric result.

    ```python
    m = FBetaScore(beta=2.0, average="macro", threshold=0.5)
    m.update_state(np.array([[1, 0], [0, 1]]), np.array([[0.8, 0.3], [0.6, 0.7]]))
    m.result()
    ```
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score",
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError("Invalid `average` argument value. Expected one of: "
                             "{None, 'micro', 'macro', 'weighted'}. "
                             f"Received: average={average}")
        if not isinstance(beta, float):
            raise ValueError("Invalid `beta` argument value. It should be a Python float. "
                             f"Received: beta={beta} of type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. "
                             f"Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError("Invalid `threshold` argument value. It should be a Python "
                                 f"float. Received: threshold={threshold} of type "
                                 f"'{type(threshold)}'")
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError("Invalid `threshold` argument value. It should verify "
                                 f"0 < threshold <= 1. Received: threshold={threshold}")
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, y_true_shape, y_pred_shape):
        """Creates the state for inputs of these shapes (both `(batch, num_classes)`)."""
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(
                f"{type(self).__name__} expects 2D inputs with shape (batch_size, "
                f"output_dim). Received input shapes: y_pred.shape={tuple(y_pred_shape)} "
                f"and y_true.shape={tuple(y_true_shape)}.")
        shape = () if self.average == "micro" else (y_pred_shape[-1],)
        for name in _STATE:
            setattr(self, name, self.add_variable(shape=shape, name=name))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulates per-class true positives, false positives and false negatives.

        Args:
            y_true: One-hot (or multi-hot) labels, shape `(batch_size, num_classes)`.
            y_pred: Scores, shape `(batch_size, num_classes)`.
            sample_weight: Optional per-sample weights, shape `(batch_size,)`.
        """
        y_true = jnp.asarray(y_true).astype(self.dtype)
        y_pred = jnp.asarray(y_pred).astype(self.dtype)
        if not self._built:
            if isinstance(y_pred, jax.core.Tracer):
                raise ValueError(
                    f"{type(self).__name__} '{self.name}': its state is shaped by the number "
                    "of classes, which it learns from the first eager `update_state`; it "
                    "was first called inside compiled code. Call `_build(y_true_shape, "
                    "y_pred_shape)` (or one eager `update_state`) before compiling.")
            self._build(y_true.shape, y_pred.shape)
        if self.threshold is None:
            top = jnp.max(y_pred, axis=-1, keepdims=True)
            y_pred = (y_pred >= top) & (jnp.abs(y_pred) > 1e-9)
        else:
            y_pred = y_pred > self.threshold
        y_pred = y_pred.astype(self.dtype)
        weight = None if sample_weight is None else \
            jnp.asarray(sample_weight).astype(self.dtype)

        def weighted_sum(values):
            if weight is not None:
                values = values * jnp.expand_dims(weight, 1)
            return jnp.sum(values, axis=self.axis)

        self.true_positives.assign(self.true_positives + weighted_sum(y_pred * y_true))
        self.false_positives.assign(self.false_positives +
                                    weighted_sum(y_pred * (1 - y_true)))
        self.false_negatives.assign(self.false_negatives +
                                    weighted_sum((1 - y_pred) * y_true))
        self.intermediate_weights.assign(self.intermediate_weights + weighted_sum(y_true))

    def result(self):
        if not self._built:
            return jnp.zeros((), self.dtype)
        eps = config.epsilon()
        tp = self.true_positives.value
        precision = tp / (tp + self.false_positives.value + eps)
        recall = tp / (tp + self.false_negatives.value + eps)
        b2 = self.beta ** 2
        score = precision * recall / (b2 * precision + recall + eps) * (1 + b2)
        if self.average == "weighted":
            support = self.intermediate_weights.value
            return jnp.sum(score * support / (jnp.sum(support) + eps))
        if self.average is not None:
            return jnp.mean(score)
        return score

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """Computes the F-1 score: the harmonic mean of precision and recall.

    Args:
        average: Type of averaging to be performed on data: `None` (default),
            `"micro"`, `"macro"` or `"weighted"` (see `FBetaScore`).
        threshold: Elements of `y_pred` greater than `threshold` are converted to
            1, and the rest to 0. If `None` (default), the argmax of each row is 1.
        name: Optional. String name of the metric instance. Defaults to `"f1_score"`.
        dtype: Optional. Data type of the metric result.

    ```python
    m = F1Score(average="micro", threshold=0.5)
    m.update_state(np.array([[1, 0], [0, 1]]), np.array([[0.8, 0.3], [0.6, 0.7]]))
    m.result()
    ```
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name,
                         dtype=dtype)

    def get_config(self):
        config_ = super().get_config()
        del config_["beta"]
        return config_
