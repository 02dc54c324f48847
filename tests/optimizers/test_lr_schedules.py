"""Differential: learning-rate schedules equal Keras 3's, eagerly and under jit."""
import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from gazelle.optimizers import schedules

STEPS = [0, 1, 2, 3, 5, 9, 10, 11, 20, 99, 100, 101, 1000]

CASES = [
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5)),
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5,
                              staircase=True)),
    ("PiecewiseConstantDecay", dict(boundaries=[2, 10, 100], values=[1.0, 0.5, 0.1, 0.01])),
    ("PiecewiseConstantDecay", dict(boundaries=[5], values=[0.3, 0.2])),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=20)),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=20, end_learning_rate=0.01,
                             power=0.5, cycle=True)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.5)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=0.5,
                              staircase=True)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=50)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=50, alpha=0.1)),
    ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=50, warmup_target=0.2,
                         warmup_steps=10)),
]


@pytest.mark.parametrize("cls_name, kwargs", CASES)
def test_schedule_matches_keras(cls_name, kwargs):
    ours = getattr(schedules, cls_name)(**kwargs)
    theirs = getattr(keras.optimizers.schedules, cls_name)(**kwargs)
    expected = np.array([np.asarray(theirs(np.int32(s))) for s in STEPS])
    eager = np.array([np.asarray(ours(jnp.int32(s))) for s in STEPS])
    jitted = np.asarray(jax.jit(jax.vmap(ours))(jnp.array(STEPS, jnp.int32)))
    assert eager.dtype == expected.dtype == np.float32
    np.testing.assert_allclose(eager, expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(jitted, expected, rtol=1e-6, atol=1e-8)
    assert len(set(expected.round(8))) > 1  # the steps cover a change


@pytest.mark.parametrize("cls_name, kwargs", CASES)
def test_schedule_config_and_serialization_match_keras(cls_name, kwargs):
    ours = getattr(schedules, cls_name)(**kwargs)
    theirs = getattr(keras.optimizers.schedules, cls_name)(**kwargs)
    assert ours.get_config() == theirs.get_config()
    assert schedules.serialize(ours) == keras.optimizers.schedules.serialize(theirs)
    restored = schedules.deserialize(keras.optimizers.schedules.serialize(theirs))
    assert type(restored) is type(ours) and restored.get_config() == ours.get_config()


def test_custom_schedule_subclass_and_custom_objects():
    class Halving(schedules.LearningRateSchedule):
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, step):
            return self.rate * 0.5 ** jnp.asarray(step, jnp.float32)

        def get_config(self):
            return {"rate": self.rate}

    config = schedules.serialize(Halving(0.8))
    restored = schedules.deserialize(config, custom_objects={"Halving": Halving})
    assert float(restored(2)) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="Halving.*Valid names"):
        schedules.deserialize(config)
    with pytest.raises(NotImplementedError, match="__call__"):
        schedules.LearningRateSchedule()(0)


@pytest.mark.parametrize("make, match", [
    (lambda: schedules.ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
    (lambda: schedules.PolynomialDecay(0.1, -5), "decay_steps"),
    (lambda: schedules.InverseTimeDecay(0.1, 0, 0.5), "decay_steps"),
    (lambda: schedules.CosineDecay(0.1, 0), "decay_steps"),
    (lambda: schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2]), "boundaries"),
])
def test_bad_schedule_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_deserialize_rejects_non_dict():
    with pytest.raises(TypeError, match="class_name"):
        schedules.deserialize("ExponentialDecay")
