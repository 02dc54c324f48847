"""Inference latency of an exported model: one sample and a batch of 256.

The tutorial MLP (Flatten 28x28, Dense 300 relu, Dense 100 relu, Dense 10 softmax) run by
gazelle `predict`, gazelle `model(x)`, the `format="jax"` export (serialized StableHLO,
`saving.load_exported`), ONNX Runtime on the `format="onnx"` export, and Keras 3
`predict` (JAX backend) when it is installed. Prints a markdown table of the median (and
minimum) milliseconds per call after warm-up.

    python bench/export_latency.py [--repeats 200] [--threads N]
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402


def build(keras):
    return keras.Sequential([keras.Input(shape=(28, 28)), keras.layers.Flatten(),
                             keras.layers.Dense(300, activation="relu"),
                             keras.layers.Dense(100, activation="relu"),
                             keras.layers.Dense(10, activation="softmax")])


def timed(fn, x, repeats):
    for _ in range(5):
        fn(x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(x)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--threads", type=int, default=None,
                        help="ONNX Runtime intra-op threads (default: its own choice)")
    args = parser.parse_args(argv)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    import gazelle as keras
    from gazelle.saving import load_exported

    model = build(keras)
    rng = np.random.default_rng(0)
    inputs = {1: rng.random((1, 28, 28), dtype=np.float32),
              256: rng.random((256, 28, 28), dtype=np.float32)}
    runners = [("gazelle predict", lambda x: model.predict(x, verbose=0)),
               ("gazelle model(x)", lambda x: np.asarray(model(x)))]
    folder = tempfile.mkdtemp(prefix="export-bench-")
    model.export(os.path.join(folder, "mlp.zip"), format="jax", verbose=False)
    served = load_exported(os.path.join(folder, "mlp.zip"))
    runners.append(("exported StableHLO (load_exported)", served))
    try:
        import onnxruntime as ort
        model.export(os.path.join(folder, "mlp.onnx"), format="onnx", verbose=False)
        options = ort.SessionOptions()
        if args.threads:
            options.intra_op_num_threads = args.threads
        session = ort.InferenceSession(os.path.join(folder, "mlp.onnx"), options,
                                       providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        runners.append((f"onnxruntime {ort.__version__}",
                        lambda x: session.run(None, {name: x})[0]))
    except ImportError:
        print("(onnxruntime not installed: pip install 'gazelle[export]')")
    try:
        import keras as k3
        ref = build(k3)
        ref.set_weights(model.get_weights())
        runners.append((f"Keras {k3.__version__} predict (jax)",
                        lambda x: ref.predict(x, verbose=0)))
    except ImportError:
        pass

    expected = {b: np.asarray(model.predict(x, verbose=0)) for b, x in inputs.items()}
    print(f"Tutorial MLP (784-300-100-10), {args.repeats} calls after warm-up, "
          f"{os.cpu_count()} CPU cores; milliseconds per call, median (min).\n")
    print("| runner | 1 sample | batch 256 | max abs diff vs predict |")
    print("|---|---|---|---|")
    for label, fn in runners:
        cells, diff = [], 0.0
        for batch, x in inputs.items():
            med, low = timed(fn, x, args.repeats)
            cells.append(f"{med:.3f} ({low:.3f})")
            diff = max(diff, float(np.abs(np.asarray(fn(x)) - expected[batch]).max()))
        print(f"| {label} | {cells[0]} | {cells[1]} | {diff:.1e} |")


if __name__ == "__main__":
    main()
