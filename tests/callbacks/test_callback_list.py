"""Callback and CallbackList: hook forwarding, log conversion, default callbacks, batch-hook detection."""
import jax.numpy as jnp
import numpy as np
import pytest

from gazelle.callbacks import (Callback, CallbackList, History, LambdaCallback, ProgbarLogger,
                               ReduceLROnPlateau, TerminateOnNaN)
from gazelle.callbacks.callback import pythonify_logs

EPOCH_HOOKS = ["on_epoch_begin", "on_epoch_end"]
BATCH_HOOKS = ["on_batch_begin", "on_batch_end", "on_train_batch_begin", "on_train_batch_end",
               "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin",
               "on_predict_batch_end"]
RUN_HOOKS = ["on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
             "on_predict_begin", "on_predict_end"]


class FakeModel:
    stop_training = False


class Recorder(Callback):
    """Records every hook call; defines each hook, so it counts as overriding all of them."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        if name in EPOCH_HOOKS + BATCH_HOOKS:
            return lambda index, logs=None: self.calls.append((name, index, logs))
        if name in RUN_HOOKS:
            return lambda logs=None: self.calls.append((name, logs))
        return super().__getattribute__(name)


def test_every_hook_is_forwarded_in_order():
    first, second = Recorder(), Recorder()
    callbacks = CallbackList([first, second])
    for hook in EPOCH_HOOKS + BATCH_HOOKS:
        getattr(callbacks, hook)(3, {"loss": 1.0})
    for hook in RUN_HOOKS:
        getattr(callbacks, hook)({"loss": 2.0})
    expected = [(h, 3, {"loss": 1.0}) for h in EPOCH_HOOKS + BATCH_HOOKS]
    expected += [(h, {"loss": 2.0}) for h in RUN_HOOKS]
    assert first.calls == expected
    assert second.calls == expected


def test_all_callbacks_share_one_converted_logs_dict():
    seen = []
    callbacks = CallbackList([LambdaCallback(on_epoch_end=lambda e, logs: seen.append(logs)),
                              LambdaCallback(on_epoch_end=lambda e, logs: seen.append(logs))])
    original = {"loss": np.float32(0.5)}
    callbacks.on_epoch_end(0, original)
    assert seen[0] is seen[1]
    assert seen[0] is not original and type(original["loss"]) is np.float32


def test_none_logs_become_an_empty_dict():
    got = []
    CallbackList([LambdaCallback(on_train_begin=got.append)]).on_train_begin()
    assert got == [{}]


def test_pythonify_converts_scalars_to_python_floats():
    logs = pythonify_logs({
        "loss": np.float32(0.25), "acc": jnp.float32(0.5), "zero_d": np.array(2.0),
        "count": np.int64(3), "py_int": 4, "name": "text", "outputs": np.arange(3),
        "nested": {"inner": jnp.array(1.5)},
    })
    for key, expected in [("loss", 0.25), ("acc", 0.5), ("zero_d", 2.0), ("count", 3.0),
                          ("py_int", 4.0), ("inner", 1.5)]:
        assert type(logs[key]) is float and logs[key] == expected
    assert logs["name"] == "text"
    np.testing.assert_array_equal(logs["outputs"], np.arange(3))
    assert "nested" not in logs


def test_pythonify_keeps_key_order_unlike_keras_3():
    # On purpose: tf.keras 2 lists "loss" first in history.history; Keras 3 sorts the keys.
    from keras.src.utils.python_utils import pythonify_logs as keras_pythonify

    logs = {"loss": np.float32(0.5), "accuracy": np.float32(0.75)}
    ours, theirs = pythonify_logs(logs), keras_pythonify(logs)
    assert ours == theirs
    assert list(ours) == ["loss", "accuracy"]
    assert list(theirs) == ["accuracy", "loss"]


def test_history_and_progbar_are_appended_after_user_callbacks():
    user = Callback()
    model = FakeModel()
    callbacks = CallbackList([user], add_history=True, add_progbar=True, model=model,
                             verbose=1, epochs=2)
    assert callbacks.callbacks[0] is user
    assert isinstance(callbacks.callbacks[1], History)
    assert isinstance(callbacks.callbacks[2], ProgbarLogger)
    assert model.history is callbacks.callbacks[1]
    for callback in callbacks:
        assert callback.model is model
        assert callback.params == {"verbose": 1, "epochs": 2}


def test_existing_history_and_progbar_are_not_duplicated():
    history, progbar = History(), ProgbarLogger()
    callbacks = CallbackList([history, progbar], add_history=True, add_progbar=True)
    assert callbacks.callbacks == [history, progbar]


def test_no_defaults_unless_asked():
    assert CallbackList().callbacks == []


def test_a_key_added_by_one_callback_reaches_history():
    class Optimizer:
        learning_rate = np.float32(0.01)

    model = FakeModel()
    model.optimizer = Optimizer()
    callbacks = CallbackList([ReduceLROnPlateau(monitor="loss")], add_history=True, model=model)
    callbacks.on_train_begin()
    callbacks.on_epoch_end(0, {"loss": np.float32(1.0)})
    assert model.history.history == {"loss": [1.0], "lr": [pytest.approx(0.01)]}


def test_non_callbacks_are_rejected():
    with pytest.raises(TypeError, match="callbacks.*Callback instances.*item 1 is str"):
        CallbackList([Callback(), "early_stopping"])


class EpochOnly(Callback):
    def on_epoch_end(self, epoch, logs=None):
        pass


class OldStyleBatch(Callback):
    def on_batch_end(self, batch, logs=None):
        pass


class EvalBatch(Callback):
    def on_test_batch_begin(self, batch, logs=None):
        pass


class PredictBatch(Callback):
    def on_predict_batch_end(self, batch, logs=None):
        pass


@pytest.mark.parametrize("callback, expected", [
    (EpochOnly(), {"train": False, "test": False, "predict": False}),
    (OldStyleBatch(), {"train": True, "test": False, "predict": False}),
    (EvalBatch(), {"train": False, "test": True, "predict": False}),
    (PredictBatch(), {"train": False, "test": False, "predict": True}),
    (LambdaCallback(on_batch_begin=lambda b, logs: None), {"train": True, "test": False,
                                                          "predict": False}),
    (LambdaCallback(on_epoch_end=lambda e, logs: None), {"train": False, "test": False,
                                                        "predict": False}),
])
def test_needs_batch_hooks(callback, expected):
    callbacks = CallbackList([callback], add_history=True, add_progbar=True)
    assert {kind: callbacks.needs_batch_hooks(kind) for kind in expected} == expected


def test_chunk_safe_builtins_do_not_need_batch_hooks():
    callbacks = CallbackList([TerminateOnNaN(), ProgbarLogger(), History()])
    assert not any(callbacks.needs_batch_hooks(k) for k in ("train", "test", "predict"))


def test_needs_batch_hooks_rejects_unknown_kind():
    with pytest.raises(ValueError, match=r"kind.*\['predict', 'test', 'train'\].*'eval'"):
        CallbackList().needs_batch_hooks("eval")


def test_train_batch_hooks_call_the_old_aliases():
    seen = []

    class Old(Callback):
        def on_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            seen.append(("end", batch, logs))

    callbacks = CallbackList([Old()])
    callbacks.on_train_batch_begin(4)
    callbacks.on_train_batch_end(4, {"loss": np.float32(1.0)})
    assert seen == [("begin", 4), ("end", 4, {"loss": 1.0})]


def test_reading_model_asks_the_model_to_sync_state():
    class SyncingModel:
        syncs = 0

        def jax_state_sync(self):
            self.syncs += 1

    model = SyncingModel()
    callback = Callback()
    callback.set_model(model)
    assert callback.model is model
    assert model.syncs == 1


def test_callback_hooks_match_keras_3_names():
    import keras

    def hooks(cls):
        return {name for name in dir(cls) if name.startswith("on_")}

    assert hooks(Callback) == hooks(keras.callbacks.Callback)
