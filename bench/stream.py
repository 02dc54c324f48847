"""Streaming from disk: fit on memmaps of 1x, 4x and 16x Fashion-MNIST (issue 6, "bigger
than memory"). Each size runs in a fresh process: the tutorial MLP, batch 32, 2 epochs on a
float32 memmap built by tiling the 55,000 training images; prints the second epoch's time
and the process's peak resident memory (VmHWM), against the same run on in-memory arrays
of the 1x size.

    python bench/stream.py [--sizes 1 4 16] [--dir /tmp/gazelle-stream]
"""
import argparse
import json
import os
import subprocess
import sys
import time

CHILD = r"""
import json, os, sys, time
import numpy as np
os.environ.setdefault("JAX_PLATFORMS", "cpu")
import gazelle as keras
path, mode = sys.argv[1], sys.argv[2]
x = np.load(path, mmap_mode="r")
(_, y), _ = keras.datasets.fashion_mnist.load_data()
y = np.resize(y[:55000].astype("int32"), len(x))
if mode == "ram":
    x = np.array(x)
def hwm():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024
base = hwm()
keras.utils.set_random_seed(0)
m = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                      keras.layers.Dense(300, activation="relu"),
                      keras.layers.Dense(100, activation="relu"),
                      keras.layers.Dense(10, activation="softmax")])
m.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
times = []
cb = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, l: times.append(time.perf_counter()),
                                    on_epoch_end=lambda e, l: times.append(time.perf_counter()))
h = m.fit(x, y, batch_size=32, epochs=2, verbose=0, callbacks=[cb])
print(json.dumps({"samples": len(x), "epoch_s": times[3] - times[2], "first_epoch_s": times[1] - times[0],
                  "peak_rss_mb": hwm(), "rss_before_fit_mb": base, "accuracy": h.history["accuracy"][-1]}))
"""


def make_memmap(path, factor):
    import numpy as np
    if os.path.exists(path):
        return
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    import gazelle as keras
    (x, _), _ = keras.datasets.fashion_mnist.load_data()
    x = ((x[:55000].astype("float32") / 255.0) - 0.286) / 0.353
    out = np.lib.format.open_memmap(path + ".tmp", mode="w+", dtype="float32",
                                    shape=(55000 * factor, 28, 28))
    for i in range(factor):
        out[i * 55000:(i + 1) * 55000] = x
    out.flush()
    del out
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--dir", default="/tmp/gazelle-stream")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    rows = []
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                    ".."))
    runs = [(args.sizes[0], "ram")] + [(f, "memmap") for f in args.sizes]
    for factor, mode in runs:
        path = os.path.join(args.dir, f"fashion_x{factor}.npy")
        make_memmap(path, factor)
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CHILD, path, mode], capture_output=True,
                             text=True, env=env)
        if out.returncode:
            print(out.stderr[-2000:])
            raise SystemExit(1)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        r.update(factor=factor, mode=mode, wall_s=time.perf_counter() - t,
                 file_mb=os.path.getsize(path) / 2**20)
        rows.append(r)
        print(json.dumps(r), flush=True)
    print()
    print("| data | samples | file (MB) | s/epoch (2nd) | s per 55k samples | peak RSS (MB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        label = f"{r['factor']}x " + ("in RAM (numpy array)" if r["mode"] == "ram" else "memmap")
        print(f"| {label} | {r['samples']:,} | {r['file_mb']:.0f} | {r['epoch_s']:.2f} | "
              f"{r['epoch_s'] / (r['samples'] / 55000):.2f} | {r['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
