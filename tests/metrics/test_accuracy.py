"""Accuracy metrics: differential tests against keras.metrics, stateful and stateless."""
import jax
import keras
import numpy as np
import pytest
from keras.src.metrics import accuracy_metrics as keras_accuracy  # `accuracy` is not exported

from gazelle import metrics

TOL = dict(rtol=1e-5, atol=1e-6)
B, C = 8, 6


def _compare_with_keras(ours, theirs, batches):
    """Feeds both metrics the same batches; results agree after each one and after reset."""
    for args, kwargs in batches:
        ours.update_state(*args, **kwargs)
        theirs.update_state(*args, **kwargs)
        np.testing.assert_allclose(ours.result(), theirs.result(), **TOL)
    ours.reset_state()
    theirs.reset_state()
    np.testing.assert_allclose(ours.result(), theirs.result(), **TOL)


def _compare_stateless(metric, batches):
    """The jitted stateless twins give the stateful result."""
    metric.reset_state()
    for args, kwargs in batches:
        metric.update_state(*args, **kwargs)
    values = metric.stateless_reset_state()
    update = jax.jit(metric.stateless_update_state)
    for args, kwargs in batches:
        values = update(values, *args, **kwargs)
    np.testing.assert_allclose(jax.jit(metric.stateless_result)(values), metric.result(), **TOL)


def _labels_and_scores(kind, seed, label_dtype="int32", column=False):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, C, size=(B,))
    scores = rng.uniform(size=(B, C)).astype("float32")
    scores[: B // 2, :] = 0.0
    scores[np.arange(B // 2), ids[: B // 2]] = 1.0       # half of the samples are right
    if kind == "sparse":
        y_true = ids.astype(label_dtype)
        return (y_true[:, None] if column else y_true), scores
    if kind == "onehot":
        return np.eye(C, dtype=label_dtype)[ids], scores
    if kind == "binary":
        y_true = rng.integers(0, 2, size=(B, 1)).astype(label_dtype)
        y_pred = rng.uniform(size=(B, 1)).astype("float32")
        return (y_true[:, 0] if not column else y_true), y_pred
    if kind == "exact":
        y_true = rng.integers(0, 3, size=(B,)).astype(label_dtype)
        y_pred = rng.integers(0, 3, size=(B, 1)).astype("float32")
        return (y_true[:, None] if column else y_true), y_pred
    raise AssertionError(kind)


def _batches(kind, weighted, seed=0, n=3, **kw):
    rng = np.random.default_rng(seed + 100)
    out = []
    for i in range(n):
        kwargs = {}
        if weighted:
            kwargs["sample_weight"] = rng.uniform(0, 2, size=(B,)).astype("float32")
        out.append((_labels_and_scores(kind, seed + i, **kw), kwargs))
    return out


CASES = [
    ("Accuracy", {}, "exact", {}),
    ("Accuracy", {}, "exact", {"column": True}),
    ("BinaryAccuracy", {}, "binary", {"label_dtype": "float32", "column": True}),
    ("BinaryAccuracy", {}, "binary", {"label_dtype": "int32"}),
    ("BinaryAccuracy", {"threshold": 0.7}, "binary", {"label_dtype": "float32"}),
    ("CategoricalAccuracy", {}, "onehot", {"label_dtype": "float32"}),
    ("CategoricalAccuracy", {}, "onehot", {"label_dtype": "int32"}),
    ("SparseCategoricalAccuracy", {}, "sparse", {}),
    ("SparseCategoricalAccuracy", {}, "sparse", {"column": True}),
    ("SparseCategoricalAccuracy", {}, "sparse", {"label_dtype": "float32", "column": True}),
    ("TopKCategoricalAccuracy", {}, "onehot", {"label_dtype": "float32"}),
    ("TopKCategoricalAccuracy", {"k": 2}, "onehot", {"label_dtype": "float32"}),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "sparse", {}),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, "sparse", {"column": True}),
    ("SparseTopKCategoricalAccuracy", {"k": 1}, "sparse", {"label_dtype": "float32"}),
]


@pytest.mark.parametrize("cls_name,init,kind,data_kw", CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_accuracy_classes_match_keras(cls_name, init, kind, data_kw, weighted):
    batches = _batches(kind, weighted, **data_kw)
    ours = getattr(metrics, cls_name)(**init)
    theirs = getattr(keras.metrics, cls_name)(**init)
    assert ours.name == theirs.name
    _compare_with_keras(ours, theirs, batches)
    if weighted:   # one jitted run per case keeps the file fast
        _compare_stateless(ours, batches)


FUNCTIONS = [
    ("accuracy", "exact", {}, {"column": True}),
    ("binary_accuracy", "binary", {"threshold": 0.3}, {"label_dtype": "float32"}),
    ("categorical_accuracy", "onehot", {}, {"label_dtype": "float32"}),
    ("sparse_categorical_accuracy", "sparse", {}, {}),
    ("sparse_categorical_accuracy", "sparse", {}, {"column": True}),
    ("top_k_categorical_accuracy", "onehot", {"k": 2}, {"label_dtype": "float32"}),
    ("sparse_top_k_categorical_accuracy", "sparse", {"k": 2}, {"column": True}),
]


@pytest.mark.parametrize("name,kind,fn_kw,data_kw", FUNCTIONS)
def test_per_sample_functions_match_keras(name, kind, fn_kw, data_kw):
    y_true, y_pred = _labels_and_scores(kind, seed=7, **data_kw)
    ours = getattr(metrics, name)(y_true, y_pred, **fn_kw)
    theirs = getattr(keras_accuracy, name)(y_true, y_pred, **fn_kw)
    assert ours.shape == theirs.shape and ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, **TOL)


def test_top_k_counts_ties_in_the_labels_favour_and_ignores_nan_like_keras():
    y_pred = np.array([[0.5, 0.5, 0.5, 0.1], [np.nan, 0.2, 0.3, 0.1], [0.1, 0.4, 0.4, 0.4]],
                      "float32")
    y_true = np.array([2, 0, 3])
    for k in (1, 2):
        np.testing.assert_array_equal(
            metrics.sparse_top_k_categorical_accuracy(y_true, y_pred, k=k),
            keras.metrics.sparse_top_k_categorical_accuracy(y_true, y_pred, k=k))


def test_sparse_categorical_accuracy_on_a_sequence_matches_keras():
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, C, size=(B, 4, 1))
    y_pred = rng.uniform(size=(B, 4, C)).astype("float32")
    weights = rng.uniform(size=(B,)).astype("float32")
    ours, theirs = metrics.SparseCategoricalAccuracy(), keras.metrics.SparseCategoricalAccuracy()
    _compare_with_keras(ours, theirs, [((y_true, y_pred), {"sample_weight": weights})])


@pytest.mark.parametrize("cls_name,init", [
    ("Accuracy", {}), ("BinaryAccuracy", {"threshold": 0.25}), ("CategoricalAccuracy", {}),
    ("SparseCategoricalAccuracy", {"name": "acc"}), ("TopKCategoricalAccuracy", {"k": 3}),
    ("SparseTopKCategoricalAccuracy", {"k": 4}),
])
def test_config_matches_keras_and_round_trips(cls_name, init):
    ours = getattr(metrics, cls_name)(**init)
    assert ours.get_config() == getattr(keras.metrics, cls_name)(**init).get_config()
    rebuilt = type(ours).from_config(ours.get_config())
    assert rebuilt.get_config() == ours.get_config()
