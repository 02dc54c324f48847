"""The tutorial MLP fed through other libraries' input pipelines against arrays (issue 18):
seconds per epoch inside one fit(epochs=N) call (epochs 2..N, after compiling), for

- arrays: NumPy arrays, shuffle=False (resident on the device, the fastest path);
- tf.data: `from_tensor_slices((x, y)).batch(32).prefetch(AUTOTUNE)`;
- torch: a DataLoader over a TensorDataset, batch 32 (torch's own per-sample collation is
  most of its cost: shown for reference);
- and, for each pipeline, one bare pass over it (its own cost, without gazelle).

"vs arrays" is the pipeline's epoch over the arrays' epoch, less one: the pipeline's own
cost (its bare pass) plus the adapter's. The pipeline runs on gazelle's prefetch thread,
overlapped with the steps, but on a 2-core machine it competes with XLA for the cores.
"adapter" is gazelle's own host work for one epoch (turning the pipeline's batches into
the blocks the compiled steps take: a pass over `adapters.stream_source(ds).blocks`,
less the bare pass), as a share of the arrays' epoch.
Libraries that are not installed are skipped (`pip install gazelle[interop]`).

    python bench/input_pipelines.py [--epochs 4] [--rounds 2] [--limit N]
"""
import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402


def pipelines(x, y, bs):
    out = {"arrays": None}
    try:
        import tensorflow as tf
        tf.config.set_visible_devices([], "GPU")
        out["tf.data"] = tf.data.Dataset.from_tensor_slices((x, y)).batch(bs).prefetch(
            tf.data.AUTOTUNE)
    except ImportError:
        print("tensorflow not installed: tf.data skipped")
    try:
        import torch
        from torch.utils.data import DataLoader, TensorDataset
        out["torch DataLoader"] = DataLoader(
            TensorDataset(torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))),
            batch_size=bs)
    except ImportError:
        print("torch not installed: DataLoader skipped")
    return out


def bare_pass(ds):
    t = time.perf_counter()
    if hasattr(ds, "as_numpy_iterator"):
        for _ in ds.as_numpy_iterator():
            pass
    else:
        for _ in ds:
            pass
    return time.perf_counter() - t


def adapter_pass(ds, k=64):
    from gazelle.training import adapters
    source = adapters.stream_source(ds, None, "fit")
    t = time.perf_counter()
    for _ in source.blocks(0, k):
        pass
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    import gazelle as keras
    import seed_mlp
    x, y = seed_mlp.load_data(args.limit)
    bs = args.batch_size

    def make():
        keras.utils.set_random_seed(0)
        m = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(300, activation="relu"),
                              keras.layers.Dense(100, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
        m.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(learning_rate=0.01), metrics=["accuracy"])
        return m

    feeds = pipelines(x, y, bs)
    per_epoch = {name: [] for name in feeds}
    bare = {name: [] for name in feeds if name != "arrays"}
    adapter = {name: [] for name in bare}
    accuracy = {}
    for _ in range(args.rounds):
        for name, ds in feeds.items():          # interleaved, one fresh model each
            model, marks = make(), []
            cb = keras.callbacks.LambdaCallback(
                on_epoch_end=lambda e, logs: marks.append(time.perf_counter()))
            if ds is None:
                h = model.fit(x, y, batch_size=bs, epochs=args.epochs, shuffle=False,
                              verbose=0, callbacks=[cb])
            else:
                h = model.fit(ds, epochs=args.epochs, verbose=0, callbacks=[cb])
                bare[name].append(bare_pass(ds))
                adapter[name].append(adapter_pass(ds) - bare[name][-1])
            per_epoch[name].extend(np.diff(marks).tolist())
            accuracy[name] = h.history["accuracy"][-1]
    base = statistics.median(per_epoch["arrays"])
    print(f"tutorial MLP, batch {bs}, {len(x):,} samples, {args.rounds} rounds of "
          f"fit(epochs={args.epochs}); steady s/epoch (epochs 2..{args.epochs})")
    print("| input | min s/epoch | median s/epoch | vs arrays | bare pass (s) | adapter | "
          "final accuracy |\n|---|---:|---:|---:|---:|---:|---:|")
    for name, ts in per_epoch.items():
        med = statistics.median(ts)
        b = f"{statistics.median(bare[name]):.3f}" if name in bare else "-"
        a = f"{max(0.0, statistics.median(adapter[name])) / base:.1%}" if name in bare \
            else "-"
        print(f"| {name} | {min(ts):.3f} | {med:.3f} | {med / base - 1:+.1%} | {b} | {a} | "
              f"{accuracy[name]:.4f} |")


if __name__ == "__main__":
    main()
