"""Runs every benchmark workload in sequence and rewrites bench/RESULTS.md completely.

Workloads (one script each, run as a subprocess with --json; see bench/README.md):
W1 the tutorial MLP at batch 32 and 256 (seed_mlp.py), W2 the MNIST convnet (convnet.py),
W3-W5 overhead (overhead.py), W6 peak memory (memory.py), and the compute bounds
(compute_bound.py, given gazelle's W1/W2 medians from this run).

The new RESULTS.md has: how it was made, the machine, a summary against the targets of
issue 6, one section per workload with its ratios, and a generated "where the time goes"
section. Hand-written sections survive: whatever sits between `<!-- keep -->` and
`<!-- end keep -->` in the old file is copied to the end of the new one, in order.

    python bench/run_all.py                 # the full run: about 35-45 minutes on 2 quiet cores
    python bench/run_all.py --quick         # smoke run (small sizes), writes /tmp/RESULTS-quick.md
    python bench/run_all.py --only w1-32,w2 --output /tmp/partial.md
    python bench/run_all.py --args 'w2=--subset gazelle=6400,jax=6400,jax-nchw=6400'

Run nothing else heavy meanwhile; every section says how busy the machine was.
"""
import argparse
import datetime
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "RESULTS.md")
QUICK_RESULTS = os.path.join(tempfile.gettempdir(), "RESULTS-quick.md")
KEEP = re.compile(r"<!-- keep(?:: *[^>]*)? -->\n.*?<!-- end keep -->\n?", re.S)

# key: (script, arguments of the full run, arguments of the smoke run)
STEPS = {
    "w1-32": ("seed_mlp.py", ["--batch-size", "32", "--rounds", "5"],
              ["--batch-size", "32", "--quick"]),
    "w1-256": ("seed_mlp.py", ["--batch-size", "256", "--rounds", "5"],
               ["--batch-size", "256", "--quick"]),
    "w2": ("convnet.py", ["--rounds", "2"], ["--images", "1024", "--rounds", "1"]),
    "w3-w5": ("overhead.py", ["--rounds", "5"], ["--rounds", "1"]),
    "w6": ("memory.py", [], ["--images", "5000"]),
    "bounds": ("compute_bound.py", [], ["--quick"]),
}
FULL_SAMPLES = {"w1-32": 55_000, "w1-256": 55_000, "w2": 54_000}


# ---------------------------------------------------------------- running

def run_step(key, quick, folder, extra=(), log=print):
    """Runs one script with --json; returns (its JSON or None, seconds, log path)."""
    script, full, smoke = STEPS[key]
    args = list(smoke if quick else full) + list(extra)
    if key == "bounds":
        args += bound_arguments(folder)
    out = os.path.join(folder, f"{key}.json")
    log_path = os.path.join(folder, f"{key}.log")
    if os.path.exists(out):
        os.remove(out)
    cmd = [sys.executable, os.path.join(HERE, script)] + args + ["--json", out]
    log(f"\n=== {key}: {' '.join(cmd[1:])}", flush=True)
    start = time.perf_counter()
    with open(log_path, "w") as f:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                cwd=os.path.dirname(HERE))
        for line in proc.stdout:
            f.write(line)
            if not line.startswith("|"):  # the tables come again in RESULTS.md
                log("  " + line.rstrip(), flush=True)
        proc.wait()
    seconds = time.perf_counter() - start
    if proc.returncode or not os.path.exists(out):
        log(f"=== {key} failed (exit {proc.returncode}); log: {log_path}", flush=True)
        return None, seconds, log_path
    with open(out) as f:
        return json.load(f), seconds, log_path


def bound_arguments(folder):
    """--gazelle KEY=SECONDS from this run's W1/W2 medians, scaled to the full epoch when the
    run used fewer samples (a smoke run)."""
    args = []
    for key, full in FULL_SAMPLES.items():
        path = os.path.join(folder, f"{key}.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            data = json.load(f)
        median = data["systems"].get("gazelle", {}).get("median")
        if median:
            args += ["--gazelle", f"{key}={median * full / data['samples']:.4f}"]
    return args


# ---------------------------------------------------------------- writing RESULTS.md

def kept_sections(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [m.group(0).rstrip("\n") + "\n" for m in KEEP.finditer(f.read())]


def without_machine_line(markdown):
    """The scripts end their sections with a Machine: line; RESULTS.md states the machine
    once and keeps only each run's date and load average."""
    out = []
    for line in markdown.splitlines():
        if line.startswith("Machine: "):
            facts = line[len("Machine: "):].split("; ")
            line = "Run: " + "; ".join(f for f in facts if f.startswith(("date", "load")))
        out.append(line)
    return "\n".join(out).strip() + "\n"


def stat(data, system, field="median"):
    return ((data or {}).get("systems") or {}).get(system, {}).get(field)


def x(a, b):
    return f"{a / b:.2f}x" if a and b else "n/a"


def summary(results):
    """Headline numbers against the targets of issue 6."""
    rows = []
    for key, label in (("w1-32", "W1 batch 32"), ("w1-256", "W1 batch 256")):
        d = results.get(key)
        g = stat(d, "gazelle")
        rows += [
            (f"{label}: gazelle / hand-written lax.scan", x(g, stat(d, "jax")), "<= 1.1x"),
            (f"{label}: Keras 3 / gazelle", x(stat(d, "keras"), g), ">= 1.4x"),
            (f"{label}: PyTorch / gazelle", x(stat(d, "torch"), g), ">= 2x"),
        ]
    d = results.get("w2")
    rows.append(("W2: gazelle / PyTorch", x(stat(d, "gazelle"), stat(d, "torch")), "<= 1x"))
    rows.append(("W2: Keras 3 / gazelle", x(stat(d, "keras"), stat(d, "gazelle")), ""))
    o = results.get("w3-w5")
    if o:
        g, k = o["w3_w4"].get("gazelle"), o["w3_w4"].get("Keras 3")
        if g and k:
            rows.append(("W3: Keras 3 / gazelle", x(k["w3"][0], g["w3"][0]), ">= 3x"))
            rows.append(("W4: gazelle predict on 1 sample", f"{g['predict_1'][0] * 1e3:.2f} ms",
                         "< 1 ms"))
            rows.append(("W4: gazelle predict 10k / Keras 3",
                         x(g["predict_10k"][0], k["predict_10k"][0]), "<= 1x"))
        g5 = o["w5"].get("gazelle")
        if g5:
            rows.append(("W5: `import gazelle`", f"{g5['import'][0]:.2f} s", "< 0.8 s"))
            rows.append(("W5: build + compile + first step", f"{g5['first_step'][0]:.2f} s",
                         "< 0.6 s"))
    m = results.get("w6")
    if m:
        for key in ("gazelle", "keras", "torch"):
            r = m["systems"].get(key, {})
            if "peak_kib" in r:
                rows.append((f"W6: {key} fit peak - baseline",
                             f"{(r['peak_kib'] - r['baseline_kib']) / 1024:.0f} MiB", ""))
    b = results.get("bounds")
    if b:
        for key, res in b["workloads"].items():
            if not res.get("gazelle"):
                continue
            for name, bound in res["bounds"].items():
                if name.startswith(("XLA's kernels", "OpenBLAS")):
                    target = ("stretch: <= 1.2x" if key.startswith("w1")
                              and name.startswith("OpenBLAS") else "")
                    rows.append((f"{res['title']}: gazelle / bound of {name}",
                                 x(res["gazelle"], bound), target))
    lines = ["## Summary against the targets of issue 6", "",
             "Medians; a ratio above 1 means the first-named is slower.", "",
             "| measure | this run | target |", "|---|---:|---|"]
    lines += [f"| {a} | {b_} | {c} |" for a, b_, c in rows]
    return "\n".join(lines) + "\n"


def where_the_time_goes(results):
    """Splits each training epoch into the compute bound, what the hand-written reference adds
    and what gazelle adds on top (generated from this run's numbers)."""
    b = (results.get("bounds") or {}).get("workloads", {})
    lines = ["## Where the time goes (generated)", "",
             "For each training workload: the XLA-kernel compute bound (the step's GEMMs and "
             "convolutions timed alone), what the hand-written JAX epoch adds to it (elementwise "
             "work, the batch gather, the optimizer, the loop), and what gazelle adds to the "
             "hand-written epoch (framework work: callbacks, metrics, host syncs, data "
             "transfer). Medians of this run.", "",
             "| workload | XLA bound (s) | lowest bound (s) | hand-written JAX (s) | gazelle (s) "
             "| bound share of gazelle | gazelle - hand-written (s) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    notes = []
    for key in ("w1-32", "w1-256", "w2"):
        d, res = results.get(key), b.get(key)
        if not d:
            continue
        scale = FULL_SAMPLES[key] / d["samples"]
        g, j = stat(d, "gazelle"), stat(d, "jax")
        g, j = (g * scale if g else None), (j * scale if j else None)
        if key == "w2":  # the fastest hand-written variant is the reference
            variants = {k: v["median"] * scale for k, v in d["systems"].items()
                        if k.startswith("jax") and v.get("median")}
            if variants:
                best = min(variants, key=variants.get)
                j = variants[best]
                notes.append(f"W2's hand-written reference is its fastest variant, "
                             f"{d['systems'][best]['name']}.")
                if "jax" in variants and "jax-step" in variants:
                    notes.append(
                        f"W2: the NHWC step inside one lax.scan takes {variants['jax']:.1f} s "
                        f"per epoch, one jitted call per step {variants['jax-step']:.1f} s: "
                        "XLA:CPU compiles the weight-gradient convolution inside a while loop "
                        "to a much slower kernel (see the 'in a while loop' column of the W2 "
                        "bounds).")
        xla = next((v for k, v in (res or {}).get("bounds", {}).items()
                    if k.startswith("XLA's kernels")), None)
        low = min((res or {}).get("bounds", {"": None}).values(), default=None)
        lines.append(f"| {key} | {fmt(xla)} | {fmt(low)} | {fmt(j)} | {fmt(g)} "
                     f"| {f'{xla / g:.0%}' if xla and g else 'n/a'} "
                     f"| {fmt(g - j) if g and j else 'n/a'} |")
    if any(FULL_SAMPLES[k] != results[k]["samples"] for k in FULL_SAMPLES if results.get(k)):
        notes.append("Smoke run: the epoch times were measured on fewer samples and scaled "
                     "linearly to the full epoch.")
    return "\n".join(lines + [""] + [f"- {n}" for n in notes]) + "\n"


def fmt(v):
    return "n/a" if v is None else f"{v:.3f}"


def machine_section(results):
    facts = next((d["facts"] for d in results.values() if d), {})
    lines = ["## Machine and versions", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in facts.items() if not k.startswith(("load", "date"))]
    return "\n".join(lines) + "\n"


W1_TEXT = """## W1: the tf.keras Fashion-MNIST tutorial MLP

Wall-clock seconds per training epoch of Flatten 28x28 -> Dense 300 relu -> Dense 100 relu ->
Dense 10 softmax, SGD (learning rate 0.01), sparse categorical crossentropy, accuracy metric,
shuffled batches, on the 55,000 standardized float32 training images of Fashion-MNIST, on the
CPU. gazelle and Keras 3 (JAX backend) run `model.fit(x, y, epochs=1, batch_size=B,
verbose=0)` once per round on one compiled model; PyTorch runs an eager loop as a user writes
it; the hand-written JAX reference runs the whole epoch as one jitted `lax.scan`. The first
epoch (compile, warm-up) is shown on its own; min and median cover the epochs after it and
use only the clean epochs (other processes below 0.25 cores, read from /proc/stat), all
epochs when none was clean. Each batch size's section can be refreshed alone with
`python bench/seed_mlp.py --batch-size B --write-results`.
"""


def write_results(path, results, durations, started, command, quick):
    parts = [
        "# gazelle benchmarks" + (" (smoke run: small sizes, not results)" if quick else ""),
        f"Written by `{command}` on {started:%Y-%m-%d %H:%M %Z}, "
        f"{sum(durations.values()) / 60:.0f} minutes in all; do not edit outside the "
        "`<!-- keep -->` ... `<!-- end keep -->` sections, which the next run copies over. "
        "Per-workload commands and their logs: see each section and bench/README.md.",
        machine_section(results),
        summary(results),
    ]
    if results.get("w1-32") or results.get("w1-256"):
        parts.append(W1_TEXT)
    for key in ("w1-32", "w1-256"):
        d = results.get(key)
        if d:
            b = d["batch_size"]
            parts.append(f"<!-- batch {b} -->\n{without_machine_line(d['markdown'])}"
                         f"<!-- end batch {b} -->\n")
    titles = {"w1-32": "W1 batch 32", "w1-256": "W1 batch 256", "w2": "W2 MNIST convnet",
              "w3-w5": "W3-W5 overhead", "w6": "W6 memory", "bounds": "compute bounds"}
    for key in ("w2", "w3-w5", "w6", "bounds"):
        if results.get(key):
            parts.append(without_machine_line(results[key]["markdown"]))
    for key in STEPS:
        if key in durations and not results.get(key):
            parts.append(f"## {titles[key]}: failed\n\nThe script failed in this run; see its "
                         "log.\n")
    parts.append(where_the_time_goes(results))
    parts.append("Durations of this run: " + ", ".join(
        f"{k} {v / 60:.1f} min" for k, v in durations.items()) + ".\n")
    parts += kept_sections(path if os.path.exists(path) else RESULTS)
    text = "\n".join(p.strip("\n") + "\n" for p in parts if p.strip())
    with open(path, "w") as f:
        f.write(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run with small sizes; writes {QUICK_RESULTS} unless --output")
    parser.add_argument("--output", help=f"the file to write (default {RESULTS})")
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(STEPS)}")
    parser.add_argument("--args", action="append", default=[], metavar="KEY=ARGS",
                        help="extra arguments for one step, e.g. "
                             "--args 'w2=--subset gazelle=6400,jax=6400,jax-nchw=6400'")
    parser.add_argument("--json-dir", help="where the scripts' JSON and logs go "
                                           "(default: a new folder under /tmp)")
    parser.add_argument("--reuse", action="store_true",
                        help="with --only and --json-dir: take the other workloads' results "
                             "from the JSON an earlier run left in --json-dir")
    args = parser.parse_args(argv)
    keys = list(STEPS) if not args.only else [k for k in args.only.split(",") if k]
    if any(k not in STEPS for k in keys):
        parser.error(f"--only: choose from {list(STEPS)}")
    extra = {}
    for item in args.args:
        key, _, value = item.partition("=")
        if key not in STEPS:
            parser.error(f"--args: KEY must be one of {list(STEPS)}; got {item!r}")
        extra.setdefault(key, []).extend(shlex.split(value))
    path = args.output or (QUICK_RESULTS if args.quick else RESULTS)
    folder = args.json_dir or tempfile.mkdtemp(prefix="gazelle-bench-")
    os.makedirs(folder, exist_ok=True)
    command = "python bench/run_all.py" + "".join(
        f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    if os.environ.get("PYTHONPATH"):
        command = f"PYTHONPATH={os.environ['PYTHONPATH']} {command}"
    started = datetime.datetime.now().astimezone()
    print(f"writing {path}; JSON and logs in {folder}", flush=True)
    results, durations = {}, {}
    for key in keys:
        results[key], durations[key], _ = run_step(key, args.quick, folder, extra.get(key, ()))
    if args.reuse:
        for key in STEPS:
            earlier = os.path.join(folder, f"{key}.json")
            if key not in keys and os.path.exists(earlier):
                with open(earlier) as f:
                    results[key] = json.load(f)
                durations[key] = 0.0
        results = {k: results[k] for k in STEPS if k in results}
    write_results(path, results, durations, started, command, args.quick)
    print(f"\nwrote {path} ({sum(durations.values()) / 60:.1f} minutes)")
    failed = [k for k in keys if not results[k]]
    if failed:
        print(f"failed: {', '.join(failed)} (logs in {folder})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
