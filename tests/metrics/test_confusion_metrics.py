"""Confusion-matrix metrics: differential tests against keras.metrics (several batches,
sample weights, thresholds, top_k, class_id, multi-label AUC), jitted stateless twins,
configs, and the compiled training path."""
import jax
import keras
import numpy as np
import pytest

import gazelle
from gazelle import metrics

TOL = dict(rtol=1e-5, atol=1e-6)


def _compare(ours, theirs, batches):
    for args, kwargs in batches:
        ours.update_state(*args, **kwargs)
        theirs.update_state(*args, **kwargs)
        np.testing.assert_allclose(np.asarray(ours.result()), np.asarray(theirs.result()),
                                   **TOL)
    # The jitted stateless twins replay the same batches to the same result.
    values = ours.stateless_reset_state()
    update = jax.jit(ours.stateless_update_state)
    for args, kwargs in batches:
        values = update(values, *args, **kwargs)
    np.testing.assert_allclose(np.asarray(jax.jit(ours.stateless_result)(values)),
                               np.asarray(ours.result()), **TOL)
    ours.reset_state()
    theirs.reset_state()
    np.testing.assert_allclose(np.asarray(ours.result()), np.asarray(theirs.result()), **TOL)


def _batches(shape, weights=None, n=3, seed=0, logits=False, exact=False):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        y_true = (rng.uniform(size=shape) > 0.5).astype("float32")
        y_pred = rng.normal(size=shape).astype("float32") * 2 if logits else \
            rng.uniform(size=shape).astype("float32")
        if exact:    # scores sitting exactly on thresholds, and the ends 0 and 1
            y_pred = rng.choice(np.array([0.0, 0.25, 0.5, 0.75, 1.0], "float32"), shape)
        kwargs = {}
        if weights == "flat":
            kwargs["sample_weight"] = rng.uniform(0, 2, size=shape[:1]).astype("float32")
        elif weights == "full":
            kwargs["sample_weight"] = rng.uniform(0, 2, size=shape).astype("float32")
        out.append(((y_true, y_pred), kwargs))
    return out


COUNTS = ["TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives"]


@pytest.mark.sweep
@pytest.mark.parametrize("name", COUNTS)
@pytest.mark.parametrize("thresholds", [None, [0.0, 0.5, 1.0], [0.1, 0.35, 0.9]])
def test_counts_match_keras(name, thresholds):
    kwargs = {} if thresholds is None else {"thresholds": thresholds}
    for weights, exact in [(None, False), ("flat", True)]:
        _compare(getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs),
                 _batches((8, 3), weights, exact=exact))


@pytest.mark.sweep
@pytest.mark.parametrize("name", ["Precision", "Recall"])
@pytest.mark.parametrize("kwargs", [
    {}, {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, {"thresholds": [0.2, 0.7]},
    {"top_k": 2}, {"class_id": 1}, {"top_k": 1, "class_id": 2, "thresholds": 0.4},
])
@pytest.mark.parametrize("weights", [None, "full"])
def test_precision_recall_match_keras(name, kwargs, weights):
    if weights == "full" and "class_id" in kwargs:
        # Keras cannot broadcast per-class weights onto the one selected column either.
        for cls in (getattr(metrics, name), getattr(keras.metrics, name)):
            with pytest.raises(ValueError):
                cls(**kwargs).update_state(*_batches((10, 4), weights)[0][0],
                                           **_batches((10, 4), weights)[0][1])
        return
    _compare(getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs),
             _batches((10, 4), weights))


def test_precision_rank_1_and_column_inputs():
    rng = np.random.default_rng(3)
    y = (rng.uniform(size=(12,)) > 0.5).astype("float32")
    p = rng.uniform(size=(12, 1)).astype("float32")
    w = rng.uniform(size=(12,)).astype("float32")
    _compare(metrics.Precision(), keras.metrics.Precision(),
             [((y, p), {"sample_weight": w}), ((y[:, None], p[:, 0]), {})])


@pytest.mark.sweep
@pytest.mark.parametrize("name,arg", [
    ("SensitivityAtSpecificity", "specificity"), ("SpecificityAtSensitivity", "sensitivity"),
    ("PrecisionAtRecall", "recall"), ("RecallAtPrecision", "precision")])
@pytest.mark.parametrize("kwargs", [{}, {"num_thresholds": 1}, {"class_id": 2}])
def test_rate_at_rate_matches_keras(name, arg, kwargs):
    for value, weights in [(0.5, None), (0.8, "flat")]:
        kw = {arg: value, **kwargs}
        _compare(getattr(metrics, name)(**kw), getattr(keras.metrics, name)(**kw),
                 _batches((16, 3), weights, seed=int(value * 10)))


@pytest.mark.sweep
@pytest.mark.parametrize("kwargs", [
    {}, {"num_thresholds": 5}, {"curve": "PR"}, {"curve": "PR", "summation_method": "minoring"},
    {"summation_method": "majoring"}, {"curve": "PRGAIN"},
    {"thresholds": [0.2, 0.5, 0.6]}, {"thresholds": [0.25, 0.5, 0.75], "curve": "PR"},
    {"label_weights": [0.5, 1.0, 2.0]},
])
@pytest.mark.parametrize("weights", [None, "full"])
def test_auc_matches_keras(kwargs, weights):
    _compare(metrics.AUC(**kwargs), keras.metrics.AUC(**kwargs), _batches((12, 3), weights))


@pytest.mark.parametrize("kwargs", [
    {"multi_label": True, "num_labels": 3},
    {"multi_label": True, "num_labels": 3, "curve": "PR"},
    {"multi_label": True, "num_labels": 3, "label_weights": [1.0, 0.0, 3.0]},
    {"multi_label": True, "num_labels": 3, "thresholds": [0.3, 0.6], "curve": "PR",
     "summation_method": "majoring"},
    {"from_logits": True},
])
def test_auc_multi_label_and_logits_match_keras(kwargs):
    _compare(metrics.AUC(**kwargs), keras.metrics.AUC(**kwargs),
             _batches((12, 3), "flat", logits=kwargs.get("from_logits", False)))


def test_auc_multi_label_builds_lazily_when_eager():
    ours, theirs = metrics.AUC(multi_label=True), keras.metrics.AUC(multi_label=True)
    assert ours.variables == []
    _compare(ours, theirs, _batches((12, 4), None))
    assert ours.true_positives.shape == (200, 4)


def test_auc_multi_label_without_num_labels_fails_clearly_under_jit():
    m = metrics.AUC(multi_label=True)
    y = np.zeros((4, 2), "float32")
    with pytest.raises(ValueError, match="num_labels"):
        jax.jit(m.stateless_update_state)([], y, y)


@pytest.mark.parametrize("cls,kwargs", [
    ("TruePositives", {"thresholds": [0.2, 0.4]}), ("Precision", {"top_k": 3, "class_id": 1}),
    ("Recall", {"thresholds": 0.7}), ("PrecisionAtRecall", {"recall": 0.6,
                                                            "num_thresholds": 10}),
    ("SensitivityAtSpecificity", {"specificity": 0.3, "class_id": 0}),
    ("AUC", {"curve": "PR", "summation_method": "minoring", "num_thresholds": 50}),
    ("AUC", {"thresholds": [0.1, 0.5], "multi_label": True, "num_labels": 2,
             "label_weights": [1.0, 2.0], "from_logits": True}),
])
def test_get_config_matches_keras_and_round_trips(cls, kwargs):
    ours = getattr(metrics, cls)(name="m", **kwargs)
    theirs = getattr(keras.metrics, cls)(name="m", **kwargs)
    expected = theirs.get_config()
    if expected.get("label_weights") is not None:
        expected["label_weights"] = [float(w) for w in np.asarray(expected["label_weights"])]
    assert ours.get_config() == expected
    again = metrics.deserialize(metrics.serialize(ours))
    assert type(again) is type(ours) and again.get_config() == ours.get_config()


def test_variable_names_and_shapes_match_keras():
    for cls, kwargs in [("Precision", {"thresholds": [0.1, 0.2]}), ("TrueNegatives", {}),
                        ("AUC", {"num_thresholds": 9}), ("RecallAtPrecision",
                                                         {"precision": 0.5})]:
        ours = getattr(metrics, cls)(**kwargs)
        theirs = getattr(keras.metrics, cls)(**kwargs)
        assert [(v.name, tuple(v.shape)) for v in ours.variables] == \
            [(v.name, tuple(v.shape)) for v in theirs.variables]


@pytest.mark.parametrize("alias,cls", [
    ("precision", "Precision"), ("recall", "Recall"), ("auc", "AUC"),
    ("AUC", "AUC"), ("true_positives", "TruePositives"), ("false_negatives", "FalseNegatives"),
])
def test_string_aliases(alias, cls):
    obj = metrics.get(alias)
    assert type(obj).__name__ == cls


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="threshold"):
        metrics.Precision(thresholds=[0.5, 1.5])
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="curve"):
        metrics.AUC(curve="auc")
    with pytest.raises(ValueError, match="summation"):
        metrics.AUC(summation_method="trapezoid")
    with pytest.raises(ValueError, match="num_labels"):
        metrics.AUC(num_labels=3)
    with pytest.raises(ValueError, match="recall"):
        metrics.PrecisionAtRecall(1.5)
    with pytest.raises(ValueError, match="class_id"):
        metrics.Recall(class_id=0).update_state(np.ones(3), np.ones(3))


def test_compiled_fit_logs_keras_names_and_matches_metric_recomputed():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 5)).astype("float32")
    y = (x[:, :1] + 0.3 * rng.normal(size=(96, 1)) > 0).astype("float32")
    model = gazelle.Sequential([gazelle.layers.Input((5,)),
                                gazelle.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy",
                  metrics=[metrics.Precision(), metrics.Recall(), metrics.AUC(),
                           metrics.AUC(curve="PR", name="prc"), metrics.TruePositives(),
                           metrics.PrecisionAtRecall(0.5)])
    history = model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    assert list(history.history) == ["loss", "precision", "recall", "auc", "prc",
                                     "true_positives", "precision_at_recall"]
    logs = model.evaluate(x, y, batch_size=32, verbose=0, return_dict=True)
    pred = model.predict(x, batch_size=32, verbose=0)
    for key, theirs in [("precision", keras.metrics.Precision()),
                        ("recall", keras.metrics.Recall()), ("auc", keras.metrics.AUC()),
                        ("prc", keras.metrics.AUC(curve="PR")),
                        ("true_positives", keras.metrics.TruePositives())]:
        theirs.update_state(y, pred)
        np.testing.assert_allclose(logs[key], float(theirs.result()), rtol=1e-4, atol=1e-5)


def test_compile_with_metric_class_strings_logs_the_strings():
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = gazelle.Sequential([gazelle.layers.Input((3,)),
                                gazelle.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy",
                  metrics=["precision", "recall", "auc"])
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert list(history.history) == ["loss", "precision", "recall", "auc"]


@pytest.mark.parametrize("metric", [lambda: gazelle.metrics.F1Score(average="micro"),
                                    lambda: gazelle.metrics.R2Score()])
def test_data_shaped_metrics_build_at_compile_and_match_keras(metric):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(48, 3)).astype("float32")
    y = (rng.random((48, 2)) > 0.5).astype("float32")
    model = gazelle.Sequential([gazelle.layers.Input((3,)),
                                gazelle.layers.Dense(2, activation="sigmoid")])
    m = metric()
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=[m])
    history = model.fit(x, y, batch_size=48, epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history[m.name][0])
    pred = model.predict(x, verbose=0)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    theirs = getattr(keras.metrics, type(m).__name__)(**{k: v for k, v in m.get_config().items()
                                                         if k not in ("name", "dtype")})
    theirs.update_state(y, pred)
    np.testing.assert_allclose(logs[m.name], float(theirs.result()), rtol=1e-4, atol=1e-5)
