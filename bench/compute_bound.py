"""Compute bounds for W1 (tutorial MLP) and W2 (MNIST convnet): exact FLOPs and the measured
speed of this machine's kernels for exactly the shapes of one training step.

For each workload the script lists the matrix products and convolutions of one forward +
backward step (the first layer's input gradient is not computed: nothing needs it), counts
their FLOPs (2 per multiply-add; the elementwise work, bias, activations, pooling, softmax and
optimizer update are left out, so the bound is a lower bound) and times each of them alone:

- XLA: GEMMs jitted inside a `lax.fori_loop` that cycles over 8 distinct inputs and writes
  each result into a carried buffer (so nothing is hoisted or dropped); convolutions as one
  jitted call each (their gradients are what `jax.vjp` of `lax.conv_general_dilated` compiles
  to), and again inside such a loop, since XLA:CPU compiles a weight-gradient convolution in
  a while loop (lax.scan) to a far slower kernel.
- OpenBLAS through numpy (`np.matmul(a, b, out=c)` in a Python loop, the call overhead
  included): the GEMMs, and for W2 the GEMMs an im2col formulation of each convolution would
  run (building the patch matrices not counted).
- PyTorch (oneDNN) for W2's convolutions: F.conv2d and torch.nn.grad.conv2d_weight/_input.

seconds per epoch >= (samples / batch) * sum of the step's op times, per kernel family;
also FLOPs per epoch / the best large-square GEMM throughput measured here. It then prints how
far gazelle's epoch is from the bounds: pass its measured times (`--gazelle w1-32=1.05`, keys
w1-32, w1-256, w2) or let the script measure one gazelle epoch after a warm-up epoch.

    python bench/compute_bound.py [--quick] [--gazelle w1-32=S ...] [--no-measure] [--json PATH]
"""
import os

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from harness import (command_line, load_average, machine_facts, print_facts,  # noqa: E402
                     timed, write_json)

POOL = 8  # distinct inputs cycled through, so no iteration can reuse another's result
W1_SAMPLES, W2_SAMPLES = 55_000, 54_000


# ---------------------------------------------------------------- the ops of one step

def gemm(label, m, k, n, transpose_a=False):
    """(m, k) @ (k, n); transpose_a: A is stored (k, m) and used transposed (weight grads)."""
    return {"kind": "gemm", "label": label, "m": m, "k": k, "n": n, "ta": transpose_a,
            "flops": 2 * m * k * n}


def conv(label, which, batch, hw, cin, cout, ksize=3):
    """A VALID stride-1 convolution NHWC x HWIO; which in fwd, wgrad, dgrad."""
    out = hw - ksize + 1
    return {"kind": "conv", "label": label, "which": which, "batch": batch, "hw": hw,
            "cin": cin, "cout": cout, "ksize": ksize,
            "flops": 2 * batch * out * out * cout * ksize * ksize * cin}


def mlp_ops(b):
    """Tutorial MLP 784-300-100-10 at batch b."""
    return [gemm("dense1 fwd", b, 784, 300), gemm("dense2 fwd", b, 300, 100),
            gemm("dense3 fwd", b, 100, 10),
            gemm("dense1 weight grad", 784, b, 300, True),
            gemm("dense2 weight grad", 300, b, 100, True),
            gemm("dense3 weight grad", 100, b, 10, True),
            gemm("dense2 input grad", b, 100, 300), gemm("dense3 input grad", b, 10, 100)]


def convnet_ops(b):
    """Keras-example convnet at batch b (28x28x1 -> conv 32 -> pool -> conv 64 -> pool ->
    1600 -> dense 10)."""
    return [conv("conv1 fwd", "fwd", b, 28, 1, 32), conv("conv1 weight grad", "wgrad", b, 28, 1, 32),
            conv("conv2 fwd", "fwd", b, 13, 32, 64), conv("conv2 weight grad", "wgrad", b, 13, 32, 64),
            conv("conv2 input grad", "dgrad", b, 13, 32, 64),
            gemm("dense fwd", b, 1600, 10), gemm("dense weight grad", 1600, b, 10, True),
            gemm("dense input grad", b, 10, 1600)]


def im2col_gemm(op):
    """The GEMM an im2col formulation of a convolution runs (same FLOPs)."""
    b, out, kk = op["batch"], op["hw"] - op["ksize"] + 1, op["ksize"] ** 2 * op["cin"]
    rows = b * out * out
    if op["which"] == "fwd":
        return gemm(op["label"], rows, kk, op["cout"])
    if op["which"] == "wgrad":
        return gemm(op["label"], kk, rows, op["cout"], True)
    return gemm(op["label"], rows, op["cout"], kk)


# ---------------------------------------------------------------- timing one op

def best_per_call(run, reps, repeats, target):
    """run(reps) blocks until done; seconds per call, min over `repeats` timings of a loop
    sized to last about `target` seconds."""
    run(2)
    seconds, _, _ = timed(lambda: run(reps))
    reps = max(reps, int(reps * target / max(seconds, 1e-6)))
    best = float("inf")
    for _ in range(repeats):
        seconds, _, _ = timed(lambda: run(reps))
        best = min(best, seconds / reps)
    return best


def xla_runner(op, rng, in_loop=None):
    """GEMMs run inside a fori_loop (one call is too short to time alone); convolutions run
    as one jitted call each from Python, since XLA:CPU compiles a weight-gradient
    convolution inside a while loop to a much slower kernel (in_loop=True measures that)."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    if op["kind"] == "gemm":
        m, k, n = op["m"], op["k"], op["n"]
        a = rng.standard_normal((POOL, k, m) if op["ta"] else (POOL, m, k), np.float32)
        b = rng.standard_normal((POOL, k, n), np.float32)
        if op["ta"]:
            fn = lambda a, b: lax.dot_general(a, b, (((0,), (0,)), ((), ())))  # noqa: E731
        else:
            fn = jnp.dot
        out_shape = (m, n)
    else:
        bsz, hw, cin, cout, ks = op["batch"], op["hw"], op["cin"], op["cout"], op["ksize"]
        out = hw - ks + 1
        dn = ("NHWC", "HWIO", "NHWC")
        x = rng.standard_normal((POOL, bsz, hw, hw, cin), np.float32)
        w = rng.standard_normal((POOL, ks, ks, cin, cout), np.float32)
        dy = rng.standard_normal((POOL, bsz, out, out, cout), np.float32)

        def c(x, w):
            return lax.conv_general_dilated(x, w, (1, 1), "VALID", dimension_numbers=dn)
        if op["which"] == "fwd":
            a, b, fn, out_shape = x, w, c, (bsz, out, out, cout)
        elif op["which"] == "wgrad":
            def fn(x, dy, w0=jnp.zeros((ks, ks, cin, cout), jnp.float32)):
                return jax.vjp(lambda w: c(x, w), w0)[1](dy)[0]
            a, b, out_shape = x, dy, (ks, ks, cin, cout)
        else:
            def fn(w, dy, x0=jnp.zeros((bsz, hw, hw, cin), jnp.float32)):
                return jax.vjp(lambda x: c(x, w), x0)[1](dy)[0]
            a, b, out_shape = w, dy, (bsz, hw, hw, cin)

    if in_loop is None:
        in_loop = op["kind"] == "gemm"
    a, b = jax.device_put(a), jax.device_put(b)
    if not in_loop:
        once = jax.jit(fn)

        def run(reps):
            out = None
            for i in range(reps):
                out = once(a[i % POOL], b[i % POOL])
            out.block_until_ready()
        return run

    @jax.jit
    def loop(a, b, reps):
        def body(i, buf):
            j = i % POOL
            return lax.dynamic_update_index_in_dim(buf, fn(a[j], b[j]), j, 0)
        return lax.fori_loop(0, reps, body, jnp.zeros((POOL,) + out_shape, jnp.float32))

    return lambda reps: loop(a, b, reps).block_until_ready()


def numpy_runner(op, rng):
    m, k, n = op["m"], op["k"], op["n"]
    a = [rng.standard_normal((k, m), np.float32).T if op["ta"]
         else rng.standard_normal((m, k), np.float32) for _ in range(POOL)]
    b = [rng.standard_normal((k, n), np.float32) for _ in range(POOL)]
    c = np.empty((m, n), np.float32)

    def run(reps):
        for i in range(reps):
            np.matmul(a[i % POOL], b[i % POOL], out=c)
    return run


def torch_runner(op, rng):
    import torch
    import torch.nn.functional as F
    bsz, hw, cin, cout, ks = op["batch"], op["hw"], op["cin"], op["cout"], op["ksize"]
    out = hw - ks + 1
    x = [torch.from_numpy(rng.standard_normal((bsz, cin, hw, hw), np.float32)) for _ in range(POOL)]
    w = [torch.from_numpy(rng.standard_normal((cout, cin, ks, ks), np.float32)) for _ in range(POOL)]
    dy = [torch.from_numpy(rng.standard_normal((bsz, cout, out, out), np.float32))
          for _ in range(POOL)]

    def run(reps):
        with torch.no_grad():
            for i in range(reps):
                j = i % POOL
                if op["which"] == "fwd":
                    F.conv2d(x[j], w[j])
                elif op["which"] == "wgrad":
                    torch.nn.grad.conv2d_weight(x[j], w[j].shape, dy[j])
                else:
                    torch.nn.grad.conv2d_input(x[j].shape, w[j], dy[j])
    return run


def time_ops(ops, family, reps, repeats, target, log=print):
    rng = np.random.default_rng(0)
    rows = []
    for op in ops:
        if family == "numpy" and op["kind"] == "conv":
            op = im2col_gemm(op)
        if family in ("torch", "xla-loop") and op["kind"] == "gemm":
            rows.append(None)  # these families time the convolutions only
            continue
        try:
            make = {"xla": xla_runner, "numpy": numpy_runner, "torch": torch_runner,
                    "xla-loop": lambda op, rng: xla_runner(op, rng, in_loop=True)}[family]
            seconds = best_per_call(make(op, rng), reps if op["kind"] == "gemm" else 2,
                                    repeats, target)
        except ImportError as e:
            log(f"  {family}: skipped ({e})")
            return None
        rows.append({"label": op["label"], "shape": shape_text(op), "flops": op["flops"],
                     "seconds": seconds, "gflops": op["flops"] / seconds / 1e9})
        log(f"  {family:6s} {op['label']:20s} {shape_text(op):34s} {seconds * 1e6:9.1f} us "
            f"{op['flops'] / seconds / 1e9:7.1f} GFLOP/s", flush=True)
    return rows


def shape_text(op):
    if op["kind"] == "gemm":
        a = f"({op['k']},{op['m']})^T" if op["ta"] else f"({op['m']},{op['k']})"
        return f"{a} @ ({op['k']},{op['n']})"
    return (f"{op['which']} {op['batch']}x{op['hw']}x{op['hw']}x{op['cin']} "
            f"* 3x3x{op['cin']}x{op['cout']}")


def peak_gemm(repeats, target):
    """Best throughput of a large square GEMM, numpy and XLA (GFLOP/s)."""
    size = 1024
    op = gemm("square", size, size, size)
    rng = np.random.default_rng(1)
    out = {}
    for family, make in (("numpy", numpy_runner), ("xla", xla_runner)):
        seconds = best_per_call(make(op, rng), 2, repeats, target)
        out[family] = op["flops"] / seconds / 1e9
    return out


# ---------------------------------------------------------------- gazelle's epoch

def measure_gazelle(workload, batch_size, images):
    """Seconds of one gazelle epoch after a warm-up epoch, on `images` samples."""
    import gazelle as keras
    keras.utils.set_random_seed(0)
    L = keras.layers
    if workload == "w2":
        from convnet import build_keras_api, load_data
        x, y = load_data(images)
        model = build_keras_api(keras)
    else:
        from seed_mlp import LEARNING_RATE, load_data
        x, y = load_data(limit=images)
        model = keras.models.Sequential([
            L.Flatten(input_shape=[28, 28]), L.Dense(300, activation="relu"),
            L.Dense(100, activation="relu"), L.Dense(10, activation="softmax")])
        model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      optimizer=keras.optimizers.SGD(learning_rate=LEARNING_RATE))
    model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0)
    seconds, _, others = timed(lambda: model.fit(x, y, epochs=1, batch_size=batch_size,
                                                 verbose=0))
    return seconds, others, len(x)


# ---------------------------------------------------------------- report

WORKLOADS = {  # key: (title, batch, samples, ops)
    "w1-32": ("W1 tutorial MLP, batch 32", 32, W1_SAMPLES, mlp_ops),
    "w1-256": ("W1 tutorial MLP, batch 256", 256, W1_SAMPLES, mlp_ops),
    "w2": ("W2 MNIST convnet, batch 128", 128, W2_SAMPLES, convnet_ops),
}


def format_report(facts, results, peak, command):
    lines = ["## Compute bounds", "",
             f"`{command}`. FLOPs count the matrix products and convolutions of forward + "
             "backward (2 per multiply-add; elementwise work, pooling, softmax and the optimizer "
             "update not counted). Each op is timed alone for exactly the step's shapes; the "
             "bound is (samples / batch) x the sum of the op times. The numpy column runs each "
             "convolution as its im2col GEMM, building the patches not counted.", "",
             f"Best 1024x1024 GEMM here: numpy/OpenBLAS {peak['numpy']:.0f} GFLOP/s, "
             f"XLA {peak['xla']:.0f} GFLOP/s.", ""]
    for key, res in results.items():
        lines += [f"### {res['title']}", "",
                  f"{res['flops_per_sample']:,} FLOP per sample (forward + backward), "
                  f"{res['flops_per_epoch'] / 1e9:.1f} GFLOP per epoch of {res['samples']:,} "
                  "samples.", ""]
        families = [f for f in ("xla", "xla-loop", "numpy", "torch") if res["ops"].get(f)]
        head = " | ".join({"xla": "XLA us (GFLOP/s)", "numpy": "OpenBLAS us (GFLOP/s)",
                           "xla-loop": "XLA in a while loop us (GFLOP/s)",
                           "torch": "PyTorch/oneDNN us (GFLOP/s)"}[f] for f in families)
        lines += [f"| op | shape (XLA) | MFLOP | {head} |",
                  "|---|---|---:|" + "---:|" * len(families)]
        for i, row in enumerate(res["ops"]["xla"]):
            cells = []
            for f in families:
                r = res["ops"][f][i]
                cells.append("" if r is None else f"{r['seconds'] * 1e6:.1f} ({r['gflops']:.0f})")
            lines.append(f"| {row['label']} | {row['shape']} | {row['flops'] / 1e6:.2f} | "
                         + " | ".join(cells) + " |")
        lines += ["", "| bound on seconds per epoch | s/epoch | gazelle / bound |",
                  "|---|---:|---:|"]
        g = res.get("gazelle")
        for name, seconds in res["bounds"].items():
            lines.append(f"| {name} | {seconds:.3f} | "
                         + (f"{g / seconds:.2f}x |" if g else "n/a |"))
        if g:
            lines += ["", f"gazelle's epoch: {g:.3f} s ({res['gazelle_source']})."]
        lines.append("")
    lines += ["Machine: " + "; ".join(f"{k} {v}" for k, v in facts.items()), ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: shorter timings; measures gazelle on 5,000 images "
                             "and scales the time to the full epoch")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help=f"comma-separated, of {','.join(WORKLOADS)}")
    parser.add_argument("--gazelle", action="append", default=[], metavar="KEY=SECONDS",
                        help="gazelle's measured s/epoch for a workload (e.g. w1-32=1.05)")
    parser.add_argument("--no-measure", action="store_true",
                        help="do not measure gazelle epochs that were not given")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch's convolutions")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    keys = [k for k in args.workloads.split(",") if k]
    given = {}
    for item in args.gazelle:
        key, _, value = item.partition("=")
        if key not in WORKLOADS or not value:
            parser.error(f"--gazelle takes KEY=SECONDS with KEY in {list(WORKLOADS)}; got {item!r}")
        given[key] = float(value)
    if any(k not in WORKLOADS for k in keys):
        parser.error(f"--workloads: unknown in {keys}")
    command = command_line("compute_bound.py", argv if argv is not None else sys.argv[1:])
    target, repeats = (0.03, 2) if args.quick else (0.25, 5)

    facts = machine_facts()
    print_facts(facts)
    start = time.perf_counter()
    peak = peak_gemm(repeats, target)
    print(f"peak 1024^3 GEMM: numpy {peak['numpy']:.0f} GFLOP/s, XLA {peak['xla']:.0f} GFLOP/s")
    results = {}
    for key in keys:
        title, batch, samples, make_ops = WORKLOADS[key]
        ops = make_ops(batch)
        print(f"{title}:", flush=True)
        timings = {"xla": time_ops(ops, "xla", 20, repeats, target),
                   "numpy": time_ops(ops, "numpy", 20, repeats, target)}
        if any(op["kind"] == "conv" for op in ops):
            timings["xla-loop"] = time_ops(ops, "xla-loop", 2, 1, target)
            if not args.no_torch:
                timings["torch"] = time_ops(ops, "torch", 2, repeats, target)
        per_sample = sum(op["flops"] for op in ops) // batch
        steps = samples / batch
        bounds = {}
        names = {"xla": "XLA's kernels for these shapes",
                 "numpy": "OpenBLAS GEMMs for these shapes (convolutions as im2col GEMMs)",
                 "torch": "PyTorch/oneDNN convolutions + OpenBLAS GEMMs",
                 "xla-loop": "XLA's convolutions inside a while loop (as in lax.scan) + XLA GEMMs"}
        for family, rows in timings.items():
            if not rows:
                continue
            if family in ("torch", "xla-loop"):  # convolutions from here, GEMMs from elsewhere
                convs = [r for r, op in zip(rows, ops) if op["kind"] == "conv"]
                other = timings["numpy" if family == "torch" else "xla"]
                gemms = [r for r, op in zip(other, ops) if op["kind"] == "gemm"]
                total = sum(r["seconds"] for r in convs + gemms)
            else:
                total = sum(r["seconds"] for r in rows)
            bounds[names[family]] = steps * total
        flops_epoch = per_sample * samples
        bounds[f"FLOPs / best square GEMM ({max(peak.values()):.0f} GFLOP/s)"] = (
            flops_epoch / (max(peak.values()) * 1e9))
        res = {"title": title, "batch": batch, "samples": samples,
               "flops_per_sample": per_sample, "flops_per_epoch": flops_epoch,
               "ops": {f: r for f, r in timings.items() if r}, "bounds": bounds}
        if key in given:
            res["gazelle"], res["gazelle_source"] = given[key], "given on the command line"
        elif not args.no_measure:
            images = 5000 if args.quick else samples
            seconds, others, n = measure_gazelle(key[:2], batch, images)
            res["gazelle"] = seconds * samples / n
            res["gazelle_source"] = (f"one epoch after a warm-up, measured here on {n:,} images"
                                     + (f", scaled to {samples:,}" if n != samples else "")
                                     + (f", other processes {others:.2f} cores"
                                        if others is not None else ""))
        results[key] = res
        for name, seconds in bounds.items():
            g = res.get("gazelle")
            print(f"  bound {seconds:8.3f} s/epoch  {name}"
                  + (f"   gazelle {g:.3f} s = {g / seconds:.2f}x" if g else ""), flush=True)
    facts["load average at end"] = load_average()
    section = format_report(facts, results, peak, command)
    print("\n" + section)
    print(f"({time.perf_counter() - start:.0f} s)")
    write_json(args.json, {"workload": "bounds", "script": "compute_bound.py",
                           "command": command, "facts": facts, "peak_gflops": peak,
                           "workloads": results, "markdown": section})


if __name__ == "__main__":
    main()
