"""keras.utils.audio_dataset_from_directory: .wav class folders into padded float32 batches.

The reference without TensorFlow is the files' own 16-bit samples over 32768 (what
tf.audio.decode_wav gives), zero-padded per batch as Keras's padded_batch pads; with
TensorFlow installed, Keras 3's own function is the oracle too."""
import importlib.util
import os
import wave

import numpy as np
import pytest

import gazelle as keras
from gazelle.utils import audio_dataset

HAS_TF = importlib.util.find_spec("tensorflow") is not None


def write_wav(path, samples, rate=8000, width=2):
    """`samples`: int array (frames, channels) written as PCM of `width` bytes."""
    samples = np.asarray(samples)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(samples.shape[1])
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(samples.astype({1: "u1", 2: "<i2", 4: "<i4"}[width]).tobytes())


@pytest.fixture
def audio_dir(tmp_path):
    """Two classes of mono clips of different lengths; returns (folder, {path: samples})."""
    rng = np.random.default_rng(0)
    clips = {}
    for k, (name, lengths) in enumerate((("no", (5, 9, 3)), ("yes", (7, 4)))):
        (tmp_path / name).mkdir()
        for i, n in enumerate(lengths):
            samples = rng.integers(-32768, 32768, size=(n, 1))
            path = tmp_path / name / f"{i}.wav"
            write_wav(path, samples)
            clips[str(path)] = samples
    (tmp_path / "yes" / "notes.txt").write_text("not audio")
    return tmp_path, clips


def items(ds):
    """The batches of gazelle's dataset, or of the tf.data.Dataset it is with TensorFlow."""
    if hasattr(ds, "as_numpy_iterator"):
        return list(ds.as_numpy_iterator())
    return list(ds)


def expected(clips, paths, length=None):
    """Samples / 32768, cut or zero-padded to `length` (else the longest of `paths`)."""
    arrays = [clips[p].astype(np.float32) / 32768.0 for p in paths]
    length = max(len(a) for a in arrays) if length is None else length
    out = np.zeros((len(arrays), length, 1), np.float32)
    for row, a in zip(out, arrays):
        row[:min(length, len(a))] = a[:length]
    return out


def test_batches_are_padded_per_batch_with_inferred_labels(audio_dir):
    folder, clips = audio_dir
    ds = keras.utils.audio_dataset_from_directory(str(folder), batch_size=2, shuffle=False,
                                                  verbose=False)
    assert ds.class_names == ["no", "yes"]
    order = [str(folder / "no" / f"{i}.wav") for i in range(3)] + \
        [str(folder / "yes" / f"{i}.wav") for i in range(2)]
    got = items(ds)
    assert len(got) == 3
    for b, (x, y) in enumerate(got):
        paths = order[2 * b:2 * b + 2]
        np.testing.assert_array_equal(x, expected(clips, paths))
        assert x.dtype == np.float32 and y.dtype == np.int32
        np.testing.assert_array_equal(y, [0 if "/no/" in p else 1 for p in paths])


def test_output_sequence_length_cuts_and_pads_and_label_modes(audio_dir):
    folder, clips = audio_dir
    order = sorted(clips)
    ds = keras.utils.audio_dataset_from_directory(
        str(folder), batch_size=None, shuffle=False, output_sequence_length=6,
        label_mode="categorical", verbose=False)
    got = items(ds)
    assert len(got) == 5
    for (x, y), path in zip(got, order):
        np.testing.assert_array_equal(x, expected(clips, [path], 6)[0])
        np.testing.assert_array_equal(y, np.eye(2, dtype="float32")[int("/yes/" in path)])
    x_only = keras.utils.audio_dataset_from_directory(str(folder), labels=None, batch_size=5,
                                                      shuffle=False, verbose=False)
    (x,) = items(x_only)
    np.testing.assert_array_equal(x, expected(clips, order))
    binary = keras.utils.audio_dataset_from_directory(str(folder), label_mode="binary",
                                                      batch_size=5, shuffle=False,
                                                      verbose=False)
    (_, y), = items(binary)
    np.testing.assert_array_equal(y, [[0], [0], [0], [1], [1]])


def test_validation_split_both_and_seeded_shuffle(audio_dir):
    folder, _ = audio_dir
    train, val = keras.utils.audio_dataset_from_directory(
        str(folder), batch_size=1, validation_split=0.4, subset="both", seed=3,
        verbose=False)
    train_ids = {x.tobytes() for x, _ in items(train)}
    val_ids = {x.tobytes() for x, _ in items(val)}
    assert len(train_ids) == 3 and len(val_ids) == 2 and not train_ids & val_ids
    again = keras.utils.audio_dataset_from_directory(
        str(folder), batch_size=1, validation_split=0.4, subset="validation", seed=3,
        verbose=False)
    assert {x.tobytes() for x, _ in items(again)} == val_ids


def test_fit_reads_it(audio_dir):
    folder, _ = audio_dir
    ds = keras.utils.audio_dataset_from_directory(str(folder), batch_size=2,
                                                  output_sequence_length=8, verbose=False)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()


@pytest.mark.parametrize("kwargs,match", [
    ({"ragged": True}, "ragged=True is not available"),
    ({"ragged": True, "output_sequence_length": 4}, "only one of `ragged`"),
    ({"sampling_rate": 16000}, "does not resample"),
    ({"sampling_rate": -1}, "positive int"),
    ({"output_sequence_length": 0}, "output_sequence_length"),
    ({"label_mode": "sparse"}, "label_mode"),
    ({"validation_split": 0.2}, "subset"),
])
def test_arguments_it_cannot_honour_raise(audio_dir, kwargs, match):
    folder, _ = audio_dir
    with pytest.raises(ValueError, match=match):
        keras.utils.audio_dataset_from_directory(str(folder), verbose=False, **kwargs)


def test_only_16_bit_pcm_is_read(tmp_path):
    path = tmp_path / "a.wav"
    write_wav(path, np.zeros((4, 1)), width=4)
    with pytest.raises(ValueError, match="32-bit samples; only 16-bit PCM"):
        audio_dataset.decode_wav(str(path))
    path.write_bytes(b"not a wav file")
    with pytest.raises(ValueError, match="cannot read"):
        audio_dataset.decode_wav(str(path))


def test_stereo_and_mixed_channels(tmp_path):
    (tmp_path / "a").mkdir()
    write_wav(tmp_path / "a" / "0.wav", [[1, -1], [2, -2], [3, -3]])
    write_wav(tmp_path / "a" / "1.wav", [[5], [6]])
    ds = keras.utils.audio_dataset_from_directory(str(tmp_path), batch_size=1, shuffle=False,
                                                  verbose=False)
    (x0, _), (x1, _) = items(ds)
    np.testing.assert_array_equal(x0[0], np.array([[1, -1], [2, -2], [3, -3]]) / 32768.0)
    assert x1.shape == (1, 2, 1)
    with pytest.raises(ValueError, match="different channel counts"):
        # Read when the batch is (with TensorFlow, when the tf.data.Dataset is made).
        items(keras.utils.audio_dataset_from_directory(str(tmp_path), batch_size=2,
                                                       shuffle=False, verbose=False))


@pytest.mark.skipif(not HAS_TF, reason="Keras 3's audio_dataset_from_directory needs TensorFlow")
@pytest.mark.parametrize("kwargs", [
    {"batch_size": 2}, {"batch_size": 2, "output_sequence_length": 6},
    {"batch_size": None, "label_mode": "categorical"}, {"labels": None, "batch_size": 4},
])
def test_same_batches_as_keras(audio_dir, kwargs):
    import keras as k3
    folder, _ = audio_dir
    ours = items(keras.utils.audio_dataset_from_directory(str(folder), shuffle=False,
                                                          verbose=False, **kwargs))
    theirs = list(k3.utils.audio_dataset_from_directory(str(folder), shuffle=False,
                                                        verbose=False, **kwargs)
                  .as_numpy_iterator())
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        a, b = (a, b) if isinstance(a, tuple) else ((a,), (b,))
        for u, v in zip(a, b):
            assert u.dtype == v.dtype and u.shape == v.shape
            np.testing.assert_array_equal(u, v)
    assert os.path.isdir(folder)
