"""The fused LSTM/GRU loops (layers/recurrent/fused.py) against the general scan: same
outputs, and gradients with respect to the weights, the inputs and the initial states,
masked and unmasked, for every output option. (The general scan is itself checked against
Keras 3 in test_recurrent.py, which also runs through the fused loops.)"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gazelle as keras
from gazelle.layers.recurrent import rnn

OPTIONS = [
    {"return_sequences": True, "return_state": True},
    {"go_backwards": True, "return_state": True, "use_bias": False},
    {"go_backwards": True, "return_sequences": True, "zero_output_for_mask": True},
    {"return_sequences": False},
]


def _mask():
    m = np.ones((3, 6), bool)
    m[0, 4:] = False          # right padding
    m[1, :2] = False          # left padding
    m[2, 3] = False           # a hole
    return jnp.asarray(m)


def _grads(layer, x, states, mask, fused):
    """Outputs and gradients; with `fused`, also checks that the fused loop ran."""
    tv = [v.value for v in layer.trainable_variables]
    calls = []
    original_kind = rnn._fused_kind
    originals = rnn.fused.lstm_scan, rnn.fused.gru_scan

    def counted(fn):
        def run(*args, **kwargs):
            calls.append(fn.__name__)
            return fn(*args, **kwargs)
        return run

    rnn._fused_kind = original_kind if fused else (lambda cell: None)
    rnn.fused.lstm_scan, rnn.fused.gru_scan = (counted(f) for f in originals)
    try:
        def loss(tv, x, states):
            out, _ = layer.stateless_call(tv, [], x, initial_state=states, mask=mask)
            total = 0.0
            for i, leaf in enumerate(jax.tree_util.tree_leaves(out)):
                w = np.random.default_rng(i).standard_normal(leaf.shape).astype("float32")
                total = total + jnp.sum(leaf * w)
            return total, out
        (_, out), grads = jax.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True)(
            tv, x, states)
    finally:
        rnn._fused_kind = original_kind
        rnn.fused.lstm_scan, rnn.fused.gru_scan = originals
    return out, grads, calls


@pytest.mark.sweep
@pytest.mark.parametrize("kind, n_states", [("LSTM", 2), ("GRU", 1)])
@pytest.mark.parametrize("options", OPTIONS, ids=str)
@pytest.mark.parametrize("masked", [False, True], ids=["unmasked", "masked"])
def test_fused_loop_equals_the_general_scan(kind, n_states, options, masked):
    rng = np.random.default_rng(0)
    layer = getattr(keras.layers, kind)(5, **options)
    x = jnp.asarray(rng.standard_normal((3, 6, 4)).astype("float32"))
    layer(x)
    layer.set_weights([rng.uniform(-0.7, 0.7, w.shape).astype("float32")
                       for w in layer.get_weights()])
    states = [jnp.asarray(rng.standard_normal((3, 5)).astype("float32"))
              for _ in range(n_states)]
    mask = _mask() if masked else None
    out_f, grads_f, calls = _grads(layer, x, states, mask, fused=True)
    assert calls == [f"{kind.lower()}_scan"]
    out_g, grads_g, calls = _grads(layer, x, states, mask, fused=False)
    assert calls == []
    for a, b in zip(jax.tree_util.tree_leaves((out_f, grads_f)),
                    jax.tree_util.tree_leaves((out_g, grads_g))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=2e-6)


def test_not_fused_for_custom_activations_recurrent_dropout_and_reset_before():
    for layer in (keras.layers.LSTM(3, activation="relu"),
                  keras.layers.LSTM(3, recurrent_activation="hard_sigmoid"),
                  keras.layers.GRU(3, reset_after=False)):
        layer(np.ones((1, 2, 3), "float32"))
        assert rnn._fused_kind(layer.cell) is None
    for layer in (keras.layers.LSTM(3), keras.layers.GRU(3)):
        layer(np.ones((1, 2, 3), "float32"))
        assert rnn._fused_kind(layer.cell) in ("lstm", "gru")


def test_training_with_input_dropout_runs_the_fused_loop():
    layer = keras.layers.LSTM(4, dropout=0.5, seed=1)
    x = np.ones((2, 3, 4), "float32")
    train = np.asarray(layer(x, training=True))
    infer = np.asarray(layer(x, training=False))
    assert train.shape == infer.shape == (2, 4) and not np.allclose(train, infer)


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the check reads XLA:CPU's program")
@pytest.mark.parametrize("masked", [False, True])
def test_lstm_gradient_loops_write_in_place(masked):
    """The LSTM's forward loop writes each step's factors over its input projection and the
    backward loop each gate gradient over its factors (fused.py): XLA:CPU must then do
    those writes in the one buffer. A later reader of a step's values after the write
    makes it copy the whole (time, batch, 4 * units) buffer every step instead (what the
    GRU's backward loop did when tried that way: 4x slower)."""
    import re
    batch, steps, units = 3, 6, 8
    layer = keras.layers.LSTM(units, return_sequences=True, go_backwards=masked)
    x = np.random.default_rng(0).standard_normal((batch, steps, 3)).astype("float32")
    layer(x)
    tv = [v.value for v in layer.trainable_variables]
    mask = _mask() if masked else None

    def loss(tv, x):
        out, _ = layer.stateless_call(tv, [], x, mask=mask)
        return jnp.sum(out * out)

    text = jax.jit(jax.grad(loss, argnums=(0, 1))).lower(tv, x).compile().as_text()
    loops = [c for c in re.split(r"\n(?=%)", text) if "dynamic-update-slice" in c]
    assert loops                            # the loop bodies write their steps
    for computation in loops:
        buffer = rf"= f32\[{steps},{batch},{4 * units}\]\S* copy\("
        assert not re.search(buffer, computation), computation[:300]
