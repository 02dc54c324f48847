"""compile() without a loss (Keras 3): the loss is the layers' add_loss() terms, and
fit/evaluate take no targets: the endpoint-layer pattern of the Keras examples."""
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras as K  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gazelle as keras  # noqa: E402


def _endpoint_model(lib):
    class Endpoint(lib.layers.Layer):
        def call(self, targets, logits):
            self.add_loss(lib.ops.mean(lib.ops.square(targets - logits)))
            return lib.ops.sigmoid(logits)

    inputs = lib.Input((4,), name="inputs")
    targets = lib.Input((1,), name="targets")
    logits = lib.layers.Dense(1)(inputs)
    model = lib.Model([inputs, targets], Endpoint()(targets, logits))
    model.compile(optimizer=lib.optimizers.SGD(0.1))
    return model


def test_endpoint_layer_trains_like_keras():
    rng = np.random.default_rng(0)
    data = {"inputs": rng.normal(size=(32, 4)).astype("float32"),
            "targets": rng.normal(size=(32, 1)).astype("float32")}
    ours, theirs = _endpoint_model(keras), _endpoint_model(K)
    ours.set_weights(theirs.get_weights())
    got = ours.fit(data, epochs=2, batch_size=8, shuffle=False, verbose=0).history["loss"]
    want = theirs.fit(data, epochs=2, batch_size=8, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.evaluate(data, verbose=0),
                               theirs.evaluate(data, verbose=0), rtol=1e-5)


def test_no_loss_at_all_is_a_clear_error():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="No loss to compute.*add_loss"):
        model.fit(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"), verbose=0)
