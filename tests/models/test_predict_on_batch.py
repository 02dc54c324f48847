"""predict_on_batch: one compiled call of the weights (as Keras 3 compiles its predict
function), with a stateful RNN's state carried exactly as eager calls carry it, against
Keras 3's predict_on_batch; models whose call needs concrete values still work (eager)."""
import keras as k3
import numpy as np

import gazelle as keras


def _char_models():
    ours = keras.Sequential([keras.Input(batch_shape=(2, 1), dtype="int32"),
                             keras.layers.Embedding(11, 4),
                             keras.layers.GRU(6, return_sequences=True, stateful=True),
                             keras.layers.Dense(11)])
    theirs = k3.Sequential([k3.Input(batch_shape=(2, 1), dtype="int32"),
                            k3.layers.Embedding(11, 4),
                            k3.layers.GRU(6, return_sequences=True, stateful=True),
                            k3.layers.Dense(11)])
    rng = np.random.default_rng(0)
    weights = [rng.uniform(-0.5, 0.5, w.shape).astype("float32") for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    return ours, theirs


def test_stateful_predict_on_batch_carries_state_like_eager_calls():
    # A deliberate difference: Keras 3's JAX predict_on_batch leaves a stateful RNN's state
    # where it was (3.15 drops the updated state), so a Keras-style generation loop repeats
    # its first step. gazelle carries it, as tf.keras 2 and Keras 3's own eager calls do;
    # the reference here is Keras 3 called eagerly, batch after batch.
    ours, theirs = _char_models()
    ids = np.random.default_rng(1).integers(0, 11, (5, 2, 1)).astype("int32")
    outs = []
    for x in ids:
        mine = ours.predict_on_batch(x)
        assert isinstance(mine, np.ndarray) and mine.shape == (2, 1, 11)
        np.testing.assert_allclose(mine, np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)
        outs.append(mine)
    assert not np.allclose(outs[0], ours.predict_on_batch(ids[0]))   # the state moved on
    ours.layers[1].reset_states()
    np.testing.assert_allclose(ours.predict_on_batch(ids[0]), outs[0], rtol=1e-6)
    # eager calls read the state predict_on_batch left behind
    np.testing.assert_allclose(np.asarray(ours(ids[1])), outs[1], rtol=1e-5, atol=1e-6)


def test_predict_on_batch_matches_keras_on_a_stateless_model():
    ours, theirs = _char_models()
    for model in (ours, theirs):
        model.layers[1].stateful = False
    x = np.random.default_rng(2).integers(0, 11, (2, 1)).astype("int32")
    np.testing.assert_allclose(ours.predict_on_batch(x), theirs.predict_on_batch(x),
                               rtol=1e-5, atol=1e-6)


def test_predict_on_batch_compiles_once_per_shape():
    ours, _ = _char_models()
    x = np.zeros((2, 1), "int32")
    ours.predict_on_batch(x)
    fn = ours._predict_on_batch_fn
    for _ in range(3):
        ours.predict_on_batch(x)
    assert ours._predict_on_batch_fn is fn and fn._cache_size() == 1


def test_predict_on_batch_sees_new_weights_and_dict_outputs():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, {"a": keras.layers.Dense(2)(inputs),
                                 "b": keras.layers.Dense(1)(inputs)})
    x = np.ones((4, 3), "float32")
    first = model.predict_on_batch(x)
    assert set(first) == {"a", "b"} and first["a"].shape == (4, 2)
    model.set_weights([w + 1.0 for w in model.get_weights()])
    second = model.predict_on_batch(x)
    np.testing.assert_allclose(second["a"], np.asarray(model(x)["a"]), rtol=1e-6)
    assert not np.allclose(first["a"], second["a"])


class _Concrete(keras.Model):
    """A call that reads a concrete value (it cannot be traced)."""

    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(2)

    def call(self, x):
        if float(np.asarray(x).sum()) > 0:
            return self.dense(x)
        return -self.dense(x)


def test_a_call_that_needs_concrete_values_runs_eagerly():
    model = _Concrete()
    x = np.ones((2, 3), "float32")
    out = model.predict_on_batch(x)
    np.testing.assert_allclose(out, np.asarray(model.dense(x)), rtol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(-x), -np.asarray(model.dense(-x)),
                               rtol=1e-6)
