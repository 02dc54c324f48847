"""Model construction as Keras 3 does it: Model subclasses called with (inputs, outputs),
clone_model, get_layer, and freezing sublayers with `trainable = False`."""
import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle.models import Functional


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    return x, (x[:, :2] @ np.array([[1.0], [-2.0]], "float32")).astype("float32")


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# -- Model subclasses built from (inputs, outputs) ---------------------------------------------
def counting_model(lib):
    class CustomModel(lib.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.counted = 0

        def train_step(self, state, data):
            self.counted += 1
            return super().train_step(state, data)

    return CustomModel


@pytest.mark.parametrize("keyword", [False, True])
def test_model_subclass_with_inputs_and_outputs_is_functional_and_keeps_its_methods(keyword):
    CustomModel = counting_model(keras)
    inputs = keras.Input(shape=(6,))
    outputs = keras.layers.Dense(1)(keras.layers.Dense(3, activation="relu")(inputs))
    model = (CustomModel(inputs=inputs, outputs=outputs) if keyword else
             CustomModel(inputs, outputs))
    assert isinstance(model, CustomModel) and isinstance(model, Functional)
    assert type(model).__name__ == "CustomModel"
    assert model.counted == 0 and len(model.layers) == 3
    x, y = data()
    close(model.predict(x, verbose=0), np.asarray(model(x)))
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    assert model.counted == 1                       # its train_step ran (traced once)
    assert type(CustomModel(inputs, outputs)) is type(model)      # one class per subclass


def test_model_subclass_functional_trains_like_keras():
    x, y = data()
    models = []
    for lib in (keras, k3):
        inputs = lib.Input(shape=(6,))
        outputs = lib.layers.Dense(1)(lib.layers.Dense(3, activation="tanh")(inputs))
        model = counting_model(lib)(inputs, outputs)
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse")
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    h = [m.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history["loss"]
         for m in models]
    close(h[0], h[1])


def test_plain_subclass_still_refuses_positional_garbage():
    class Sub(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(TypeError):
        Sub(3)


# -- clone_model -------------------------------------------------------------------------------
def sequential(lib):
    return lib.Sequential([lib.Input(shape=(6,)), lib.layers.Dense(4, activation="relu"),
                           lib.layers.Dropout(0.2), lib.layers.Dense(1)])


def functional(lib):
    inputs = lib.Input(shape=(6,))
    shared = lib.layers.Dense(4, activation="relu")
    merged = lib.layers.add([shared(inputs), shared(inputs)])
    return lib.Model(inputs, lib.layers.Dense(1)(merged))


@pytest.mark.parametrize("build", [sequential, functional])
def test_clone_model_new_weights_same_architecture_as_keras(build):
    x, _ = data()
    ours, theirs = build(keras), build(k3)
    c1, c2 = keras.models.clone_model(ours), k3.models.clone_model(theirs)
    assert type(c1) is type(ours)
    assert [type(layer).__name__ for layer in c1.layers] == \
        [type(layer).__name__ for layer in c2.layers]
    assert [w.shape for w in c1.get_weights()] == [tuple(w.shape) for w in c2.get_weights()]
    assert [layer.name for layer in c1.layers] == [layer.name for layer in ours.layers]
    assert not any(a is b for a, b in zip(c1.weights, ours.weights))
    assert any(not np.array_equal(a, b) for a, b in zip(c1.get_weights(), ours.get_weights()))
    assert len(c1.weights) == len(ours.weights)      # a shared layer stays shared
    c1.set_weights(ours.get_weights())
    close(c1.predict(x, verbose=0), ours.predict(x, verbose=0))
    theirs.set_weights(ours.get_weights())
    c2.set_weights(ours.get_weights())
    close(c1.predict(x, verbose=0), np.asarray(c2.predict(x, verbose=0)))


def test_clone_function_is_applied_per_layer():
    model = functional(keras)
    seen = []

    def clone_function(layer):
        seen.append(layer.name)
        if isinstance(layer, keras.layers.Dense) and layer.units == 1:
            return layer                                 # shared with the original
        return layer.__class__.from_config(layer.get_config())

    clone = keras.models.clone_model(model, clone_function=clone_function)
    assert seen == [layer.name for layer in model.layers[1:]]     # once each, no InputLayer
    assert clone.layers[-1] is model.layers[-1]
    assert clone.layers[1] is not model.layers[1]


def test_clone_model_on_given_input_tensors():
    model = sequential(keras)
    inputs = keras.Input(shape=(6,), name="fresh")
    clone = keras.models.clone_model(model, input_tensors=inputs)
    assert clone.input_shape == (None, 6)
    f = functional(keras)
    g = keras.models.clone_model(f, input_tensors=[inputs])
    assert g.inputs[0] is inputs


def test_clone_model_errors():
    with pytest.raises(TypeError, match="keras.Model"):
        keras.models.clone_model(keras.layers.Dense(2))
    with pytest.raises(NotImplementedError, match="call_function"):
        keras.models.clone_model(sequential(keras), call_function=lambda *a: None)
    with pytest.raises(ValueError, match="Layer"):
        keras.models.clone_model(sequential(keras), clone_function=lambda layer: 3)

    class Sub(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="subclassed"):
        keras.models.clone_model(Sub(), clone_function=lambda layer: layer)


# -- get_layer ---------------------------------------------------------------------------------
def test_get_layer_by_name_and_index():
    model = sequential(keras)
    assert model.get_layer(index=-1) is model.layers[-1]
    assert model.get_layer(model.layers[0].name) is model.layers[0]
    with pytest.raises(ValueError, match="only a layer name or a layer index"):
        model.get_layer(name=model.layers[0].name, index=0)
    with pytest.raises(ValueError, match="No such layer"):
        model.get_layer("nope")


# -- freezing ----------------------------------------------------------------------------------
def test_frozen_sublayers_do_not_move_in_fit_as_in_keras():
    x, y = data()
    models = []
    for lib in (keras, k3):
        inner = lib.Sequential([lib.Input(shape=(6,)), lib.layers.Dense(4, activation="tanh"),
                                lib.layers.Dense(4, activation="tanh")])
        inputs = lib.Input(shape=(6,))
        model = lib.Model(inputs, lib.layers.Dense(1)(inner(inputs)))
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse")
        inner.trainable = False                     # after compile, as the course does
        models.append((model, inner))
    models[1][0].set_weights(models[0][0].get_weights())
    before = [w.copy() for w in models[0][0].get_weights()]
    for model, _ in models:
        model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    ours, inner = models[0]
    assert ours.trainable_weights == ours.layers[-1].trainable_weights
    for a, b in zip(inner.get_weights(), before[:4]):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(ours.get_weights()[-2], before[-2])
    for a, b in zip(ours.get_weights(), models[1][0].get_weights()):
        close(a, b)
    # the optimizer keeps no state for frozen weights (SGD: just its iteration count)
    assert len(ours.optimizer.variables) == len(models[1][0].optimizer.variables)


def test_functional_subclass_keeps_its_class_through_a_keras_file(tmp_path):
    import numpy as np

    import gazelle as keras

    calls = []

    class CustomModel(keras.Model):
        def train_step(self, state, data):
            calls.append(1)
            return super().train_step(state, data)

    inputs = keras.Input((3,))
    model = CustomModel(inputs, keras.layers.Dense(2)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    model.save(tmp_path / "custom.keras")
    loaded = keras.models.load_model(tmp_path / "custom.keras",
                                     custom_objects={"CustomModel": CustomModel})
    assert isinstance(loaded, CustomModel)
    np.testing.assert_allclose(loaded.predict(np.ones((2, 3)), verbose=0),
                               model.predict(np.ones((2, 3)), verbose=0))
    loaded.fit(np.zeros((8, 3)), np.zeros((8, 2)), verbose=0)
    assert calls                      # the loaded model trains through its own train_step
