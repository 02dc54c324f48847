"""Memory given back: models that are dropped free their compiled programs, and
clear_session() returns a session that built many models to about where it started."""
import gc
import json
import os
import subprocess
import sys
import weakref

import numpy as np
import pytest

import gazelle as keras

CHILD = r"""
import gc, json, sys
import numpy as np
import gazelle as keras
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
x = np.random.rand(64, 8).astype("float32")
y = np.random.rand(64, 1).astype("float32")
def one(width):
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(width),
                              keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    model.evaluate(x, y, batch_size=32, verbose=0)
one(5)
gc.collect()
start = rss()
for i in range(int(sys.argv[1])):
    one(10 + i)              # a new width: new programs every time
grown = rss()
keras.backend.clear_session()
print(json.dumps({"start": start, "grown": grown, "after": rss()}))
"""


@pytest.mark.slow          # heavy: runs in CI's slow pass
def test_clear_session_returns_memory_after_a_hundred_models():
    env = {**os.environ, "GAZELLE_COMPILATION_CACHE": "0",
           "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu")}
    done = subprocess.run([sys.executable, "-c", CHILD, "100"], capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    mb = json.loads(done.stdout.strip().splitlines()[-1])
    # The models did take memory: their programs (fit and evaluate, ~0.9 MB a model).
    # Building one compiled a small program per new weight shape before 7c35d52 (100
    # models: +491 MB, now +67 MB with fit alone, 2026-12-06), so fit alone no longer
    # takes enough to measure.
    grown = mb["grown"] - mb["start"]
    assert grown > 50, mb
    assert mb["after"] - mb["start"] < 0.5 * grown, mb     # and clear_session gave most back


def test_a_dropped_model_is_collected_with_its_programs():
    x = np.zeros((8, 3), "float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros((8, 2), "float32"), verbose=0)
    model.predict(x, verbose=0)
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None      # nothing global (caches, callbacks, threads) keeps it alive


@pytest.mark.slow          # heavy: runs in CI's slow pass
def test_clear_session_resets_names_and_can_keep_caches():
    keras.layers.Dense(1)
    keras.backend.clear_session(free_memory=False)
    assert keras.layers.Dense(1).name == "dense"
    keras.backend.clear_session()
    assert keras.layers.Dense(1).name == "dense"
