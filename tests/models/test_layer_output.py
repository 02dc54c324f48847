"""`layer.input` / `layer.output` and a Sequential's `input`/`output`, as in Keras 3: the
feature-extractor and layer-activations patterns of the course build on them."""
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras as K  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gazelle as keras  # noqa: E402


def _sequential(lib):
    return lib.Sequential([lib.Input((6,)), lib.layers.Dense(5, activation="relu", name="a"),
                           lib.layers.Dense(4, activation="relu", name="b"),
                           lib.layers.Dense(3, name="c")])


def test_activation_model_of_a_sequential_matches_keras():
    ours, theirs = _sequential(keras), _sequential(K)
    ours.set_weights(theirs.get_weights())
    x = np.random.default_rng(0).normal(size=(7, 6)).astype("float32")
    got = keras.Model(ours.input, [layer.output for layer in ours.layers]).predict(x, verbose=0)
    want = K.Model(theirs.inputs, [layer.output for layer in theirs.layers]).predict(x, verbose=0)
    assert len(got) == len(want) == 3
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    assert ours.layers[0].input is ours.input
    assert ours.output is ours.layers[-1].output
    assert ours.inputs == [ours.input] and ours.outputs == [ours.output]


def test_feature_extractor_from_a_functional_layer():
    inp = keras.Input((6,))
    hidden = keras.layers.Dense(4, name="hidden")
    out = keras.layers.Dense(2, name="head")(hidden(inp))
    model = keras.Model(inp, out)
    features = keras.Model(model.input, model.get_layer("hidden").output)
    x = np.ones((3, 6), "float32")
    np.testing.assert_allclose(features.predict(x, verbose=0),
                               hidden(x), rtol=1e-6)
    assert model.get_layer("head").input is hidden.output
    # the first call is the one that counts (Keras), and an InputLayer has no inputs
    hidden(keras.Input((6,)))
    assert hidden.output.shape == (None, 4) and model.get_layer("head").input is hidden.output
    assert inp.node.layer.input == [] and inp.node.layer.output is inp


def test_multiple_outputs_are_a_list():
    inp = keras.Input((5, 3))
    lstm = keras.layers.LSTM(2, return_state=True)
    lstm(inp)
    assert isinstance(lstm.output, list) and [t.shape for t in lstm.output] == [(None, 2)] * 3


def test_never_called_layer_and_unbuilt_sequential_say_what_to_do():
    with pytest.raises(AttributeError, match="never been called.*keras.Input"):
        keras.layers.Dense(3).output
    model = keras.Sequential([keras.layers.Dense(3)])
    with pytest.raises(AttributeError, match="never been called"):
        model.layers[0].output
    with pytest.raises(AttributeError, match="not built"):
        model.output
    model.build((None, 4))
    assert model.layers[0].output.shape == (None, 3)
    assert not hasattr(keras.Sequential([keras.layers.Dense(3)]), "input")


def test_adding_a_layer_extends_the_graph():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    assert model.output.shape == (None, 3)
    model.add(keras.layers.Dense(2))
    assert model.output.shape == (None, 2)
    model.pop()
    assert model.output.shape == (None, 3)
