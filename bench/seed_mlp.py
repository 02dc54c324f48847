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

    python bench/seed_mlp.py [--rounds 5] [--batch-size 32] [--quick] [--images N]
                             [--write-results] [--json PATH]

A benchmark script, not library code: imports gazelle, keras, jax, torch and numpy.
"""
import os

os.environ["KERAS_BACKEND"] = "jax"  # must happen before keras is imported
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

from harness import (CLEAN_BELOW, command_line, load_average, machine_facts,  # noqa: E402
                     print_facts, ratio, record, summarize, timed, torch_epoch, write_json)

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
    return torch_epoch(model, optimizer, loss_fn, xt, yt, batch_size)


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
            record(results, key, NAMES[key], r, rounds, seconds, accuracy, others, log)
    return results


# ---------------------------------------------------------------- report

def stats_of(results):
    """Per system: first epoch, min/median over the clean measured epochs, accuracy."""
    stats = {}
    for key, res in results.items():
        if "skipped" in res:
            stats[key] = {"name": NAMES[key], "skipped": res["skipped"]}
            continue
        stats[key] = {"name": NAMES[key], "first": res["first"],
                      "first_others": res["first_others"], "accuracy": res["accuracy"],
                      "times": res["times"], "others": res["others"],
                      **summarize(res["times"], res["others"])}
    return stats


def format_report(facts, stats, n, batch_size, rounds, command):
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
    for key, st in stats.items():
        if "skipped" in st:
            lines.append(f"| {st['name']} | {st['skipped']} | | | | |")
            continue
        flag = "" if st["clean"] else " (none clean: all epochs)"
        busy = st["first_others"] is not None and st["first_others"] >= CLEAN_BELOW
        first = f"{st['first']:.2f}" + (" (not clean)" if busy else "")
        lines.append(f"| {st['name']} | {first} | {st['min']:.3f} | {st['median']:.3f} "
                     f"| {st['clean']}/{st['n']}{flag} | {st['accuracy']:.4f} |")
    lines += ["", "| ratio | by min | by median |", "|---|---:|---:|"]
    for label, top, bottom in [("Keras 3 / gazelle", "keras", "gazelle"),
                               ("PyTorch / gazelle", "torch", "gazelle"),
                               ("gazelle / hand-written JAX", "gazelle", "jax")]:
        a, b = stats.get(top, {}), stats.get(bottom, {})
        lines.append(f"| {label} | {ratio(a.get('min'), b.get('min'))} "
                     f"| {ratio(a.get('median'), b.get('median'))} |")
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
    """Replaces this batch size's section of RESULTS.md in place and keeps everything else
    (the other batch size, the sections bench/run_all.py writes, the hand-written ones);
    a missing section goes after the last batch section, or at the end."""
    block = f"<!-- batch {batch_size} -->\n{section.strip()}\n<!-- end batch {batch_size} -->\n"
    text = HEADER if not os.path.exists(path) else open(path).read()
    found = [m for m in SECTION.finditer(text)]
    mine = [m for m in found if int(m.group(1)) == batch_size]
    if mine:
        text = text[:mine[0].start()] + block + text[mine[0].end():]
    elif found:
        text = text[:found[-1].end()] + "\n" + block + text[found[-1].end():]
    else:
        text = text.rstrip("\n") + "\n\n" + block
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
    parser.add_argument("--images", type=int, default=None,
                        help="use only the first N training images (default: all 55,000)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.batch_size < 1:
        parser.error(f"--rounds and --batch-size must be positive integers; received "
                     f"{args.rounds} and {args.batch_size}.")
    if args.quick and args.write_results:
        parser.error("--write-results records real measurements; drop --quick.")
    if args.images is not None and args.write_results:
        parser.error("--write-results records the full data set; drop --images.")
    rounds = 2 if args.quick else args.rounds
    command = command_line("seed_mlp.py", argv if argv is not None else sys.argv[1:])

    facts = machine_facts()
    print_facts(facts)
    x, y = load_data(limit=args.images or (5000 if args.quick else None))
    print(f"data     {x.shape} {x.dtype}, batch size {args.batch_size}, "
          f"{rounds} rounds after a warm-up", flush=True)
    stats = stats_of(measure(x, y, args.batch_size, rounds, args.seed))
    facts["load average at end"] = load_average()
    section = format_report(facts, stats, len(x), args.batch_size, rounds, command)
    print("\n" + section)
    write_json(args.json, {"workload": "W1", "script": "seed_mlp.py", "command": command,
                           "facts": facts, "batch_size": args.batch_size, "samples": len(x),
                           "steps": -(-len(x) // args.batch_size), "rounds": rounds,
                           "systems": stats, "markdown": section})
    if args.write_results:
        write_results(section, args.batch_size)
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
