"""BatchNormalization and LayerNormalization: contract, Keras 3 as oracle (outputs,
moving statistics, weights after fit), trainable=False semantics, errors."""
import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle.layers.normalization import BatchNormalization, LayerNormalization
from gazelle.testing import run_layer_test


def _random(shape, seed=0, loc=0.0, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale + loc).astype("float32")


def _randomize(layer, seed=1):
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32")
                       for w in layer.get_weights()])


def test_contracts():
    run_layer_test(BatchNormalization, {}, (4, 3), (4, 3), 2, 2)
    run_layer_test(BatchNormalization, {"axis": 1, "center": False}, (2, 3, 4, 5),
                   (2, 3, 4, 5), 1, 2)
    run_layer_test(LayerNormalization, {}, (4, 3), (4, 3), 2)
    run_layer_test(LayerNormalization, {"axis": [1, 2], "scale": False}, (2, 3, 4),
                   (2, 3, 4), 1)


@pytest.mark.parametrize("kwargs, shape", [
    ({}, (8, 5)),
    ({"axis": 1, "momentum": 0.9, "epsilon": 1e-5}, (4, 3, 2, 2)),
    ({"axis": -1, "center": False}, (4, 3, 6)),
    ({"scale": False}, (6, 2)),
])
def test_batchnorm_matches_keras_in_both_modes(kwargs, shape):
    x = _random(shape, loc=2.0, scale=3.0)
    ours, theirs = BatchNormalization(**kwargs), k3.layers.BatchNormalization(**kwargs)
    ours(x)
    theirs(x)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    _randomize(ours)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x, training=False)),
                               np.asarray(theirs(x, training=False)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(ours(x, training=True)),
                               np.asarray(theirs(x, training=True)), rtol=1e-5, atol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)   # moving stats updated alike


def test_batchnorm_training_uses_batch_statistics():
    x = _random((64, 3), loc=5.0, scale=2.0)
    layer = BatchNormalization()
    y = np.asarray(layer(x, training=True))
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(y.std(axis=0), 1, atol=1e-3)
    mm, mv = layer.get_weights()[2:]
    np.testing.assert_allclose(mm, 0.01 * x.mean(axis=0), rtol=1e-4)
    np.testing.assert_allclose(mv, 0.99 + 0.01 * x.var(axis=0), rtol=1e-4)


def test_batchnorm_trainable_false_runs_in_inference_mode():
    x = _random((16, 3), loc=5.0)
    layer = BatchNormalization()
    layer(x)
    layer.trainable = False
    before = layer.get_weights()
    np.testing.assert_allclose(np.asarray(layer(x, training=True)),
                               np.asarray(layer(x, training=False)))
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 4


def test_batchnorm_end_to_end_fit_matches_keras():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 4)).astype("float32") * 3 + 1
    y = (x @ rng.standard_normal((4, 1)) + 0.5).astype("float32")

    def build(lib, bn_cls):
        model = lib.Sequential([lib.Input(shape=(4,)), lib.layers.Dense(6, activation="relu"),
                                bn_cls(momentum=0.9), lib.layers.Dense(1)])
        model.compile(optimizer=lib.optimizers.SGD(learning_rate=0.01), loss="mse")
        return model

    ours, theirs = build(keras, BatchNormalization), build(k3, k3.layers.BatchNormalization)
    theirs.set_weights(ours.get_weights())
    ours.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    theirs.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    names = [w.name for w in theirs.weights]
    assert "moving_mean" in names and "moving_variance" in names
    for name, a, b in zip(names, ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kwargs, shape", [
    ({}, (4, 6)),
    ({"axis": [1, 2], "epsilon": 1e-6}, (2, 3, 4)),
    ({"axis": 1, "center": False}, (3, 5, 2)),
])
def test_layernorm_matches_keras(kwargs, shape):
    x = _random(shape, loc=1.0, scale=2.0)
    ours, theirs = LayerNormalization(**kwargs), k3.layers.LayerNormalization(**kwargs)
    ours(x)
    theirs(x)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    _randomize(ours)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)


def test_config_keys_match_keras():
    for ours, theirs in [(BatchNormalization(), k3.layers.BatchNormalization()),
                         (LayerNormalization(), k3.layers.LayerNormalization())]:
        assert set(ours.get_config()) == set(theirs.get_config())
    config = BatchNormalization(momentum=0.9, epsilon=1e-5, axis=1).get_config()
    assert (config["momentum"], config["epsilon"], config["axis"]) == (0.9, 1e-5, 1)
    assert config["gamma_initializer"]["class_name"] == "Ones"


def test_errors_name_the_layer():
    layer = BatchNormalization(name="bn")
    layer(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="bn.*size 3 on axis -1.*received shape"):
        layer(np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match="bn.*ndim=2"):
        layer(np.zeros((2, 3, 3), "float32"))
    with pytest.raises(ValueError, match="axis 3 is out of bounds"):
        BatchNormalization(axis=3)(np.zeros((2, 3), "float32"))
    with pytest.raises(TypeError, match="axis"):
        BatchNormalization(axis="last")
    with pytest.raises(TypeError, match="axis"):
        LayerNormalization(axis=1.5)
    ln = LayerNormalization(name="ln")
    ln(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="ln.*received shape"):
        ln(np.zeros((2, 5), "float32"))
