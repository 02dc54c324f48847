"""Intersection-over-Union metrics over an accumulated confusion matrix.
[L1: jax, gazelle.config, gazelle.metrics.metric]

All five classes keep one `(num_classes, num_classes)` integer Variable (rows: true class,
columns: predicted class) and differ only in how labels and predictions become class ids
and in which classes the result averages over.
"""
import warnings

import jax.numpy as jnp

from gazelle import config
from gazelle.metrics.metric import Metric


class _IoUBase(Metric):
    """Accumulates the confusion matrix that IoU results are computed from."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(name=name, dtype=dtype or "int32")
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable(shape=(num_classes, num_classes),
                                          name="total_confusion_matrix")

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulates the confusion matrix statistics.

        Args:
            y_true: The ground truth values (class ids, or one-hot when
                `sparse_y_true=False`).
            y_pred: The predicted values (class ids, or scores when
                `sparse_y_pred=False`).
            sample_weight: Optional weighting of each example. Defaults to `None`.
        """
        if not self.sparse_y_true:
            y_true = jnp.argmax(jnp.asarray(y_true), axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = jnp.argmax(jnp.asarray(y_pred), axis=self.axis)
        y_true = jnp.asarray(y_true).astype(self.dtype).reshape(-1)
        y_pred = jnp.asarray(y_pred).astype(self.dtype).reshape(-1)
        if sample_weight is None:
            sample_weight = 1
        elif jnp.issubdtype(jnp.asarray(sample_weight).dtype, jnp.floating) and \
                jnp.issubdtype(jnp.dtype(self.dtype), jnp.integer):
            warnings.warn(f"{type(self).__name__}: `sample_weight` is float but the metric's "
                          f"dtype is {self.dtype}; weights are truncated to integers. Pass "
                          "integer weights or a float `dtype`.", stacklevel=2)
        sample_weight = jnp.asarray(sample_weight).astype(self.dtype)
        if sample_weight.ndim > 1:
            sample_weight = sample_weight.reshape(-1)
        sample_weight = jnp.broadcast_to(sample_weight, y_true.shape)
        n = self.num_classes
        valid = (y_true >= 0) & (y_true < n) & (y_pred >= 0) & (y_pred < n)
        if self.ignore_class is not None:
            valid = valid & (y_true != self.ignore_class)
        y_true = jnp.where(valid, y_true, 0)
        y_pred = jnp.where(valid, y_pred, 0)
        sample_weight = jnp.where(valid, sample_weight, 0).astype(self.dtype)
        batch_cm = jnp.zeros((n, n), self.dtype).at[
            y_true.astype(jnp.int32), y_pred.astype(jnp.int32)].add(sample_weight)
        self.total_cm.assign(self.total_cm + batch_cm)


class IoU(_IoUBase):
    """Computes the Intersection-Over-Union metric for specific target classes.

    For each class, `iou = true_positives / (true_positives + false_positives +
    false_negatives)`; the result is the mean over `target_class_ids` of the classes
    that occurred (in labels or predictions).

    Args:
        num_classes: The possible number of labels the prediction task can have.
        target_class_ids: A tuple or list of target class ids for which the
            metric is returned. To compute IoU for a specific class, a list
            (or tuple) of a single id value should be provided.
        name: (Optional) string name of the metric instance.
        dtype: (Optional) data type of the metric result. Defaults to `"int32"`
            (the counts are integers).
        ignore_class: Optional integer. The ID of a class to be ignored during
            metric computation. Defaults to `None`.
        sparse_y_true: Whether labels are encoded using integers or dense
            floating point vectors. If `False`, the `argmax` over `axis` is used.
        sparse_y_pred: Whether predictions are encoded using integers or dense
            floating point vectors. If `False`, the `argmax` over `axis` is used.
        axis: (Optional) The dimension containing the logits. Defaults to `-1`.

    ```python
    m = IoU(num_classes=2, target_class_ids=[0])
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    m.result()   # 0.3333
    ```
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None,
                 ignore_class=None, sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(name=name, num_classes=num_classes, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred,
                         axis=axis, dtype=dtype)
        if max(target_class_ids) >= num_classes:
            raise ValueError(f"Target class id {max(target_class_ids)} is out of range, "
                             f"which is [0, {num_classes}).")
        self.target_class_ids = list(target_class_ids)

    def result(self):
        cm = self.total_cm.value
        predicted = jnp.sum(cm, axis=0).astype("float32")
        actual = jnp.sum(cm, axis=1).astype("float32")
        tp = jnp.diagonal(cm).astype("float32")
        ids = jnp.asarray(self.target_class_ids, jnp.int32)
        union = (predicted + actual - tp)[ids]
        tp = tp[ids]
        valid = union > 1e-9
        iou = jnp.where(valid, tp / (union + config.epsilon()), 0.0)
        return jnp.sum(iou, axis=self.axis) / (jnp.sum(valid.astype("float32")) +
                                               config.epsilon())

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class BinaryIoU(IoU):
    """Computes the Intersection-Over-Union metric for binary labels and scores.

    Predictions `>= threshold` are class 1, the others class 0.

    Args:
        target_class_ids: A tuple or list of target class ids for which the
            metric is returned. Options are `[0]`, `[1]`, or `[0, 1]` (the default,
            the mean IoU of both classes).
        threshold: A threshold that applies to the prediction logits to convert
            them to either predicted class 0 if the logit is below `threshold`
            or predicted class 1 if the logit is above `threshold`. Defaults to `0.5`.
        name: (Optional) string name of the metric instance.
        dtype: (Optional) data type of the metric result.

    ```python
    m = BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
    m.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7])
    m.result()   # 0.3333
    ```
    """

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name,
                         dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Thresholds `y_pred`, then accumulates the confusion matrix.

        Args:
            y_true: The ground truth values (0 or 1).
            y_pred: The predicted scores.
            sample_weight: Optional weighting of each example. Defaults to `None`.
        """
        y_true = jnp.asarray(y_true).astype(self.dtype)
        y_pred = (jnp.asarray(y_pred).astype("float32") >= self.threshold).astype(self.dtype)
        super().update_state(y_true, y_pred, sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold,
                "name": self.name, "dtype": self.dtype}


class MeanIoU(IoU):
    """Computes the mean Intersection-Over-Union metric over all classes.

    Args:
        num_classes: The possible number of labels the prediction task can have.
        name: (Optional) string name of the metric instance.
        dtype: (Optional) data type of the metric result.
        ignore_class: Optional integer. The ID of a class to be ignored during
            metric computation. Defaults to `None`.
        sparse_y_true: Whether labels are encoded using integers or dense
            floating point vectors. Defaults to `True`.
        sparse_y_pred: Whether predictions are encoded using integers or dense
            floating point vectors. Defaults to `True`.
        axis: (Optional) The dimension containing the logits. Defaults to `-1`.

    ```python
    m = MeanIoU(num_classes=2)
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    m.result()   # 0.3333
    ```
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(name=name, num_classes=num_classes,
                         target_class_ids=list(range(num_classes)), axis=axis, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotIoU(IoU):
    """Computes the Intersection-Over-Union metric for one-hot encoded labels.

    Args:
        num_classes: The possible number of labels the prediction task can have.
        target_class_ids: A tuple or list of target class ids for which the
            metric is returned.
        name: (Optional) string name of the metric instance.
        dtype: (Optional) data type of the metric result.
        ignore_class: Optional integer. The ID of a class to be ignored during
            metric computation. Defaults to `None`.
        sparse_y_pred: Whether predictions are encoded using integers or dense
            floating point vectors. Defaults to `False` (argmax of the scores).
        axis: (Optional) The dimension containing the logits. Defaults to `-1`.

    ```python
    m = OneHotIoU(num_classes=3, target_class_ids=[0, 2])
    m.update_state(np.eye(3)[[0, 1, 2]], np.eye(3)[[0, 2, 2]])
    m.result()
    ```
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None,
                 ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes=num_classes, target_class_ids=target_class_ids,
                         name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "name": self.name, "dtype": self.dtype, "ignore_class": self.ignore_class,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotMeanIoU(MeanIoU):
    """Computes the mean Intersection-Over-Union metric for one-hot encoded labels.

    Args:
        num_classes: The possible number of labels the prediction task can have.
        name: (Optional) string name of the metric instance.
        dtype: (Optional) data type of the metric result.
        ignore_class: Optional integer. The ID of a class to be ignored during
            metric computation. Defaults to `None`.
        sparse_y_pred: Whether predictions are encoded using integers or dense
            floating point vectors. Defaults to `False` (argmax of the scores).
        axis: (Optional) The dimension containing the logits. Defaults to `-1`.

    ```python
    m = OneHotMeanIoU(num_classes=3)
    m.update_state(np.eye(3)[[0, 1, 2]], np.eye(3)[[0, 2, 2]])
    m.result()
    ```
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes=num_classes, axis=axis, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}
