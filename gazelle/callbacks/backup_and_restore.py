"""BackupAndRestore: resume an interrupted `fit` where it stopped. [side: stdlib, numpy,
gazelle.utils]

The whole training state goes into one file, written with `atomic_write` (temp file, fsync,
`os.replace`), so a process killed at any moment leaves the previous backup or the new one,
never a torn one. The file is `MAGIC`, the sha256 of the rest, an 8-byte manifest length,
a JSON manifest (next epoch, groups of variables with path/shape/dtype) and the raw
little-endian bytes of every value in manifest order. A file that fails any check is ignored
with a warning. The model arrives through the hooks; nothing here imports jax or saving.
"""
import hashlib
import json
import math
import os
import warnings

import numpy as np

from gazelle.callbacks.callback import Callback
from gazelle.utils.io import atomic_write

MAGIC = b"GAZELLE-BACKUP-1\n"
_FILENAME = "latest.backup"
_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "float32", "float64")


class CorruptBackupError(ValueError):
    """A backup file that is not one this callback wrote whole."""


class BackupAndRestore(Callback):
    """Callback to back up and restore the training state.

    At the end of each epoch (or every `save_freq` batches) the callback writes every value
    `fit` needs to continue bit for bit: all `model.variables` (weights and random-seed
    states, so `Dropout` replays the same masks), all `model.optimizer.variables`
    (iterations, learning rate, slots), the compiled metrics' variables and the next epoch.
    If a later `fit` starts while a backup exists, the values are restored and training
    resumes at the saved epoch. When `fit` completes, the backup is deleted.

    A resumed run repeats an uninterrupted one exactly when the restarted script builds the
    same model and calls `fit` with the same arguments after the same
    `keras.utils.set_random_seed(...)`: the epoch shuffle is derived from the seed, not saved.
    With an integer `save_freq` the backup is taken mid-epoch, and (as in Keras 3) a resumed
    run starts that epoch again from its first batch with the mid-epoch weights, so it is not
    bit-identical to an uninterrupted run. The state of other callbacks (`EarlyStopping`'s
    patience counter, for instance) is not saved.

    Args:
        backup_dir: String, path of directory where to store the data needed to restore
            the model. The directory cannot be reused elsewhere to store other files.
        save_freq: `"epoch"` or integer. When set to `"epoch"` the callback saves the
            checkpoint at the end of each epoch. When set to an integer, the callback saves
            the checkpoint every `save_freq` batches. Defaults to `"epoch"`.
        double_checkpoint: Boolean. If enabled, the callback keeps the previous backup
            next to the current one and restores it if the current one cannot be read.
            Defaults to `False`.
        delete_checkpoint: Boolean. If `True`, the backup is deleted after training is
            finished. Use `False` to keep it. Defaults to `True`.

    ```python
    callback = keras.callbacks.BackupAndRestore(backup_dir="/tmp/backup")
    model.fit(x, y, epochs=10, callbacks=[callback])   # rerun after a crash: resumes
    ```
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True):
        super().__init__()
        if not isinstance(backup_dir, (str, os.PathLike)):
            raise TypeError("BackupAndRestore: `backup_dir` must be a string or path-like "
                            f"object, received {type(backup_dir).__name__}: {backup_dir!r}.")
        if not os.fspath(backup_dir):
            raise ValueError("BackupAndRestore: `backup_dir` must be a directory path, "
                             "received an empty string.")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(
                save_freq, int) or save_freq < 1):
            raise ValueError("BackupAndRestore: `save_freq` must be 'epoch' or a positive "
                             f"int, received {save_freq!r}.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self._path = os.path.join(self.backup_dir, _FILENAME)
        self._prev_path = self._path + ".prev"
        # Saving per epoch needs only the epoch-end hook, so fit keeps whole chunks.
        self._chunk_safe = save_freq == "epoch"
        self._epoch = 0
        self._batches_since_save = 0
        self._last_batch = None

    # -- hooks -----------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        model = self.model
        candidates = [self._path] + ([self._prev_path] if self.double_checkpoint else [])
        for path in candidates:
            if not os.path.exists(path):
                continue
            try:
                manifest, values = read_backup(path)
            except CorruptBackupError as e:
                warnings.warn(f"BackupAndRestore: ignoring the backup {path}: {e}",
                              stacklevel=2)
                continue
            restore(model, manifest, values, path)
            self._epoch = manifest["epoch"]
            model._initial_epoch = manifest["epoch"]
            return

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._last_batch = None

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        if self._last_batch is None or batch <= self._last_batch:
            self._batches_since_save += batch + 1
        else:
            self._batches_since_save += batch - self._last_batch
        self._last_batch = batch
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(epoch=self._epoch, step=batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch=epoch + 1, step=0)

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint or not os.path.isdir(self.backup_dir):
            return
        for name in os.listdir(self.backup_dir):
            # Our files, and temp files left by a process killed while writing one.
            if name in (_FILENAME, _FILENAME + ".prev") or (
                    name.startswith("." + _FILENAME) and name.endswith(".tmp")):
                os.remove(os.path.join(self.backup_dir, name))
        try:
            os.rmdir(self.backup_dir)
        except OSError:
            pass  # the directory holds other files: leave it

    # -- writing ---------------------------------------------------------------------------
    def _save(self, epoch, step):
        os.makedirs(self.backup_dir, exist_ok=True)
        data = encode_backup(training_state(self.model), epoch=epoch, step=step)
        if self.double_checkpoint and os.path.exists(self._path):
            os.replace(self._path, self._prev_path)
        atomic_write(self._path, data)


def training_state(model):
    """The Variables a backup holds, as `{group: [Variable, ...]}` in a fixed order."""
    optimizer = getattr(model, "optimizer", None)
    return {
        "model": list(model.variables),
        "optimizer": list(optimizer.variables) if optimizer is not None else [],
        "metrics": [v for metric in getattr(model, "metrics", []) for v in metric.variables],
    }


def encode_backup(groups, epoch, step=0):
    """Returns the bytes of a backup file holding the values of `groups` of Variables."""
    manifest = {"epoch": int(epoch), "step": int(step), "groups": {}}
    payload = []
    for group, variables in groups.items():
        entries = []
        for v in variables:
            value = np.asarray(v.value)
            value = value.astype(value.dtype.newbyteorder("<"), copy=False)   # tobytes: C order
            entries.append({"path": v.path, "shape": list(value.shape),
                            "dtype": value.dtype.name})
            payload.append(value.tobytes())
        manifest["groups"][group] = entries
    head = json.dumps(manifest).encode("utf-8")
    body = len(head).to_bytes(8, "little") + head + b"".join(payload)
    return MAGIC + hashlib.sha256(body).digest() + body


def read_backup(path):
    """Reads and verifies a backup file.

    Returns `(manifest, {group: [np.ndarray, ...]})`; raises `CorruptBackupError` if the
    file is not a complete backup written by `encode_backup`.
    """
    with open(path, "rb") as f:
        data = f.read()
    start = len(MAGIC) + 32
    if not data.startswith(MAGIC) or len(data) < start + 8:
        raise CorruptBackupError("not a BackupAndRestore file, or cut short.")
    body = data[start:]
    if hashlib.sha256(body).digest() != data[len(MAGIC):start]:
        raise CorruptBackupError("the sha256 checksum does not match the content.")
    size = int.from_bytes(body[:8], "little")
    try:
        manifest = json.loads(body[8:8 + size].decode("utf-8"))
        epoch, groups = manifest["epoch"], manifest["groups"]
        if not isinstance(epoch, int) or epoch < 0:
            raise CorruptBackupError(f"bad epoch {epoch!r}.")
        values, offset, payload = {}, 8 + size, body
        for group, entries in groups.items():
            values[group] = []
            for entry in entries:
                if entry["dtype"] not in _DTYPES:
                    raise CorruptBackupError(f"unsupported dtype {entry['dtype']!r}.")
                dtype = np.dtype(entry["dtype"]).newbyteorder("<")
                shape = tuple(int(d) for d in entry["shape"])
                if any(d < 0 for d in shape):
                    raise CorruptBackupError(f"negative dimension in shape {shape}.")
                nbytes = math.prod(shape) * dtype.itemsize
                if offset + nbytes > len(payload):
                    raise CorruptBackupError("the manifest describes more bytes than it holds.")
                values[group].append(
                    np.frombuffer(payload, dtype, math.prod(shape), offset).reshape(shape))
                offset += nbytes
    except (KeyError, TypeError, AttributeError, UnicodeDecodeError, json.JSONDecodeError,
            ValueError) as e:
        if isinstance(e, CorruptBackupError):
            raise
        raise CorruptBackupError(f"unreadable manifest ({type(e).__name__}: {e}).") from None
    if offset != len(payload):
        raise CorruptBackupError("the file holds bytes the manifest does not describe.")
    return manifest, values


def restore(model, manifest, values, path="the backup"):
    """Assigns a backup's values to the model's Variables after checking they match.

    Raises `ValueError` (and changes nothing) if the model's variables differ in number,
    shape or dtype from the ones saved.
    """
    groups = training_state(model)
    for group, variables in groups.items():
        saved = manifest["groups"].get(group, [])
        if len(saved) != len(variables):
            raise ValueError(
                f"BackupAndRestore: the backup {path} holds {len(saved)} {group} variables but "
                f"the model has {len(variables)}; the backup must come from the same model, "
                "compiled the same way. Delete the backup directory to start afresh.")
        for v, entry in zip(variables, saved):
            if tuple(entry["shape"]) != tuple(v.shape) or entry["dtype"] != v.dtype:
                raise ValueError(
                    f"BackupAndRestore: {group} variable '{v.path}' has shape {tuple(v.shape)} "
                    f"and dtype {v.dtype}, but the backup {path} holds '{entry['path']}' with "
                    f"shape {tuple(entry['shape'])} and dtype {entry['dtype']}. The backup "
                    "must come from the same model; delete the backup directory to start "
                    "afresh.")
    for group, variables in groups.items():
        for v, value in zip(variables, values[group]):
            v.assign(value)
