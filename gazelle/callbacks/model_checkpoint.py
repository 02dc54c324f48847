"""ModelCheckpoint: save the model (or its weights) during training. [side: stdlib, numpy,
gazelle.utils]

The model arrives as an argument and saves itself (`model.save`, `model.save_weights`),
so this module needs nothing from the saving package. Messages are tf.keras 2's.
"""
import os
import warnings

import numpy as np

from gazelle.callbacks.callback import Callback
from gazelle.callbacks.early_stopping import resolve_mode
from gazelle.utils.io import print_msg


class ModelCheckpoint(Callback):
    """Callback to save the Keras model or model weights at some frequency.

    `filepath` can contain named formatting options, filled with the value of `epoch`
    and keys in `logs` (passed in `on_epoch_end`): with `filepath="model_{epoch:02d}-
    {val_loss:.2f}.keras"` the checkpoints are saved with the epoch number and the
    validation loss in the filename.

    Args:
        filepath: string or `PathLike`, path to save the model file. A `.keras` or `.h5`
            name for whole models; any name (`.weights.h5` recommended) with
            `save_weights_only=True`. The directory is created if needed.
        monitor: The metric name to monitor. Typically the metrics are set by the
            `Model.compile` method. Prefix the name with `"val_"` to monitor validation
            metrics. Use `"loss"` or `"val_loss"` to monitor the model's total loss.
            Defaults to `"val_loss"`.
        verbose: Verbosity mode, 0 or 1. Mode 0 is silent, and mode 1 displays messages
            when the callback takes an action. Defaults to `0`.
        save_best_only: if `save_best_only=True`, it only saves when the model is
            considered the "best" and the latest best model according to the quantity
            monitored will not be overwritten. If `filepath` doesn't contain formatting
            options like `{epoch}` then `filepath` will be overwritten by each new better
            model. Defaults to `False`.
        save_weights_only: if `True`, then only the model's weights will be saved
            (`model.save_weights(filepath)`), else the full model is saved
            (`model.save(filepath)`). Defaults to `False`.
        mode: one of {`"auto"`, `"min"`, `"max"`}. If `save_best_only=True`, the decision
            to overwrite the current save file is made based on either the maximization
            or the minimization of the monitored quantity. In `"auto"` mode, the mode is
            set to `"max"` for accuracy-like quantities (names containing `"acc"`,
            `"auc"`, `"precision"`, `"recall"`, `"f1"`) and to `"min"` for the rest of the
            quantities. Defaults to `"auto"`.
        save_freq: `"epoch"` or integer. When using `"epoch"`, the callback saves the
            model after each epoch. When using integer, the callback saves the model at
            end of this many batches. Defaults to `"epoch"`.
        initial_value_threshold: Floating point initial "best" value of the metric to be
            monitored. Only applies if `save_best_only=True`. Only overwrites the model
            weights already saved if the performance of current model is better than this
            value. Defaults to `None`.

    ```python
    checkpoint_cb = keras.callbacks.ModelCheckpoint("my_keras_model.h5",
                                                    save_best_only=True)
    history = model.fit(X_train, y_train, epochs=10,
                        validation_data=(X_valid, y_valid), callbacks=[checkpoint_cb])
    ```
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        if not isinstance(filepath, (str, os.PathLike)):
            raise TypeError("ModelCheckpoint: `filepath` must be a string or path-like "
                            f"object, received {type(filepath).__name__}: {filepath!r}.")
        self.filepath = os.fspath(filepath)
        if save_weights_only and self.filepath.endswith(".keras"):
            raise ValueError("ModelCheckpoint: with `save_weights_only=True` the filepath must "
                             "not end in `.keras` (use `.weights.h5`). Received: "
                             f"filepath={self.filepath}")
        if not save_weights_only and not self.filepath.endswith((".keras", ".h5", ".hdf5")):
            raise ValueError("ModelCheckpoint: the filepath must end in `.keras` (Keras model "
                             "format) or `.h5` (tf.keras 2 HDF5 format); TensorFlow SavedModel "
                             f"directories are not supported. Received: filepath={self.filepath}")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(
                save_freq, int) or save_freq < 1):
            raise ValueError(f"Unrecognized save_freq: {save_freq!r}. Expected save_freq are "
                             "'epoch' or positive integer values.")
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = resolve_mode("ModelCheckpoint", monitor, mode)
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self._better = np.less if self.mode == "min" else np.greater
        if initial_value_threshold is not None:
            self.best = float(initial_value_threshold)
        else:
            self.best = np.inf if self.mode == "min" else -np.inf
        # Saving per epoch needs the epoch-end hook only, so training keeps whole chunks;
        # saving every N batches needs every batch.
        self._chunk_safe = save_freq == "epoch"
        self._current_epoch = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            self._batches_seen_since_last_saving += batch + 1
        else:
            self._batches_seen_since_last_saving += batch - self._last_batch_seen
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._last_batch_seen = None
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _get_file_path(self, epoch, batch, logs):
        """`filepath` with `{epoch}`, `{batch}` and the logs' values filled in."""
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise ValueError(f'Failed to format this callback filepath: "{self.filepath}". '
                             f"Reason: no value for {e}; available keys: "
                             f"{['epoch'] + ([] if batch is None else ['batch']) + list(logs)}"
                             ) from None

    def _save_model(self, epoch, batch, logs):
        logs = logs or {}
        filepath = self._get_file_path(epoch, batch, logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"Can save best model only with {self.monitor} available, "
                              "skipping.", stacklevel=3)
                return
            if not self._better(current, self.best):
                if self.verbose > 0:
                    print_msg("\nEpoch %05d: %s did not improve from %0.5f"
                              % (epoch + 1, self.monitor, self.best))
                return
            if self.verbose > 0:
                print_msg("\nEpoch %05d: %s improved from %0.5f to %0.5f, saving model to %s"
                          % (epoch + 1, self.monitor, self.best, current, filepath))
            self.best = current
        elif self.verbose > 0:
            print_msg("\nEpoch %05d: saving model to %s" % (epoch + 1, filepath))
        if os.path.isdir(filepath):
            raise IsADirectoryError("Please specify a non-directory filepath for "
                                    "ModelCheckpoint. Filepath used is an existing "
                                    f"directory: {filepath}")
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
