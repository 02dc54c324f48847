"""The tutorial MLP fed through other libraries' input pipelines against arrays (issue 18):
seconds per epoch inside one fit(epochs=N) call (epochs 2..N, after compiling), for

- arrays: NumPy arrays, shuffle=False (resident on the device, the fastest path);
- tf.data: `from_tensor_slices((x, y)).batch(32).prefetch(AUTOTUNE)`;
- torch: a DataLoader over a TensorDataset, batch 32 (torch's own per-sample collation is
  most of its cost: shown for reference);
- and, for each pipeline, one bare pass over it (its own cost, without gazelle).

"vs arrays" is the pipeline's epoch over the arrays' epoch, less one: the pipeline's own
cost (its bare pass) plus the adapter's ("process CPU s/epoch" and "CPU vs arrays": the
same in CPU seconds of the whole process, XLA's and the pipeline's threads included). The pipeline runs on gazelle's prefetch thread,
overlapped with the steps, but on a 2-core machine it competes with XLA for the cores.
"bare pass" is one pass over the pipeline with nothing done to its batches (TensorFlow's
or torch's own tensors, not yet NumPy). "adapter" is what gazelle's host work adds to
that, as a share of the arrays' epoch: a pass that turns the pipeline's batches into
NumPy, unpacks, checks and stacks them into blocks and places each block on the device
(`adapters.stream_source(ds).blocks` and what fit's prefetch thread does to a block),
less the bare pass, over the fastest arrays epoch, each the fastest of two interleaved
runs a round. It counts the CPU time of the thread running the passes, which other jobs
on the machine change little ("adapter (wall)": the same in wall-clock seconds; "adapter
CPU s": the CPU seconds themselves, per epoch; "bare pass CPU s" and "gazelle pass CPU
s": the two passes' CPU seconds). It is negative where gazelle's whole pass costs less
than the bare pass: gazelle reads a tf.data pipeline of dense tensors with its
iterator's get-next op, without the Python rebuild of each element that the iterator's
own `next` does.
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


def timed(fn):
    """(wall seconds, CPU seconds of this thread) of fn()."""
    wall, cpu = time.perf_counter(), time.thread_time()
    fn()
    return time.perf_counter() - wall, time.thread_time() - cpu


def bare_pass(ds):
    def run():
        for _ in ds:
            pass
    return timed(run)


def adapter_pass(ds, k=64):
    import jax
    from gazelle.training import adapters, distribute, sources
    source = adapters.stream_source(ds, None, "fit")

    def run():
        for block in source.blocks(0, k, pad=lambda m: adapters._chunk_steps(m, k)):
            data = jax.tree_util.tree_map(adapters._to_device_dtype, block.data)
            steps = adapters._chunk_steps(block.steps, k)
            if steps > block.steps:
                data = sources.pad_rows(data, steps * block.batch_size)
            jax.block_until_ready(distribute.place(data))
    return timed(run)


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
    cpu_epoch = {name: [] for name in feeds}     # CPU seconds of the whole process
    bare = {name: [] for name in feeds if name != "arrays"}
    adapter = {name: [] for name in bare}
    accuracy = {}
    load = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        for name, ds in feeds.items():          # interleaved, one fresh model each
            model, marks = make(), []
            cb = keras.callbacks.LambdaCallback(
                on_epoch_end=lambda e, logs: marks.append((time.perf_counter(),
                                                           time.process_time())))
            if ds is None:
                h = model.fit(x, y, batch_size=bs, epochs=args.epochs, shuffle=False,
                              verbose=0, callbacks=[cb])
            else:
                h = model.fit(ds, epochs=args.epochs, verbose=0, callbacks=[cb])
                for _ in range(2):              # interleaved
                    bare[name].append(bare_pass(ds))
                    adapter[name].append(adapter_pass(ds))
            walls, cpus = np.diff(np.array(marks), axis=0).T
            per_epoch[name].extend(walls.tolist())
            cpu_epoch[name].extend(cpus.tolist())
            accuracy[name] = h.history["accuracy"][-1]
    base = statistics.median(per_epoch["arrays"])
    base_cpu = statistics.median(cpu_epoch["arrays"])
    fastest = min(per_epoch["arrays"])
    load.append(os.getloadavg()[0])
    print(f"tutorial MLP, batch {bs}, {len(x):,} samples, {args.rounds} rounds of "
          f"fit(epochs={args.epochs}); steady s/epoch (epochs 2..{args.epochs}); "
          f"load average {load[0]:.1f} at the start, {load[1]:.1f} at the end")
    print("| input | min s/epoch | median s/epoch | vs arrays | process CPU s/epoch | "
          "CPU vs arrays | bare pass CPU s | gazelle pass CPU s | adapter | adapter (wall) | "
          "adapter CPU s | final accuracy |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, ts in per_epoch.items():
        med = statistics.median(ts)
        b, g, a, aw, ac = "-", "-", "-", "-", "-"
        if name in bare:
            (bw, bc), (xw, xc) = (tuple(map(min, zip(*runs)))
                                  for runs in (bare[name], adapter[name]))
            b, g = f"{bc:.3f}", f"{xc:.3f}"
            a = f"{(xc - bc) / fastest:+.1%}"
            aw = f"{(xw - bw) / fastest:+.1%}"
            ac = f"{xc - bc:+.4f}"
        cpu = statistics.median(cpu_epoch[name])
        print(f"| {name} | {min(ts):.3f} | {med:.3f} | {med / base - 1:+.1%} | {cpu:.3f} | "
              f"{cpu / base_cpu - 1:+.1%} | {b} | {g} | {a} | {aw} | {ac} | "
              f"{accuracy[name]:.4f} |")


if __name__ == "__main__":
    main()
