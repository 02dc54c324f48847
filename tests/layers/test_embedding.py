"""Embedding: contract, Keras 3 as oracle, integer inputs, host-side id checks,
tf.keras 2's input_length and pretrained `weights=`."""
import jax
import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle.layers.embedding import Embedding
from gazelle.testing import run_layer_test


def test_contract_with_integer_inputs():
    layer = run_layer_test(Embedding, {"input_dim": 10, "output_dim": 4}, (3, 5), (3, 5, 4),
                           expected_num_trainable_weights=1, input_dtype="int32")
    assert [w.name for w in layer.weights] == ["embeddings"]


def test_matches_keras():
    ids = np.random.default_rng(0).integers(0, 20, (4, 7))
    ours, theirs = Embedding(20, 3), k3.layers.Embedding(20, 3)
    ours(ids)
    theirs(ids)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(np.asarray(ours(ids)), np.asarray(theirs(ids)))
    # float ids are cast to integers, as Keras does
    np.testing.assert_allclose(np.asarray(ours(ids.astype("float32"))),
                               np.asarray(theirs(ids.astype("float32"))))
    keys = set(theirs.get_config()) - {"quantization_config"}   # no quantization in gazelle
    assert set(ours.get_config()) == keys


def test_default_initializer_is_uniform_005():
    layer = Embedding(500, 40)
    layer(np.zeros((1, 1), "int32"))
    w = layer.get_weights()[0]
    assert np.all(np.abs(w) <= 0.05) and w.std() > 0.02
    assert layer.get_config()["embeddings_initializer"]["class_name"] == "RandomUniform"


def test_out_of_range_ids_raise_on_the_host():
    layer = Embedding(10, 2, name="words")
    with pytest.raises(ValueError, match=r"words.*input_dim=10.*max id 10"):
        layer(np.array([[1, 10]]))
    # Keras 3 wraps -1 to the last row; gazelle reports it, as a negative id is a bug.
    with pytest.raises(ValueError, match=r"min id -1"):
        layer(np.array([[-1, 2]]))
    with pytest.raises(TypeError, match="integer ids"):
        layer(np.array([[np.nan]]))


def test_out_of_range_ids_under_jit_give_nan_as_keras():
    # Inside a compiled step the values are unknown: no error, NaN rows (Keras on JAX too).
    layer = Embedding(4, 2)
    layer(np.zeros((1, 1), "int32"))
    out, _ = jax.jit(lambda t, x: layer.stateless_call(t, [], x))(
        [v.value for v in layer.trainable_variables], np.array([[1, 9]]))
    out = np.asarray(out)
    assert np.all(np.isfinite(out[0, 0])) and np.all(np.isnan(out[0, 1]))


def test_input_length_builds_a_sequential_at_once():
    model = keras.Sequential([Embedding(100, 8, input_length=12), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    assert model.built
    assert model.layers[0].output_shape == (None, 12, 8)
    assert model.count_params() == 100 * 8 + 12 * 8 + 1
    assert model.output_shape == (None, 1)


def test_pretrained_weights_and_frozen_layer():
    matrix = np.arange(12, dtype="float32").reshape(4, 3)
    layer = Embedding(4, 3, weights=[matrix], trainable=False)
    np.testing.assert_array_equal(np.asarray(layer(np.array([[3, 0]]))), matrix[[[3, 0]]])
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 1
    with pytest.raises(ValueError, match=r"weights.*\(4, 3\)"):
        Embedding(4, 3, weights=np.zeros((3, 4)))


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
def test_dims_must_be_positive_ints(bad):
    with pytest.raises(ValueError, match="input_dim"):
        Embedding(bad, 4)
    with pytest.raises(ValueError, match="output_dim"):
        Embedding(4, bad)


def test_trains_in_fit():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 10, (64, 5))
    y = (ids.sum(axis=1, keepdims=True) / 20.0).astype("float32")
    model = keras.Sequential([Embedding(10, 4, input_length=5), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    history = model.fit(ids, y, epochs=5, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
