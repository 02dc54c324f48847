"""Normalization (adapt on the host) and Rescaling, with Keras 3 as oracle."""
import jax
import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle.layers.preprocessing import Normalization, Rescaling
from gazelle.testing import run_layer_test


def _data(shape, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * rng.uniform(1, 5, shape[-1:]) + 3).astype("float32")


def test_contracts():
    run_layer_test(Normalization, {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0]},
                   (4, 3), (4, 3))
    run_layer_test(Rescaling, {"scale": 1 / 255, "offset": -0.5}, (2, 4, 4, 3), (2, 4, 4, 3))


@pytest.mark.parametrize("axis, shape", [(-1, (50, 3)), (None, (40, 3)), ((1, 2), (30, 3, 4)),
                                         (1, (30, 3, 4))])
def test_adapt_matches_keras(axis, shape):
    x = _data(shape)
    ours, theirs = Normalization(axis=axis), k3.layers.Normalization(axis=axis)
    ours.adapt(x)
    theirs.adapt(x)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    for a, b in zip(ours.get_weights()[:2], theirs.get_weights()[:2]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)


def test_adapt_on_batches_equals_adapt_on_the_whole_array():
    x = _data((70, 4))
    whole, batched = Normalization(), Normalization()
    whole.adapt(x)
    batched.adapt(x[i:i + 16] for i in range(0, 70, 16))   # a generator of batches
    for a, b in zip(whole.get_weights(), batched.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(whole.get_weights()[0], x.mean(axis=0), rtol=1e-5)


@pytest.mark.parametrize("invert", [False, True])
def test_given_mean_and_variance_match_keras(invert):
    x = _data((5, 3))
    kwargs = {"mean": [1.0, 2.0, 3.0], "variance": [4.0, 0.0, 9.0], "invert": invert}
    ours, theirs = Normalization(**kwargs), k3.layers.Normalization(**kwargs)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-6)
    assert ours.weights == []
    scalar = Normalization(mean=2.0, variance=4.0)
    np.testing.assert_allclose(np.asarray(scalar(x)), (x - 2) / 2, rtol=1e-6)
    assert set(ours.get_config()) == set(theirs.get_config())
    assert ours.get_config()["mean"] == [1.0, 2.0, 3.0]


def test_adapted_layer_runs_under_jit_and_in_fit():
    x = _data((64, 3))
    y = x.sum(axis=1, keepdims=True)
    norm = Normalization()
    norm.adapt(x)
    ntv = [v.value for v in norm.non_trainable_variables]
    out, _ = jax.jit(lambda n: norm.stateless_call([], n, x))(ntv)
    np.testing.assert_allclose(np.asarray(out), (x - x.mean(0)) / x.std(0), rtol=1e-4, atol=1e-4)
    model = keras.Sequential([norm, keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_allclose(norm.get_weights()[0], x.mean(0), rtol=1e-5)   # not trained


def test_normalization_errors():
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        Normalization(mean=1.0)
    with pytest.raises(ValueError, match="same shape"):
        Normalization(mean=[1.0, 2.0], variance=[1.0])
    with pytest.raises(TypeError, match="axis"):
        Normalization(axis="features")
    layer = Normalization(name="norm")
    layer.adapt(_data((10, 3)))
    with pytest.raises(ValueError, match="norm.*size 3 on axis 1.*received shape"):
        layer.adapt(_data((10, 4)))
    with pytest.raises(ValueError, match="norm.*received shape"):
        layer(_data((2, 4)))
    with pytest.raises(ValueError, match="cannot be adapted"):
        Normalization(mean=0.0, variance=1.0).adapt(_data((4, 2)))
    with pytest.raises(ValueError, match="empty"):
        Normalization().adapt(iter([]))
    with pytest.raises(TypeError, match="adapt"):
        Normalization().adapt(3.0)


def test_rescaling_matches_keras_and_casts_uint8():
    x = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 3)).astype("uint8")
    for kwargs in ({"scale": 1 / 255}, {"scale": 1 / 127.5, "offset": -1}):
        ours, theirs = Rescaling(**kwargs), k3.layers.Rescaling(**kwargs)
        y = np.asarray(ours(x))
        assert y.dtype == np.float32
        np.testing.assert_allclose(y, np.asarray(theirs(x)), rtol=1e-6)
        assert set(ours.get_config()) == set(theirs.get_config())
        assert ours.get_config()["scale"] == theirs.get_config()["scale"]
    with pytest.raises(TypeError, match="scale"):
        Rescaling("big")
