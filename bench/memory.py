"""W6: peak memory of one training epoch of the tutorial MLP on the full Fashion-MNIST training
set (60,000 images, standardized float32, batch 32, SGD), each system in its own process.

Each child process imports its library (touching the parts a lazy import defers, and starting
JAX's CPU client), loads and standardizes the data, collects garbage and reads its resident
set size (VmRSS): the baseline. It then resets the kernel's peak counter
(writing 5 to /proc/self/clear_refs, so VmHWM restarts from the current RSS), builds the model
and runs one epoch of `fit` (gazelle, Keras 3 on JAX) or of the loops of bench/seed_mlp.py
(PyTorch eager, hand-written JAX), and reads the peak (VmHWM). Reported: the baseline, the
peak, and peak - baseline, the memory that building and fitting the model added. Where the
peak cannot be reset the child falls back to ru_maxrss, which may include a peak from loading;
the table says so.

    python bench/memory.py [--images N] [--systems gazelle,keras,torch,jax] [--json PATH]
"""
import os

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from harness import command_line, load_average, machine_facts, print_facts, write_json  # noqa: E402

BATCH_SIZE = 32
NAMES = {"gazelle": "gazelle", "keras": "Keras 3 (JAX backend)", "torch": "PyTorch eager",
         "jax": "hand-written JAX (lax.scan epoch)"}
IMPORTS = {"gazelle": "gazelle", "keras": "keras", "torch": "torch", "jax": "jax"}


def status_kib(field):
    """A field of /proc/self/status in KiB (VmRSS, VmHWM), or None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def reset_peak():
    """Restarts VmHWM from the current RSS (Linux 4.0+); False where that is not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    hwm, rss = status_kib("VmHWM"), status_kib("VmRSS")
    return hwm is not None and rss is not None and hwm <= rss * 1.05


def child(system, images, seed):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        lib = __import__(IMPORTS[system])
    if system != "torch":  # load what imports lazily, and start JAX's CPU client
        import jax.numpy as jnp
        jnp.zeros(1).block_until_ready()
    if system in ("gazelle", "keras"):
        lib.layers.Dense, lib.models.Sequential, lib.optimizers.SGD  # noqa: B018
    import seed_mlp
    from gazelle.datasets import fashion_mnist
    (x, y), _ = fashion_mnist.load_data()
    if images:
        x, y = x[:images], y[:images]
    x = ((x.astype(np.float32) - x.mean()) / x.std()).astype(np.float32)
    y = y.astype(np.int32)
    gc.collect()
    baseline = status_kib("VmRSS")
    was_reset = reset_peak()
    start = time.perf_counter()
    run_epoch = seed_mlp.FACTORIES[system](x, y, BATCH_SIZE, seed)
    accuracy = run_epoch()
    seconds = time.perf_counter() - start
    peak = status_kib("VmHWM") if was_reset else None
    if peak is None:  # ru_maxrss is in KiB on Linux
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"baseline_kib": baseline, "peak_kib": peak, "after_kib": status_kib("VmRSS"),
                      "peak_reset": was_reset, "seconds": seconds, "accuracy": accuracy,
                      "data_mib": (x.nbytes + y.nbytes) / 2 ** 20}), flush=True)


def run_child(system, images, seed):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", system, "--seed", str(seed)]
    if images:
        cmd += ["--images", str(images)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode or not lines:
        tail = " / ".join(proc.stderr.strip().splitlines()[-2:])
        return {"skipped": f"failed ({proc.returncode}): {tail}"}
    return json.loads(lines[-1])


def format_report(facts, results, images, command):
    mib = lambda kib: kib / 1024  # noqa: E731
    lines = ["## W6: peak memory of fit (tutorial MLP, batch 32, one epoch)", "",
             f"`{command}`: {images:,} Fashion-MNIST training images (standardized float32), "
             "each system in its own process. Baseline: RSS after importing the library and "
             "loading the data; peak: VmHWM during building the model and one epoch "
             "(the counter is reset after the baseline).", "",
             "| system | baseline RSS (MiB) | peak RSS (MiB) | peak - baseline (MiB) "
             "| RSS after (MiB) | epoch incl. compile (s) |", "|---|---:|---:|---:|---:|---:|"]
    for key, r in results.items():
        if "skipped" in r:
            lines.append(f"| {NAMES[key]} | {r['skipped']} | | | | |")
            continue
        note = "" if r["peak_reset"] else " (ru_maxrss: includes loading)"
        lines.append(f"| {NAMES[key]} | {mib(r['baseline_kib']):.0f} | {mib(r['peak_kib']):.0f}"
                     f"{note} | {mib(r['peak_kib'] - r['baseline_kib']):.0f} "
                     f"| {mib(r['after_kib']):.0f} | {r['seconds']:.2f} |")
    data = next((r["data_mib"] for r in results.values() if "data_mib" in r), None)
    if data:
        lines += ["", f"The training arrays themselves take {data:.0f} MiB (in the baseline)."]
    lines += ["", "Machine: " + "; ".join(f"{k} {v}" for k, v in facts.items()), ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=None,
                        help="use only the first N training images (default: all 60,000)")
    parser.add_argument("--systems", default=",".join(NAMES))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--child", metavar="SYSTEM", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.images, args.seed)
    systems = [s for s in args.systems.split(",") if s]
    if any(s not in NAMES for s in systems):
        parser.error(f"--systems: choose from {list(NAMES)}")
    command = command_line("memory.py", argv if argv is not None else sys.argv[1:])
    facts = machine_facts()
    print_facts(facts)
    results = {}
    for system in systems:
        results[system] = r = run_child(system, args.images, args.seed)
        print(f"  {NAMES[system]:36s} {r}", flush=True)
    facts["load average at end"] = load_average()
    images = args.images or 60_000
    section = format_report(facts, results, images, command)
    print("\n" + section)
    write_json(args.json, {"workload": "W6", "script": "memory.py", "command": command,
                           "facts": facts, "images": images, "systems": results,
                           "markdown": section})


if __name__ == "__main__":
    main()
