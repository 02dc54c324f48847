"""Leak check: many fit(epochs=1) / predict / evaluate calls on one model, RSS and compiles.

Each round on the same compiled model (the tf.keras tutorial MLP 784-300-100-10, SGD):
`fit(x, y, epochs=1, verbose=0)`, `predict(x)`, `evaluate(x, y)`, `predict(x[:1])` and
`model(x[:1])`. Every `--every` rounds (after a `gc.collect()`) it prints the process's
resident memory (`VmRSS` and `RssAnon` from /proc/self/status), the number of XLA
compilations since warm-up (counted with a `jax.monitoring` listener on the backend-compile
event, so eager op compiles count too), gazelle's trace counters (the trainer's and
predict's `Steps.traces`, and their cached programs), live jax arrays and gc-tracked Python
objects. It ends with a verdict: RSS growth per 100 rounds after warm-up (least-squares slope).

    python bench/leak.py                      # gazelle, 300 rounds, 3,000 Fashion-MNIST images
    python bench/leak.py --keras              # then the same loop in Keras 3 (a subprocess)
    python bench/leak.py --rounds 40 --every 10 --samples 1000     # quick smoke run
    python bench/leak.py --validation --callback   # fit with validation_data and a batch hook
    python bench/leak.py --vary --rounds 50 --every 10   # predict on a new size each round
    python bench/leak.py --tracemalloc        # also list the Python allocation sites that grew

Options: `--data random` uses random inputs instead of Fashion-MNIST; `--lib keras` runs only
Keras 3 in this process. Each library runs in its own process, so their RSS never mixes.
The load average at start is printed: other work on the machine does not change RSS much,
but it slows the run down.
"""
import argparse
import gc
import os
import subprocess
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

BACKEND_COMPILE = "/jax/core/compile/backend_compile_duration"
FLAT_MIB_PER_100 = 1.0        # the verdict's "flat" threshold


def memory_mib():
    """VmRSS and RssAnon of this process in MiB, and its thread count (Linux /proc)."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon"):
                out[key] = int(value.split()[0]) / 1024
            elif key == "Threads":
                out[key] = int(value)
    return out


class CompileCounter:
    """Counts XLA backend compilations by function name through jax.monitoring."""

    def __init__(self):
        import jax
        self.by_name = {}
        self._jax = jax
        jax.monitoring.register_event_duration_secs_listener(self._on_event)

    def _on_event(self, event, duration, **kwargs):
        if event == BACKEND_COMPILE:
            name = kwargs.get("fun_name", "?")
            self.by_name[name] = self.by_name.get(name, 0) + 1

    @property
    def total(self):
        return sum(self.by_name.values())


def load_data(kind, n, seed=0):
    if kind == "random":
        rng = np.random.default_rng(seed)
        return rng.random((n, 28, 28), dtype=np.float32), rng.integers(0, 10, n)
    import gazelle
    (x, y), _ = gazelle.datasets.fashion_mnist.load_data()
    return (x[:n] / 255.0).astype("float32"), y[:n].astype("int64")


def build(k):
    model = k.models.Sequential([
        k.Input(shape=(28, 28)), k.layers.Flatten(),
        k.layers.Dense(300, activation="relu"), k.layers.Dense(100, activation="relu"),
        k.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    return model


def gazelle_counters(model):
    """Trace counts and cached programs of the trainer's and predict's Steps (None: n/a)."""
    trainer = getattr(model, "_trainer", None)
    steps = [getattr(trainer, "steps", None), getattr(model, "_predict_steps", None)]
    steps = [s for s in steps if s is not None]
    if not steps:
        return None
    return {"traces": sum(getattr(s, "traces", 0) for s in steps),
            "programs": sum(len(getattr(s, "_cache", {})) for s in steps),
            "steps_ids": tuple(id(s) for s in steps)}


def owned_objects(prefix):
    """gc-tracked objects whose class is defined in a module under `prefix`."""
    count = 0
    for o in gc.get_objects():
        module = getattr(type(o), "__module__", None)
        if isinstance(module, str) and module.partition(".")[0] == prefix:
            count += 1
    return count


def run(lib, args):
    import jax
    counter = CompileCounter()
    if lib == "gazelle":
        import gazelle as k
    else:
        import keras as k
    x, y = load_data(args.data, args.samples)
    xv, yv = (x[: len(x) // 5], y[: len(y) // 5]) if args.validation else (None, None)
    model = build(k)
    callbacks = []
    if args.callback:
        class Count(k.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.batches = 0

            def on_train_batch_end(self, batch, logs=None):
                self.batches += 1
        callbacks = [Count()]

    rounds_done = [0]

    def one_round():
        model.fit(x, y, epochs=1, verbose=0, callbacks=callbacks,
                  validation_data=(xv, yv) if args.validation else None)
        rounds_done[0] += 1
        # --vary: predict on a different number of samples each round (len(x) - round).
        model.predict(x[: len(x) - rounds_done[0] % len(x)] if args.vary else x, verbose=0)
        model.evaluate(x, y, verbose=0)
        model.predict(x[:1], verbose=0)
        np.asarray(model(x[:1]))

    if args.tracemalloc:
        import tracemalloc
        tracemalloc.start(10)
    print(f"\n== {lib}: {args.rounds} rounds on {len(x)} samples ({args.data}), warm-up "
          f"{args.warmup}, validation={args.validation}, callback={args.callback}, "
          f"vary={args.vary}")
    t0 = time.perf_counter()
    for _ in range(args.warmup):
        one_round()
    gc.collect()
    base_mem, base_compiles = memory_mib(), counter.total
    base_counters = gazelle_counters(model) if lib == "gazelle" else None
    base_owned = owned_objects(lib)
    snap = tracemalloc.take_snapshot() if args.tracemalloc else None
    print(f"warm-up: {time.perf_counter() - t0:.1f} s, {base_compiles} compiles, "
          f"VmRSS {base_mem['VmRSS']:.1f} MiB, RssAnon {base_mem['RssAnon']:.1f} MiB, "
          f"{base_mem['Threads']} threads")
    print(f"{'round':>6} {'VmRSS':>9} {'RssAnon':>9} {'dAnon':>7} {'compiles':>8} {'traces':>6} "
          f"{'programs':>8} {'arrays':>6} {'objects':>8} {lib + ' objs':>12} {'threads':>7} {'s/round':>8}")
    samples = []
    t_last, r_last = time.perf_counter(), 0
    for r in range(1, args.rounds + 1):
        one_round()
        if r % args.every == 0 or r == args.rounds:
            gc.collect()
            mem = memory_mib()
            samples.append((r, mem["VmRSS"], mem["RssAnon"]))
            c = gazelle_counters(model) if lib == "gazelle" else None
            now = time.perf_counter()
            print(f"{r:6d} {mem['VmRSS']:9.2f} {mem['RssAnon']:9.2f} "
                  f"{mem['RssAnon'] - base_mem['RssAnon']:+7.2f} "
                  f"{counter.total - base_compiles:8d} "
                  f"{c['traces'] if c else '-':>6} {c['programs'] if c else '-':>8} "
                  f"{len(jax.live_arrays()):6d} {len(gc.get_objects()):8d} "
                  f"{owned_objects(lib):12d} {mem['Threads']:7d} "
                  f"{(now - t_last) / (r - r_last):8.3f}", flush=True)
            t_last, r_last = now, r

    rounds = np.array([s[0] for s in samples], float)
    verdict = {}
    for i, key in ((1, "VmRSS"), (2, "RssAnon")):
        values = np.array([s[i] for s in samples])
        slope = np.polyfit(rounds, values, 1)[0] * 100 if len(samples) > 1 else 0.0
        verdict[key] = (values[-1] - base_mem[key], slope)
    # The second half's growth ignores one-off steps early on (allocator pools filling up).
    half = [s for s in samples if s[0] >= samples[-1][0] / 2]
    second_half = (half[-1][2] - half[0][2]) / max(half[-1][0] - half[0][0], 1) * 100 \
        if len(half) > 1 else verdict["RssAnon"][1]
    new_compiles = counter.total - base_compiles
    print(f"\n{lib}: after warm-up, {args.rounds} rounds:")
    for key, (total, slope) in verdict.items():
        print(f"  {key}: {base_mem[key]:.1f} -> {base_mem[key] + total:.1f} MiB "
              f"({total:+.2f} MiB), slope {slope:+.3f} MiB per 100 rounds")
    print(f"  XLA compiles after warm-up: {new_compiles}"
          + (f"; by function, warm-up included: {dict(counter.by_name)}" if new_compiles else ""))
    if base_counters is not None:
        c = gazelle_counters(model)
        print(f"  gazelle traces {base_counters['traces']} -> {c['traces']}, cached programs "
              f"{base_counters['programs']} -> {c['programs']}, Steps objects "
              f"{'unchanged' if c['steps_ids'] == base_counters['steps_ids'] else 'REPLACED'}")
    print(f"  {lib}-owned gc objects {base_owned} -> {owned_objects(lib)}")
    if snap is not None:
        import tracemalloc
        stats = tracemalloc.take_snapshot().compare_to(snap, "traceback")
        print("  top Python allocation growth since warm-up (tracemalloc):")
        for stat in stats[:8]:
            print(f"    {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+6d} blocks  "
                  f"{stat.traceback.format()[-1].strip()}")
    flat = abs(second_half) < FLAT_MIB_PER_100 and new_compiles == 0
    print(f"  verdict: {'FLAT' if flat else 'GROWS'}: RssAnon {second_half:+.3f} MiB per 100 "
          f"rounds over the second half (rounds {half[0][0]}-{half[-1][0]}), "
          f"{new_compiles} new compiles (flat: under {FLAT_MIB_PER_100} MiB per 100 rounds "
          "and no new compiles)")
    return 0 if flat else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--every", type=int, default=25)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--data", choices=("fashion", "random"), default="fashion")
    parser.add_argument("--lib", choices=("gazelle", "keras"), default="gazelle")
    parser.add_argument("--keras", action="store_true",
                        help="after gazelle, run the same loop in Keras 3 in a subprocess")
    parser.add_argument("--validation", action="store_true",
                        help="fit with validation_data (a fifth of x)")
    parser.add_argument("--callback", action="store_true",
                        help="fit with a callback overriding on_train_batch_end (1-step chunks)")
    parser.add_argument("--vary", action="store_true",
                        help="predict on a different number of samples in each round")
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()
    if args.rounds < 1 or args.every < 1 or args.warmup < 1:
        parser.error("--rounds, --every and --warmup must be positive")
    print(f"python {sys.version.split()[0]}, load average at start "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}, {os.cpu_count()} CPUs")
    status = run(args.lib, args)
    if args.keras and args.lib == "gazelle":
        argv = [a for a in sys.argv[1:] if a != "--keras"] + ["--lib", "keras"]
        status |= subprocess.call([sys.executable, os.path.abspath(__file__)] + argv)
    return status


if __name__ == "__main__":
    sys.exit(main())
