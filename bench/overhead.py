"""Overhead workloads, gazelle vs Keras 3 (JAX backend), in one process run.

W3: a tiny regression model (California housing, Dense 30 relu + Dense 1, SGD, batch 32):
    seconds per epoch, pure per-step overhead.
W4: `predict` on 10,000 Fashion-MNIST images, and the latency of `predict` and `model(x)`
    on one sample after warm-up (the tutorial MLP).
W5: time from building the tutorial MLP to the end of its first trained step (compile
    included) in a fresh process, and `import` time of each library (subprocesses).

    python bench/overhead.py [--rounds 5]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

FIRST_STEP = """
import time, numpy as np
t0 = time.perf_counter()
import {lib} as keras
t1 = time.perf_counter()
model = keras.models.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(),
    keras.layers.Dense(300, activation="relu"), keras.layers.Dense(100, activation="relu"),
    keras.layers.Dense(10, activation="softmax")])
model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
x = np.random.rand(32, 28, 28).astype("float32"); y = np.random.randint(0, 10, 32)
t2 = time.perf_counter()
model.fit(x, y, epochs=1, batch_size=32, verbose=0)
t3 = time.perf_counter()
print(t1 - t0, t3 - t2)
"""


def median_min(ts):
    return statistics.median(ts), min(ts)


def mlp(k):
    m = k.models.Sequential([k.Input(shape=(28, 28)), k.layers.Flatten(),
                             k.layers.Dense(300, activation="relu"),
                             k.layers.Dense(100, activation="relu"),
                             k.layers.Dense(10, activation="softmax")])
    m.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    return m


def w3(k, x, y, rounds):
    m = k.models.Sequential([k.Input(shape=(8,)), k.layers.Dense(30, activation="relu"),
                             k.layers.Dense(1)])
    m.compile(loss="mse", optimizer=k.optimizers.SGD(learning_rate=1e-3))
    m.fit(x, y, epochs=1, batch_size=32, verbose=0)
    ts = []
    for _ in range(rounds):
        t = time.perf_counter()
        m.fit(x, y, epochs=1, batch_size=32, verbose=0)
        ts.append(time.perf_counter() - t)
    return median_min(ts)


def w4(k, x10k, rounds):
    m = mlp(k)
    one = x10k[:1]
    m.predict(x10k, verbose=0)
    m.predict(one, verbose=0)
    np.asarray(m(one))
    big = []
    for _ in range(rounds):
        t = time.perf_counter()
        m.predict(x10k, verbose=0)
        big.append(time.perf_counter() - t)
    lat, call = [], []
    for _ in range(200):
        t = time.perf_counter()
        m.predict(one, verbose=0)
        lat.append(time.perf_counter() - t)
        t = time.perf_counter()
        np.asarray(m(one))
        call.append(time.perf_counter() - t)
    return median_min(big), median_min(lat), median_min(call)


def w5(lib, rounds):
    imports, first = [], []
    for _ in range(rounds):
        out = subprocess.run([sys.executable, "-c", FIRST_STEP.format(lib=lib)],
                             capture_output=True, text=True, check=True).stdout.split()
        imports.append(float(out[0]))
        first.append(float(out[1]))
    return median_min(imports), median_min(first)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    import gazelle
    import keras
    (xh, yh), _ = gazelle.datasets.california_housing.load_data()
    xh = ((xh - xh.mean(0)) / xh.std(0)).astype("float32")
    yh = (yh / 100000.0).astype("float32")
    (_, _), (xf, _) = gazelle.datasets.fashion_mnist.load_data()
    xf = (xf / 255.0).astype("float32")
    rows = []
    for name, k in (("gazelle", gazelle), ("Keras 3", keras)):
        r3 = w3(k, xh, yh, args.rounds)
        big, lat, call = w4(k, xf, args.rounds)
        rows.append((name, r3, big, lat, call))
    lib_rows = [(name, *w5(lib, max(2, args.rounds // 2)))
                for name, lib in (("gazelle", "gazelle"), ("Keras 3", "keras"))]
    print("| system | W3 s/epoch (16,512 rows, batch 32) | W4 predict 10k (s) | W4 predict 1 (ms) "
          "| W4 model(x) 1 (ms) |")
    print("|---|---:|---:|---:|---:|")
    for name, r3, big, lat, call in rows:
        print(f"| {name} | {r3[0]:.3f} (min {r3[1]:.3f}) | {big[0]:.3f} | {lat[0] * 1e3:.2f} "
              f"| {call[0] * 1e3:.2f} |")
    print()
    print("| system | W5 import (s) | W5 build+compile+first step (s) |")
    print("|---|---:|---:|")
    for name, imp, first in lib_rows:
        print(f"| {name} | {imp[0]:.2f} (min {imp[1]:.2f}) | {first[0]:.2f} (min {first[1]:.2f}) |")
    g, kk = rows[0], rows[1]
    print(f"\nratios Keras 3 / gazelle: W3 {kk[1][0] / g[1][0]:.2f}x, W4 predict 10k "
          f"{kk[2][0] / g[2][0]:.2f}x, predict 1 {kk[3][0] / g[3][0]:.2f}x, model(x) "
          f"{kk[4][0] / g[4][0]:.2f}x, first step {lib_rows[1][2][0] / lib_rows[0][2][0]:.2f}x")


if __name__ == "__main__":
    main()
