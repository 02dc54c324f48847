"""ProgbarLogger: what fit/evaluate/predict print, in tf.keras 2.0's format.

The trainer is simulated: it calls `on_train_batch_end` once per chunk with the index of the
chunk's last batch and the running epoch means. Times come from a fake clock.
"""
import sys
import types

import numpy as np
import pytest

from gazelle.callbacks import CallbackList, LearningRateScheduler
from gazelle.utils import progbar as progbar_module

FULL = "[" + "=" * 30 + "]"


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


class FakeModel:
    stop_training = False


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(progbar_module, "_clock", fake)
    return fake


@pytest.fixture
def not_a_terminal(monkeypatch):
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)


@pytest.fixture
def terminal(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))


def fit(clock, callbacks=(), epochs=2, samples=100, batch_size=32, val_samples=20, verbose=1,
        chunk=2, metrics=True, seconds_per_batch=0.01):
    """Drives a CallbackList the way the trainer does and returns the model."""
    steps = -(-samples // batch_size)
    params = dict(verbose=verbose, epochs=epochs, steps=steps, samples=samples,
                  batch_size=batch_size, val_samples=val_samples)
    if metrics:
        params["metrics"] = ["loss", "accuracy"] + (["val_loss", "val_accuracy"]
                                                    if val_samples else [])
    model = FakeModel()
    callback_list = CallbackList(list(callbacks), add_history=True, add_progbar=bool(verbose),
                                 model=model, **params)
    callback_list.on_train_begin()
    for epoch in range(epochs):
        callback_list.on_epoch_begin(epoch)
        for last in range(chunk - 1, steps + chunk - 1, chunk):
            last = min(last, steps - 1)
            clock.t += seconds_per_batch * chunk
            logs = {"loss": np.float32(1.0 / (last + 1)), "accuracy": np.float32(0.5)}
            callback_list.on_train_batch_end(last, logs)
        logs = {"loss": np.float32(0.25), "accuracy": np.float32(0.75)}
        if val_samples:
            callback_list.on_test_begin()
            callback_list.on_test_batch_end(0, {"loss": 0.5, "accuracy": 0.5})
            callback_list.on_test_end({"loss": 0.5, "accuracy": 0.5})
            logs.update(val_loss=np.float32(0.5), val_accuracy=np.float32(0.8125))
        callback_list.on_epoch_end(epoch, logs)
    callback_list.on_train_end()
    return model


def test_fit_output_off_a_terminal(capsys, clock, not_a_terminal):
    fit(clock)
    # 100 samples, 4 batches of 0.01 s each: 0.04 s / 100 samples = 400us/sample.
    line = (f"100/100 {FULL} - 0s 400us/sample - loss: 0.2500 - accuracy: 0.7500 "
            "- val_loss: 0.5000 - val_accuracy: 0.8125")
    assert capsys.readouterr().out == (
        "Train on 100 samples, validate on 20 samples\n"
        f"Epoch 1/2\n{line}\nEpoch 2/2\n{line}\n")


def test_single_epoch_has_no_epoch_line_and_no_validation_note(capsys, clock, not_a_terminal):
    fit(clock, epochs=1, val_samples=0, samples=64, seconds_per_batch=2.0)
    assert capsys.readouterr().out == (
        "Train on 64 samples\n"
        f"64/64 {FULL} - 4s 62ms/sample - loss: 0.2500 - accuracy: 0.7500\n")


def test_verbose_2_prints_one_line_per_epoch(capsys, clock, terminal):
    fit(clock, verbose=2, epochs=2)
    assert capsys.readouterr().out == (
        "Train on 100 samples, validate on 20 samples\n"
        "Epoch 1/2\n"
        "100/100 - 0s - loss: 0.2500 - accuracy: 0.7500 - val_loss: 0.5000 - val_accuracy: 0.8125\n"
        "Epoch 2/2\n"
        "100/100 - 0s - loss: 0.2500 - accuracy: 0.7500 - val_loss: 0.5000 - val_accuracy: 0.8125\n")


def test_verbose_0_prints_nothing(capsys, clock, terminal):
    model = fit(clock, verbose=0)
    assert capsys.readouterr().out == ""
    assert model.history.history["loss"] == [0.25, 0.25]


def test_terminal_shows_running_values_as_given_then_the_final_line(capsys, clock, terminal):
    fit(clock, epochs=1, samples=320, batch_size=32, chunk=2, seconds_per_batch=0.1)
    out = capsys.readouterr().out
    draws = [piece.rstrip("\b") for piece in out.split("\r")[1:]]
    # Chunks end at batches 1, 3, 5, 7, 9; the last is left to the epoch's final line.
    assert len(draws) == 5
    assert draws[0] == (" 64/320 [=====>........................] - ETA: 0s "
                        "- loss: 0.5000 - accuracy: 0.5000")
    # The trainer's logs are already means, so the bar shows them without averaging again.
    assert draws[1].startswith("128/320 [===========>..................] - ETA: 0s - loss: 0.2500")
    assert draws[-1].startswith(f"320/320 {FULL} - 1s 3ms/sample - loss: 0.2500 - accuracy: 0.7500")
    assert draws[-1].endswith("\n")


def test_redraws_are_limited_to_about_ten_a_second(capsys, clock, terminal):
    fit(clock, epochs=1, samples=3200, batch_size=1, chunk=1, val_samples=0,
        seconds_per_batch=0.001)  # 3.2 s of training, 3200 chunks
    draws = capsys.readouterr().out.count("\r")
    assert 30 <= draws <= 34


def test_validation_inside_fit_is_silent_but_evaluate_prints(capsys, clock, not_a_terminal):
    fit(clock, epochs=1, val_samples=20)
    assert capsys.readouterr().out.count("/20 ") == 0
    callbacks = CallbackList(add_progbar=True, model=FakeModel(), verbose=1, epochs=1, steps=1,
                             samples=20, batch_size=32)
    callbacks.on_test_begin()
    clock.t += 0.002
    callbacks.on_test_batch_end(0, {"loss": np.float32(0.5), "accuracy": np.float32(0.5)})
    callbacks.on_test_end({"loss": np.float32(0.5), "accuracy": np.float32(0.5)})
    assert capsys.readouterr().out == (
        f"20/20 {FULL} - 0s 100us/sample - loss: 0.5000 - accuracy: 0.5000\n")


def test_predict_prints_a_bar_without_values(capsys, clock, not_a_terminal):
    callbacks = CallbackList(add_progbar=True, model=FakeModel(), verbose=1, steps=2,
                             samples=50, batch_size=32)
    callbacks.on_predict_begin()
    for step in range(2):
        clock.t += 0.05
        callbacks.on_predict_batch_end(step, {"outputs": np.zeros((32, 2))})
    callbacks.on_predict_end()
    assert capsys.readouterr().out == f"50/50 {FULL} - 0s 2ms/sample\n"


def test_order_is_loss_metrics_then_val_without_params_metrics(capsys, clock, not_a_terminal):
    schedule = LearningRateScheduler(lambda epoch, lr: lr)

    class Optimizer:
        learning_rate = 0.01

    callbacks = CallbackList([schedule], add_progbar=True, add_history=True, model=FakeModel(),
                             verbose=1, epochs=1, steps=1, samples=10, batch_size=32,
                             val_samples=5)
    callbacks.model.optimizer = Optimizer()
    callbacks.on_train_begin()
    callbacks.on_epoch_begin(0)
    callbacks.on_train_batch_end(0, {"accuracy": 0.5, "loss": 1.0})  # sorted, as Keras 3 sends
    callbacks.on_epoch_end(0, {"accuracy": 0.5, "loss": 1.0, "val_accuracy": 0.25,
                               "val_loss": 2.0})
    # "lr" (added by the scheduler) is not shown, as in tf.keras 2.
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"10/10 {FULL} - 0s 0s/sample - loss: 1.0000 - accuracy: 0.5000 - val_loss: 2.0000 "
        "- val_accuracy: 0.2500")


def test_count_mode_steps(capsys, clock, not_a_terminal):
    from gazelle.callbacks import ProgbarLogger

    fit(clock, epochs=1, val_samples=0, callbacks=[ProgbarLogger(count_mode="steps")],
        seconds_per_batch=0.5)
    assert capsys.readouterr().out == (
        "Train for 4 steps\n"
        f"4/4 {FULL} - 2s 500ms/step - loss: 0.2500 - accuracy: 0.7500\n")


def test_bad_count_mode():
    from gazelle.callbacks import ProgbarLogger

    with pytest.raises(ValueError, match=r"count_mode.*\['samples', 'steps'\].*'batches'"):
        ProgbarLogger(count_mode="batches")
