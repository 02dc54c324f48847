"""Regression metrics: differential tests against keras.metrics, stateful and stateless."""
import jax
import keras
import numpy as np
import pytest

from gazelle import metrics

TOL = dict(rtol=1e-5, atol=1e-6)
B, D = 6, 3


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


def _batches(shape, weights, positive=False, n=3, seed=0):
    rng = np.random.default_rng(seed)
    draw = (lambda: rng.uniform(0.2, 3.0, size=shape)) if positive else (
        lambda: rng.normal(size=shape))
    out = []
    for _ in range(n):
        y_true, y_pred = draw().astype("float32"), draw().astype("float32")
        if shape[-1] == 1 and weights == "flat_labels":
            y_true = y_true[:, 0]
        kwargs = {}
        if weights in ("flat", "column"):
            w = rng.uniform(0, 2, size=(shape[0],)).astype("float32")
            kwargs["sample_weight"] = w if weights == "flat" else w[:, None]
        out.append(((y_true, y_pred), kwargs))
    return out


CLASSES = [
    ("MeanSquaredError", False, {}), ("MeanAbsoluteError", False, {}),
    ("MeanAbsolutePercentageError", True, {}), ("MeanSquaredLogarithmicError", True, {}),
    ("RootMeanSquaredError", False, {}), ("LogCoshError", False, {}),
    ("CosineSimilarity", False, {}),
]
SHAPES = [((B, D), None), ((B, D), "column"), ((B, 1), "flat_labels"), ((B, 2, D), "flat")]


@pytest.mark.sweep
@pytest.mark.parametrize("cls_name,positive,init", CLASSES)
@pytest.mark.parametrize("shape,weights", SHAPES)
def test_regression_metrics_match_keras(cls_name, positive, init, shape, weights):
    batches = _batches(shape, weights, positive)
    ours = getattr(metrics, cls_name)(**init)
    theirs = getattr(keras.metrics, cls_name)(**init)
    assert ours.name == theirs.name
    _compare_with_keras(ours, theirs, batches)
    if weights == "column":   # one jitted run per class keeps the file fast
        _compare_stateless(ours, batches)


def test_cosine_similarity_along_another_axis_matches_keras():
    batches = _batches((B, D, 2), None, seed=3)
    ours, theirs = metrics.CosineSimilarity(axis=1), keras.metrics.CosineSimilarity(axis=1)
    _compare_with_keras(ours, theirs, batches)


def test_cosine_similarity_metric_has_the_opposite_sign_of_the_loss():
    y = np.array([[1.0, 2.0]], "float32")
    metric = metrics.CosineSimilarity()
    np.testing.assert_allclose(metric(y, y), 1.0, **TOL)


def test_root_mean_squared_error_of_known_values():
    metric = metrics.RootMeanSquaredError()
    metric.update_state([2.0, 4.0, 6.0], [1.0, 4.0, 2.0], sample_weight=[1.0, 0.0, 1.0])
    np.testing.assert_allclose(metric.result(), np.sqrt((1.0 + 16.0) / 2.0), **TOL)


@pytest.mark.parametrize("cls_name", ["MeanSquaredError", "MeanAbsoluteError",
                                      "MeanAbsolutePercentageError",
                                      "MeanSquaredLogarithmicError", "RootMeanSquaredError",
                                      "LogCoshError"])
def test_config_matches_keras_and_round_trips(cls_name):
    ours = getattr(metrics, cls_name)(name="m")
    assert ours.get_config() == getattr(keras.metrics, cls_name)(name="m").get_config()
    assert type(ours).from_config(ours.get_config()).get_config() == ours.get_config()


def test_cosine_similarity_config_keeps_axis_on_purpose():
    # Keras 3 drops `axis` from this config, so its reload forgets it; gazelle keeps it.
    config = metrics.CosineSimilarity(axis=0).get_config()
    assert config == {**keras.metrics.CosineSimilarity().get_config(), "axis": 0}
    assert metrics.CosineSimilarity.from_config(config).axis == 0
