"""Inference latency of exported models: one sample and a batch of 256.

Two models: the tutorial MLP (Flatten 28x28, Dense 300 relu, Dense 100 relu, Dense 10
softmax) and the course CNN (the model `gazelle train fashion_mnist --model cnn` builds:
Conv2D 32 and 64 with max pooling, Dense 128, Dropout, Dense 10 softmax), each run by
gazelle `predict`, gazelle `model(x)`, the `format="jax"` export (serialized StableHLO,
`saving.load_exported`), ONNX Runtime on the `format="onnx"` export, and Keras 3
`predict` (JAX backend, same weights) when it is installed. Prints a markdown table of
the median (and minimum) milliseconds per call after warm-up, and each runner's largest
difference from gazelle's predict.

    python bench/export_latency.py [--repeats 200] [--threads N] [--models mlp,cnn]
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

MODELS = {"mlp": ("Tutorial MLP (784-300-100-10)", (28, 28)),
          "cnn": ("Course CNN (Conv 32, Conv 64, Dense 128, 10)", (28, 28, 1))}


def build(keras, kind):
    """The model `kind` with `keras`'s layers (gazelle or Keras 3: the same architecture)."""
    L = keras.layers
    if kind == "mlp":
        return keras.Sequential([keras.Input(shape=(28, 28)), L.Flatten(),
                                 L.Dense(300, activation="relu"),
                                 L.Dense(100, activation="relu"),
                                 L.Dense(10, activation="softmax")])
    return keras.Sequential([keras.Input(shape=(28, 28, 1)),
                             L.Conv2D(32, 3, activation="relu", padding="same"),
                             L.MaxPooling2D(), L.Conv2D(64, 3, activation="relu",
                                                        padding="same"),
                             L.MaxPooling2D(), L.Flatten(), L.Dense(128, activation="relu"),
                             L.Dropout(0.5), L.Dense(10, activation="softmax")])


def gazelle_model(kind):
    """gazelle's model: for the CNN, the very one the CLI builds (`cli.build_model`)."""
    import gazelle as keras
    if kind == "cnn":
        from gazelle.cli import build_model
        return build_model("cnn", MODELS["cnn"][1], "adam")
    return build(keras, kind)


def timed(fn, x, repeats):
    for _ in range(5):
        fn(x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(x)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), min(times)


def runners_for(kind, model, folder, threads):
    from gazelle.saving import load_exported
    runners = [("gazelle predict", lambda x: model.predict(x, verbose=0)),
               ("gazelle model(x)", lambda x: np.asarray(model(x)))]
    model.export(os.path.join(folder, f"{kind}.zip"), format="jax", verbose=False)
    runners.append(("exported StableHLO (load_exported)",
                    load_exported(os.path.join(folder, f"{kind}.zip"))))
    try:
        import onnxruntime as ort
        model.export(os.path.join(folder, f"{kind}.onnx"), format="onnx", verbose=False)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        session = ort.InferenceSession(os.path.join(folder, f"{kind}.onnx"), options,
                                       providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        runners.append((f"onnxruntime {ort.__version__}",
                        lambda x: session.run(None, {name: x})[0]))
    except ImportError:
        print("(onnxruntime not installed: pip install 'gazelle[export]')")
    try:
        import keras as k3
        ref = build(k3, kind)
        ref.set_weights(model.get_weights())
        runners.append((f"Keras {k3.__version__} predict (jax)",
                        lambda x: ref.predict(x, verbose=0)))
    except ImportError:
        pass
    return runners


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--threads", type=int, default=None,
                        help="ONNX Runtime intra-op threads (default: its own choice)")
    parser.add_argument("--models", default="mlp,cnn",
                        help="comma-separated, from: " + ", ".join(MODELS))
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.models.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in MODELS]
    if unknown:
        parser.error(f"--models: unknown {unknown}; choose from {sorted(MODELS)}")
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

    folder = tempfile.mkdtemp(prefix="export-bench-")
    rng = np.random.default_rng(0)
    print(f"{args.repeats} calls after warm-up, {os.cpu_count()} CPU cores; milliseconds "
          "per call, median (min).\n")
    print("| model | runner | 1 sample | batch 256 | max abs diff vs predict |")
    print("|---|---|---|---|---|")
    for kind in kinds:
        title, shape = MODELS[kind]
        model = gazelle_model(kind)
        inputs = {1: rng.random((1, *shape), dtype=np.float32),
                  256: rng.random((256, *shape), dtype=np.float32)}
        expected = {b: np.asarray(model.predict(x, verbose=0)) for b, x in inputs.items()}
        for label, fn in runners_for(kind, model, folder, args.threads):
            cells, diff = [], 0.0
            for batch, x in inputs.items():
                med, low = timed(fn, x, args.repeats)
                cells.append(f"{med:.3f} ({low:.3f})")
                diff = max(diff, float(np.abs(np.asarray(fn(x)) - expected[batch]).max()))
            print(f"| {title} | {label} | {cells[0]} | {cells[1]} | {diff:.1e} |", flush=True)


if __name__ == "__main__":
    main()
