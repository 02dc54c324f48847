"""RMSNormalization, GroupNormalization, UnitNormalization: Keras 3 as oracle, contracts,
configs, `.keras` files both ways, errors."""
import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle import layers
from gazelle.testing import run_layer_test


def _random(shape, seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * 2 + 0.5).astype("float32")


def _compare(name, kwargs, shape):
    x = _random(shape)
    ours, theirs = getattr(layers, name)(**kwargs), getattr(k3.layers, name)(**kwargs)
    ours(x)
    theirs(x)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    rng = np.random.default_rng(1)
    weights = [rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5,
                               atol=1e-5)
    assert set(ours.get_config()) == set(theirs.get_config())
    assert ours.get_config()["axis"] == theirs.get_config()["axis"]


@pytest.mark.parametrize("kwargs, shape", [
    ({}, (2, 3, 4)),
    ({"axis": [1, 2], "epsilon": 1e-3}, (2, 3, 4)),
    ({"axis": -1}, (4, 5)),
])
def test_rms_normalization_matches_keras(kwargs, shape):
    _compare("RMSNormalization", kwargs, shape)


@pytest.mark.parametrize("kwargs, shape", [
    ({"groups": 2}, (2, 3, 4)),
    ({"groups": -1}, (2, 5, 6)),
    ({"groups": 1, "center": False}, (2, 4, 4, 6)),
    ({"groups": 3, "axis": 1, "scale": False, "epsilon": 1e-5}, (2, 6, 4)),
    ({"groups": 4, "axis": 3}, (2, 3, 3, 8)),
])
def test_group_normalization_matches_keras(kwargs, shape):
    _compare("GroupNormalization", kwargs, shape)


@pytest.mark.parametrize("kwargs, shape", [({}, (2, 5)), ({"axis": [1, 2]}, (2, 3, 4)),
                                           ({"axis": 1}, (2, 3, 4))])
def test_unit_normalization_matches_keras(kwargs, shape):
    _compare("UnitNormalization", kwargs, shape)
    y = np.asarray(layers.UnitNormalization(**kwargs)(_random(shape)))
    axis = tuple(kwargs.get("axis", [-1])) if isinstance(kwargs.get("axis", -1), list) else (
        kwargs.get("axis", -1),)
    np.testing.assert_allclose(np.sqrt((y ** 2).sum(axis=axis)), 1, rtol=1e-5)


def test_contracts():
    run_layer_test(layers.RMSNormalization, {}, (2, 3, 4), (2, 3, 4), 1)
    run_layer_test(layers.GroupNormalization, {"groups": 2}, (2, 3, 4), (2, 3, 4), 2)
    run_layer_test(layers.UnitNormalization, {"axis": [1, 2]}, (2, 3, 4), (2, 3, 4))


def test_keras_files_cross_over(tmp_path):
    def build(lib):
        return lib.Sequential([lib.Input((4, 6)), lib.layers.Dense(8),
                               lib.layers.GroupNormalization(groups=4),
                               lib.layers.RMSNormalization(),
                               lib.layers.UnitNormalization(), lib.layers.Dense(2)])

    x = _random((3, 4, 6))
    ours = build(keras)
    ours.set_weights([w * 1.1 + 0.05 for w in ours.get_weights()])
    expected = ours.predict(x, verbose=0)
    ours.save(tmp_path / "g.keras")
    theirs = k3.saving.load_model(tmp_path / "g.keras")
    np.testing.assert_allclose(theirs.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    theirs.save(tmp_path / "k.keras")
    back = keras.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(back.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)


def test_errors():
    with pytest.raises(ValueError, match="groups"):
        layers.GroupNormalization(groups=0)
    with pytest.raises(ValueError, match="cannot be more than the number of channels"):
        layers.GroupNormalization(groups=8)(_random((2, 4)))
    with pytest.raises(ValueError, match="divisor of the number of channels"):
        layers.GroupNormalization(groups=3)(_random((2, 4)))
    with pytest.raises(TypeError, match="axis"):
        layers.UnitNormalization(axis="x")
    with pytest.raises(TypeError, match="axis"):
        layers.RMSNormalization(axis=1.5)
    with pytest.raises(ValueError, match="out of bounds"):
        layers.RMSNormalization(axis=3)(_random((2, 4)))
    norm = layers.GroupNormalization(groups=2, name="gn")
    norm(_random((2, 4)))
    with pytest.raises(ValueError, match="gn.*4 channels"):
        norm(_random((2, 6)))
