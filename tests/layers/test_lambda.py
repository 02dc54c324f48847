"""Lambda: calls its function (with `arguments`, `training`), infers or takes output
shapes, and stores the function by name only (never bytecode)."""
import json

import jax.numpy as jnp
import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle.layers.lambda_layer import Lambda


def scaled(x, factor=1.0):
    return x * factor


def test_matches_keras_with_arguments():
    x = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")
    ours = Lambda(scaled, arguments={"factor": 3.0})
    theirs = k3.layers.Lambda(scaled, arguments={"factor": 3.0})
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(Lambda(lambda t: jnp.exp(t) ** 2)(x)),
                               np.asarray(k3.layers.Lambda(lambda t: jnp.exp(t) ** 2)(x)),
                               rtol=1e-5)


def test_output_shape_inferred_given_or_computed():
    assert Lambda(lambda t: t[:, :2]).compute_output_shape((None, 5)) == (None, 2)
    assert Lambda(lambda t: t, output_shape=(7,)).compute_output_shape((None, 5)) == (None, 7)
    fn = Lambda(lambda t: t, output_shape=lambda s: (s[0], 1))
    assert fn.compute_output_shape((None, 5)) == (None, 1)
    inputs = keras.Input(shape=(5,))
    assert Lambda(lambda t: jnp.sum(t, axis=1, keepdims=True))(inputs).shape == (None, 1)


def test_training_flag_is_passed_when_the_function_takes_it():
    def noisy(x, training=None):
        return x + 1.0 if training else x

    layer = Lambda(noisy)
    x = np.zeros((1, 2), "float32")
    np.testing.assert_array_equal(np.asarray(layer(x, training=True)), x + 1)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)


def test_config_stores_the_function_name_not_code():
    layer = Lambda(scaled, output_shape=(4,), arguments={"factor": 2.0}, name="scale")
    config = layer.get_config()
    assert config["function"] == "scaled" and config["output_shape"] == (4,)
    assert config["arguments"] == {"factor": 2.0}
    text = json.dumps(Lambda(lambda t: t * 2).get_config())
    assert "code" not in text and '"<lambda>"' in text
    # Keras 3 would embed marshalled bytecode for the same lambda (gazelle never does).
    assert "code" in json.dumps(k3.layers.Lambda(lambda t: t * 2).get_config())


def test_from_config_needs_the_function_from_the_caller():
    config = Lambda(scaled, arguments={"factor": 2.0}).get_config()
    with pytest.raises(ValueError, match=r"by name only \('scaled'\).*custom_objects"):
        Lambda.from_config(config)
    clone = Lambda.from_config(config, custom_objects={"scaled": scaled})
    np.testing.assert_array_equal(np.asarray(clone(np.ones((1, 2), "float32"))), [[2.0, 2.0]])


def test_in_a_sequential_model():
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(4,)),
                              Lambda(lambda t: t * 0.5), keras.layers.Dense(1)])
    assert model.output_shape == (None, 1)
    x = np.ones((2, 4), "float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), np.asarray(model(x)), rtol=1e-5)


def test_invalid_arguments():
    with pytest.raises(TypeError, match="function"):
        Lambda(3)
    with pytest.raises(TypeError, match="arguments"):
        Lambda(scaled, arguments=[1])
    with pytest.raises(ValueError, match="output_shape"):
        Lambda(scaled, output_shape=(-2,))
