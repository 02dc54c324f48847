"""`gazelle train rt_polarity` and `gazelle train shakespeare`: the text runs of the CLI.

[top: the public gazelle API, jax, numpy, stdlib; gazelle.cli for the shared run pieces]

rt_polarity: movie-review sentences -> TextVectorization (top 10,000 words, length 50,
adapted on the training split, on the host) -> Embedding(mask_zero=True) ->
Bidirectional(LSTM 64) -> Dense(1, sigmoid). The report shows the learning curves, the
confusion matrix and the test sentences the model got most confidently wrong.

shakespeare: Tiny Shakespeare in windows of 100 characters -> Embedding(65, 64) ->
GRU 256 (or LSTM 256) with return_sequences -> Dense(65) logits. After each epoch a callback
copies the weights into a stateful one-step model (batch 1, one character per call) and
samples text at a few temperatures; the report shows every sample.

Both runs write `model.keras` (the model on integer ids), `vocabulary.json` (a JSON list:
entry i is the token or character of id i), `history.csv`, the plots and `report.html`,
and `model.onnx` when the ONNX export covers the model; when it does not, the report says
why and there is no `model.onnx`.
"""
import json
import os
import sys
import time

import numpy as np

from gazelle import cli

TEXT_DATASETS = ("rt_polarity", "shakespeare")
DEFAULTS = {   # dataset -> (model, epochs, batch size, learning rate or None for Keras's)
    "rt_polarity": ("lstm", 3, 64, None),
    "shakespeare": ("gru", 2, 64, 5e-3),
}
MIN_LIMIT = {"rt_polarity": 3, "shakespeare": 202}   # samples / characters a run needs

SENTIMENT_CLASSES = ("negative", "positive")
SENTENCE_LENGTH = 50
MAX_TOKENS = 10000
WINDOW = 100                  # characters per training window
TEMPERATURES = (0.2, 0.5, 1.0)
SAMPLE_LENGTH = 200           # characters generated per temperature
PROMPT = "ROMEO:"


# -- data -----------------------------------------------------------------------------------

def load_sentences(limit=None, seed=42):
    """Returns the rt_polarity run's data: sentences, ids and labels of each split, the
    vocabulary, and the vectorizer.

    The sentences are shuffled with `seed` first (the file has all positive ones first);
    `limit` keeps the first `limit` of them. The first 10% are the test set, the next 10% of
    the rest validate, and the vocabulary is adapted on the training sentences only."""
    import gazelle as keras
    sentences, labels = keras.datasets.rt_polarity.load_data()
    order = np.random.default_rng(seed).permutation(len(sentences))
    if limit is not None:
        order = order[:limit]
    n_test = cli._split(len(order), 0.1)
    test, rest = order[:n_test], order[n_test:]
    n_valid = cli._split(len(rest), 0.1) if len(rest) > 1 else 0
    if n_valid == 0 or len(rest) - n_valid < 1:
        raise ValueError(f"--limit {limit} leaves no training sentences; use at least "
                         f"{MIN_LIMIT['rt_polarity']}")
    valid, train = rest[:n_valid], rest[n_valid:]
    vectorize = keras.layers.TextVectorization(max_tokens=MAX_TOKENS,
                                               output_sequence_length=SENTENCE_LENGTH)
    vectorize.adapt(sentences[train])
    data = {"vocabulary": [str(t) for t in vectorize.get_vocabulary()]}
    for name, idx in (("train", train), ("valid", valid), ("test", test)):
        data[f"x_{name}"] = np.asarray(vectorize(sentences[idx])).astype(np.int32)
        data[f"y_{name}"] = labels[idx]
        data[f"s_{name}"] = sentences[idx]
    return data


def load_characters(limit=None):
    """Returns the shakespeare run's data: windows of `WINDOW` character ids (`x`) and the
    same windows shifted by one (`y`, the next characters); the last 10% of the windows
    validate. The 65 characters of the whole text make the vocabulary, so a model trained on
    a prefix (`limit` characters) still reads and writes every character."""
    import gazelle as keras
    text = keras.datasets.shakespeare.load_data()
    chars = sorted(set(text))
    if limit is not None:
        text = text[:limit]
    index = {c: i for i, c in enumerate(chars)}
    ids = np.array([index[c] for c in text], np.int32)
    n = (len(ids) - 1) // WINDOW
    if n < 2:
        raise ValueError(f"--limit {limit} gives fewer than 2 windows of {WINDOW + 1} "
                         f"characters; use at least {MIN_LIMIT['shakespeare']}")
    x = ids[:n * WINDOW].reshape(n, WINDOW)
    y = ids[1:n * WINDOW + 1].reshape(n, WINDOW)
    n_valid = cli._split(n, 0.1)
    return {"vocabulary": chars, "characters": len(text),
            "x_train": x[:-n_valid], "y_train": y[:-n_valid],
            "x_valid": x[-n_valid:], "y_valid": y[-n_valid:]}


# -- models ---------------------------------------------------------------------------------

def build_sentiment_model(vocabulary_size, kind="lstm"):
    """Embedding(mask_zero=True) -> Bidirectional(LSTM 64 or GRU 64) -> Dense(1, sigmoid)."""
    import gazelle as keras
    layers = keras.layers
    recurrent = layers.LSTM if kind == "lstm" else layers.GRU
    return keras.models.Sequential([
        keras.Input(shape=(SENTENCE_LENGTH,), dtype="int32"),
        layers.Embedding(vocabulary_size, 64, mask_zero=True),
        layers.Bidirectional(recurrent(64)),
        layers.Dense(1, activation="sigmoid")])


def build_character_model(vocabulary_size, kind="gru", units=256, stateful=False):
    """Embedding(V, 64) -> GRU or LSTM (return_sequences) -> Dense(V) logits.

    With `stateful=True`: the one-step generator, batch 1, any number of characters per call,
    its recurrent state carried from one call to the next."""
    import gazelle as keras
    layers = keras.layers
    recurrent = layers.GRU if kind == "gru" else layers.LSTM
    first = (keras.Input(batch_shape=(1, None), dtype="int32") if stateful else
             keras.Input(shape=(None,), dtype="int32"))
    return keras.models.Sequential([
        first,
        layers.Embedding(vocabulary_size, 64),
        recurrent(units, return_sequences=True, stateful=stateful),
        layers.Dense(vocabulary_size)])


class TextSampler:
    """Generates text with a stateful one-step copy of a character model.

    `sample(model, temperature)` copies `model`'s weights into the one-step model, resets its
    state, feeds the prompt one character at a time and then samples `length` characters,
    each fed back as the next input. The step runs as one compiled function of the weights
    and the recurrent state (`stateless_call` under `jax.jit`), compiled once.

    Args:
        vocabulary: the characters, entry i being the character of id i.
        kind: `"gru"` or `"lstm"`, as the trained model.
        units: the recurrent layer's units, as the trained model.
        seed: seed of the sampling random generator.
    """

    def __init__(self, vocabulary, kind="gru", units=256, seed=42):
        import jax
        self.vocabulary = list(vocabulary)
        self.index = {c: i for i, c in enumerate(self.vocabulary)}
        self.model = build_character_model(len(self.vocabulary), kind, units, stateful=True)
        self.rng = np.random.default_rng(seed)
        self._step = jax.jit(self.model.stateless_call)

    def sample(self, model, temperature, prompt=PROMPT, length=SAMPLE_LENGTH):
        """Returns `prompt` followed by `length` sampled characters."""
        self.model.set_weights(model.get_weights())
        recurrent = self.model.layers[1]
        recurrent.reset_state()
        trainable = [v.value for v in self.model.trainable_variables]
        state = [v.value for v in self.model.non_trainable_variables]
        ids = [self.index[c] for c in prompt if c in self.index] or [0]
        out = []
        logits = None
        for i in ids:
            logits, state = self._step(trainable, state, np.array([[i]], np.int32))
        for _ in range(length):
            z = np.asarray(logits, np.float64)[0, -1] / max(temperature, 1e-6)
            p = np.exp(z - z.max())
            i = int(self.rng.choice(len(p), p=p / p.sum()))
            out.append(self.vocabulary[i])
            logits, state = self._step(trainable, state, np.array([[i]], np.int32))
        return prompt + "".join(out)


def _sampling_callback(sampler, samples):
    import gazelle as keras

    class SampleText(keras.callbacks.Callback):
        """After each epoch: text at each temperature, printed and kept in `samples`."""

        def on_epoch_end(self, epoch, logs=None):
            start = time.perf_counter()
            texts = [(t, sampler.sample(self.model, t)) for t in TEMPERATURES]
            seconds = time.perf_counter() - start
            samples.append((epoch, texts, seconds))
            for t, text in texts:
                print(f"--- epoch {epoch + 1}, temperature {t}:\n{text}\n")
    return SampleText()


# -- the runs -------------------------------------------------------------------------------

def train_text(args, command):
    """Runs `gazelle train rt_polarity|shakespeare` for parsed `args`; returns 0, or 1 when the
    model could not be saved."""
    import gazelle as keras
    clock = cli._Clock()
    out = cli._run_dir(args.out)
    print(f"gazelle {keras.__version__}: training {args.model} on {args.dataset} -> {out}")
    keras.utils.set_random_seed(args.seed)
    sentiment = args.dataset == "rt_polarity"
    data = (load_sentences(args.limit, args.seed) if sentiment else
            load_characters(args.limit))
    clock.lap("load data")

    optimizer = cli._optimizer(args, regression=False)
    samples = []
    if sentiment:
        model = build_sentiment_model(len(data["vocabulary"]), args.model)
        model.compile(loss="binary_crossentropy", optimizer=optimizer, metrics=["accuracy"])
        callbacks = []
    else:
        model = build_character_model(len(data["vocabulary"]), args.model)
        model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      optimizer=optimizer, metrics=["accuracy"])
        callbacks = [_sampling_callback(TextSampler(data["vocabulary"], args.model,
                                                    seed=args.seed), samples)]
    summary = []
    model.summary(print_fn=summary.append)
    print("\n".join(summary))
    clock.lap("build model")

    # Next-character targets are always "imbalanced"; that finding says nothing here.
    history, findings = cli._fit_with_doctor(
        model, data, args, callbacks=callbacks,
        quiet=() if sentiment else ("class_imbalance",))
    clock.lap("fit")

    if sentiment:
        metrics, probabilities = _sentiment_metrics(model, data, args.batch_size)
    else:
        metrics, probabilities = _character_metrics(model, data, args.batch_size), None
    clock.lap("evaluate and predict")

    files, notes, save_failed = _save(model, history, data, out)
    clock.lap("save model and history")

    x_check = data["x_test"][:256] if sentiment else data["x_valid"][:8]
    onnx_rows, onnx_note = cli.export_onnx_checked(model, out, x_check)
    if onnx_rows:
        files.append(("model.onnx", "the model for onnxruntime (checked against predict)"))
    else:
        notes.append(onnx_note.replace("model.onnx was not written",
                                       "ONNX export was not available; model.onnx was not "
                                       "written", 1))
    clock.lap("export ONNX")

    images, plot_note = _plots(out, history, data, probabilities, sentiment)
    notes += [plot_note] if plot_note else []
    files += [(name, caption) for name, _, caption in images]
    clock.lap("plots")
    clock.timings.append(("total", f"{time.perf_counter() - clock.started:.2f} s"))

    report = cli._report_head(f"gazelle run: {args.dataset} ({args.model})", command, notes,
                              metrics, history, images, findings, None, summary)
    if sentiment:
        _misclassified_section(report, data, probabilities)
    else:
        _samples_section(report, samples)
    _settings_section(report, args, optimizer, data, sentiment)
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


def _sentiment_metrics(model, data, batch_size):
    loss, accuracy = model.evaluate(data["x_test"], data["y_test"], batch_size=batch_size,
                                    verbose=0)
    probabilities = np.asarray(model.predict(data["x_test"], batch_size=batch_size,
                                             verbose=0)).reshape(-1)
    print(f"test loss: {loss:.4f} - test accuracy: {accuracy:.4f}")
    return [("test loss", f"{loss:.4f}"), ("test accuracy", f"{accuracy:.4f}")], probabilities


def _character_metrics(model, data, batch_size):
    loss, accuracy = model.evaluate(data["x_valid"], data["y_valid"], batch_size=batch_size,
                                    verbose=0)
    print(f"held-out loss: {loss:.4f} - next-character accuracy: {accuracy:.4f}")
    return [("held-out loss (last 10% of the windows)", f"{loss:.4f}"),
            ("held-out perplexity", f"{float(np.exp(loss)):.2f}"),
            ("held-out next-character accuracy", f"{accuracy:.4f}")]


def _save(model, history, data, out):
    from gazelle.utils.io import atomic_write
    files, notes, save_failed = [], [], False
    try:
        model.save(os.path.join(out, "model.keras"))
        files.append(("model.keras", "the trained model on integer ids "
                                     "(keras.models.load_model)"))
    except Exception as e:  # report it with everything else, then exit with status 1
        save_failed = True
        notes.append(f"Saving the model failed: {type(e).__name__}: {e}")
    atomic_write(os.path.join(out, "vocabulary.json"),
                 json.dumps(data["vocabulary"], ensure_ascii=False).encode("utf-8"))
    files.append(("vocabulary.json", "the model's vocabulary: entry i is the token of id i"))
    cli.write_history_csv(os.path.join(out, "history.csv"), history)
    files.append(("history.csv", "per-epoch loss and metrics"))
    return files, notes, save_failed


def _plots(out, history, data, probabilities, sentiment):
    try:
        from gazelle.utils import plotting
        plt = plotting.get_pyplot()
    except ImportError as e:
        return [], f"Plots were skipped: {e}"
    images = []

    def plot(name, heading, caption, make):
        plt.close(make(os.path.join(out, name)))
        images.append((name, heading, caption))

    plot("learning_curves.png", "Learning curves", "Loss and metrics per epoch",
         lambda p: plotting.plot_history(history, ylim=None, path=p))
    if sentiment:
        plot("confusion_matrix.png", "Confusion matrix",
             "Test sentences: rows are the true classes, columns the predicted ones",
             lambda p: plotting.plot_confusion_matrix(
                 data["y_test"], (probabilities > 0.5).astype(np.int64), SENTIMENT_CLASSES,
                 path=p))
    return images, None


def _misclassified_section(report, data, probabilities, n=12):
    predicted = (probabilities > 0.5).astype(np.int64)
    wrong = np.flatnonzero(predicted != data["y_test"])
    report.heading("Misclassified test sentences")
    if not len(wrong):
        report.text("The model classified every test sentence correctly.")
        return
    wrong = wrong[np.argsort(-np.abs(probabilities[wrong] - 0.5), kind="stable")][:n]
    report.text(f"{int(np.sum(predicted != data['y_test']))} of {len(predicted)} test "
                f"sentences are misclassified; the {len(wrong)} the model was surest of:")
    report.table([(data["s_test"][i], SENTIMENT_CLASSES[data["y_test"][i]],
                   f"{probabilities[i]:.3f}") for i in wrong],
                 header=("sentence", "true class", "predicted P(positive)"))


def _samples_section(report, samples):
    report.heading("Generated text")
    report.text(f"After each epoch, a stateful one-step copy of the model (batch 1, the "
                f"trained weights) continued the prompt {PROMPT!r} for {SAMPLE_LENGTH} "
                f"characters at temperatures {', '.join(map(str, TEMPERATURES))} (lower: "
                "safer, more repetitive; higher: more varied, more mistakes).")
    for epoch, texts, seconds in samples:
        for temperature, text in texts:
            report.text(f"Epoch {epoch + 1}, temperature {temperature}:")
            report.preformatted(text)
        chars = len(texts) * (SAMPLE_LENGTH + len(PROMPT))
        report.text(f"({chars} one-step calls in {seconds:.2f} s, "
                    f"{1000 * seconds / chars:.2f} ms per character)")


def _settings_section(report, args, optimizer, data, sentiment):
    import jax

    import gazelle as keras
    rows = [("dataset", args.dataset), ("model", args.model),
            ("optimizer", type(optimizer).__name__),
            ("learning rate", f"{float(optimizer.get_config()['learning_rate']):g}"),
            ("epochs", args.epochs), ("batch size", args.batch_size), ("seed", args.seed)]
    if sentiment:
        rows += [("vocabulary", f"{len(data['vocabulary'])} tokens (TextVectorization adapted "
                                f"on the training sentences), length {SENTENCE_LENGTH}"),
                 ("sentences (train / valid / test)",
                  f"{len(data['x_train'])} / {len(data['x_valid'])} / {len(data['x_test'])}")]
    else:
        rows += [("text", f"the first {data['characters']:,} characters, in windows of "
                          f"{WINDOW}"),
                 ("windows (train / valid)", f"{len(data['x_train'])} / {len(data['x_valid'])}")]
    rows += [("gazelle / jax", f"{keras.__version__} / {jax.__version__}"),
             ("device", str(jax.devices()[0].device_kind))]
    report.heading("Settings")
    report.table(rows, header=("setting", "value"))
