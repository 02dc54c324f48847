"""Differential: compile(weighted_metrics=...) against Keras 3: weighted by sample_weight
and class_weight, plain metrics not weighted, Keras's log names when a metric is in both
lists, one and several outputs, a model's own train_step, and the saved compile config."""

import keras
import numpy as np
import pytest

import gazelle
from gazelle.training import compile_utils

RTOL = 1e-5

rng = np.random.default_rng(0)
X = rng.normal(size=(64, 6)).astype("float32")
Y = rng.integers(0, 3, size=(64,))
SW = rng.uniform(size=64).astype("float32")


def _pair(custom=False):
    def build(lib):
        inputs = lib.Input((6,))
        h = lib.layers.Dense(8, activation="relu")(inputs)
        cls = lib.Model
        if custom:
            class Stepped(lib.Model):
                def train_step(self, state, data):
                    return super().train_step(state, data)
            cls = Stepped
        return cls(inputs, lib.layers.Dense(3, activation="softmax")(h))
    km, gm = build(keras), build(gazelle)
    gm.set_weights(km.get_weights())
    return km, gm


def _assert_logs_equal(ours, theirs):
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=RTOL, err_msg=key)


def _compile_both(km, gm, metrics, weighted):
    km.compile("sgd", "sparse_categorical_crossentropy", metrics=metrics(keras),
               weighted_metrics=weighted(keras))
    gm.compile("sgd", "sparse_categorical_crossentropy", metrics=metrics(gazelle),
               weighted_metrics=weighted(gazelle))


def test_plain_metrics_are_not_weighted():
    km, gm = _pair()
    km.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy", "sparse_categorical_crossentropy"])
    gm.compile("sgd", "sparse_categorical_crossentropy",
               metrics=["accuracy", "sparse_categorical_crossentropy"])
    hk = km.fit(X, Y, sample_weight=SW, batch_size=16, shuffle=False, verbose=0)
    hg = gm.fit(X, Y, sample_weight=SW, batch_size=16, shuffle=False, verbose=0)
    _assert_logs_equal(hg.history, hk.history)


def test_weighted_names_follow_keras():
    loss = compile_utils.CompiledLoss("mse", None, ["out"])
    slots = compile_utils.build_slots(
        loss, ["mae", "accuracy"], [(None, 3)], [(None, 3)],
        weighted_metrics=["mae", "mse", gazelle.metrics.MeanAbsoluteError(name="mae")])
    assert [(s.metric.name, s.weighted) for s in slots] == [
        ("loss", False), ("mae", False), ("accuracy", False), ("weighted_mae", True),
        ("mse", True), ("weighted_mae_1", True)]


def test_weighted_metrics_must_be_a_list_or_dict():
    model = gazelle.Sequential([gazelle.Input((2,)), gazelle.layers.Dense(1)])
    with pytest.raises(ValueError, match="weighted_metrics"):
        model.compile("sgd", "mse", weighted_metrics="mae")


@pytest.mark.parametrize("custom", [False, True], ids=["builtin_step", "keras_train_step"])
def test_fit_and_evaluate_match_keras(custom):
    km, gm = _pair(custom)
    _compile_both(km, gm, lambda lib: ["accuracy", "sparse_categorical_crossentropy"],
                  lambda lib: ["accuracy", lib.metrics.SparseCategoricalCrossentropy(name="wce"),
                               "sparse_categorical_crossentropy"])
    hk = km.fit(X, Y, sample_weight=SW, batch_size=16, epochs=2, shuffle=False, verbose=0,
                validation_data=(X, Y, SW))
    hg = gm.fit(X, Y, sample_weight=SW, batch_size=16, epochs=2, shuffle=False, verbose=0,
                validation_data=(X, Y, SW))
    _assert_logs_equal(hg.history, hk.history)
    assert "weighted_accuracy" in hg.history and "weighted_sparse_categorical_crossentropy" \
        in hg.history
    _assert_logs_equal(gm.evaluate(X, Y, sample_weight=SW, return_dict=True, verbose=0),
                       km.evaluate(X, Y, sample_weight=SW, return_dict=True, verbose=0))


def test_class_weight_weights_them():
    km, gm = _pair()
    _compile_both(km, gm, lambda lib: ["accuracy"], lambda lib: ["accuracy", "sparse_top_k_categorical_accuracy"])
    cw = {0: 0.2, 1: 1.0, 2: 3.0}
    hk = km.fit(X, Y, class_weight=cw, batch_size=16, shuffle=False, verbose=0)
    hg = gm.fit(X, Y, class_weight=cw, batch_size=16, shuffle=False, verbose=0)
    _assert_logs_equal(hg.history, hk.history)


def test_two_outputs_with_a_dict():
    def build(lib):
        inputs = lib.Input((6,))
        a = lib.layers.Dense(3, activation="softmax", name="cls")(inputs)
        b = lib.layers.Dense(1, name="reg")(inputs)
        return lib.Model(inputs, [a, b])
    km, gm = build(keras), build(gazelle)
    gm.set_weights(km.get_weights())
    y2 = rng.normal(size=(64, 1)).astype("float32")
    for model in (km, gm):
        model.compile("sgd", ["sparse_categorical_crossentropy", "mse"],
                      metrics={"cls": ["accuracy"], "reg": ["mae"]},
                      weighted_metrics={"cls": ["accuracy"], "reg": ["mae", "mse"]})
    hk = km.fit(X, [Y, y2], sample_weight=SW, batch_size=16, shuffle=False, verbose=0)
    hg = gm.fit(X, [Y, y2], sample_weight=SW, batch_size=16, shuffle=False, verbose=0)
    _assert_logs_equal(hg.history, hk.history)
    assert "cls_weighted_accuracy" in hg.history


def test_saved_and_restored(tmp_path):
    km, gm = _pair()
    _compile_both(km, gm, lambda lib: ["accuracy"],
                  lambda lib: ["accuracy", lib.metrics.SparseCategoricalCrossentropy(name="wce")])
    ours = gm.get_compile_config() if hasattr(gm, "get_compile_config") else None
    theirs = km.get_compile_config()
    if ours is not None:
        assert ours["weighted_metrics"] == theirs["weighted_metrics"]
    gm.fit(X, Y, sample_weight=SW, batch_size=16, verbose=0)
    path = str(tmp_path / "m.keras")
    gm.save(path)
    loaded = gazelle.models.load_model(path)
    _assert_logs_equal(loaded.evaluate(X, Y, sample_weight=SW, return_dict=True, verbose=0),
                       gm.evaluate(X, Y, sample_weight=SW, return_dict=True, verbose=0))
    keras_loaded = keras.models.load_model(path)
    assert keras_loaded.get_compile_config()["weighted_metrics"] == theirs["weighted_metrics"]
