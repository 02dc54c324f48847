"""model.export(format="onnx") for sequence models: recurrent layers (with Keras masks),
attention layers, EinsumDense, normalizations and ops on placeholders. Each model runs in
ONNX Runtime at batch 1 and 7 (one exported graph, a dynamic batch) and matches predict."""
import numpy as np
import pytest

import gazelle as keras
from gazelle import ops

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

L = keras.layers
STEPS, FEATURES, VOCAB = 6, 3, 11


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _ids(batch, seed):
    """Token ids with padding (0) at the end, at the start and in the middle of rows."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, VOCAB, (batch, STEPS)).astype("int32")
    ids[::3, STEPS - 2:] = 0
    ids[1::3, :2] = 0
    ids[2::3, 2] = 0
    return ids


def _inputs(model, batch, seed):
    rng = np.random.default_rng(seed)
    out = []
    tensors = model.inputs if hasattr(model, "_input_tensors") else [model._input_layer.output]
    for t in tensors:
        shape = (batch,) + tuple(t.shape[1:])
        if "int" in str(t.dtype):
            out.append(_ids(batch, seed))
        elif str(t.dtype) == "bool":
            out.append(rng.random(shape) > 0.3)
        else:
            x = rng.standard_normal(shape).astype("float32")
            if len(shape) == 3:           # all-zero steps (what Masking(0.0) masks)
                x[::3, -2:] = 0.0
                x[1::3, :1] = 0.0
            out.append(x)
    return out


def _spread(model, seed=0):
    """Weights of a visible size (an untrained Embedding's are ~0.05, too small to test)."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-0.8, 0.8, w.shape).astype("float32")
                       for w in model.get_weights()])
    return model


def _check(model, tmp_path, name="m"):
    """Exports once; runs ONNX Runtime at batch 1 and 7 against one predict of all 8 rows."""
    path = tmp_path / f"{name}.onnx"
    model.export(path, format="onnx", verbose=False)
    session = _session(path)
    names = [i.name for i in session.get_inputs()]
    for i in session.get_inputs():
        assert isinstance(i.shape[0], str), i.shape      # a dynamic batch dimension
    xs = _inputs(model, 8, seed=8)
    ref = model.predict(xs[0] if len(xs) == 1 else xs, verbose=0)
    ref = [np.asarray(r) for r in (ref if isinstance(ref, (list, tuple)) else [ref])]
    for rows in (slice(0, 1), slice(1, 8)):
        got = session.run(None, dict(zip(names, [x[rows] for x in xs])))
        assert len(got) == len(ref)
        for a, b in zip(got, ref):
            assert a.shape == b[rows].shape
            np.testing.assert_allclose(a, b[rows], rtol=1e-5, atol=1e-5)
    return session


def _seq_input():
    return keras.Input((STEPS, FEATURES), name="steps")


def _branches(*layers):
    """One model, one output per layer (each layer applied to the same sequence input)."""
    x = _seq_input()
    outs = []
    for layer in layers:
        y = layer(x)
        outs.extend(y if isinstance(y, (list, tuple)) else [y])
    return keras.Model(x, outs)


def _tokens(*layers, mask_zero=True, dim=FEATURES):
    return keras.Sequential([keras.Input((STEPS,), dtype="int32"),
                             L.Embedding(VOCAB, dim, mask_zero=mask_zero), *layers])


def _functional(build, **input_kwargs):
    inp = keras.Input(**input_kwargs)
    out = build(inp)
    return keras.Model(inp, list(out) if isinstance(out, (list, tuple)) else out)


# -- recurrent layers ------------------------------------------------------------------------
def _native():
    """ONNX's own RNN / LSTM / GRU operators."""
    return _branches(
        L.SimpleRNN(4, activation="relu", return_sequences=True), L.LSTM(5),
        L.LSTM(4, go_backwards=True, return_sequences=True), L.GRU(4, return_sequences=True),
        L.GRU(4, reset_after=False, go_backwards=True),
        L.GRU(3, use_bias=False, return_sequences=True),
        L.RNN(L.LSTMCell(4), return_sequences=True),
        keras.Sequential([L.LSTM(6, return_sequences=True), L.LSTM(3)]))


def _scan_activations():
    """Activations ONNX's operators lack: a Scan."""
    return _branches(
        L.LSTM(4, recurrent_activation="hard_sigmoid", go_backwards=True,
               return_sequences=True),
        L.GRU(4, activation="elu", reset_after=False), L.SimpleRNN(3, activation=None))


def _states():
    return _branches(L.LSTM(4, return_state=True),
                     L.GRU(4, return_state=True, return_sequences=True),
                     L.Bidirectional(L.LSTM(3, return_state=True)))


def _bidirectional():
    return _branches(*[L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode=mode)
                       for mode in ("concat", "sum", "mul", "ave", None)],
                     L.Bidirectional(L.LSTM(3, return_sequences=True), backward_layer=L.GRU(
                         3, go_backwards=True, return_sequences=True)))


def _masked():
    """Keras masks from Embedding(mask_zero=True): each branch gets the same mask."""
    ids = keras.Input((STEPS,), dtype="int32")
    x = L.Embedding(VOCAB, FEATURES, mask_zero=True)(ids)
    outs = [L.LSTM(4)(x),
            L.GlobalAveragePooling1D()(L.Dense(3)(L.GRU(4, return_sequences=True)(x))),
            L.GRU(4, reset_after=False, return_sequences=True)(x),
            L.SimpleRNN(3, go_backwards=True, return_sequences=True)(x),
            L.RNN(L.LSTMCell(3), return_sequences=True, zero_output_for_mask=True)(x),
            L.Bidirectional(L.GRU(2))(L.Bidirectional(L.LSTM(3, return_sequences=True))(x)),
            *L.LSTM(3, return_state=True, return_sequences=True)(x)]
    return keras.Model(ids, outs)


def _masks_through_layers():
    """Masks carried by Dropout/noise layers, merged by Add/Concatenate (Keras 3's rules:
    OR when every input is masked, none otherwise; Concatenate counts an unmasked input as
    all True) and passed into a nested Sequential."""
    ids = keras.Input((STEPS,), dtype="int32")
    a = L.Embedding(VOCAB, 3, mask_zero=True)(ids)
    b = L.Embedding(VOCAB, 2, mask_zero=True)(ids)
    c = L.Embedding(VOCAB, 3)(ids)
    return keras.Model(ids, [
        L.LSTM(2)(L.Concatenate()([a, b])), L.GRU(2)(L.Concatenate(axis=1)([a, c])),
        L.GRU(2)(L.Concatenate()([a, c])),
        keras.Sequential([L.LSTM(3, return_sequences=True), L.Dense(2)])(L.Dropout(0.1)(a)),
        L.GlobalAveragePooling1D()(L.GaussianNoise(0.1)(L.Add()([a, a]))),
        L.SimpleRNN(2)(L.Add()([a, c]))])


RECURRENT = {
    "masks_through_layers": _masks_through_layers,
    "native_operators": _native,
    "scan_activations": _scan_activations,
    "return_state": _states,
    "bidirectional_merge_modes": _bidirectional,
    "masked_by_embedding": _masked,
    "masking_layer": lambda: keras.Sequential([
        _seq_input(), L.Masking(0.0), L.LSTM(4, return_sequences=True), L.Dropout(0.5),
        L.Dense(2), L.GlobalAveragePooling1D()]),
    "time_distributed": lambda: _branches(keras.Sequential([
        L.TimeDistributed(L.Dense(4, activation="tanh")), L.GRU(2)])),
    "lstm_autoencoder": lambda: keras.Sequential([
        _seq_input(), L.ZeroPadding1D((1, 2)), L.Cropping1D((2, 0)), L.UpSampling1D(2),
        L.LSTM(4), L.RepeatVector(STEPS), L.LSTM(3, return_sequences=True),
        L.TimeDistributed(L.Dense(FEATURES))]),
    "time_distributed_conv": lambda: keras.Sequential([
        keras.Input((3, 5, 5, 2)), L.TimeDistributed(L.Conv2D(3, 3, activation="relu")),
        L.TimeDistributed(L.Flatten()), L.LSTM(2)]),
}


@pytest.mark.parametrize("family", sorted(RECURRENT))
def test_recurrent_matches_predict(family, tmp_path):
    _check(_spread(RECURRENT[family]()), tmp_path, family)


def test_the_mask_changes_the_result(tmp_path):
    """Masked export differs from the same weights without a mask (the test can fail)."""
    masked, plain = _spread(_tokens(L.LSTM(4))), _tokens(L.LSTM(4), mask_zero=False)
    plain.set_weights(masked.get_weights())
    ids = _ids(7, 0)
    outs = []
    for name, model in (("masked", masked), ("plain", plain)):
        model.export(tmp_path / f"{name}.onnx", format="onnx", verbose=False)
        session = _session(tmp_path / f"{name}.onnx")
        outs.append(session.run(None, {session.get_inputs()[0].name: ids})[0])
    assert np.abs(outs[0] - outs[1]).max() > 1e-2


def test_native_operators_where_keras_and_onnx_agree(tmp_path):
    """LSTM/GRU/SimpleRNN without a mask become ONNX's own operators; with one, a Scan."""
    def ops_of(model, name):
        model.export(tmp_path / f"{name}.onnx", format="onnx", verbose=False)
        return {n.op_type for n in onnx.load(str(tmp_path / f"{name}.onnx")).graph.node}

    assert {"LSTM", "GRU", "RNN"} <= ops_of(_native(), "native")
    found = ops_of(_tokens(L.LSTM(3)), "masked")
    assert "Scan" in found and "LSTM" not in found


@pytest.mark.slow
def test_recurrent_matches_keras3(tmp_path):
    import keras as k3
    model = _spread(_tokens(L.Bidirectional(L.LSTM(3, return_sequences=True)),
                            L.GRU(2, reset_after=False)))
    ref = k3.Sequential([k3.Input((STEPS,), dtype="int32"),
                         k3.layers.Embedding(VOCAB, FEATURES, mask_zero=True),
                         k3.layers.Bidirectional(k3.layers.LSTM(3, return_sequences=True)),
                         k3.layers.GRU(2, reset_after=False)])
    ref.set_weights(model.get_weights())
    model.export(tmp_path / "m.onnx", format="onnx", verbose=False)
    ids = _ids(7, 3)
    session = _session(tmp_path / "m.onnx")
    (got,) = session.run(None, {session.get_inputs()[0].name: ids})
    np.testing.assert_allclose(got, np.asarray(ref.predict(ids, verbose=0)), rtol=1e-5,
                               atol=1e-5)


# -- attention, EinsumDense, normalization, ops ---------------------------------------------
def _transformer_classifier():
    """The Keras tutorial's Transformer text classifier, written with the Functional API:
    token embedding plus a (constant) position embedding, one encoder block, pooling."""
    dim = 8
    ids = keras.Input((STEPS,), dtype="int32")
    tokens = L.Embedding(VOCAB, dim)(ids)
    positions = np.random.default_rng(5).standard_normal((STEPS, dim)).astype("float32")
    x = tokens + positions                                     # ops.add on a placeholder
    attn = L.MultiHeadAttention(num_heads=2, key_dim=dim)(x, x)
    x = L.LayerNormalization(epsilon=1e-6)(L.Add()([x, L.Dropout(0.1)(attn)]))
    ffn = L.Dense(dim)(L.Dense(16, activation="relu")(x))
    x = L.LayerNormalization(epsilon=1e-6)(x + ffn)
    x = L.GlobalAveragePooling1D()(x)
    x = L.Dense(6, activation="relu")(L.Dropout(0.1)(x))
    return keras.Model(ids, L.Dense(2, activation="softmax")(x))


def _mha_cross():
    q, v = keras.Input((4, 5), name="q"), keras.Input((STEPS, 3), name="v")
    k = keras.Input((STEPS, 2), name="k")
    out, scores = L.MultiHeadAttention(3, 2, value_dim=4, output_shape=(7,))(
        q, v, key=k, return_attention_scores=True)
    return keras.Model([q, v, k], [out, scores])


def _mha_attention_mask():
    q = keras.Input((STEPS, 4), name="q")
    m = keras.Input((STEPS, STEPS), dtype="bool", name="allowed")
    out = L.MultiHeadAttention(2, 3, use_gate=True)(q, q, attention_mask=m,
                                                    use_causal_mask=True)
    return keras.Model([q, m], out)


def _mha_masked():
    """Query and value masks from the Embedding, on both of gazelle's attention paths."""
    ids = keras.Input((STEPS,), dtype="int32")
    x = L.Embedding(VOCAB, 4, mask_zero=True)(ids)
    fused = L.MultiHeadAttention(2, 3)(x, x)
    out, scores = L.MultiHeadAttention(2, 3)(x, x, return_attention_scores=True)
    return keras.Model(ids, [fused[:, -1], L.GlobalAveragePooling1D()(fused),
                             L.GlobalAveragePooling1D()(out), scores])


def _group_query():
    ids = keras.Input((STEPS,), dtype="int32")
    x = L.Embedding(VOCAB, 6, mask_zero=True)(ids)
    y = L.Embedding(VOCAB, 6)(ids)
    out, scores = L.GroupQueryAttention(3, 4, 2, use_gate=True)(
        x, x, return_attention_scores=True)
    return keras.Model(ids, [
        L.GroupQueryAttention(2, 4, 2)(y, y, use_causal_mask=True),
        L.GroupQueryAttention(2, 6, 3, sliding_window=2)(y, x, key=y),
        L.GlobalAveragePooling1D()(L.GroupQueryAttention(2, 2, 1)(x, x)),
        L.GlobalAveragePooling1D()(out), scores])


def _attention_layers():
    q, v = keras.Input((4, 5), name="q"), keras.Input((STEPS, 5), name="v")
    return keras.Model([q, v], [
        L.Attention()([q, v]),
        L.Attention(use_scale=True)([q, v, v], use_causal_mask=True),
        L.Attention(score_mode="concat")([q, v]),
        L.AdditiveAttention()([q, v]),
        L.AdditiveAttention(use_scale=False)([q, v], use_causal_mask=True)])


def _explicit_masks():
    """Masks given as call arguments (model inputs) rather than carried by the tensors."""
    q, v = keras.Input((4, 5), name="q"), keras.Input((STEPS, 5), name="v")
    qm = keras.Input((4,), dtype="bool", name="q_mask")
    vm = keras.Input((STEPS,), dtype="bool", name="v_mask")
    return keras.Model([q, v, qm, vm], [
        L.MultiHeadAttention(2, 3)(q, v, query_mask=qm, value_mask=vm),
        L.MultiHeadAttention(2, 3, value_dim=2)(q, v, key_mask=vm, key=v),
        L.Attention()([q, v], mask=[qm, vm]),
        L.AdditiveAttention()([q, v], mask=[None, vm])])


def _attention_masked():
    ids = keras.Input((STEPS,), dtype="int32")
    x = L.Embedding(VOCAB, 4, mask_zero=True)(ids)
    a = L.Attention()([x, x])
    b = L.AdditiveAttention()([x, x], return_attention_scores=True)
    return keras.Model(ids, [L.GlobalAveragePooling1D()(a), b[0], b[1]])


def _einsum_dense():
    x = keras.Input((STEPS, 4))
    return keras.Model(x, [
        L.EinsumDense("abc,cd->abd", output_shape=(None, 5), bias_axes="d")(x),
        L.EinsumDense("abc,cde->abde", output_shape=(None, 2, 3), bias_axes="de",
                      activation="gelu")(x),
        L.EinsumDense("...b,bc->...c", output_shape=3, activation="relu")(x),
        L.EinsumDense("abc,bcd->ad", output_shape=2, bias_axes="d")(x),
        L.EinsumDense("ab,bc->ac", output_shape=3)(L.Flatten()(x))])


def _normalizations():
    x = keras.Input((STEPS, 4))
    return keras.Model(x, [
        L.LayerNormalization(axis=[1, 2])(x),
        L.LayerNormalization(center=False, epsilon=1e-5)(x),
        L.LayerNormalization(scale=False, center=False)(x),
        L.RMSNormalization()(x),
        L.RMSNormalization(axis=[1, 2], epsilon=1e-3)(x),
        L.GlobalAveragePooling1D(keepdims=True)(x)])


def _ops_on_placeholders():
    x = keras.Input((STEPS, 4), name="x")
    y = ops.transpose(x * 2.0 - 1.0, (0, 2, 1))                 # (B, 4, STEPS)
    y = ops.mean(ops.square(y), axis=-1) + ops.sum(x, axis=1) / 3.0
    z = ops.concatenate([x[:, 0], x[:, -1, :2], ops.max(x, axis=1)], axis=-1)
    w = ops.expand_dims(ops.softmax(ops.reshape(x, (-1, 2, 12)), axis=-1), 1)
    v = ops.squeeze(w, axis=1)[:, :, 1:7:2] + ops.sqrt(ops.abs(x[:, :2, 0:1]))
    u = ops.gelu(ops.tanh(x)) * ops.sigmoid(x) + ops.maximum(x, 0.5) + ops.negative(x)
    t = ops.cast(ops.cast(x * 10.0, "int32"), "float32") + ops.rsqrt(ops.exp(x) + 1.0)
    s = ops.einsum("btf,btg->bfg", x, x)
    return keras.Model(x, [y, z, v, u, t, s])


ATTENTION = {
    "transformer_classifier": _transformer_classifier,
    "mha_self_causal_window": lambda: _functional(
        lambda x: [L.MultiHeadAttention(2, 4)(x, x, use_causal_mask=True),
                   L.MultiHeadAttention(2, 4, sliding_window=2)(x, x)], shape=(STEPS, 8)),
    "mha_cross_scores": _mha_cross,
    "mha_attention_mask_gate": _mha_attention_mask,
    "mha_masked": _mha_masked,
    "group_query_attention": _group_query,
    "attention_layers": _attention_layers,
    "attention_masked": _attention_masked,
    "explicit_masks": _explicit_masks,
    "einsum_dense": _einsum_dense,
    "normalizations": _normalizations,
    "ops_on_placeholders": _ops_on_placeholders,
}


@pytest.mark.parametrize("family", sorted(ATTENTION))
def test_attention_family_matches_predict(family, tmp_path):
    _check(_spread(ATTENTION[family]()), tmp_path, family)


def test_variable_length_sequences(tmp_path):
    """A sequence axis declared None stays dynamic: the causal mask is built at run time,
    the recurrent operators and the Scan take any number of steps."""
    ids = keras.Input((None,), dtype="int32")
    plain, masked = L.Embedding(VOCAB, 4)(ids), L.Embedding(VOCAB, 4, mask_zero=True)(ids)
    model = _spread(keras.Model(ids, [
        L.MultiHeadAttention(2, 3)(plain, plain, use_causal_mask=True),
        L.LSTM(3, return_sequences=True)(plain),
        L.Bidirectional(L.GRU(2))(masked)]))
    model.export(tmp_path / "m.onnx", format="onnx", verbose=False)
    session = _session(tmp_path / "m.onnx")
    assert all(isinstance(d, str) for d in session.get_inputs()[0].shape)
    for length in (2, 9):
        tokens = _ids(4, length)[:, :length] if length <= STEPS else np.random.default_rng(
            length).integers(0, VOCAB, (4, length)).astype("int32")
        got = session.run(None, {session.get_inputs()[0].name: tokens})
        for a, b in zip(got, model.predict(tokens, verbose=0)):
            np.testing.assert_allclose(a, np.asarray(b), rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_transformer_matches_keras3(tmp_path):
    import keras as k3
    model = _spread(_transformer_classifier())
    ids = k3.Input((STEPS,), dtype="int32")
    positions = np.random.default_rng(5).standard_normal((STEPS, 8)).astype("float32")
    x = k3.layers.Embedding(VOCAB, 8)(ids) + positions
    attn = k3.layers.MultiHeadAttention(num_heads=2, key_dim=8)(x, x)
    x = k3.layers.LayerNormalization(epsilon=1e-6)(k3.layers.Add()([x, attn]))
    ffn = k3.layers.Dense(8)(k3.layers.Dense(16, activation="relu")(x))
    x = k3.layers.LayerNormalization(epsilon=1e-6)(x + ffn)
    x = k3.layers.Dense(6, activation="relu")(k3.layers.GlobalAveragePooling1D()(x))
    ref = k3.Model(ids, k3.layers.Dense(2, activation="softmax")(x))
    ref.set_weights(model.get_weights())
    model.export(tmp_path / "t.onnx", format="onnx", verbose=False)
    tokens = _ids(7, 1)
    session = _session(tmp_path / "t.onnx")
    (got,) = session.run(None, {session.get_inputs()[0].name: tokens})
    np.testing.assert_allclose(got, np.asarray(ref.predict(tokens, verbose=0)), rtol=1e-5,
                               atol=1e-5)


# -- what stays refused, by name ------------------------------------------------------------
class Doubler(L.Layer):
    def call(self, x):
        return x * 2.0


def _refused(model, tmp_path, match):
    with pytest.raises(ValueError, match=match):
        model.export(tmp_path / "x.onnx", format="onnx", verbose=False)
    assert not (tmp_path / "x.onnx").exists()


def test_custom_layer_is_named(tmp_path):
    model = keras.Sequential([_seq_input(), L.LSTM(3, return_sequences=True),
                              Doubler(name="my_doubler")])
    _refused(model, tmp_path,
             r"my_doubler.*Doubler.*custom layer.*format='jax'")


def test_stateful_rnn_is_refused(tmp_path):
    model = keras.Sequential([keras.Input(batch_shape=(2, STEPS, FEATURES)),
                              L.GRU(3, stateful=True, name="carry")])
    _refused(model, tmp_path, r"carry.*stateful=True")


def test_stacked_cells_are_refused(tmp_path):
    _refused(_branches(L.RNN([L.LSTMCell(3), L.GRUCell(2)], name="stack")), tmp_path,
             r"stack.*StackedRNNCells")


def test_initial_state_is_refused(tmp_path):
    x, h = keras.Input((STEPS, FEATURES)), keras.Input((3,))
    model = keras.Model([x, h], L.GRU(3, name="seeded")(x, initial_state=[h]))
    _refused(model, tmp_path, r"seeded.*initial_state")


def test_masked_input_to_a_layer_that_cannot_apply_it(tmp_path):
    _refused(_tokens(L.Softmax(name="probs")), tmp_path, r"probs.*Keras mask")


def test_attention_over_two_axes_is_refused(tmp_path):
    model = _functional(lambda x: L.MultiHeadAttention(2, 2, attention_axes=(1, 2),
                                                       name="grid")(x, x), shape=(3, 4, 5))
    _refused(model, tmp_path, r"grid.*attention_axes")


def test_unsupported_op_is_named(tmp_path):
    model = _functional(lambda x: ops.cumsum(x, axis=1), shape=(STEPS, 2))
    _refused(model, tmp_path, r"ops\.cumsum")
