"""TextVectorization: vocabulary order, ids, modes, config and .keras round trip.

Keras 3's TextVectorization needs TensorFlow (not installed: it raises ImportError), so
the oracle here is a re-derivation of TensorFlow's documented text semantics written in
this file: ASCII lowercasing, ASCII punctuation stripping, ASCII whitespace split,
vocabulary by descending count then descending token, "" = 0 and "[UNK]" = 1 in "int"
mode, "[UNK]" = 0 in the vector modes, idf = log(1 + N / (1 + df)).
"""
import collections
import importlib.util
import math
import string

import keras as k3
import numpy as np
import pytest

import gazelle as keras

TEXTS = ["The cat sat on the mat.", "the dog, the cat & THE bird!", "a b b  c\tc\nc",
         "Éclair café, déjà-vu", "it's 42 (really)"]


def _ref_tokens(text, lower=True, strip=True):
    if lower:
        text = "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)
    if strip:
        text = "".join(c for c in text if c not in string.punctuation)
    return [t for t in text.replace("\t", " ").replace("\n", " ").split(" ") if t]


def _ref_vocab(texts, max_tokens=None, start=2, **kw):
    counts = collections.Counter(t for s in texts for t in _ref_tokens(s, **kw))
    order = sorted(counts, key=lambda t: (-counts[t], [-b for b in t.encode()] + [1]))
    return order[:None if max_tokens is None else max_tokens - start]


def _ref_ids(texts, vocab, length=None):
    index = {t: i + 2 for i, t in enumerate(vocab)}
    rows = [[index.get(t, 1) for t in _ref_tokens(s)] for s in texts]
    width = length if length is not None else max(map(len, rows))
    return np.array([(r + [0] * width)[:width] for r in rows])


def test_keras3_needs_tensorflow():
    if importlib.util.find_spec("tensorflow") is not None:
        pytest.skip("TensorFlow is installed: Keras 3 runs the layer")
    # Documents why the oracle is a re-derivation: Keras 3 cannot run this layer here.
    with pytest.raises(ImportError):
        k3.layers.TextVectorization()


@pytest.mark.parametrize("max_tokens", [None, 6])
def test_adapt_vocabulary_and_ids(max_tokens):
    layer = keras.layers.TextVectorization(max_tokens=max_tokens)
    layer.adapt(np.array(TEXTS))
    vocab = _ref_vocab(TEXTS, max_tokens)
    assert layer.get_vocabulary() == ["", "[UNK]"] + vocab
    assert layer.get_vocabulary(include_special_tokens=False) == vocab
    assert layer.vocabulary_size() == len(vocab) + 2
    out = layer(np.array(TEXTS))
    assert isinstance(out, np.ndarray) and out.dtype == np.int64
    np.testing.assert_array_equal(out, _ref_ids(TEXTS, vocab))


def test_adapt_from_list_generator_and_rank2():
    ref = keras.layers.TextVectorization()
    ref.adapt(np.array(TEXTS))
    for data in (TEXTS, np.array(TEXTS)[:, None],
                 (np.array(TEXTS[i:i + 2]) for i in range(0, len(TEXTS), 2))):
        layer = keras.layers.TextVectorization()
        layer.adapt(data)
        assert layer.get_vocabulary() == ref.get_vocabulary()
    np.testing.assert_array_equal(ref(np.array(TEXTS)[:, None]), ref(TEXTS))


def test_output_sequence_length_pads_and_cuts():
    layer = keras.layers.TextVectorization(output_sequence_length=3)
    layer.adapt(TEXTS)
    vocab = _ref_vocab(TEXTS)
    np.testing.assert_array_equal(layer(TEXTS), _ref_ids(TEXTS, vocab, 3))
    assert layer(["zzz"]).tolist() == [[1, 0, 0]]
    assert layer.compute_output_shape((None,)) == (None, 3)


def test_standardize_and_split_options():
    lower = keras.layers.TextVectorization(standardize="lower", split="character")
    lower.adapt(["AbA", "b!"])
    counts = collections.Counter("aba" + "b!")
    assert lower.get_vocabulary()[2:] == sorted(counts, key=lambda c: (-counts[c], -ord(c)))
    # None standardization keeps case and punctuation; a callable split is used as given.
    raw = keras.layers.TextVectorization(standardize=None,
                                         split=lambda a: [s.split("|") for s in a])
    raw.adapt(["A|b.", "A|x"])
    assert raw.get_vocabulary() == ["", "[UNK]", "A", "x", "b."]
    upper = keras.layers.TextVectorization(standardize=np.char.upper)
    upper.adapt(["ab cd", "ab"])
    assert upper.get_vocabulary() == ["", "[UNK]", "AB", "CD"]
    # Non-ASCII letters are not lowercased (TensorFlow's strings.lower without encoding).
    assert "Éclair" in keras.layers.TextVectorization(vocabulary=["x"])._preprocess(
        np.array(["Éclair"]))[0]


def test_ngrams_multi_hot_count_tf_idf():
    docs = ["a b a", "b c", "c c d"]
    layer = keras.layers.TextVectorization(ngrams=2, output_mode="count")
    layer.adapt(docs)
    grams = [[*r, *[" ".join(p) for p in zip(r, r[1:])]] for r in (d.split() for d in docs)]
    counts = collections.Counter(g for r in grams for g in r)
    vocab = sorted(counts, key=lambda t: (-counts[t], [-b for b in t.encode()] + [1]))
    assert layer.get_vocabulary() == ["[UNK]"] + vocab
    index = {t: i + 1 for i, t in enumerate(vocab)}
    expected = np.zeros((3, len(vocab) + 1), "float32")
    for i, r in enumerate(grams):
        for g in r:
            expected[i, index[g]] += 1
    np.testing.assert_array_equal(layer(docs), expected)
    multi = keras.layers.TextVectorization(output_mode="multi_hot", max_tokens=5,
                                           pad_to_max_tokens=True)
    multi.adapt(docs)
    out = multi(["a z a"])
    assert out.shape == (1, 5) and out[0].tolist() == [1, 0, 0, 1, 0]  # [UNK], c, b, a, d
    tfidf = keras.layers.TextVectorization(output_mode="tf_idf")
    tfidf.adapt(docs)
    df = {"a": 1, "b": 2, "c": 2, "d": 1}
    voc = tfidf.get_vocabulary()
    idf = {t: math.log(1 + 3 / (1 + df[t])) for t in df}
    out = tfidf(["c c q"])[0]
    assert out[voc.index("c")] == pytest.approx(2 * idf["c"], rel=1e-6)
    assert out[0] == pytest.approx(np.mean([idf[t] for t in voc[1:]]), rel=1e-6)


def test_fixed_vocabulary_and_errors():
    layer = keras.layers.TextVectorization(vocabulary=["cat", "the"])
    assert layer(["the cat x"]).tolist() == [[3, 2, 1]]
    with pytest.raises(ValueError, match="fixed vocabulary"):
        layer.adapt(["a"])
    layer.set_vocabulary(["", "[UNK]", "x"])
    assert layer(["x y"]).tolist() == [[2, 1]]
    with pytest.raises(ValueError, match="output_mode"):
        keras.layers.TextVectorization(output_mode="bag")
    with pytest.raises(ValueError, match="output_sequence_length"):
        keras.layers.TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(ValueError, match="standardize"):
        keras.layers.TextVectorization(standardize="upper")
    with pytest.raises(ValueError, match="rank"):
        layer(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="repeated"):
        keras.layers.TextVectorization(vocabulary=["a", "a"])


def test_config_round_trip_keeps_adapted_vocabulary(tmp_path):
    layer = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=6, ngrams=(1, 2))
    layer.adapt(TEXTS)
    config = layer.get_config()
    for key in ("max_tokens", "standardize", "split", "ngrams", "output_mode",
                "output_sequence_length", "pad_to_max_tokens", "sparse", "ragged",
                "vocabulary", "idf_weights", "encoding", "vocabulary_size"):
        assert key in config
    clone = keras.layers.TextVectorization.from_config(config)
    np.testing.assert_array_equal(clone(TEXTS), layer(TEXTS))

    model = keras.Sequential([layer, keras.layers.Embedding(20, 4),
                              keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1)])
    expected = np.asarray(model(np.array(TEXTS)))
    model.save(tmp_path / "text.keras")
    loaded = keras.models.load_model(tmp_path / "text.keras")
    assert loaded.layers[0].get_vocabulary() == layer.get_vocabulary()
    np.testing.assert_allclose(np.asarray(loaded(np.array(TEXTS))), expected, rtol=1e-6)


def test_tf_idf_round_trip():
    layer = keras.layers.TextVectorization(output_mode="tf_idf")
    layer.adapt(TEXTS)
    clone = keras.layers.TextVectorization.from_config(layer.get_config())
    np.testing.assert_allclose(clone(TEXTS), layer(TEXTS), rtol=1e-6)


@pytest.mark.filterwarnings("ignore:unscaled_input")
def test_rt_polarity_course_pipeline():
    """TextVectorization on the bundled sentences -> ids on the host -> a small model trains."""
    sentences, labels = keras.datasets.rt_polarity.load_data()
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(sentences))[:3000]
    x_text, y = sentences[idx], labels[idx].astype("float32")
    vectorize = keras.layers.TextVectorization(max_tokens=5000, output_sequence_length=40)
    vectorize.adapt(x_text)
    x = vectorize(x_text)
    assert x.shape == (3000, 40) and x.max() < 5000
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(40,), dtype="int32"),
                              keras.layers.Embedding(5000, 16),
                              keras.layers.GlobalAveragePooling1D(),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=4, batch_size=64, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0] - 0.05


def test_scalar_text_and_keras_asset_layout(tmp_path):
    layer = keras.layers.TextVectorization()
    layer.adapt(TEXTS)
    np.testing.assert_array_equal(layer(TEXTS[0]), layer([TEXTS[0]])[0])
    # Keras 3 stores an adapted vocabulary as assets/.../vocabulary.txt: the same hooks.
    layer.save_assets(str(tmp_path))
    fresh = keras.layers.TextVectorization()
    fresh.load_assets(str(tmp_path))
    assert fresh.get_vocabulary() == layer.get_vocabulary()
    np.testing.assert_array_equal(fresh(TEXTS), layer(TEXTS))


def test_host_layer_inside_a_trace_says_what_to_do():
    import jax
    layer = keras.layers.StringLookup(vocabulary=["a"])
    assert layer._runs_on_host
    with pytest.raises(TypeError, match="before"):
        jax.jit(lambda x: keras.layers.TextVectorization(vocabulary=["a"])(x))(np.ones(3))
