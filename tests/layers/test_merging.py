"""Merge layers: Keras 3 as oracle, the functional helpers in a Functional model (the
Wide & Deep pattern), config round trip, and shape errors that name the layer."""
import jax
import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle.layers import merging

NAMES = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]


def _inputs(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype("float32") for s in shapes]


@pytest.mark.parametrize("name", NAMES)
def test_elementwise_layers_match_keras(name):
    n = 2 if name == "Subtract" else 3
    xs = _inputs(*[(4, 5)] * n)
    ours = getattr(merging, name)()
    theirs = getattr(k3.layers, name)()
    np.testing.assert_allclose(np.asarray(ours(xs)), np.asarray(theirs(xs)), rtol=1e-6)
    helper = getattr(merging, name.lower())
    np.testing.assert_allclose(np.asarray(helper(xs)), np.asarray(theirs(xs)), rtol=1e-6)
    assert set(ours.get_config()) == set(theirs.get_config())
    clone = type(ours).from_config(ours.get_config())
    np.testing.assert_allclose(np.asarray(clone(xs)), np.asarray(ours(xs)))


def test_broadcasting_and_rank_expansion_match_keras():
    a, b, c = _inputs((3, 4), (3, 2, 4), (3, 1, 4))
    for name in ("Add", "Multiply", "Maximum"):
        ours = getattr(merging, name)()([a, b, c])
        theirs = getattr(k3.layers, name)()([a, b, c])
        assert ours.shape == (3, 2, 4)
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-6)


@pytest.mark.parametrize("axis, shapes", [(-1, [(2, 3), (2, 5)]), (1, [(2, 1, 4), (2, 3, 4)]),
                                          (2, [(2, 3, 1), (2, 3, 2), (2, 3, 3)])])
def test_concatenate_matches_keras(axis, shapes):
    xs = _inputs(*shapes)
    ours = merging.Concatenate(axis=axis)
    theirs = k3.layers.Concatenate(axis=axis)
    np.testing.assert_array_equal(np.asarray(ours(xs)), np.asarray(theirs(xs)))
    assert ours.get_config()["axis"] == axis
    assert set(ours.get_config()) == set(theirs.get_config())


def test_wide_and_deep_functional_model_matches_keras():
    x = _inputs((6, 8))[0]

    def build(lib, concatenate):
        input_ = lib.Input(shape=(8,))
        hidden1 = lib.layers.Dense(30, activation="relu")(input_)
        hidden2 = lib.layers.Dense(30, activation="relu")(hidden1)
        concat = concatenate([input_, hidden2])
        output = lib.layers.Dense(1)(concat)
        return lib.Model(inputs=[input_], outputs=[output]), concat

    ours, concat = build(keras, merging.concatenate)
    theirs, _ = build(k3, k3.layers.concatenate)
    assert concat.shape == (None, 38)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-5)


def test_symbolic_output_shapes():
    a, b = keras.Input(shape=(5,)), keras.Input(shape=(5,))
    assert merging.add([a, b]).shape == (None, 5)
    assert merging.Concatenate(axis=1)([a, b]).shape == (None, 10)
    c = keras.Input(shape=(3, 5))
    assert merging.multiply([a, c]).shape == (None, 3, 5)


def test_jitted_stateless_call_equals_eager():
    xs = _inputs((2, 3), (2, 3))
    layer = merging.Average()
    eager = np.asarray(layer(xs))
    jitted, _ = jax.jit(lambda xs: layer.stateless_call([], [], xs))(xs)
    np.testing.assert_allclose(np.asarray(jitted), eager)


def test_shape_errors_name_the_layer():
    a, b = _inputs((2, 3), (2, 4))
    with pytest.raises(ValueError, match=r"'plus'.*incompatible shapes \[\(2, 3\), \(2, 4\)\]"):
        merging.Add(name="plus")([a, b])
    with pytest.raises(ValueError, match=r"'cat'.*except for the concatenation axis"):
        merging.Concatenate(axis=0, name="cat")([a, b])
    with pytest.raises(ValueError, match=r"same rank"):
        merging.concatenate([a, _inputs((2, 3, 1))[0]])
    with pytest.raises(ValueError, match=r"different batch sizes"):
        merging.add([a, _inputs((3, 3))[0]])
    with pytest.raises(ValueError, match=r"'minus'.*exactly 2 inputs"):
        merging.Subtract(name="minus")([a, a, a])
    with pytest.raises(ValueError, match=r"list of inputs"):
        merging.Add()(a)
    with pytest.raises(ValueError, match=r"incompatible shapes"):
        merging.add([keras.Input(shape=(3,)), keras.Input(shape=(4,))])
    with pytest.raises(TypeError, match="axis"):
        merging.Concatenate(axis="last")
