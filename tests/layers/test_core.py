"""Layer base, Dense, Flatten, Activation, Input: behaviour and Keras 3 as oracle."""
import numpy as np
import pytest

import gazelle as keras
from gazelle.testing import run_layer_test


def test_dense_contract():
    run_layer_test(keras.layers.Dense, {"units": 5, "activation": "relu"}, (3, 4), (3, 5),
                   expected_num_trainable_weights=2)


def test_dense_without_bias_has_one_weight():
    run_layer_test(keras.layers.Dense, {"units": 2, "use_bias": False}, (3, 4), (3, 2),
                   expected_num_trainable_weights=1)


def test_flatten_contract():
    run_layer_test(keras.layers.Flatten, {}, (2, 28, 28), (2, 784))


@pytest.mark.parametrize("activation", ["relu", "softmax", "sigmoid", "tanh", "linear", "elu",
                                        "selu", "gelu", "softplus", "swish"])
def test_dense_matches_keras(activation):
    import keras as k3
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6)).astype("float32")
    ours = keras.layers.Dense(3, activation=activation)
    theirs = k3.layers.Dense(3, activation=activation)
    ours(x)
    theirs(x)
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-6)


def test_flatten_and_activation_match_keras():
    import keras as k3
    x = np.random.default_rng(1).standard_normal((2, 3, 4)).astype("float32")
    np.testing.assert_allclose(np.asarray(keras.layers.Flatten()(x)),
                               np.asarray(k3.layers.Flatten()(x)))
    np.testing.assert_allclose(np.asarray(keras.layers.Activation("softmax")(x)),
                               np.asarray(k3.layers.Activation("softmax")(x)), rtol=1e-6)


def test_names_are_unique_per_session_and_reset():
    names = [keras.layers.Dense(1).name for _ in range(3)]
    assert names == ["dense", "dense_1", "dense_2"]
    keras.backend.clear_session()
    assert keras.layers.Dense(1).name == "dense"


def test_default_initializers_glorot_kernel_zero_bias():
    layer = keras.layers.Dense(200)
    layer(np.zeros((1, 300), "float32"))
    kernel, bias = layer.get_weights()
    limit = np.sqrt(6 / (300 + 200))
    assert np.all(np.abs(kernel) <= limit) and kernel.std() > limit / 2
    assert np.all(bias == 0)


def test_dense_rejects_non_positive_units():
    with pytest.raises(ValueError, match="units"):
        keras.layers.Dense(0)
    with pytest.raises(ValueError, match="units"):
        keras.layers.Dense("ten")


def test_dense_wrong_feature_size_names_layer():
    layer = keras.layers.Dense(3, name="head")
    layer(np.zeros((1, 4), "float32"))
    with pytest.raises(ValueError, match="head.*last dimension 4.*received shape"):
        layer(np.zeros((1, 5), "float32"))


def test_dense_on_images_suggests_flatten():
    layer = keras.layers.Dense(3)
    layer(np.zeros((1, 784), "float32"))
    with pytest.raises(ValueError, match="Flatten"):
        layer(np.zeros((2, 28, 28), "float32"))


def test_unknown_layer_kwarg_is_type_error():
    with pytest.raises(TypeError, match="unexpected keyword"):
        keras.layers.Dense(3, unitz=4)


def test_get_set_weights_and_count_params():
    layer = keras.layers.Dense(3)
    with pytest.raises(ValueError, match="isn't built"):
        layer.count_params()
    layer(np.zeros((1, 4), "float32"))
    assert layer.count_params() == 15
    new = [np.ones((4, 3), "float32"), np.full((3,), 2.0, "float32")]
    layer.set_weights(new)
    np.testing.assert_array_equal(layer(np.ones((1, 4), "float32")), np.full((1, 3), 6.0))
    with pytest.raises(ValueError, match="shape"):
        layer.set_weights([np.ones((3, 3)), np.ones(3)])
    with pytest.raises(ValueError, match="expects 2 weight arrays"):
        layer.set_weights([np.ones((4, 3))])


def test_trainable_false_moves_weights_to_non_trainable():
    layer = keras.layers.Dense(2)
    layer(np.zeros((1, 2), "float32"))
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 2


def test_custom_layer_with_add_weight():
    class Linear(keras.layers.Layer):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
            self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

        def call(self, inputs):
            return inputs @ self.w + self.b

    layer = Linear()
    y = layer(np.ones((2, 5), "float32"))
    assert y.shape == (2, 3)
    assert [w.name for w in layer.weights] == ["kernel", "bias"]
    assert layer.count_params() == 18


def test_input_returns_symbolic_with_shape():
    x = keras.Input(shape=(28, 28))
    assert x.shape == (None, 28, 28)
    y = keras.layers.Flatten()(x)
    assert y.shape == (None, 784)


def test_uint8_inputs_are_cast_to_float32():
    layer = keras.layers.Flatten()
    y = layer(np.full((1, 2, 2), 255, np.uint8))
    assert y.dtype == np.float32 and float(y[0, 0]) == 255.0


def test_regularizers_add_their_penalty_to_losses():
    layer = keras.layers.Dense(2, kernel_regularizer=keras.regularizers.l2(0.1),
                               activity_regularizer=keras.regularizers.l1(0.5))
    x = np.ones((3, 4), "float32")
    y = layer(x)
    kernel_penalty = 0.1 * float(np.sum(layer.get_weights()[0] ** 2))
    activity_penalty = 0.5 * float(np.sum(np.abs(y)))
    np.testing.assert_allclose(sorted(float(v) for v in layer.losses),
                               sorted([kernel_penalty, activity_penalty]), rtol=1e-5)
    layer(x)
    assert len(layer.losses) == 2          # a new call replaces, never accumulates


def test_regularization_matches_keras_training_loss():
    import keras as k3
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 4)).astype("float32")
    y = rng.standard_normal((16, 1)).astype("float32")
    ours = keras.models.Sequential([keras.layers.Dense(
        1, input_shape=(4,), kernel_regularizer=keras.regularizers.l2(0.01))])
    theirs = k3.models.Sequential([k3.Input((4,)), k3.layers.Dense(
        1, kernel_regularizer=k3.regularizers.l2(0.01))])
    theirs.set_weights(ours.get_weights())
    for m in (ours, theirs):
        m.compile(loss="mse", optimizer="sgd")
    a = ours.evaluate(x, y, verbose=0)
    b = theirs.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(a, b, rtol=1e-5)


def test_explicit_build_marks_the_layer_built_and_keeps_its_weights():
    import numpy as np
    from gazelle.layers import Dense
    layer = Dense(3)
    layer.build((None, 4))
    assert layer.built
    kernel = np.array(layer.get_weights()[0])
    layer(np.ones((2, 4), "float32"))
    np.testing.assert_array_equal(layer.get_weights()[0], kernel)   # not rebuilt
    assert len(layer.weights) == 2
