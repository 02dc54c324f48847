"""History, LambdaCallback, TerminateOnNaN and CSVLogger, with Keras 3 as the oracle where it agrees."""
import numpy as np
import pytest

from gazelle.callbacks import CallbackList, CSVLogger, History, LambdaCallback, TerminateOnNaN


class FakeModel:
    def __init__(self):
        self.stop_training = False


# ---- History ---------------------------------------------------------------------------

def test_history_records_python_floats_per_epoch():
    model = FakeModel()
    callbacks = CallbackList(add_history=True, model=model, epochs=2, verbose=0)
    callbacks.on_train_begin()
    for epoch, loss in enumerate([np.float32(0.5), np.float32(0.25)]):
        callbacks.on_epoch_end(epoch, {"loss": loss, "accuracy": np.float64(0.75),
                                       "val_loss": np.float32(1.0)})
    history = model.history
    assert history.history == {"loss": [0.5, 0.25], "accuracy": [0.75, 0.75],
                               "val_loss": [1.0, 1.0]}
    assert list(history.history) == ["loss", "accuracy", "val_loss"]
    assert all(type(v) is float for values in history.history.values() for v in values)
    assert history.epoch == [0, 1]
    assert history.params == {"epochs": 2, "verbose": 0}
    assert history.model is model


def test_history_restarts_at_train_begin():
    history = History()
    history.on_train_begin()
    history.on_epoch_end(0, {"loss": 1.0})
    history.on_train_begin()
    history.on_epoch_end(0, {"loss": 2.0})
    assert history.history == {"loss": [2.0]} and history.epoch == [0]


# ---- LambdaCallback --------------------------------------------------------------------

def test_lambda_callback_calls_the_given_functions():
    seen = []
    callback = LambdaCallback(
        on_epoch_begin=lambda epoch, logs: seen.append(("epoch_begin", epoch)),
        on_epoch_end=lambda epoch, logs: seen.append(("epoch_end", epoch, logs["loss"])),
        on_batch_end=lambda batch, logs: seen.append(("batch_end", batch)),
        on_train_begin=lambda logs: seen.append("train_begin"),
        on_train_end=lambda logs: seen.append("train_end"),
        on_test_end=lambda logs: seen.append("test_end"))
    callbacks = CallbackList([callback])
    callbacks.on_train_begin()
    callbacks.on_epoch_begin(0)
    callbacks.on_train_batch_end(3, {"loss": 1.0})
    callbacks.on_test_end()
    callbacks.on_epoch_end(0, {"loss": np.float32(0.5)})
    callbacks.on_train_end()
    assert seen == ["train_begin", ("epoch_begin", 0), ("batch_end", 3), "test_end",
                    ("epoch_end", 0, 0.5), "train_end"]


def test_lambda_callback_rejects_unknown_hooks_and_non_callables():
    # On purpose: Keras stores unknown keywords silently; a typo here would never run.
    with pytest.raises(TypeError, match="unknown hook.*on_epoch_ends.*valid hook names"):
        LambdaCallback(on_epoch_ends=print)
    with pytest.raises(TypeError, match="on_epoch_end.*callable.*int"):
        LambdaCallback(on_epoch_end=3)


# ---- TerminateOnNaN --------------------------------------------------------------------

@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_terminate_on_nan_matches_keras(capsys, bad):
    import keras

    ours, theirs = FakeModel(), FakeModel()
    for callback, model in [(TerminateOnNaN(), ours), (keras.callbacks.TerminateOnNaN(), theirs)]:
        callback.set_model(model)
        callback.on_batch_end(2, {"loss": 0.5})
        assert not model.stop_training
        callback.on_batch_end(3, {"loss": bad})
        assert model.stop_training
    out = capsys.readouterr().out
    assert out == "Batch 3: Invalid loss, terminating training\n" * 2


def test_terminate_on_nan_runs_through_the_train_batch_hook():
    model = FakeModel()
    callbacks = CallbackList([TerminateOnNaN()], model=model)
    callbacks.on_train_batch_end(7, {"loss": np.float32("nan")})
    assert model.stop_training


def test_terminate_on_nan_can_raise():
    callback = TerminateOnNaN(raise_error=True)
    callback.set_model(FakeModel())
    with pytest.raises(RuntimeError, match="batch 5"):
        callback.on_batch_end(5, {"loss": float("nan")})


# ---- CSVLogger -------------------------------------------------------------------------

def run_csv_logger(callback, epochs_logs):
    callback.set_model(FakeModel())
    callback.on_train_begin()
    for epoch, logs in enumerate(epochs_logs):
        callback.on_epoch_end(epoch, dict(logs))
    callback.on_train_end()


EPOCHS = [
    {"loss": 0.75, "accuracy": 0.5, "val_loss": 0.875, "val_accuracy": 0.25},
    {"loss": 0.5, "accuracy": 0.625, "val_loss": 0.8125},  # val_accuracy missing -> NA
    {"loss": 0.25, "accuracy": 0.75, "val_loss": 0.5, "val_accuracy": 0.5},
]


@pytest.mark.parametrize("separator", [",", ";"])
def test_csv_logger_matches_keras(tmp_path, separator):
    import keras

    ours, theirs = tmp_path / "ours.csv", tmp_path / "theirs.csv"
    run_csv_logger(CSVLogger(ours, separator=separator), EPOCHS)
    run_csv_logger(keras.callbacks.CSVLogger(str(theirs), separator=separator), EPOCHS)
    assert ours.read_bytes() == theirs.read_bytes()
    first = ours.read_text().splitlines()[:3]
    assert first[0] == separator.join(["epoch", "accuracy", "loss", "val_accuracy", "val_loss"])
    assert first[2].split(separator)[3] == "NA"


def test_csv_logger_append_matches_keras(tmp_path):
    import keras

    ours, theirs = tmp_path / "ours.csv", tmp_path / "theirs.csv"
    for _ in range(2):
        run_csv_logger(CSVLogger(ours, append=True), EPOCHS[:1])
        run_csv_logger(keras.callbacks.CSVLogger(str(theirs), append=True), EPOCHS[:1])
    assert ours.read_bytes() == theirs.read_bytes()
    assert ours.read_text().count("epoch") == 1


def test_csv_logger_without_validation_keeps_tf_keras_2_columns(tmp_path):
    # On purpose: Keras 3 adds empty val_ columns when the first epoch has none.
    path = tmp_path / "log.csv"
    run_csv_logger(CSVLogger(path), [{"loss": 0.5}])
    assert path.read_text().splitlines() == ["epoch,loss", "0,0.5"]
