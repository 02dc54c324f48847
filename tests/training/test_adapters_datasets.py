"""The dataset utilities' return type: a tf.data.Dataset when TensorFlow is installed (as
Keras 3), else gazelle's BatchDataset with tf.data's batch/unbatch/shuffle/cache/prefetch.
TensorFlow tests compare with Keras 3's own tf.data output and skip without TensorFlow."""
import numpy as np
import pytest

import gazelle as keras
from gazelle.utils import text_dataset


@pytest.fixture
def no_tf(monkeypatch):
    monkeypatch.setenv("GAZELLE_TF_DATA", "0")


def series(n=53):
    x = np.arange(n * 2, dtype="float32").reshape(n, 2)
    return x, np.arange(n, dtype="int32")


def flat_batches(ds):
    return [tuple(np.asarray(a) for a in b) for b in ds]


def test_without_tensorflow_a_batch_dataset(no_tf):
    x, y = series()
    ds = keras.utils.timeseries_dataset_from_array(x, y, sequence_length=4, batch_size=8)
    assert isinstance(ds, text_dataset.BatchDataset)
    assert ds.prefetch(2) is ds


def test_unbatch_then_batch_rebatches_the_rows(no_tf):
    x, y = series()
    ds = keras.utils.timeseries_dataset_from_array(x, y, sequence_length=4, batch_size=8)
    rows_x = np.concatenate([b[0] for b in ds])
    rows_y = np.concatenate([b[1] for b in ds])
    un = ds.unbatch()
    assert len(un) == len(rows_x) == 50
    np.testing.assert_array_equal(un[17][0], rows_x[17])
    assert un[17][1] == rows_y[17]
    re = un.batch(12)
    assert len(re) == 5 and len(un.batch(12, drop_remainder=True)) == 4
    got = flat_batches(re)
    for i, (bx, by) in enumerate(got):
        np.testing.assert_array_equal(bx, rows_x[12 * i:12 * i + 12])
        np.testing.assert_array_equal(by, rows_y[12 * i:12 * i + 12])
    assert got[-1][0].shape == (2, 4, 2)


def test_shuffle_is_a_seeded_permutation_drawn_each_pass(no_tf):
    x, y = series(40)
    ds = keras.utils.timeseries_dataset_from_array(x, y, sequence_length=1,
                                                   batch_size=None)
    sh = ds.shuffle(100, seed=3)
    first = [int(b[1]) for b in sh]
    second = [int(b[1]) for b in sh]
    assert sorted(first) == list(range(40)) and first != list(range(40))
    assert first != second                                   # reshuffled each pass
    again = [int(b[1]) for b in ds.shuffle(100, seed=3)]
    assert again == first                                    # seeded
    fixed = ds.shuffle(100, seed=1, reshuffle_each_iteration=False)
    assert [int(b[1]) for b in fixed] == [int(b[1]) for b in fixed]
    with pytest.raises(ValueError, match="buffer_size"):
        ds.shuffle(0)


def test_cache_reads_each_item_once(no_tf):
    calls = []
    x, y = series()
    ds = keras.utils.timeseries_dataset_from_array(x, y, sequence_length=4, batch_size=16)
    cached = ds.map(lambda a, b: (calls.append(1), (a, b))[1]).cache()
    first, second = flat_batches(cached), flat_batches(cached)
    assert len(calls) == len(ds)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a[0], b[0])
    with pytest.raises(ValueError, match="in memory only"):
        ds.cache("/tmp/some-file")


def test_batch_needs_a_positive_size(no_tf):
    x, y = series()
    ds = keras.utils.timeseries_dataset_from_array(x, y, sequence_length=4)
    with pytest.raises(ValueError, match="batch_size"):
        ds.batch(0)


def test_fit_on_a_rebatched_dataset_matches_arrays(no_tf):
    x = series(70)[0] / 100.0                # scaled: SGD on 0..140 diverges to NaN
    windows = keras.utils.timeseries_dataset_from_array(x, None, sequence_length=3,
                                                        batch_size=None)
    xs = np.stack(list(windows))
    ys = (xs.sum(axis=(1, 2)) / 100.0).astype("float32")

    def make():
        keras.utils.set_random_seed(2)
        m = keras.Sequential([keras.Input((3, 2)), keras.layers.Flatten(),
                              keras.layers.Dense(1)])
        m.compile(loss="mse", optimizer="sgd")
        return m

    ref = make()
    ref.fit(xs, ys, batch_size=16, epochs=2, shuffle=False, verbose=0)
    ds = keras.utils.timeseries_dataset_from_array(x, None, sequence_length=3, batch_size=5)
    ds = ds.unbatch().map(lambda w: (w, np.float32(w.sum() / 100.0))).batch(16).prefetch(1)
    m = make()
    m.fit(ds, epochs=2, shuffle=False, verbose=0)
    assert all(np.isfinite(w).all() for w in ref.get_weights())
    assert not np.allclose(ref.get_weights()[0], make().get_weights()[0])   # it trained
    for a, b in zip(m.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# -- with TensorFlow: tf.data, as Keras 3 returns -----------------------------------------
def test_timeseries_returns_tf_data_like_keras():
    tf = pytest.importorskip("tensorflow")
    import keras as k3
    x, y = series()
    kwargs = dict(sequence_length=5, sequence_stride=2, sampling_rate=2, batch_size=6)
    ds = keras.utils.timeseries_dataset_from_array(x, y, **kwargs)
    ref = k3.utils.timeseries_dataset_from_array(x, y, **kwargs)
    assert isinstance(ds, tf.data.Dataset)
    assert int(ds.cardinality()) == int(ref.cardinality())
    for (a, b), (c, d) in zip(ds.as_numpy_iterator(), ref.as_numpy_iterator(), strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    assert ds.element_spec[0].shape.as_list() == [None, 5, 2]


def test_text_dataset_returns_tf_data_like_keras(tmp_path):
    tf = pytest.importorskip("tensorflow")
    import keras as k3
    for label in ("neg", "pos"):
        (tmp_path / label).mkdir()
        for i in range(5):
            (tmp_path / label / f"{i}.txt").write_text(f"{label} text number {i}")
    kwargs = dict(batch_size=4, shuffle=False, label_mode="int")
    ds = keras.utils.text_dataset_from_directory(str(tmp_path), verbose=False, **kwargs)
    ref = k3.utils.text_dataset_from_directory(str(tmp_path), verbose=False, **kwargs)
    assert isinstance(ds, tf.data.Dataset) and ds.class_names == ref.class_names
    for (a, b), (c, d) in zip(ds.as_numpy_iterator(), ref.as_numpy_iterator(), strict=True):
        assert list(a) == list(c)
        np.testing.assert_array_equal(b, d)
    vec = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=4)
    vec.adapt(ds.map(lambda t, _: t))
    mapped = ds.map(lambda t, lab: (vec(t), lab))
    assert mapped.element_spec[0].shape.as_list() == [None, 4]
    model = keras.Sequential([keras.Input(shape=(4,), dtype="int32"),       # the course
                              keras.layers.Embedding(20, 3),                 # pipeline
                              keras.layers.GlobalAveragePooling1D(),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    assert len(model.fit(mapped.cache().prefetch(2), epochs=2, verbose=0)
               .history["loss"]) == 2


def test_batch_dataset_methods_match_tf_data(monkeypatch):
    tf = pytest.importorskip("tensorflow")
    x, y = series()
    kwargs = dict(sequence_length=4, batch_size=8)
    monkeypatch.setenv("GAZELLE_TF_DATA", "0")
    ours = keras.utils.timeseries_dataset_from_array(x, y, **kwargs)
    monkeypatch.setenv("GAZELLE_TF_DATA", "1")
    theirs = keras.utils.timeseries_dataset_from_array(x, y, **kwargs)
    assert isinstance(theirs, tf.data.Dataset)
    pairs = [(ours.unbatch().batch(7), theirs.unbatch().batch(7)),
             (ours.unbatch().batch(7, drop_remainder=True),
              theirs.unbatch().batch(7, drop_remainder=True)),
             (ours.take(3).cache().prefetch(1), theirs.take(3).cache().prefetch(1)),
             (ours.batch(2), theirs.batch(2))]
    for a, b in pairs:
        got, want = flat_batches(a), list(b.as_numpy_iterator())
        assert len(got) == len(want)
        for g, w in zip(got, want):
            for p, q in zip(g, w):
                np.testing.assert_array_equal(p, q)


def test_image_dataset_returns_tf_data_and_reshuffles_each_pass(tmp_path, monkeypatch):
    tf = pytest.importorskip("tensorflow")
    pytest.importorskip("PIL")
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / c).mkdir()
        for i in range(6):
            keras.utils.save_img(tmp_path / c / f"{i}.png",
                                 rng.integers(0, 255, (8, 8, 3)).astype("uint8"))
    kwargs = dict(image_size=(8, 8), batch_size=4, seed=1, verbose=False)
    ds = keras.utils.image_dataset_from_directory(tmp_path, **kwargs)
    assert isinstance(ds, tf.data.Dataset) and ds.class_names == ["a", "b"]
    monkeypatch.setenv("GAZELLE_TF_DATA", "0")
    ours = keras.utils.image_dataset_from_directory(tmp_path, **kwargs)
    passes = [[np.asarray(b[1]) for b in ds] for _ in range(2)]
    mine = [[np.asarray(ours[i][1]) for i in range(len(ours))]]
    ours.on_epoch_end()
    mine.append([np.asarray(ours[i][1]) for i in range(len(ours))])
    for a, b in zip(passes, mine):                # the same batches, pass by pass
        np.testing.assert_array_equal(np.concatenate(a), np.concatenate(b))
