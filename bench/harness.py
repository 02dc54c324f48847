"""What every benchmark script here shares: machine facts, timing with the clean-epoch check,
min/median over the clean rounds, ratios, and the --json output that run_all.py reads.

Not library code; imported by the scripts in bench/ (they run with bench/ on sys.path).
"""
import datetime
import gc
import json
import os
import platform
import statistics
import subprocess
import time

import numpy as np

CLEAN_BELOW = 0.25  # an epoch is clean when other processes used fewer cores than this


# ---------------------------------------------------------------- machine facts

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


def load_average():
    return " ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def machine_facts(libraries=("jax", "keras", "torch")):
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    facts = {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu_model(),
        "cores": f"{os.cpu_count()} logical ({usable} usable by this process)",
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    for name in libraries:
        facts[name] = version(name)
    facts["gazelle"] = f"{version('gazelle')} from {gazelle_source()}"
    if os.environ.get("XLA_FLAGS"):
        facts["XLA_FLAGS"] = os.environ["XLA_FLAGS"]
    facts["load average at start"] = load_average()  # others' jobs on the machine show up here
    if "torch" in libraries:
        try:
            import torch
            facts["torch"] += f" (num_threads={torch.get_num_threads()})"
        except ImportError:
            pass
    return facts


def print_facts(facts):
    print("\n".join(f"{k:8s} {v}" for k, v in facts.items()), flush=True)


# ---------------------------------------------------------------- timing

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
    """CPU seconds of this process and of its waited-for children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(fn):
    """(wall seconds, fn's result, cores that other processes kept busy meanwhile)."""
    gc.collect()
    busy, own = busy_cpu_seconds(), own_cpu_seconds()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    others = None
    if busy is not None:
        cpu = (busy_cpu_seconds() - busy) - (own_cpu_seconds() - own)
        others = max(cpu, 0.0) / seconds
    return seconds, result, others


def record(results, key, name, round_index, rounds, seconds, accuracy, others, log=print):
    """Adds one epoch to results[key] (round 0 is the warm-up, kept apart) and logs it."""
    res = results.setdefault(key, {"first": seconds, "first_others": others,
                                   "times": [], "others": []})
    if round_index:
        res["times"].append(seconds)
        res["others"].append(others)
    res["accuracy"] = accuracy
    label = "warm-up" if round_index == 0 else f"round {round_index}/{rounds}"
    busy = "" if others is None else f"  other processes {others:.2f} cores"
    log(f"  {label:12s} {name:36s} {seconds:8.3f} s  acc {accuracy:.4f}{busy}", flush=True)


def summarize(times, others):
    """min/median over the clean measurements (all of them when none was clean)."""
    clean = [t for t, o in zip(times, others) if o is not None and o < CLEAN_BELOW]
    use = clean or list(times)
    if not use:
        return {"min": None, "median": None, "clean": 0, "n": 0}
    return {"min": min(use), "median": statistics.median(use), "clean": len(clean),
            "n": len(times)}


def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "n/a"


def fmt(seconds, digits=3):
    return "n/a" if seconds is None else f"{seconds:.{digits}f}"


# ---------------------------------------------------------------- machine-readable output

def write_json(path, payload):
    """Writes payload (plain dicts, lists, numbers, strings) for run_all.py to read."""
    if not path:
        return
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w") as f:
        json.dump(payload, f, indent=1, default=float)
    print(f"wrote {path}", flush=True)


def command_line(script, argv):
    """How this run was started, for the report (PYTHONPATH and XLA_FLAGS included)."""
    env = " ".join(f"{k}={os.environ[k]}" for k in ("PYTHONPATH", "XLA_FLAGS")
                   if os.environ.get(k))
    return " ".join(p for p in (env, f"python bench/{script}", " ".join(argv)) if p)


def torch_epoch(model, optimizer, loss_fn, xt, yt, batch_size):
    """run_epoch() for PyTorch as a user writes it: shuffled index batches, zero_grad,
    logits, loss, backward, step; returns the epoch's training accuracy."""
    import torch
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
