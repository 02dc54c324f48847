"""Crash safety of atomic_write: a writer killed at random points never leaves a broken
target file, and the temp files it leaves are removed by the next write to the folder."""
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from gazelle.utils import io

# Heavy (processes killed and restarted): CI's slow pass runs it.
pytestmark = pytest.mark.slow

CHILD = r"""
import os, sys
sys.path.insert(0, {root!r})
from gazelle.utils.io import atomic_write
target = sys.argv[1]
k = 0
print("ready", flush=True)
while True:
    k += 1
    tag = str(k % 10).encode()
    def write(f, tag=tag):
        for _ in range(64):
            f.write(tag * 65536)        # 4 MiB in 64 pieces, so kills land mid-write
    atomic_write(target, write)
"""

SAVER = r"""
import sys
sys.path.insert(0, {root!r})
import gazelle as keras

model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(512), keras.layers.Dense(512)])
print("ready", flush=True)
while True:
    model.save(sys.argv[1])
"""

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(io.__file__)))
ROOT = os.path.dirname(ROOT)


def _temp_files(directory):
    return sorted(n for n in os.listdir(directory) if n.endswith(".tmp"))


def _kill_at_random(script, target, kills, seed, max_delay):
    rng = random.Random(seed)
    left = 0
    for _ in range(kills):
        child = subprocess.Popen([sys.executable, "-c", script.format(root=ROOT), str(target)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert child.stdout.readline().strip() == b"ready", child.stderr.read()
        time.sleep(rng.uniform(0.0, max_delay))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        child.stderr.close()
        left = max(left, len(_temp_files(target.parent)))
    return left


def _check_whole(target):
    data = target.read_bytes()
    assert len(data) == 64 * 65536 and data == data[:1] * len(data)


def test_fifty_random_kills_leave_no_temp_files_after_the_next_write(tmp_path):
    target = tmp_path / "weights.bin"
    _kill_at_random(CHILD, target, kills=50, seed=1, max_delay=0.15)
    if target.exists():
        _check_whole(target)            # never half a file
    io.atomic_write(target, b"x" * 10)  # the next write cleans what the dead left
    assert _temp_files(tmp_path) == []
    assert target.read_bytes() == b"x" * 10


@pytest.mark.parametrize("seed", [0, 1])
def test_killed_model_saves_are_cleaned_by_the_next_save(tmp_path, seed):
    import gazelle as keras
    target = tmp_path / "m.keras"
    _kill_at_random(SAVER, target, kills=2, seed=seed, max_delay=0.3)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.save(target)
    assert _temp_files(tmp_path) == []
    assert keras.models.load_model(target).count_params() == 8


def test_temp_files_of_live_writers_are_kept_and_old_ones_removed(tmp_path):
    live = tmp_path / f".a.keras.gazelle-{os.getpid()}-abc123.tmp"
    live.write_bytes(b"in progress")
    dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True).stdout.strip()
    dead = tmp_path / f".b.keras.gazelle-{dead_pid}-xyz.tmp"
    dead.write_bytes(b"left by a killed writer")
    old = tmp_path / f".c.keras.gazelle-{os.getpid()}-old.tmp"
    old.write_bytes(b"ancient")
    past = time.time() - io.STALE_TMP_SECONDS - 60
    os.utime(old, (past, past))
    other = tmp_path / ".not-ours.tmp"
    other.write_bytes(b"someone else's")
    io.atomic_write(tmp_path / "a.keras", b"data")
    assert live.exists() and other.exists()
    assert not dead.exists() and not old.exists()


def test_a_failing_writer_leaves_no_temp_file_and_the_old_file(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"old")

    def failing(f):
        f.write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        io.atomic_write(target, failing)
    assert target.read_bytes() == b"old"
    assert _temp_files(tmp_path) == []
