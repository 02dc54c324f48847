"""pad_sequences (Keras 3's `keras.utils.pad_sequences` as oracle) and tf.keras 2's
Tokenizer (tf_keras is not installed: checked against a small re-derivation of its
documented rules written here: filters -> spaces, lowercase, split on " ", words ranked by
count with ties in first-seen order, index 0 reserved, oov_token at index 1)."""
import collections
import json
import math

import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle.preprocessing.text import Tokenizer, text_to_word_sequence, tokenizer_from_json


@pytest.fixture(autouse=True)
def _gazelle_datasets(monkeypatch):
    # These tests index gazelle's own dataset type; with TensorFlow installed the dataset
    # utilities would return tf.data instead (tests/training/test_adapters_datasets.py).
    monkeypatch.setenv("GAZELLE_TF_DATA", "0")


SEQS = [[1, 2, 3], [4, 5], [], [6, 7, 8, 9, 10], [11]]


@pytest.mark.parametrize("maxlen", [None, 1, 3, 7])
@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_pad_sequences_matches_keras(maxlen, padding, truncating):
    kwargs = dict(maxlen=maxlen, padding=padding, truncating=truncating)
    ours = keras.utils.pad_sequences(SEQS, **kwargs)
    ref = k3.utils.pad_sequences(SEQS, **kwargs)
    assert ours.dtype == ref.dtype
    np.testing.assert_array_equal(ours, ref)


def test_pad_sequences_dtype_value_and_nested():
    kwargs = dict(maxlen=4, dtype="float32", value=-1.5)
    np.testing.assert_array_equal(keras.utils.pad_sequences(SEQS, **kwargs),
                                  k3.utils.pad_sequences(SEQS, **kwargs))
    nested = [np.ones((2, 3)), np.zeros((4, 3))]
    np.testing.assert_array_equal(keras.utils.pad_sequences(nested, padding="post"),
                                  k3.utils.pad_sequences(nested, padding="post"))
    words = [["a", "b"], ["c"]]
    np.testing.assert_array_equal(
        keras.utils.pad_sequences(words, dtype=object, value="<pad>"),
        k3.utils.pad_sequences(words, dtype=object, value="<pad>"))
    assert keras.preprocessing.sequence.pad_sequences is keras.utils.pad_sequences


def test_pad_sequences_errors():
    with pytest.raises(ValueError, match="padding"):
        keras.utils.pad_sequences(SEQS, padding="middle")
    with pytest.raises(ValueError, match="truncating"):
        keras.utils.pad_sequences(SEQS, truncating="middle")
    with pytest.raises(ValueError, match="dtype=object"):
        keras.utils.pad_sequences([["a"]], value="x")
    with pytest.raises(ValueError, match="iterables"):
        keras.utils.pad_sequences([1, 2])
    with pytest.raises(ValueError, match="shape"):
        keras.utils.pad_sequences([np.ones((2, 3)), np.ones((2, 4))])


TEXTS = ["The cat sat on the mat.", "The dog ate my homework!", "My cat, my dog; my mat?",
         "It's a dog's life\tand\na cat's"]
FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'


def _ref_words(text):
    text = text.lower()
    for c in FILTERS:
        text = text.replace(c, " ")
    return [w for w in text.split(" ") if w]


def _ref_index(texts, oov=None):
    counts, first = collections.Counter(), {}
    for t in texts:
        for w in _ref_words(t):
            counts[w] += 1
            first.setdefault(w, len(first))
    words = sorted(counts, key=lambda w: (-counts[w], first[w]))
    words = ([oov] if oov else []) + words
    return {w: i + 1 for i, w in enumerate(words)}, counts


@pytest.mark.parametrize("oov", [None, "<OOV>"])
@pytest.mark.parametrize("num_words", [None, 5])
def test_tokenizer_matches_rederivation(oov, num_words):
    tok = Tokenizer(num_words=num_words, oov_token=oov)
    tok.fit_on_texts(TEXTS)
    index, counts = _ref_index(TEXTS, oov)
    assert tok.word_index == index
    assert dict(tok.word_counts) == dict(counts)
    assert tok.index_word == {i: w for w, i in index.items()}
    new = ["the cat ate a zebra", "MY DOG"]
    expected = []
    for t in new:
        seq = []
        for w in _ref_words(t):
            i = index.get(w)
            if i is not None and (not num_words or i < num_words):
                seq.append(i)
            elif oov:
                seq.append(index[oov])
        expected.append(seq)
    assert tok.texts_to_sequences(new) == expected
    back = tok.sequences_to_texts(expected)
    assert back == [" ".join({i: w for w, i in index.items()}[i] for i in s) for s in expected]


def test_tokenizer_matrix_modes():
    tok = Tokenizer()
    tok.fit_on_texts(TEXTS)
    index, _ = _ref_index(TEXTS)
    docs = collections.Counter(w for t in TEXTS for w in set(_ref_words(t)))
    text = "my cat my mat"
    words = _ref_words(text)
    width = len(index) + 1
    counts = collections.Counter(index[w] for w in words)
    for mode in ("binary", "count", "freq", "tfidf"):
        row = tok.texts_to_matrix([text], mode=mode)[0]
        assert row.shape == (width,)
        for j, c in counts.items():
            word = {i: w for w, i in index.items()}[j]
            want = {"binary": 1, "count": c, "freq": c / len(words),
                    "tfidf": (1 + math.log(c)) * math.log(1 + len(TEXTS) / (1 + docs[word]))}
            assert row[j] == pytest.approx(want[mode])
        assert np.count_nonzero(row) == len(counts)
    with pytest.raises(ValueError, match="mode"):
        tok.texts_to_matrix([text], mode="bm25")
    with pytest.raises(ValueError, match="num_words"):
        Tokenizer().texts_to_matrix(["a"])


def test_tokenizer_char_level_json_round_trip():
    tok = Tokenizer(char_level=True, oov_token="?")
    tok.fit_on_texts(["abca", "bd"])
    assert tok.word_index == {"?": 1, "a": 2, "b": 3, "c": 4, "d": 5}
    assert tok.texts_to_sequences(["abz"]) == [[2, 3, 1]]
    data = json.loads(tok.to_json())
    assert data["class_name"] == "Tokenizer"
    assert set(data["config"]) == {"num_words", "filters", "lower", "split", "char_level",
                                   "oov_token", "document_count", "word_counts", "word_docs",
                                   "index_docs", "index_word", "word_index"}
    clone = tokenizer_from_json(tok.to_json())
    assert clone.word_index == tok.word_index and clone.index_word == tok.index_word
    assert clone.texts_to_sequences(["dab"]) == tok.texts_to_sequences(["dab"])
    assert clone.document_count == 2
    assert keras.preprocessing.text.tokenizer_from_json is tokenizer_from_json


def test_text_to_word_sequence_and_errors():
    assert text_to_word_sequence("Hello, World!  It's") == ["hello", "world", "it's"]
    with pytest.raises(TypeError, match="list of strings"):
        Tokenizer().fit_on_texts("just one string")
    with pytest.raises(TypeError, match="unexpected"):
        Tokenizer(words=3)


# -- timeseries_dataset_from_array (Keras 3's needs TensorFlow: re-derived windows) ------
def _ref_windows(data, targets, length, stride, rate, start, end):
    end = len(data) if end is None else end
    n = end - start - (length - 1) * rate
    if targets is not None:
        n = min(n, len(targets))
    xs, ys = [], []
    for p in range(0, n, stride):
        xs.append([data[start + p + k * rate] for k in range(length)])
        if targets is not None:
            ys.append(targets[start + p])
    return np.array(xs), np.array(ys)


@pytest.mark.parametrize("length,stride,rate,start,end,batch", [
    (3, 1, 1, None, None, 4), (4, 2, 2, 3, 40, 5), (5, 3, 1, 0, 30, None)])
def test_timeseries_windows(length, stride, rate, start, end, batch):
    data = np.arange(50 * 2).reshape(50, 2)
    targets = np.arange(100, 150)
    ds = keras.utils.timeseries_dataset_from_array(
        data, targets, length, sequence_stride=stride, sampling_rate=rate, batch_size=batch,
        start_index=start, end_index=end)
    items = list(ds)
    if batch is None:
        xs, ys = np.stack([x for x, _ in items]), np.array([y for _, y in items])
    else:
        assert all(len(x) <= batch for x, _ in items) and len(ds) == len(items)
        xs, ys = np.concatenate([x for x, _ in items]), np.concatenate([y for _, y in items])
    ref_x, ref_y = _ref_windows(data, targets, length, stride, rate, start or 0, end)
    np.testing.assert_array_equal(xs, ref_x)
    np.testing.assert_array_equal(ys, ref_y)


def test_timeseries_shuffle_no_targets_fit_and_errors():
    data = np.sin(np.arange(200, dtype="float32") / 5)[:, None]
    ds = keras.utils.timeseries_dataset_from_array(data, None, 10, batch_size=16,
                                                   shuffle=True, seed=3)
    starts = np.arange(0, 191)
    np.random.RandomState(3).shuffle(starts)
    np.testing.assert_array_equal(ds[0][:, 0, 0], data[starts[:16], 0])
    train = keras.utils.timeseries_dataset_from_array(data[:-10], data[10:, 0], 10,
                                                      batch_size=32)
    model = keras.Sequential([keras.Input(shape=(10, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(train, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    with pytest.raises(ValueError, match="sampling_rate"):
        keras.utils.timeseries_dataset_from_array(data, None, 3, sampling_rate=0)
    with pytest.raises(ValueError, match="end_index"):
        keras.utils.timeseries_dataset_from_array(data, None, 3, start_index=5, end_index=4)


# -- text_dataset_from_directory: file order from Keras 3's own index_directory ---------
@pytest.fixture
def text_dir(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("neg", "pos", "zzz"):
        (tmp_path / cls / "sub").mkdir(parents=True)
        for i in range(7):
            folder = tmp_path / cls / ("sub" if i % 3 == 0 else "")
            (folder / f"f{i}.txt").write_text(f"{cls} text {i} " + "x" * int(rng.integers(9)))
        (tmp_path / cls / "ignored.md").write_text("not text")
    return tmp_path


def test_text_dataset_matches_keras_file_order(text_dir):
    from keras.src.utils import dataset_utils
    paths, labels, names = dataset_utils.index_directory(
        str(text_dir), "inferred", formats=(".txt",), shuffle=True, seed=7, verbose=False)
    ds = keras.utils.text_dataset_from_directory(str(text_dir), batch_size=4, seed=7,
                                                 verbose=False)
    assert ds.class_names == names == ["neg", "pos", "zzz"]
    texts = np.concatenate([x for x, _ in ds])
    ys = np.concatenate([y for _, y in ds])
    expected = [open(p).read() for p in paths]
    assert texts.tolist() == expected
    np.testing.assert_array_equal(ys, labels)
    assert ys.dtype == np.int32


def test_text_dataset_split_modes_and_errors(text_dir):
    train, val = keras.utils.text_dataset_from_directory(
        str(text_dir), class_names=["pos", "neg"], label_mode="binary", validation_split=0.25,
        subset="both", seed=1, batch_size=None, max_length=5, verbose=False)
    assert len(train) + len(val) == 14 and len(val) == int(0.25 * 14)
    x, y = train[0]
    assert isinstance(x, str) and len(x) <= 5 and y.shape == (1,) and y.dtype == np.float32
    cat = keras.utils.text_dataset_from_directory(str(text_dir), label_mode="categorical",
                                                  shuffle=False, verbose=False)
    x, y = cat[0]
    assert y.shape == (21, 3) and x[0].startswith("neg text 1")
    with pytest.raises(ValueError, match="seed"):
        keras.utils.text_dataset_from_directory(str(text_dir), validation_split=0.2,
                                                subset="training", verbose=False)
    with pytest.raises(ValueError, match="exactly 2"):
        keras.utils.text_dataset_from_directory(str(text_dir), label_mode="binary",
                                                verbose=False)
    with pytest.raises(ValueError, match="class_names"):
        keras.utils.text_dataset_from_directory(str(text_dir), class_names=["other"],
                                                verbose=False)


def test_text_dataset_course_pipeline_map_take_adapt_fit(text_dir):
    raw = keras.utils.text_dataset_from_directory(str(text_dir), class_names=["neg", "pos"],
                                                  batch_size=4, seed=2, verbose=False)
    first = list(raw.take(1))
    assert len(first) == 1 and len(first[0][0]) == 4
    vectorize = keras.layers.TextVectorization(max_tokens=50, output_sequence_length=6)
    vectorize.adapt(raw.map(lambda x, y: x))
    reference = keras.layers.TextVectorization(max_tokens=50)
    reference.adapt(np.concatenate([x for x, _ in raw]))
    assert vectorize.get_vocabulary() == reference.get_vocabulary()
    train = raw.map(lambda x, y: (vectorize(x), y))
    assert train.class_names == ["neg", "pos"] and len(train) == len(raw)
    x, y = train[0]
    assert x.shape == (4, 6) and x.dtype == np.int64
    model = keras.Sequential([keras.Input(shape=(6,), dtype="int32"),
                              keras.layers.Embedding(50, 4),
                              keras.layers.GlobalAveragePooling1D(),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    assert len(model.fit(train, epochs=1, verbose=0).history["loss"]) == 1


def test_timeseries_generator_tf_keras2_example_and_fit():
    from gazelle.preprocessing.sequence import TimeseriesGenerator
    data = np.array([[i] for i in range(50)])
    gen = TimeseriesGenerator(data, data, length=10, sampling_rate=2, batch_size=2)
    assert len(gen) == 20                      # the tf.keras 2 docstring's example
    x, y = gen[0]
    np.testing.assert_array_equal(x, [[[0], [2], [4], [6], [8]], [[1], [3], [5], [7], [9]]])
    np.testing.assert_array_equal(y, [[10], [11]])
    # Re-derived: every window of every batch, with stride, bounds and reverse.
    gen = TimeseriesGenerator(data, data[:, 0] * 2, length=6, stride=3, start_index=4,
                              end_index=40, reverse=True, batch_size=4)
    rows = list(range(4 + 6, 41, 3))
    xs = np.concatenate([gen[i][0] for i in range(len(gen))])
    ys = np.concatenate([gen[i][1] for i in range(len(gen))])
    np.testing.assert_array_equal(xs, [data[r - 6:r][::-1] for r in rows])
    np.testing.assert_array_equal(ys, [2 * r for r in rows])
    model = keras.Sequential([keras.Input(shape=(5, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    series = np.linspace(0, 1, 60, dtype="float32")[:, None]
    model.fit(TimeseriesGenerator(series, series, length=5, batch_size=8), epochs=1,
              verbose=0)
    with pytest.raises(ValueError, match="end_index"):
        TimeseriesGenerator(data[:5], data[:5], length=10)


def test_hashing_trick_md5():
    from gazelle.preprocessing.text import hashing_trick, one_hot
    import hashlib
    words = ["the", "cat", "the"]
    expected = [int(hashlib.md5(w.encode()).hexdigest(), 16) % 9 + 1 for w in words]
    assert hashing_trick("The cat, the!", 10, hash_function="md5") == expected
    ids = one_hot("a b c a", 5)
    assert len(ids) == 4 and ids[0] == ids[3] and all(1 <= i <= 4 for i in ids)


def test_keras_preprocessing_has_keras_3_names():
    """Keras 3 exports the dataset utilities from `keras.preprocessing` too (the weather
    forecasting example calls `keras.preprocessing.timeseries_dataset_from_array`)."""
    import keras as K
    theirs = {n for n in dir(K.preprocessing) if not n.startswith("_")}
    assert theirs <= set(dir(keras.preprocessing))
    assert (keras.preprocessing.timeseries_dataset_from_array
            is keras.utils.timeseries_dataset_from_array)
    assert keras.preprocessing.text_dataset_from_directory is keras.utils.text_dataset_from_directory
