"""ConvLSTM1D/2D/3D against Keras 3: same weights and inputs give the same outputs (and
gradients) for both data formats, both paddings, strides and dilation, every return/
direction option, masks and initial states; configs, `.keras` files both ways (through
Bidirectional too), stateful batches, dropout, a short fit, and clear errors."""
import jax
import jax.numpy as jnp
import keras as k3
import numpy as np
import pytest

import gazelle as keras

RTOL, ATOL = 1e-5, 1e-5


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _leaves(out):
    return [np.asarray(a) for a in jax.tree_util.tree_leaves(out)]


def _assert_same(a, b):
    la, lb = _leaves(a), _leaves(b)
    assert len(la) == len(lb)
    for p, q in zip(la, lb):
        assert p.shape == q.shape
        np.testing.assert_allclose(p, q, rtol=RTOL, atol=ATOL)


def _pair(kind, x, seed=1, **kwargs):
    """The gazelle and the Keras layer, built on `x`, with the same random weights."""
    ours = getattr(keras.layers, kind)(**kwargs)
    theirs = getattr(k3.layers, kind)(**kwargs)
    ours(x)
    theirs(x)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(-0.5, 0.5, w.shape).astype("float32") for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    return ours, theirs


def _mask(batch=2, steps=4):
    m = np.ones((batch, steps), bool)
    m[0, 2:] = False           # right padding
    m[1, 1] = False            # a hole
    return m


# (kind, frames shape without batch/time in channels_last order, layer kwargs)
CASES = [
    ("ConvLSTM1D", (9, 2), {"filters": 3, "kernel_size": 2, "strides": 2, "padding": "same",
                            "data_format": "channels_first", "return_sequences": True}),
    ("ConvLSTM1D", (8, 2), {"filters": 2, "kernel_size": 3, "dilation_rate": 2,
                            "go_backwards": True, "return_state": True}),
    ("ConvLSTM2D", (6, 5, 3), {"filters": 3, "kernel_size": 3, "padding": "same",
                               "return_sequences": True, "return_state": True}),
    ("ConvLSTM2D", (7, 6, 2), {"filters": 2, "kernel_size": (3, 2), "strides": (2, 1),
                               "data_format": "channels_first", "go_backwards": True,
                               "return_sequences": True, "use_bias": False,
                               "activation": "relu", "unit_forget_bias": False}),
    ("ConvLSTM3D", (5, 4, 6, 2), {"filters": 2, "kernel_size": 2, "strides": 2,
                                  "data_format": "channels_first", "return_sequences": True,
                                  "go_backwards": True, "return_state": True}),
    ("ConvLSTM3D", (4, 5, 4, 2), {"filters": 2, "kernel_size": 3, "padding": "same"}),
]


def _input(frame, kwargs, batch=2, steps=4, seed=0):
    shape = (batch, steps) + frame
    x = _x(shape, seed)
    if kwargs.get("data_format") == "channels_first":   # channels to axis 2
        x = np.ascontiguousarray(np.moveaxis(x, -1, 2))
    return x


@pytest.mark.sweep
@pytest.mark.parametrize("kind, frame, kwargs", CASES,
                         ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(CASES)])
def test_outputs_match_keras(kind, frame, kwargs):
    x = _input(frame, kwargs)
    ours, theirs = _pair(kind, x, **kwargs)
    _assert_same(ours(x), theirs(x))
    assert ours.compute_output_shape((None,) + x.shape[1:]) == \
        theirs.compute_output_shape((None,) + x.shape[1:])


@pytest.mark.slow
def test_initial_states_match_keras_and_masks_skip_steps():
    kwargs = {"filters": 3, "kernel_size": 3, "padding": "same", "return_sequences": True,
              "return_state": True}
    x = _x((2, 4, 5, 5, 2))
    ours, theirs = _pair("ConvLSTM2D", x, **kwargs)
    states = [_x((2, 5, 5, 3), seed=3), _x((2, 5, 5, 3), seed=4)]
    _assert_same(ours(x, initial_state=states), theirs(x, initial_state=states))
    # Keras 3's ConvLSTM fails on masks (it broadcasts a (batch, 1) mask against the
    # feature maps); gazelle's RNN driver masks them: a masked step keeps the states and
    # repeats the last output, so the result is Keras's on the sequence without that step.
    seq, h, c = _leaves(ours(x, mask=_mask()))
    kept = [[0, 1], [0, 2, 3]]                  # the valid steps of each sample (_mask())
    for i, steps in enumerate(kept):
        k_seq, k_h, k_c = _leaves(theirs(x[i:i + 1, steps]))
        _assert_same([h[i], c[i], seq[i, steps]], [k_h[0], k_c[0], k_seq[0]])
    _assert_same([seq[0, 2], seq[0, 3], seq[1, 1]], [seq[0, 1], seq[0, 1], seq[1, 0]])
    zero = keras.layers.ConvLSTM2D(zero_output_for_mask=True, **kwargs)
    zero(x)
    zero.set_weights(ours.get_weights())
    out = np.asarray(zero(x, mask=_mask())[0])
    assert np.all(out[0, 2:] == 0) and np.all(out[1, 1] == 0)


def _grads(layer, x, kwargs):
    tv = [jnp.asarray(v.value) for v in layer.trainable_variables]
    ntv = [jnp.asarray(v.value) for v in layer.non_trainable_variables]

    def loss(t):
        out, _ = layer.stateless_call(t, ntv, x, **kwargs)
        total = 0.0
        for i, leaf in enumerate(jax.tree_util.tree_leaves(out)):
            w = np.random.default_rng(10 + i).standard_normal(leaf.shape).astype("float32")
            total = total + jnp.sum(leaf * w)
        return total

    return jax.jit(jax.grad(loss))(tv)


@pytest.mark.slow
def test_gradients_match_keras():
    kwargs = {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same",
              "data_format": "channels_first", "return_sequences": True,
              "return_state": True, "go_backwards": True}
    x = np.ascontiguousarray(np.moveaxis(_x((2, 4, 6, 5, 2)), -1, 2))
    ours, theirs = _pair("ConvLSTM2D", x, **kwargs)
    ours_grads, theirs_grads = _grads(ours, x, {}), _grads(theirs, x, {})
    assert all(np.abs(np.asarray(g)).sum() > 0 for g in ours_grads)
    _assert_same(ours_grads, theirs_grads)


@pytest.mark.slow
def test_configs_match_keras_and_round_trip():
    x = _x((2, 3, 6, 6, 2))
    kwargs = {"filters": 3, "kernel_size": (3, 2), "strides": 1, "padding": "same",
              "dilation_rate": 2, "recurrent_activation": "hard_sigmoid", "dropout": 0.25,
              "recurrent_dropout": 0.1, "seed": 4, "return_sequences": True,
              "kernel_regularizer": "l2"}
    ours, theirs = _pair("ConvLSTM2D", x, **kwargs)
    a, b = ours.get_config(), theirs.get_config()
    assert set(a) == set(b)
    for key in set(a) - {"dtype", "name", "kernel_regularizer"}:
        assert a[key] == b[key], key
    assert a["kernel_regularizer"]["class_name"] == b["kernel_regularizer"]["class_name"]
    assert ours.filters == 3 and ours.kernel_size == (3, 2) and ours.dilation_rate == (2, 2)
    clone = keras.layers.ConvLSTM2D.from_config(a)
    clone(x)
    clone.set_weights(ours.get_weights())
    _assert_same(clone(x), ours(x))
    # a Keras config builds the same layer here
    from_keras = keras.layers.ConvLSTM2D.from_config({**b, "dtype": "float32"})
    assert from_keras.get_config() == {**a, "name": b["name"]}


@pytest.mark.parametrize("kind", ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"])
def test_signatures_match_keras(kind):
    import inspect
    ours = inspect.signature(getattr(keras.layers, kind)).parameters
    theirs = inspect.signature(getattr(k3.layers, kind)).parameters
    assert list(ours) == list(theirs)
    assert [p.default for p in ours.values()] == [p.default for p in theirs.values()]


def _model(lib):
    return lib.Sequential([
        lib.Input((3, 6, 6, 2)),
        lib.layers.Bidirectional(lib.layers.ConvLSTM2D(3, 3, padding="same",
                                                       return_sequences=True)),
        lib.layers.ConvLSTM2D(2, 2, strides=2, data_format="channels_first"),
        lib.layers.Flatten(),
        lib.layers.Dense(2),
    ])


@pytest.mark.parametrize("direction", ["gazelle_to_keras", "keras_to_gazelle"])
def test_keras_files_load_both_ways(tmp_path, direction):
    source, load = (keras, k3.saving.load_model) if direction == "gazelle_to_keras" else (
        k3, keras.models.load_model)
    model = _model(source)
    rng = np.random.default_rng(5)
    model.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype("float32")
                       for w in model.get_weights()])
    x = _x((2, 3, 6, 6, 2))
    expected = np.asarray(model.predict(x, verbose=0))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = load(path)
    np.testing.assert_allclose(np.asarray(loaded.predict(x, verbose=0)), expected,
                               rtol=RTOL, atol=ATOL)


def test_stateful_across_two_batches_matches_keras():
    x1, x2 = _x((2, 3, 7, 2), seed=1), _x((2, 3, 7, 2), seed=2)
    ours, theirs = _pair("ConvLSTM1D", x1, filters=2, kernel_size=3, padding="same",
                         stateful=True)
    ours.reset_states()
    theirs.reset_states()
    _assert_same(ours(x1), theirs(x1))
    second = ours(x2)
    _assert_same(second, theirs(x2))        # continues from the first batch's states
    ours.reset_states()
    assert not np.allclose(np.asarray(ours(x2)), np.asarray(second))
    assert len(ours.weights) == 3           # the states are not weights


@pytest.mark.slow
def test_dropout_only_in_training_and_inside_jit():
    layer = keras.layers.ConvLSTM2D(3, 3, padding="same", dropout=0.3,
                                    recurrent_dropout=0.3, seed=0)
    x = _x((2, 3, 5, 5, 2))
    np.testing.assert_array_equal(np.asarray(layer(x)), np.asarray(layer(x)))
    assert not np.allclose(np.asarray(layer(x, training=True)), np.asarray(layer(x)))
    tv = [v.value for v in layer.trainable_variables]
    ntv = [v.value for v in layer.non_trainable_variables]
    step = jax.jit(lambda t, n: layer.stateless_call(t, n, x, training=True))
    y1, ntv1 = step(tv, ntv)
    y2, _ = step(tv, ntv1)
    assert np.all(np.isfinite(np.asarray(y1)))
    assert not np.allclose(np.asarray(y1), np.asarray(y2))   # the seed state advances


@pytest.mark.slow
def test_fit_trains_in_the_compiled_step():
    keras.utils.set_random_seed(0)
    x = _x((16, 4, 6, 6, 1))
    y = x[:, -1].mean(axis=(1, 2)) + 0.5
    model = keras.Sequential([
        keras.Input((4, 6, 6, 1)),
        keras.layers.ConvLSTM2D(4, 3, padding="same", dropout=0.1, recurrent_dropout=0.1),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse")
    history = model.fit(x, y, batch_size=8, epochs=8, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < 0.5 * losses[0]


def test_symbolic_shapes():
    inp = keras.Input((5, 8, 8, 3))
    out, h, c = keras.layers.ConvLSTM2D(4, 3, strides=2, return_sequences=True,
                                        return_state=True)(inp)
    assert out.shape == (None, 5, 3, 3, 4) and h.shape == c.shape == (None, 3, 3, 4)
    inp3 = keras.Input((2, 3, 4, 4, 4), batch_size=2)
    assert keras.layers.ConvLSTM3D(2, 3, data_format="channels_first")(inp3).shape == \
        (2, 2, 2, 2, 2)


def test_clear_errors():
    with pytest.raises(ValueError, match=r"expected ndim=5, i.e. \(batch, time, height, "
                                         r"width, channels\), found ndim=4.*channel axis"):
        keras.layers.ConvLSTM2D(2, 3)(_x((2, 3, 6, 6)))
    with pytest.raises(ValueError, match="expected ndim=4.*found ndim=3"):
        keras.layers.ConvLSTM1D(2, 3)(_x((2, 3, 6)))
    layer = keras.layers.ConvLSTM2D(2, 3)
    layer(_x((2, 3, 6, 6, 1)))
    with pytest.raises(ValueError, match=r"built for frames of shape \(6, 6, 1\).*\(7, 6, 1\)"):
        layer(_x((2, 3, 7, 6, 1)))
    with pytest.raises(ValueError, match="too small"):
        keras.layers.ConvLSTM2D(2, 5)(_x((1, 2, 3, 3, 1)))
    with pytest.raises(ValueError, match="static spatial"):
        keras.layers.ConvLSTM2D(2, 3)(keras.Input((3, None, 6, 1)))
    with pytest.raises(ValueError, match="ConvLSTM2D: `filters` must be a positive integer"):
        keras.layers.ConvLSTM2D(0, 3)
    with pytest.raises(ValueError, match="padding"):
        keras.layers.ConvLSTM1D(2, 3, padding="causal")
    with pytest.raises(ValueError, match="dilation_rate"):
        keras.layers.ConvLSTM2D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="kernel_size"):
        keras.layers.ConvLSTM3D(2, (3, 3))
    with pytest.raises(ValueError, match=r"initial_state\[0\] has shape"):
        keras.layers.ConvLSTM1D(2, 3)(_x((2, 3, 6, 1)), initial_state=[_x((2, 6, 2)),
                                                                      _x((2, 4, 2))])
