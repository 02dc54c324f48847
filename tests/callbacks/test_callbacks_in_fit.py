"""Callbacks driving a real compiled fit: they change state, not the compiled program."""
import numpy as np
import pytest

import gazelle as keras


def data(n=128, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype("float32")
    y = (x @ rng.standard_normal(6)).astype("float32")
    return x, y


def model(lr=0.01):
    m = keras.models.Sequential([keras.layers.Dense(8, activation="relu", input_shape=(6,)),
                                 keras.layers.Dense(1)])
    m.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=lr))
    return m


def test_reduce_lr_on_plateau_changes_rate_without_recompiling():
    x, y = data()
    m = model()
    cb = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0,
                                           min_delta=1e9)   # every epoch is a "plateau"
    h = m.fit(x, y, epochs=3, verbose=0, callbacks=[cb])
    # Keras logs the rate an epoch ran with, then reduces it (from the second epoch on).
    np.testing.assert_allclose(h.history["lr"], [0.01, 0.01, 0.005], rtol=1e-6)
    np.testing.assert_allclose(float(m.optimizer.learning_rate), 0.0025, rtol=1e-6)
    assert m._trainer.steps.traces == 1         # one train chunk, traced once for all epochs


def test_learning_rate_scheduler_reaches_the_step():
    x, y = data()
    m = model()
    before = m.get_weights()
    cb = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.0)
    m.fit(x, y, epochs=2, verbose=0, callbacks=[cb])
    for a, b in zip(before, m.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_restores_best_weights():
    x, y = data()
    m = model(lr=0.05)
    seen = []
    snap = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append((logs["val_loss"], m.get_weights())))
    stop = keras.callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    x_val, y_val = x[:32] * 3.0, -y[:32]         # a validation set that gets worse
    m.fit(x, y, epochs=30, validation_data=(x_val, y_val), verbose=0, callbacks=[snap, stop])
    best = min(seen, key=lambda t: t[0])[1]
    assert len(seen) < 30
    for a, b in zip(best, m.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.filterwarnings("ignore")
def test_terminate_on_nan_stops_training():
    x, y = data()
    x[5, 0] = 1e30                                # overflows to inf inside the step
    m = model(lr=1.0)
    h = m.fit(x, y, epochs=5, verbose=0, callbacks=[keras.callbacks.TerminateOnNaN()])
    assert len(h.epoch) == 1


def test_csv_logger_writes_epoch_rows(tmp_path):
    x, y = data()
    path = tmp_path / "log.csv"
    model().fit(x, y, epochs=3, verbose=0, validation_split=0.25,
                callbacks=[keras.callbacks.CSVLogger(str(path))])
    rows = path.read_text().strip().splitlines()
    assert rows[0].split(",")[:2] == ["epoch", "loss"] and len(rows) == 4
