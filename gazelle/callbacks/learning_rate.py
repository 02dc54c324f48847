"""LearningRateScheduler and ReduceLROnPlateau: change `model.optimizer.learning_rate` between epochs. [side: stdlib, numpy, gazelle.utils]

Both read the rate with `float(np.asarray(optimizer.learning_rate))` and write it by
assigning `optimizer.learning_rate = value` (the optimizer keeps it as state, so the
compiled step is reused). Like tf.keras 2, they log the rate as `logs["lr"]` (Keras 3 uses
`"learning_rate"`), so `history.history["lr"]` exists.
"""
import inspect
import warnings

import numpy as np

from gazelle.callbacks.callback import Callback
from gazelle.callbacks.early_stopping import resolve_mode
from gazelle.utils.io import print_msg


def _get_lr(optimizer, caller):
    if not hasattr(optimizer, "learning_rate"):
        raise ValueError(f'{caller}: the optimizer must have a "learning_rate" attribute, '
                         f"but {type(optimizer).__name__} has none.")
    return float(np.asarray(optimizer.learning_rate))


def _accepts_two_args(schedule):
    try:
        inspect.signature(schedule).bind(0, 0.0)
    except TypeError:
        return False
    except ValueError:  # no signature available (some builtins): assume the new API
        return True
    return True


class LearningRateScheduler(Callback):
    """Learning rate scheduler.

    At the beginning of every epoch, this callback gets the updated learning rate value
    from the `schedule` function, with the current epoch and current learning rate, and
    applies the updated learning rate on the optimizer.

    Args:
        schedule: A function that takes an epoch index (integer, indexed from 0) and
            current learning rate (float) as inputs and returns a new learning rate as
            output (float). A function of the epoch alone is accepted too.
        verbose: Integer. 0: quiet, 1: log update messages. Defaults to `0`.

    Unlike Keras, which accepts only floats, an integer rate from `schedule` is accepted.

    ```python
    def scheduler(epoch, lr):
        return lr if epoch < 10 else lr * 0.9
    callback = LearningRateScheduler(scheduler)
    ```
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError("LearningRateScheduler: `schedule` must be a function of "
                            f"(epoch, lr), but received {type(schedule).__name__}.")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        lr = _get_lr(optimizer, "LearningRateScheduler")
        lr = self.schedule(epoch, lr) if _accepts_two_args(self.schedule) else self.schedule(epoch)
        if np.ndim(lr) != 0 or not np.issubdtype(np.asarray(lr).dtype, np.number):
            raise ValueError('The output of the "schedule" function should be a float, '
                             f"but it returned {lr!r} for epoch {epoch}.")
        optimizer.learning_rate = float(np.asarray(lr))
        if self.verbose > 0:
            print_msg("\nEpoch %05d: LearningRateScheduler reducing learning rate to %s."
                      % (epoch + 1, lr))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = _get_lr(self.model.optimizer, "LearningRateScheduler")


class ReduceLROnPlateau(Callback):
    """Reduce learning rate when a metric has stopped improving.

    Models often benefit from reducing the learning rate by a factor of 2-10 once learning
    stagnates. This callback monitors a quantity and if no improvement is seen for a
    'patience' number of epochs, the learning rate is reduced: `new_lr = lr * factor`.

    Args:
        monitor: String. Quantity to be monitored. Defaults to `"val_loss"`.
        factor: Float. Factor by which the learning rate will be reduced.
            `new_lr = lr * factor`. Defaults to `0.1`.
        patience: Integer. Number of epochs with no improvement after which learning rate
            will be reduced. Defaults to `10`.
        verbose: Integer. 0: quiet, 1: update messages. Defaults to `0`.
        mode: String. One of `{'auto', 'min', 'max'}`. In `'min'` mode, the learning rate
            will be reduced when the quantity monitored has stopped decreasing; in `'max'`
            mode it will be reduced when the quantity monitored has stopped increasing; in
            `'auto'` mode, the direction is automatically inferred from the name of the
            monitored quantity. Defaults to `"auto"`.
        min_delta: Float. Threshold for measuring the new optimum, to only focus on
            significant changes. Defaults to `1e-4`.
        cooldown: Integer. Number of epochs to wait before resuming normal operation after
            the learning rate has been reduced. Defaults to `0`.
        min_lr: Float. Lower bound on the learning rate. Defaults to `0`.
        **kwargs: `epsilon`, the deprecated name of `min_delta`.

    ```python
    reduce_lr = ReduceLROnPlateau(monitor="val_loss", factor=0.2, patience=5, min_lr=0.001)
    model.fit(x_train, y_train, callbacks=[reduce_lr])
    ```
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if "epsilon" in kwargs:
            min_delta = kwargs.pop("epsilon")
            warnings.warn("`epsilon` argument is deprecated and will be removed, use "
                          "`min_delta` instead.", stacklevel=2)
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unexpected keyword argument(s) "
                            f"{sorted(kwargs)}.")
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0. "
                             f"Received factor={factor}")
        self.monitor = monitor
        self.mode = resolve_mode("ReduceLROnPlateau", monitor, mode)
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.min_delta = abs(min_delta)
        self.cooldown = cooldown
        self.min_lr = min_lr
        self._reset()

    def _reset(self):
        self.best = np.inf if self.mode == "min" else -np.inf
        self.cooldown_counter = 0
        self.wait = 0

    def _is_improvement(self, value):
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def in_cooldown(self):
        """Returns whether the callback is waiting after a reduction."""
        return self.cooldown_counter > 0

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["lr"] = _get_lr(optimizer, "ReduceLROnPlateau")
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn("Learning rate reduction is conditioned on metric "
                          f"`{self.monitor}` which is not available. Available metrics "
                          f"are: {','.join(logs)}", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = _get_lr(optimizer, "ReduceLROnPlateau")
                if old_lr > float(np.float32(self.min_lr)):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        print_msg("\nEpoch %05d: ReduceLROnPlateau reducing learning rate "
                                  "to %s." % (epoch + 1, new_lr))
                    self.cooldown_counter = self.cooldown
                    self.wait = 0
