"""model.find_learning_rate: the learning-rate range test (gazelle only; Keras has none)."""
import numpy as np
import pytest

import gazelle as keras
from doctor_helpers import blobs, mlp


def state(model):
    return [np.array(v.value) for v in model.weights + model.optimizer.variables]


def test_range_test_leaves_the_model_untouched_and_suggests_a_rate():
    x, y = blobs(1000)
    model = mlp(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9))
    model.fit(x, y, epochs=0, verbose=0)                      # builds the optimizer
    before = state(model)
    result = model.find_learning_rate(x, y, num_steps=150, seed=0)
    for a, b in zip(before, state(model)):
        np.testing.assert_array_equal(a, b)
    lrs, losses, suggested = result
    assert len(lrs) == len(losses) <= 150
    assert lrs[0] == pytest.approx(1e-7)
    np.testing.assert_allclose(np.diff(np.log(lrs)), np.log(1e8) / 149, rtol=1e-6)
    assert np.isfinite(losses).all()
    assert len(losses) < 150                                  # stopped where it diverged
    assert suggested == pytest.approx(lrs[np.argmin(losses)] / 10)
    assert 1e-4 < suggested < 1.0
    # Training afterwards is exactly what it would have been without the range test.
    fresh = mlp(optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9))
    fresh.fit(x, y, epochs=0, verbose=0)
    keras.utils.set_random_seed(1)
    a = model.fit(x, y, epochs=1, verbose=0, doctor=False).history["loss"]
    keras.utils.set_random_seed(1)
    b = fresh.fit(x, y, epochs=1, verbose=0, doctor=False).history["loss"]
    assert a == b


def test_the_suggested_rate_trains_better_than_a_timid_one():
    x, y = blobs(1000)
    model = mlp()
    suggested = model.find_learning_rate(x, y, num_steps=150, seed=0).suggested_lr
    losses = {}
    for lr in (suggested, 1e-4):
        model = mlp(optimizer=keras.optimizers.SGD(learning_rate=lr))
        losses[lr] = model.fit(x, y, epochs=2, verbose=0, doctor=False).history["loss"][-1]
    assert losses[suggested] < 0.5 * losses[1e-4]


@pytest.mark.parametrize("kwargs, match", [
    ({"start_lr": 0}, "`start_lr` must be a positive number; received 0"),
    ({"end_lr": 1e-8}, r"`end_lr` \(1e-08\) must be larger than `start_lr`"),
    ({"num_steps": 1}, "`num_steps` must be an int >= 2; received 1"),
    ({"batch_size": "32"}, "`batch_size` must be an int >= 1; received '32'"),
])
def test_bad_arguments(kwargs, match):
    x, y = blobs(64)
    with pytest.raises(ValueError, match=match):
        mlp().find_learning_rate(x, y, **kwargs)


def test_needs_a_compiled_model_with_a_float_learning_rate():
    x, y = blobs(64)
    model = keras.models.Sequential([keras.layers.Dense(10, input_shape=(20,))])
    with pytest.raises(ValueError, match="compile"):
        model.find_learning_rate(x, y)
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 100, 0.9)
    model = mlp(optimizer=keras.optimizers.SGD(learning_rate=schedule))
    with pytest.raises(ValueError, match="schedule"):
        model.find_learning_rate(x, y)
