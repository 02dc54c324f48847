"""CosineDecayRestarts against keras.optimizers.schedules (Keras 3, JAX backend)."""
import jax
import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle.optimizers import schedules

STEPS = np.arange(0, 320)
CASES = [
    (0.1, 10, {}),
    (0.1, 10, {"t_mul": 1.0}),
    (0.05, 7, {"t_mul": 1.0, "m_mul": 0.5, "alpha": 0.2}),
    (1.0, 20, {"t_mul": 1.5, "m_mul": 0.8, "alpha": 0.1}),
    (0.3, 5, {"t_mul": 3.0, "m_mul": 0.5}),
    (0.01, 100, {"alpha": 0.05, "name": "sgdr"}),
]


@pytest.mark.sweep
@pytest.mark.parametrize("lr, first, kwargs", CASES)
def test_values_over_steps_equal_keras(lr, first, kwargs):
    ours = schedules.CosineDecayRestarts(lr, first, **kwargs)
    theirs = k3.optimizers.schedules.CosineDecayRestarts(lr, first, **kwargs)
    got = np.asarray(jax.jit(jax.vmap(ours))(STEPS))
    want = np.array([float(theirs(s)) for s in STEPS[::7]])
    assert got.dtype == np.float32
    np.testing.assert_allclose(got[::7], want, rtol=1e-5, atol=1e-6 * lr)
    # Eager calls on Python ints agree with the compiled ones.
    for s in (0, first - 1, first, 3 * first + 1):
        np.testing.assert_allclose(float(ours(s)), float(theirs(s)), rtol=1e-5, atol=1e-7)


def test_restarts_peak_and_floor():
    lr = schedules.CosineDecayRestarts(1.0, 10, t_mul=2.0, m_mul=0.5, alpha=0.1)
    # Period 1 spans steps [0, 10), period 2 [10, 30), period 3 [30, 70).
    np.testing.assert_allclose([float(lr(s)) for s in (0, 10, 30)], [1.0, 0.55, 0.325],
                               rtol=1e-6)
    assert float(lr(9)) < float(lr(10)) and float(lr(29)) < float(lr(30))
    assert min(float(lr(s)) for s in range(70)) >= 0.1 - 1e-7


def test_config_and_serialization_like_keras():
    ours = schedules.CosineDecayRestarts(0.1, 50, t_mul=1.5, m_mul=0.9, alpha=0.01)
    theirs = k3.optimizers.schedules.CosineDecayRestarts(0.1, 50, t_mul=1.5, m_mul=0.9,
                                                        alpha=0.01)
    assert ours.get_config() == theirs.get_config()
    assert schedules.serialize(ours) == k3.optimizers.schedules.serialize(theirs)
    again = schedules.deserialize(schedules.serialize(ours))
    assert type(again) is schedules.CosineDecayRestarts
    assert again.get_config() == ours.get_config()
    back = k3.optimizers.schedules.deserialize(schedules.serialize(ours))
    np.testing.assert_allclose(float(back(77)), float(ours(77)), rtol=1e-6)


def test_bad_first_decay_steps_names_the_argument():
    with pytest.raises(ValueError, match="first_decay_steps"):
        schedules.CosineDecayRestarts(0.1, 0)
    with pytest.raises(ValueError, match="first_decay_steps"):
        k3.optimizers.schedules.CosineDecayRestarts(0.1, 0)


def test_sgd_follows_the_schedule_in_fit_like_keras(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = rng.normal(size=(32, 1)).astype("float32")
    ours = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    theirs = k3.Sequential([k3.Input((4,)), k3.layers.Dense(1)])
    theirs.set_weights([np.asarray(w) for w in ours.get_weights()])
    ours.compile(keras.optimizers.SGD(schedules.CosineDecayRestarts(0.1, 3, m_mul=0.7)), "mse")
    theirs.compile(k3.optimizers.SGD(
        k3.optimizers.schedules.CosineDecayRestarts(0.1, 3, m_mul=0.7)), "mse")
    h1 = ours.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"]
    h2 = theirs.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h1, h2, rtol=1e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert (ours.optimizer.get_config()["learning_rate"]
            == theirs.optimizer.get_config()["learning_rate"])
    ours.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert (loaded.optimizer.get_config()["learning_rate"]
            == ours.optimizer.get_config()["learning_rate"])
