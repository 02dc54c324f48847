"""Config loading time against layer count (issue 15): Sequential and Functional chains of
Dense layers, rebuilt from their JSON config (`model_from_json`) in a fresh process per
size; also Keras 3 for the smaller sizes when installed.

    python bench/load_scaling.py                       # 1k, 4k, 16k, 64k layers
    python bench/load_scaling.py --sizes 1000,4000 --keras

Prints a markdown table: seconds per load and milliseconds per layer. Linear time shows
as a flat ms/layer column. Each size runs in its own process so caches and heap from a
smaller size do not help or hurt a larger one.
"""
import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, os, sys, time
kind, n, lib = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if lib == "keras":
    os.environ["KERAS_BACKEND"] = "jax"
    import keras
else:
    import gazelle as keras
def chain(n):
    if kind == "sequential":
        return keras.Sequential([keras.Input((4,))] + [keras.layers.Dense(4) for _ in range(n)])
    x = inputs = keras.Input((4,))
    for _ in range(n):
        x = keras.layers.Dense(4)(x)
    return keras.Model(inputs, x)
text = chain(n).to_json()
keras.backend.clear_session() if lib == "keras" else None
start = time.perf_counter()
model = keras.models.model_from_json(text)
seconds = time.perf_counter() - start
assert len(model.layers) >= n
print(json.dumps({"seconds": seconds, "bytes": len(text)}))
"""


def run(kind, n, lib):
    env = {**os.environ, "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu"),
           "GAZELLE_COMPILATION_CACHE": "0"}
    done = subprocess.run([sys.executable, "-c", CHILD, kind, str(n), lib],
                          capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return None, done.stderr.strip().splitlines()[-1][:120]
    return json.loads(done.stdout.strip().splitlines()[-1]), None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,4000,16000,64000")
    parser.add_argument("--kinds", default="sequential,functional")
    parser.add_argument("--keras", action="store_true", help="also time Keras 3 (<=16k)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    libs = ["gazelle"] + (["keras"] if args.keras else [])
    print("| model | layers | library | config | load | ms/layer |")
    print("|---|---|---|---|---|---|")
    for kind in args.kinds.split(","):
        for n in sizes:
            for lib in libs:
                if lib == "keras" and n > 16000:
                    continue
                result, error = run(kind, n, lib)
                if result is None:
                    print(f"| {kind} | {n:,} | {lib} | | failed: {error} | |", flush=True)
                    continue
                print(f"| {kind} | {n:,} | {lib} | {result['bytes'] / 2**20:.1f} MiB "
                      f"| {result['seconds']:.2f} s | {1000 * result['seconds'] / n:.2f} |",
                      flush=True)


if __name__ == "__main__":
    main()
