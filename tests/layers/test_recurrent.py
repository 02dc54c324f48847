"""Recurrent layers (SimpleRNN, LSTM, GRU, RNN with cells, StackedRNNCells, Bidirectional,
TimeDistributed) against Keras 3: same weights and inputs give the same outputs and
gradients, masked and unmasked, for every option; configs, `.keras` files both ways,
stateful batches, and clear errors."""
import jax
import jax.numpy as jnp
import keras as k3
import numpy as np
import pytest

import gazelle as keras

RTOL, ATOL = 1e-5, 1e-5


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _randomize(layer, seed=1):
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.uniform(-0.6, 0.6, w.shape).astype("float32")
                       for w in layer.get_weights()])


def _mask(batch=3, steps=5):
    # right padding, left padding, a hole in the middle: every masking path is used
    m = np.ones((batch, steps), bool)
    m[0, 3:] = False
    m[1, :2] = False
    if batch > 2:
        m[2, 2] = False
    return m


def _leaves(out):
    return [np.asarray(a) for a in jax.tree_util.tree_leaves(out)]


def _assert_same(a, b):
    la, lb = _leaves(a), _leaves(b)
    assert len(la) == len(lb)
    for p, q in zip(la, lb):
        assert p.shape == q.shape
        np.testing.assert_allclose(p, q, rtol=RTOL, atol=ATOL)


def _run(layer, x, variants):
    """Outputs, and gradients of a fixed random projection of the outputs w.r.t. the
    trainable weights, for each call variant (kwargs), all in one jitted program."""
    tv = [jnp.asarray(v.value) for v in layer.trainable_variables]
    ntv = [jnp.asarray(v.value) for v in layer.non_trainable_variables]

    def loss(t, x, kwargs):
        out, _ = layer.stateless_call(t, ntv, x, **kwargs)
        total = 0.0
        for i, leaf in enumerate(jax.tree_util.tree_leaves(out)):
            w = jnp.asarray(np.random.default_rng(10 + i).standard_normal(leaf.shape),
                            jnp.float32)
            total = total + jnp.sum(leaf * w)
        return total, out

    def all_variants(t, x, variants):
        return [jax.grad(loss, has_aux=True)(t, x, kw) for kw in variants]

    return jax.jit(all_variants)(tv, x, variants)


def _check(ours, theirs, x, variants=({},)):
    """Same outputs and gradients from both libraries for every call variant."""
    _assert_same(_run(ours, x, list(variants)), _run(theirs, x, list(variants)))


def _pair(kind, **kwargs):
    ours = getattr(keras.layers, kind)(**kwargs)
    theirs = getattr(k3.layers, kind)(**_oracle_kwargs(kind, kwargs))
    return ours, theirs


def _oracle_kwargs(kind, kwargs):
    # On a GPU Keras 3 runs LSTM/GRU through cuDNN, which computes in TF32 and orders a
    # go_backwards sequence's outputs differently from its own scan path (seen on an H200);
    # the oracle here is Keras's scan path, which gazelle follows on every device.
    return {**kwargs, "use_cudnn": False} if kind in ("LSTM", "GRU") else kwargs


def _no_cudnn(model):
    """Keras 3 model -> the same model with its LSTM/GRU layers off cuDNN (see above)."""
    stack = list(getattr(model, "layers", []))
    while stack:
        layer = stack.pop()
        if hasattr(layer, "use_cudnn"):
            layer.use_cudnn = False
        stack += [getattr(layer, a) for a in ("forward_layer", "backward_layer", "layer")
                  if getattr(layer, a, None) is not None]
        stack += list(getattr(layer, "layers", []))
    return model


def _build_and_copy(ours, theirs, x, seed=1):
    ours(x)
    theirs(x)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    _randomize(ours, seed)
    theirs.set_weights(ours.get_weights())


KINDS = [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False})]
OPTIONS = [   # together they use every option; each set runs unmasked and masked
    {"return_sequences": True, "return_state": True},
    {"go_backwards": True, "return_state": True, "use_bias": False, "activation": "relu"},
    {"go_backwards": True, "return_sequences": True, "zero_output_for_mask": True},
]


@pytest.mark.sweep
@pytest.mark.parametrize("kind, base", KINDS, ids=lambda v: str(v))
@pytest.mark.parametrize("options", OPTIONS, ids=lambda v: str(v))
def test_outputs_and_gradients_match_keras(kind, base, options):
    ours, theirs = _pair(kind, units=4, **base, **options)
    x = _x((3, 5, 4))
    _build_and_copy(ours, theirs, x)
    _assert_same(ours(x), theirs(x))                     # eager call
    _check(ours, theirs, x, [{}, {"mask": _mask()}])      # compiled, unmasked and masked


def test_initial_state_matches_keras():
    for kind, n_states in [("LSTM", 2), ("GRU", 1)]:
        ours, theirs = _pair(kind, units=4, return_state=True, return_sequences=True)
        x = _x((2, 5, 3))
        _build_and_copy(ours, theirs, x)
        states = [_x((2, 4), seed=7 + i) for i in range(n_states)]
        _check(ours, theirs, x, [{"initial_state": states}])


def test_lstm_defaults_and_initial_weights():
    layer = keras.layers.LSTM(3)
    layer(_x((1, 2, 4)))
    assert layer.cell.recurrent_initializer.__class__.__name__ == "Orthogonal"
    bias = np.asarray(layer.cell.bias.value)
    np.testing.assert_array_equal(bias, np.r_[np.zeros(3), np.ones(3), np.zeros(6)])
    rk = np.asarray(layer.cell.recurrent_kernel.value)           # (3, 12), orthogonal rows
    np.testing.assert_allclose(rk @ rk.T, np.eye(3), atol=1e-5)
    gru = keras.layers.GRU(3)
    assert gru.reset_after is True and gru.units == 3
    gru(_x((1, 2, 4)))
    assert tuple(gru.cell.bias.shape) == (2, 9)


@pytest.mark.parametrize("kind, kwargs", [
    ("LSTM", {"units": 3, "dropout": 0.2, "return_sequences": True}),
    ("GRU", {"units": 3, "reset_after": False, "recurrent_dropout": 0.1}),
    ("SimpleRNN", {"units": 3, "go_backwards": True, "stateful": False}),
    ("GRU", {"units": 3, "unroll": True, "seed": 3}),
])
def test_configs_match_keras(kind, kwargs):
    ours, theirs = _pair(kind, **kwargs)
    x = _x((2, 4, 5))
    ours(x)
    theirs(x)
    a, b = ours.get_config(), theirs.get_config()
    assert set(a) == set(b)
    for key in ("units", "return_sequences", "go_backwards", "dropout", "recurrent_dropout",
                "unroll", "zero_output_for_mask", "activation", "use_bias"):
        assert a[key] == b[key], key
    assert a.get("seed") == b.get("seed")
    clone = type(ours).from_config(a)
    clone(x)
    clone.set_weights(ours.get_weights())
    _assert_same(clone(x), ours(x))


def test_dropout_only_in_training_and_masks_fixed_over_time():
    layer = keras.layers.SimpleRNN(8, dropout=0.5, recurrent_dropout=0.5, seed=1,
                                   return_sequences=True)
    x = _x((4, 6, 5))
    a, b = np.asarray(layer(x)), np.asarray(layer(x))
    np.testing.assert_array_equal(a, b)                            # inference: no dropout
    t1, t2 = np.asarray(layer(x, training=True)), np.asarray(layer(x, training=True))
    assert not np.allclose(t1, a) and not np.allclose(t1, t2)       # a new mask per batch
    # one input mask per batch, reused at each step: with zero recurrence and input = ones,
    # every step sees the same dropped units
    layer2 = keras.layers.SimpleRNN(8, dropout=0.5, return_sequences=True, seed=2,
                                    activation=None, use_bias=False)
    ones = np.ones((2, 5, 6), "float32")
    layer2(ones)
    layer2.cell.recurrent_kernel.assign(np.zeros((8, 8), "float32"))
    y = np.asarray(layer2(ones, training=True))
    np.testing.assert_allclose(y, np.broadcast_to(y[:, :1], y.shape), rtol=1e-6)


def test_dropout_inside_jit_advances_seed_state():
    layer = keras.layers.LSTM(4, dropout=0.3, recurrent_dropout=0.3, seed=0)
    x = _x((2, 5, 3))
    layer(x)
    tv = [v.value for v in layer.trainable_variables]
    ntv = [v.value for v in layer.non_trainable_variables]
    step = jax.jit(lambda t, n: layer.stateless_call(t, n, x, training=True))
    y1, ntv1 = step(tv, ntv)
    y2, _ = step(tv, ntv1)
    assert not np.allclose(np.asarray(y1), np.asarray(y2))
    assert np.all(np.isfinite(np.asarray(y1)))


def test_stateful_across_two_batches_matches_keras():
    x1, x2 = _x((2, 4, 3), seed=1), _x((2, 4, 3), seed=2)
    ours = keras.layers.LSTM(5, stateful=True, return_sequences=True)
    theirs = k3.layers.LSTM(5, stateful=True, return_sequences=True)
    _build_and_copy(ours, theirs, x1)
    ours.reset_states()
    theirs.reset_states()
    _assert_same(ours(x1), theirs(x1))
    second = ours(x2)
    _assert_same(second, theirs(x2))            # continues from the first batch's states
    ours.reset_states()
    theirs.reset_states()
    fresh = ours(x2)
    _assert_same(fresh, theirs(x2))
    assert not np.allclose(np.asarray(second), np.asarray(fresh))
    assert ours.weights == ours.trainable_weights and len(ours.weights) == 3  # states not weights


def test_stateful_in_sequential_fit_and_calls_carry_state():
    model = keras.Sequential([
        keras.Input(batch_shape=(2, 4, 3)),
        keras.layers.GRU(3, stateful=True),
        keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = _x((4, 4, 3))
    model.fit(x, np.zeros((4, 1), "float32"), batch_size=2, epochs=1, verbose=0,
              shuffle=False)
    state = np.asarray(model.layers[0].states[0].value)
    assert state.shape == (2, 3) and np.abs(state).sum() > 0
    model.layers[0].reset_states()
    p1, p2 = np.asarray(model(x[:2])), np.asarray(model(x[:2]))
    assert not np.allclose(p1, p2)              # the second call starts from the first's state
    model.layers[0].reset_states()
    np.testing.assert_allclose(np.asarray(model(x[:2])), p1, rtol=1e-6)


@pytest.mark.parametrize("merge_mode, options", [
    ("concat", {"return_sequences": True}), (None, {"return_state": True})], ids=str)
def test_bidirectional_matches_keras(merge_mode, options):
    x = _x((3, 5, 4))
    ours = keras.layers.Bidirectional(keras.layers.LSTM(3, **options), merge_mode=merge_mode)
    theirs = k3.layers.Bidirectional(k3.layers.LSTM(3, **options), merge_mode=merge_mode)
    _build_and_copy(ours, theirs, x)
    assert [v.path.split("/")[0] for v in ours.weights][:1] == ["lstm_cell"]
    _check(ours, theirs, x, [{}, {"mask": _mask()}])


def test_bidirectional_merge_modes_match_keras():
    x = _x((3, 5, 4))
    mask = _mask()
    for merge_mode, options in [("sum", {"return_state": True}),
                                ("mul", {"return_sequences": True}),
                                ("ave", {"return_sequences": True})]:
        ours = keras.layers.Bidirectional(keras.layers.SimpleRNN(3, **options),
                                          merge_mode=merge_mode)
        theirs = k3.layers.Bidirectional(k3.layers.SimpleRNN(3, **options),
                                         merge_mode=merge_mode)
        _build_and_copy(ours, theirs, x)
        _assert_same(ours(x), theirs(x))
        _assert_same(ours(x, mask=mask), theirs(x, mask=mask))


def test_unroll_matches_keras():
    x = _x((3, 5, 4))
    ours, theirs = _pair("LSTM", units=3, unroll=True, go_backwards=True,
                         return_sequences=True)
    _build_and_copy(ours, theirs, x)
    _assert_same(ours(x), theirs(x))
    _assert_same(ours(x, mask=_mask()), theirs(x, mask=_mask()))


def test_bidirectional_gru_config_and_initial_state():
    x = _x((2, 5, 3))
    ours = keras.layers.Bidirectional(keras.layers.GRU(2, return_state=True))
    theirs = k3.layers.Bidirectional(k3.layers.GRU(2, return_state=True))
    _build_and_copy(ours, theirs, x)
    assert ours.forward_layer.name == "forward_gru" and ours.backward_layer.go_backwards
    states = [_x((2, 2), seed=5), _x((2, 2), seed=6)]
    _assert_same(ours(x, initial_state=states), theirs(x, initial_state=states))
    config = ours.get_config()
    assert set(config) == set(theirs.get_config())
    clone = keras.layers.Bidirectional.from_config(config)
    clone(x)
    clone.set_weights(ours.get_weights())
    _assert_same(clone(x), ours(x))


def test_bidirectional_rejects_bad_arguments():
    with pytest.raises(ValueError, match="merge_mode"):
        keras.layers.Bidirectional(keras.layers.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="Layer"):
        keras.layers.Bidirectional("lstm")
    with pytest.raises(ValueError, match="go_backwards"):
        keras.layers.Bidirectional(keras.layers.LSTM(2), backward_layer=keras.layers.LSTM(2))


def test_time_distributed_dense_matches_keras_with_mask():
    x = _x((3, 5, 4))
    ours = keras.layers.TimeDistributed(keras.layers.Dense(5, activation="tanh"))
    theirs = k3.layers.TimeDistributed(k3.layers.Dense(5, activation="tanh"))
    _build_and_copy(ours, theirs, x)
    _check(ours, theirs, x)
    assert set(ours.get_config()) == set(theirs.get_config())
    assert ours.compute_output_shape((None, 6, 4)) == (None, 6, 5)
    with pytest.raises(ValueError, match="at least 3"):
        ours(_x((3, 4)))


def test_time_distributed_conv2d_and_bidirectional_weights_argument():
    x = _x((2, 3, 6, 6, 2))
    ours = keras.layers.TimeDistributed(keras.layers.Conv2D(3, 3, activation="relu"))
    theirs = k3.layers.TimeDistributed(k3.layers.Conv2D(3, 3, activation="relu"))
    _build_and_copy(ours, theirs, x)
    _assert_same(ours(x), theirs(x))
    donor = keras.layers.Bidirectional(keras.layers.GRU(2))
    seq = _x((2, 4, 3))
    donor(seq)
    _randomize(donor)
    taker = keras.layers.Bidirectional(keras.layers.GRU(2), weights=donor.get_weights())
    _assert_same(taker(seq), donor(seq))


def test_time_distributed_batchnorm_runs_per_step_as_keras():
    x = _x((4, 3, 2), seed=3)
    ours = keras.layers.TimeDistributed(keras.layers.BatchNormalization())
    theirs = k3.layers.TimeDistributed(k3.layers.BatchNormalization())
    _build_and_copy(ours, theirs, x)
    _assert_same(ours(x, training=True), theirs(x, training=True))


class _OurCell(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w")
        self.u = self.add_weight(shape=(self.units, self.units), name="u")

    def call(self, inputs, states):
        h = jnp.tanh(inputs @ self.w.value + states[0] @ self.u.value)
        return 2.0 * h, [h]


class _TheirCell(k3.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w")
        self.u = self.add_weight(shape=(self.units, self.units), name="u")

    def call(self, inputs, states):
        h = k3.ops.tanh(inputs @ self.w + states[0] @ self.u)
        return 2.0 * h, [h]


@pytest.mark.parametrize("options", [{"return_sequences": True, "go_backwards": True},
                                     {"return_state": True}], ids=str)
def test_rnn_with_user_cell_matches_keras(options):
    x = _x((3, 5, 4))
    ours, theirs = keras.layers.RNN(_OurCell(3), **options), k3.layers.RNN(_TheirCell(3),
                                                                          **options)
    _build_and_copy(ours, theirs, x)
    _check(ours, theirs, x, [{}, {"mask": _mask()}])


def test_stacked_cells_match_keras():
    x = _x((3, 5, 4))
    ours = keras.layers.RNN(keras.layers.StackedRNNCells(
        [keras.layers.LSTMCell(5), keras.layers.GRUCell(3), keras.layers.SimpleRNNCell(2)]),
        return_sequences=True, return_state=True)
    theirs = k3.layers.RNN(k3.layers.StackedRNNCells(
        [k3.layers.LSTMCell(5), k3.layers.GRUCell(3), k3.layers.SimpleRNNCell(2)]),
        return_sequences=True, return_state=True)
    _build_and_copy(ours, theirs, x)
    _check(ours, theirs, x)
    clone = keras.layers.RNN.from_config(ours.get_config())
    clone(x)
    clone.set_weights(ours.get_weights())
    _assert_same(clone(x), ours(x))


@pytest.mark.parametrize("cell", ["LSTMCell", "GRUCell", "SimpleRNNCell"])
def test_cells_called_alone_match_keras(cell):
    x, h = _x((3, 4)), _x((3, 5), seed=3)
    ours, theirs = getattr(keras.layers, cell)(5), getattr(k3.layers, cell)(5)
    states = [h, _x((3, 5), seed=4)] if cell == "LSTMCell" else [h]
    ours(x, states)
    theirs(x, states)
    _randomize(ours)
    theirs.set_weights(ours.get_weights())
    _assert_same(ours(x, states), theirs(x, states))
    assert set(ours.get_config()) == set(theirs.get_config())


def _seq2seq(lib):
    enc_in = lib.Input((5, 3))
    _, h, c = lib.layers.LSTM(4, return_state=True)(enc_in)
    dec_in = lib.Input((4, 2))
    dec = lib.layers.LSTM(4, return_sequences=True)(dec_in, initial_state=[h, c])
    out = lib.layers.TimeDistributed(lib.layers.Dense(3))(dec)
    return lib.Model([enc_in, dec_in], out)


def test_seq2seq_functional_initial_state_matches_keras():
    ours, theirs = _seq2seq(keras), _seq2seq(k3)
    _randomize(ours)
    theirs.set_weights(ours.get_weights())
    xs = [_x((2, 5, 3)), _x((2, 4, 2), seed=1)]
    _assert_same(ours.predict(xs, verbose=0), theirs.predict(xs, verbose=0))


def _models(lib):
    seq = lib.Sequential([
        lib.Input((6, 4)),
        lib.layers.Bidirectional(lib.layers.LSTM(3, return_sequences=True)),
        lib.layers.GRU(2, reset_after=False, return_sequences=True),
        lib.layers.TimeDistributed(lib.layers.Dense(2)),
        lib.layers.SimpleRNN(2),
    ])
    return [seq, _seq2seq(lib)]


@pytest.mark.parametrize("which", [0, 1])
@pytest.mark.parametrize("direction", ["gazelle_to_keras", "keras_to_gazelle"])
def test_keras_files_load_both_ways(tmp_path, which, direction):
    source_lib, target_load = (keras, k3.saving.load_model) if direction == \
        "gazelle_to_keras" else (k3, keras.models.load_model)
    model = _models(source_lib)[which]
    if source_lib is k3:
        _no_cudnn(model)
    _randomize(model, seed=4)
    xs = [_x((2, 6, 4))] if which == 0 else [_x((2, 5, 3)), _x((2, 4, 2), seed=1)]
    xs = xs[0] if which == 0 else xs
    expected = model.predict(xs, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = target_load(path)
    if target_load is k3.saving.load_model:
        _no_cudnn(loaded)
    np.testing.assert_allclose(loaded.predict(xs, verbose=0), expected, rtol=RTOL, atol=ATOL)


def test_symbolic_output_shapes():
    inp = keras.Input((7, 3))
    out, h, c = keras.layers.LSTM(4, return_state=True, return_sequences=True)(inp)
    assert out.shape == (None, 7, 4) and h.shape == (None, 4) and c.shape == (None, 4)
    both = keras.layers.Bidirectional(keras.layers.GRU(2), merge_mode=None)(inp)
    assert [t.shape for t in both] == [(None, 2), (None, 2)]
    assert keras.layers.Bidirectional(keras.layers.GRU(2, return_sequences=True))(
        inp).shape == (None, 7, 4)


def test_clear_errors():
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        keras.layers.LSTM(3)(_x((4, 5)))
    layer = keras.layers.LSTM(3, stateful=True)
    layer(_x((2, 4, 5)))
    with pytest.raises(ValueError, match="stateful with batch size 2.*batch of 3"):
        layer(_x((3, 4, 5)))
    lstm = keras.layers.LSTM(3)
    with pytest.raises(ValueError, match=r"initial_state\[1\] has shape \(2, 4\), expected "
                                         r"\(2, 3\)"):
        lstm(_x((2, 4, 5)), initial_state=[_x((2, 3)), _x((2, 4))])
    with pytest.raises(ValueError, match="expects 2 initial state"):
        keras.layers.LSTM(3)(_x((2, 4, 5)), initial_state=[_x((2, 3))])
    with pytest.raises(ValueError, match="positive integer"):
        keras.layers.GRU(0)
    with pytest.raises(ValueError, match="state_size"):
        keras.layers.RNN(keras.layers.Dense(2))
    with pytest.raises(ValueError, match="fixed batch size"):
        keras.Sequential([keras.Input((4, 5)), keras.layers.LSTM(3, stateful=True)])
    with pytest.raises(ValueError, match="use_cudnn"):
        keras.layers.LSTM(3, use_cudnn="yes")
