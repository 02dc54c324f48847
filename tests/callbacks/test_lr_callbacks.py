"""LearningRateScheduler and ReduceLROnPlateau: same learning rates as Keras 3, tf.keras 2 messages."""
import numpy as np
import pytest

from gazelle.callbacks import LearningRateScheduler, ReduceLROnPlateau


class FakeOptimizer:
    def __init__(self, learning_rate):
        self.learning_rate = learning_rate


class FakeModel:
    def __init__(self, learning_rate=0.01):
        self.stop_training = False
        self.optimizer = FakeOptimizer(learning_rate)


def run_plateau(callback, values):
    model = FakeModel(np.float32(0.01))
    callback.set_model(model)
    callback.on_train_begin()
    rates, logged = [], []
    for epoch, value in enumerate(values):
        logs = {"loss": 1.0, "val_loss": value}
        callback.on_epoch_end(epoch, logs)
        logged.append(logs.get("lr", logs.get("learning_rate")))
        rates.append(float(np.asarray(model.optimizer.learning_rate)))
    return rates, logged


rng = np.random.default_rng(1)
PLATEAU_SEQUENCES = [
    [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8],
    *[list(np.round(1 + np.cumsum(rng.normal(0, 0.02, 15)), 3)) for _ in range(4)],
]
PLATEAU_SETTINGS = [
    dict(patience=2),
    dict(patience=1, factor=0.5, cooldown=2),
    dict(patience=1, factor=0.2, min_lr=0.0005),
    dict(patience=2, min_delta=0.05),
    dict(patience=1, mode="max"),
]


@pytest.mark.parametrize("settings", PLATEAU_SETTINGS)
@pytest.mark.parametrize("values", PLATEAU_SEQUENCES)
def test_reduce_lr_on_plateau_matches_keras(values, settings):
    import keras

    ours = run_plateau(ReduceLROnPlateau(**settings), values)
    theirs = run_plateau(keras.callbacks.ReduceLROnPlateau(**settings), values)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-7)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-7)


def test_reduce_lr_logs_lr_like_tf_keras_2():
    # On purpose: tf.keras 2 logs "lr" (history.history["lr"]); Keras 3 logs "learning_rate".
    callback = ReduceLROnPlateau()
    callback.set_model(FakeModel(0.01))
    logs = {"val_loss": 1.0}
    callback.on_epoch_end(0, logs)
    assert logs == {"val_loss": 1.0, "lr": 0.01}


def test_reduce_lr_message(capsys):
    callback = ReduceLROnPlateau(patience=1, factor=0.5, verbose=1)
    callback.set_model(FakeModel(0.25))
    for epoch, value in enumerate([1.0, 1.0]):
        callback.on_epoch_end(epoch, {"val_loss": value})
    assert capsys.readouterr().out == "\nEpoch 00002: ReduceLROnPlateau reducing learning rate to 0.125.\n"


def test_reduce_lr_rejects_bad_arguments():
    with pytest.raises(ValueError, match="factor >= 1.0"):
        ReduceLROnPlateau(factor=2.0)
    with pytest.raises(ValueError, match=r"mode.*\['auto', 'min', 'max'\]"):
        ReduceLROnPlateau(mode="lowest")
    with pytest.raises(TypeError, match="patient"):
        ReduceLROnPlateau(patient=3)


def test_reduce_lr_accepts_deprecated_epsilon():
    with pytest.warns(UserWarning, match="epsilon.*min_delta"):
        assert ReduceLROnPlateau(epsilon=0.5).min_delta == 0.5


def run_scheduler(callback, epochs=5, start=0.1):
    model = FakeModel(start)
    callback.set_model(model)
    rates, logged = [], []
    for epoch in range(epochs):
        callback.on_epoch_begin(epoch)
        rates.append(float(np.asarray(model.optimizer.learning_rate)))
        logs = {"loss": 1.0}  # not empty: Keras replaces an empty dict with a new one
        callback.on_epoch_end(epoch, logs)
        logged.append(logs.get("lr", logs.get("learning_rate")))
    return rates, logged


@pytest.mark.parametrize("schedule", [
    lambda epoch, lr: lr if epoch < 2 else lr * 0.5,
    lambda epoch: 0.01 * 0.1 ** (epoch / 20),
    lambda epoch, lr: float(np.float32(lr * 0.9)),
])
def test_scheduler_matches_keras(schedule):
    import keras

    ours = run_scheduler(LearningRateScheduler(schedule))
    theirs = run_scheduler(keras.callbacks.LearningRateScheduler(schedule))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_scheduler_message_in_tf_keras_format(capsys):
    run_scheduler(LearningRateScheduler(lambda epoch: 0.3, verbose=1), epochs=2)
    assert capsys.readouterr().out == (
        "\nEpoch 00001: LearningRateScheduler reducing learning rate to 0.3.\n"
        "\nEpoch 00002: LearningRateScheduler reducing learning rate to 0.3.\n")


def test_scheduler_errors_inside_the_schedule_are_not_swallowed():
    def schedule(epoch, lr):
        raise TypeError("bug in user code")

    with pytest.raises(TypeError, match="bug in user code"):
        run_scheduler(LearningRateScheduler(schedule), epochs=1)


def test_scheduler_rejects_non_numeric_output():
    with pytest.raises(ValueError, match="schedule.*float.*'fast'.*epoch 0"):
        run_scheduler(LearningRateScheduler(lambda epoch: "fast"), epochs=1)
    with pytest.raises(TypeError, match="schedule.*function"):
        LearningRateScheduler(0.1)


def test_scheduler_accepts_an_int_rate_unlike_keras():
    # On purpose: Keras 3 raises for an int; a rate of 1 is a valid learning rate.
    rates, _ = run_scheduler(LearningRateScheduler(lambda epoch: 1), epochs=1)
    assert rates == [1.0]


def test_scheduler_reads_array_and_variable_like_rates():
    class VariableLike:
        def __init__(self, value):
            self.value = value

        def __array__(self, dtype=None, copy=None):
            return np.asarray(self.value, dtype=dtype)

    model = FakeModel(VariableLike(np.float32(0.5)))
    callback = LearningRateScheduler(lambda epoch, lr: lr / 2)
    callback.set_model(model)
    callback.on_epoch_begin(0)
    assert model.optimizer.learning_rate == 0.25
