"""Masks pass through Dense, Activation, Dropout, GaussianNoise and LayerNormalization as in
Keras 3, in training and in inference alike."""
import keras as k3
import numpy as np
import pytest

import gazelle as keras


def _build(lib, middle):
    inputs = lib.Input((6,), dtype="int32")
    x = lib.layers.Embedding(20, 5, mask_zero=True)(inputs)
    for name, kwargs in middle:
        x = getattr(lib.layers, name)(**kwargs)(x)
    return lib.Model(inputs, lib.layers.LSTM(3)(x))


MIDDLES = [[("Dense", {"units": 4}), ("Activation", {"activation": "tanh"})],
           [("Dropout", {"rate": 0.0})], [("GaussianNoise", {"stddev": 0.0})],
           [("LayerNormalization", {})], [("GaussianDropout", {"rate": 0.0})]]


@pytest.mark.parametrize("middle", MIDDLES, ids=lambda m: "-".join(n for n, _ in m))
def test_mask_survives_the_layer_like_keras3(middle):
    x = np.array([[3, 4, 5, 0, 0, 0], [7, 1, 2, 9, 11, 0]], "int32")
    ours, theirs = _build(keras, middle), _build(k3, middle)
    theirs.set_weights(ours.get_weights())
    expected = np.asarray(theirs(x))
    np.testing.assert_allclose(np.asarray(ours.predict(x, verbose=0)), expected,
                               rtol=1e-5, atol=1e-5)
    # Training mode (dropout/noise layers return a new array) keeps the mask too.
    np.testing.assert_allclose(np.asarray(ours(x, training=True)), expected,
                               rtol=1e-5, atol=1e-5)
