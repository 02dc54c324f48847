"""TensorBoard: write training logs as TensorBoard event files. [side: stdlib, numpy, tensorboardX]

The event files are written with `tensorboardX` (pure Python + protobuf; no TensorFlow or
PyTorch needed), an optional dependency: `pip install "gazelle[tensorboard]"`.
"""
import itertools
import numbers
import os
import time
import warnings

import numpy as np

from gazelle.callbacks.callback import Callback

_FILE_COUNTER = itertools.count(1)
_LEGACY_KWARGS = ("batch_size", "write_grads", "embeddings_layer_names", "embeddings_data")


def _summary_writer_class():
    try:
        from tensorboardX import SummaryWriter
    except ImportError as error:
        raise ImportError(
            "The TensorBoard callback writes event files with the `tensorboardX` package, "
            "which is not installed. Install it with `pip install \"gazelle[tensorboard]\"` "
            "(or `pip install tensorboardX`).") from error
    return SummaryWriter


def _scalars(logs):
    return {name: float(value) for name, value in (logs or {}).items()
            if isinstance(value, numbers.Real) and not isinstance(value, bool)}


class TensorBoard(Callback):
    """Enable visualizations for TensorBoard.

    TensorBoard is a visualization tool provided with TensorFlow. This callback logs
    events for TensorBoard as tf.keras 2 does: after each epoch, the training results go
    to `log_dir/train` and the validation results to `log_dir/validation`, with tags
    `epoch_loss`, `epoch_accuracy`, ... and the epoch as the step. With `update_freq`
    set to `"batch"` or an integer, the running results are also written as
    `batch_loss`, `batch_accuracy`, ... with the global batch count as the step.

    Not written: graphs (`write_graph` is accepted and ignored), weight images,
    embeddings and profiles; asking for the last three gives a warning.

    Args:
        log_dir: the path of the directory where to save the log files to be parsed by
            TensorBoard. Defaults to `"logs"`.
        histogram_freq: frequency (in epochs) at which to compute weight histograms for
            the layers of the model. If set to 0, histograms won't be computed.
            Defaults to `0`.
        write_graph: whether to visualize the graph in TensorBoard. Accepted for
            compatibility; no graph is written. Defaults to `True`.
        write_images: whether to write model weights to visualize as image in
            TensorBoard. Not supported. Defaults to `False`.
        write_steps_per_second: whether to log the training steps per second into
            TensorBoard (as `epoch_steps_per_second`). Defaults to `False`.
        update_freq: `"batch"` or `"epoch"` or integer. When using `"epoch"`, writes the
            losses and metrics to TensorBoard after every epoch. If using an integer,
            let's say `1000`, the callback will write the metrics and losses to
            TensorBoard every 1000 batches. `"batch"` is a synonym for 1. Writing every
            batch makes the training loop run one batch per compiled step, which slows
            it down. Defaults to `"epoch"`.
        profile_batch: profile the batch(es) to sample compute characteristics. Not
            supported (use `jax.profiler`). Defaults to `0`.
        embeddings_freq: frequency (in epochs) at which embedding layers will be
            visualized. Not supported. Defaults to `0`.
        embeddings_metadata: Dictionary which maps embedding layer names to the filename
            of a file in which to save metadata for the embedding layer. Not supported.
            Defaults to `None`.

    ```python
    tensorboard_callback = keras.callbacks.TensorBoard(log_dir="./logs")
    model.fit(x_train, y_train, epochs=2, callbacks=[tensorboard_callback])
    # Then run the tensorboard command to view the visualizations.
    ```
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None, **kwargs):
        super().__init__()
        for name in kwargs:
            if name not in _LEGACY_KWARGS:
                raise TypeError(f"TensorBoard: unexpected keyword argument `{name}`; valid "
                                f"extra (deprecated) arguments: {list(_LEGACY_KWARGS)}.")
            warnings.warn(f"TensorBoard: `{name}` is deprecated and ignored.", stacklevel=2)
        self._writer_class = _summary_writer_class()
        self.log_dir = os.fspath(log_dir)
        if (isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int)
                or histogram_freq < 0):
            raise ValueError("TensorBoard: `histogram_freq` must be a non-negative int; "
                             f"received {histogram_freq!r}.")
        self.histogram_freq = histogram_freq
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (isinstance(update_freq, bool)
                                       or not isinstance(update_freq, int) or update_freq < 1):
            raise ValueError("TensorBoard: `update_freq` must be 'epoch', 'batch' or a "
                             f"positive int; received {update_freq!r}.")
        self.update_freq = update_freq
        self.profile_batch = profile_batch
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        for name, value in (("write_images", write_images), ("profile_batch", profile_batch),
                            ("embeddings_freq", embeddings_freq),
                            ("embeddings_metadata", embeddings_metadata)):
            if value:
                warnings.warn(f"TensorBoard: `{name}` is not supported; nothing is written "
                              "for it.", stacklevel=2)
        # Epoch-level logging is correct with one call per compiled chunk of batches.
        self._chunk_safe = update_freq == "epoch"
        self._writers = {}
        self._train_step = 0
        self._epoch_start = None

    def _writer(self, name):
        """The event writer of `log_dir/name`, created on first use (as tf.keras does)."""
        if name not in self._writers:
            # tf.keras's file name pattern: ...tfevents.<time>.<host>.<pid>.<n>.v2; the pid
            # and counter keep two writers opened in the same second from sharing a file.
            suffix = f".{os.getpid()}.{next(_FILE_COUNTER)}.v2"
            self._writers[name] = self._writer_class(
                logdir=os.path.join(self.log_dir, name), filename_suffix=suffix)
        return self._writers[name]

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def on_train_begin(self, logs=None):
        # Batch steps continue across fit() calls, like the model's train counter.
        iterations = getattr(getattr(self.model, "optimizer", None), "iterations", None)
        if iterations is not None:
            self._train_step = int(np.asarray(getattr(iterations, "value", iterations)))

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch":
            return
        self._train_step += 1
        if self._train_step % self.update_freq == 0:
            writer = self._writer("train")
            for name, value in _scalars(logs).items():
                writer.add_scalar("batch_" + name, value, self._train_step)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        scalars = _scalars(logs)
        train = {k: v for k, v in scalars.items() if not k.startswith("val_")}
        val = {k[len("val_"):]: v for k, v in scalars.items() if k.startswith("val_")}
        if self.write_steps_per_second and self._epoch_start is not None:
            elapsed = max(time.time() - self._epoch_start, 1e-9)
            train["steps_per_second"] = (self.params or {}).get("steps", 0) / elapsed
        for name, values in (("train", train), ("validation", val)):
            if values:
                writer = self._writer(name)
                for key, value in values.items():
                    writer.add_scalar("epoch_" + key, value, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        for writer in self._writers.values():
            writer.flush()

    def _log_weights(self, epoch):
        writer = self._writer("train")
        for layer in self.model.layers:
            for weight in layer.weights:
                # tf.keras 2 tags are variable names with ':' made '_': "dense/kernel_0".
                name = getattr(weight, "path", weight.name) + "_0"
                writer.add_histogram(name, np.asarray(weight.value), epoch)

    def on_train_end(self, logs=None):
        self._close_writers()
