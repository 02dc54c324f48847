"""TensorBoard callback: event files read back through the TFRecord framing + protobufs."""
import glob
import os
import struct
import sys

import numpy as np
import pytest

tensorboardX = pytest.importorskip("tensorboardX")

import gazelle as keras  # noqa: E402
from gazelle.callbacks import CallbackList, LambdaCallback  # noqa: E402
from gazelle.callbacks.tensorboard import TensorBoard  # noqa: E402
from tensorboardX.proto import event_pb2  # noqa: E402
from tensorboardX.record_writer import masked_crc32c  # noqa: E402


def read_events(directory):
    """All events of the event files in `directory`, checking TFRecord lengths and CRCs."""
    files = sorted(glob.glob(os.path.join(directory, "events.out.tfevents.*")))
    assert files, f"no event file in {directory}"
    events = []
    for path in files:
        data = open(path, "rb").read()
        pos = 0
        while pos < len(data):
            header = data[pos:pos + 8]
            (length,) = struct.unpack("<Q", header)
            (header_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
            assert header_crc == masked_crc32c(header)
            body = data[pos + 12:pos + 12 + length]
            (body_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
            assert body_crc == masked_crc32c(body)
            events.append(event_pb2.Event.FromString(body))
            pos += 16 + length
    return events


def scalars(directory):
    """{tag: [(step, value), ...]} of the scalar summaries in `directory`."""
    result = {}
    for event in read_events(directory):
        for value in event.summary.value:
            if value.WhichOneof("value") == "simple_value":
                result.setdefault(value.tag, []).append((event.step, value.simple_value))
    return result


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x[:, 0] - x[:, 1] > 0).astype("int32")
    return x, y


def model():
    m = keras.models.Sequential([keras.layers.Dense(3, activation="relu", input_shape=(4,)),
                                 keras.layers.Dense(2, activation="softmax")])
    m.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    return m


def test_epoch_scalars_go_to_train_and_validation_with_tf_keras_tags(tmp_path):
    x, y = data()
    history = model().fit(x[:48], y[:48], epochs=3, batch_size=16, verbose=0,
                          validation_data=(x[48:], y[48:]),
                          callbacks=[TensorBoard(log_dir=tmp_path)])
    assert sorted(os.listdir(tmp_path)) == ["train", "validation"]
    train = scalars(tmp_path / "train")
    val = scalars(tmp_path / "validation")
    assert sorted(train) == ["epoch_accuracy", "epoch_loss"]
    assert sorted(val) == ["epoch_accuracy", "epoch_loss"]
    h = history.history
    for tag, key in (("epoch_loss", "loss"), ("epoch_accuracy", "accuracy")):
        assert [s for s, _ in train[tag]] == [0, 1, 2]
        np.testing.assert_allclose([v for _, v in train[tag]], h[key], rtol=1e-6)
        np.testing.assert_allclose([v for _, v in val[tag]], h["val_" + key], rtol=1e-6)
    first = read_events(tmp_path / "train")[0]
    assert first.file_version == "brain.Event:2"
    assert glob.glob(str(tmp_path / "train" / "events.out.tfevents.*.v2"))


def test_no_validation_directory_without_validation_data(tmp_path):
    x, y = data(32)
    model().fit(x, y, epochs=1, batch_size=16, verbose=0,
                callbacks=[TensorBoard(log_dir=str(tmp_path / "logs"))])
    assert os.listdir(tmp_path / "logs") == ["train"]


def test_batch_scalars_every_n_batches_with_global_steps_across_fits(tmp_path):
    x, y = data(80)
    seen = []
    recorder = LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(logs["loss"]))
    m = model()
    tb = TensorBoard(log_dir=tmp_path, update_freq=2)
    m.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[tb, recorder])
    m.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[tb, recorder])
    assert len(seen) == 15  # 5 batches per epoch, one hook call per batch
    batch_loss = scalars(tmp_path / "train")["batch_loss"]
    assert [s for s, _ in batch_loss] == [2, 4, 6, 8, 10, 12, 14]
    np.testing.assert_allclose([v for _, v in batch_loss], seen[1::2], rtol=1e-6)
    epochs = [s for s, _ in scalars(tmp_path / "train")["epoch_loss"]]
    assert epochs == [0, 1, 0]  # each fit counts epochs from initial_epoch, as in tf.keras
    assert len(glob.glob(str(tmp_path / "train" / "events.*"))) == 2  # one file per fit


def test_update_freq_batch_is_every_batch(tmp_path):
    x, y = data(32)
    model().fit(x, y, epochs=1, batch_size=16, verbose=0,
                callbacks=[TensorBoard(log_dir=tmp_path, update_freq="batch")])
    steps = [s for s, _ in scalars(tmp_path / "train")["batch_accuracy"]]
    assert steps == [1, 2]


def test_epoch_mode_keeps_compiled_chunks_and_batch_mode_asks_for_batch_hooks(tmp_path):
    assert not CallbackList([TensorBoard(log_dir=tmp_path)]).needs_batch_hooks("train")
    assert CallbackList([TensorBoard(log_dir=tmp_path, update_freq=3)]).needs_batch_hooks(
        "train")


def test_histograms_of_each_weight_named_as_tf_keras_2(tmp_path):
    x, y = data(32)
    m = model()
    m.fit(x, y, epochs=2, batch_size=16, verbose=0,
          callbacks=[TensorBoard(log_dir=tmp_path, histogram_freq=1)])
    histos = {}
    for event in read_events(tmp_path / "train"):
        for value in event.summary.value:
            if value.WhichOneof("value") == "histo":
                histos.setdefault(value.tag, []).append((event.step, value.histo))
    names = [layer.name for layer in m.layers]
    assert sorted(histos) == sorted(f"{n}/{w}_0" for n in names for w in ("kernel", "bias"))
    kernel = m.layers[1].get_weights()[0]
    (step0, _), (step1, last) = histos[f"{names[1]}/kernel_0"]
    assert (step0, step1) == (0, 1)
    assert last.num == kernel.size
    np.testing.assert_allclose([last.min, last.max], [kernel.min(), kernel.max()], rtol=1e-6)
    np.testing.assert_allclose(last.sum, kernel.sum(), rtol=1e-4, atol=1e-6)


def test_steps_per_second(tmp_path):
    x, y = data(32)
    model().fit(x, y, epochs=1, batch_size=16, verbose=0,
                callbacks=[TensorBoard(log_dir=tmp_path, write_steps_per_second=True)])
    [(step, value)] = scalars(tmp_path / "train")["epoch_steps_per_second"]
    assert step == 0 and value > 0


@pytest.mark.parametrize("kwargs, error, match", [
    ({"update_freq": "sometimes"}, ValueError, "update_freq.*'epoch', 'batch'.*'sometimes'"),
    ({"update_freq": 0}, ValueError, "update_freq"),
    ({"histogram_freq": -1}, ValueError, "histogram_freq.*-1"),
    ({"histogram_frequency": 1}, TypeError, "histogram_frequency"),
])
def test_bad_arguments_are_named(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        TensorBoard(log_dir=tmp_path, **kwargs)


def test_unsupported_features_warn(tmp_path):
    with pytest.warns(UserWarning, match="profile_batch"):
        TensorBoard(log_dir=tmp_path, profile_batch=2)
    with pytest.warns(UserWarning, match="write_grads"):
        TensorBoard(log_dir=tmp_path, write_grads=True)


def test_missing_writer_library_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"gazelle\[tensorboard\]"):
        TensorBoard(log_dir=tmp_path)
