"""Callback (the hook names) and CallbackList (what the trainer calls). [side: stdlib, numpy]

Contract with the trainer. `params` holds `verbose`, `epochs`, `steps`, `samples`,
`batch_size`, `val_samples` (0 if none) and optionally `metrics` (the display order, e.g.
`["loss", "accuracy", "val_loss", "val_accuracy"]`). The trainer runs chunks of steps and
calls `on_train_batch_end(step, logs)` once per chunk, where `step` is the 0-based index of
the chunk's last batch and `logs` are the running epoch means. When `needs_batch_hooks(kind)`
is true, a user callback wants every batch, and the trainer runs one step per chunk.
`on_epoch_end(epoch, logs)` gets the training keys and the `val_` ones.
"""
import numbers

import numpy as np

_KINDS = {
    "train": ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end"),
    "test": ("on_test_batch_begin", "on_test_batch_end"),
    "predict": ("on_predict_batch_begin", "on_predict_batch_end"),
}


def default(method):
    """Marks a base-class hook as a no-op, so that overrides can be told apart."""
    method._is_default = True
    return method


def is_default(method):
    """Returns whether `method` is an unmodified base-class hook."""
    return getattr(method, "_is_default", False)


def pythonify_logs(logs):
    """Returns a new logs dict whose scalar values are Python floats.

    Numpy and jax scalars (anything with 0 dimensions) become `float`; other values (strings,
    arrays of outputs) are kept. Nested dicts are merged into the result. Unlike Keras 3,
    which sorts the keys, the order is kept: tf.keras 2 lists `loss` first in `History`.
    """
    result = {}
    for key, value in (logs or {}).items():
        if isinstance(value, dict):
            result.update(pythonify_logs(value))
        elif isinstance(value, numbers.Number) and not isinstance(value, bool):
            result[key] = float(value) if isinstance(value, numbers.Real) else value
        elif hasattr(value, "__array__") and np.ndim(value) == 0:
            result[key] = float(np.asarray(value))
        else:
            result[key] = value
    return result


class Callback:
    """Base class used to build new callbacks.

    Subclasses override the hooks they need. Attributes: `params` (a dict with `verbose`,
    `epochs`, `steps`, `samples`, `batch_size`, ...) and `model` (the model being trained).
    The training loop runs several batches per compiled chunk; if a subclass overrides a
    batch hook, `CallbackList.needs_batch_hooks` tells the trainer to run one batch per
    chunk so the hook sees every batch. Built-in callbacks whose batch hooks are correct
    once per chunk set the class attribute `_chunk_safe = True`.

    ```python
    class StopAtLoss(Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs["loss"] < 0.1:
                self.model.stop_training = True
    ```
    """

    _chunk_safe = False
    _model = None  # class-level defaults: subclasses that skip __init__ still work
    params = None

    def __init__(self):
        self.params = None
        self._model = None

    def set_params(self, params):
        """Sets the training parameters (a dict)."""
        self.params = params

    def set_model(self, model):
        """Sets the model the callback is used with."""
        self._model = model

    @property
    def model(self):
        """The model. Reading it asks the model to write the training state back first."""
        sync = getattr(self._model, "jax_state_sync", None)
        if sync is not None:
            sync()
        return self._model

    @model.setter
    def model(self, model):
        self._model = model

    @default
    def on_batch_begin(self, batch, logs=None):
        """A backwards compatibility alias for `on_train_batch_begin`."""

    @default
    def on_batch_end(self, batch, logs=None):
        """A backwards compatibility alias for `on_train_batch_end`."""

    @default
    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of an epoch (training only)."""

    @default
    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of an epoch; `logs` has the training and `val_` results."""

    @default
    def on_train_batch_begin(self, batch, logs=None):
        """Called at the beginning of a training batch in `fit`."""
        self.on_batch_begin(batch, logs=logs)

    @default
    def on_train_batch_end(self, batch, logs=None):
        """Called at the end of a training batch; `logs` are the epoch's running means."""
        self.on_batch_end(batch, logs=logs)

    @default
    def on_test_batch_begin(self, batch, logs=None):
        """Called at the beginning of a batch in `evaluate` (and validation)."""

    @default
    def on_test_batch_end(self, batch, logs=None):
        """Called at the end of a batch in `evaluate` (and validation)."""

    @default
    def on_predict_batch_begin(self, batch, logs=None):
        """Called at the beginning of a batch in `predict`."""

    @default
    def on_predict_batch_end(self, batch, logs=None):
        """Called at the end of a batch in `predict`."""

    @default
    def on_train_begin(self, logs=None):
        """Called at the beginning of training."""

    @default
    def on_train_end(self, logs=None):
        """Called at the end of training."""

    @default
    def on_test_begin(self, logs=None):
        """Called at the beginning of evaluation or validation."""

    @default
    def on_test_end(self, logs=None):
        """Called at the end of evaluation or validation."""

    @default
    def on_predict_begin(self, logs=None):
        """Called at the beginning of prediction."""

    @default
    def on_predict_end(self, logs=None):
        """Called at the end of prediction."""


class CallbackList(Callback):
    """Container abstracting a list of callbacks.

    Args:
        callbacks: List of `Callback` instances. Defaults to `None`.
        add_history: Whether a `History` callback should be added, if one does not
            already exist in the `callbacks` list. Defaults to `False`.
        add_progbar: Whether a `ProgbarLogger` callback should be added, if one does not
            already exist in the `callbacks` list. Defaults to `False`.
        model: The `Model` these callbacks are used with. Defaults to `None`.
        **params: If provided, parameters will be passed to each `Callback` via
            `Callback.set_params`.

    Every hook converts its logs once (`pythonify_logs`) and hands the same dict to each
    callback in order, so a key one callback adds (`lr`) reaches those after it (`History`).
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None,
                 **params):
        super().__init__()
        self.callbacks = list(callbacks or [])
        for i, callback in enumerate(self.callbacks):
            if not isinstance(callback, Callback):
                raise TypeError(
                    f"`callbacks` must be a list of gazelle.callbacks.Callback instances, but "
                    f"item {i} is {type(callback).__name__}: {callback!r}.")
        self._add_default_callbacks(add_history, add_progbar)
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def _add_default_callbacks(self, add_history, add_progbar):
        # tf.keras order: user callbacks, then History, then ProgbarLogger, so messages
        # printed by user callbacks come before the epoch's final bar line.
        from gazelle.callbacks.history import History
        from gazelle.callbacks.progbar_logger import ProgbarLogger

        self._history = next((c for c in self.callbacks if isinstance(c, History)), None)
        self._progbar = next((c for c in self.callbacks if isinstance(c, ProgbarLogger)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger(
                count_mode="steps" if add_progbar == "steps" else "samples")
            self.callbacks.append(self._progbar)

    def __iter__(self):
        return iter(self.callbacks)

    def append(self, callback):
        """Adds a callback at the end of the list."""
        self.callbacks.append(callback)

    def set_params(self, params):
        self.params = params
        for callback in self.callbacks:
            callback.set_params(params)

    def set_model(self, model):
        self._model = model
        if self._history is not None and model is not None:
            model.history = self._history
        for callback in self.callbacks:
            callback.set_model(model)

    def needs_batch_hooks(self, kind):
        """Returns whether a callback overrides a batch-level hook of `kind`.

        Args:
            kind: one of `"train"`, `"test"` or `"predict"`.
        """
        if kind not in _KINDS:
            raise ValueError(f"needs_batch_hooks: `kind` must be one of {sorted(_KINDS)}, "
                             f"but received {kind!r}.")
        return any(not is_default(getattr(callback, hook))
                   for callback in self.callbacks if not callback._chunk_safe
                   for hook in _KINDS[kind])

    def _call(self, hook, *args, logs=None):
        logs = pythonify_logs(logs)
        for callback in self.callbacks:
            getattr(callback, hook)(*args, logs)

    def on_batch_begin(self, batch, logs=None):
        self._call("on_batch_begin", batch, logs=logs)

    def on_batch_end(self, batch, logs=None):
        self._call("on_batch_end", batch, logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs=logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs=logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs=logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs=logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call("on_predict_batch_end", batch, logs=logs)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs=logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs=logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs=logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs=logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs=logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs=logs)
