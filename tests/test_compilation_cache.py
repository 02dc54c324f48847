"""The persistent compilation cache: a second run of the same script compiles nothing."""
import json
import os
import subprocess
import sys

SCRIPT = r"""
import json
import jax
hits = []
jax.monitoring.register_event_listener(
    lambda event, **kw: hits.append(event) if event == "/jax/compilation_cache/cache_hits" else None)
import numpy as np
import gazelle as keras
keras.utils.set_random_seed(0)
m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                      keras.layers.Dense(1)])
m.compile(loss="mse", optimizer="adam")
x = np.random.default_rng(0).standard_normal((64, 8)).astype("float32")
m.fit(x, x[:, 0], epochs=1, verbose=0)
print(json.dumps({"dir": jax.config.jax_compilation_cache_dir, "hits": len(hits),
                  "loss": float(m.evaluate(x, x[:, 0], verbose=0))}))
"""


def run(env):
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         env=env, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_second_run_loads_programs_from_the_cache(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    env["GAZELLE_COMPILATION_CACHE"] = str(tmp_path / "xla")
    env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"   # cache even tiny programs
    first = run(env)
    assert first["dir"] == str(tmp_path / "xla")
    assert any((tmp_path / "xla").iterdir())
    second = run(env)
    assert second["hits"] > first["hits"]
    assert second["loss"] == first["loss"]            # same programs, same numbers


def test_cache_can_be_turned_off(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    env["GAZELLE_COMPILATION_CACHE"] = "0"
    env["HOME"] = str(tmp_path)
    env.pop("XDG_CACHE_HOME", None)
    result = run(env)
    assert result["dir"] is None and result["hits"] == 0
    assert not (tmp_path / ".cache" / "gazelle").exists()


def test_the_test_cache_is_trimmed_oldest_first(tmp_path):
    from _compile_cache import trim_cache
    for age, name in enumerate(["new", "middle", "old"]):
        path = tmp_path / f"{name}-cache"
        path.write_bytes(b"x" * 100)
        os.utime(path, (1000 - age, 1000 - age))
    assert trim_cache(tmp_path, 400, 100) == 0           # under the limit: nothing goes
    assert trim_cache(tmp_path, 250, 150) == 200
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new-cache"]
    assert trim_cache(tmp_path / "not-made-yet", 0, 0) == 0
