"""JaxLayer and FlaxLayer: call_fn/init_fn signatures, params and state as Variables,
state written back inside fit's compiled steps, rng per step, the training flag, saving by
registered name; Keras 3's JaxLayer/FlaxLayer as oracle (outputs, weights, params after
fit). FlaxLayer tests need flax (optional; skipped without it)."""
import sys
import types

import jax
import jax.numpy as jnp
import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle.layers.jax_layer import FlaxLayer, JaxLayer


@pytest.fixture(autouse=True)
def _keras_without_tensorflow(monkeypatch):
    # Keras 3.15's JaxLayer asks TensorFlow whether it is inside a tf.function before it
    # calls init_fn, even on the JAX backend; TensorFlow is not installed here.
    import keras.src.utils.jax_layer as k3_jax_layer
    monkeypatch.setattr(k3_jax_layer, "tf", types.SimpleNamespace(inside_function=lambda: False))


def _random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _params(n_in=5, n_out=3, seed=1):
    return {"w": _random((n_in, n_out), seed), "b": _random((n_out,), seed + 1)}


def linear_init(rng, inputs):
    k1, _ = jax.random.split(rng)
    return {"w": jax.random.normal(k1, (inputs.shape[-1], 3)), "b": jnp.zeros((3,))}


def linear_call(params, inputs):
    return inputs @ params["w"] + params["b"]


def linear_call_reordered(inputs, params):
    return inputs @ params["w"] + params["b"]


def scaled_call(params, rng, inputs, training):
    y = inputs @ params["w"] + params["b"]
    return y * 2.0 if training else y


def scaled_call_no_rng(training, params, inputs):
    y = inputs @ params["w"] + params["b"]
    return y * 2.0 if training else y


def counting_init(rng, inputs):
    return linear_init(rng, inputs), {"steps": jnp.zeros((), "int32"),
                                      "mean": jnp.zeros((inputs.shape[-1],))}


def counting_call(params, state, inputs, training):
    """Counts training calls and keeps a running mean of the inputs (momentum 0.5)."""
    new_state = {"steps": state["steps"] + (1 if training else 0),
                 "mean": 0.5 * state["mean"] + 0.5 * jnp.mean(inputs, axis=0)}
    return inputs @ params["w"] + params["b"], new_state


# -- outputs and weights against Keras 3 -------------------------------------------------------
@pytest.mark.parametrize("call_fn", [linear_call, linear_call_reordered, scaled_call,
                                     scaled_call_no_rng])
def test_same_params_give_keras_outputs(call_fn):
    params, x = _params(), _random((4, 5), seed=7)
    ours = JaxLayer(call_fn, params=params)
    theirs = k3.layers.JaxLayer(call_fn, params=params)
    for training in (False, True):
        np.testing.assert_allclose(np.asarray(ours(x, training=training)),
                                   np.asarray(theirs(x, training=training)), rtol=1e-5,
                                   atol=1e-6)
    assert [(w.shape, w.trainable) for w in ours.weights] == [
        (tuple(w.shape), w.trainable) for w in theirs.weights]
    assert ours.built


def test_init_fn_builds_weights_in_keras_order_and_dtypes():
    x = _random((2, 5))
    ours, theirs = JaxLayer(counting_call, counting_init), k3.layers.JaxLayer(
        counting_call, counting_init)
    ours(x)
    theirs(x)
    assert [(w.shape, w.dtype, w.trainable) for w in ours.weights] == [
        (tuple(w.shape), w.dtype, w.trainable) for w in theirs.weights]
    assert len(ours.variables) == len(theirs.variables)       # + the seed state? neither
    assert jax.tree_util.tree_structure(ours.params) == jax.tree_util.tree_structure(
        theirs.params)
    assert isinstance(ours.state["steps"], keras.Variable) and ours.state["steps"].dtype == "int32"
    ours.set_weights([np.asarray(w.value) for w in theirs.weights])
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(ours.state["mean"].value),
                               np.asarray(theirs.state["mean"].value), rtol=1e-6)


def test_pytree_inputs_and_outputs():
    def init_fn(rng, inputs):
        return {"wa": jnp.ones((inputs["a"].shape[-1], 2)),
                "wb": jnp.ones((inputs["b"].shape[-1], 2))}

    def call_fn(params, inputs):
        a = inputs["a"] @ params["wa"]
        return {"sum": a + inputs["b"] @ params["wb"], "a": a}

    x = {"a": _random((3, 4)), "b": _random((3, 6), seed=1)}
    ours, theirs = JaxLayer(call_fn, init_fn), k3.layers.JaxLayer(call_fn, init_fn)
    got, want = ours(x), theirs(x)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    for key in ("sum", "a"):
        np.testing.assert_allclose(np.asarray(got[key]), np.asarray(want[key]), rtol=1e-5)
    inputs = {"a": keras.Input((4,)), "b": keras.Input((6,))}
    out = JaxLayer(call_fn, init_fn)(inputs)
    assert out["sum"].shape == (None, 2) and out["a"].shape == (None, 2)


def test_integer_inputs_stay_integers():
    table = _random((10, 3))

    def call_fn(params, inputs):
        assert jnp.issubdtype(inputs.dtype, jnp.integer)
        return params["table"][inputs]

    ids = np.array([[1, 2], [9, 0]], "int32")
    ours = JaxLayer(call_fn, params={"table": table})
    theirs = k3.layers.JaxLayer(call_fn, params={"table": table})
    np.testing.assert_allclose(np.asarray(ours(ids)), np.asarray(theirs(ids)), rtol=1e-6)


def test_non_array_leaves_are_passed_through():
    def call_fn(params, inputs):
        return inputs * params["scale"] + params["offset"] if params["mode"] == "affine" else 0

    layer = JaxLayer(call_fn, params={"scale": np.float32(2.0), "offset": 1.0, "mode": "affine"})
    assert len(layer.trainable_weights) == 2 and layer.params["mode"] == "affine"
    np.testing.assert_allclose(np.asarray(layer(np.ones((1, 2), "float32"))), [[3.0, 3.0]])


# -- training -------------------------------------------------------------------------------
def _linear_model(lib, call_fn, params):
    inputs = lib.Input((5,))
    model = lib.Model(inputs, lib.layers.JaxLayer(call_fn, params=params)(inputs))
    model.compile(optimizer=lib.optimizers.SGD(learning_rate=0.1), loss="mse")
    return model


@pytest.mark.parametrize("call_fn", [linear_call, scaled_call])
def test_fit_three_sgd_steps_matches_keras(call_fn):
    x, y = _random((12, 5), seed=3), _random((12, 3), seed=4)
    ours, theirs = _linear_model(keras, call_fn, _params()), _linear_model(k3, call_fn, _params())
    h1 = ours.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    h2 = theirs.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-5)
    assert not np.allclose(ours.get_weights()[1], _params()["w"])      # it did train


def test_frozen_layer_keeps_params_and_still_updates_state():
    x, y = _random((8, 5), seed=3), _random((8, 3), seed=4)
    layers = []
    for lib in (keras, k3):
        inputs = lib.Input((5,))
        layer = lib.layers.JaxLayer(counting_call, params=_params(), trainable=False,
                                    state={"steps": np.zeros((), "int32"),
                                           "mean": np.zeros((5,), "float32")})
        model = lib.Model(inputs, lib.layers.Dense(3)(layer(inputs)))
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, y, batch_size=4, shuffle=False, verbose=0)
        layers.append(layer)
    for layer in layers:
        assert not layer.trainable_weights and len(layer.non_trainable_weights) == 4
        np.testing.assert_array_equal(np.asarray(layer.params["w"].value), _params()["w"])
        assert int(layer.state["steps"].value) == 2
    np.testing.assert_allclose(np.asarray(layers[0].state["mean"].value),
                               np.asarray(layers[1].state["mean"].value), rtol=1e-6)


def test_stateful_call_fn_updates_state_in_fit_like_keras():
    x, y = _random((16, 5), seed=3), _random((16, 3), seed=4)
    models = []
    for lib in (keras, k3):
        inputs = lib.Input((5,))
        layer = lib.layers.JaxLayer(counting_call, counting_init)
        model = lib.Model(inputs, layer(inputs))
        model.compile(optimizer=lib.optimizers.SGD(learning_rate=0.1), loss="mse")
        models.append((model, layer))
    (ours, ours_layer), (theirs, theirs_layer) = models
    ours.set_weights(theirs.get_weights())
    ours.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    theirs.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    assert int(ours_layer.state["steps"].value) == 8 == int(theirs_layer.state["steps"].value)
    np.testing.assert_allclose(np.asarray(ours_layer.state["mean"].value),
                               np.asarray(theirs_layer.state["mean"].value), rtol=1e-5, atol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    ours.predict(x, verbose=0)        # inference does not count as a training step
    assert int(ours_layer.state["steps"].value) == 8


def test_training_flag_reaches_call_fn():
    seen = []

    def call_fn(params, inputs, training):
        seen.append(training)
        return inputs @ params["w"] + params["b"]

    layer = JaxLayer(call_fn, params=_params())
    x = _random((2, 5))
    layer(x)
    layer(x, training=True)
    assert seen == [False, True]
    model = _linear_model(keras, call_fn, _params())
    seen.clear()
    model.fit(x, _random((2, 3)), epochs=1, verbose=0)
    assert True in seen and all(isinstance(t, bool) for t in seen)
    seen.clear()
    model.predict(x, verbose=0)
    assert seen and not any(seen)


def test_rng_is_fresh_every_step_inside_fit_and_none_in_inference():
    steps = 12

    def init_fn(rng, inputs):
        return _params(), {"keys": jnp.zeros((steps, 2), "uint32"), "i": jnp.zeros((), "int32")}

    def call_fn(params, state, rng, inputs, training):
        if not training:
            assert rng is None
            return inputs @ params["w"] + params["b"], state
        assert rng.shape == (2,) and rng.dtype == jnp.uint32
        noise = jax.random.normal(rng, inputs.shape) * 1e-3
        new_state = {"keys": state["keys"].at[state["i"]].set(rng), "i": state["i"] + 1}
        return (inputs + noise) @ params["w"] + params["b"], new_state

    def run(seed):
        inputs = keras.Input((5,))
        layer = JaxLayer(call_fn, init_fn, seed=seed)
        model = keras.Model(inputs, layer(inputs))
        model.compile(optimizer="sgd", loss="mse")
        model.fit(_random((steps * 2, 5)), _random((steps * 2, 3)), batch_size=2, verbose=0)
        return np.asarray(layer.state["keys"].value)

    keys = run(seed=5)
    assert len({tuple(k) for k in keys}) == steps          # a different key every step
    np.testing.assert_array_equal(run(seed=5), keys)        # and the seed repeats them
    assert not np.array_equal(run(seed=6), keys)


def test_fit_runs_call_fn_as_one_compiled_program():
    traces = []

    def call_fn(params, state, rng, inputs, training):
        traces.append(inputs.shape[0])      # runs once per trace, never per step
        new_state = {"steps": state["steps"] + 1}
        return inputs @ params["w"] + params["b"], new_state

    inputs = keras.Input((5,))
    layer = JaxLayer(call_fn, params=_params(), state={"steps": np.zeros((), "int32")})
    model = keras.Model(inputs, layer(inputs))
    model.compile(optimizer="sgd", loss="mse")
    x, y = _random((256, 5)), _random((256, 3))
    traces.clear()
    # doctor=False: the doctor's probes trace the model too (on at most a batch of samples)
    model.fit(x, y, batch_size=4, epochs=2, verbose=0, doctor=False)
    assert int(layer.state["steps"].value) == 128
    assert len(traces) <= 4 and traces.count(4) == 1, traces
    # The same shapes again: the training step is not traced anew.
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, doctor=False)
    assert traces.count(4) == 1, traces


# -- errors -----------------------------------------------------------------------------------
def _no_inputs(params, x):
    return x


def _unknown(params, inputs, mask):
    return inputs


def _varargs(params, inputs, *args):
    return inputs


def _init_bad(key, inputs):
    return {}


@pytest.mark.parametrize("kwargs, match", [
    ({"call_fn": _no_inputs, "params": {}}, r"Missing required argument in `call_fn`: `inputs`"),
    ({"call_fn": _unknown, "params": {}}, r"Unsupported argument in `call_fn`: `mask`"),
    ({"call_fn": _varargs, "params": {}}, r"Unsupported argument in `call_fn`: `args`"),
    ({"call_fn": linear_call, "init_fn": _init_bad}, r"Unsupported argument in `init_fn`: `key`"),
    ({"call_fn": linear_call}, r"`init_fn`, `params` and `state`"),
])
def test_bad_signatures_raise_like_keras(kwargs, match):
    with pytest.raises(ValueError, match=match):
        JaxLayer(**kwargs)
    with pytest.raises(ValueError):
        k3.layers.JaxLayer(**kwargs)


def test_other_errors_name_the_problem():
    with pytest.raises(TypeError, match="`call_fn` must be a function"):
        JaxLayer(call_fn=3, params={})
    with pytest.raises(ValueError, match="keyword-only"):
        JaxLayer(lambda params, *, inputs: inputs, params={})
    with pytest.raises(ValueError, match="native_serialization_platforms"):
        JaxLayer(linear_call, params=_params(), native_serialization_platforms=["cpu"])

    def wrong_state(params, state, inputs):
        return inputs, {"other": state["count"]}

    layer = JaxLayer(wrong_state, params={}, state={"count": np.zeros(())})
    with pytest.raises(ValueError, match=r"structure of the layer's state.*\['count'\]"):
        layer(_random((1, 2)))

    def no_tuple(params, state, inputs):
        return inputs

    with pytest.raises(ValueError, match=r"must return a tuple `\(outputs, new_state\)`"):
        JaxLayer(no_tuple, params={}, state={"c": np.zeros(())})(_random((1, 2)))


# -- config and saving ------------------------------------------------------------------------
def test_config_names_the_functions_as_keras_does():
    ours = JaxLayer(linear_call, linear_init, name="lin").get_config()
    theirs = k3.layers.JaxLayer(linear_call, linear_init, name="lin").get_config()
    for key in ("call_fn", "init_fn", "native_serialization_platforms", "name", "trainable"):
        assert ours[key] == theirs[key], key
    clone = JaxLayer.from_config(ours, custom_objects={"linear_call": linear_call,
                                                       "linear_init": linear_init})
    assert clone.call_fn is linear_call and clone.init_fn is linear_init
    with pytest.raises(ValueError, match=r"saved by name only \('linear_call'\).*custom_objects"):
        JaxLayer.from_config(ours)


def _stateful_model():
    inputs = keras.Input((5,))
    outputs = JaxLayer(counting_call, counting_init, name="jl")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(_random((8, 5)), _random((8, 3)), batch_size=4, verbose=0)
    return model


def test_save_load_round_trip_needs_the_functions(tmp_path):
    model = _stateful_model()
    path = str(tmp_path / "jax_layer.keras")
    model.save(path)
    x = _random((3, 5), seed=9)
    with pytest.raises(ValueError, match=r"'counting_call'.*custom_objects"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, custom_objects={"counting_call": counting_call,
                                                           "counting_init": counting_init})
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(loaded.get_layer("jl").state["steps"].value) == 2
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    # The same file loads in Keras 3, and gives the same outputs.
    theirs = k3.models.load_model(path, custom_objects={"counting_call": counting_call,
                                                        "counting_init": counting_init})
    np.testing.assert_allclose(theirs.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_registered_functions_load_without_custom_objects(tmp_path):
    call_fn = keras.saving.register_keras_serializable("gazelle_test_jax")(
        lambda params, inputs: inputs @ params["w"] + params["b"])
    call_fn.__name__ = "registered_linear_call"
    call_fn = keras.saving.register_keras_serializable(
        "gazelle_test_jax", name="registered_linear_call")(call_fn)
    init_fn = keras.saving.register_keras_serializable(
        "gazelle_test_jax", name="registered_linear_init")(linear_init)
    inputs = keras.Input((5,))
    model = keras.Model(inputs, JaxLayer(call_fn, init_fn)(inputs))
    assert model.layers[1].get_config()["call_fn"]["config"] == (
        "gazelle_test_jax>registered_linear_call")
    path = str(tmp_path / "registered.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    x = _random((2, 5))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_keras_saved_file_loads_in_gazelle(tmp_path):
    inputs = k3.Input((5,))
    layer = k3.layers.JaxLayer(counting_call, counting_init)
    theirs = k3.Model(inputs, layer(inputs))
    theirs.compile(optimizer="sgd", loss="mse")
    theirs.fit(_random((8, 5)), _random((8, 3)), batch_size=4, verbose=0)
    path = str(tmp_path / "from_keras.keras")
    theirs.save(path)
    ours = keras.models.load_model(path, custom_objects={"counting_call": counting_call,
                                                         "counting_init": counting_init})
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = _random((3, 5), seed=2)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


# -- FlaxLayer ----------------------------------------------------------------------------------
def test_flax_layer_without_flax_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "flax", None)      # `import flax` now fails
    with pytest.raises(ImportError, match="pip install flax"):
        FlaxLayer(module=object())


def _flax_modules():
    linen = pytest.importorskip("flax.linen")

    class MLP(linen.Module):
        features: int = 3

        @linen.compact
        def __call__(self, inputs, training):
            x = linen.Dense(8)(inputs)
            x = linen.BatchNorm(use_running_average=not training, momentum=0.5)(x)
            return linen.Dense(self.features)(linen.relu(x))

        def get_config(self):
            return {"features": self.features}

    class Plain(linen.Module):
        @linen.compact
        def __call__(self, inputs):
            return linen.Dense(2)(inputs)

        def doubled(self, inputs):
            return 2.0 * self(inputs)

        def get_config(self):
            return {}

    return MLP, Plain


def test_flax_layer_matches_keras_outputs_and_fit():
    MLP, _ = _flax_modules()
    module = MLP()
    x, y = _random((12, 5), seed=3), _random((12, 3), seed=4)
    variables = module.init(jax.random.key(0), x[:2], training=False)
    models = []
    for lib in (keras, k3):
        inputs = lib.Input((5,))
        layer = lib.layers.FlaxLayer(module, variables=variables)
        model = lib.Model(inputs, layer(inputs))
        model.compile(optimizer=lib.optimizers.SGD(learning_rate=0.05), loss="mse")
        models.append(model)
    ours, theirs = models
    assert [(w.shape, w.trainable) for w in ours.weights] == [
        (tuple(w.shape), w.trainable) for w in theirs.weights]
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    ours.fit(x, y, batch_size=4, shuffle=False, verbose=0)
    theirs.fit(x, y, batch_size=4, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):      # params and batch_stats
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert not np.allclose(ours.layers[1].state["batch_stats"]["BatchNorm_0"]["mean"].value, 0)


def test_flax_layer_init_at_build_and_methods():
    _, Plain = _flax_modules()
    x = _random((2, 4))
    def halved(module, inputs):         # a function that takes the module
        return 0.5 * module(inputs)

    for method in (None, "doubled", halved):
        theirs_method = Plain().doubled if method == "doubled" else method
        ours, theirs = FlaxLayer(Plain(), method=method), k3.layers.FlaxLayer(
            Plain(), method=theirs_method)
        ours(x)
        theirs(x)
        assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
        ours.set_weights([np.asarray(w.value) for w in theirs.weights])
        np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5)
        assert ours.state == {} and "params" in ours.params


def test_flax_layer_save_load_round_trip(tmp_path):
    MLP, _ = _flax_modules()
    inputs = keras.Input((5,))
    model = keras.Model(inputs, FlaxLayer(MLP(features=2), name="flax")(inputs))
    model.compile(optimizer="sgd", loss="mse")
    model.fit(_random((8, 5)), _random((8, 2)), batch_size=4, verbose=0)
    config = model.get_layer("flax").get_config()
    assert config["module"]["class_name"] == "MLP" and config["method"] is None
    path = str(tmp_path / "flax.keras")
    model.save(path)
    with pytest.raises(ValueError, match="'MLP' is unknown.*custom_objects"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, custom_objects={"MLP": MLP})
    assert loaded.get_layer("flax").module.features == 2
    x = _random((3, 5), seed=5)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
