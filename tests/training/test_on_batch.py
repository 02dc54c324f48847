"""train_on_batch / test_on_batch against Keras 3: the same weights and batches give the
same losses, metrics and updated weights; the metrics start afresh each call (Keras 3)."""
import keras as k3
import numpy as np
import pytest

import gazelle as keras


def _data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 5)).astype("float32"), rng.integers(0, 3, n)


def _pair(metrics=("accuracy",), optimizer="sgd"):
    def make(k):
        model = k.Sequential([k.Input((5,)), k.layers.Dense(8, activation="relu"),
                              k.layers.Dense(3, activation="softmax")])
        opt = k.optimizers.SGD(0.1) if optimizer == "sgd" else k.optimizers.Adam(0.01)
        model.compile(optimizer=opt, loss="sparse_categorical_crossentropy",
                      metrics=list(metrics))
        return model
    ours, theirs = make(keras), make(k3)
    theirs.set_weights(ours.get_weights())
    return ours, theirs


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_train_on_batch_matches_keras_step_by_step(optimizer):
    ours, theirs = _pair(optimizer=optimizer)
    for seed in range(3):
        x, y = _data(seed=seed)
        mine, ref = ours.train_on_batch(x, y), theirs.train_on_batch(x, y)
        assert isinstance(mine, list) and len(mine) == 2
        _close(mine, ref)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        _close(a, b)


def test_metrics_start_afresh_each_call_and_return_dict():
    ours, theirs = _pair()
    x, y = _data()
    ours.train_on_batch(x[:8], y[:8])
    theirs.train_on_batch(x[:8], y[:8])
    mine = ours.test_on_batch(x, y, return_dict=True)
    ref = theirs.test_on_batch(x, y, return_dict=True)
    assert set(mine) == {"loss", "accuracy"}
    _close([mine["loss"], mine["accuracy"]], [ref["loss"], ref["accuracy"]])
    # test_on_batch trains nothing
    before = ours.get_weights()
    ours.test_on_batch(x, y)
    for a, b in zip(before, ours.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_sample_and_class_weights_match_keras():
    ours, theirs = _pair()
    x, y = _data()
    weights = {0: 1.0, 1: 2.0, 2: 0.5}
    _close(ours.train_on_batch(x, y, class_weight=weights),
           theirs.train_on_batch(x, y, class_weight=weights))
    sw = np.linspace(0.1, 1.0, len(y)).astype("float32")
    _close(ours.train_on_batch(x, y, sample_weight=sw),
           theirs.train_on_batch(x, y, sample_weight=sw))
    with pytest.raises(ValueError, match="sample_weight.*class_weight"):
        ours.train_on_batch(x, y, sample_weight=sw, class_weight=weights)


def test_loss_only_model_returns_a_float_and_errors_are_clear():
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
    x, y = _data()
    with pytest.raises(ValueError, match="compile"):
        model.train_on_batch(x, y.astype("float32"))
    model.compile("adam", "mse")
    assert isinstance(model.train_on_batch(x, y.astype("float32")), float)
    with pytest.raises(ValueError, match="test_on_batch.*y"):
        model.test_on_batch(x)
