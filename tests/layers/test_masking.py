"""Masks end to end, as Keras 3 propagates them: Embedding(mask_zero=True) and Masking make
them, Layer.__call__ passes them to `call(..., mask=)` and attaches `compute_mask`'s
result to the outputs (eagerly, inside jit, through Sequential and Functional models),
and recurrent layers, GlobalAveragePooling1D, TimeDistributed and merge layers consume
them. Keras 3 is the oracle for every value."""
import jax
import jax.numpy as jnp
import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle.core import masks

RTOL, ATOL = 1e-5, 1e-5


def _ids(shape=(4, 6), vocab=9, seed=0):
    ids = np.random.default_rng(seed).integers(1, vocab, size=shape).astype("int32")
    ids[0, 4:] = 0            # right padding
    ids[1, :3] = 0            # left padding
    ids[2, 2] = 0             # a hole
    return ids


def _copy(ours, theirs, seed=1):
    rng = np.random.default_rng(seed)
    weights = [rng.uniform(-0.5, 0.5, w.shape).astype("float32") for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)


def _keras_mask(x):
    return k3.backend.get_keras_mask(x) if hasattr(k3.backend, "get_keras_mask") else \
        getattr(x, "_keras_mask", None)


def test_embedding_mask_zero_and_masking_layer_masks_match_keras():
    ids = _ids()
    emb = keras.layers.Embedding(9, 3, mask_zero=True)
    out = emb(ids)
    np.testing.assert_array_equal(np.asarray(masks.get_keras_mask(out)), ids != 0)
    assert masks.get_keras_mask(keras.layers.Embedding(9, 3)(ids)) is None

    x = np.random.default_rng(0).standard_normal((3, 5, 2)).astype("float32")
    x[0, 3:] = 0.0
    x[1, 1] = 0.5
    ours, theirs = keras.layers.Masking(0.5), k3.layers.Masking(0.5)
    y, ky = ours(x), theirs(x)
    np.testing.assert_allclose(np.asarray(y), np.asarray(ky))
    np.testing.assert_array_equal(np.asarray(masks.get_keras_mask(y)),
                                  np.asarray(_keras_mask(ky)))
    assert ours.get_config() == {**ours.get_config(), **{"mask_value": 0.5}}
    assert set(ours.get_config()) == set(theirs.get_config())


def _sequential(lib, kind="LSTM"):
    return lib.Sequential([
        lib.Input((6,), dtype="int32"),
        lib.layers.Embedding(9, 4, mask_zero=True),
        lib.layers.Dropout(0.1),
        getattr(lib.layers, kind)(5),
        lib.layers.Dense(1, activation="sigmoid"),
    ])


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_sequential_embedding_rnn_matches_keras(kind):
    ids = _ids()
    ours, theirs = _sequential(keras, kind), _sequential(k3, kind)
    _copy(ours, theirs)
    expected = np.asarray(theirs(ids))
    np.testing.assert_allclose(np.asarray(ours(ids)), expected, rtol=RTOL, atol=ATOL)
    # compiled (predict) and inside a user jit: the mask travels on tracers too
    np.testing.assert_allclose(ours.predict(ids, verbose=0), expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np.asarray(jax.jit(lambda a: ours(a))(ids)), expected,
                               rtol=RTOL, atol=ATOL)
    # and the mask matters: without it the padded steps change the result
    unmasked = _sequential(keras, kind)
    unmasked.layers[0].mask_zero = False
    unmasked.set_weights(ours.get_weights())
    assert not np.allclose(np.asarray(unmasked(ids)), expected, atol=1e-4)


def _functional(lib):
    ids = lib.Input((6,), dtype="int32")
    emb = lib.layers.Embedding(9, 4, mask_zero=True)(ids)
    seq = lib.layers.Bidirectional(lib.layers.GRU(3, return_sequences=True))(emb)
    other = lib.layers.TimeDistributed(lib.layers.Dense(2))(emb)
    both = lib.layers.Concatenate()([seq, other])
    pooled = lib.layers.GlobalAveragePooling1D()(both)
    last = lib.layers.LSTM(2)(both)
    out = lib.layers.Dense(1)(lib.layers.Concatenate()([pooled, last]))
    return lib.Model(ids, out)


def test_functional_masks_through_wrappers_merges_and_pooling_match_keras():
    ids = _ids()
    ours, theirs = _functional(keras), _functional(k3)
    _copy(ours, theirs)
    expected = np.asarray(theirs(ids))
    np.testing.assert_allclose(np.asarray(ours(ids)), expected, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(ours.predict(ids, verbose=0), expected, rtol=RTOL, atol=ATOL)


def test_masking_layer_before_rnn_matches_keras():
    x = np.random.default_rng(3).standard_normal((3, 5, 2)).astype("float32")
    x[0, 3:] = 0.0
    x[2, :2] = 0.0

    def build(lib):
        return lib.Sequential([lib.Input((5, 2)), lib.layers.Masking(),
                               lib.layers.SimpleRNN(3, return_sequences=True),
                               lib.layers.GlobalAveragePooling1D()])

    ours, theirs = build(keras), build(k3)
    _copy(ours, theirs)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=RTOL,
                               atol=ATOL)


def test_global_average_pooling_1d_with_mask_matches_keras():
    x = np.random.default_rng(0).standard_normal((3, 5, 4)).astype("float32")
    mask = _ids((3, 5)) != 0
    for data_format, keepdims in [("channels_last", False), ("channels_first", True)]:
        ours = keras.layers.GlobalAveragePooling1D(data_format=data_format, keepdims=keepdims)
        theirs = k3.layers.GlobalAveragePooling1D(data_format=data_format, keepdims=keepdims)
        xin = x if data_format == "channels_last" else np.swapaxes(x, 1, 2)
        np.testing.assert_allclose(np.asarray(ours(xin, mask=mask)),
                                   np.asarray(theirs(xin, mask=mask)), rtol=RTOL, atol=ATOL)
        assert masks.get_keras_mask(ours(xin, mask=mask)) is None


def test_merge_layer_masks_match_keras():
    a = np.random.default_rng(0).standard_normal((3, 4, 2)).astype("float32")
    b = np.random.default_rng(1).standard_normal((3, 4, 2)).astype("float32")
    ma, mb = _ids((3, 4)) != 0, _ids((3, 4), seed=5)[::-1] != 0
    for cls in ("Add", "Concatenate"):
        ours, theirs = getattr(keras.layers, cls)(), getattr(k3.layers, cls)()
        for m in ([ma, mb], [ma, None]):
            got = ours.compute_mask([a, b], m)
            want = theirs.compute_mask([a, b], m)
            if want is None:
                assert got is None
            else:
                np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_layer_passes_mask_only_to_calls_that_take_it():
    seen = {}

    class TakesMask(keras.layers.Layer):
        def call(self, inputs, mask=None):
            seen["mask"] = mask
            return inputs * 2

    class NoMask(keras.layers.Layer):
        def call(self, inputs):
            return inputs + 1

    class KeepsMask(NoMask):
        def __init__(self):
            super().__init__()
            self.supports_masking = True

    ids = _ids()
    emb = keras.layers.Embedding(9, 2, mask_zero=True)(ids)
    TakesMask()(emb)
    np.testing.assert_array_equal(np.asarray(seen["mask"]), ids != 0)
    assert masks.get_keras_mask(NoMask()(emb)) is None          # not supports_masking
    kept = KeepsMask()(emb)
    np.testing.assert_array_equal(np.asarray(masks.get_keras_mask(kept)), ids != 0)
    explicit = np.zeros_like(ids, bool)
    TakesMask()(emb, mask=explicit)                              # an explicit mask wins
    np.testing.assert_array_equal(np.asarray(seen["mask"]), explicit)
    assert not NoMask().supports_masking and keras.layers.Embedding(2, 2).supports_masking


def test_rnn_output_masks_follow_keras():
    ids = _ids()
    emb = keras.layers.Embedding(9, 2, mask_zero=True)(ids)
    seq, h, c = keras.layers.LSTM(3, return_sequences=True, return_state=True)(emb)
    np.testing.assert_array_equal(np.asarray(masks.get_keras_mask(seq)), ids != 0)
    assert masks.get_keras_mask(h) is None and masks.get_keras_mask(c) is None
    assert masks.get_keras_mask(keras.layers.GRU(3)(emb)) is None
    td = keras.layers.TimeDistributed(keras.layers.Dense(2))(emb)
    np.testing.assert_array_equal(np.asarray(masks.get_keras_mask(td)), ids != 0)


def test_masked_keras_model_loads_with_same_predictions(tmp_path):
    ids = _ids()
    theirs = _sequential(k3, "GRU")
    theirs.save(tmp_path / "k.keras")
    loaded = keras.models.load_model(tmp_path / "k.keras")
    assert loaded.layers[0].mask_zero
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), np.asarray(theirs(ids)),
                               rtol=RTOL, atol=ATOL)


def test_masked_model_saves_and_loads(tmp_path):
    ids = _ids()
    model = _sequential(keras, "GRU")
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.layers[0].mask_zero
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0),
                               rtol=1e-6)


def test_course_padded_sequences_train_with_embedding_lstm():
    # Label: does token 7 occur in the (variable-length, zero-padded) sequence?
    rng = np.random.default_rng(0)
    n, steps = 256, 10
    ids = rng.integers(1, 7, size=(n, steps))
    lengths = rng.integers(3, steps + 1, size=n)
    y = (rng.random(n) < 0.5).astype("float32")
    for i in range(n):
        if y[i]:
            ids[i, rng.integers(0, lengths[i])] = 7
        ids[i, lengths[i]:] = 0
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.layers.Embedding(8, 8, mask_zero=True),
        keras.layers.LSTM(8),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(ids, y, epochs=10, batch_size=32, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.6 * losses[0], losses
    assert history.history["accuracy"][-1] > 0.85


def _tagger(lib):
    # a sequence tagger whose output carries the Embedding's mask to the loss
    return lib.Sequential([
        lib.Input((6,), dtype="int32"),
        lib.layers.Embedding(9, 4, mask_zero=True),
        lib.layers.GRU(5, return_sequences=True),
        lib.layers.TimeDistributed(lib.layers.Dense(3, activation="softmax")),
    ])


def test_loss_ignores_masked_steps_as_keras():
    ids = _ids()
    labels = np.random.default_rng(2).integers(0, 3, size=ids.shape).astype("int32")
    ours, theirs = _tagger(keras), _tagger(k3)
    _copy(ours, theirs)
    for model in (ours, theirs):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    expected = theirs.evaluate(ids, labels, verbose=0)      # [loss, accuracy]
    np.testing.assert_allclose(ours.evaluate(ids, labels, verbose=0), expected, rtol=1e-5)
    # the targets at padded steps do not matter, for the loss or the metric
    other = np.where(ids == 0, (labels + 1) % 3, labels)
    np.testing.assert_allclose(ours.evaluate(ids, other, verbose=0), expected, rtol=1e-5)
    # and one training step moves the weights as Keras's does
    ours.fit(ids, labels, batch_size=4, epochs=1, verbose=0, shuffle=False)
    theirs.fit(ids, labels, batch_size=4, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_companion_masks_fill_like_keras():
    # Keras 3 fills `x_mask` from the mask attached to argument `x` (attention layers' query_mask)
    seen = {}

    class Attend(keras.layers.Layer):
        def call(self, query, value, query_mask=None, value_mask=None):
            seen.update(query_mask=query_mask, value_mask=value_mask)
            return query

    ids_q, ids_v = _ids(), _ids(seed=3)
    emb = keras.layers.Embedding(9, 2, mask_zero=True)
    q, v = emb(ids_q), emb(ids_v)
    Attend()(q, v)
    np.testing.assert_array_equal(np.asarray(seen["query_mask"]), ids_q != 0)
    np.testing.assert_array_equal(np.asarray(seen["value_mask"]), ids_v != 0)
    Attend()(q, value=np.ones((4, 6, 2), "float32"))
    assert seen["value_mask"] is None
    given = np.ones_like(ids_q, bool)
    Attend()(q, v, given)                                   # passed positionally: kept
    assert seen["query_mask"] is given


@pytest.mark.parametrize("merge", ["Multiply", "Maximum", "Minimum", "Average"])
def test_merge_values_with_masks_match_keras(merge):
    ids_a, ids_b = _ids(), _ids(seed=4)
    ids_b[3, :2] = 0

    def build(lib, both_masked):
        a, b = lib.Input((6,), dtype="int32"), lib.Input((6,), dtype="int32")
        ea = lib.layers.Embedding(9, 3, mask_zero=True)(a)
        eb = lib.layers.Embedding(9, 3, mask_zero=both_masked)(b)
        merged = getattr(lib.layers, merge)()([ea, eb])
        return lib.Model([a, b], [merged, lib.layers.GlobalAveragePooling1D()(merged)])

    for both_masked in (True, False):
        ours, theirs = build(keras, both_masked), build(k3, both_masked)
        _copy(ours, theirs)
        for got, want in zip(ours([ids_a, ids_b]), theirs([ids_a, ids_b])):
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=RTOL,
                                       atol=ATOL)


def test_models_take_mask_argument_and_pass_masks_to_nested_models_as_keras():
    x = np.random.default_rng(0).standard_normal((4, 6, 3)).astype("float32")
    mask = _ids() != 0

    def seq(lib):
        return lib.Sequential([lib.Input((6, 3)), lib.layers.GRU(4, return_sequences=True),
                               lib.layers.GlobalAveragePooling1D()])

    def func(lib):
        inp = lib.Input((6, 3))
        return lib.Model(inp, lib.layers.LSTM(2)(inp))

    for build in (seq, func):
        ours, theirs = build(keras), build(k3)
        _copy(ours, theirs)
        np.testing.assert_allclose(np.asarray(ours(x, mask=mask)),
                                   np.asarray(theirs(x, mask=mask)), rtol=RTOL, atol=ATOL)

    def nested(lib):
        ids = lib.Input((6,), dtype="int32")
        emb = lib.layers.Embedding(9, 3, mask_zero=True)(ids)
        inner = lib.Sequential([lib.Input((6, 3)), lib.layers.LSTM(2)])
        return lib.Model(ids, inner(emb))

    ours, theirs = nested(keras), nested(k3)
    _copy(ours, theirs)
    ids = _ids()
    np.testing.assert_allclose(np.asarray(ours(ids)), np.asarray(theirs(ids)), rtol=RTOL,
                               atol=ATOL)
