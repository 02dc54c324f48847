"""The course CNN with augmentation layers in front (issue 14): gazelle vs Keras 3 (JAX) vs
PyTorch eager with per-sample augmentation on DataLoader workers, interleaved round by round.

The course CNN: Conv2D 32 3x3 relu (same) -> MaxPooling2D -> Conv2D 64 3x3 relu (same) ->
MaxPooling2D -> Flatten -> Dense 128 relu -> Dense 10 softmax; Adam; batch 64; the first
`--samples` Fashion-MNIST training images, standardized; test accuracy on the 10,000 test
images. Every system trains it twice, without and with augmentation:

- gazelle and Keras 3: `RandomFlip("horizontal"), RandomRotation(0.1), RandomZoom(0.1)` as
  the first layers of the Sequential model, so they run inside the compiled train step;
- PyTorch: the same three transforms per sample in a `Dataset.__getitem__`, run on
  `--workers` DataLoader workers (spawned, persistent). torchvision is not installed here,
  so the transforms are written with `torch.flip` and, for the rotation and the zoom, one
  `affine_grid` + `grid_sample` each (bilinear, reflection padding), as torchvision's tensor
  transforms do. Without augmentation the same DataLoader runs with no transform.

Each round trains every variant for one epoch (`fit(epochs=1)`, or one pass over the
DataLoader); round 0 is the warm-up (compiling, worker start) and is reported apart. The
ratio with/without augmentation is per system; the issue's target: gazelle within 1.3x.

    python bench/augmentation.py [--rounds 3] [--samples 20000] [--workers 1] [--threads 1]
    python bench/augmentation.py --profile     # also: the augmentation layers alone, jitted

PyTorch runs `set_num_threads(--threads)` in the main process and one thread per worker;
JAX uses every core. The load average is printed at the start, per round and at the end.
"""
import argparse
import math
import os
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CLEAN_BELOW, busy_cpu_seconds, command_line, fmt, load_average,  # noqa: E402
                     machine_facts, print_facts, summarize, write_json)

BATCH = 64
ROTATION = 0.1   # fraction of a full turn: angles in [-36, 36] degrees
ZOOM = 0.1       # zoom factors in [0.9, 1.1]


# ---------------------------------------------------------------- gazelle and Keras 3

def keras_model(k, augment):
    L = k.layers
    front = [L.RandomFlip("horizontal"), L.RandomRotation(ROTATION),
             L.RandomZoom(ZOOM)] if augment else []
    model = k.Sequential([
        k.Input(shape=(28, 28, 1)), *front,
        L.Conv2D(32, 3, activation="relu", padding="same"), L.MaxPooling2D(2),
        L.Conv2D(64, 3, activation="relu", padding="same"), L.MaxPooling2D(2),
        L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
                  metrics=["accuracy"])
    return model


def keras_system(k, augment, x, y, x_test, y_test):
    model = keras_model(k, augment)

    def epoch():
        return float(model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
                     .history["accuracy"][-1])

    def test_accuracy():
        return float(model.evaluate(x_test, y_test, batch_size=256, verbose=0)[1])
    return epoch, test_accuracy, None


# ---------------------------------------------------------------- PyTorch

def _worker_init(_):
    import torch
    torch.set_num_threads(1)


class FashionDataset:
    """(image, label) per index; with `augment`, flip / rotation / zoom drawn per sample."""

    def __init__(self, images, labels, augment):
        self.images, self.labels, self.augment = images, labels, augment

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        image = self.images[i]                  # (1, 28, 28) float32
        if self.augment:
            image = augment_one(image)
        return image, self.labels[i]


def _affine(image, theta):
    """Samples `image` (C, H, W) at the points `theta` (2x3, normalized coordinates) maps
    each output pixel to."""
    import torch.nn.functional as F
    batch = image[None]
    grid = F.affine_grid(theta[None], list(batch.shape), align_corners=False)
    return F.grid_sample(batch, grid, mode="bilinear", padding_mode="reflection",
                         align_corners=False)[0]


def augment_one(image):
    """RandomFlip("horizontal"), RandomRotation(0.1), RandomZoom(0.1) on one (C, H, W)
    image, one resampling per geometric transform as Keras's layers and torchvision do.
    On a square image normalized coordinates are isotropic, so the rotation matrix needs
    no aspect correction."""
    import torch
    draws = torch.rand(3)
    if draws[0] < 0.5:
        image = torch.flip(image, dims=(-1,))
    angle = (2 * draws[1] - 1) * ROTATION * 2 * math.pi
    cos, sin = math.cos(angle), math.sin(angle)
    image = _affine(image, torch.tensor([[cos, -sin, 0.0], [sin, cos, 0.0]]))
    zoom = 1 + (2 * draws[2] - 1) * ZOOM        # > 1 zooms out, as in Keras
    return _affine(image, torch.tensor([[zoom, 0.0, 0.0], [0.0, zoom, 0.0]]))


def torch_system(augment, x, y, x_test, y_test, workers):
    import torch
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)   # Keras's defaults
    loss_fn = nn.CrossEntropyLoss()
    xt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 1)))
    yt = torch.from_numpy(y.astype(np.int64))
    kwargs = dict(num_workers=workers, worker_init_fn=_worker_init,
                  persistent_workers=True, multiprocessing_context="spawn") if workers else {}
    loader = torch.utils.data.DataLoader(FashionDataset(xt, yt, augment), batch_size=BATCH,
                                         shuffle=True, **kwargs)

    def epoch():
        model.train()
        correct, seen = 0, 0
        for xb, yb in loader:
            optimizer.zero_grad()
            logits = model(xb)
            loss_fn(logits, yb).backward()
            optimizer.step()
            correct += int((logits.detach().argmax(1) == yb).sum())
            seen += len(yb)
        return correct / seen

    xtest = torch.from_numpy(np.ascontiguousarray(np.moveaxis(x_test, -1, 1)))
    ytest = torch.from_numpy(y_test.astype(np.int64))

    def test_accuracy():
        model.eval()
        with torch.no_grad():
            correct = sum(int((model(xtest[i:i + 1000]).argmax(1) == ytest[i:i + 1000]).sum())
                          for i in range(0, len(xtest), 1000))
        return correct / len(xtest)

    def close():
        # ends the persistent workers now rather than at interpreter exit
        it = getattr(loader, "_iterator", None)
        if it is not None and hasattr(it, "_shutdown_workers"):
            it._shutdown_workers()
    return epoch, test_accuracy, close


# ---------------------------------------------------------------- timing

def _tree_cpu_seconds():
    """CPU seconds of this process and of every live descendant (DataLoader workers are
    not waited for, so os.times() misses them), from /proc; None without /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    parents, cpu = {}, {}
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        parents[int(pid)] = int(fields[1])
        cpu[int(pid)] = (int(fields[11]) + int(fields[12])) / tick   # utime + stime
    me, total = os.getpid(), 0.0
    for pid, seconds in cpu.items():
        p, hops = pid, 0
        while p and p != me and hops < 64:
            p, hops = parents.get(p, 0), hops + 1
        if p == me:
            total += seconds
    t = os.times()
    return total + t.children_user + t.children_system


def timed_tree(fn):
    """(wall seconds, fn's result, cores other processes kept busy, cores this process
    tree used) around fn()."""
    import gc
    gc.collect()
    busy, own = busy_cpu_seconds(), _tree_cpu_seconds()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    others = used = None
    if busy is not None and own is not None:
        used = max(_tree_cpu_seconds() - own, 0.0)
        others = max((busy_cpu_seconds() - busy) - used, 0.0) / seconds
        used /= seconds
    return seconds, result, others, used


# ---------------------------------------------------------------- the augmentation alone

def profile_layers(k, name, images, repeats):
    """ms per batch of the three layers alone, training=True, jitted, and of each layer."""
    import jax
    L = k.layers
    layers = {"RandomFlip": L.RandomFlip("horizontal"),
              "RandomRotation": L.RandomRotation(ROTATION), "RandomZoom": L.RandomZoom(ZOOM)}
    stack = k.Sequential([k.Input(shape=(28, 28, 1)), *layers.values()])
    batch = jax.numpy.asarray(images[:BATCH])
    out = {}
    for label, layer in [("all three (Sequential)", stack), *layers.items()]:
        layer(batch[:2], training=True)         # builds it
        state = [v.value for v in layer.non_trainable_variables]

        @jax.jit
        def fn(state, images, layer=layer):
            result, state = layer.stateless_call([], state, images, training=True)
            return result, state
        result, state = fn(state, batch)
        jax.block_until_ready(result)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            result, state = fn(state, batch)
            jax.block_until_ready(result)
            times.append(time.perf_counter() - start)
        out[label] = 1000 * statistics.median(times)
        print(f"  {name:8s} {label:24s} {out[label]:8.3f} ms per batch of {BATCH} "
              f"(median of {repeats}, min {1000 * min(times):.3f})", flush=True)
    return out


def profile_torch(images, repeats):
    import torch
    xt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(images[:BATCH], -1, 1)))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(BATCH):
            augment_one(xt[i])
        times.append(time.perf_counter() - start)
    ms = 1000 * statistics.median(times)
    print(f"  {'torch':8s} {'augment_one x 64':24s} {ms:8.3f} ms per batch of {BATCH} "
          f"(median of {repeats}, min {1000 * min(times):.3f}; one thread)", flush=True)
    return ms


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="measured epochs per variant")
    parser.add_argument("--samples", type=int, default=20000,
                        help="training images (the first N of Fashion-MNIST's 60,000)")
    parser.add_argument("--systems", default="gazelle,keras,torch")
    parser.add_argument("--workers", type=int, default=1,
                        help="PyTorch DataLoader workers (0: load in the training process)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch.set_num_threads in the training process")
    parser.add_argument("--profile", action="store_true",
                        help="also time the augmentation layers alone (jitted)")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    for option in ("rounds", "samples"):
        if getattr(args, option) < 1:
            parser.error(f"--{option} must be at least 1, got {getattr(args, option)}")
    for option in ("workers", "threads"):
        if getattr(args, option) < (0 if option == "workers" else 1):
            parser.error(f"--{option} out of range, got {getattr(args, option)}")
    systems = args.systems.split(",")
    unknown = set(systems) - {"gazelle", "keras", "torch"}
    if unknown:
        parser.error(f"--systems: unknown {sorted(unknown)}; expected gazelle, keras, torch")

    import gazelle
    (x, y), (x_test, y_test) = gazelle.datasets.fashion_mnist.load_data()
    x, y = x[:args.samples], y[:args.samples]
    mean, std = x.mean(), x.std()
    x = ((x - mean) / std).astype(np.float32)[..., None]
    x_test = ((x_test - mean) / std).astype(np.float32)[..., None]

    variants, labels, skipped = {}, {}, []
    for system in systems:
        if system == "torch":
            try:
                import torch
            except ImportError as e:
                skipped.append(f"torch: {e}")
                continue
            torch.set_num_threads(args.threads)
            torch.manual_seed(42)
            labels["torch"] = (f"PyTorch {torch.__version__} eager, {args.threads} thread(s), "
                               f"{args.workers} DataLoader worker(s)")
            for augment in (False, True):
                variants[("torch", augment)] = torch_system(augment, x, y, x_test, y_test,
                                                            args.workers)
        else:
            try:
                k = gazelle if system == "gazelle" else __import__("keras")
            except ImportError as e:
                skipped.append(f"keras: {e}")
                continue
            k.utils.set_random_seed(42)
            labels[system] = "gazelle" if system == "gazelle" else \
                f"Keras {k.__version__} (jax)"
            for augment in (False, True):
                variants[(system, augment)] = keras_system(k, augment, x, y, x_test, y_test)

    facts = machine_facts()
    print_facts(facts)
    for line in skipped:
        print(f"skipped: {line}")
    print(f"\n{args.samples} training images, batch {BATCH}, {args.rounds} measured rounds "
          "after one warm-up round; torchvision is not installed: PyTorch's flip / rotation / "
          "zoom are torch.flip + affine_grid/grid_sample per sample\n", flush=True)

    results = {}
    for r in range(args.rounds + 1):
        load = load_average()
        for (system, augment), (epoch, _, _) in variants.items():
            seconds, acc, others, used = timed_tree(epoch)
            key = f"{system}{'+aug' if augment else ''}"
            res = results.setdefault(key, {"system": system, "augment": augment,
                                           "first": seconds, "first_others": others,
                                           "times": [], "others": [], "loads": []})
            if r:
                res["times"].append(seconds)
                res["others"].append(others)
                res["loads"].append(load)
            res["train_accuracy"] = acc
            label = "warm-up" if r == 0 else f"round {r}/{args.rounds}"
            extra = "" if others is None else \
                f"  cores: this run {used:.2f}, other processes {others:.2f}"
            print(f"  {label:12s} {key:12s} {seconds:8.3f} s  train acc {acc:.4f}{extra}  "
                  f"load {load}", flush=True)
    for (system, augment), (_, test_accuracy, close) in variants.items():
        key = f"{system}{'+aug' if augment else ''}"
        results[key]["test_accuracy"] = test_accuracy()
        if close:
            close()

    profile = None
    if args.profile:
        print("\naugmentation alone, training=True, one batch:", flush=True)
        profile = {}
        for system in systems:
            if system == "torch" and "torch" in labels:
                profile["torch"] = profile_torch(x, 20)
            elif system in labels:
                k = gazelle if system == "gazelle" else __import__("keras")
                profile[system] = profile_layers(k, system, x, 50)

    facts["load average at end"] = load_average()
    lines = [f"`{command_line('augmentation.py', sys.argv[1:])}`: the course CNN, "
             f"{args.samples} Fashion-MNIST training images, batch {BATCH}, Adam; "
             f"augmentation = RandomFlip(\"horizontal\"), RandomRotation({ROTATION}), "
             f"RandomZoom({ZOOM}) (PyTorch: the same per sample in the Dataset, torch.flip + "
             "affine_grid/grid_sample, as torchvision is not installed). Seconds per "
             "epoch; the warm-up epoch includes compiling (and starting the DataLoader "
             f"workers). Min and median over the clean rounds (other processes below "
             f"{CLEAN_BELOW} cores), all rounds when none was clean.", "",
             "| system | augmentation | warm-up epoch (s) | median s/epoch (min) | clean rounds "
             "| load average (1 min) in the rounds | with / without | test accuracy |",
             "|---|---|---:|---:|---:|---|---:|---:|"]
    ratios = {}
    for system, label in labels.items():
        plain, aug = results.get(system), results.get(f"{system}+aug")
        s_plain = summarize(plain["times"], plain["others"])
        s_aug = summarize(aug["times"], aug["others"])
        ratios[system] = s_aug["median"] / s_plain["median"]
        for res, s, name in ((plain, s_plain, "none"), (aug, s_aug, "flip+rotation+zoom")):
            loads = ", ".join(v.split()[0] for v in res["loads"])
            lines.append(f"| {label} | {name} | {fmt(res['first'], 2)} | "
                         f"{fmt(s['median'], 3)} ({fmt(s['min'], 3)}) | {s['clean']}/{s['n']} "
                         f"| {loads} | {'' if res is plain else f'{ratios[system]:.2f}x'} | "
                         f"{res['test_accuracy']:.4f} |")
    lines.append("")
    if "gazelle" in ratios:
        verdict = "meets" if ratios["gazelle"] <= 1.3 else "misses"
        lines.append(f"gazelle with / without augmentation: {ratios['gazelle']:.2f}x, "
                     f"{verdict} the issue's target of 1.3x.")
    base = summarize(results["gazelle+aug"]["times"], results["gazelle+aug"]["others"]) \
        if "gazelle" in labels else None
    if base:
        for system, label in labels.items():
            if system != "gazelle":
                other = summarize(results[f"{system}+aug"]["times"],
                                  results[f"{system}+aug"]["others"])
                lines.append(f"With augmentation, {label} / gazelle: "
                             f"{other['median'] / base['median']:.2f}x.")
    if profile:
        lines += ["", "The augmentation alone, one batch of 64, training=True (ms, median):",
                  "", "| system | " + " | ".join(next(
                      (list(v) for v in profile.values() if isinstance(v, dict)), [])) + " |"]
        width = len(next((v for v in profile.values() if isinstance(v, dict)), {}))
        lines.append("|---|" + "---:|" * width)
        for system, v in profile.items():
            if isinstance(v, dict):
                lines.append(f"| {labels[system]} | "
                             + " | ".join(f"{ms:.3f}" for ms in v.values()) + " |")
            else:
                lines.append(f"| PyTorch, augment_one on {BATCH} samples, one thread | {v:.3f} |"
                             + " |" * (width - 1))
    lines += ["", "Machine: " + "; ".join(f"{k} {v}" for k, v in facts.items())]
    section = "\n".join(lines)
    print("\n" + section, flush=True)
    write_json(args.json, {"facts": facts, "results": results, "ratios": ratios,
                           "profile": profile, "markdown": section})


if __name__ == "__main__":
    main()
