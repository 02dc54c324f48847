"""EinsumDense, MultiHeadAttention, GroupQueryAttention, Attention, AdditiveAttention:
Keras 3 as oracle (weights, outputs, scores, gradients, masks), Functional models, `.keras`
files both ways, the layer contract and argument errors."""
import json
import warnings
import zipfile

import jax
import jax.numpy as jnp
import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle import layers
from gazelle.testing import run_layer_test

TOL = dict(rtol=1e-5, atol=1e-5)


def _random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _mask(shape, seed=0):
    mask = np.random.default_rng(seed).random(shape) < 0.7
    mask[..., 0] = True           # every row keeps one position
    return mask


def _share_weights(ours, theirs, seed=1):
    """Random weights into ours, copied into theirs; checks names and shapes first."""
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    rng = np.random.default_rng(seed)
    weights = [(rng.standard_normal(w.shape) * 0.4).astype("float32") for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)


def _close(a, b, **tol):
    a, b = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), **(tol or TOL))


# -- EinsumDense ---------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, shape", [
    ({"equation": "ab,bc->ac", "output_shape": 4, "bias_axes": "c"}, (3, 5)),
    ({"equation": "abc,cd->abd", "output_shape": (None, 6), "bias_axes": "d",
      "activation": "relu"}, (2, 3, 5)),
    ({"equation": "...b,bc->...c", "output_shape": 4, "bias_axes": "c"}, (2, 3, 5)),
    ({"equation": "abc,cde->abde", "output_shape": (None, 2, 3), "bias_axes": "de"}, (2, 4, 5)),
    ({"equation": "abcd,cde->abe", "output_shape": (None, 7), "bias_axes": "e"}, (2, 4, 3, 5)),
    ({"equation": "ab...,bc->ac...", "output_shape": 4}, (2, 5, 3)),
])
def test_einsum_dense_matches_keras(kwargs, shape):
    x = _random(shape)
    ours, theirs = layers.EinsumDense(**kwargs), k3.layers.EinsumDense(**kwargs)
    y = ours(x)
    theirs(x)
    _share_weights(ours, theirs)
    _close(ours(x), theirs(x))
    assert tuple(y.shape) == tuple(theirs(x).shape)
    assert ours.compute_output_shape(shape) == tuple(y.shape)   # Keras: None where given
    assert set(ours.get_config()) == set(theirs.get_config())


def test_einsum_dense_contract_and_fans():
    run_layer_test(layers.EinsumDense, {"equation": "abc,cd->abd", "output_shape": (None, 4),
                                        "bias_axes": "d"}, (2, 3, 5), (2, 3, 4), 2)
    # Glorot's fans count the kernel's input axes (c) and output axes (d, e), as in Keras.
    layer = layers.EinsumDense("abc,cde->abde", output_shape=(None, 50, 40),
                               kernel_initializer=keras.initializers.GlorotUniform(seed=1))
    layer.build((None, 7, 60))
    limit = np.sqrt(6.0 / (60 + 50 * 40))
    kernel = np.asarray(layer.kernel.value)
    assert kernel.max() <= limit and kernel.max() > 0.9 * limit


def test_einsum_dense_errors():
    with pytest.raises(ValueError, match="Invalid einsum equation"):
        layers.EinsumDense("ab->b", output_shape=3).build((2, 3))
    with pytest.raises(ValueError, match="Bias dimension 'z'"):
        layers.EinsumDense("ab,bc->ac", output_shape=3, bias_axes="z").build((2, 3))
    with pytest.raises(NotImplementedError, match="lora_rank"):
        layers.EinsumDense("ab,bc->ac", output_shape=3, lora_rank=2)
    layer = layers.EinsumDense("abc,cd->abd", output_shape=(None, 4), name="proj")
    layer(_random((2, 3, 5)))
    with pytest.raises(ValueError, match="proj.*ndim=3"):
        layer(_random((2, 5)))


# -- MultiHeadAttention -----------------------------------------------------------------------
MHA_CASES = [
    # (constructor kwargs, query shape, value shape, key shape, call kwargs)
    ({"num_heads": 2, "key_dim": 4}, (2, 5, 8), (2, 5, 8), None, {}),
    ({"num_heads": 3, "key_dim": 4, "value_dim": 5, "output_shape": 7, "use_bias": False},
     (2, 5, 8), (2, 3, 6), (2, 3, 4), {"return_attention_scores": True}),
    ({"num_heads": 2, "key_dim": 4}, (2, 5, 8), (2, 5, 8), None,
     {"use_causal_mask": True, "return_attention_scores": True}),
    ({"num_heads": 2, "key_dim": 3, "use_gate": True}, (2, 4, 6), (2, 4, 6), None,
     {"use_causal_mask": True}),
    ({"num_heads": 2, "key_dim": 3}, (2, 4, 6), (2, 3, 5), (2, 3, 7),
     {"attention_mask": "mask", "value_mask": "value_mask", "key_mask": "key_mask"}),
    ({"num_heads": 2, "key_dim": 3, "sliding_window": 2}, (2, 5, 6), (2, 5, 6), None,
     {"attention_mask": "mask", "return_attention_scores": True}),
    ({"num_heads": 2, "key_dim": 3, "attention_axes": (1, 2)}, (2, 3, 4, 6), (2, 3, 4, 6),
     None, {"attention_mask": "mask", "return_attention_scores": True}),
    ({"num_heads": 2, "key_dim": 3, "attention_axes": 2, "output_shape": (2, 5)},
     (2, 3, 4, 6), (2, 3, 5, 6), None, {}),
]


def _mha_call_args(q_shape, v_shape, k_shape, call_kwargs):
    query, value = _random(q_shape, 0), _random(v_shape, 1)
    args = [query, value] + ([_random(k_shape, 2)] if k_shape else [])
    kwargs = dict(call_kwargs)
    for name, marker in call_kwargs.items():
        if marker == "mask":
            # (B, <query attention dims>, <key attention dims>) over the index axes
            kwargs[name] = _mask(q_shape[:-1] + v_shape[1:-1], seed=3)
        elif marker in ("value_mask", "key_mask"):
            kwargs[name] = _mask(v_shape[:2], seed=4 if marker == "value_mask" else 5)
    return args, kwargs


@pytest.mark.sweep
@pytest.mark.parametrize("kwargs, q_shape, v_shape, k_shape, call_kwargs", MHA_CASES)
def test_multi_head_attention_matches_keras(kwargs, q_shape, v_shape, k_shape, call_kwargs):
    args, call = _mha_call_args(q_shape, v_shape, k_shape, call_kwargs)
    ours, theirs = layers.MultiHeadAttention(**kwargs), k3.layers.MultiHeadAttention(**kwargs)
    ours.build(q_shape, v_shape, k_shape)
    theirs.build(q_shape, v_shape, k_shape)
    _share_weights(ours, theirs)
    got, want = ours(*args, **call), theirs(*args, **call)
    _close(got, want)
    if call.get("return_attention_scores"):
        assert isinstance(got, tuple) and len(got) == 2
    assert set(ours.get_config()) == set(theirs.get_config())
    assert ours.get_config()["attention_axes"] == tuple(theirs.get_config()["attention_axes"])


def test_masks_change_the_result():
    """The masked and causal paths really mask (guards against masks being ignored)."""
    query = _random((2, 4, 6))
    layer = layers.MultiHeadAttention(2, 3)
    plain = np.asarray(layer(query, query))
    causal, scores = layer(query, query, use_causal_mask=True, return_attention_scores=True)
    assert not np.allclose(np.asarray(causal), plain)
    assert np.all(np.asarray(scores)[:, :, 0, 1:] == 0)          # row 0 sees only key 0
    np.testing.assert_allclose(np.asarray(scores).sum(-1), 1, rtol=1e-6)
    mask = np.tril(np.ones((4, 4), bool))[None]
    _close(layer(query, query, attention_mask=mask), causal)


@pytest.mark.parametrize("call_kwargs", [{}, {"use_causal_mask": True,
                                              "attention_mask": "mask"}])
def test_multi_head_attention_gradients_match_keras(call_kwargs):
    args, call = _mha_call_args((2, 4, 6), (2, 4, 5), None, call_kwargs)
    ours = layers.MultiHeadAttention(2, 3, value_dim=3)
    theirs = k3.layers.MultiHeadAttention(2, 3, value_dim=3)
    ours.build((2, 4, 6), (2, 4, 5))
    theirs.build((2, 4, 6), (2, 4, 5))
    _share_weights(ours, theirs)
    weights = [jnp.asarray(w) for w in ours.get_weights()]
    probe = _random((2, 4, 6), 9)

    def loss(layer, w, q, v):
        out, _ = layer.stateless_call(w, [], q, v, **call)
        return jnp.sum(out * probe)

    got = jax.grad(lambda w, q, v: loss(ours, w, q, v), argnums=(0, 1, 2))(weights, *args)
    want = jax.grad(lambda w, q, v: loss(theirs, w, q, v), argnums=(0, 1, 2))(weights, *args)
    _close(got, want, rtol=1e-4, atol=1e-5)


def test_dropout_acts_only_in_training_and_follows_the_seed():
    query = _random((2, 5, 8))
    layer = layers.MultiHeadAttention(2, 4, dropout=0.5, seed=3)
    reference = layers.MultiHeadAttention(2, 4)
    eval_out, eval_scores = layer(query, query, return_attention_scores=True)
    reference(query, query)
    reference.set_weights(layer.get_weights())
    _close(eval_out, reference(query, query))
    train_out, train_scores = layer(query, query, return_attention_scores=True, training=True)
    again = layer(query, query, training=True)
    assert not np.allclose(np.asarray(train_out), np.asarray(eval_out))
    assert not np.allclose(np.asarray(train_out), np.asarray(again))   # the seed advances
    _close(train_scores, eval_scores)      # scores are returned before dropout, as in Keras
    assert len(layer.non_trainable_variables) == 1                      # the seed state


def test_jitted_stateless_call_and_config_round_trip():
    query, value = _random((2, 5, 8)), _random((2, 3, 6), 1)
    layer = layers.MultiHeadAttention(2, 4, value_dim=3, output_shape=(2, 5), dropout=0.1)
    eager = layer(query, value, use_causal_mask=True)
    assert eager.shape == (2, 5, 2, 5)
    tv = [v.value for v in layer.trainable_variables]
    ntv = [v.value for v in layer.non_trainable_variables]
    jitted, _ = jax.jit(lambda t, n, q, v: layer.stateless_call(
        t, n, q, v, use_causal_mask=True))(tv, ntv, query, value)
    _close(jitted, eager)
    clone = layers.MultiHeadAttention.from_config(layer.get_config())
    clone(query, value)
    clone.set_weights(layer.get_weights())
    _close(clone(query, value, use_causal_mask=True), eager)
    assert layer.compute_output_shape((None, 5, 8), (None, 3, 6)) == (None, 5, 2, 5)
    assert layer.get_build_config() == {"shapes_dict": {"query_shape": [2, 5, 8],
                                                        "value_shape": [2, 3, 6]}}


def test_symbolic_call_shapes():
    # Keras 3 gives the scores (None, 2, None, None): it takes the query's length twice.
    q, v = keras.Input((None, 8)), keras.Input((3, 6))
    out, scores = layers.MultiHeadAttention(2, 4)(q, v, return_attention_scores=True)
    assert tuple(out.shape) == (None, None, 8) and tuple(scores.shape) == (None, 2, None, 3)
    out = layers.MultiHeadAttention(2, 4, output_shape=5)(q, v, key=v)
    assert tuple(out.shape) == (None, None, 5)


def _cross_model(lib):
    query, value = lib.Input((5, 8), name="q"), lib.Input((3, 6), name="v")
    mask = lib.Input((5, 3), dtype="bool", name="m")
    out, scores = lib.layers.MultiHeadAttention(2, 4, name="cross")(
        query, value, attention_mask=mask, return_attention_scores=True)
    out = lib.layers.MultiHeadAttention(2, 4, name="self", use_gate=True)(
        out, out, use_causal_mask=True)
    out = lib.layers.LayerNormalization()(out)
    return lib.Model([query, value, mask], [out, scores])


def _cross_data():
    return [_random((4, 5, 8)), _random((4, 3, 6), 1), _mask((4, 5, 3))]


def test_functional_model_matches_keras_and_trains():
    ours, theirs = _cross_model(keras), _cross_model(k3)
    theirs.set_weights(ours.get_weights())
    data = _cross_data()
    _close(ours.predict(data, verbose=0), theirs.predict(data, verbose=0))
    ours.compile(optimizer=keras.optimizers.Adam(0.01), loss=["mse", None])
    target = _random((4, 5, 8), 7)
    history = ours.fit(data, [target, np.zeros((4, 2, 5, 3), "float32")], epochs=3,
                       verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


@pytest.mark.parametrize("direction", ["gazelle_to_keras", "keras_to_gazelle"])
def test_keras_files_cross_over(tmp_path, direction):
    source_lib, target_lib = (keras, k3) if direction == "gazelle_to_keras" else (k3, keras)
    model = _cross_model(source_lib)
    data = _cross_data()
    expected = model.predict(data, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = (k3.saving.load_model if target_lib is k3 else keras.models.load_model)(
        tmp_path / "m.keras")
    _close(loaded.predict(data, verbose=0), expected)
    round_trip = keras.models.load_model(tmp_path / "m.keras") if target_lib is k3 else None
    if round_trip is not None:
        _close(round_trip.predict(data, verbose=0), expected)


def test_saved_config_matches_keras(tmp_path):
    _cross_model(keras).save(tmp_path / "g.keras")
    _cross_model(k3).save(tmp_path / "k.keras")

    def entry(path, name):
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json"))
        return next(e for e in config["config"]["layers"] if e["name"] == name)

    for name in ("cross", "self"):
        ours, theirs = entry(tmp_path / "g.keras", name), entry(tmp_path / "k.keras", name)
        assert ours["class_name"] == theirs["class_name"] == "MultiHeadAttention"
        assert ours["build_config"] == theirs["build_config"]
        assert ours["inbound_nodes"][0]["kwargs"].keys() == theirs["inbound_nodes"][0][
            "kwargs"].keys()
        assert set(ours["config"]) == set(theirs["config"])


def test_inside_a_subclassed_layer_and_model():
    class Block(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.attention = keras.layers.MultiHeadAttention(2, 4)
            self.norm = keras.layers.LayerNormalization()

        def call(self, x):
            return self.norm(x + self.attention(x, x, use_causal_mask=True))

    block = Block()
    x = _random((3, 5, 8))
    y = block(x)
    assert y.shape == (3, 5, 8) and len(block.trainable_weights) == 10
    tv = [v.value for v in block.trainable_variables]
    _close(jax.jit(lambda t, x: block.stateless_call(t, [], x)[0])(tv, x), y)
    inputs = keras.Input((5, 8))
    model = keras.Model(inputs, keras.layers.Dense(1)(Block()(inputs)))
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    history = model.fit(x, _random((3, 5, 1), 2), epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_subclass_can_override_compute_attention():
    class Doubled(layers.MultiHeadAttention):
        def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                               return_attention_scores=False, use_causal_mask=False):
            output, scores = super()._compute_attention(
                query, key, value, attention_mask, training, True, use_causal_mask)
            return output * 2, scores

    query = _random((2, 4, 6))
    layer, plain = Doubled(2, 3), layers.MultiHeadAttention(2, 3)
    layer(query, query)
    plain(query, query)
    plain.set_weights(layer.get_weights())
    inner = jnp.asarray(_random((2, 4, 2, 3)))
    for causal in (False, True):
        got, scores = layer(query, query, use_causal_mask=causal, return_attention_scores=True)
        assert not np.allclose(np.asarray(got), np.asarray(plain(query, query)))
        if causal:          # the causal mask still reaches an overriding subclass
            assert np.all(np.asarray(scores)[:, :, 0, 1:] == 0)
    output, _ = plain._compute_attention(inner, inner, inner)
    assert output.shape == (2, 4, 2, 3)
    assert plain._query_dense is plain.query_dense
    _close(plain(query=query, value=query, key=query), plain(query, query))


def test_multi_head_attention_errors():
    with pytest.raises(ValueError, match="num_heads.*positive integer.*num_heads=0"):
        layers.MultiHeadAttention(num_heads=0, key_dim=2)
    with pytest.raises(TypeError, match="key_dim"):
        layers.MultiHeadAttention(num_heads=2)
    with pytest.raises(ValueError, match="key_dim.*key_dim=-1"):
        layers.MultiHeadAttention(2, -1)
    with pytest.raises(ValueError, match="attention_axes"):
        layers.MultiHeadAttention(2, 2, attention_axes="1")
    with pytest.raises(ValueError, match="sliding_window"):
        layers.MultiHeadAttention(2, 2, sliding_window=0)
    with pytest.raises(ValueError, match="flash attention"):
        layers.MultiHeadAttention(2, 2, dropout=0.1, flash_attention=True)
    with pytest.raises(ValueError, match="value.*key.*except the last"):
        layers.MultiHeadAttention(2, 2)(_random((2, 4, 6)), _random((2, 3, 6)),
                                        key=_random((2, 5, 6)))
    layer = layers.MultiHeadAttention(2, 2, name="mha")
    layer(_random((2, 4, 6)), _random((2, 3, 5)))
    with pytest.raises(ValueError, match="mha.*queries of shape"):
        layer(_random((2, 4, 7)), _random((2, 3, 5)))
    with pytest.raises(ValueError, match="mha.*value of shape"):
        layer(_random((2, 4, 6)), _random((2, 3, 4)))
    with pytest.raises(TypeError, match="mha"):
        layer(_random((2, 4, 6)))          # value missing


def test_explicit_query_mask_is_honoured():
    """Keras 3 replaces an explicit `query_mask` by the query's implicit mask (None for a
    plain array); gazelle applies it: masked query rows attend to nothing."""
    query = _random((2, 4, 6))
    query_mask = np.array([[True, True, False, False]] * 2)
    layer = layers.MultiHeadAttention(2, 3)
    _, scores = layer(query, query, query_mask=query_mask, return_attention_scores=True)
    assert np.all(np.asarray(scores)[:, :, 2:] == 0)
    assert not np.allclose(np.asarray(scores)[:, :, :2], 0)


# -- GroupQueryAttention ----------------------------------------------------------------------
GQA_CASES = [
    ({"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2},
     {"return_attention_scores": True, "use_causal_mask": True}),
    ({"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 1, "use_gate": True},
     {"attention_mask": "mask"}),
    ({"head_dim": 3, "num_query_heads": 2, "num_key_value_heads": 2, "use_bias": False,
      "sliding_window": 2}, {"return_attention_scores": True}),
]


@pytest.mark.parametrize("kwargs, call_kwargs", GQA_CASES)
def test_group_query_attention_matches_keras(kwargs, call_kwargs):
    args, call = _mha_call_args((2, 4, 6), (2, 5, 6), None, call_kwargs)
    ours, theirs = layers.GroupQueryAttention(**kwargs), k3.layers.GroupQueryAttention(**kwargs)
    ours.build((2, 4, 6), (2, 5, 6))
    theirs.build((2, 4, 6), (2, 5, 6))
    _share_weights(ours, theirs)
    _close(ours(*args, **call), theirs(*args, **call))
    assert ours.name.startswith("grouped_query_attention")
    assert set(ours.get_config()) == set(theirs.get_config())


def test_group_query_attention_files_cross_over(tmp_path):
    def build(lib):
        query, value = lib.Input((4, 6)), lib.Input((5, 6))
        out = lib.layers.GroupQueryAttention(3, 4, 2, use_gate=True)(
            query, value, use_causal_mask=True)
        return lib.Model([query, value], out)

    data = [_random((2, 4, 6)), _random((2, 5, 6), 1)]
    ours = build(keras)
    ours.save(tmp_path / "g.keras")
    theirs = k3.saving.load_model(tmp_path / "g.keras")
    _close(theirs.predict(data, verbose=0), ours.predict(data, verbose=0))
    theirs.save(tmp_path / "k.keras")
    back = keras.models.load_model(tmp_path / "k.keras")
    _close(back.predict(data, verbose=0), ours.predict(data, verbose=0))


def test_group_query_attention_errors():
    with pytest.raises(ValueError, match="divisible"):
        layers.GroupQueryAttention(4, 3, 2)
    with pytest.raises(ValueError, match="num_key_value_heads.*positive"):
        layers.GroupQueryAttention(4, 4, 0)
    with pytest.raises(ValueError, match="last dimension of `query_shape` and `value_shape`"):
        layers.GroupQueryAttention(4, 4, 2).compute_output_shape((None, 3, 8), (None, 3, 6))


# -- Attention, AdditiveAttention -------------------------------------------------------------
ATTENTION_CASES = [
    (k3.layers.Attention, layers.Attention, {}, {}, False),
    (k3.layers.Attention, layers.Attention, {"use_scale": True},
     {"return_attention_scores": True, "use_causal_mask": True, "mask": True}, True),
    (k3.layers.Attention, layers.Attention, {"score_mode": "concat", "use_scale": True},
     {"mask": True}, False),
    (k3.layers.Attention, layers.Attention, {"score_mode": "concat"},
     {"mask": True, "use_causal_mask": True, "return_attention_scores": True}, True),
    (k3.layers.AdditiveAttention, layers.AdditiveAttention, {}, {"mask": True}, True),
    (k3.layers.AdditiveAttention, layers.AdditiveAttention, {"use_scale": False},
     {"return_attention_scores": True}, False),
]


@pytest.mark.parametrize("keras_cls, cls, kwargs, call_kwargs, with_key", ATTENTION_CASES)
def test_attention_layers_match_keras(keras_cls, cls, kwargs, call_kwargs, with_key):
    inputs = [_random((2, 4, 3)), _random((2, 4, 3), 1)] + (
        [_random((2, 4, 3), 2)] if with_key else [])
    call = dict(call_kwargs)
    if call.pop("mask", False):
        call["mask"] = [_mask((2, 4), 3), _mask((2, 4), 4)]
    ours, theirs = cls(**kwargs), keras_cls(**kwargs)
    ours.build([x.shape for x in inputs])
    theirs.build([x.shape for x in inputs])
    if ours.weights:
        _share_weights(ours, theirs)
    _close(ours(inputs, **call), theirs(inputs, **call))
    assert ours.get_config().keys() == theirs.get_config().keys()


def test_attention_contract_and_functional_files(tmp_path):
    def build(lib):
        query, value = lib.Input((4, 3)), lib.Input((6, 3))
        a = lib.layers.Attention(use_scale=True)([query, value])
        b, scores = lib.layers.AdditiveAttention()([query, value],
                                                   return_attention_scores=True)
        return lib.Model([query, value], [lib.layers.Add()([a, b]), scores])

    ours = build(keras)
    assert [tuple(t.shape) for t in ours.outputs] == [(None, 4, 3), (None, 4, 6)]
    data = [_random((2, 4, 3)), _random((2, 6, 3), 1)]
    expected = ours.predict(data, verbose=0)
    ours.save(tmp_path / "g.keras")
    _close(k3.saving.load_model(tmp_path / "g.keras").predict(data, verbose=0), expected)
    _close(keras.models.load_model(tmp_path / "g.keras").predict(data, verbose=0), expected)
    layer = layers.Attention(dropout=0.5, seed=1)
    eval_out = layer(data[:1] * 2)
    assert not np.allclose(np.asarray(layer(data[:1] * 2, training=True)),
                           np.asarray(eval_out))


def test_attention_errors():
    with pytest.raises(ValueError, match="score_mode"):
        layers.Attention(score_mode="add")
    with pytest.raises(ValueError, match="list of inputs"):
        layers.Attention()(_random((2, 3, 4)))
    with pytest.raises(ValueError, match="length 2 or 3"):
        layers.Attention()([_random((2, 3, 4))])
    with pytest.raises(ValueError, match="mask must be a list"):
        layers.Attention()([_random((2, 3, 4))] * 2, mask=_mask((2, 3)))


@pytest.mark.parametrize("kind", ["mha", "gqa", "attention"])
def test_masks_from_embedding_flow_through_as_in_keras(kind):
    """Embedding(mask_zero=True) masks reach the attention (query and value masks) and the
    output carries the query's mask to the pooling, as in Keras 3."""
    def build(lib, mask_zero=True):
        ids = lib.Input((5,), dtype="int32")
        x = lib.layers.Embedding(8, 6, mask_zero=mask_zero)(ids)
        if kind == "mha":
            x = lib.layers.MultiHeadAttention(2, 3)(x, x)
        elif kind == "gqa":
            x = lib.layers.GroupQueryAttention(3, 2, 1)(x, x)
        else:
            x = lib.layers.Attention()([x, x])
        x = lib.layers.ReLU()(x)
        return lib.Model(ids, lib.layers.GlobalAveragePooling1D()(x))

    ours, theirs, unmasked = build(keras), build(k3), build(keras, mask_zero=False)
    theirs.set_weights(ours.get_weights())
    unmasked.set_weights(ours.get_weights())
    ids = np.array([[3, 4, 5, 0, 0], [1, 2, 0, 0, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # Keras: "EinsumDense ... will destroy the mask"
        expected = theirs.predict(ids, verbose=0)
    got = ours.predict(ids, verbose=0)
    _close(got, expected)
    assert not np.allclose(got, unmasked.predict(ids, verbose=0), atol=1e-4)
