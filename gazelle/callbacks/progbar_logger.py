"""ProgbarLogger: the console output of fit/evaluate/predict, tf.keras 2.0 style. [side: stdlib, gazelle.utils]

    Train on 55000 samples, validate on 5000 samples
    Epoch 1/10
    55000/55000 [==============================] - 2s 36us/sample - loss: 0.7125 - accuracy: 0.7660 - val_loss: 0.5080 - val_accuracy: 0.8282

The logs it receives are already epoch means (the trainer keeps running means on device), so
every value is shown as it comes, never averaged again.
"""
import numbers

from gazelle.callbacks.callback import Callback
from gazelle.utils.io import print_msg
from gazelle.utils.progbar import Progbar

# At most about ten redraws a second (plus the final one).
_INTERVAL = 0.1


class ProgbarLogger(Callback):
    """Callback that prints metrics to stdout.

    Added by `fit`, `evaluate` and `predict` when `verbose` is not 0. It prints
    `Train on N samples` at the start of training, `Epoch i/n` before each epoch (when
    there is more than one), and a progress bar over the samples of each epoch or
    evaluation. Validation inside `fit` is silent; its results appear on the epoch's line.

    Args:
        count_mode: One of `"steps"` or `"samples"`. Whether the progress bar should
            count samples seen or steps (batches) seen. Defaults to `"samples"`.
        stateful_metrics: Iterable of string names of metrics that should *not* be
            averaged over an epoch. Accepted for compatibility: every value gazelle logs
            is already an epoch mean, so all are displayed as-is. Defaults to `None`.
    """

    _chunk_safe = True  # a chunk's logs are running means, so one update per chunk is right

    def __init__(self, count_mode="samples", stateful_metrics=None):
        super().__init__()
        if count_mode not in ("samples", "steps"):
            raise ValueError("ProgbarLogger: `count_mode` must be one of ['samples', 'steps'], "
                             f"but received {count_mode!r}.")
        self.use_steps = count_mode == "steps"
        self._count_mode = count_mode
        self.style = "tf_keras2"
        self.stateful_metrics = set(stateful_metrics or ())
        self.verbose = 1
        self.epochs = 1
        self.progbar = None
        self.target = None
        self.seen = 0
        self._in_fit = False
        self._batch_keys = None

    def _param(self, key, default=None):
        value = (self.params or {}).get(key)
        return default if value is None else value

    def _read_params(self):
        from gazelle import config
        # Keras 3's style counts steps and says nothing before the first epoch.
        self.style = config.progress_style()
        self.use_steps = self._count_mode == "steps" or self.style == "keras3"
        verbose = self._param("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = self._param("epochs", 1)

    def _start_bar(self):
        self.seen = 0
        self._batch_keys = None
        self.target = self._param("steps") if self.use_steps else self._param("samples")
        self.progbar = None
        if self.verbose:
            self.progbar = Progbar(self.target, verbose=self.verbose, interval=_INTERVAL,
                                   unit_name="step" if self.use_steps else "sample",
                                   style=self.style)

    def _values(self, logs):
        # tf.keras shows the names in params["metrics"]: loss, metrics, then val_ ones.
        names = list(logs) if self.style == "keras3" else self._param("metrics")
        if names is None:
            base = self._batch_keys or [k for k in logs if not k.startswith("val_")]
            base = sorted(base, key=lambda k: k != "loss")
            names = base + ["val_" + k for k in base if "val_" + k not in base]
        return [(k, logs[k]) for k in names
                if isinstance(logs.get(k), numbers.Real) and not isinstance(logs[k], bool)]

    def _update(self, values, finalize):
        self.progbar.stateful_metrics.update(name for name, _ in values)
        self.progbar.update(self.seen, values, finalize=finalize)

    def _batch_update(self, batch, logs):
        if self.progbar is None:
            return
        logs = logs or {}
        if self._batch_keys is None:
            self._batch_keys = list(logs)
        if self.use_steps:
            self.seen = batch + 1
        else:
            self.seen = (batch + 1) * self._param("batch_size", 1)
            if self.target is not None:
                self.seen = min(self.seen, self.target)
        # The last batch is drawn by the final update, with the validation results.
        if self.target is None or self.seen < self.target:
            self._update(self._values(logs), finalize=False)

    def _finalize(self, logs):
        if self.progbar is not None:
            self._update(self._values(logs or {}), finalize=True)
            self.progbar = None

    def on_train_begin(self, logs=None):
        self._in_fit = True
        self._read_params()
        if not self.verbose or self.style == "keras3":
            return
        if self.use_steps:
            count, val_count, unit = self._param("steps"), self._param("val_steps", 0), "steps"
        else:
            count, val_count, unit = self._param("samples"), self._param("val_samples", 0), "samples"
        if count is None:  # size unknown (a generator): nothing worth saying
            return
        # tf.keras 2: "Train on 55000 samples, validate on 5000 samples" for arrays,
        # "Train for 100 steps, validate for 10 steps" for generators and Sequences.
        word = "for" if self.use_steps else "on"
        message = "Train {} {} {}".format(word, count, unit)
        if val_count:
            message += ", validate {} {} {}".format(word, val_count, unit)
        print_msg(message)

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose and self.epochs > 1:
            print_msg("Epoch %d/%d" % (epoch + 1, self.epochs))
        self._start_bar()

    def on_train_batch_end(self, batch, logs=None):
        self._batch_update(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize(logs)

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._read_params()
            self._start_bar()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._batch_update(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finalize(logs)

    def on_predict_begin(self, logs=None):
        self._read_params()
        self._start_bar()

    def on_predict_batch_end(self, batch, logs=None):
        self._batch_update(batch, None)

    def on_predict_end(self, logs=None):
        self._finalize(None)
