"""ReLU, LeakyReLU, PReLU, ELU, Softmax layers: Keras 3 as oracle, contracts, configs,
`.keras` files both ways, errors."""
import warnings

import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle import layers
from gazelle.testing import run_layer_test


def _random(shape, seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * 3).astype("float32")


@pytest.mark.parametrize("name, kwargs", [
    ("ReLU", {}),
    ("ReLU", {"max_value": 2.0}),
    ("ReLU", {"negative_slope": 0.1, "threshold": 0.5}),
    ("ReLU", {"max_value": 3.0, "negative_slope": 0.2, "threshold": 1.0}),
    ("LeakyReLU", {}),
    ("LeakyReLU", {"negative_slope": 0.05}),
    ("ELU", {}),
    ("ELU", {"alpha": 0.5}),
    ("Softmax", {}),
    ("Softmax", {"axis": 1}),
    ("Softmax", {"axis": [1, 2]}),
])
def test_matches_keras(name, kwargs):
    x = _random((2, 3, 4))
    ours, theirs = getattr(layers, name)(**kwargs), getattr(k3.layers, name)(**kwargs)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-6,
                               atol=1e-6)
    assert set(ours.get_config()) == set(theirs.get_config())
    run_layer_test(getattr(layers, name), kwargs, (2, 3, 4), (2, 3, 4))


@pytest.mark.parametrize("mask_shape", [(2, 3, 4), (2, 1, 4), (4,)])
def test_softmax_mask_matches_keras(mask_shape):
    x = _random((2, 3, 4))
    mask = np.random.default_rng(1).random(mask_shape) < 0.6
    for axis in (-1, [1, 2]):
        ours, theirs = layers.Softmax(axis=axis), k3.layers.Softmax(axis=axis)
        got = np.asarray(ours(x, mask=mask))
        np.testing.assert_allclose(got, np.asarray(theirs(x, mask=mask)), rtol=1e-6,
                                   atol=1e-6)
        assert np.all(got[np.broadcast_to(~mask, got.shape)] == 0)
    float_mask = mask.astype("float32")
    np.testing.assert_allclose(np.asarray(layers.Softmax()(x, mask=float_mask)),
                               np.asarray(k3.layers.Softmax()(x, mask=float_mask)), atol=1e-6)


@pytest.mark.parametrize("kwargs, shape", [
    ({}, (2, 3, 4)),
    ({"shared_axes": [1, 2]}, (2, 3, 4, 5)),
    ({"shared_axes": 1, "alpha_initializer": "ones"}, (2, 3, 4)),
])
def test_prelu_matches_keras(kwargs, shape):
    x = _random(shape)
    ours, theirs = layers.PReLU(**kwargs), k3.layers.PReLU(**kwargs)
    ours(x)
    theirs(x)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights] == ["alpha"]
    np.testing.assert_allclose(ours.get_weights()[0], theirs.get_weights()[0])  # initializer
    alpha = np.random.default_rng(2).random(ours.get_weights()[0].shape).astype("float32")
    ours.set_weights([alpha])
    theirs.set_weights([alpha])
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-6, atol=1e-6)
    assert set(ours.get_config()) == set(theirs.get_config())
    run_layer_test(layers.PReLU, kwargs, shape, shape, 1)


def test_leaky_relu_accepts_tf_keras_alpha():
    with pytest.warns(UserWarning, match="alpha.*deprecated"):
        layer = layers.LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1
    np.testing.assert_allclose(np.asarray(layer(np.array([-10.0, 5.0], "float32"))), [-1, 5])


def test_keras_files_cross_over(tmp_path):
    def build(lib):
        return lib.Sequential([
            lib.Input((6,)), lib.layers.Dense(8), lib.layers.PReLU(),
            lib.layers.LeakyReLU(negative_slope=0.1), lib.layers.ReLU(max_value=4.0),
            lib.layers.Dense(5), lib.layers.ELU(), lib.layers.Softmax()])

    x = _random((3, 6))
    ours = build(keras)
    ours.set_weights([w + 0.1 for w in ours.get_weights()])
    expected = ours.predict(x, verbose=0)
    ours.save(tmp_path / "g.keras")
    theirs = k3.saving.load_model(tmp_path / "g.keras")
    np.testing.assert_allclose(theirs.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    theirs.save(tmp_path / "k.keras")
    back = keras.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(back.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert [type(layer).__name__ for layer in back.layers][1:4] == ["PReLU", "LeakyReLU", "ReLU"]


def test_elu_alpha_survives_a_round_trip():
    layer = layers.ELU.from_config(layers.ELU(alpha=0.5).get_config())
    assert layer.alpha == 0.5


def test_errors():
    with pytest.raises(ValueError, match="max_value"):
        layers.ReLU(max_value=-1)
    with pytest.raises(ValueError, match="negative_slope"):
        layers.ReLU(negative_slope=None)
    with pytest.raises(ValueError, match="threshold"):
        layers.ReLU(threshold=-0.5)
    with pytest.raises(ValueError, match="negative_slope"):
        layers.LeakyReLU(negative_slope=-0.1)
    with pytest.raises(TypeError, match="axis"):
        layers.Softmax(axis="last")
    with pytest.raises(ValueError, match="shared_axes"):
        layers.PReLU(shared_axes=[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="mask.*broadcastable"):
            layers.Softmax()(_random((2, 3)), mask=np.ones((2, 5), bool))
    prelu = layers.PReLU(name="pr")
    prelu(_random((2, 3)))
    with pytest.raises(ValueError, match="pr.*size 3 on axis 1"):
        prelu(_random((2, 4)))
