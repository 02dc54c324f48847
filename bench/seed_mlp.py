"""Seconds per training epoch of the tf.keras Fashion-MNIST tutorial MLP, four ways.

Model: Flatten 28x28 -> Dense 300 relu -> Dense 100 relu -> Dense 10 softmax; SGD lr 0.01;
sparse categorical crossentropy; accuracy metric; shuffled mini-batches; no progress bar.
Data: the 55,000-image Fashion-MNIST training split from `gazelle.datasets.fashion_mnist`,
standardized to float32. Systems, run interleaved round by round in one process:

1. gazelle: `model.fit(x, y, epochs=1, batch_size=B, verbose=0)`, called again each round.
2. Keras 3 on its JAX backend, the same model and the same call.
3. PyTorch eager as a user writes it: nn.Sequential, torch.optim.SGD, a manual loop over a
   shuffled index permutation (no DataLoader), default thread count.
4. Hand-written JAX: the whole epoch as one jitted `lax.scan`, the floor to aim for.

The first epoch of each system (compile/warm-up) is reported on its own; the statistics
cover the `--rounds` epochs after it.

    python bench/seed_mlp.py [--rounds 5] [--batch-size 32] [--quick] [--write-results]

A benchmark script, not library code: imports gazelle, keras, jax, torch and numpy.
"""
import os

os.environ["KERAS_BACKEND"] = "jax"  # must happen before keras is imported
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse  # noqa: E402
import datetime  # noqa: E402
import gc  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

CLEAN_BELOW = 0.25  # an epoch is clean when other processes used fewer cores than this
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")
LEARNING_RATE = 0.01
NAMES = {"gazelle": "gazelle", "keras": "Keras 3 (JAX backend)",
         "torch": "PyTorch eager", "jax": "hand-written JAX (lax.scan epoch)"}


# ---------------------------------------------------------------- data and machine facts

def load_data(limit=None):
    """The tutorial's training split (images 5000: of the training set), standardized."""
    from gazelle.datasets import fashion_mnist
    (x_all, y_all), _ = fashion_mnist.load_data()
    x, y = x_all[5000:], y_all[5000:]
    if limit:
        x, y = x[:limit], y[:limit]
    mean, std = x.mean(), x.std()
    x = ((x.astype(np.float32) - mean) / std).astype(np.float32)
    return x, y.astype(np.int32)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def version(module_name):
    try:
        return __import__(module_name).__version__
    except Exception:  # not installed, or broken: say so in the table instead of failing
        return "not available"


def gazelle_source():
    """Where gazelle was imported from, with the git commit when that is a checkout."""
    import subprocess
    import gazelle
    folder = os.path.dirname(os.path.dirname(os.path.abspath(gazelle.__file__)))
    try:
        git = ["git", "-C", folder]
        commit = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(git + ["status", "--porcelain", "--", "gazelle"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return folder
    return f"{folder} at {commit}" + (" + uncommitted changes" if dirty else "")


def machine_facts():
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    facts = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu_model(),
        "cores": f"{os.cpu_count()} logical ({usable} usable by this process)",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "jax": version("jax"),
        "keras": version("keras"),
        "torch": version("torch"),
        "gazelle": f"{version('gazelle')} from {gazelle_source()}",
    }
    if hasattr(os, "getloadavg"):  # others' jobs on the machine show up here
        facts["load average at start"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    try:
        import torch
        facts["torch"] += f" (num_threads={torch.get_num_threads()})"
    except ImportError:
        pass
    return facts


# ---------------------------------------------------------------- the four systems
# Each factory returns run_epoch() -> final training accuracy of that epoch. The
# caller times the call; every run_epoch blocks until its results are on the host.

def make_gazelle(x, y, batch_size, seed):
    import gazelle as keras
    keras.utils.set_random_seed(seed)
    model = keras.models.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        keras.layers.Dense(300, activation="relu"),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE),
                  metrics=["accuracy"])

    def run_epoch():
        history = model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0)
        return history.history["accuracy"][-1]
    return run_epoch


def make_keras(x, y, batch_size, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import keras
    if keras.backend.backend() != "jax":
        raise RuntimeError(f"Keras runs on {keras.backend.backend()!r}, expected 'jax'.")
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(300, activation="relu"),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE),
                  metrics=["accuracy"])

    def run_epoch():
        history = model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0)
        return history.history["accuracy"][-1]
    return run_epoch


def make_torch(x, y, batch_size, seed):
    import torch
    from torch import nn
    torch.manual_seed(seed)
    # Logits + CrossEntropyLoss is how PyTorch users write softmax + sparse crossentropy.
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(),
                          nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    n = len(xt)

    def run_epoch():
        model.train()
        correct = torch.zeros((), dtype=torch.int64)
        perm = torch.randperm(n)
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            xb, yb = xt[idx], yt[idx]
            optimizer.zero_grad()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            optimizer.step()
            correct += (logits.detach().argmax(1) == yb).sum()
        return correct.item() / n
    return run_epoch


def make_jax(x, y, batch_size, seed):
    import jax
    import jax.numpy as jnp
    from jax import lax

    n = len(x)
    steps, tail = divmod(n, batch_size)
    sizes = [784, 300, 100, 10]
    key, init_key = jax.random.split(jax.random.key(seed))
    params = []
    for k, (fan_in, fan_out) in zip(jax.random.split(init_key, 3), zip(sizes, sizes[1:])):
        limit = np.sqrt(6.0 / (fan_in + fan_out))  # glorot_uniform, as Keras's Dense
        params.append((jax.random.uniform(k, (fan_in, fan_out), jnp.float32, -limit, limit),
                       jnp.zeros((fan_out,), jnp.float32)))

    def forward(params, xb):
        h = xb.reshape(xb.shape[0], -1)
        for i, (w, b) in enumerate(params):
            h = h @ w + b
            if i < len(params) - 1:
                h = jax.nn.relu(h)
        return h

    def step(params, xb, yb):
        def loss_fn(p):
            logits = forward(p, xb)
            logp = jax.nn.log_softmax(logits)
            return -jnp.mean(jnp.take_along_axis(logp, yb[:, None], axis=1)), logits
        grads, logits = jax.grad(loss_fn, has_aux=True)(params)
        params = jax.tree.map(lambda p, g: p - LEARNING_RATE * g, params, grads)
        return params, jnp.sum(jnp.argmax(logits, axis=-1) == yb)

    @jax.jit
    def epoch(params, x, y, key):
        order = jax.random.permutation(key, n)

        def body(carry, idx):
            params, correct = carry
            params, c = step(params, x[idx], y[idx])
            return (params, correct + c), None
        batches = order[:steps * batch_size].reshape(steps, batch_size)
        (params, correct), _ = lax.scan(body, (params, jnp.int32(0)), batches)
        if tail:
            rest = order[steps * batch_size:]
            params, c = step(params, x[rest], y[rest])
            correct = correct + c
        return params, correct / n

    xd, yd = jax.device_put(x), jax.device_put(y)
    state = {"params": params, "epoch": 0}

    def run_epoch():
        ekey = jax.random.fold_in(key, state["epoch"])
        state["params"], acc = epoch(state["params"], xd, yd, ekey)
        state["epoch"] += 1
        return float(acc)  # blocks until the epoch is done
    return run_epoch


FACTORIES = {"gazelle": make_gazelle, "keras": make_keras,
             "torch": make_torch, "jax": make_jax}


# ---------------------------------------------------------------- measuring

def busy_cpu_seconds():
    """CPU-seconds the whole machine has spent busy (from /proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds():
    t = os.times()
    return t.user + t.system


def timed(run_epoch):
    """(wall seconds, accuracy, cores that other processes kept busy meanwhile)."""
    gc.collect()
    busy, own = busy_cpu_seconds(), own_cpu_seconds()
    start = time.perf_counter()
    accuracy = run_epoch()
    seconds = time.perf_counter() - start
    others = None
    if busy is not None:
        cpu = (busy_cpu_seconds() - busy) - (own_cpu_seconds() - own)
        others = max(cpu, 0.0) / seconds
    return seconds, accuracy, others


def measure(x, y, batch_size, rounds, seed, log=print):
    """Warm-up epoch, then `rounds` rounds of one epoch per system, interleaved."""
    runners, results = {}, {}
    for key, factory in FACTORIES.items():
        try:
            runners[key] = factory(x, y, batch_size, seed)
        except ImportError as e:
            results[key] = {"skipped": f"not installed ({e})"}
    for r in range(rounds + 1):
        for key, run_epoch in runners.items():
            seconds, accuracy, others = timed(run_epoch)
            res = results.setdefault(key, {"first": seconds, "first_others": others,
                                           "times": [], "others": []})
            if r:
                res["times"].append(seconds)
                res["others"].append(others)
            res["accuracy"] = accuracy
            label = "warm-up" if r == 0 else f"round {r}/{rounds}"
            busy = "" if others is None else f"  other processes {others:.2f} cores"
            log(f"  {label:12s} {NAMES[key]:36s} {seconds:8.3f} s  acc {accuracy:.4f}{busy}",
                flush=True)
    return results


# ---------------------------------------------------------------- report

def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "n/a"


def format_report(facts, results, n, batch_size, rounds, command):
    steps = -(-n // batch_size)
    lines = [
        f"## Batch size {batch_size}",
        "",
        f"`{command}`: {n:,} samples, {steps:,} steps per epoch, one warm-up epoch and then "
        f"{rounds} measured epochs per system, interleaved round by round in one process.",
        "",
        "| system | first epoch incl. compile (s) | min s/epoch | median s/epoch "
        f"| clean epochs | train accuracy after {rounds + 1} epochs |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    stats = {}
    for key, res in results.items():
        if "skipped" in res:
            lines.append(f"| {NAMES[key]} | {res['skipped']} | | | | |")
            continue
        clean = [t for t, o in zip(res["times"], res["others"])
                 if o is not None and o < CLEAN_BELOW]
        times = clean or res["times"]
        lo, med = min(times), statistics.median(times)
        stats[key] = (lo, med)
        flag = "" if clean else " (none clean: all epochs)"
        busy = res["first_others"] is not None and res["first_others"] >= CLEAN_BELOW
        first = f"{res['first']:.2f}" + (" (not clean)" if busy else "")
        lines.append(f"| {NAMES[key]} | {first} | {lo:.3f} | {med:.3f} "
                     f"| {len(clean)}/{len(res['times'])}{flag} | {res['accuracy']:.4f} |")
    lines += ["", "| ratio | by min | by median |", "|---|---:|---:|"]
    for label, top, bottom in [("Keras 3 / gazelle", "keras", "gazelle"),
                               ("PyTorch / gazelle", "torch", "gazelle"),
                               ("gazelle / hand-written JAX", "gazelle", "jax")]:
        a, b = stats.get(top, (None, None)), stats.get(bottom, (None, None))
        lines.append(f"| {label} | {ratio(a[0], b[0])} | {ratio(a[1], b[1])} |")
    lines += ["", "Machine: " + "; ".join(f"{k} {v}" for k, v in facts.items()), ""]
    return "\n".join(lines)


HEADER = """# Training speed: the tf.keras Fashion-MNIST tutorial MLP

Written by `bench/seed_mlp.py --write-results`; do not edit the sections by hand.

What is measured: wall-clock seconds per training epoch of Flatten 28x28 -> Dense 300 relu ->
Dense 100 relu -> Dense 10 softmax, SGD (learning rate 0.01), sparse categorical crossentropy,
accuracy metric, shuffled batches, no progress bar, on the 55,000 standardized float32 training
images of Fashion-MNIST, on the CPU. gazelle and Keras 3 (JAX backend) run
`model.fit(x, y, epochs=1, batch_size=B, verbose=0)` once per round on one compiled model;
PyTorch runs an eager loop as a user writes it (nn.Sequential, torch.optim.SGD, shuffled index
permutation, logits + CrossEntropyLoss, default init and thread count); the hand-written JAX
reference runs the whole epoch as one jitted `lax.scan`, the floor. The first epoch (compile,
warm-up) is shown on its own; min and median cover the epochs after it. Ratios above 1 mean
the first-named system is slower. Final training accuracies should agree roughly (PyTorch
uses its own default initialization). The machine may be shared: for each epoch the script
reads from /proc/stat how many cores other processes kept busy meanwhile, and min and median
use only the clean epochs (other processes below 0.25 cores), all epochs when none was clean.
PyTorch's eager loop slows down up to tenfold when another process takes one of its cores.
"""

SECTION = re.compile(r"<!-- batch (\d+) -->\n(.*?)<!-- end batch \1 -->\n", re.S)


def write_results(section, batch_size, path=RESULTS):
    """Replaces this batch size's section of RESULTS.md, keeping the others."""
    sections = {}
    if os.path.exists(path):
        with open(path) as f:
            sections = {int(b): body for b, body in SECTION.findall(f.read())}
    sections[batch_size] = section
    text = HEADER + "".join(f"\n<!-- batch {b} -->\n{sections[b].strip()}\n<!-- end batch {b} -->\n"
                            for b in sorted(sections))
    with open(path, "w") as f:
        f.write(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5,
                        help="measured epochs per system after the warm-up (default 5)")
    parser.add_argument("--batch-size", type=int, default=32, help="default 32")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2 rounds on the first 5,000 samples")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--write-results", action="store_true",
                        help=f"rewrite this batch size's section of {RESULTS}")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.batch_size < 1:
        parser.error(f"--rounds and --batch-size must be positive integers; received "
                     f"{args.rounds} and {args.batch_size}.")
    if args.quick and args.write_results:
        parser.error("--write-results records real measurements; drop --quick.")
    rounds = 2 if args.quick else args.rounds
    command = "python bench/seed_mlp.py" + (f" {' '.join(argv or sys.argv[1:])}".rstrip())
    if os.environ.get("PYTHONPATH"):
        command = f"PYTHONPATH={os.environ['PYTHONPATH']} {command}"

    facts = machine_facts()
    print("\n".join(f"{k:8s} {v}" for k, v in facts.items()), flush=True)
    x, y = load_data(limit=5000 if args.quick else None)
    print(f"data     {x.shape} {x.dtype}, batch size {args.batch_size}, "
          f"{rounds} rounds after a warm-up", flush=True)
    results = measure(x, y, args.batch_size, rounds, args.seed)
    if hasattr(os, "getloadavg"):
        facts["load average at end"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    section = format_report(facts, results, len(x), args.batch_size, rounds, command)
    print("\n" + section)
    if args.write_results:
        write_results(section, args.batch_size)
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
