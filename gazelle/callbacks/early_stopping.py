"""EarlyStopping: stop training when a monitored metric has stopped improving. [side: stdlib, gazelle.utils]"""
import warnings

from gazelle.callbacks.callback import Callback
from gazelle.utils.io import print_msg

_MODES = ("auto", "min", "max")
# In "auto" mode a metric whose name contains one of these is maximized, any other minimized.
_HIGHER_IS_BETTER = ("acc", "auc", "precision", "recall", "fmeasure", "f1")


def resolve_mode(caller, monitor, mode):
    """Returns `"min"` or `"max"` for `monitor`; `"auto"` decides from the metric's name."""
    if mode not in _MODES:
        raise ValueError(f"{caller}: `mode` must be one of {list(_MODES)}, "
                         f"but received {mode!r}.")
    if mode != "auto":
        return mode
    name = monitor[len("val_"):] if monitor.startswith("val_") else monitor
    return "max" if any(word in name for word in _HIGHER_IS_BETTER) else "min"


class EarlyStopping(Callback):
    """Stop training when a monitored metric has stopped improving.

    At the end of each epoch the monitored value is compared with the best one so far;
    after `patience` epochs without an improvement of more than `min_delta`, training stops
    (`model.stop_training = True`).

    Args:
        monitor: Quantity to be monitored. Defaults to `"val_loss"`.
        min_delta: Minimum change in the monitored quantity to qualify as an improvement,
            i.e. an absolute change of less than min_delta, will count as no improvement.
            Defaults to `0`.
        patience: Number of epochs with no improvement after which training will be
            stopped. Defaults to `0`.
        verbose: Verbosity mode, 0 or 1. Mode 1 displays messages when the callback takes
            an action. Defaults to `0`.
        mode: One of `{"auto", "min", "max"}`. In `min` mode, training will stop when the
            quantity monitored has stopped decreasing; in `"max"` mode it will stop when the
            quantity monitored has stopped increasing; in `"auto"` mode, the direction is
            automatically inferred from the name of the monitored quantity (accuracy-like
            names are maximized). Defaults to `"auto"`.
        baseline: Baseline value for the monitored quantity. If not `None`, training will
            stop if the model doesn't show improvement over the baseline. Defaults to `None`.
        restore_best_weights: Whether to restore model weights from the epoch with the best
            value of the monitored quantity. If `False`, the model weights obtained at the
            last step of training are used. Defaults to `False`.
        start_from_epoch: Number of epochs to wait before starting to monitor improvement.
            Defaults to `0`.

    ```python
    callback = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    model.fit(x, y, epochs=100, validation_split=0.1, callbacks=[callback])
    ```
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor = monitor
        self.mode = resolve_mode("EarlyStopping", monitor, mode)
        self.min_delta = abs(min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.on_train_begin()

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        if self.mode == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_epoch_end(self, epoch, logs=None):
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()  # the first monitored epoch
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print_msg("Epoch %05d: early stopping" % (self.stopped_epoch + 1))
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print_msg("Restoring model weights from the end of the best epoch.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        """Returns `logs[monitor]`, or `None` with a warning when it is missing."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is "
                          f"not available. Available metrics are: {','.join(logs)}",
                          stacklevel=2)
        return value
