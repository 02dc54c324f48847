"""Confusion-matrix metrics: TP/FP/TN/FN counts, Precision, Recall, AUC and the
"X at fixed Y" family.
[L1: jax, numpy, gazelle.config, gazelle.losses, gazelle.metrics.metric]

Every metric here keeps per-threshold counts in Variables (shape `(num_thresholds,)`, or
`(num_thresholds, num_labels)` for a multi-label AUC) and derives its result from them, so
the compiled trainer carries them as plain arrays. `_update_counts` is the one place that
turns a batch into count increments; it follows Keras 3's rules (a sample is predicted
positive when `y_pred > threshold`; labels are cast to bool; evenly spaced thresholds are
counted by bucketing the predictions instead of comparing against every threshold).
"""
import jax
import jax.numpy as jnp
import numpy as np

from gazelle import config
from gazelle.losses import squeeze_or_expand_to_same_rank
from gazelle.metrics.metric import Metric, divide_no_nan

NEG_INF = -1e10

_COUNT_NAMES = ("true_positives", "false_positives", "true_negatives", "false_negatives")


def _to_list(x):
    return list(x) if isinstance(x, (list, tuple, np.ndarray)) else [x]


def _parse_thresholds(thresholds, default, owner):
    if thresholds is None:
        return [default]
    thresholds = [float(t) if t is not None else None for t in _to_list(thresholds)]
    bad = [t for t in thresholds if t is None or t < 0 or t > 1]
    if bad:
        raise ValueError(f"{owner}: threshold values must be in [0, 1]; received {bad}.")
    return thresholds


def _evenly_spaced(thresholds):
    """True when `thresholds` is `[0, 1/(n-1), ..., 1]` (n >= 3) up to `epsilon`."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=config.epsilon()))


def _filter_top_k(x, k):
    """Keeps the `k` largest entries of the last axis and sets the others to NEG_INF."""
    _, idx = jax.lax.top_k(x, k)
    keep = jnp.sum(jax.nn.one_hot(idx, x.shape[-1], dtype=x.dtype), axis=-2)
    return x * keep + NEG_INF * (1 - keep)


def _update_counts(counts, y_true, y_pred, thresholds, top_k=None, class_id=None,
                   sample_weight=None, multi_label=False, label_weights=None,
                   evenly=False):
    """Adds this batch's weighted TP/FP/TN/FN per threshold to the Variables in `counts`.

    Args:
        counts: dict mapping some of `_COUNT_NAMES` to Variables of shape `(T,)` (or
            `(T, num_labels)` when `multi_label`).
        y_true, y_pred: labels (cast to bool) and scores of the same shape.
        thresholds: list of T floats.
        top_k, class_id: restrict positives to the top-k scores / to one class column.
        sample_weight: optional weights broadcastable to `y_true`.
        multi_label: keep the last axis as separate labels instead of flattening.
        label_weights: optional per-label weights (flattened case only).
        evenly: the thresholds are evenly spaced: count by bucketing.
    """
    dtype = next(iter(counts.values())).dtype
    y_true = jnp.asarray(y_true).astype(dtype)
    y_pred = jnp.asarray(y_pred).astype(dtype)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = jnp.expand_dims(jnp.asarray(sample_weight).astype(dtype), -1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight,
                                                          expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError("When `class_id` is given, `y_pred` must be 2D with shape "
                             f"(num_samples, num_classes); received shape {y_pred.shape}.")
        y_true = y_true[..., class_id, None]
        y_pred = y_pred[..., class_id, None]

    weights = None
    if sample_weight is not None:
        weights = jnp.broadcast_to(sample_weight, y_pred.shape)
    if label_weights is not None and not multi_label:
        lw = jnp.broadcast_to(jnp.asarray(label_weights, dtype)[None], y_pred.shape)
        weights = lw if weights is None else weights * lw
    is_pos = y_true.astype(bool)
    if not multi_label:
        is_pos, y_pred = is_pos.reshape(-1), y_pred.reshape(-1)
        weights = None if weights is None else weights.reshape(-1)
    with_epsilon = bool(thresholds[0] < 0 or thresholds[-1] > 1)
    thresholds = jnp.asarray(thresholds, dtype)
    if evenly:
        new = _counts_by_bucket(is_pos.astype(dtype), y_pred, weights, thresholds,
                                multi_label, thresholds_with_epsilon=with_epsilon)
    else:
        new = _counts_by_comparison(is_pos, y_pred, weights, thresholds, dtype)
    for key, variable in counts.items():
        variable.assign(variable + new[key])


def _counts_by_comparison(is_pos, y_pred, weights, thresholds, dtype):
    # (T, ...) masks: one slice per threshold, summed over the sample axis.
    shape = (-1,) + (1,) * y_pred.ndim
    pred_pos = y_pred[None] > thresholds.reshape(shape)
    w = jnp.ones(y_pred.shape, dtype) if weights is None else weights.astype(dtype)

    def total(mask):
        return jnp.sum(jnp.where(mask, w[None], 0).astype(dtype), axis=1)

    label_pos = is_pos[None]
    return {"true_positives": total(label_pos & pred_pos),
            "false_positives": total(~label_pos & pred_pos),
            "true_negatives": total(~label_pos & ~pred_pos),
            "false_negatives": total(label_pos & ~pred_pos)}


def _counts_by_bucket(labels, y_pred, weights, thresholds, multi_label,
                      thresholds_with_epsilon):
    # Each score falls in one bucket between two thresholds; a reversed cumulative sum of
    # the per-bucket label totals gives the count of scores above every threshold: O(T + N).
    n = thresholds.shape[0]
    w = 1.0 if weights is None else weights
    positives = labels * w
    negatives = (1.0 - labels) * w
    y_pred = jnp.clip(y_pred, 0.0, 1.0)
    buckets = jnp.ceil(y_pred * (n - 1)) - 1
    if thresholds_with_epsilon:
        buckets = jnp.maximum(buckets, 0)
    buckets = buckets.astype(jnp.int32)

    def above(values, ids):
        per_bucket = jax.ops.segment_sum(values, ids, num_segments=n)
        return jnp.flip(jnp.cumsum(jnp.flip(per_bucket)))

    positives = jnp.broadcast_to(positives, y_pred.shape)
    negatives = jnp.broadcast_to(negatives, y_pred.shape)
    if multi_label:
        tp = jax.vmap(above, in_axes=1, out_axes=1)(positives, buckets)
        fp = jax.vmap(above, in_axes=1, out_axes=1)(negatives, buckets)
        total_pos, total_neg = jnp.sum(positives, axis=0), jnp.sum(negatives, axis=0)
    else:
        tp, fp = above(positives, buckets), above(negatives, buckets)
        total_pos, total_neg = jnp.sum(positives), jnp.sum(negatives)
    return {"true_positives": tp, "false_positives": fp,
            "true_negatives": total_neg - fp, "false_negatives": total_pos - tp}


def _first_or_all(values, thresholds):
    return values[0] if len(thresholds) == 1 else values


class _ConfusionMatrixConditionCount(Metric):
    """Counts one cell of the confusion matrix at each threshold."""

    _condition = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _parse_thresholds(thresholds, 0.5, type(self).__name__)
        self._evenly = _evenly_spaced(self.thresholds)
        self.accumulator = self.add_variable(shape=(len(self.thresholds),),
                                             name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulates the count for this batch.

        Args:
            y_true: The ground truth values (cast to bool).
            y_pred: The predicted values, in `[0, 1]`.
            sample_weight: Optional weighting of each example. Defaults to `None`.
        """
        _update_counts({self._condition: self.accumulator}, y_true, y_pred,
                       self.thresholds, sample_weight=sample_weight, evenly=self._evenly)

    def result(self):
        return _first_or_all(self.accumulator.value, self.thresholds)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """Calculates the number of true positives.

    With `sample_weight`, the count is the sum of the weights of the true positives.

    Args:
        thresholds: (Optional) Defaults to `0.5`. A float value, or a Python
            list/tuple of float threshold values in `[0, 1]`. A prediction is
            positive when it is above the threshold. With several thresholds the
            result is one count per threshold.
        name: (Optional) string name of the metric instance.
        dtype: (Optional) data type of the metric result.

    ```python
    m = TruePositives()
    m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    m.result()   # 2.0
    ```
    """

    _condition = "true_positives"


class FalsePositives(_ConfusionMatrixConditionCount):
    """Calculates the number of false positives.

    Args:
        thresholds: (Optional) Defaults to `0.5`. A float value, or a Python
            list/tuple of float threshold values in `[0, 1]`.
        name: (Optional) string name of the metric instance.
        dtype: (Optional) data type of the metric result.

    ```python
    m = FalsePositives()
    m.update_state([0, 1, 0, 0], [0, 0, 1, 1])
    m.result()   # 2.0
    ```
    """

    _condition = "false_positives"


class TrueNegatives(_ConfusionMatrixConditionCount):
    """Calculates the number of true negatives.

    Args:
        thresholds: (Optional) Defaults to `0.5`. A float value, or a Python
            list/tuple of float threshold values in `[0, 1]`.
        name: (Optional) string name of the metric instance.
        dtype: (Optional) data type of the metric result.

    ```python
    m = TrueNegatives()
    m.update_state([0, 1, 0, 0], [1, 1, 0, 0])
    m.result()   # 2.0
    ```
    """

    _condition = "true_negatives"


class FalseNegatives(_ConfusionMatrixConditionCount):
    """Calculates the number of false negatives.

    Args:
        thresholds: (Optional) Defaults to `0.5`. A float value, or a Python
            list/tuple of float threshold values in `[0, 1]`.
        name: (Optional) string name of the metric instance.
        dtype: (Optional) data type of the metric result.

    ```python
    m = FalseNegatives()
    m.update_state([0, 1, 1, 1], [0, 1, 0, 0])
    m.result()   # 2.0
    ```
    """

    _condition = "false_negatives"


class _PrecisionRecallBase(Metric):
    """Shared state of Precision and Recall: TP plus one other count per threshold."""

    _other = None

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default = 0.5 if top_k is None else NEG_INF
        self.thresholds = _parse_thresholds(thresholds, default, type(self).__name__)
        self._evenly = _evenly_spaced(self.thresholds)
        n = len(self.thresholds)
        self.true_positives = self.add_variable(shape=(n,), name="true_positives")
        setattr(self, self._other, self.add_variable(shape=(n,), name=self._other))

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulates true positives and the other count for this batch.

        Args:
            y_true: The ground truth values (cast to bool).
            y_pred: The predicted values, in `[0, 1]`.
            sample_weight: Optional weighting of each example. Defaults to `None`.
        """
        _update_counts(
            {"true_positives": self.true_positives, self._other: getattr(self, self._other)},
            y_true, y_pred, self.thresholds, top_k=self.top_k, class_id=self.class_id,
            sample_weight=sample_weight, evenly=self._evenly)

    def result(self):
        tp = self.true_positives.value
        ratio = divide_no_nan(tp, tp + getattr(self, self._other).value)
        return _first_or_all(ratio, self.thresholds)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_PrecisionRecallBase):
    """Computes the precision of the predictions with respect to the labels.

    Precision is `true_positives / (true_positives + false_positives)`.

    Args:
        thresholds: (Optional) A float value, or a Python list/tuple of float
            threshold values in `[0, 1]`. A prediction is positive when it is above
            the threshold. Defaults to `0.5` when `top_k` is not set, else to no
            threshold (every top-k entry is positive).
        top_k: (Optional) Unset by default. An int: count a class as predicted only
            when it is among the `top_k` highest predictions.
        class_id: (Optional) Integer class ID for which we want binary metrics.
            Must be in `[0, num_classes)`.
        name: (Optional) string name of the metric instance.
        dtype: (Optional) data type of the metric result.

    ```python
    m = Precision()
    m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    m.result()   # 0.6667
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=[Precision()])
    ```
    """

    _other = "false_positives"


class Recall(_PrecisionRecallBase):
    """Computes the recall of the predictions with respect to the labels.

    Recall is `true_positives / (true_positives + false_negatives)`.

    Args:
        thresholds: (Optional) A float value, or a Python list/tuple of float
            threshold values in `[0, 1]`. Defaults to `0.5` when `top_k` is not set.
        top_k: (Optional) Unset by default. An int: count a class as predicted only
            when it is among the `top_k` highest predictions.
        class_id: (Optional) Integer class ID for which we want binary metrics.
        name: (Optional) string name of the metric instance.
        dtype: (Optional) data type of the metric result.

    ```python
    m = Recall()
    m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    m.result()   # 0.6667
    ```
    """

    _other = "false_negatives"


class SensitivitySpecificityBase(Metric):
    """Abstract base for the metrics that read one rate where another one holds.

    Keeps all four counts at `num_thresholds` evenly spaced thresholds in `[0, 1]`.

    Args:
        value: the target of the constrained rate, in `[0, 1]`.
        num_thresholds: (Optional) Defaults to `200`. The number of thresholds to use.
        class_id: (Optional) Integer class ID for which we want binary metrics.
        name: (Optional) string name of the metric instance.
        dtype: (Optional) data type of the metric result.
    """

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        if num_thresholds <= 0:
            raise ValueError("Argument `num_thresholds` must be an integer > 0. "
                             f"Received: num_thresholds={num_thresholds}")
        self.value = value
        self.class_id = class_id
        if num_thresholds == 1:
            self.thresholds, self._evenly = [0.5], False
        else:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds, self._evenly = [0.0] + inner + [1.0], True
        n = len(self.thresholds)
        for count in _COUNT_NAMES:
            setattr(self, count, self.add_variable(shape=(n,), name=count))

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulates the four confusion counts at every threshold.

        Args:
            y_true: The ground truth values (cast to bool).
            y_pred: The predicted values, in `[0, 1]`.
            sample_weight: Optional weighting of each example. Defaults to `None`.
        """
        _update_counts({c: getattr(self, c) for c in _COUNT_NAMES}, y_true, y_pred,
                       self.thresholds, class_id=self.class_id,
                       sample_weight=sample_weight, evenly=self._evenly)

    def _rates(self):
        tp, fp, tn, fn = (getattr(self, c).value for c in _COUNT_NAMES)
        return {"sensitivity": divide_no_nan(tp, tp + fn),
                "specificity": divide_no_nan(tn, tn + fp),
                "precision": divide_no_nan(tp, tp + fp)}

    def _max_where_at_least(self, constrained, dependent):
        # The best `dependent` over the thresholds whose `constrained` rate reaches `value`.
        return jnp.max(jnp.where(constrained >= self.value, dependent, 0), initial=0)

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id}


def _check_rate(name, value):
    if value < 0 or value > 1:
        raise ValueError(f"Argument `{name}` must be in the range [0, 1]. "
                         f"Received: {name}={value}")


class SensitivityAtSpecificity(SensitivitySpecificityBase):
    """Computes the best sensitivity where specificity is >= `specificity`.

    Args:
        specificity: A scalar value in range `[0, 1]`.
        num_thresholds: (Optional) Defaults to `200`. The number of thresholds to
            use for matching the given specificity.
        class_id: (Optional) Integer class ID for which we want binary metrics.
        name: (Optional) string name of the metric instance.
        dtype: (Optional) data type of the metric result.

    ```python
    m = SensitivityAtSpecificity(0.5)
    m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
    m.result()   # 0.5
    ```
    """

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None,
                 dtype=None):
        _check_rate("specificity", specificity)
        self.specificity = specificity
        self.num_thresholds = num_thresholds
        super().__init__(specificity, num_thresholds=num_thresholds, class_id=class_id,
                         name=name, dtype=dtype)

    def result(self):
        r = self._rates()
        return self._max_where_at_least(r["specificity"], r["sensitivity"])

    def get_config(self):
        return {**super().get_config(), "num_thresholds": self.num_thresholds,
                "specificity": self.specificity}


class SpecificityAtSensitivity(SensitivitySpecificityBase):
    """Computes the best specificity where sensitivity is >= `sensitivity`.

    Args:
        sensitivity: A scalar value in range `[0, 1]`.
        num_thresholds: (Optional) Defaults to `200`. The number of thresholds to
            use for matching the given sensitivity.
        class_id: (Optional) Integer class ID for which we want binary metrics.
        name: (Optional) string name of the metric instance.
        dtype: (Optional) data type of the metric result.

    ```python
    m = SpecificityAtSensitivity(0.5)
    m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
    m.result()   # 0.6667
    ```
    """

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None,
                 dtype=None):
        _check_rate("sensitivity", sensitivity)
        self.sensitivity = sensitivity
        self.num_thresholds = num_thresholds
        super().__init__(sensitivity, num_thresholds=num_thresholds, class_id=class_id,
                         name=name, dtype=dtype)

    def result(self):
        r = self._rates()
        return self._max_where_at_least(r["sensitivity"], r["specificity"])

    def get_config(self):
        return {**super().get_config(), "num_thresholds": self.num_thresholds,
                "sensitivity": self.sensitivity}


class PrecisionAtRecall(SensitivitySpecificityBase):
    """Computes the best precision where recall is >= `recall`.

    Args:
        recall: A scalar value in range `[0, 1]`.
        num_thresholds: (Optional) Defaults to `200`. The number of thresholds to
            use for matching the given recall.
        class_id: (Optional) Integer class ID for which we want binary metrics.
        name: (Optional) string name of the metric instance.
        dtype: (Optional) data type of the metric result.

    ```python
    m = PrecisionAtRecall(0.5)
    m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
    m.result()   # 0.5
    ```
    """

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        _check_rate("recall", recall)
        self.recall = recall
        self.num_thresholds = num_thresholds
        super().__init__(value=recall, num_thresholds=num_thresholds, class_id=class_id,
                         name=name, dtype=dtype)

    def result(self):
        r = self._rates()
        return self._max_where_at_least(r["sensitivity"], r["precision"])

    def get_config(self):
        return {**super().get_config(), "num_thresholds": self.num_thresholds,
                "recall": self.recall}


class RecallAtPrecision(SensitivitySpecificityBase):
    """Computes the best recall where precision is >= `precision`.

    Args:
        precision: A scalar value in range `[0, 1]`.
        num_thresholds: (Optional) Defaults to `200`. The number of thresholds to
            use for matching the given precision.
        class_id: (Optional) Integer class ID for which we want binary metrics.
        name: (Optional) string name of the metric instance.
        dtype: (Optional) data type of the metric result.

    ```python
    m = RecallAtPrecision(0.8)
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    m.result()   # 0.5
    ```
    """

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None,
                 dtype=None):
        _check_rate("precision", precision)
        self.precision = precision
        self.num_thresholds = num_thresholds
        super().__init__(value=precision, num_thresholds=num_thresholds, class_id=class_id,
                         name=name, dtype=dtype)

    def result(self):
        r = self._rates()
        return self._max_where_at_least(r["precision"], r["sensitivity"])

    def get_config(self):
        return {**super().get_config(), "num_thresholds": self.num_thresholds,
                "precision": self.precision}


_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "majoring", "minoring")


def _parse_curve(curve):
    key = getattr(curve, "value", curve)
    if not isinstance(key, str) or key.lower() not in _CURVES or \
            key not in (key.lower(), key.upper()):
        raise ValueError(f'Invalid AUC curve value: "{curve}". '
                         'Expected values are ["PR", "ROC", "PRGAIN"]')
    return _CURVES[key.lower()]


def _parse_summation(method):
    key = getattr(method, "value", method)
    if not isinstance(key, str) or key.lower() not in _SUMMATIONS or \
            key not in (key.lower(), key.capitalize()):
        raise ValueError(f'Invalid AUC summation method value: "{method}". '
                         'Expected values are ["interpolation", "majoring", "minoring"]')
    return key.lower()


class AUC(Metric):
    """Approximates the AUC (Area under the curve) of the ROC or PR curves.

    The curve is discretized at `num_thresholds` thresholds; TP/FP/TN/FN at each are
    accumulated in Variables, and `result()` sums the area under the curve they trace.

    Args:
        num_thresholds: (Optional) The number of thresholds to use when
            discretizing the roc curve. Values must be > 1. Defaults to `200`.
        curve: (Optional) Specifies the name of the curve to be computed, `"ROC"`
            (default) or `"PR"` for the Precision-Recall-curve (or `"PRGAIN"`).
        summation_method: (Optional) Specifies the Riemann summation method
            used: `"interpolation"` (default), `"minoring"` or `"majoring"`.
        name: (Optional) string name of the metric instance.
        dtype: (Optional) data type of the metric result.
        thresholds: (Optional) A list of floating point values to use as the
            thresholds for discretizing the curve. If set, `num_thresholds` is
            ignored. Values should be in `[0, 1]`; endpoint thresholds below 0 and
            above 1 are added automatically.
        multi_label: boolean indicating whether multilabel data should be treated
            as such (one curve per label, then averaged), or flattened into a
            single label. Defaults to `False`.
        num_labels: (Optional) The number of labels, used when `multi_label` is
            True. Needed to use a multi-label AUC inside `model.compile()`, where
            the state must exist before the first batch.
        label_weights: (Optional) list, array, or tensor of non-negative weights
            used to compute AUCs for multilabel data.
        from_logits: boolean indicating whether the predictions (`y_pred`) are
            logits (a sigmoid is applied first). Defaults to `False`.

    ```python
    m = AUC(num_thresholds=3)
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    m.result()   # 0.75
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=[AUC()])
    ```
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            thresholds = sorted(_parse_thresholds(thresholds, 0.5, "AUC"))
            self.num_thresholds = len(thresholds) + 2
            self._evenly = _evenly_spaced(np.array([0.0] + thresholds + [1.0]))
        else:
            if num_thresholds <= 1:
                raise ValueError("Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = num_thresholds
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1)
                          for i in range(num_thresholds - 2)]
            self._evenly = True
        eps = config.epsilon()
        self._thresholds = np.array([0.0 - eps] + thresholds + [1.0 + eps])
        self.curve = _parse_curve(curve)
        self.summation_method = _parse_summation(summation_method)
        super().__init__(name=name, dtype=dtype)
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else \
            jnp.asarray(label_weights, self.dtype)
        self._from_logits = from_logits
        self._built = False
        if multi_label:
            if num_labels:
                self._build((None, num_labels))
        else:
            if num_labels:
                raise ValueError("`num_labels` is needed only when `multi_label` is True.")
            self._build(None)

    @property
    def thresholds(self):
        """The thresholds used for evaluating AUC, endpoints included."""
        return list(self._thresholds)

    def _build(self, shape):
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError("AUC: `y_pred` must have rank 2 when `multi_label=True`; "
                                 f"received shape {tuple(shape)}.")
            self._num_labels = shape[1]
            variable_shape = (self.num_thresholds, self._num_labels)
        else:
            variable_shape = (self.num_thresholds,)
        for count in _COUNT_NAMES:
            setattr(self, count, self.add_variable(shape=variable_shape, name=count))
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulates confusion matrix statistics at every threshold.

        Args:
            y_true: The ground truth values (cast to bool).
            y_pred: The predicted values, in `[0, 1]` (or logits with
                `from_logits=True`).
            sample_weight: Optional weighting of each example. Defaults to `None`.
        """
        y_pred = jnp.asarray(y_pred)
        if not self._built:
            if isinstance(y_pred, jax.core.Tracer):
                raise ValueError(
                    f"AUC '{self.name}': with `multi_label=True` the number of labels must "
                    "be known before compiled code runs; pass `num_labels=` (the last "
                    "dimension of `y_pred`), e.g. AUC(multi_label=True, num_labels="
                    f"{y_pred.shape[-1] if y_pred.ndim else '...'}).")
            self._build(y_pred.shape)
        if self._from_logits:
            y_pred = jax.nn.sigmoid(y_pred)
        _update_counts({c: getattr(self, c) for c in _COUNT_NAMES}, y_true, y_pred,
                       self.thresholds, sample_weight=sample_weight,
                       multi_label=self.multi_label,
                       label_weights=None if self.multi_label else self.label_weights,
                       evenly=self._evenly)

    def _average_labels(self, per_threshold):
        if not self.multi_label:
            return jnp.sum(per_threshold)
        by_label = jnp.sum(per_threshold, axis=0)
        if self.label_weights is None:
            return jnp.mean(by_label)
        return divide_no_nan(jnp.sum(by_label * self.label_weights),
                             jnp.sum(self.label_weights))

    def _interpolated_pr_auc(self, tp, fp, fn):
        # Davis & Goadrich (2006): interpolate TP and predicted positives linearly between
        # thresholds; precision along each segment then integrates in closed form.
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, jnp.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = jnp.where((p[:-1] > 0) & (p[1:] > 0),
                          divide_no_nan(p[:-1], jnp.maximum(p[1:], 0)), jnp.ones_like(p[1:]))
        increments = divide_no_nan(slope * (dtp + intercept * jnp.log(ratio)),
                                   jnp.maximum(tp[1:] + fn[1:], 0))
        return self._average_labels(increments)

    def result(self):
        if not self._built:
            return jnp.zeros((), self.dtype)
        tp, fp, tn, fn = (getattr(self, c).value for c in _COUNT_NAMES)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolated_pr_auc(tp, fp, fn)
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, divide_no_nan(tp, tp + fp)
        else:
            scale = divide_no_nan(tp + fn, tn + fp)
            recall_gain = 1.0 - scale * divide_no_nan(fn, tp)
            precision_gain = 1.0 - scale * divide_no_nan(fp, tp)
            x = jnp.maximum(jnp.where(tp == 0, 0.0, recall_gain), 0.0)
            y = jnp.where(tp == 0, 1.0, precision_gain)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = jnp.minimum(y[:-1], y[1:])
        else:
            heights = jnp.maximum(y[:-1], y[1:])
        return self._average_labels((x[:-1] - x[1:]) * heights)

    def reset_state(self):
        if self._built:
            super().reset_state()

    def get_config(self):
        label_weights = self.label_weights
        config_ = {**super().get_config(), "num_thresholds": self.num_thresholds,
                   "curve": self.curve, "summation_method": self.summation_method,
                   "multi_label": self.multi_label, "num_labels": self.num_labels,
                   "label_weights": None if label_weights is None else
                   [float(w) for w in np.asarray(label_weights)],
                   "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config_["thresholds"] = [float(t) for t in self.thresholds[1:-1]]
        return config_
