"""JSON/config round trips, and names resolved through the registry and custom objects."""
import json

import jax.numpy as jnp
import numpy as np
import pytest

import gazelle as keras
from gazelle import saving
from gazelle.saving import registry

X = np.random.default_rng(0).standard_normal((4, 6)).astype("float32")


def functional():
    inputs = keras.Input((6,), name="x")
    hidden = keras.layers.Dense(5, activation="relu", name="h")(inputs)
    a = keras.layers.Dense(2, name="a")(hidden)
    b = keras.layers.Reshape((5, 1), name="b")(hidden)
    return keras.Model(inputs, [a, b], name="two_out")


@pytest.mark.parametrize("build", [
    lambda: keras.Sequential([keras.layers.Dense(3, input_shape=(6,)), keras.layers.Dense(1)]),
    functional], ids=["sequential", "functional"])
def test_json_round_trip_rebuilds_the_architecture(build):
    model = build()
    clone = saving.model_from_json(saving.model_to_json(model))
    assert type(clone) is type(model) and clone.name == model.name
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
    clone.set_weights(model.get_weights())
    for ours, theirs in zip(_outs(model), _outs(clone)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert json.loads(saving.model_to_json(clone)) == json.loads(saving.model_to_json(model))


def _outs(model):
    out = model.predict(X)
    return out if isinstance(out, list) else [out]


def test_get_config_from_config_round_trip():
    model = functional()
    config = {"class_name": "Functional", "config": saving.serialize_keras_object(model)["config"]}
    clone = saving.model_from_config(config)
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]


def test_json_in_keras3_layout_loads_in_keras3():
    import keras as k3
    model = functional()
    theirs = k3.models.model_from_json(saving.model_to_json(model))
    theirs.set_weights(model.get_weights())
    for ours, other in zip(_outs(model), theirs.predict(X, verbose=0)):
        np.testing.assert_allclose(ours, other, rtol=1e-5, atol=1e-6)


def test_keras3_json_loads_in_gazelle():
    import keras as k3
    theirs = k3.Sequential([k3.Input((6,)), k3.layers.Dense(4, activation="tanh")])
    ours = saving.model_from_json(theirs.to_json())
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X, verbose=0), rtol=1e-5,
                               atol=1e-6)


def test_unknown_class_lists_the_valid_names():
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Frobnicate", "config": {}}]}}
    with pytest.raises(ValueError, match=r"Unknown layer: 'Frobnicate'.*custom_objects.*Dense"):
        saving.model_from_config(config)


def test_unsupported_keras_argument_is_named():
    config = {"class_name": "Dense", "config": {"units": 2, "lora_rank": 4}}
    with pytest.raises(ValueError, match=r"'lora_rank'=4 is not supported.*Dense"):
        saving.deserialize_keras_object(config)
    layer = saving.deserialize_keras_object(
        {"class_name": "Dense", "config": {"units": 2, "lora_rank": None}})
    assert layer.units == 2                     # a default-valued Keras extra is dropped


def test_model_from_config_rejects_a_bare_config():
    with pytest.raises(TypeError, match="class_name.*wrap it"):
        saving.model_from_config({"name": "s", "layers": []})


class Scale(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def scaled_model(layer):
    return keras.Sequential([keras.Input((6,)), layer, keras.layers.Dense(1)])


def test_custom_layer_loads_with_custom_objects_or_a_scope(tmp_path):
    model = scaled_model(Scale(3.0, name="scale"))
    saving.save_model(model, tmp_path / "m.keras")
    with pytest.raises(ValueError, match="m.keras.*Unknown layer: 'Scale'"):
        saving.load_model(tmp_path / "m.keras")
    loaded = saving.load_model(tmp_path / "m.keras", custom_objects={"Scale": Scale})
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-6)
    with saving.CustomObjectScope({"Scale": Scale}):
        assert saving.load_model(tmp_path / "m.keras").layers[0].factor == 3.0
    with pytest.raises(ValueError, match="Unknown layer"):       # the scope has ended
        saving.load_model(tmp_path / "m.keras")


def test_registered_layer_and_function_need_no_custom_objects(tmp_path):
    @saving.register_keras_serializable(package="tests")
    class Shift(keras.layers.Layer):
        def call(self, inputs):
            return inputs + 1.0

    @saving.register_keras_serializable(package="tests")
    def cube(x):
        return x ** 3

    try:
        assert saving.get_registered_name(Shift) == "tests>Shift"
        assert saving.get_registered_object("tests>cube") is cube
        model = keras.Sequential([keras.Input((6,)), Shift(name="shift"),
                                  keras.layers.Dense(2, activation=cube)])
        entry = saving.serialize_keras_object(model)["config"]["layers"][1]
        assert entry["registered_name"] == "tests>Shift" and entry["module"] == __name__
        saving.save_model(model, tmp_path / "m.keras")
        loaded = saving.load_model(tmp_path / "m.keras")
        assert loaded.layers[1].activation is cube
        np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-6)
    finally:
        registry.get_custom_objects().pop("tests>Shift")
        registry.get_custom_objects().pop("tests>cube")


def test_register_refuses_a_class_without_get_config():
    with pytest.raises(ValueError, match="Plain.*get_config"):
        saving.register_keras_serializable()(type("Plain", (), {}))


def test_lambda_by_name_loads_with_custom_objects(tmp_path):
    from gazelle.layers.lambda_layer import Lambda

    def double(x):
        return x * 2

    model = scaled_model(Lambda(double, name="lam"))
    saving.save_model(model, tmp_path / "m.keras")
    loaded = saving.load_model(tmp_path / "m.keras", custom_objects={"double": double})
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-6)
    assert jnp.all(loaded.layers[0](jnp.ones((1, 6))) == 2)


def test_registered_subclassed_model_round_trips_with_optimizer(tmp_path):
    @saving.register_keras_serializable(package="tests")
    class Net(keras.Model):
        def __init__(self, units=4, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.hidden = keras.layers.Dense(units, activation="relu")
            self.head = keras.layers.Dense(1)

        def call(self, inputs):
            return self.head(self.hidden(inputs))

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    try:
        model = Net(5)
        model.compile("adam", "mse")
        model.fit(X, np.ones((4, 1)), epochs=1, verbose=0)
        saving.save_model(model, tmp_path / "m.keras")
        loaded = saving.load_model(tmp_path / "m.keras")
        assert type(loaded) is Net and loaded.units == 5
        np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-6)
        assert int(loaded.optimizer.iterations.value) == 1
    finally:
        registry.get_custom_objects().pop("tests>Net")
