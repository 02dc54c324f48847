"""Overhead workloads, gazelle vs Keras 3 (JAX backend), in one process run.

W3: a tiny regression model (California housing, Dense 30 relu + Dense 1, SGD, batch 32):
    seconds per epoch, pure per-step overhead.
W4: `predict` on 10,000 Fashion-MNIST images, and the latency of `predict` and `model(x)`
    on one sample after warm-up (the tutorial MLP).
W5: time from building the tutorial MLP to the end of its first trained step (compile
    included) in a fresh process, `import` time of each library, and the total from the
    import to the end of the first step (subprocesses; a library that imports lazily moves
    cost from the import into the first step, the total shows both).

    python bench/overhead.py [--rounds 5] [--json PATH]
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

from harness import command_line, load_average, machine_facts, print_facts, write_json  # noqa: E402

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
print(t1 - t0, t3 - t2, t3 - t0)
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
    imports, first, total = [], [], []
    for _ in range(rounds):
        out = subprocess.run([sys.executable, "-c", FIRST_STEP.format(lib=lib)],
                             capture_output=True, text=True, check=True).stdout.split()
        imports.append(float(out[0]))
        first.append(float(out[1]))
        total.append(float(out[2]))
    return median_min(imports), median_min(first), median_min(total)


def format_report(facts, rows, lib_rows, command):
    lines = ["## W3-W5: overhead (gazelle vs Keras 3 on JAX)", "",
             f"`{command}`: medians (min) over the rounds, interleaved per library in one "
             "process; W5 in fresh subprocesses.", "",
             "| system | W3 s/epoch (16,512 rows, batch 32) | W4 predict 10k (s) "
             "| W4 predict 1 (ms) | W4 model(x) 1 (ms) |", "|---|---:|---:|---:|---:|"]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['w3'][0]:.3f} (min {r['w3'][1]:.3f}) "
                     f"| {r['predict_10k'][0]:.3f} | {r['predict_1'][0] * 1e3:.2f} "
                     f"| {r['call_1'][0] * 1e3:.2f} |")
    lines += ["", "| system | W5 import (s) | W5 build+compile+first step (s) "
              "| W5 import to end of first step (s) |", "|---|---:|---:|---:|"]
    for name, r in lib_rows.items():
        lines.append(f"| {name} | {r['import'][0]:.2f} (min {r['import'][1]:.2f}) "
                     f"| {r['first_step'][0]:.2f} (min {r['first_step'][1]:.2f}) "
                     f"| {r['import_to_first_step'][0]:.2f} "
                     f"(min {r['import_to_first_step'][1]:.2f}) |")
    g, k = rows.get("gazelle"), rows.get("Keras 3")
    if g and k:
        lg, lk = lib_rows["gazelle"], lib_rows["Keras 3"]
        lines += ["", "| Keras 3 / gazelle (medians) | W3 | W4 predict 10k | W4 predict 1 "
                  "| W4 model(x) 1 | W5 import | W5 first step |",
                  "|---|---:|---:|---:|---:|---:|---:|",
                  "| ratio | " + " | ".join(
                      f"{k[m][0] / g[m][0]:.2f}x"
                      for m in ("w3", "predict_10k", "predict_1", "call_1"))
                  + f" | {lk['import'][0] / lg['import'][0]:.2f}x"
                  f" | {lk['first_step'][0] / lg['first_step'][0]:.2f}x |"]
    lines += ["", "Machine: " + "; ".join(f"{k} {v}" for k, v in facts.items()), ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    command = command_line("overhead.py", argv if argv is not None else sys.argv[1:])
    facts = machine_facts(libraries=("jax", "keras"))
    print_facts(facts)
    import gazelle
    import keras
    (xh, yh), _ = gazelle.datasets.california_housing.load_data()
    xh = ((xh - xh.mean(0)) / xh.std(0)).astype("float32")
    yh = (yh / 100000.0).astype("float32")
    (_, _), (xf, _) = gazelle.datasets.fashion_mnist.load_data()
    xf = (xf / 255.0).astype("float32")
    rows = {}
    for name, k in (("gazelle", gazelle), ("Keras 3", keras)):
        r3 = w3(k, xh, yh, args.rounds)
        big, lat, call = w4(k, xf, args.rounds)
        rows[name] = {"w3": r3, "predict_10k": big, "predict_1": lat, "call_1": call}
    lib_rows = {}
    for name, lib in (("gazelle", "gazelle"), ("Keras 3", "keras")):
        imp, first, total = w5(lib, max(2, args.rounds // 2))
        lib_rows[name] = {"import": imp, "first_step": first, "import_to_first_step": total}
    facts["load average at end"] = load_average()
    section = format_report(facts, rows, lib_rows, command)
    print("\n" + section)
    write_json(args.json, {"workload": "W3-W5", "script": "overhead.py", "command": command,
                           "facts": facts, "rounds": args.rounds, "note": "pairs are (median, min)",
                           "w3_w4": rows, "w5": lib_rows, "markdown": section})


if __name__ == "__main__":
    main()
