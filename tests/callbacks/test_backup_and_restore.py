"""BackupAndRestore: an interrupted fit resumes bit for bit, also after SIGKILL."""
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import gazelle as keras
from gazelle.core.variables import Variable
from gazelle.callbacks import backup_and_restore as bar
from gazelle.callbacks.backup_and_restore import BackupAndRestore, CorruptBackupError

EPOCHS = 6


class Interrupt(keras.callbacks.Callback):
    """Raises at the start of epoch `at`, as a crash would."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise RuntimeError("Interrupting!")


def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 5)).astype("float32")
    return x, (x @ rng.standard_normal(5)).astype("float32")


def seeded_model():
    """The same model on every call, as a restarted script would build it."""
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dropout(0.5), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse", metrics=["mae"])
    return model


def state_of(model):
    return [np.asarray(v.value) for v in model.variables + model.optimizer.variables]


def fit(model, callbacks, epochs=EPOCHS):
    x, y = data()
    return model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, callbacks=callbacks)


def interrupted_then_resumed(directory, at=3):
    with pytest.raises(RuntimeError, match="Interrupting"):
        fit(seeded_model(), [BackupAndRestore(directory), Interrupt(at)])
    model = seeded_model()
    history = fit(model, [BackupAndRestore(directory)])
    return model, history


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    model = seeded_model()
    fit(model, [BackupAndRestore(tmp_path_factory.mktemp("ref") / "backup")])
    return state_of(model)


def test_resumed_fit_is_bit_identical_and_cleans_up(tmp_path, reference):
    directory = tmp_path / "backup"
    model, history = interrupted_then_resumed(directory)
    assert len(history.history["loss"]) == EPOCHS - 3
    for ours, theirs in zip(state_of(model), reference):
        assert np.array_equal(ours, theirs)
    assert not directory.exists()          # deleted after the successful end


def test_the_seed_state_is_needed(tmp_path, reference, monkeypatch):
    """Negative control: a backup without the seed-generator states resumes with other
    Dropout masks and ends with other weights, so the test above can fail."""
    full = bar.training_state

    def without_seeds(model):
        groups = full(model)
        groups["model"] = [v for v in groups["model"] if "seed" not in v.path]
        return groups

    monkeypatch.setattr(bar, "training_state", without_seeds)
    model, _ = interrupted_then_resumed(tmp_path / "backup")
    assert not all(np.array_equal(a, b) for a, b in zip(state_of(model), reference))


@pytest.fixture(scope="module")
def kept(tmp_path_factory):
    """A model trained 2 epochs, its backups kept (current and previous), and what a spy
    read from the backup at each epoch end."""
    directory = tmp_path_factory.mktemp("kept") / "backup"
    seen = []
    spy = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(
        bar.read_backup(directory / "latest.backup")[0]["epoch"]))
    model = seeded_model()
    fit(model, [BackupAndRestore(directory, double_checkpoint=True, delete_checkpoint=False),
                spy], epochs=2)
    return model, directory, seen


def copy_backup(kept, tmp_path):
    directory = tmp_path / "backup"
    directory.mkdir()
    for name in os.listdir(kept[1]):
        (directory / name).write_bytes((kept[1] / name).read_bytes())
    return directory


def begin(model, callback):
    """What fit does before its first epoch: returns the epoch it would start at."""
    model._initial_epoch = None
    callback.set_model(model)
    callback.on_train_begin()
    return model._initial_epoch


def test_backup_is_written_each_epoch_and_kept_without_delete(kept):
    model, directory, seen = kept
    assert seen == [1, 2]                  # the next epoch to run
    assert sorted(os.listdir(directory)) == ["latest.backup", "latest.backup.prev"]
    manifest, values = bar.read_backup(directory / "latest.backup")
    for saved, v in zip(values["model"] + values["optimizer"],
                        model.variables + model.optimizer.variables):
        assert np.array_equal(saved, np.asarray(v.value))
    assert manifest["groups"]["optimizer"][0]["path"].endswith("iteration")
    assert values["optimizer"][0] == 12    # 2 epochs of 6 steps


def test_leftover_temp_files_are_removed_at_the_end(tmp_path):
    directory = tmp_path / "backup"
    directory.mkdir()
    for name in ("latest.backup", "latest.backup.prev", ".latest.backup.abc123.tmp"):
        (directory / name).write_bytes(b"x")   # the .tmp one as a killed writer leaves it
    BackupAndRestore(directory).on_train_end()
    assert not directory.exists()


def test_other_files_in_the_directory_are_left_alone(tmp_path):
    directory = tmp_path / "backup"
    directory.mkdir()
    (directory / "latest.backup").write_bytes(b"x")
    (directory / "notes.txt").write_text("mine")
    BackupAndRestore(directory).on_train_end()
    assert os.listdir(directory) == ["notes.txt"]
    BackupAndRestore(directory, delete_checkpoint=False).on_train_end()
    assert os.listdir(directory) == ["notes.txt"]


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage", "empty"])
def test_corrupt_backup_is_ignored_with_a_warning(kept, tmp_path, damage):
    path = copy_backup(kept, tmp_path) / "latest.backup"
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        raw[-3] ^= 0x10
    elif damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "garbage":
        raw = bytearray(b"\x00garbage" * 10)
    else:
        raw = bytearray()
    path.write_bytes(bytes(raw))
    model = kept[0]
    before = state_of(model)
    with pytest.warns(UserWarning, match="ignoring the backup .*latest.backup"):
        assert begin(model, BackupAndRestore(path.parent)) is None   # start from epoch 0
    assert all(np.array_equal(a, b) for a, b in zip(before, state_of(model)))


def test_double_checkpoint_falls_back_to_the_previous_backup(kept, tmp_path):
    directory = copy_backup(kept, tmp_path)
    assert bar.read_backup(directory / "latest.backup.prev")[0]["epoch"] == 1
    (directory / "latest.backup").write_bytes(b"broken")
    model = seeded_model()
    x, y = data()
    model.fit(x, y, epochs=0, verbose=0)   # builds the optimizer and metrics, trains nothing
    with pytest.warns(UserWarning, match="ignoring the backup"):
        assert begin(model, BackupAndRestore(directory, double_checkpoint=True)) == 1
    # Without double_checkpoint the previous file is not looked at.
    with pytest.warns(UserWarning, match="ignoring the backup"):
        assert begin(model, BackupAndRestore(directory)) is None


def test_backup_of_another_model_is_refused_and_changes_nothing(kept, tmp_path):
    directory = copy_backup(kept, tmp_path)
    keras.utils.set_random_seed(3)
    other = keras.Sequential([keras.Input((5,)), keras.layers.Dense(9, activation="relu"),
                              keras.layers.Dropout(0.5), keras.layers.Dense(1)])
    other.compile(optimizer=keras.optimizers.Adam(0.02), loss="mse", metrics=["mae"])
    x, y = data()
    other.fit(x, y, epochs=0, verbose=0)
    before = state_of(other)
    with pytest.raises(ValueError, match=r"model variable 'dense\w*/kernel' has shape "
                                         r"\(5, 9\).*holds .*\(5, 8\).*same model"):
        begin(other, BackupAndRestore(directory))
    assert all(np.array_equal(a, b) for a, b in zip(before, state_of(other)))


def test_roundtrip_of_dtypes_and_shapes():
    values = [np.float32(1.5), np.arange(6, dtype="uint32").reshape(2, 3),
              np.array([True, False]), np.zeros((0, 3), "float32"), np.int32(-7),
              np.arange(4, dtype="uint8")]
    variables = [Variable(v, dtype=v.dtype, name=f"v{i}") for i, v in enumerate(values)]
    raw = bar.encode_backup({"model": variables}, epoch=4, step=2)
    manifest, out = _read_bytes(raw)
    assert (manifest["epoch"], manifest["step"]) == (4, 2)
    for a, b in zip(values, out["model"]):
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


@pytest.mark.parametrize("manifest, message", [
    (b'{"epoch": -1, "groups": {}}', "bad epoch"),
    (b'{"epoch": 1, "groups": []}', "unreadable manifest"),
    (b'{"epoch": 1}', "unreadable manifest"),
    (b'{"epoch": 1, "groups": {"model": [{"path": "a", "shape": [2], "dtype": "object"}]}}',
     "unsupported dtype"),
    (b'{"epoch": 1, "groups": {"model": [{"path": "a", "shape": [-1], "dtype": "int8"}]}}',
     "negative dimension"),
    (b'{"epoch": 1, "groups": {"model": [{"path": "a", "shape": [9], "dtype": "int8"}]}}',
     "more bytes"),
    (b'{"epoch": 1, "groups": {}}', "does not describe"),
    (b"\xff\xfe", "unreadable manifest"),
])
def test_a_checksummed_but_inconsistent_manifest_is_corrupt(manifest, message):
    """Past the checksum every field is still checked (a file written by a buggy writer)."""
    import hashlib
    body = len(manifest).to_bytes(8, "little") + manifest + b"\x01\x02"
    raw = bar.MAGIC + hashlib.sha256(body).digest() + body
    with pytest.raises(CorruptBackupError, match=message):
        _read_bytes(raw)


def _read_bytes(raw):
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "b")
        with open(path, "wb") as f:
            f.write(raw)
        return bar.read_backup(path)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"backup_dir": ""}, ValueError, "`backup_dir` must be a directory path"),
    ({"backup_dir": 3}, TypeError, "`backup_dir` must be a string.*int"),
    ({"backup_dir": "d", "save_freq": "batch"}, ValueError, "`save_freq` must be 'epoch'.*'batch'"),
    ({"backup_dir": "d", "save_freq": 0}, ValueError, "`save_freq`.*0"),
    ({"backup_dir": "d", "save_freq": True}, ValueError, "`save_freq`.*True"),
])
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        BackupAndRestore(**kwargs)


def test_batch_save_schedule_matches_keras():
    import keras as k3
    ours = BackupAndRestore("unused", save_freq=3)
    saved = []
    ours._save = lambda epoch, step: saved.append((epoch, step))
    theirs = k3.callbacks.BackupAndRestore("unused", save_freq=3)
    expected = []
    for epoch in range(3):
        ours.on_epoch_begin(epoch)
        for batch in range(5):
            ours.on_train_batch_end(batch)
            if theirs._should_save_on_batch(batch):
                expected.append((epoch, batch + 1))
        ours.on_epoch_end(epoch)
        theirs.on_epoch_end(epoch)
    assert saved == expected and len(saved) == 5


def test_epochs_left_after_a_mid_epoch_backup_match_keras(tmp_path):
    """Keras 3's doc example with save_freq=4 (5 batches an epoch), interrupted in epoch 4
    of 10: the last backup was taken after epoch 3's last batch, and the rerun starts epoch
    3 again (Keras 3's rule; see the class docstring). With save_freq="epoch" the rerun
    trains the 10 - 4 epochs left (checked in the bit-identical test above)."""
    import keras as k3

    def run(lib, backup_class, directory):
        class Stop(lib.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.epoch = epoch

            def on_train_batch_begin(self, batch, logs=None):
                if self.epoch == 4 and batch == 2:
                    raise RuntimeError("Interrupting!")

        model = lib.Sequential([lib.Input((20,)), lib.layers.Dense(10)])
        model.compile(lib.optimizers.SGD(), loss="mse")
        x, y = np.arange(100, dtype="float32").reshape(5, 20) / 100, np.zeros((5, 10))
        backup = backup_class(str(directory), save_freq=4)
        with pytest.raises(RuntimeError):
            model.fit(x, y, epochs=10, batch_size=1, verbose=0, callbacks=[backup, Stop()])
        history = model.fit(x, y, epochs=10, batch_size=1, verbose=0, callbacks=[backup])
        return len(history.history["loss"]), os.path.exists(directory)

    ours = run(keras, BackupAndRestore, tmp_path / "ours")
    assert ours == run(k3, k3.callbacks.BackupAndRestore, tmp_path / "theirs")
    assert ours == (7, False)


# -- SIGKILL: the headline ---------------------------------------------------------------

SCRIPT = os.path.join(os.path.dirname(__file__), "_resume_script.py")


def start(backup, out, cache, log):
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    return subprocess.Popen([sys.executable, SCRIPT, str(backup), str(out), str(cache)],
                            stdout=subprocess.PIPE, stderr=log, text=True, env=env)


def finish(child):
    """Waits for a child (killing it if it hangs) and returns its stdout lines."""
    try:
        return child.communicate(timeout=120)[0].split("\n")
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise


@pytest.mark.slow          # heavy: runs in CI's slow pass
def test_sigkilled_training_resumes_bit_identical(tmp_path):
    cache, log_path = tmp_path / "jax_cache", tmp_path / "child.log"
    with open(log_path, "w") as log:
        ref = start(tmp_path / "ref_backup", tmp_path / "ref.npz", cache, log)
        ref_lines = finish(ref)
    assert ref.returncode == 0, log_path.read_text()[-3000:]
    epochs = sum(line.startswith("END") for line in ref_lines)

    rng = random.Random(20240611)
    backup, out = tmp_path / "backup", tmp_path / "out.npz"
    kills, resumed_at, done = 0, [], False
    with open(log_path, "w") as log:
        for _ in range(4):
            out.unlink(missing_ok=True)
            child = start(backup, out, cache, log)
            last_end = None
            for line in child.stdout:          # wait until this run has trained an epoch
                if line.startswith("BEGIN"):
                    resumed_at.append(int(line.split()[1]))
                if line.startswith("END"):
                    last_end = int(line.split()[1])
                    break
            assert last_end is not None, log_path.read_text()[-3000:]
            if last_end < epochs - 1:
                # A random moment within the next epoch or two: in an epoch's compute, its
                # backup write or the pause after it.
                time.sleep(rng.uniform(0.0, 0.15))
                if child.poll() is None:
                    os.kill(child.pid, signal.SIGKILL)
                    kills += 1
            finish(child)
            if child.returncode == 0:
                done = True
                break
            assert child.returncode == -signal.SIGKILL, log_path.read_text()[-3000:]
        if not done:
            out.unlink(missing_ok=True)
            final = start(backup, out, cache, log)
            lines = finish(final)
            assert final.returncode == 0, log_path.read_text()[-3000:]
            resumed_at.append(int(next(ln for ln in lines if ln.startswith("BEGIN")).split()[1]))

    print(f"SIGKILLs: {kills}; runs resumed at epochs {resumed_at}")
    assert kills >= 3 and sum(e > 0 for e in resumed_at) >= 3
    ref_values, values = np.load(tmp_path / "ref.npz"), np.load(out)
    assert ref_values.files == values.files
    for name in ref_values.files:
        assert np.array_equal(ref_values[name], values[name]), name
    assert not backup.exists()
