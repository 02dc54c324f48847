"""keras.ops on Functional-API placeholders: op nodes, SymbolicTensor dunders, .keras files.

Each graph is built twice, with gazelle and with Keras 3, from the same code; with the same
weights both models must predict the same, and a `.keras` file written by either loads in
the other.
"""
import numpy as np
import pytest

import gazelle as keras
from gazelle import ops


def _pair(build, *input_shapes):
    """The same graph `build(lib, *inputs)` as a gazelle and a Keras 3 model."""
    import keras as k3
    models = []
    for lib in (keras, k3):
        lib.backend.clear_session()         # the same auto names on both sides
        inputs = [lib.Input(s, name=f"in{i}") for i, s in enumerate(input_shapes)]
        models.append(lib.Model(inputs, build(lib, *inputs)))
    ours, theirs = models
    theirs.set_weights(ours.get_weights())
    rng = np.random.default_rng(0)
    data = [rng.standard_normal((5,) + s).astype("float32") for s in input_shapes]
    return ours, theirs, data


def _same(a, b):
    a = a if isinstance(a, list) else [a]
    b = b if isinstance(b, list) else [b]
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert np.asarray(x).dtype == np.asarray(y).dtype
        np.testing.assert_allclose(np.asarray(x, "float64"), np.asarray(y, "float64"),
                                   rtol=1e-5, atol=1e-6)


def _wide(lib, a, b):
    c = lib.ops.concatenate([a, b], axis=-1)
    d = lib.ops.expand_dims(c, -1) * 2.0 + 1.0
    e = lib.layers.Dense(3)(d[:, :, 0])
    return [e, lib.ops.sum(c, axis=1, keepdims=True), lib.ops.nn.relu(e - c[:, :3])]


def _gated(lib, a, b):
    h = lib.layers.Dense(4)(a)
    y = lib.ops.where(h > 0, h, 0.1 * h) + np.arange(4, dtype="float32")
    z = lib.ops.reshape(y, (-1, 2, 2))[:, :, 0]
    w = lib.ops.mean(lib.ops.cast(b > 0, "float32"), axis=-1)
    return [lib.layers.Dense(1)(z), w, lib.ops.argmax(b, axis=1)]


GRAPHS = {"wide": (_wide, (3,), (4,)), "gated": (_gated, (3,), (5,))}


@pytest.mark.parametrize("graph", sorted(GRAPHS))
def test_ops_on_inputs_predict_like_keras3(graph):
    build, *shapes = GRAPHS[graph]
    ours, theirs, x = _pair(build, *shapes)
    assert [type(l).__name__ for l in ours.layers] == [type(l).__name__ for l in theirs.layers]
    assert [l.name for l in ours.layers] == [l.name for l in theirs.layers]
    _same(ours.predict(x, verbose=0), theirs.predict(x, verbose=0))


@pytest.mark.parametrize("graph", sorted(GRAPHS))
def test_op_nodes_match_keras3_config(graph):
    build, *shapes = GRAPHS[graph]
    ours, theirs, _ = _pair(build, *shapes)
    import json
    mine, ref = (json.loads(json.dumps(m.get_config()["layers"])) for m in (ours, theirs))
    for a, b in zip(mine, ref):
        if b["module"].startswith("keras.src.ops."):
            for key in ("module", "class_name", "config", "registered_name", "inbound_nodes"):
                assert a[key] == b[key], (b["class_name"], key)


DUNDERS = {
    "add": lambda x, y: x + y,
    "radd": lambda x, y: 1.5 + x,
    "sub": lambda x, y: x - y,
    "rsub": lambda x, y: 2.0 - y,
    "mul": lambda x, y: x * y,
    "rmul": lambda x, y: 3 * x,
    "truediv": lambda x, y: x / (y * y + 1.0),
    "rtruediv": lambda x, y: 1.0 / (x * x + 1.0),
    "floordiv": lambda x, y: x // 0.3,
    "mod": lambda x, y: x % 0.7,
    "pow": lambda x, y: (x * x) ** 1.5,
    "rpow": lambda x, y: 2.0 ** x,
    "neg": lambda x, y: -x,
    "abs": lambda x, y: abs(y),
    "matmul": None,
    "lt": lambda x, y: x < y,
    "le": lambda x, y: x <= 0.1,
    "gt": lambda x, y: x > y,
    "ge": lambda x, y: y >= 0.0,
    "ne": lambda x, y: x != y,
    "and": lambda x, y: (x > 0) & (y > 0),
    "or": lambda x, y: (x > 0) | (y > 0),
    "xor": lambda x, y: (x > 0) ^ (y > 0),
    "invert": lambda x, y: ~(x > 0),
    "getitem_column": lambda x, y: x[:, 0],
    "getitem_slices": lambda x, y: y[..., 1:3],
    "getitem_newaxis": lambda x, y: x[:, None, ::2],
}


def test_symbolic_dunders_match_keras3():
    names = sorted(DUNDERS)

    def build(lib, x, y):
        return [x @ lib.ops.transpose(y) if n == "matmul" else DUNDERS[n](x, y) for n in names]

    ours, theirs, data = _pair(build, (4,), (4,))
    for name, a, b in zip(names, ours.outputs, theirs.outputs):
        assert (a.shape, a.dtype) == (tuple(b.shape), b.dtype), name
    for name, a, b in zip(names, ours(data), theirs(data)):
        try:
            _same(a, b)
        except AssertionError as e:
            raise AssertionError(f"x.__{name}__: {e}") from None


def test_placeholder_shape_dtype_ndim_and_static_shape_op():
    x = keras.Input((5, 3))
    assert x.shape == (None, 5, 3) and x.dtype == "float32" and x.ndim == 3
    assert ops.shape(x) == (None, 5, 3) and ops.shape(x)[1] == 5
    y = ops.cast(ops.argmax(x, axis=-1), "int32")
    assert y.shape == (None, 5) and y.dtype == "int32"
    parts = ops.split(x, 3, axis=-1)            # several outputs
    assert [p.shape for p in parts] == [(None, 5, 1)] * 3
    model = keras.Model(x, [y, parts[2]])
    data = np.arange(30, dtype="float32").reshape(2, 5, 3)
    got = model.predict(data, verbose=0)
    np.testing.assert_array_equal(got[0], np.argmax(data, axis=-1))
    np.testing.assert_array_equal(got[1], data[..., 2:])


def test_placeholder_has_no_value():
    x = keras.Input((2,))
    with pytest.raises(TypeError, match="no value"):
        float(x)
    with pytest.raises(TypeError, match="no value"):
        np.asarray(x)
    with pytest.raises(TypeError, match="Iterating"):
        list(x)


def _saved(model, tmp_path, name):
    path = str(tmp_path / name)
    model.save(path)
    return path


@pytest.mark.parametrize("graph", sorted(GRAPHS))
def test_save_load_round_trip_both_ways(graph, tmp_path):
    import keras as k3
    build, *shapes = GRAPHS[graph]
    ours, theirs, x = _pair(build, *shapes)
    expected = theirs.predict(x, verbose=0)
    reloaded = keras.models.load_model(_saved(ours, tmp_path, "ours.keras"))
    _same(reloaded.predict(x, verbose=0), expected)
    _same(k3.models.load_model(str(tmp_path / "ours.keras")).predict(x, verbose=0), expected)
    from_keras = keras.models.load_model(_saved(theirs, tmp_path, "theirs.keras"))
    _same(from_keras.predict(x, verbose=0), expected)
    # The reloaded graph saves again (slices, settings and constants survive twice).
    again = keras.models.load_model(_saved(from_keras, tmp_path, "again.keras"))
    _same(again.predict(x, verbose=0), expected)


def test_model_with_ops_trains():
    inp = keras.Input((4,))
    out = keras.layers.Dense(1)(ops.concatenate([inp, inp * inp], axis=-1))
    model = keras.Model(inp, out)
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(1).standard_normal((32, 4)).astype("float32")
    history = model.fit(x, x[:, :1], epochs=2, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_varargs_ops_save_like_keras3(tmp_path):
    import keras as k3

    def build(lib, a, b):
        grid = lib.ops.meshgrid(a[0], b[0] * 2.0, indexing="ij")[1]
        return lib.ops.einsum("bi,bj->bij", a, b) + grid + lib.ops.arange(2.0)

    ours, theirs, x = _pair(build, (3,), (2,))
    expected = theirs.predict(x, verbose=0)
    _same(ours.predict(x, verbose=0), expected)
    for lib in (keras, k3):
        for model in (ours, theirs):
            path = str(tmp_path / f"{lib.__name__}_{type(model).__module__[:5]}.keras")
            model.save(path)
            _same(lib.models.load_model(path).predict(x, verbose=0), expected)


@pytest.mark.parametrize("case", ["unknown_layout", "callable_argument"])
def test_op_gazelle_cannot_save_says_so(case, tmp_path):
    x = keras.Input((3, 4))
    if case == "unknown_layout":     # runs, but Keras's LayerNorm layout is not written
        y, op = ops.layer_normalization(x, axis=-1), "layer_normalization"
        expected = lambda d: np.asarray(ops.layer_normalization(d, axis=-1))
    else:
        y, op = ops.map(lambda t: t * 2.0, x), "map"
        expected = lambda d: 2.0 * d
    model = keras.Model(x, y)
    data = np.arange(24, dtype="float32").reshape(2, 3, 4)
    np.testing.assert_allclose(model.predict(data, verbose=0), expected(data), rtol=1e-4,
                               atol=1e-5)
    with pytest.raises(ValueError, match=rf"{op}.*Lambda"):
        model.save(str(tmp_path / "m.keras"))


def test_op_with_bad_shapes_names_the_op():
    a, b = keras.Input((3,)), keras.Input((4,))
    with pytest.raises((TypeError, ValueError), match=r"ops\.matmul.*\(None, 3\)"):
        ops.matmul(a, b)


@pytest.mark.parametrize("name", ["Initializer", "KerasTensor", "Loss", "Metric", "Optimizer",
                                  "Regularizer"])
def test_top_level_names_resolve_to_the_base_classes(name):
    import keras as k3
    ours = getattr(keras, name)
    assert name in dir(keras) and isinstance(ours, type)
    assert ours.__name__ == name or name == "KerasTensor"
    # The same role as Keras 3's: gazelle's concrete objects are instances of it.
    examples = {"Initializer": lambda lib: lib.initializers.GlorotUniform(),
                "KerasTensor": lambda lib: lib.Input((2,)),
                "Loss": lambda lib: lib.losses.MeanSquaredError(),
                "Metric": lambda lib: lib.metrics.Mean(),
                "Optimizer": lambda lib: lib.optimizers.Adam(),
                "Regularizer": lambda lib: lib.regularizers.L2()}
    assert isinstance(examples[name](keras), ours)
    assert isinstance(examples[name](k3), getattr(k3, name))


def test_ops_keep_their_identity_and_signature_on_arrays():
    import inspect
    assert ops.concatenate is ops.numpy.concatenate
    assert str(inspect.signature(ops.concatenate)) == "(xs, axis=0)"
    assert ops.concatenate.__name__ == "concatenate"
    np.testing.assert_array_equal(ops.concatenate([np.ones((1, 2)), np.zeros((1, 1))], axis=1),
                                  [[1.0, 1.0, 0.0]])


def test_positional_setting_ops_save_like_keras3(tmp_path):
    """segment_sum: settings Keras passes positionally (num_segments, sorted) still load."""
    import keras as k3
    paths = {}
    for lib in (keras, k3):
        lib.backend.clear_session()
        a = lib.Input((6,), name="a")
        ids = lib.Input((6,), dtype="int32", name="ids")
        out = lib.ops.segment_sum(lib.ops.transpose(a), ids[0], num_segments=3)
        paths[lib] = str(tmp_path / f"{lib.__name__}.keras")
        lib.Model([a, ids], out).save(paths[lib])
    x = [np.random.default_rng(2).standard_normal((2, 6)).astype("float32"),
         np.array([[0, 0, 1, 1, 2, 2]] * 2, "int32")]
    expected = k3.models.load_model(paths[k3]).predict(x, verbose=0)
    for path in paths.values():
        for lib in (keras, k3):
            _same(lib.models.load_model(path).predict(x, verbose=0), expected)


def test_numpy_and_jax_operands_on_the_left():
    import jax.numpy as jnp
    x = keras.Input((3,))
    model = keras.Model(x, [np.float32(2.0) * x, np.arange(3, dtype="float32") - x,
                            jnp.ones(3) + x])
    data = np.arange(6, dtype="float32").reshape(2, 3)
    got = model.predict(data, verbose=0)
    np.testing.assert_allclose(got[0], 2.0 * data)
    np.testing.assert_allclose(got[1], np.arange(3) - data)
    np.testing.assert_allclose(got[2], 1.0 + data)


def test_ops_whose_outputs_depend_on_unknown_dims_are_refused_clearly():
    x = keras.Input((4,))
    parts = ops.unstack(x, axis=1)              # four outputs: fine
    assert len(parts) == 4 and parts[0].shape == (None,)
    with pytest.raises(ValueError, match=r"ops\.unstack.*unknown \(None\) dimensions"):
        ops.unstack(x, axis=0)                  # as many outputs as the batch has rows
    with pytest.raises(ValueError, match=r"ops\.nonzero on placeholders"):
        ops.nonzero(x)                          # a data-dependent shape


def test_op_nodes_rebuild_from_their_config_and_clone(tmp_path):
    a = keras.Input((3,))
    out = keras.layers.Dense(2)(ops.concatenate([a * 2.0, ops.einsum("bi->bi", a)[:, :1]],
                                                axis=-1))
    model = keras.Model(a, [out, ops.layer_normalization(a)])   # one unsavable op
    data = np.random.default_rng(3).standard_normal((4, 3)).astype("float32")
    expected = model.predict(data, verbose=0)
    for op in model._operations:
        if getattr(op, "_is_op_node", False):
            again = type(op).from_config(op.get_config())
            assert again._fn_name == op._fn_name and again._op_config == op._op_config
            assert again._keras_layout == op._keras_layout
    if not hasattr(keras.models, "clone_model"):
        pytest.skip("keras.models.clone_model is not in this tree yet")
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    _same(clone.predict(data, verbose=0), expected)
