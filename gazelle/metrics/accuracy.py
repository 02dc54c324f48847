"""Accuracy metrics: per-sample functions and the Mean-based classes that wrap them.
[L1: jax, gazelle.config, gazelle.losses, gazelle.metrics.metric]

Each function returns 1.0 where a sample is right and 0.0 where it is wrong, with
Keras 3's shape rules; each class is a `MeanMetricWrapper` over its function.
"""
import jax.numpy as jnp

from gazelle import config
from gazelle.losses import squeeze_or_expand_to_same_rank
from gazelle.metrics.metric import MeanMetricWrapper


def _as_float(x):
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(config.floatx())


def _matches(a, b):
    return (a == b).astype(config.floatx())


def accuracy(y_true, y_pred):
    """Returns 1.0 where `y_pred` equals `y_true` exactly, else 0.0.

    Args:
        y_true: Ground truth values.
        y_pred: The predicted values.
    """
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.asarray(y_true).astype(y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return _matches(y_true, y_pred)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Returns 1.0 where `y_pred > threshold` matches the binary label, else 0.0.

    Args:
        y_true: Ground truth values (0 or 1).
        y_pred: The predicted values (probabilities).
        threshold: Float representing the threshold for deciding whether
            prediction values are 1 or 0. Defaults to `0.5`.
    """
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.asarray(y_true)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    y_pred = (y_pred > threshold).astype(y_true.dtype)
    return _matches(y_true, y_pred)


def categorical_accuracy(y_true, y_pred):
    """Returns 1.0 where the argmax of `y_pred` is the one-hot label's class, else 0.0.

    Args:
        y_true: One-hot ground truth values.
        y_pred: The predicted values (probabilities or logits).
    """
    y_pred = _as_float(y_pred)
    y_true = jnp.argmax(jnp.asarray(y_true), axis=-1).astype(y_pred.dtype)
    true_shape = y_true.shape
    same_rank = y_true.ndim == y_pred.ndim
    if same_rank:
        y_true = jnp.squeeze(y_true, -1)
    matches = _matches(y_true, jnp.argmax(y_pred, axis=-1).astype(y_true.dtype))
    return matches.reshape(true_shape) if same_rank else matches


def sparse_categorical_accuracy(y_true, y_pred):
    """Returns 1.0 where the argmax of `y_pred` equals the integer label, else 0.0.

    Args:
        y_true: Integer class ids, of shape `[batch_size]` or `[batch_size, 1]`.
        y_pred: The predicted values, of shape `[batch_size, num_classes]`.
    """
    y_pred = _as_float(y_pred)
    y_true = jnp.asarray(y_true).astype(y_pred.dtype)
    true_shape = y_true.shape
    squeezed = y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1
    if squeezed:
        y_true = jnp.squeeze(y_true, -1)
    matches = _matches(y_true, jnp.argmax(y_pred, axis=-1).astype(y_true.dtype))
    if squeezed:
        matches = matches.reshape(true_shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = jnp.squeeze(matches, -1)
    return matches


def _in_top_k(targets, predictions, k):
    # A target's rank is 1 + the number of strictly larger scores; NaN scores never count.
    at_label = jnp.take_along_axis(predictions, targets[..., None], axis=-1)
    at_label = jnp.where(jnp.isnan(at_label), -jnp.inf, at_label)
    rank = 1 + jnp.sum(predictions > at_label, axis=-1)
    return rank <= k


def _top_k_matches(labels, y_pred, k):
    true_shape = labels.shape
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    matches = _in_top_k(labels.reshape(-1).astype(jnp.int32), y_pred, k)
    return matches.astype(config.floatx()).reshape(true_shape)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Returns 1.0 where the one-hot label's class is among the `k` top predictions.

    Args:
        y_true: One-hot ground truth values.
        y_pred: The predicted values (scores for every class).
        k: (Optional) Number of top elements to look at for computing accuracy.
            Defaults to `5`.
    """
    y_pred = _as_float(y_pred)
    labels = jnp.argmax(jnp.asarray(y_true).astype(y_pred.dtype), axis=-1)
    return _top_k_matches(labels, y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Returns 1.0 where the integer label is among the `k` top predictions.

    Args:
        y_true: Integer class ids, of shape `[batch_size]`.
        y_pred: The predicted values, of shape `[batch_size, num_classes]`.
        k: (Optional) Number of top elements to look at for computing accuracy.
            Defaults to `5`.
    """
    y_pred = _as_float(y_pred)
    labels = jnp.asarray(y_true).astype(jnp.int32)
    return _top_k_matches(labels, y_pred, k)


class Accuracy(MeanMetricWrapper):
    """Calculates how often predictions equal labels.

    Args:
        name: (Optional) string name of the metric instance. Defaults to `"accuracy"`.
        dtype: (Optional) data type of the metric result.
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class BinaryAccuracy(MeanMetricWrapper):
    """Calculates how often predictions match binary labels.

    Args:
        name: (Optional) string name of the metric instance. Defaults to
            `"binary_accuracy"`.
        dtype: (Optional) data type of the metric result.
        threshold: (Optional) Float representing the threshold for deciding
            whether prediction values are 1 or 0. Defaults to `0.5`.
    """

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


class CategoricalAccuracy(MeanMetricWrapper):
    """Calculates how often predictions match one-hot labels.

    Args:
        name: (Optional) string name of the metric instance. Defaults to
            `"categorical_accuracy"`.
        dtype: (Optional) data type of the metric result.
    """

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """Calculates how often predictions match integer labels.

    Args:
        name: (Optional) string name of the metric instance. Defaults to
            `"sparse_categorical_accuracy"`.
        dtype: (Optional) data type of the metric result.

    ```python
    m = SparseCategoricalAccuracy()
    m.update_state([2, 1], [[0.1, 0.6, 0.3], [0.05, 0.95, 0.0]])
    m.result()   # 0.5
    ```
    """

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """Computes how often one-hot targets are in the top `K` predictions.

    Args:
        k: (Optional) Number of top elements to look at for computing accuracy.
            Defaults to `5`.
        name: (Optional) string name of the metric instance. Defaults to
            `"top_k_categorical_accuracy"`.
        dtype: (Optional) data type of the metric result.
    """

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """Computes how often integer targets are in the top `K` predictions.

    Args:
        k: (Optional) Number of top elements to look at for computing accuracy.
            Defaults to `5`.
        name: (Optional) string name of the metric instance. Defaults to
            `"sparse_top_k_categorical_accuracy"`.
        dtype: (Optional) data type of the metric result.
    """

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "k": self.k}
