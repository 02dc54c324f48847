"""Focal, Dice, Tversky, Circle, generalized-CE and CTC losses: differential tests against
keras.losses (functions and classes, reductions, sample weights), configs, names, and
use as a compiled training loss."""
import jax
import keras
import numpy as np
import pytest

import gazelle
from gazelle import losses

TOL = dict(rtol=1e-5, atol=1e-6)


def _probs(rng, shape):
    return rng.uniform(0.02, 0.98, size=shape).astype("float32")


def _data(kind, rng):
    if kind == "binary":
        return (rng.uniform(size=(6, 3)) > 0.5).astype("float32"), _probs(rng, (6, 3))
    if kind == "binary_logits":
        return (rng.uniform(size=(6, 3)) > 0.5).astype("float32"), \
            rng.normal(size=(6, 3)).astype("float32") * 2
    if kind == "onehot":
        return np.eye(4, dtype="float32")[rng.integers(0, 4, 6)], \
            rng.dirichlet(np.ones(4), 6).astype("float32")
    if kind == "onehot_logits":
        return np.eye(4, dtype="float32")[rng.integers(0, 4, 6)], \
            rng.normal(size=(6, 4)).astype("float32")
    if kind == "masks":
        return (rng.uniform(size=(4, 5, 5)) > 0.5).astype("float32"), _probs(rng, (4, 5, 5))
    if kind == "sparse":
        return rng.integers(0, 4, 6), rng.dirichlet(np.ones(4), 6).astype("float32")
    if kind == "embeddings":
        e = rng.normal(size=(8, 5)).astype("float32")
        return rng.integers(0, 3, 8), e / np.linalg.norm(e, axis=1, keepdims=True)
    if kind == "ctc":
        labels = np.array([[1, 2, 2, 0], [3, 1, 0, 0], [2, 0, 0, 0]], "int32")
        return labels, rng.normal(size=(3, 9, 5)).astype("float32")
    raise AssertionError(kind)


CASES = [
    ("BinaryFocalCrossentropy", "binary_focal_crossentropy", {}, "binary"),
    ("BinaryFocalCrossentropy", "binary_focal_crossentropy",
     {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5, "label_smoothing": 0.1},
     "binary"),
    ("BinaryFocalCrossentropy", "binary_focal_crossentropy", {"from_logits": True},
     "binary_logits"),
    ("CategoricalFocalCrossentropy", "categorical_focal_crossentropy", {}, "onehot"),
    ("CategoricalFocalCrossentropy", "categorical_focal_crossentropy",
     {"alpha": 0.5, "gamma": 3.0, "from_logits": True, "label_smoothing": 0.2},
     "onehot_logits"),
    ("Dice", "dice", {}, "masks"), ("Dice", "dice", {"axis": (1, 2)}, "masks"),
    ("Tversky", "tversky", {}, "masks"),
    ("Tversky", "tversky", {"alpha": 0.3, "beta": 0.7, "axis": (1, 2)}, "masks"),
    ("CategoricalGeneralizedCrossEntropy", "categorical_generalized_cross_entropy",
     {"q": 0.7}, "sparse"),
    ("Circle", "circle", {}, "embeddings"),
    ("Circle", "circle", {"gamma": 10.0, "margin": 0.25, "remove_diagonal": False},
     "embeddings"),
    ("CTC", "ctc", {}, "ctc"),
]


@pytest.mark.sweep
@pytest.mark.parametrize("cls,fn,kwargs,kind", CASES)
def test_functions_match_keras(cls, fn, kwargs, kind):
    y, p = _data(kind, np.random.default_rng(0))
    np.testing.assert_allclose(getattr(losses, fn)(y, p, **kwargs),
                               getattr(keras.losses, fn)(y, p, **kwargs), rtol=2e-5,
                               atol=1e-5)


@pytest.mark.sweep
@pytest.mark.parametrize("cls,fn,kwargs,kind", CASES)
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", None])
def test_classes_match_keras(cls, fn, kwargs, kind, reduction):
    rng = np.random.default_rng(1)
    y, p = _data(kind, rng)
    ours = getattr(losses, cls)(reduction=reduction, **kwargs)
    theirs = getattr(keras.losses, cls)(reduction=reduction, **kwargs)
    tol = dict(rtol=2e-5, atol=1e-5)
    np.testing.assert_allclose(ours(y, p), theirs(y, p), **tol)
    np.testing.assert_allclose(jax.jit(ours)(y, p), theirs(y, p), **tol)
    if kind in ("binary", "onehot", "sparse", "embeddings", "masks") and \
            not (kind == "masks" and "axis" not in kwargs):
        w = rng.uniform(0, 2, size=len(p)).astype("float32")
        np.testing.assert_allclose(ours(y, p, sample_weight=w),
                                   theirs(y, p, sample_weight=w), **tol)


@pytest.mark.parametrize("cls,fn,kwargs,kind", CASES)
def test_config_matches_keras_and_round_trips(cls, fn, kwargs, kind):
    ours = getattr(losses, cls)(name="l", **kwargs)
    theirs = getattr(keras.losses, cls)(name="l", **kwargs)
    assert ours.get_config() == theirs.get_config()
    again = losses.deserialize(losses.serialize(ours))
    assert type(again) is type(ours) and again.get_config() == ours.get_config()
    assert losses.get(fn) is getattr(losses, fn)
    assert type(losses.get(cls)) is getattr(losses, cls)


def test_default_names_match_keras():
    for cls in ("BinaryFocalCrossentropy", "CategoricalFocalCrossentropy", "Dice", "Tversky",
                "Circle", "CategoricalGeneralizedCrossEntropy", "CTC"):
        assert getattr(losses, cls)().name == getattr(keras.losses, cls)().name


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="q"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.0)
    with pytest.raises(ValueError, match="y_true"):
        losses.ctc(np.zeros((3,)), np.zeros((3, 4, 5)))
    with pytest.raises(ValueError, match="y_pred"):
        losses.ctc(np.zeros((3, 2)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="axis"):
        losses.categorical_focal_crossentropy(np.ones((2, 3)), np.ones((2, 3)), axis=True)


def test_metric_functions_are_exported():
    from gazelle import metrics
    assert metrics.binary_focal_crossentropy is losses.binary_focal_crossentropy
    assert metrics.get("categorical_focal_crossentropy") is \
        losses.categorical_focal_crossentropy


def test_compiled_fit_with_focal_loss_matches_loss_recomputed():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = gazelle.Sequential([gazelle.layers.Input((4,)),
                                gazelle.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss=losses.BinaryFocalCrossentropy(gamma=2.0))
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    pred = model.predict(x, verbose=0)
    loss = model.evaluate(x, y, batch_size=64, verbose=0)
    np.testing.assert_allclose(
        loss, float(keras.losses.BinaryFocalCrossentropy(gamma=2.0)(y, pred)), rtol=1e-5)
    model.compile(optimizer="adam", loss="binary_focal_crossentropy")
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
