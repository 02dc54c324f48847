"""Issue 11: seconds per training step and per predicted batch of a Transformer encoder stack.

Model: 4 post-norm encoder blocks (the layout of PyTorch's nn.TransformerEncoderLayer), d_model
128, 4 heads (key_dim 32), feed-forward 512 relu, dropout 0.1 (on the attention weights, after
the attention, inside and after the feed-forward block), LayerNormalization epsilon 1e-5; then
the mean over the sequence and Dense 10. Input: float32 sequences of 64 vectors of 128;
labels: 10 classes, a fixed function of the inputs. Adam (learning rate 1e-3), sparse
categorical crossentropy, batch 32, shuffled. Systems, interleaved round by round in one
process:

1. gazelle: `model.fit(x, y, epochs=1, batch_size=32, verbose=0)`, called again each round,
   and `model.predict(x, batch_size=32, verbose=0)`; again as `gazelle-nodoctor` with
   `fit(..., doctor=False)`, which shows what the training doctor's checks cost per call.
2. Keras 3 on its JAX backend: the same model code and the same calls.
3. PyTorch eager: nn.TransformerEncoder(nn.TransformerEncoderLayer(..., batch_first=True)),
   torch.optim.Adam and a manual loop over a shuffled permutation; inference in eval mode under
   torch.inference_mode() (its fused encoder fast path), torch.set_num_threads pinned.

Round 0 (compile, warm-up) is reported on its own; min and median cover the rounds after it,
counting only the clean ones (other processes below 0.25 cores, from /proc/stat).

    python bench/transformer.py [--rounds 3] [--steps 32] [--predict-batches 32]
                                [--systems gazelle,keras,torch] [--threads N] [--json PATH]

A smoke run: `python bench/transformer.py --quick` (2 rounds of 4 steps).
A benchmark script, not library code: imports gazelle, keras, jax, torch and numpy.
"""
import os

os.environ["KERAS_BACKEND"] = "jax"  # must happen before keras is imported
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

from harness import (CLEAN_BELOW, command_line, fmt, load_average, machine_facts,  # noqa: E402
                     print_facts, ratio, record, summarize, timed, write_json)

BLOCKS, D_MODEL, HEADS, SEQ, FF, CLASSES = 4, 128, 4, 64, 512, 10
BATCH_SIZE = 32
LEARNING_RATE = 1e-3
EPSILON = 1e-5  # PyTorch's LayerNorm default, used by all three

NAMES = {"gazelle": "gazelle", "gazelle-nodoctor": "gazelle, fit(doctor=False)",
         "keras": "Keras 3 (JAX backend)", "torch": "PyTorch eager"}


# ---------------------------------------------------------------- data

def make_data(samples, seed):
    """Standard-normal sequences; the label is the argmax of a fixed random projection of
    the sequence mean (learnable, so the training accuracies say each system trains)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, SEQ, D_MODEL), dtype=np.float32)
    w = rng.standard_normal((D_MODEL, CLASSES), dtype=np.float32)
    y = np.argmax(x.mean(axis=1) @ w, axis=1).astype(np.int32)
    return x, y


# ---------------------------------------------------------------- Keras-API systems

def encoder_block(k, x, dropout):
    L = k.layers
    attention = L.MultiHeadAttention(num_heads=HEADS, key_dim=D_MODEL // HEADS,
                                     dropout=dropout)(x, x)
    x = L.LayerNormalization(epsilon=EPSILON)(x + L.Dropout(dropout)(attention))
    h = L.Dense(FF, activation="relu")(x)
    h = L.Dense(D_MODEL)(L.Dropout(dropout)(h))
    return L.LayerNormalization(epsilon=EPSILON)(x + L.Dropout(dropout)(h))


def build_keras_api(k, dropout):
    inputs = k.Input(shape=(SEQ, D_MODEL))
    x = inputs
    for _ in range(BLOCKS):
        x = encoder_block(k, x, dropout)
    x = k.layers.GlobalAveragePooling1D()(x)
    outputs = k.layers.Dense(CLASSES, activation="softmax")(x)
    model = k.Model(inputs, outputs)
    model.compile(optimizer=k.optimizers.Adam(learning_rate=LEARNING_RATE),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def make_fit(k, x, y, x_pred, seed, dropout, **fit_kwargs):
    k.utils.set_random_seed(seed)
    model = build_keras_api(k, dropout)

    def train():
        history = model.fit(x, y, epochs=1, batch_size=BATCH_SIZE, verbose=0, **fit_kwargs)
        return history.history["accuracy"][-1]

    def predict():
        return model.predict(x_pred, batch_size=BATCH_SIZE, verbose=0)
    return train, predict, model


def make_gazelle(x, y, x_pred, seed, dropout, threads):
    import gazelle
    return make_fit(gazelle, x, y, x_pred, seed, dropout)


def make_gazelle_nodoctor(x, y, x_pred, seed, dropout, threads):
    """gazelle with its training doctor off: the doctor measures gradient norms once after
    the first epoch of every fit call of a deep model (one extra forward + backward pass over
    256 samples), which a loop of fit(epochs=1) calls pays each round."""
    import gazelle
    return make_fit(gazelle, x, y, x_pred, seed, dropout, doctor=False)


def make_keras(x, y, x_pred, seed, dropout, threads):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import keras
    if keras.backend.backend() != "jax":
        raise RuntimeError(f"Keras runs on {keras.backend.backend()!r}, expected 'jax'.")
    return make_fit(keras, x, y, x_pred, seed, dropout)


# ---------------------------------------------------------------- PyTorch

def make_torch(x, y, x_pred, seed, dropout, threads):
    import torch
    from torch import nn
    torch.set_num_threads(threads)
    torch.manual_seed(seed)

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.TransformerEncoderLayer(D_MODEL, HEADS, dim_feedforward=FF,
                                               dropout=dropout, activation="relu",
                                               layer_norm_eps=EPSILON, batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, BLOCKS, enable_nested_tensor=False)
            self.head = nn.Linear(D_MODEL, CLASSES)

        def forward(self, inputs):
            return self.head(self.encoder(inputs).mean(dim=1))

    model = Classifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    xp = torch.from_numpy(x_pred)

    def train():
        model.train()
        correct = torch.zeros((), dtype=torch.int64)
        perm = torch.randperm(len(xt))
        for start in range(0, len(xt), BATCH_SIZE):
            idx = perm[start:start + BATCH_SIZE]
            xb, yb = xt[idx], yt[idx]
            optimizer.zero_grad()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            optimizer.step()
            correct += (logits.detach().argmax(1) == yb).sum()
        return correct.item() / len(xt)

    def predict():
        model.eval()
        with torch.inference_mode():
            return np.concatenate([torch.softmax(model(xp[s:s + BATCH_SIZE]), -1).numpy()
                                   for s in range(0, len(xp), BATCH_SIZE)])
    return train, predict, model


FACTORIES = {"gazelle": make_gazelle, "gazelle-nodoctor": make_gazelle_nodoctor,
             "keras": make_keras, "torch": make_torch}


# ---------------------------------------------------------------- measuring

def measure(systems, x, y, x_pred, y_pred, rounds, seed, dropout, threads, log=print):
    """Round 0 warms up; then each round runs, per system, one training epoch and one
    predict pass (so the systems see the same machine state, round by round)."""
    runners, train_res, pred_res, skipped = {}, {}, {}, {}
    for key in systems:
        try:
            runners[key] = FACTORIES[key](x, y, x_pred, seed, dropout, threads)
        except ImportError as e:
            skipped[key] = f"not installed ({e})"
    for r in range(rounds + 1):
        for key, (train, predict, _) in runners.items():
            seconds, accuracy, others = timed(train)
            record(train_res, key, NAMES[key] + " fit", r, rounds, seconds, accuracy, others,
                   log)
            seconds, probs, others = timed(predict)
            if probs.shape != (len(x_pred), CLASSES):
                raise RuntimeError(f"{key}: predict returned {probs.shape}")
            accuracy = float(np.mean(np.argmax(probs, -1) == y_pred))
            record(pred_res, key, NAMES[key] + " predict", r, rounds, seconds, accuracy,
                   others, log)
    return train_res, pred_res, skipped


def stats_of(res, per):
    """first / min / median seconds divided by `per` (steps or batches) for each system."""
    out = {}
    for key, r in res.items():
        s = summarize(r["times"], r["others"])
        out[key] = {"first": r["first"] / per, "first_others": r["first_others"],
                    "accuracy": r["accuracy"], "times": [t / per for t in r["times"]],
                    "others": r["others"], "clean": s["clean"], "n": s["n"],
                    "min": s["min"] and s["min"] / per, "median": s["median"] and s["median"] / per,
                    "median_all": statistics.median(r["times"]) / per if r["times"] else None}
    return out


# ---------------------------------------------------------------- report

def format_report(facts, train, pred, skipped, args, steps, batches, command):
    ms = lambda s: fmt(None if s is None else s * 1000, 1)  # noqa: E731
    lines = [
        "## Transformer encoder (issue 11)",
        "",
        f"`{command}`: {BLOCKS} post-norm encoder blocks, d_model {D_MODEL}, {HEADS} heads, "
        f"seq {SEQ}, feed-forward {FF}, dropout {args.dropout}, batch {BATCH_SIZE}, Adam; "
        f"{steps} training steps per round (fit, epochs=1) and {batches} predicted batches; one "
        f"warm-up round, then {args.rounds} measured rounds, interleaved. PyTorch threads: "
        f"{args.threads}.",
        "",
        "| system | first fit incl. compile (ms/step) | min ms/step | median ms/step "
        "| median of all rounds | first predict (ms/batch) | min ms/batch | median ms/batch "
        "| median of all rounds | clean rounds | train / predict accuracy |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key in args.systems:
        if key in skipped:
            lines.append(f"| {NAMES[key]} | {skipped[key]} | | | | | | | | | |")
            continue
        t, p = train[key], pred[key]
        busy = t["first_others"] is not None and t["first_others"] >= CLEAN_BELOW
        lines.append(
            f"| {NAMES[key]} | {ms(t['first'])}{' (not clean)' if busy else ''} "
            f"| {ms(t['min'])} | {ms(t['median'])} | {ms(t['median_all'])} | {ms(p['first'])} "
            f"| {ms(p['min'])} | {ms(p['median'])} | {ms(p['median_all'])} "
            f"| {t['clean']}/{t['n']} fit, {p['clean']}/{p['n']} predict "
            f"| {t['accuracy']:.3f} / {p['accuracy']:.3f} |")
    lines += ["", "Min and median use the clean rounds of each system (all its rounds when "
              "none was clean); the ratios use the median of all rounds, so that each system is "
              "compared over the same rounds.", "",
              "| ratio (median of all rounds) | training step | predict batch |",
              "|---|---:|---:|"]
    for label, top, bottom in [("Keras 3 / gazelle", "keras", "gazelle"),
                               ("PyTorch / gazelle", "torch", "gazelle"),
                               ("gazelle / gazelle, doctor off", "gazelle",
                                "gazelle-nodoctor")]:
        if top in train and bottom in train:
            lines.append(f"| {label} | "
                         f"{ratio(train[top]['median_all'], train[bottom]['median_all'])} "
                         f"| {ratio(pred[top]['median_all'], pred[bottom]['median_all'])} |")
    lines += ["", "Machine: " + "; ".join(f"{k} {v}" for k, v in facts.items()), ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3,
                        help="measured rounds after the warm-up (default 3)")
    parser.add_argument("--steps", type=int, default=32,
                        help="training steps per round, i.e. samples / 32 (default 32)")
    parser.add_argument("--predict-batches", type=int, default=32,
                        help="batches of 32 per predict call (default 32)")
    parser.add_argument("--systems", default="gazelle,gazelle-nodoctor,keras,torch",
                        help=f"comma-separated, from {', '.join(NAMES)}")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: the usable cores)")
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round of 4 steps")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    args.systems = [s for s in args.systems.split(",") if s]
    unknown = sorted(set(args.systems) - set(FACTORIES))
    if unknown:
        parser.error(f"--systems: unknown {unknown}; choose from {sorted(FACTORIES)}.")
    if args.rounds < 1 or args.steps < 1 or args.predict_batches < 1:
        parser.error("--rounds, --steps and --predict-batches must be positive integers.")
    if args.quick:
        args.rounds, args.steps, args.predict_batches = 1, 4, 4
    if args.threads is None:
        args.threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else os.cpu_count()
    command = command_line("transformer.py", argv if argv is not None else sys.argv[1:])

    facts = machine_facts()
    if "torch" in args.systems:
        facts["torch"] = f"{facts['torch'].split(' (')[0]} (set_num_threads({args.threads}))"
    print_facts(facts)
    n = args.steps * BATCH_SIZE
    x, y = make_data(n + args.predict_batches * BATCH_SIZE, args.seed)
    x, y, x_pred, y_pred = x[:n], y[:n], x[n:], y[n:]  # predict on held-out sequences
    print(f"data     train {x.shape}, predict {x_pred.shape}, {args.rounds} rounds after a "
          "warm-up", flush=True)
    train_res, pred_res, skipped = measure(args.systems, x, y, x_pred, y_pred, args.rounds,
                                           args.seed, args.dropout, args.threads)
    train = stats_of(train_res, args.steps)
    pred = stats_of(pred_res, args.predict_batches)
    facts["load average at end"] = load_average()
    section = format_report(facts, train, pred, skipped, args, args.steps,
                            args.predict_batches, command)
    print("\n" + section)
    write_json(args.json, {"workload": "transformer", "script": "transformer.py",
                           "command": command, "facts": facts, "steps": args.steps,
                           "predict_batches": args.predict_batches, "rounds": args.rounds,
                           "train": train, "predict": pred, "skipped": skipped,
                           "markdown": section})


if __name__ == "__main__":
    main()
