"""StringLookup, IntegerLookup, Hashing, CategoryEncoding, Discretization.

CategoryEncoding and Discretization run in Keras 3 without TensorFlow: they are compared
with it directly (Discretization's `adapt` with Keras's own quantile-summary functions,
since its `adapt` needs TensorFlow). The lookups and Hashing need TensorFlow in Keras 3,
so they are checked against re-derivations of the documented semantics written here, and
Hashing against FarmHash itself (pyfarmhash, when installed), the Keras docstring's
values and the SipHash-2-4 reference vector.
"""
import collections
import importlib.util

import keras as k3
import numpy as np
import pytest
from keras.src.layers.preprocessing import discretization as k3_disc

import gazelle as keras
from gazelle.layers.preprocessing import categorical


# -- CategoryEncoding / Discretization: Keras 3 as oracle --------------------------------
@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("shape", [(5,), (4, 1), (3, 4)])
def test_category_encoding_matches_keras(mode, shape):
    ids = np.random.default_rng(0).integers(0, 6, shape)
    ours = keras.layers.CategoryEncoding(num_tokens=6, output_mode=mode)
    ref = k3.layers.CategoryEncoding(num_tokens=6, output_mode=mode)
    np.testing.assert_array_equal(np.asarray(ours(ids)), np.asarray(ref(ids)))
    assert ours.compute_output_shape(shape) == ref.compute_output_shape(shape)


def test_category_encoding_count_weights_and_errors():
    ids = np.array([[0, 1, 1], [2, 2, 3]])
    w = np.array([[0.5, 1.0, 2.0], [1.0, 1.0, 3.0]], "float32")
    ours = keras.layers.CategoryEncoding(4, output_mode="count")
    ref = k3.layers.CategoryEncoding(4, output_mode="count")
    np.testing.assert_allclose(np.asarray(ours(ids, count_weights=w)),
                               np.asarray(ref(ids, count_weights=w)))
    with pytest.raises(ValueError, match="num_tokens"):
        keras.layers.CategoryEncoding()
    with pytest.raises(ValueError, match="output_mode"):
        keras.layers.CategoryEncoding(3, output_mode="tf_idf")


@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
def test_discretization_matches_keras(mode):
    x = np.random.default_rng(1).normal(size=(6, 3)).astype("float32")
    bounds = [-1.0, 0.0, 0.5, 1.0]
    ours = keras.layers.Discretization(bin_boundaries=bounds, output_mode=mode)
    ref = k3.layers.Discretization(bin_boundaries=bounds, output_mode=mode)
    np.testing.assert_array_equal(np.asarray(ours(x)), np.asarray(ref(x)))


@pytest.mark.parametrize("num_bins,epsilon", [(4, 0.01), (3, 0.1)])
def test_discretization_adapt_matches_keras_summaries(num_bins, epsilon):
    rng = np.random.default_rng(2)
    batches = [rng.exponential(size=(300,)).astype("float32") for _ in range(3)]
    summary = np.array([[], []], "float32")
    for b in batches:
        summary = k3_disc.merge_summaries(k3_disc.summarize(b, epsilon), summary, epsilon)
    expected = k3_disc.get_bin_boundaries(summary, num_bins).tolist()
    layer = keras.layers.Discretization(num_bins=num_bins, epsilon=epsilon)
    layer.adapt(iter(batches))
    np.testing.assert_allclose(layer.bin_boundaries, expected, rtol=1e-6)
    single = keras.layers.Discretization(num_bins=num_bins, epsilon=epsilon)
    single.adapt(batches[0])
    np.testing.assert_allclose(single.bin_boundaries, k3_disc.get_bin_boundaries(
        k3_disc.merge_summaries(k3_disc.summarize(batches[0], epsilon),
                                np.array([[], []], "float32"), epsilon), num_bins), rtol=1e-6)
    clone = keras.layers.Discretization.from_config(layer.get_config())
    np.testing.assert_array_equal(np.asarray(clone(batches[1])), np.asarray(layer(batches[1])))


def test_discretization_errors():
    with pytest.raises(ValueError, match="num_bins"):
        keras.layers.Discretization()
    with pytest.raises(ValueError, match="not both"):
        keras.layers.Discretization(bin_boundaries=[0.0], num_bins=2)
    with pytest.raises(ValueError, match="cannot be adapted"):
        keras.layers.Discretization(bin_boundaries=[0.0]).adapt(np.ones(3))


# -- lookups: re-derived semantics --------------------------------------------------------
def _ref_adapt(tokens, max_tokens=None, start=1, key=lambda t: t):
    counts = collections.Counter(tokens)
    order = sorted(counts, key=lambda t: (counts[t], key(t)), reverse=True)
    return order if max_tokens is None else order[:max_tokens - start]


def test_string_lookup_adapt_order_and_ids():
    data = np.array([["b", "a", "c"], ["a", "d", "b"], ["e", "a", "c"]])
    layer = keras.layers.StringLookup()
    layer.adapt(data)
    vocab = _ref_adapt(data.ravel().tolist(), key=str.encode)
    assert layer.get_vocabulary() == ["[UNK]"] + vocab
    index = {t: i + 1 for i, t in enumerate(vocab)}
    x = np.array([["a", "zz"], ["e", "b"]])
    expected = np.vectorize(lambda t: index.get(t, 0))(x)
    out = layer(x)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, expected)
    layer = keras.layers.StringLookup(max_tokens=3)
    layer.adapt(data)
    assert layer.get_vocabulary() == ["[UNK]"] + vocab[:2]


def test_string_lookup_mask_invert_and_modes():
    layer = keras.layers.StringLookup(vocabulary=["a", "b", "c"], mask_token="")
    assert layer.get_vocabulary() == ["", "[UNK]", "a", "b", "c"]
    np.testing.assert_array_equal(layer(np.array([["a", ""], ["q", "c"]])), [[2, 0], [1, 4]])
    inv = keras.layers.StringLookup(vocabulary=["a", "b", "c"], mask_token="", invert=True)
    assert inv(np.array([[2, 0], [1, 4]])).tolist() == [["a", ""], ["[UNK]", "c"]]
    x = np.array([["a", "c", "c"], ["q", "b", "a"]])
    for mode in ("multi_hot", "count", "one_hot"):
        out = keras.layers.StringLookup(vocabulary=["a", "b", "c"], output_mode=mode)(x)
        index = {"a": 1, "b": 2, "c": 3}
        ids = np.vectorize(lambda t: index.get(t, 0))(x)
        onehot = np.eye(4)[ids]
        expected = {"one_hot": onehot, "multi_hot": onehot.max(1), "count": onehot.sum(1)}[mode]
        np.testing.assert_array_equal(out, expected)
    tfidf = keras.layers.StringLookup(vocabulary=["a", "b", "c"], output_mode="tf_idf",
                                      idf_weights=[0.5, 0.25, 2.0])
    np.testing.assert_allclose(tfidf(x)[0], [0, 0.5, 0, 4.0])
    np.testing.assert_allclose(tfidf(x)[1], [np.mean([0.5, 0.25, 2.0]), 0.5, 0.25, 0])


def test_string_lookup_multiple_oov_uses_farmhash():
    layer = keras.layers.StringLookup(vocabulary=["a"], num_oov_indices=3)
    words = ["x", "yy", "zzz", "a"]
    expected = [categorical.fingerprint64(w.encode()) % 3 for w in words[:3]] + [3]
    assert layer(np.array(words)).tolist() == expected


def test_integer_lookup():
    layer = keras.layers.IntegerLookup()
    data = np.array([12, 36, 1138, 36, 12, 12, 42])
    layer.adapt(data)
    vocab = _ref_adapt(data.tolist())
    assert layer.get_vocabulary() == [-1] + vocab
    index = {t: i + 1 for i, t in enumerate(vocab)}
    x = np.array([[12, 7], [42, 1138]])
    np.testing.assert_array_equal(layer(x), np.vectorize(lambda t: index.get(t, 0))(x))
    floormod = keras.layers.IntegerLookup(vocabulary=[5], num_oov_indices=2, mask_token=0)
    np.testing.assert_array_equal(floormod(np.array([0, 5, 7, -4])), [0, 3, 1 + 7 % 2, 1])
    inv = keras.layers.IntegerLookup(vocabulary=[12, 36], invert=True)
    np.testing.assert_array_equal(inv(np.array([1, 2, 0])), [12, 36, -1])
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        keras.layers.IntegerLookup(vocabulary=[1], num_oov_indices=0)(np.array([2]))
    with pytest.raises(ValueError, match="salt"):
        keras.layers.IntegerLookup(salt=3)


def test_lookup_config_round_trip(tmp_path):
    layer = keras.layers.StringLookup(mask_token="", num_oov_indices=2)
    layer.adapt(np.array(["x", "y", "y", "z"]))
    clone = keras.layers.StringLookup.from_config(layer.get_config())
    x = np.array([["y", "q", ""], ["z", "x", "w"]])
    np.testing.assert_array_equal(clone(x), layer(x))
    model = keras.Sequential([keras.layers.IntegerLookup(vocabulary=[3, 1, 4]),
                              keras.layers.CategoryEncoding(4, output_mode="count")])
    ids = np.array([[3, 1, 1], [9, 4, 4]])
    expected = np.asarray(model(ids))
    model.save(tmp_path / "lookup.keras")
    loaded = keras.models.load_model(tmp_path / "lookup.keras")
    np.testing.assert_array_equal(np.asarray(loaded(ids)), expected)


def test_string_lookup_rejects_numbers_by_name():
    with pytest.raises(TypeError, match="string_lookup.*IntegerLookup"):
        keras.layers.StringLookup(vocabulary=["a"], name="string_lookup_x")(np.array([1, 2]))


def test_keras3_lookups_need_tensorflow():
    if importlib.util.find_spec("tensorflow") is not None:
        pytest.skip("TensorFlow is installed: Keras 3 runs the layer")
    with pytest.raises(ImportError):
        k3.layers.StringLookup()


# -- Hashing -------------------------------------------------------------------------------
def test_fingerprint64_matches_farmhash():
    farmhash = pytest.importorskip("farmhash")
    rng = np.random.default_rng(3)
    for n in list(range(0, 140)) + [255, 256, 1000]:
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert categorical.fingerprint64(data) == farmhash.fingerprint64(data)


def test_siphash_reference_vector():
    # SipHash-2-4 paper, appendix A: key 00..0f, empty message.
    key = (int.from_bytes(bytes(range(8)), "little"), int.from_bytes(bytes(range(8, 16)), "little"))
    assert categorical.siphash24(b"", key) == 0x726FDB47DD0E0E31
    assert categorical.siphash24(bytes(range(15)), key) == int.from_bytes(
        bytes.fromhex("e545be4961ca29a1"), "little")


def test_hashing_values_from_keras_docs():
    inp = np.array([["A"], ["B"], ["C"], ["D"], ["E"]])
    assert keras.layers.Hashing(num_bins=3)(inp).ravel().tolist() == [1, 0, 1, 1, 2]
    assert keras.layers.Hashing(3, salt=[133, 137])(inp).ravel().tolist() == [1, 2, 1, 0, 2]
    assert keras.layers.Hashing(3, salt=133)(inp).ravel().tolist() == [0, 0, 2, 1, 0]
    masked = keras.layers.Hashing(3, mask_value="")(np.array([["A"], ["B"], [""], ["C"], ["D"]]))
    assert masked.ravel().tolist() == [1, 1, 0, 2, 2]


def test_hashing_integers_modes_and_config():
    ints = np.array([[1, 22], [333, 1]])
    layer = keras.layers.Hashing(num_bins=7)
    expected = np.vectorize(lambda v: categorical.fingerprint64(str(v).encode()) % 7)(ints)
    np.testing.assert_array_equal(layer(ints), expected)
    counts = keras.layers.Hashing(num_bins=7, output_mode="count")(ints)
    np.testing.assert_array_equal(counts, np.eye(7)[expected].sum(1))
    clone = keras.layers.Hashing.from_config(layer.get_config())
    np.testing.assert_array_equal(clone(ints), layer(ints))
    with pytest.raises(ValueError, match="num_bins"):
        keras.layers.Hashing(num_bins=0)


@pytest.mark.parametrize("kwargs", [{}, {"mask_token": 0},
                                    {"num_oov_indices": 3, "output_mode": "count"},
                                    {"output_mode": "multi_hot", "pad_to_max_tokens": True,
                                     "max_tokens": 9}])
def test_integer_lookup_compiles_and_matches_host(kwargs):
    import jax
    layer = keras.layers.IntegerLookup(vocabulary=[12, 36, 1138, 7], **kwargs)
    x = np.array([[12, 0, 7, 5], [1138, 36, 99, -3]])
    np.testing.assert_array_equal(np.asarray(jax.jit(layer)(x)), layer(x))


@pytest.mark.filterwarnings("ignore:unscaled_input")
def test_integer_lookup_first_in_a_trained_model():
    model = keras.Sequential([keras.Input(shape=(3,), dtype="int32"),
                              keras.layers.IntegerLookup(vocabulary=[12, 36, 1138]),
                              keras.layers.Embedding(4, 2), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.array([[12, 36, 5], [1138, 1138, 12]] * 4)
    model.fit(x, np.ones(8), epochs=1, verbose=0)
    ids = model.layers[0](x)
    dense_in = np.asarray(model.layers[2](model.layers[1](ids)))
    np.testing.assert_allclose(model.predict(x, verbose=0),
                               np.asarray(model.layers[3](dense_in)), rtol=1e-5, atol=1e-6)


def test_keras_asset_hooks_round_trip(tmp_path):
    layer = keras.layers.StringLookup(output_mode="tf_idf")
    layer.adapt(np.array([["a", "b"], ["b", "c"]]))
    layer.save_assets(str(tmp_path))
    store = {}
    layer.save_own_variables(store)
    assert (tmp_path / "vocabulary.txt").read_text() == "\n".join(layer.get_vocabulary())
    fresh = keras.layers.StringLookup(output_mode="tf_idf")
    fresh.load_own_variables(store)
    fresh.load_assets(str(tmp_path))
    x = np.array([["b", "q", "a"]])
    np.testing.assert_allclose(fresh(x), layer(x))


def test_tf_idf_documents_of_adapt():
    # A 1D array: every token is a document; a 1D batch from an iterable: one document.
    tokens = np.array(["a", "a", "b", "c"])
    whole = keras.layers.StringLookup(output_mode="tf_idf")
    whole.adapt(tokens)
    idf = {t: np.log(1 + 4 / (1 + df)) for t, df in {"a": 2, "b": 1, "c": 1}.items()}
    vocab = whole.get_vocabulary()
    np.testing.assert_allclose(whole.idf_weights[1:], [idf[t] for t in vocab[1:]], rtol=1e-6)
    batched = keras.layers.StringLookup(output_mode="tf_idf")
    batched.adapt(iter([tokens[:2], tokens[2:]]))
    idf = {t: np.log(1 + 2 / (1 + df)) for t, df in {"a": 1, "b": 1, "c": 1}.items()}
    vocab = batched.get_vocabulary()
    np.testing.assert_allclose(batched.idf_weights[1:], [idf[t] for t in vocab[1:]], rtol=1e-6)


def test_discretization_and_hashing_keras_file_round_trip(tmp_path):
    disc = keras.layers.Discretization(num_bins=4)
    disc.adapt(np.random.default_rng(5).normal(size=200).astype("float32"))
    model = keras.Sequential([disc, keras.layers.CategoryEncoding(4, output_mode="one_hot")])
    x = np.array([-2.0, -0.1, 0.2, 3.0], "float32")
    expected = np.asarray(model(x))
    model.save(tmp_path / "disc.keras")
    loaded = keras.models.load_model(tmp_path / "disc.keras")
    assert loaded.layers[0].bin_boundaries == disc.bin_boundaries
    np.testing.assert_array_equal(np.asarray(loaded(x)), expected)
    hashing = keras.Sequential([keras.layers.Hashing(num_bins=5, salt=7, output_mode="count")])
    words = np.array([["a", "b", "a"], ["c", "d", "e"]])
    expected = hashing(words)
    hashing.save(tmp_path / "hash.keras")
    np.testing.assert_array_equal(keras.models.load_model(tmp_path / "hash.keras")(words),
                                  expected)
