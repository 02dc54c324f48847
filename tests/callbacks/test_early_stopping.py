"""EarlyStopping: same decisions as Keras 3 on the same sequences of epoch logs."""
import numpy as np
import pytest

from gazelle.callbacks import EarlyStopping


class FakeModel:
    """Weights are [epoch index], so restored weights tell which epoch they came from."""

    def __init__(self):
        self.stop_training = False
        self.epoch = 0
        self.restored = None

    def get_weights(self):
        return [np.array(self.epoch)]

    def set_weights(self, weights):
        self.restored = int(weights[0])


def run(callback, values, monitor="val_loss"):
    model = FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    stopped_at = None
    for epoch, value in enumerate(values):
        model.epoch = epoch
        callback.on_epoch_end(epoch, {"loss": 1.0, monitor: value})
        if model.stop_training:
            stopped_at = epoch
            break
    callback.on_train_end()
    best = None if callback.best is None else float(callback.best)
    return stopped_at, best, callback.best_epoch, callback.wait, model.restored


rng = np.random.default_rng(0)
SEQUENCES = [
    [1.0, 0.9, 0.95, 0.96, 0.97, 0.8, 0.81, 0.82, 0.83, 0.84],
    [1.0, 1.0, 1.0, 1.0],
    [0.5, 0.4, 0.3, 0.2, 0.1, 0.05],
    *[list(np.round(1 + np.cumsum(rng.normal(0, 0.05, 12)), 3)) for _ in range(6)],
]
SETTINGS = [
    dict(),
    dict(patience=2),
    dict(patience=2, min_delta=0.02),
    dict(patience=1, restore_best_weights=True),
    dict(patience=3, baseline=0.85),
    dict(patience=1, start_from_epoch=3, restore_best_weights=True),
    dict(patience=2, mode="max"),
]


@pytest.mark.parametrize("settings", SETTINGS)
@pytest.mark.parametrize("values", SEQUENCES)
def test_matches_keras(values, settings):
    import keras

    ours = run(EarlyStopping(**settings), values)
    theirs = run(keras.callbacks.EarlyStopping(**settings), values)
    assert ours == theirs


def test_auto_mode_maximizes_accuracy():
    import keras

    values = [0.5, 0.6, 0.55, 0.58, 0.7]
    ours = run(EarlyStopping(monitor="val_accuracy", patience=2), values, "val_accuracy")
    # Keras 3 needs the model's metric objects to infer the direction; tell it directly.
    theirs = run(keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=2, mode="max"),
                 values, "val_accuracy")
    assert ours == theirs
    assert ours[0] == 3


def test_messages_in_tf_keras_format(capsys):
    run(EarlyStopping(patience=1, verbose=1, restore_best_weights=True), [1.0, 0.5, 0.6, 0.7])
    assert capsys.readouterr().out == (
        "Epoch 00003: early stopping\n"
        "Restoring model weights from the end of the best epoch.\n")


def test_missing_monitor_warns_with_available_keys():
    callback = EarlyStopping(monitor="val_acc")
    callback.set_model(FakeModel())
    with pytest.warns(UserWarning, match="`val_acc` which is not available.*loss,val_loss"):
        callback.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.0})
    assert not callback.model.stop_training


def test_unknown_mode_is_an_error():
    # On purpose: Keras warns and falls back to "auto"; a typo should not change behaviour.
    with pytest.raises(ValueError, match=r"mode.*\['auto', 'min', 'max'\].*'minimum'"):
        EarlyStopping(mode="minimum")
