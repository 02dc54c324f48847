"""The `gazelle` command line: `gazelle train DATASET` trains a model and writes a run folder.

[top: the public gazelle API, numpy, stdlib; gazelle.utils.plotting (matplotlib, optional)]

A run folder holds `model.keras`, `model.onnx` (with the export extra), `history.csv`, the
plots (`learning_curves.png`, `model.png` (the model diagram) and either `samples.png` +
`confusion_matrix.png` + `confident_mistakes.png` or `predictions_vs_true.png`) and
`report.html`, which shows them with the model summary, the test metrics (with per-class
precision, recall and F1 for the classifiers), the training doctor's findings (each once),
the command line and the timings. Every file is written atomically. The library is imported
only once a command runs, so `gazelle --help` answers at once. The text datasets
(rt_polarity, shakespeare) run through `gazelle.cli_text`.

    gazelle train fashion_mnist                  # the tutorial MLP, 10 epochs
    gazelle train mnist --model cnn --epochs 3
    gazelle train fashion_mnist --no-normalize   # the tutorial's raw-pixel failure, explained
    gazelle train california_housing --out runs/housing
    gazelle train rt_polarity                    # Embedding + Bidirectional(LSTM) sentiment
    gazelle train shakespeare --epochs 5         # character GRU, text sampled after each epoch
    gazelle export runs/housing/model.keras --format onnx   # model.onnx beside it
"""
import argparse
import csv
import importlib
import importlib.util
import io
import math
import os
import shlex
import sys
import time
import warnings

import numpy as np

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")
DATASETS = ("fashion_mnist", "mnist", "california_housing", "rt_polarity", "shakespeare")
TEXT_DATASETS = ("rt_polarity", "shakespeare")   # their runs live in gazelle.cli_text
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adamax", "nadam")
_IMAGE_VALID_FRACTION = 5000 / 60000   # the tutorial's validation set: first 5,000 of 60,000
_HOUSING_VALID_FRACTION = 0.25         # train_test_split's default, as in the regression tutorial
_TARGET_SCALE = 100000.0               # house values in units of $100,000


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not value > 0 or (kind is float and not math.isfinite(value)):
            raise argparse.ArgumentTypeError(
                f"expected a positive {'integer' if kind is int else 'number'}, received {text!r}")
        return value
    return parse


def build_parser():
    """Returns the `argparse` parser of the `gazelle` command."""
    parser = argparse.ArgumentParser(
        prog="gazelle", description="gazelle: a Keras-compatible deep-learning library on JAX.")
    from gazelle import __version__
    parser.add_argument("--version", action="version", version=f"gazelle {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    train = commands.add_parser(
        "train", help="train a tutorial model on a bundled dataset and write a run report",
        description="Train a tutorial model on a bundled dataset (offline) and write a run "
                    "folder: model.keras, history.csv, plots and report.html.")
    train.add_argument("dataset", choices=DATASETS, help="the bundled dataset to train on")
    train.add_argument("--model", choices=("mlp", "cnn", "lstm", "gru"), default=None,
                       help="mlp: Flatten, Dense 300, Dense 100, Dense 10 (SGD); cnn: two "
                            "Conv2D+MaxPooling2D blocks, Dense 128, Dropout, Dense 10 (Adam). "
                            "For california_housing only mlp: Dense 30, Dense 1. For "
                            "rt_polarity: lstm (Embedding, Bidirectional LSTM 64, Dense 1) or "
                            "gru; for shakespeare: gru (Embedding, GRU 256, Dense 65) or lstm. "
                            "Default: mlp; lstm for rt_polarity; gru for shakespeare")
    train.add_argument("--epochs", type=_positive(int), default=None,
                       help="default: 10; 3 for rt_polarity, 2 for shakespeare")
    train.add_argument("--batch-size", type=_positive(int), default=None,
                       help="default: 32; 64 for rt_polarity and shakespeare")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default=None,
                       help="default: sgd for mlp, adam for cnn and the text models")
    train.add_argument("--learning-rate", type=_positive(float), default=None,
                       help="default: the optimizer's Keras default (1e-3 for SGD on "
                            "california_housing, 5e-3 for shakespeare)")
    train.add_argument("--no-normalize", action="store_true",
                       help="feed raw inputs (0..255 pixels): reproduces the tutorial's failure, "
                            "with the training doctor's diagnosis in the report")
    train.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    train.add_argument("--limit", type=_positive(int), default=None, metavar="N",
                       help="use only the first N training (and test) samples, for quick runs "
                            "(rt_polarity: N shuffled sentences; shakespeare: the first N "
                            "characters of the text)")
    train.add_argument("--out", default=None, metavar="DIR",
                       help="run folder (default: runs/<timestamp>/)")
    export = commands.add_parser(
        "export", help="export a saved model for inference (ONNX or StableHLO)",
        description="Export a saved .keras/.h5 model for inference without gazelle: "
                    "format onnx (an ONNX graph) or jax (serialized StableHLO + weights, "
                    "loaded with gazelle.saving.load_exported).")
    export.add_argument("model", help="the saved model (.keras or .h5)")
    export.add_argument("--format", choices=("onnx", "jax"), default="onnx",
                        help="default: onnx")
    export.add_argument("--output", default=None, metavar="PATH",
                        help="where to write (default: the model path with .onnx, or "
                             ".jax.zip for --format jax)")
    return parser


def main(argv=None):
    """Runs the `gazelle` command line and returns its exit status.

    Args:
        argv: the arguments, without the program name; `None` reads `sys.argv[1:]`.
            Defaults to `None`.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "export":
        return export_model_file(args.model, args.format, args.output)
    if args.dataset in TEXT_DATASETS:
        return _train_text(parser, args, argv)
    if args.model in ("lstm", "gru"):
        parser.error(f"argument --model: {args.model!r} needs a text dataset (rt_polarity or "
                     f"shakespeare); {args.dataset} takes 'mlp'"
                     + (" or 'cnn'" if args.dataset != "california_housing" else ""))
    args.model = args.model or "mlp"
    args.epochs = args.epochs or 10
    args.batch_size = args.batch_size or 32
    if args.dataset == "california_housing" and args.model == "cnn":
        parser.error("argument --model: 'cnn' needs an image dataset (fashion_mnist or mnist); "
                     "california_housing takes 'mlp'")
    if args.limit is not None and args.limit < 2:
        parser.error(f"argument --limit: expected at least 2 (training and validation "
                     f"samples), received {args.limit}")
    return train(args, command="gazelle " + shlex.join(argv))


def _train_text(parser, args, argv):
    """Checks the arguments of a text run, fills in its defaults and runs it."""
    from gazelle import cli_text
    model, epochs, batch_size, rate = cli_text.DEFAULTS[args.dataset]
    if args.model in ("mlp", "cnn"):
        parser.error(f"argument --model: {args.dataset} takes 'lstm' or 'gru' (a recurrent "
                     f"text model), received {args.model!r}")
    if args.no_normalize:
        parser.error(f"argument --no-normalize: {args.dataset} is text; there is nothing to "
                     "normalize")
    least = cli_text.MIN_LIMIT[args.dataset]
    if args.limit is not None and args.limit < least:
        what = "characters" if args.dataset == "shakespeare" else "sentences"
        parser.error(f"argument --limit: expected at least {least} {what} for "
                     f"{args.dataset}, received {args.limit}")
    args.model = args.model or model
    args.epochs = args.epochs or epochs
    args.batch_size = args.batch_size or batch_size
    args.optimizer = args.optimizer or "adam"
    if args.learning_rate is None and args.optimizer == "adam":
        args.learning_rate = rate
    return cli_text.train_text(args, command="gazelle " + shlex.join(argv))


def export_model_file(model_path, fmt="onnx", output=None):
    """`gazelle export`: loads a saved model and exports it; returns the exit status."""
    if not os.path.isfile(model_path):
        print(f"gazelle export: error: no such model file: {model_path!r}", file=sys.stderr)
        return 2
    if output is None:
        stem = os.path.splitext(model_path)[0]
        output = stem + (".onnx" if fmt == "onnx" else ".jax.zip")
    import gazelle as keras
    try:
        model = keras.models.load_model(model_path, compile=False)
        model.export(output, format=fmt, verbose=True)
    except (ValueError, TypeError, ImportError, OSError) as e:
        print(f"gazelle export: error: {e}", file=sys.stderr)
        return 1
    return 0


# -- data and models --------------------------------------------------------------------------

def _split(n, fraction):
    return max(1, min(n - 1, round(n * fraction)))


def load_run_data(dataset, limit=None, normalize=True, channels=False):
    """Returns the train/valid/test arrays of a run, prepared as the tutorials do."""
    import gazelle as keras
    (x_all, y_all), (x_test, y_test) = getattr(keras.datasets, dataset).load_data()
    if limit is not None:
        x_all, y_all, x_test, y_test = x_all[:limit], y_all[:limit], x_test[:limit], y_test[:limit]
    image = dataset != "california_housing"
    n_valid = _split(len(x_all), _IMAGE_VALID_FRACTION if image else _HOUSING_VALID_FRACTION)
    data = {"x_train": x_all[n_valid:], "y_train": y_all[n_valid:], "x_valid": x_all[:n_valid],
            "y_valid": y_all[:n_valid], "x_test": x_test, "y_test": y_test,
            "x_test_raw": x_test}
    if image:
        # The tutorial standardizes with one mean and std over all training pixels.
        mean, std = data["x_train"].mean(), data["x_train"].std()
        data["class_names"] = FASHION_MNIST_CLASSES if dataset == "fashion_mnist" else tuple(
            str(i) for i in range(10))
    else:
        mean, std = data["x_train"].mean(axis=0), data["x_train"].std(axis=0)
        std = np.where(std > 0, std, 1.0)
        for key in ("y_train", "y_valid", "y_test"):
            data[key] = (data[key] / _TARGET_SCALE).astype(np.float32)
        data["class_names"] = None
    for key in ("x_train", "x_valid", "x_test"):
        x = data[key]
        if normalize:
            x = ((x - mean) / std).astype(np.float32)
        if image and channels:
            x = x[..., None]
        data[key] = x
    data["normalization"] = ("none (raw inputs)" if not normalize else
                             f"standardized with the training mean {float(np.mean(mean)):.4g} "
                             f"and std {float(np.mean(std)):.4g}" if image else
                             "each feature standardized with its training mean and std")
    return data


def build_model(kind, input_shape, optimizer):
    """Builds and compiles a tutorial model: `"mlp"`, `"cnn"` or `"regression"`."""
    import gazelle as keras
    layers = keras.layers
    if kind == "mlp":
        model = keras.models.Sequential([
            layers.Flatten(input_shape=input_shape),
            layers.Dense(300, activation="relu"),
            layers.Dense(100, activation="relu"),
            layers.Dense(10, activation="softmax")])
    elif kind == "cnn":
        model = keras.models.Sequential([
            layers.Conv2D(32, 3, activation="relu", padding="same", input_shape=input_shape),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, activation="relu", padding="same"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax")])
    else:
        model = keras.models.Sequential([
            layers.Dense(30, activation="relu", input_shape=input_shape),
            layers.Dense(1)])
        model.compile(loss="mse", optimizer=optimizer)
        return model
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer,
                  metrics=["accuracy"])
    return model


def _optimizer(args, regression):
    import gazelle as keras
    name = args.optimizer or ("adam" if args.model == "cnn" else "sgd")
    rate = args.learning_rate
    if rate is None and regression and name == "sgd":
        rate = 1e-3
    config = {} if rate is None else {"learning_rate": rate}
    return keras.optimizers.deserialize({"class_name": name, "config": config})


# -- the run ---------------------------------------------------------------------------------

def _run_dir(out):
    if out is not None:
        os.makedirs(out, exist_ok=True)
        return out
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, i = os.path.join("runs", stamp), 1
    while os.path.exists(path):
        i += 1
        path = os.path.join("runs", f"{stamp}-{i}")
    os.makedirs(path)
    return path


def _finding_code(text):
    """The code a finding's text starts with (`"unscaled_input: Inputs look..."`), or None."""
    head = str(text).split(":", 1)[0].strip()
    return head if head and head.replace("_", "").isalnum() and head.islower() else None


def _diagnose(model, x, y):
    """The optional `gazelle.doctor.diagnose(model, x, y)` findings as `(code, text)` pairs
    (code None when unknown); `[]` without that module; a failure is one entry."""
    try:
        if importlib.util.find_spec("gazelle.doctor") is None:
            return []
        diagnose = getattr(importlib.import_module("gazelle.doctor"), "diagnose", None)
        if diagnose is None:
            return []
        result = diagnose(model, x, y)
    except Exception as e:  # a broken optional diagnosis must not lose the run's results
        return [(None, f"gazelle.doctor.diagnose failed: {type(e).__name__}: {e}")]
    if result is None:
        return []
    if not isinstance(result, (list, tuple)):
        return [(None, str(result))]
    entries = []
    for item in result:
        code, message = getattr(item, "code", None), getattr(item, "message", None)
        if code is not None and message is not None:
            code, message = str(code), str(message)
            said = code.replace("_", " ") + ":"   # "underfitting: Underfitting: ..." once
            if message.lower().startswith(said):
                message = message[len(said):].lstrip()
            entries.append((code, f"{code}: {message}"))
        else:
            entries.append((_finding_code(item), str(item)))
    return entries


def _doctor_report(model, x, y):
    """The optional `gazelle.doctor.diagnose(model, x, y)` report as text, or None."""
    entries = _diagnose(model, x, y)
    return "\n".join(text for _, text in entries) if entries else None


def merge_findings(findings, diagnosed=()):
    """The doctor's findings listed once: the fit-time warnings (`"code: message"` strings)
    then `diagnose()`'s `(code, text)` pairs, dropping any whose code (or, without a code,
    whose text) was already listed."""
    merged, seen = [], set()
    for code, text in [(_finding_code(f), str(f)) for f in findings] + list(diagnosed):
        key = ("code", code) if code else ("text", text)
        if key not in seen:
            seen.add(key)
            merged.append(text)
    return merged


def write_history_csv(path, history):
    """Writes `history.history` as CSV with the same bytes as CSVLogger: `epoch`, then the log
    keys in sorted order, Excel-style line ends."""
    from gazelle.utils.io import atomic_write
    logs = history.history
    keys = sorted(logs)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["epoch"] + keys)
    for i, epoch in enumerate(history.epoch):
        writer.writerow([epoch] + [logs[k][i] if i < len(logs[k]) else "NA" for k in keys])
    atomic_write(path, buffer.getvalue().encode("utf-8"))


def train(args, command="gazelle train"):
    """Runs `gazelle train` for parsed `args`; returns 0, or 1 when the model could not be saved."""
    import jax

    import gazelle as keras

    clock = _Clock()
    regression = args.dataset == "california_housing"
    kind = "regression" if regression else args.model
    out = _run_dir(args.out)
    print(f"gazelle {keras.__version__}: training {kind} on {args.dataset} -> {out}")
    keras.utils.set_random_seed(args.seed)
    data = load_run_data(args.dataset, args.limit, normalize=not args.no_normalize,
                         channels=kind == "cnn")
    clock.lap("load data")

    optimizer = _optimizer(args, regression)
    model = build_model(kind, data["x_train"].shape[1:], optimizer)
    summary = []
    model.summary(print_fn=summary.append)
    print("\n".join(summary))
    clock.lap("build model")

    history, findings = _fit_with_doctor(model, data, args)
    doctor = _diagnose(model, data["x_train"], data["y_train"])
    clock.lap("fit")

    metrics, y_pred = _test_metrics(model, data, args.batch_size, regression)
    tables = []
    if not regression:
        tables.append(("Per-class precision, recall and F1",
                       ("class", "precision", "recall", "F1", "support"),
                       classification_rows(data["y_test"], y_pred.argmax(axis=1),
                                           data["class_names"])))
    clock.lap("evaluate and predict")

    files, notes = [], []
    save_failed = False
    if hasattr(model, "save"):
        try:
            model.save(os.path.join(out, "model.keras"))
            files.append(("model.keras", "the trained model (keras.models.load_model)"))
        except Exception as e:  # report it with everything else, then exit with status 1
            save_failed = True
            notes.append(f"Saving the model failed: {type(e).__name__}: {e}")
    else:
        notes.append("model.keras was not written: this gazelle's Model has no save() yet.")
    write_history_csv(os.path.join(out, "history.csv"), history)
    files.append(("history.csv", "per-epoch loss and metrics"))
    clock.lap("save model and history")

    onnx_rows, onnx_note = export_onnx_checked(model, out, data["x_test"][:256])
    if onnx_rows:
        files.append(("model.onnx", "the model for onnxruntime (checked against predict)"))
    notes += [onnx_note] if onnx_note else []
    clock.lap("export ONNX")

    images, plot_note = write_plots(out, history, data, y_pred, regression)
    notes += [plot_note] if plot_note else []
    files += [(name, caption) for name, _, caption in images]
    diagram, diagram_note = write_model_diagram(model, out)
    notes += [diagram_note] if diagram_note else []
    files += [diagram] if diagram else []
    clock.lap("plots")
    clock.timings.append(("total", f"{time.perf_counter() - clock.started:.2f} s"))

    report = _report_head(f"gazelle run: {args.dataset} ({kind})", command, notes, metrics,
                          history, images, findings, doctor, summary, tables=tables,
                          diagram=diagram)
    report.heading("Settings")
    report.table([
        ("dataset", args.dataset), ("model", kind), ("optimizer", type(optimizer).__name__),
        ("learning rate", f"{float(optimizer.get_config()['learning_rate']):g}"),
        ("epochs", args.epochs), ("batch size", args.batch_size),
        ("normalization", data["normalization"]), ("seed", args.seed),
        ("samples (train / valid / test)",
         f"{len(data['x_train'])} / {len(data['x_valid'])} / {len(data['x_test'])}"),
        ("gazelle / jax", f"{keras.__version__} / {jax.__version__}"),
        ("device", str(jax.devices()[0].device_kind))], header=("setting", "value"))
    if onnx_rows:
        report.heading("ONNX export (onnxruntime check)")
        report.table(onnx_rows, header=("check", "value"))
    report.heading("Timings")
    report.table(clock.timings, header=("step", "time"))
    report.heading("Files")
    report.links(files)
    report.write(os.path.join(out, "report.html"))
    for note in notes:
        print(note, file=sys.stderr)
    print(f"Run folder: {out} (open {os.path.join(out, 'report.html')})")
    return 1 if save_failed else 0


def export_onnx_checked(model, out, x):
    """Writes `out/model.onnx` and runs it in onnxruntime on `x` against `predict`.

    Returns `(rows, note)`: the report's rows (max abs difference, latencies), or no rows
    and a note saying why the export was skipped (no onnx/onnxruntime installed, or a layer
    ONNX export does not cover); then no `model.onnx` is left in `out`. `x` is fed in the
    dtype of the graph's input (float32, or integer ids for an Embedding model)."""
    import importlib.util
    if importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxruntime") is None:
        return [], ("model.onnx was not written: install the export extra "
                    "(pip install 'gazelle[export]') for the ONNX export and its check.")
    import numpy as np
    path = os.path.join(out, "model.onnx")
    try:
        model.export(path, format="onnx", verbose=False)
        import onnxruntime
        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        x = np.asarray(x, _ONNX_DTYPES.get(session.get_inputs()[0].type, np.float32))
        expected = np.asarray(model.predict(x, verbose=0))
        got = session.run(None, {name: x})[0]
        timings = {}
        for label, batch in (("1 sample", x[:1]), (f"batch {len(x)}", x)):
            session.run(None, {name: batch})
            start = time.perf_counter()
            for _ in range(20):
                session.run(None, {name: batch})
            timings[label] = (time.perf_counter() - start) / 20
    except Exception as e:  # the run folder is still useful without it: say why
        if os.path.exists(path):
            os.remove(path)   # written, but onnxruntime could not run it
        return [], f"model.onnx was not written: {type(e).__name__}: {e}"
    rows = [("max abs difference vs predict", f"{float(np.max(np.abs(got - expected))):.2e}"),
            ("samples compared", str(len(x)))]
    rows += [(f"onnxruntime latency, {label}", f"{1000 * t:.3f} ms")
             for label, t in timings.items()]
    return rows, None


_ONNX_DTYPES = {"tensor(float)": np.float32, "tensor(int32)": np.int32,
                "tensor(int64)": np.int64}


class _Clock:
    """Wall-clock time of each step of a run."""

    def __init__(self):
        self.started = self.last = time.perf_counter()
        self.timings = []

    def lap(self, step):
        now = time.perf_counter()
        self.timings.append((step, f"{now - self.last:.2f} s"))
        self.last = now


def _fit_with_doctor(model, data, args, callbacks=None, quiet=()):
    """Fits with the usual display; returns the History and the doctor's warning messages.

    Warnings are recorded and still shown as they happen, so the user sees the doctor's
    findings before the progress bars, as with a plain `fit()`. Findings whose code is in
    `quiet` (e.g. `"class_imbalance"`) are neither shown nor recorded.
    """
    from gazelle.training.diagnostics import DoctorWarning
    findings = []
    with warnings.catch_warnings():
        warnings.simplefilter("always", DoctorWarning)
        for code in quiet:
            warnings.filterwarnings("ignore", message=f"{code}:", category=DoctorWarning)
        show = warnings.showwarning

        def record(message, category, *rest, **kwargs):
            if issubclass(category, DoctorWarning):
                findings.append(str(message))
            show(message, category, *rest, **kwargs)

        warnings.showwarning = record  # catch_warnings puts the original back
        history = model.fit(data["x_train"], data["y_train"], epochs=args.epochs,
                            batch_size=args.batch_size, callbacks=callbacks,
                            validation_data=(data["x_valid"], data["y_valid"]))
    return history, findings


def _test_metrics(model, data, batch_size, regression):
    """Evaluates on the test set and prints the result; returns `(rows, predictions)`."""
    scores = model.evaluate(data["x_test"], data["y_test"], batch_size=batch_size, verbose=0)
    scores = [float(s) for s in np.atleast_1d(scores)]
    y_pred = np.asarray(model.predict(data["x_test"], batch_size=batch_size))
    rows = [("test loss", f"{scores[0]:.4f}")]
    if not regression:
        rows.append(("test accuracy", f"{scores[1]:.4f}"))
        print(f"test loss: {scores[0]:.4f} - test accuracy: {scores[1]:.4f}")
        return rows, y_pred
    y_true, y_hat = data["y_test"] * _TARGET_SCALE, y_pred.reshape(-1) * _TARGET_SCALE
    r2 = 1 - np.sum((y_true - y_hat) ** 2) / np.sum((y_true - y_true.mean()) ** 2)
    rows += [("test RMSE", f"${math.sqrt(scores[0]) * _TARGET_SCALE:,.0f}"),
             ("test MAE", f"${np.mean(np.abs(y_true - y_hat)):,.0f}"),
             ("test R²", f"{r2:.4f}")]
    print(f"test loss (mse): {scores[0]:.4f} - test RMSE: {rows[1][1]}")
    return rows, y_pred


def per_class_scores(y_true, y_pred, n_classes):
    """Precision, recall, F1 and support of each class `0..n_classes-1`, with numpy.

    A score whose denominator is zero (a class never predicted, or absent) is 0, as
    scikit-learn's `precision_recall_fscore_support` gives with `zero_division=0`.

    Returns:
        A dict of arrays `precision`, `recall`, `f1` (floats) and `support` (ints), one entry
        per class.
    """
    y_true = np.asarray(y_true).reshape(-1).astype(np.int64)
    y_pred = np.asarray(y_pred).reshape(-1).astype(np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"per_class_scores: `y_true` and `y_pred` must have the same length; "
                         f"received {len(y_true)} and {len(y_pred)}.")
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            raise ValueError(f"per_class_scores: `{name}` must hold labels in [0, {n_classes}); "
                             f"received values from {y.min()} to {y.max()}.")
    tp = np.bincount(y_true[y_true == y_pred], minlength=n_classes).astype(np.float64)
    support = np.bincount(y_true, minlength=n_classes)
    predicted = np.bincount(y_pred, minlength=n_classes)

    def ratio(a, b):
        b = np.asarray(b, np.float64)
        return np.divide(a, b, out=np.zeros(n_classes), where=b > 0)

    return {"precision": ratio(tp, predicted), "recall": ratio(tp, support),
            "f1": ratio(2 * tp, predicted + support), "support": support}


def classification_rows(y_true, y_pred, class_names):
    """The report's per-class table: `(class, precision, recall, F1, support)` per class, then
    the macro average (unweighted mean over classes) and the support-weighted average."""
    y_true = np.asarray(y_true).reshape(-1)
    n_classes = len(class_names) if class_names is not None else int(
        max(np.max(y_true, initial=0), np.max(y_pred, initial=0)) + 1)
    names = class_names if class_names is not None else [str(i) for i in range(n_classes)]
    scores = per_class_scores(y_true, y_pred, n_classes)
    keys = ("precision", "recall", "f1")
    rows = [(str(names[i]),) + tuple(f"{scores[k][i]:.4f}" for k in keys)
            + (str(int(scores["support"][i])),) for i in range(n_classes)]
    total = int(scores["support"].sum())
    weights = scores["support"] / max(total, 1)
    rows.append(("macro avg",) + tuple(f"{scores[k].mean():.4f}" for k in keys) + (str(total),))
    rows.append(("weighted avg",) + tuple(f"{np.sum(scores[k] * weights):.4f}" for k in keys)
                + (str(total),))
    return rows


def confident_mistakes(y_true, probabilities, n=16):
    """Indices of the wrong predictions with the highest loss (`-log p(true class)`), highest
    first, at most `n`."""
    probabilities = np.asarray(probabilities, np.float64)
    y_true = np.asarray(y_true).reshape(-1).astype(np.int64)
    wrong = np.flatnonzero(probabilities.argmax(axis=1) != y_true)
    p_true = probabilities[wrong, y_true[wrong]]
    loss = -np.log(np.clip(p_true, 1e-12, 1.0))
    return wrong[np.argsort(-loss, kind="stable")[:n]]


def mistake_title(true_name, predicted_name, p, p_true=None):
    """`"true: Coat (p=0.01) / predicted: Shirt (p=0.97)"`: each class with the probability
    the model gave it (the true class's sets the loss, and so the order of the grid)."""
    true_part = true_name if p_true is None else f"{true_name} (p={p_true:.2f})"
    return f"true: {true_part} / predicted: {predicted_name} (p={p:.2f})"


def plot_confident_mistakes(x, y_true, probabilities, class_names, indices, path=None,
                            n_cols=4):
    """A grid of the images at `indices`, each titled with its true and predicted class and
    the probability of each; returns the matplotlib Figure (saved to `path`)."""
    from gazelle.utils import plotting
    plt = plotting.get_pyplot()
    x = np.asarray(x)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    n = len(indices)
    n_cols = max(1, min(n_cols, n))
    n_rows = max(1, math.ceil(n / n_cols))
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.6 * n_cols, 3.4 * n_rows),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, indices):
        predicted = int(np.argmax(probabilities[i]))
        ax.imshow(x[i], cmap="binary")
        true = int(y_true[i])
        title = mistake_title(class_names[true], class_names[predicted],
                              float(probabilities[i][predicted]), float(probabilities[i][true]))
        ax.set_title(title.replace(" / ", " /\n", 1), fontsize=9, color="#a00")
    fig.tight_layout()
    if path is not None:
        plotting.save_figure(fig, path)
    return fig


def plot_learning_curves(history, path=None):
    """Learning curves against the epoch counted from 1 (as `fit` prints it): the losses on
    one axes, the other metrics (e.g. accuracy) on a second one beside it; labelled axes.
    Returns the matplotlib Figure (saved to `path` when given)."""
    from matplotlib.ticker import MaxNLocator

    from gazelle.utils import plotting
    plt = plotting.get_pyplot()
    logs = {k: np.asarray(v, np.float64).reshape(-1)
            for k, v in getattr(history, "history", history).items() if len(v)}
    losses = [k for k in logs if k == "loss" or k.endswith("_loss")]
    others = [k for k in logs if k not in losses]
    groups = [("Loss", "loss", losses)] + ([("Metrics", _metric_label(others), others)]
                                           if others else [])
    fig, axes = plt.subplots(1, len(groups), figsize=(8, 5), squeeze=False)
    for ax, (title, label, keys) in zip(axes[0], groups):
        for key in keys:
            values = logs[key]
            ax.plot(np.arange(1, len(values) + 1), values, marker="o" if len(values) <= 30
                    else None, label=key)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True)
        if keys:
            ax.legend()
        if title == "Metrics" and all(np.all((logs[k] >= 0) & (logs[k] <= 1)) for k in keys):
            ax.set_ylim(0, 1)
    fig.tight_layout()
    if path is not None:
        plotting.save_figure(fig, path)
    return fig


def _metric_label(keys):
    names = {k[4:] if k.startswith("val_") else k for k in keys}
    return names.pop() if len(names) == 1 else "value"


def write_model_diagram(model, out):
    """Writes `out/model.png` with `keras.utils.plot_model` (shapes shown); returns
    `((name, caption), None)`, or `(None, note)` saying why there is no diagram."""
    try:
        from gazelle.utils.model_plot import plot_model
        plot_model(model, to_file=os.path.join(out, "model.png"), show_shapes=True)
    except Exception as e:  # the run is still useful without the diagram: say why
        return None, f"The model diagram was skipped: {type(e).__name__}: {e}"
    return ("model.png", "the model diagram (keras.utils.plot_model, with shapes)"), None


def write_plots(out, history, data, y_pred, regression):
    """Writes the run's PNGs; returns `(name, heading, caption)` per image and a note or None."""
    try:
        from gazelle.utils import plotting
        plt = plotting.get_pyplot()
    except ImportError as e:
        return [], f"Plots were skipped: {e}"
    images = []

    def plot(name, heading, caption, make):
        plt.close(make(os.path.join(out, name)))
        images.append((name, heading, caption))

    plot("learning_curves.png", "Learning curves",
         "Loss (left) and metrics (right) per epoch, counted from 1 as fit prints them",
         lambda p: plot_learning_curves(history, path=p))
    if regression:
        plot("predictions_vs_true.png", "Predictions vs. true values",
             "Test set: predicted vs. true median house value (in $100,000)",
             lambda p: plotting.plot_predictions_vs_true(data["y_test"], y_pred, path=p))
        return images, None
    labels = y_pred.argmax(axis=1)
    n = min(32, len(labels))
    plot("samples.png", "Sample predictions",
         f"The first {n} test images with the predicted class; mistakes in red, with the true "
         "class", lambda p: plotting.plot_images(
             data["x_test_raw"][:n], data["y_test"][:n], data["class_names"],
             n_rows=math.ceil(n / 8), n_cols=min(8, n), y_pred=labels[:n], path=p))
    plot("confusion_matrix.png", "Confusion matrix",
         "Test set: rows are the true classes, columns the predicted ones",
         lambda p: plotting.plot_confusion_matrix(data["y_test"], labels, data["class_names"],
                                                  path=p))
    worst = confident_mistakes(data["y_test"], y_pred)
    if len(worst):
        plot("confident_mistakes.png", "Most confident mistakes",
             f"The {len(worst)} wrong test predictions with the highest loss, worst first: "
             "the true class and the predicted one, each with the probability the model gave it",
             lambda p: plot_confident_mistakes(data["x_test_raw"], data["y_test"], y_pred,
                                               data["class_names"], worst, path=p))
    return images, None


def _report_head(title, command, notes, metrics, history, images, findings, doctor, summary,
                 tables=(), diagram=None):
    """The report's results: command, notes, metrics, plots, doctor and model summary.

    `doctor` is `diagnose()`'s text (shown as is) or its `(code, text)` pairs (merged with
    the fit-time `findings`, each code once); `tables` are `(heading, header, rows)` shown
    after the test metrics; `diagram` is the model diagram's `(file, caption)`."""
    from gazelle.utils.report import HtmlReport
    report = HtmlReport(title)
    report.preformatted(command)
    if notes:
        report.items(notes, warning=True)
    report.heading("Test metrics")
    report.table(metrics, header=("metric", "value"))
    for heading, header, rows in tables:
        report.heading(heading)
        report.table(rows, header=header)
    report.heading("Last epoch")
    report.table([(k, f"{v[-1]:.4f}") for k, v in history.history.items() if len(v)],
                 header=("log", "value"))
    for name, heading, caption in images:
        report.heading(heading)
        report.image(name, caption)
    report.heading("Training doctor")
    listed = merge_findings(findings, () if isinstance(doctor, str) or doctor is None
                            else doctor)
    if listed:
        report.items(listed, warning=True)
    else:
        report.text("No findings: the doctor saw nothing wrong with the inputs or the training.")
    if isinstance(doctor, str) and doctor:
        report.preformatted(doctor)
    report.heading("Model summary")
    report.preformatted(summary)
    if diagram:
        report.image(diagram[0], "Model diagram (keras.utils.plot_model, show_shapes=True)")
    return report
