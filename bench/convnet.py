"""W2: seconds per training epoch of the Keras-example MNIST convnet, and what XLA:CPU offers.

Model (the Keras "simple MNIST convnet" example): Input(28, 28, 1) -> Conv2D 32 3x3 relu ->
MaxPooling2D 2 -> Conv2D 64 3x3 relu -> MaxPooling2D 2 -> Flatten -> Dropout 0.5 -> Dense 10
softmax; Adam (learning rate 1e-3); sparse categorical crossentropy; batch 128; shuffled.
Data: the first 54,000 MNIST training images from `gazelle.datasets.mnist` (the example's
validation_split=0.1), scaled to [0, 1] float32. Systems, interleaved round by round:

1. gazelle: `model.fit(x, y, epochs=1, batch_size=128, verbose=0)`, called again each round.
2. Keras 3 on its JAX backend, the same model and the same call.
3. PyTorch eager as a user writes it: NCHW tensors, nn.Conv2d, torch.optim.Adam, a manual loop
   over a shuffled permutation, default thread count (its convolutions are oneDNN's).
4. Hand-written JAX: the whole epoch as one jitted `lax.scan`, NHWC (JAX's and Keras's layout).

and variants of the hand-written JAX epoch, to learn what XLA:CPU offers for this model:

- jax-step: the same NHWC step, one jitted call per batch from a Python loop (no lax.scan):
  XLA:CPU compiles the weight-gradient convolution inside a while loop (lax.scan) to a far
  slower kernel than outside one (measured here: ~1 s against ~0.035 s per step for conv2).
- jax-nchw: the same step computed in NCHW / OIHW inside the compiled function.
- jax-patches: each convolution as `lax.conv_general_dilated_patches` + one dot.
- jax-im2col: each convolution as 9 shifted slices concatenated + one dot (its backward is
  pads and adds, not a convolution).
- jax-step with XLA_FLAGS variants (`--flags`, `--flags-on`): each in a worker subprocess, since XLA reads
  XLA_FLAGS once at start; the worker waits on a pipe between its epochs, so the rounds stay
  interleaved with the in-process systems.

`--subset SYSTEM=N` trains a system on its first N images and scales its times to the full
epoch (by default the two scanned variants whose epochs take minutes).

The first epoch (compile, warm-up) is reported on its own; min and median cover the rounds
after it, counting only the clean epochs (other processes below 0.25 cores, from /proc/stat).

    python bench/convnet.py [--rounds 3] [--images 54000] [--systems ...] [--flags ...]
                            [--json PATH]

A smoke run: `python bench/convnet.py --images 2560 --rounds 1` (under a minute).
"""
import os

os.environ["KERAS_BACKEND"] = "jax"  # must happen before keras is imported
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

from harness import (CLEAN_BELOW, command_line, fmt, load_average, machine_facts,  # noqa: E402
                     print_facts, ratio, record, summarize, timed, write_json, torch_epoch)

BATCH_SIZE = 128
LEARNING_RATE = 1e-3
IMAGES = 54_000

# Flag sets tried on the hand-written NHWC epoch, one worker process each. Names are the
# XLA:CPU options of jaxlib 0.10.2 (strings in its shared library); a set that XLA rejects
# is reported as failed, not fatal.
FLAG_SETS = {
    "xnn-dot": "--xla_cpu_experimental_xnn_fusion_type=dot",
    "xnn-graph-greedy":
        "--xla_cpu_experimental_xnn_graph_fusion_mode=XNN_GRAPH_FUSION_MODE_GREEDY",
    "ynn-dot": "--xla_cpu_experimental_ynn_fusion_type=dot",
    "onednn-dot": "--xla_cpu_experimental_onednn_fusion_type=dot",
    "onednn-custom-call": "--xla_cpu_use_onednn=true --xla_cpu_experimental_onednn_custom_call=true",
    "fast-math": "--xla_cpu_enable_fast_math=true",
}

NAMES = {
    "gazelle": "gazelle",
    "keras": "Keras 3 (JAX backend)",
    "torch": "PyTorch eager (NCHW, oneDNN)",
    "jax": "hand-written JAX, NHWC, lax.scan epoch",
    "jax-step": "hand-written JAX, NHWC, one jitted call per step",
    "jax-nchw": "hand-written JAX, NCHW inside the step, lax.scan epoch",
    "jax-patches": "hand-written JAX, conv_general_dilated_patches + dot, lax.scan epoch",
    "jax-im2col": "hand-written JAX, 9 slices (im2col) + dot, lax.scan epoch",
}
IN_PROCESS = list(NAMES)
DEFAULT_SUBSET = "jax=6400,jax-nchw=6400"


# ---------------------------------------------------------------- data

def load_data(limit=None):
    from gazelle.datasets import mnist
    (x, y), _ = mnist.load_data()
    n = min(limit or IMAGES, IMAGES)
    x = (x[:n].astype(np.float32) / 255.0)[..., None]
    return x, y[:n].astype(np.int32)


# ---------------------------------------------------------------- Keras-API systems

def build_keras_api(k):
    L = k.layers
    model = k.Sequential([
        k.Input(shape=(28, 28, 1)),
        L.Conv2D(32, kernel_size=(3, 3), activation="relu"), L.MaxPooling2D(pool_size=(2, 2)),
        L.Conv2D(64, kernel_size=(3, 3), activation="relu"), L.MaxPooling2D(pool_size=(2, 2)),
        L.Flatten(), L.Dropout(0.5), L.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=k.optimizers.Adam(learning_rate=LEARNING_RATE), metrics=["accuracy"])
    return model


def make_fit(k, x, y, seed):
    k.utils.set_random_seed(seed)
    model = build_keras_api(k)

    def run_epoch():
        history = model.fit(x, y, epochs=1, batch_size=BATCH_SIZE, verbose=0)
        return history.history["accuracy"][-1]
    return run_epoch


def make_gazelle(x, y, seed):
    import gazelle
    return make_fit(gazelle, x, y, seed)


def make_keras(x, y, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import keras
    if keras.backend.backend() != "jax":
        raise RuntimeError(f"Keras runs on {keras.backend.backend()!r}, expected 'jax'.")
    return make_fit(keras, x, y, seed)


# ---------------------------------------------------------------- PyTorch

def make_torch(x, y, seed):
    import torch
    from torch import nn
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.CrossEntropyLoss()
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # a user's NCHW data
    yt = torch.from_numpy(y.astype(np.int64))
    return torch_epoch(model, optimizer, loss_fn, xt, yt, BATCH_SIZE)


# ---------------------------------------------------------------- hand-written JAX

def conv_nhwc(h, w):
    from jax import lax
    return lax.conv_general_dilated(h, w, (1, 1), "VALID",
                                    dimension_numbers=("NHWC", "HWIO", "NHWC"))


def conv_nchw(h, w):
    """h in NCHW, w in HWIO (the stored layout): computed as NCHW x OIHW."""
    from jax import lax
    return lax.conv_general_dilated(h, w.transpose(3, 2, 0, 1), (1, 1), "VALID",
                                    dimension_numbers=("NCHW", "OIHW", "NCHW"))


def conv_patches(h, w):
    """NHWC: patches (N, H', W', C*9, features ordered C, kh, kw) times one (C*9, F) matrix."""
    from jax import lax
    kh, kw, c, f = w.shape
    p = lax.conv_general_dilated_patches(h, (kh, kw), (1, 1), "VALID",
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return p @ w.transpose(2, 0, 1, 3).reshape(c * kh * kw, f)


def conv_im2col(h, w):
    """NHWC: the kh*kw shifted windows concatenated on the channel axis, times one matrix."""
    import jax.numpy as jnp
    kh, kw, c, f = w.shape
    ho, wo = h.shape[1] - kh + 1, h.shape[2] - kw + 1
    cols = jnp.concatenate([h[:, i:i + ho, j:j + wo, :] for i in range(kh) for j in range(kw)],
                           axis=-1)
    return cols @ w.reshape(kh * kw * c, f)


def max_pool(h, layout):
    import jax.numpy as jnp
    from jax import lax
    window = (1, 2, 2, 1) if layout == "NHWC" else (1, 1, 2, 2)
    return lax.reduce_window(h, -jnp.inf, lax.max, window, window, "VALID")


def make_jax(x, y, seed, variant="nhwc", per_step=False):
    import jax
    import jax.numpy as jnp
    from jax import lax

    conv = {"nhwc": conv_nhwc, "nchw": conv_nchw, "patches": conv_patches,
            "im2col": conv_im2col}[variant]
    layout = "NCHW" if variant == "nchw" else "NHWC"
    n = len(x)
    steps, tail = divmod(n, BATCH_SIZE)
    key, init_key = jax.random.split(jax.random.key(seed))

    def glorot(k, shape, fan_in, fan_out):  # glorot_uniform, as Keras's Conv2D and Dense
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return jax.random.uniform(k, shape, jnp.float32, -limit, limit)

    k1, k2, k3 = jax.random.split(init_key, 3)
    params = {"w1": glorot(k1, (3, 3, 1, 32), 9, 9 * 32), "b1": jnp.zeros(32),
              "w2": glorot(k2, (3, 3, 32, 64), 9 * 32, 9 * 64), "b2": jnp.zeros(64),
              "w3": glorot(k3, (1600, 10), 1600, 10), "b3": jnp.zeros(10)}

    def forward(p, xb, dropout_key):
        if layout == "NCHW":
            h = xb.reshape(xb.shape[0], 1, 28, 28)  # C == 1: NHWC -> NCHW is a reshape
            bias = (lambda b: b[:, None, None])
        else:
            h, bias = xb, (lambda b: b)
        h = max_pool(jax.nn.relu(conv(h, p["w1"]) + bias(p["b1"])), layout)
        h = max_pool(jax.nn.relu(conv(h, p["w2"]) + bias(p["b2"])), layout)
        h = h.reshape(h.shape[0], -1)
        keep = jax.random.bernoulli(dropout_key, 0.5, h.shape)
        h = jnp.where(keep, h / 0.5, 0.0)
        return h @ p["w3"] + p["b3"]

    def adam(p, m, v, g, t):  # Keras's Adam: epsilon 1e-7, bias correction in the step size
        b1, b2 = 0.9, 0.999
        m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
        v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
        lr = LEARNING_RATE * jnp.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        p = jax.tree.map(lambda p, m, v: p - lr * m / (jnp.sqrt(v) + 1e-7), p, m, v)
        return p, m, v

    def step(state, xb, yb, dropout_key):
        p, m, v, t = state

        def loss_fn(p):
            logits = forward(p, xb, dropout_key)
            logp = jax.nn.log_softmax(logits)
            return -jnp.mean(jnp.take_along_axis(logp, yb[:, None], axis=1)), logits
        g, logits = jax.grad(loss_fn, has_aux=True)(p)
        t = t + 1
        p, m, v = adam(p, m, v, g, t.astype(jnp.float32))
        return (p, m, v, t), jnp.sum(jnp.argmax(logits, axis=-1) == yb)

    @jax.jit
    def epoch(state, x, y, key):
        order_key, drop_key = jax.random.split(key)
        order = jax.random.permutation(order_key, n)
        keys = jax.random.split(drop_key, steps + 1)

        def body(carry, inputs):
            state, correct = carry
            idx, k = inputs
            state, c = step(state, x[idx], y[idx], k)
            return (state, correct + c), None
        batches = order[:steps * BATCH_SIZE].reshape(steps, BATCH_SIZE)
        (state, correct), _ = lax.scan(body, (state, jnp.int32(0)), (batches, keys[:steps]))
        if tail:
            rest = order[steps * BATCH_SIZE:]
            state, c = step(state, x[rest], y[rest], keys[steps])
            correct = correct + c
        return state, correct / n

    zeros = jax.tree.map(jnp.zeros_like, params)
    xd, yd = jax.device_put(x), jax.device_put(y)
    box = {"state": (params, zeros, zeros, jnp.int32(0)), "epoch": 0}

    if per_step:  # one jitted call per batch from a Python loop, as Keras 3 runs its steps
        @jax.jit
        def one_step(state, x, y, idx, k):
            return step(state, x[idx], y[idx], k)

        def run_epoch():
            ekey = jax.random.fold_in(key, box["epoch"])
            order = np.random.default_rng(box["epoch"]).permutation(n)
            keys = jax.random.split(ekey, steps + 1)
            correct, state = 0, box["state"]
            for i, start in enumerate(range(0, n, BATCH_SIZE)):
                state, c = one_step(state, xd, yd, order[start:start + BATCH_SIZE], keys[i])
                correct = correct + c
            box["state"], box["epoch"] = state, box["epoch"] + 1
            return float(correct) / n
        return run_epoch

    def run_epoch():
        ekey = jax.random.fold_in(key, box["epoch"])
        box["state"], acc = epoch(box["state"], xd, yd, ekey)
        box["epoch"] += 1
        return float(acc)  # blocks until the epoch is done
    return run_epoch


FACTORIES = {
    "gazelle": make_gazelle, "keras": make_keras, "torch": make_torch,
    "jax": lambda x, y, s: make_jax(x, y, s, "nhwc"),
    "jax-step": lambda x, y, s: make_jax(x, y, s, "nhwc", per_step=True),
    "jax-nchw": lambda x, y, s: make_jax(x, y, s, "nchw"),
    "jax-patches": lambda x, y, s: make_jax(x, y, s, "patches"),
    "jax-im2col": lambda x, y, s: make_jax(x, y, s, "im2col"),
}


# ---------------------------------------------------------------- XLA_FLAGS workers

class Worker:
    """The hand-written NHWC epoch in a subprocess started with its own XLA_FLAGS. It loads
    the data, says ready, then runs one epoch per line read from stdin and answers with one
    JSON line (it times itself and checks the machine's load itself)."""

    def __init__(self, name, flags, system, images, seed):
        env = dict(os.environ, XLA_FLAGS=(os.environ.get("XLA_FLAGS", "") + " " + flags).strip())
        self.name, self.flags, self.error = name, flags, None
        self.log = tempfile.TemporaryFile("w+")  # a pipe could fill up and block the worker
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", system, "--images", str(images),
             "--seed", str(seed)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.log, text=True, env=env)

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            self.log.seek(0)
            tail = self.log.read().strip().splitlines()[-3:]
            self.error = f"exited with {self.proc.returncode}: " + " / ".join(tail)
            raise RuntimeError(self.error)
        return json.loads(line)

    def wait_ready(self):
        answer = self._read()
        if "error" in answer:
            self.error = answer["error"]
            raise RuntimeError(self.error)

    def __call__(self):
        self.proc.stdin.write("epoch\n")
        self.proc.stdin.flush()
        answer = self._read()
        if "error" in answer:
            self.error = answer["error"]
            raise RuntimeError(self.error)
        return answer["seconds"], answer["accuracy"], answer["others"]

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        self.log.close()


def worker_main(system, images, seed):
    """--worker SYSTEM: serve epochs of that system (see Worker)."""
    x, y = load_data(images)
    try:
        run_epoch = FACTORIES[system](x, y, seed)
    except Exception as e:  # noqa: BLE001 - reported by the parent
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
        return
    print(json.dumps({"ready": True}), flush=True)
    for _ in sys.stdin:
        try:
            seconds, acc, others = timed(run_epoch)
            print(json.dumps({"seconds": seconds, "accuracy": acc, "others": others}), flush=True)
        except Exception as e:  # noqa: BLE001 - XLA rejected the flags at compile time
            print(json.dumps({"error": f"{type(e).__name__}: {str(e)[:300]}"}), flush=True)
            return


# ---------------------------------------------------------------- measuring and report

def measure(x, y, systems, flag_sets, flags_on, rounds, seed, subset=None, log=print):
    """Warm-up epoch, then `rounds` rounds of one epoch per system, interleaved. Systems in
    `subset` ({system: images}) train on their first images only and their times are scaled
    linearly to len(x) (for the variants that take minutes per epoch)."""
    runners, results, workers = {}, {}, []
    subset = {k: v for k, v in (subset or {}).items() if v < len(x)}
    for key in systems:
        try:
            m = subset.get(key, len(x))
            run_epoch = FACTORIES[key](x[:m], y[:m], seed)

            def run(f=run_epoch, scale=len(x) / m):
                seconds, acc, others = timed(f)
                return seconds * scale, acc, others
            runners[key] = run
        except ImportError as e:
            results[key] = {"skipped": f"not installed ({e})"}
    for key, m in subset.items():
        if key in NAMES:
            NAMES[key] += f" (on {m:,} images, time scaled)"
    for name, flags in flag_sets.items():
        workers.append(Worker(name, flags, flags_on, len(x), seed))
    for w in workers:  # started together, waited for before any timing
        key = f"{flags_on}+{w.name}"
        NAMES[key] = f"{NAMES[flags_on]}, XLA_FLAGS={w.flags}"
        try:
            w.wait_ready()
            runners[key] = w
        except RuntimeError as e:
            results[key] = {"skipped": f"failed: {e}"}
    try:
        for r in range(rounds + 1):
            for key, run in list(runners.items()):
                try:
                    seconds, accuracy, others = run()
                except RuntimeError as e:
                    results[key] = {"skipped": f"failed: {e}"}
                    del runners[key]
                    log(f"  {key}: failed: {e}", flush=True)
                    continue
                record(results, key, key, r, rounds, seconds, accuracy, others, log)
    finally:
        for w in workers:
            w.close()
    stats = {}
    for key, res in results.items():
        st = {"name": NAMES[key]}
        if "skipped" in res:
            st["skipped"] = res["skipped"]
        else:
            st.update(first=res["first"], first_others=res["first_others"],
                      accuracy=res["accuracy"], times=res["times"], others=res["others"],
                      **summarize(res["times"], res["others"]))
        stats[key] = st
    return stats


def format_report(facts, stats, n, rounds, command):
    steps = -(-n // BATCH_SIZE)
    base = stats.get("torch", {})
    jax_ref = stats.get("jax", {})
    lines = [
        "## W2: MNIST convnet (Keras example), batch 128, Adam",
        "",
        f"`{command}`: {n:,} images, {steps:,} steps per epoch, one warm-up epoch and then "
        f"{rounds} measured epochs per system, interleaved round by round (XLA_FLAGS variants "
        "in worker processes that wait on a pipe between their epochs).",
        "",
        "| system | first epoch incl. compile (s) | min s/epoch | median s/epoch | clean epochs "
        "| / PyTorch (median) | / hand-written NHWC scan (median) | train accuracy |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, st in stats.items():
        if "skipped" in st:
            lines.append(f"| {st['name']} | {st['skipped']} | | | | | | |")
            continue
        busy = st["first_others"] is not None and st["first_others"] >= CLEAN_BELOW
        first = f"{st['first']:.2f}" + (" (not clean)" if busy else "")
        flag = "" if st["clean"] else " (none clean)"
        lines.append(f"| {st['name']} | {first} | {fmt(st['min'])} | {fmt(st['median'])} "
                     f"| {st['clean']}/{st['n']}{flag} "
                     f"| {ratio(st['median'], base.get('median'))} "
                     f"| {ratio(st['median'], jax_ref.get('median'))} | {st['accuracy']:.4f} |")
    lines += ["", "Ratios above 1 mean slower than PyTorch / than the hand-written NHWC epoch.",
              "", "Machine: " + "; ".join(f"{k} {v}" for k, v in facts.items()), ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3,
                        help="measured epochs per system after the warm-up (default 3)")
    parser.add_argument("--images", type=int, default=IMAGES,
                        help=f"training images (default and most {IMAGES:,})")
    parser.add_argument("--systems", default=",".join(IN_PROCESS),
                        help="comma-separated in-process systems (default: all of "
                             f"{','.join(IN_PROCESS)})")
    parser.add_argument("--flags", default=",".join(FLAG_SETS),
                        help="comma-separated XLA_FLAGS variants run in workers, by name "
                             f"({','.join(FLAG_SETS)}), or 'none'")
    parser.add_argument("--flags-on", default="jax-step",
                        help="the system the XLA_FLAGS variants run (default jax-step)")
    parser.add_argument("--subset", default=DEFAULT_SUBSET, metavar="SYSTEM=N,...",
                        help="systems that train on their first N images only, time scaled "
                             f"to the full epoch (default {DEFAULT_SUBSET}: XLA compiles their "
                             "scanned weight-gradient convolutions to slow kernels); 'none'")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--worker", metavar="SYSTEM", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.images, args.seed)
    if args.rounds < 1 or args.images < BATCH_SIZE:
        parser.error(f"--rounds must be positive and --images at least {BATCH_SIZE}.")
    systems = [s for s in args.systems.split(",") if s]
    unknown = [s for s in systems + [args.flags_on] if s not in FACTORIES]
    flag_names = [] if args.flags in ("", "none") else args.flags.split(",")
    unknown += [f for f in flag_names if f not in FLAG_SETS]
    if unknown:
        parser.error(f"unknown systems or flag sets: {unknown}")
    subset = {}
    for item in ([] if args.subset in ("", "none") else args.subset.split(",")):
        key, _, value = item.partition("=")
        if key not in FACTORIES or not value.isdigit() or int(value) < BATCH_SIZE:
            parser.error(f"--subset takes SYSTEM=N with N >= {BATCH_SIZE}; got {item!r}")
        subset[key] = int(value)
    command = command_line("convnet.py", argv if argv is not None else sys.argv[1:])

    facts = machine_facts()
    print_facts(facts)
    x, y = load_data(args.images)
    print(f"data     {x.shape} {x.dtype}, batch size {BATCH_SIZE}, "
          f"{args.rounds} rounds after a warm-up", flush=True)
    stats = measure(x, y, systems, {f: FLAG_SETS[f] for f in flag_names}, args.flags_on,
                    args.rounds, args.seed, subset)
    facts["load average at end"] = load_average()
    section = format_report(facts, stats, len(x), args.rounds, command)
    print("\n" + section)
    write_json(args.json, {"workload": "W2", "script": "convnet.py", "command": command,
                           "facts": facts, "batch_size": BATCH_SIZE, "samples": len(x),
                           "steps": -(-len(x) // BATCH_SIZE), "rounds": args.rounds,
                           "systems": stats, "markdown": section})


if __name__ == "__main__":
    main()
