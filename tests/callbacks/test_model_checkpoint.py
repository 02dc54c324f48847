"""ModelCheckpoint: when it saves, to which path, and what it prints (tf.keras 2's messages)."""
import numpy as np
import pytest

import gazelle as keras
from gazelle.callbacks.model_checkpoint import ModelCheckpoint


class Recorder:
    """Stands in for a model: records what the callback asks it to save."""

    def __init__(self):
        self.saved = []

    def save(self, filepath, overwrite=True):
        self.saved.append(("model", filepath))

    def save_weights(self, filepath, overwrite=True):
        self.saved.append(("weights", filepath))


def checkpoint(**kwargs):
    callback = ModelCheckpoint(**{"filepath": "m.keras", **kwargs})
    callback.set_model(Recorder())
    return callback


def run_epochs(callback, values, key="val_loss"):
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch, {"loss": 1.0, key: value})
    return callback.model.saved


def test_saves_every_epoch_with_formatted_path():
    callback = checkpoint(filepath="ckpt/model_{epoch:02d}-{val_loss:.2f}.keras")
    saved = run_epochs(callback, [0.5, 0.25])
    assert saved == [("model", "ckpt/model_01-0.50.keras"), ("model", "ckpt/model_02-0.25.keras")]


def test_save_best_only_tracks_the_minimum_and_prints_tf_keras2_messages(capsys):
    callback = checkpoint(filepath="best.h5", save_best_only=True, verbose=1)
    saved = run_epochs(callback, [0.5, 0.7, 0.25])
    assert saved == [("model", "best.h5"), ("model", "best.h5")]
    assert capsys.readouterr().out == (
        "\nEpoch 00001: val_loss improved from inf to 0.50000, saving model to best.h5\n"
        "\nEpoch 00002: val_loss did not improve from 0.50000\n"
        "\nEpoch 00003: val_loss improved from 0.50000 to 0.25000, saving model to best.h5\n")


def test_accuracy_is_maximized_in_auto_mode():
    callback = checkpoint(monitor="val_accuracy", save_best_only=True)
    saved = run_epochs(callback, [0.5, 0.4, 0.9], key="val_accuracy")
    assert len(saved) == 2 and callback.best == 0.9


def test_initial_value_threshold_sets_the_first_best():
    callback = checkpoint(save_best_only=True, initial_value_threshold=0.3)
    assert run_epochs(callback, [0.5, 0.4, 0.2]) == [("model", "m.keras")]


def test_missing_monitor_warns_and_skips():
    # tf.keras 2 skips saving here; Keras 3 saves anyway.
    callback = checkpoint(save_best_only=True, monitor="val_auc")
    with pytest.warns(UserWarning, match="Can save best model only with val_auc available"):
        assert run_epochs(callback, [0.5]) == []


def test_save_weights_only_calls_save_weights(capsys):
    callback = checkpoint(filepath="w_{epoch}.weights.h5", save_weights_only=True, verbose=1)
    assert run_epochs(callback, [0.1]) == [("weights", "w_1.weights.h5")]
    assert capsys.readouterr().out == "\nEpoch 00001: saving model to w_1.weights.h5\n"


def test_integer_save_freq_counts_batches_and_needs_every_batch():
    callback = checkpoint(filepath="m_{epoch}_{batch}.keras", save_freq=3)
    assert not callback._chunk_safe and checkpoint()._chunk_safe
    for epoch in range(2):
        callback.on_epoch_begin(epoch)
        for batch in range(4):
            callback.on_train_batch_end(batch, {"loss": 1.0})
        callback.on_epoch_end(epoch, {"loss": 1.0})
    assert callback.model.saved == [("model", "m_1_3.keras"), ("model", "m_2_2.keras")]


def test_unknown_format_key_is_a_clear_error():
    callback = checkpoint(filepath="m_{val_acc:.2f}.keras")
    with pytest.raises(ValueError, match=r"m_\{val_acc:.2f\}.keras.*'val_acc'.*val_loss"):
        run_epochs(callback, [0.5])


@pytest.mark.parametrize("kwargs, match", [
    ({"filepath": "model"}, r"must end in `\.keras`.*filepath=model"),
    ({"filepath": "m.keras", "save_weights_only": True}, r"must not end in `\.keras`"),
    ({"save_freq": "batch"}, "Unrecognized save_freq: 'batch'"),
    ({"mode": "largest"}, r"`mode` must be one of \['auto', 'min', 'max'\].*'largest'"),
])
def test_invalid_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ModelCheckpoint(**{"filepath": "m.keras", **kwargs})


@pytest.fixture
def model_saves(monkeypatch):
    """Until Model.save/save_weights exist, delegate them to gazelle.saving for this test."""
    from gazelle import saving
    from gazelle.models import Model
    if not hasattr(Model, "save"):
        monkeypatch.setattr(Model, "save", lambda self, path, overwrite=True:
                            saving.save_model(self, path, overwrite), raising=False)
    if not hasattr(Model, "save_weights"):
        monkeypatch.setattr(Model, "save_weights", lambda self, path, overwrite=True:
                            saving.save_weights(self, path, overwrite), raising=False)


def test_fit_keeps_the_best_model(tmp_path, model_saves):
    from gazelle import saving
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 4)).astype("float32"), rng.integers(0, 2, 64)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    path = tmp_path / "best.keras"
    callback = ModelCheckpoint(path, save_best_only=True)
    history = model.fit(x, y, epochs=3, validation_split=0.25, callbacks=[callback], verbose=0)
    best_epoch = int(np.argmin(history.history["val_loss"]))
    assert callback.best == min(history.history["val_loss"])
    loaded = saving.load_model(path)
    assert int(loaded.optimizer.iterations.value) == (best_epoch + 1) * 2
