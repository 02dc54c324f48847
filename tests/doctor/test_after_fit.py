"""The doctor after fit: overfitting and underfitting, judged from the epoch logs.

gazelle-only behaviour (Keras has no doctor): each case triggers exactly its own finding.
"""
import numpy as np

import gazelle as keras
from doctor_helpers import blobs, fit_codes, linear_data, mlp
from gazelle.training import diagnostics


def test_overfitting_names_the_epoch_to_stop_at():
    x, y = blobs(600, sep=1.0)
    model = mlp(hidden=256, optimizer=keras.optimizers.Adam(0.01))
    found, history = fit_codes(model, x[:100], y[:100], epochs=12,
                               validation_data=(x[100:], y[100:]))
    assert set(found) == {"overfitting"}
    val = history.history["val_loss"]
    best = int(np.argmin(val)) + 1
    assert f"Stop at epoch {best}" in found["overfitting"]
    assert "EarlyStopping(monitor='val_loss'" in found["overfitting"]
    # EarlyStopping as advised stops after patience epochs and restores the best epoch.
    model = mlp(hidden=256, optimizer=keras.optimizers.Adam(0.01))
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3,
                                         restore_best_weights=True)
    found, history = fit_codes(model, x[:100], y[:100], epochs=12,
                               validation_data=(x[100:], y[100:]), callbacks=[stop])
    assert "overfitting" not in found
    assert len(history.history["loss"]) == best + 3


def test_underfitting_when_the_loss_barely_moves():
    x, y = linear_data(1000)
    model = mlp(units=1, activation=None, loss="mse", d=8, metrics=(),
                optimizer=keras.optimizers.SGD(learning_rate=1e-5))
    found, history = fit_codes(model, x, y, epochs=3)
    assert set(found) == {"underfitting"}
    assert "find_learning_rate" in found["underfitting"]
    losses = history.history["loss"]
    assert (losses[0] - losses[-1]) / losses[0] < 0.05


def test_stall_rules_on_hand_made_histories():
    def logs(loss, val=None):
        return [{"loss": a} if val is None else {"loss": a, "val_loss": b}
                for a, b in zip(loss, val or loss)]

    falling = [1.0, 0.6, 0.4, 0.3, 0.25, 0.2]
    def codes(history, **kwargs):
        return [f.code for f in diagnostics.stall_findings(history, **kwargs)]

    assert codes(logs(falling, [1.0, 0.7, 0.6, 0.65, 0.7, 0.8])) == ["overfitting"]
    assert codes(logs(falling, [1.0, 0.7, 0.6, 0.55, 0.5, 0.45])) == []
    assert codes(logs(falling, [1.0, 0.7, 0.6, 0.61, 0.6, 0.61])) == []   # a plateau
    assert codes(logs(falling[:3], [1.0, 0.9, 1.2])) == []                # too few epochs
    assert codes(logs([2.0, 1.99, 1.98])) == ["underfitting"]
    assert codes(logs([2.0, 1.99, 1.98]), reference=2.3) == ["underfitting"]
    assert codes(logs([0.02, 0.0199, 0.0198]), reference=2.3) == []  # converged early
    assert codes(logs([2.0, 1.99])) == []
    assert codes(logs([2.0, float("nan"), 1.0])) == []


def test_a_converged_model_is_not_underfitting():
    x, y = linear_data(1000)
    y = y + 0.1 * np.random.default_rng(1).standard_normal(1000).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.models.Sequential([keras.layers.Dense(1, input_shape=(8,))])
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=0.05))
    model.fit(x, y, epochs=3, verbose=0, doctor=False)
    found, history = fit_codes(model, x, y, epochs=3)          # at the noise floor
    losses = history.history["loss"]
    assert (losses[0] - losses[-1]) / losses[0] < 0.05 and losses[-1] < 0.05
    assert found == {}


def test_trivial_loss_is_what_ignoring_the_input_scores():
    x, y = blobs(1000)
    model = mlp()
    model.fit(x, y, epochs=0, verbose=0)
    p = np.bincount(y) / len(y)
    prior = keras.losses.SparseCategoricalCrossentropy()(y, np.tile(p, (len(y), 1)))
    np.testing.assert_allclose(diagnostics.trivial_loss(model._trainer, [y]), prior, rtol=1e-5)
    xr, yr = linear_data(500)
    model = mlp(units=1, activation=None, loss="mse", d=8, metrics=())
    model.fit(xr, yr, epochs=0, verbose=0)
    mean = keras.losses.MeanSquaredError()(yr, np.full_like(yr, yr.mean()))
    np.testing.assert_allclose(diagnostics.trivial_loss(model._trainer, [yr]), mean, rtol=1e-5)
