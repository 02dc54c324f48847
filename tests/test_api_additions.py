"""Keras 3 public names gazelle added late (InputSpec, Wrapper, name_scope, split_dataset,
SwapEMAWeights, RemoteMonitor, dtype policies, RandomElasticTransform), each checked
against Keras 3 itself."""
import keras as k3
import numpy as np
import pytest

import gazelle as keras


# -- InputSpec -------------------------------------------------------------------------
def _spec_layer(lib, spec_kwargs, in_build=False):
    class Spec(lib.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            if not in_build:
                self.input_spec = lib.InputSpec(**spec_kwargs)

        def build(self, input_shape):
            if in_build:
                self.input_spec = lib.InputSpec(**spec_kwargs)

        def call(self, x):
            return x
    return Spec(name="spec")


def _outcome(fn):
    try:
        fn()
    except ValueError as e:
        return str(e)
    return None


SPEC_CASES = [
    ({"ndim": 4}, (2, 3, 3, 1)),
    ({"ndim": 4}, (2, 3, 3)),
    ({"min_ndim": 3}, (2, 3)),
    ({"max_ndim": 2}, (2, 3, 4)),
    ({"axes": {-1: 3}}, (2, 4)),
    ({"axes": {-1: 3}}, (2, 3)),
    ({"shape": (None, 28, 28, 1)}, (2, 28, 27, 1)),
    ({"shape": (None, 28, 28, 1), "allow_last_axis_squeeze": True}, (2, 28, 28)),
    ({"shape": (None, 28, 28, 1), "allow_last_axis_squeeze": True}, (2, 28, 5)),
    ({"dtype": "float32"}, (2, 3)),
    ({"dtype": "float16"}, (2, 3)),
]


@pytest.mark.parametrize("spec_kwargs,shape", SPEC_CASES)
@pytest.mark.parametrize("in_build", [False, True])
def test_input_spec_check_matches_keras(spec_kwargs, shape, in_build):
    x = np.zeros(shape, "float32")
    ours = _outcome(lambda: _spec_layer(keras, spec_kwargs, in_build)(x))
    theirs = _outcome(lambda: _spec_layer(k3, spec_kwargs, in_build)(x))
    assert ours == theirs


def test_input_spec_checks_symbolic_calls_and_lists():
    ours = _outcome(lambda: _spec_layer(keras, {"ndim": 3})(keras.Input((4,))))
    theirs = _outcome(lambda: _spec_layer(k3, {"ndim": 3})(k3.Input((4,))))
    assert ours is not None and ours == theirs
    out = _spec_layer(keras, {"ndim": 3})(keras.Input((4, 2)))
    assert tuple(out.shape) == (None, 4, 2)

    def two(lib):
        layer = _spec_layer(lib, {"ndim": 2})
        layer.input_spec = [lib.InputSpec(ndim=2), lib.InputSpec(ndim=3)]
        return layer
    a, b = np.zeros((2, 3), "float32"), np.zeros((2, 3), "float32")
    assert _outcome(lambda: two(keras)([a, b])) == _outcome(lambda: two(k3)([a, b]))
    assert _outcome(lambda: two(keras)([a])) == _outcome(lambda: two(k3)([a]))


def test_input_spec_named_dict_inputs():
    def named(lib):
        layer = _spec_layer(lib, {"ndim": 2})
        layer.input_spec = [lib.InputSpec(ndim=2, name="a"), lib.InputSpec(ndim=2, name="b")]
        layer.call = lambda x: x["a"]
        return layer
    x = np.zeros((2, 3), "float32")
    assert _outcome(lambda: named(keras)({"a": x})) == _outcome(lambda: named(k3)({"a": x}))
    np.testing.assert_array_equal(np.asarray(named(keras)({"a": x, "b": x})), x)


def test_input_spec_object_matches_keras():
    kwargs = dict(dtype="float32", shape=(None, 5), axes={"1": 5}, name="x", optional=True)
    ours, theirs = keras.InputSpec(**kwargs), k3.InputSpec(**kwargs)
    assert ours.get_config() == theirs.get_config()
    assert repr(ours) == repr(theirs)
    again = keras.InputSpec.from_config(ours.get_config())
    assert again.ndim == 2 and again.axes == {1: 5}
    assert keras.layers.InputSpec is keras.InputSpec
    with pytest.raises(TypeError, match="axes"):
        keras.InputSpec(axes={"a": 1})
    with pytest.raises(ValueError, match="maximum"):
        keras.InputSpec(ndim=2, axes={3: 1})
    assert keras.layers.Dense(2).input_spec is None


def test_input_spec_unset_layers_and_models_still_work():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    assert model.predict(np.zeros((4, 3), "float32"), verbose=0).shape == (4, 2)


# -- Wrapper ---------------------------------------------------------------------------
def _doubler(lib):
    class Doubler(lib.layers.Wrapper):
        def call(self, x):
            return 2.0 * self.layer(x)
    return Doubler


def test_wrapper_subclass_matches_keras():
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    ours = _doubler(keras)(keras.layers.Dense(2), name="doubler")
    theirs = _doubler(k3)(k3.layers.Dense(2), name="doubler")
    ours.build((None, 3))
    theirs.build((None, 3))
    assert ours.built and ours.layer.built and theirs.layer.built
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-6, atol=1e-6)
    c_ours, c_theirs = ours.get_config(), theirs.get_config()
    assert set(c_ours) >= {"name", "trainable", "layer"}
    assert c_ours["layer"]["class_name"] == c_theirs["layer"]["class_name"] == "Dense"
    assert c_ours["layer"]["config"]["units"] == 2
    again = type(ours).from_config(c_ours)
    assert again.name == "doubler" and isinstance(again.layer, keras.layers.Dense)
    assert again.layer.units == 2


def test_wrapper_rejects_non_layers_and_covers_builtin_wrappers():
    with pytest.raises(ValueError, match="Wrapper"):
        _doubler(keras)("dense")
    with pytest.raises(ValueError, match="Wrapper"):
        _doubler(k3)("dense")
    assert isinstance(keras.layers.TimeDistributed(keras.layers.Dense(2)), keras.layers.Wrapper)
    assert isinstance(keras.layers.Bidirectional(keras.layers.LSTM(2)), keras.layers.Wrapper)
    assert not isinstance(keras.layers.Dense(2), keras.layers.Wrapper)


# -- name_scope ------------------------------------------------------------------------
def _scope_paths(lib, current_path):
    caller = object()
    seen = []
    with lib.name_scope("outer") as outer:
        seen.append(current_path())
        with lib.name_scope("inner", caller=caller):
            with lib.name_scope("inner", caller=caller):       # deduplicated
                seen.append(current_path())
        with lib.name_scope("abs", override_parent="root/sub"):
            seen.append(current_path())
        with lib.name_scope("x", deduplicate=False):
            seen.append(current_path())
    seen.append(current_path())
    return seen, (outer.name, outer.caller, outer.deduplicate, outer.override_parent)


def test_name_scope_matches_keras():
    from keras.src.backend.common.name_scope import current_path as k3_path

    from gazelle.core.name_scope import current_path
    assert _scope_paths(keras, current_path) == _scope_paths(k3, k3_path)
    with pytest.raises(ValueError, match="cannot contain"):
        keras.name_scope("a/b")
    with pytest.raises(ValueError, match="must be a string"):
        keras.name_scope(3)
    with keras.name_scope("block"):
        y = keras.layers.Dense(2)(np.ones((1, 3), "float32"))
    assert y.shape == (1, 2)


# -- split_dataset ---------------------------------------------------------------------
def _keras_split(dataset, left_size, right_size, shuffle, seed):
    """Keras 3's split (its own helpers) up to the tf.data step, which needs TensorFlow."""
    import random

    from keras.src.utils import dataset_utils as du
    spec = du._get_type_spec(dataset)
    samples = du._convert_dataset_to_list(dataset, spec)
    if shuffle:
        random.seed(seed)
        random.shuffle(samples)
    left, right = du._rescale_dataset_split_sizes(left_size, right_size, len(samples))
    return (du._restore_dataset_from_list(samples[:left], spec, dataset),
            du._restore_dataset_from_list(samples[-right:], spec, dataset))


def _items(ds):
    """A dataset's elements: gazelle's own (indexable), or the tf.data.Dataset that the
    utilities return, as Keras 3's do, when TensorFlow is installed."""
    if hasattr(ds, "as_numpy_iterator"):
        return list(ds.as_numpy_iterator())
    return [ds[i] for i in range(len(ds))]


def _as_columns(ds):
    items = _items(ds)
    if isinstance(items[0], tuple):
        return tuple(np.stack([it[j] for it in items]) for j in range(len(items[0])))
    return np.stack(items)


@pytest.mark.parametrize("left_size,right_size,shuffle,seed", [
    (0.8, None, False, None), (None, 3, False, None), (4, 5, True, 7), (0.25, 0.5, True, 3),
])
def test_split_dataset_matches_keras(left_size, right_size, shuffle, seed):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 3)).astype("float32")
    y = np.arange(12)
    for data in (x, (x, y), [x, y]):
        ours = keras.utils.split_dataset(data, left_size=left_size, right_size=right_size,
                                         shuffle=shuffle, seed=seed)
        theirs = _keras_split(data, left_size, right_size, shuffle, seed)
        for part_ours, part_theirs in zip(ours, theirs):
            got = _as_columns(part_ours)
            if isinstance(part_theirs, tuple):
                assert isinstance(got, tuple) and len(got) == len(part_theirs)
                for a, b in zip(got, part_theirs):
                    np.testing.assert_array_equal(a, b)
            else:
                np.testing.assert_array_equal(got, np.stack(part_theirs))


@pytest.mark.parametrize("left_size,right_size", [
    (None, None), (0, 0), (12, None), (1.0, None), (0.7, 0.5), (8, 8), (0.01, None),
    ("a", None), (None, "b"), ("a", "b"), (True, None), (np.int64(3), None), (-1, None),
])
def test_split_dataset_size_errors_match_keras(left_size, right_size):
    from keras.src.utils import dataset_utils as du
    x = np.zeros((12, 2), "float32")

    def kind(fn):
        try:
            return fn()
        except (TypeError, ValueError) as e:
            return type(e)
    if left_size is None and right_size is None:
        expected = ValueError
    else:
        expected = kind(lambda: du._rescale_dataset_split_sizes(left_size, right_size, 12))
    got = kind(lambda: tuple(len(p) for p in keras.utils.split_dataset(
        x, left_size=left_size, right_size=right_size)))
    assert got == expected


def test_split_dataset_dicts_batched_sources_and_fit():
    x = np.random.default_rng(1).normal(size=(20, 3)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("float32")
    left, right = keras.utils.split_dataset({"a": x, "b": y}, left_size=15)
    assert len(left) == 15 and len(right) == 5
    np.testing.assert_array_equal(_items(right)[0]["a"], x[15])
    batched = keras.utils.timeseries_dataset_from_array(x, None, sequence_length=1,
                                                        batch_size=4)
    left, right = keras.utils.split_dataset(batched, left_size=0.5)
    assert [np.shape(item) for item in _items(left)] == [(4, 1, 3), (4, 1, 3), (2, 1, 3)]
    train, _ = keras.utils.split_dataset((x, y), left_size=0.75, shuffle=True, seed=0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(train.batch(5), epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1
    with pytest.raises(TypeError, match="dataset"):
        keras.utils.split_dataset(3, left_size=0.5)
    with pytest.raises(ValueError, match="different lengths"):
        keras.utils.split_dataset((x, y[:5]), left_size=0.5)


# -- SwapEMAWeights --------------------------------------------------------------------
def _ema_run(lib, weights, x, y, swap_on_epoch):
    model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2)])
    model.set_weights(weights)
    model.compile(optimizer=lib.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5),
                  loss="mse")
    seen = []

    class Record(lib.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append([np.asarray(w) for w in self.model.get_weights()])
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0,
              callbacks=[lib.callbacks.SwapEMAWeights(swap_on_epoch=swap_on_epoch), Record()])
    return model, seen


@pytest.mark.parametrize("swap_on_epoch", [False, True])
def test_swap_ema_weights_in_fit_matches_keras(swap_on_epoch):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = rng.normal(size=(16, 2)).astype("float32")
    weights = [rng.normal(size=(3, 2)).astype("float32"), np.zeros(2, "float32")]
    ours, seen_ours = _ema_run(keras, weights, x, y, swap_on_epoch)
    theirs, seen_theirs = _ema_run(k3, weights, x, y, swap_on_epoch)
    for a, b in zip(seen_ours, seen_theirs):
        for wa, wb in zip(a, b):
            np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    for wa, wb in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)


def test_swap_ema_weights_hooks_swap_and_restore():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = rng.normal(size=(16, 2)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.1, use_ema=True), loss="mse")
    model.fit(x, y, epochs=1, verbose=0)
    callback = keras.callbacks.SwapEMAWeights()
    callback.set_model(model)
    trained = [np.asarray(w) for w in model.get_weights()]
    averages = [np.asarray(v.value) for v in model.optimizer._ema_variables]
    callback.on_test_begin()
    for w, a in zip(model.trainable_variables, averages):
        np.testing.assert_array_equal(np.asarray(w.value), a)
    callback.on_test_end()
    for w, t in zip(model.get_weights(), trained):
        np.testing.assert_array_equal(w, t)
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    plain.compile(optimizer="sgd", loss="mse")
    callback = keras.callbacks.SwapEMAWeights()
    callback.set_model(plain)
    with pytest.raises(ValueError, match="use_ema=True"):
        callback.on_test_begin()


def test_swap_ema_weights_in_evaluate_matches_keras():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = rng.normal(size=(16, 2)).astype("float32")
    weights = [rng.normal(size=(3, 2)).astype("float32"), np.zeros(2, "float32")]
    losses = []
    for lib in (keras, k3):
        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2)])
        model.set_weights(weights)
        model.compile(optimizer=lib.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5),
                      loss="mse")
        model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
        model.set_weights(weights)      # trained weights differ from their averages now
        losses.append(model.evaluate(x, y, verbose=0,
                                     callbacks=[lib.callbacks.SwapEMAWeights()]))
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)


def test_swap_ema_weights_in_fit_validation_and_predict_match_keras():
    """Validation inside fit runs the test hooks (Keras 3), so its loss is the EMA
    weights'; predict runs the predict hooks (Keras 3.15's own predict with this callback
    fails on JAX, so its EMA predictions come from its finalized weights after fit)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = rng.normal(size=(16, 2)).astype("float32")
    weights = [rng.normal(size=(3, 2)).astype("float32"), np.zeros(2, "float32")]
    val_losses, ema_predictions = [], []
    for lib in (keras, k3):
        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2)])
        model.set_weights(weights)
        model.compile(optimizer=lib.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5),
                      loss="mse")
        history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0,
                            validation_data=(x, y),
                            callbacks=[lib.callbacks.SwapEMAWeights()])
        val_losses.append(history.history["val_loss"])
        ema_predictions.append(model.predict(x, verbose=0))   # fit ends on the averages
    np.testing.assert_allclose(val_losses[0], val_losses[1], rtol=1e-5)
    ours = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    ours.set_weights(weights)
    ours.compile(optimizer=keras.optimizers.SGD(0.1, use_ema=True, ema_momentum=0.5),
                 loss="mse")
    ours.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    ours.set_weights(weights)          # the averages now differ from the weights
    swapped = ours.predict(x, verbose=0, callbacks=[keras.callbacks.SwapEMAWeights()])
    np.testing.assert_allclose(swapped, ema_predictions[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.predict(x, verbose=0), x @ weights[0], rtol=1e-5,
                               atol=1e-6)        # and swapped back afterwards


# -- RemoteMonitor ---------------------------------------------------------------------
@pytest.fixture
def local_server(monkeypatch):
    """An HTTP server on 127.0.0.1 that records each POST: (path, content type, body, a
    custom header)."""
    import http.server
    import threading
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append((self.path, self.headers.get("Content-Type"), body,
                             self.headers.get("X-Run")))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def _payload(content_type, body, field="data"):
    import json
    import urllib.parse
    if content_type == "application/json":
        return json.loads(body)
    return json.loads(urllib.parse.parse_qs(body.decode())[field][0])


@pytest.mark.parametrize("send_as_json", [False, True])
def test_remote_monitor_posts_what_keras_posts(local_server, send_as_json):
    root, received = local_server
    logs = {"loss": np.float32(0.5), "accuracy": 0.75, "val_loss": np.array(0.25)}
    for lib in (keras, k3):
        monitor = lib.callbacks.RemoteMonitor(root=root, path="/events/", field="payload",
                                              headers={"X-Run": "r1"},
                                              send_as_json=send_as_json)
        monitor.on_epoch_end(3, dict(logs))
    assert len(received) == 2
    (path_o, type_o, body_o, run_o), (path_t, type_t, body_t, run_t) = received
    assert (path_o, type_o, run_o) == (path_t, type_t, run_t) == (
        "/events/", type_t, "r1")
    assert _payload(type_o, body_o, "payload") == _payload(type_t, body_t, "payload") == {
        "epoch": 3, "loss": 0.5, "accuracy": 0.75, "val_loss": 0.25}


def test_remote_monitor_in_fit_and_unreachable_server(local_server):
    import socket
    root, received = local_server
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(np.zeros((8, 2), "float32"), np.zeros((8, 1), "float32"), epochs=2, verbose=0,
              callbacks=[keras.callbacks.RemoteMonitor(root=root)])
    assert [(_payload(t, b)["epoch"], p) for p, t, b, _ in received] == [
        (0, "/publish/epoch/end/"), (1, "/publish/epoch/end/")]
    assert "loss" in _payload(received[0][1], received[0][2])
    with socket.socket() as s:          # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    for lib in (keras, k3):
        with pytest.warns(UserWarning, match="Could not reach RemoteMonitor"):
            lib.callbacks.RemoteMonitor(root=closed).on_epoch_end(0, {"loss": 1.0})


# -- DTypePolicy, dtype_policies, mixed_precision --------------------------------------
def test_dtype_policy_matches_keras():
    for name in (None, "float32", "int32", "bool"):
        ours, theirs = keras.DTypePolicy(name), k3.DTypePolicy(name)
        assert (ours.name, ours.compute_dtype, ours.variable_dtype, ours.quantization_mode) \
            == (theirs.name, theirs.compute_dtype, theirs.variable_dtype,
                theirs.quantization_mode)
        assert ours.get_config() == theirs.get_config() and repr(ours) == repr(theirs)
    float_ours, float_theirs = keras.FloatDTypePolicy("float32"), k3.FloatDTypePolicy("float32")
    assert repr(float_ours) == repr(float_theirs)
    assert float_ours == keras.DTypePolicy("float32") and keras.DTypePolicy("int32") != float_ours
    assert keras.dtype_policies.serialize(float_ours) == k3.dtype_policies.serialize(float_theirs)
    assert keras.dtype_policies.serialize(keras.DTypePolicy()) == \
        k3.dtype_policies.serialize(k3.DTypePolicy())
    config = k3.dtype_policies.serialize(k3.DTypePolicy("float32"))
    assert keras.dtype_policies.deserialize(config) == keras.DTypePolicy("float32")
    for identifier in ("float32", None, {"class_name": "DTypePolicy",
                                         "config": {"name": "float32"}}, np.float32):
        assert keras.dtype_policies.get(identifier).name == \
            k3.dtype_policies.get(identifier).name
    for lib in (keras, k3):
        with pytest.raises(TypeError, match="'name' must be a string"):
            lib.DTypePolicy(3)
        with pytest.raises(ValueError, match="Cannot convert 'foo'"):
            lib.DTypePolicy("foo")
        with pytest.raises(ValueError, match="Cannot interpret `dtype`"):
            lib.dtype_policies.get(3.5)
        with pytest.raises(ValueError, match="Invalid `policy` argument"):
            lib.mixed_precision.set_global_policy(3)
    x = np.ones((2, 3), "float64")
    assert str(keras.DTypePolicy().convert_input(x, True, "float32").dtype) == \
        str(k3.DTypePolicy().convert_input(x, True, "float32").dtype) == "float32"


def test_float32_policy_works_in_layers_and_mixed_ones_are_refused():
    x = np.random.default_rng(0).normal(size=(2, 3)).astype("float32")
    ours = keras.layers.Dense(2, dtype=keras.DTypePolicy("float32"))
    theirs = k3.layers.Dense(2, dtype=k3.DTypePolicy("float32"))
    ours.build((None, 3))
    theirs.build((None, 3))
    ours.set_weights(theirs.get_weights())
    assert ours.dtype == theirs.dtype == "float32"
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-6)
    assert keras.layers.Dense(2, dtype=keras.dtype_policies.get("float32")).dtype == "float32"
    keras.mixed_precision.set_global_policy("float32")
    keras.mixed_precision.set_global_policy(keras.mixed_precision.Policy("float32"))
    assert keras.mixed_precision.global_policy() == keras.DTypePolicy("float32")
    assert repr(keras.mixed_precision.global_policy()) == repr(k3.mixed_precision.global_policy())
    assert keras.mixed_precision.dtype_policy().name == "float32"
    assert keras.mixed_precision.LossScaleOptimizer is keras.optimizers.LossScaleOptimizer
    assert keras.mixed_precision.DTypePolicy is keras.DTypePolicy
    for name in ("mixed_float16", "mixed_bfloat16", "float16", "bfloat16"):
        with pytest.raises(NotImplementedError, match="gazelle computes in float32 only"):
            keras.DTypePolicy(name)
        with pytest.raises(NotImplementedError, match="gazelle computes in float32 only"):
            keras.mixed_precision.set_global_policy(name)
        with pytest.raises(NotImplementedError, match="float32 only"):
            keras.dtype_policies.get(name)
    with pytest.raises(NotImplementedError, match="float32 only"):
        keras.dtype_policies.get("int8_from_float32")
    assert keras.config.dtype_policy().name == "float32"


# -- RandomElasticTransform ------------------------------------------------------------
@pytest.mark.sweep
@pytest.mark.parametrize("fill_mode", ["reflect", "constant", "nearest", "wrap", "mirror"])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_elastic_warp_matches_keras(fill_mode, interpolation):
    import jax
    import jax.numpy as jnp

    from gazelle.layers.preprocessing.image import elastic
    x = np.random.default_rng(0).uniform(0, 255, (2, 40, 48, 3)).astype("float32")
    apply = np.array([True, False])
    theirs = k3.layers.RandomElasticTransform(fill_mode=fill_mode, interpolation=interpolation,
                                              fill_value=7.0)
    theirs = np.asarray(theirs.transform_images(
        x, {"apply_transform": apply, "distortion_factor": np.float32(1.0), "seed": 7},
        training=True))
    # Keras draws its x and y fields from one key (the same noise); feed ours the same.
    noise = jax.random.normal(jnp.array([7, 0], jnp.uint32), (2, 40, 48), jnp.float32)
    ours = np.asarray(elastic._warp(jnp.asarray(x), jnp.stack([noise, noise]),
                                    jnp.float32(1.0), jnp.asarray(apply), 1.0, interpolation,
                                    fill_mode, (0.0, 255.0), 7.0))
    assert np.abs(theirs - x).max() > 50            # the warp moved pixels
    np.testing.assert_allclose(ours, theirs, atol=2e-3)
    np.testing.assert_array_equal(ours[1], x[1])


def test_elastic_window_of_the_largest_sigma_is_close_to_keras():
    import jax
    import jax.numpy as jnp

    from gazelle.layers.preprocessing.image import elastic
    x = np.random.default_rng(1).uniform(0, 1, (1, 40, 40, 1)).astype("float32")
    smooth = np.asarray(k3.ops.image.gaussian_blur(x, (9, 9), (3.0, 3.0)))
    theirs = k3.layers.RandomElasticTransform(value_range=(0, 1)).transform_images(
        smooth, {"apply_transform": np.array([True]), "distortion_factor": np.float32(0.5),
                 "seed": 3}, training=True)
    noise = jax.random.normal(jnp.array([3, 0], jnp.uint32), (1, 40, 40), jnp.float32)
    ours = elastic._warp(jnp.asarray(smooth), jnp.stack([noise, noise]), jnp.float32(0.5),
                         jnp.array([True]), 1.0, "bilinear", "reflect", (0.0, 1.0), 0.0)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), atol=5e-3)


def test_elastic_layer_identities_config_and_errors():
    x = np.random.default_rng(2).uniform(0, 255, (2, 16, 16, 3)).astype("float32")
    layer = keras.layers.RandomElasticTransform(seed=1)
    first, second = np.asarray(layer(x)), np.asarray(layer(x))
    assert np.abs(first - x).mean() > 1 and not np.allclose(first, second)
    assert first.min() >= 0 and first.max() <= 255
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    for kwargs in ({"factor": 0.0}, {"scale": 0.0}):
        np.testing.assert_array_equal(
            np.asarray(keras.layers.RandomElasticTransform(**kwargs)(x)), x)
    single = np.asarray(keras.layers.RandomElasticTransform(seed=0)(x[0]))
    assert single.shape == (16, 16, 3)
    first_ch = keras.layers.RandomElasticTransform(seed=0, data_format="channels_first")
    assert np.asarray(first_ch(x.transpose(0, 3, 1, 2))).shape == (2, 3, 16, 16)
    masks = np.random.default_rng(3).integers(0, 4, (2, 16, 16, 1)).astype("float32")
    out = keras.layers.RandomElasticTransform(seed=0)({"images": x, "segmentation_masks": masks})
    assert set(np.unique(np.asarray(out["segmentation_masks"]))) <= {0.0, 1.0, 2.0, 3.0}
    kwargs = dict(factor=(0.2, 0.8), scale=0.5, interpolation="nearest", fill_mode="constant",
                  fill_value=1.0, value_range=(0, 1), seed=4)
    ours = keras.layers.RandomElasticTransform(**kwargs).get_config()
    theirs = k3.layers.RandomElasticTransform(**kwargs).get_config()
    for key in ("factor", "scale", "interpolation", "fill_mode", "fill_value", "value_range",
                "seed"):
        assert tuple(np.ravel(ours[key])) == tuple(np.ravel(theirs[key])), key
    assert set(theirs) <= set(ours) | {"dtype"}
    again = keras.layers.RandomElasticTransform.from_config(ours).get_config()
    assert again == ours
    for bad in ({"interpolation": "bicubic"}, {"fill_mode": "edge"}):
        for lib in (keras, k3):
            with pytest.raises(NotImplementedError):
                lib.layers.RandomElasticTransform(**bad)
    for lib in (keras, k3):
        with pytest.raises(ValueError, match="scale"):
            lib.layers.RandomElasticTransform(scale=1.5)
        with pytest.raises(ValueError):
            lib.layers.RandomElasticTransform(factor=2.0)


def test_elastic_layer_trains_inside_a_compiled_model():
    x = np.random.default_rng(4).uniform(0, 1, (8, 12, 12, 1)).astype("float32")
    y = np.zeros((8, 1), "float32")
    model = keras.Sequential([
        keras.Input((12, 12, 1)),
        keras.layers.RandomElasticTransform(scale=(0.2, 0.8), value_range=(0, 1), seed=0),
        keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               np.asarray(model.layers[-1](x.reshape(8, -1))), atol=1e-5)
