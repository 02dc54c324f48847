"""Recurrent workloads (issue 12): gazelle vs Keras 3 (JAX backend) vs PyTorch eager, interleaved.

S1: rt_polarity sentences -> top 10,000 word ids (TextVectorization adapted on the 9,596
    training sentences), length 50 -> Embedding(10000, 64) -> LSTM(64) -> Dense(1, sigmoid);
    Adam; batch 64. No mask (PyTorch's nn.LSTM has none without packing), so all three run the
    same 50 steps per sentence.
S2: the first 300,000 characters of Tiny Shakespeare in windows of 100 (2,999 windows) ->
    Embedding(65, 64) -> GRU(256, return_sequences=True) -> Dense(65) logits; sparse
    cross-entropy from logits; Adam; batch 64.
G:  one-step generation with the S2 model after training: a stateful batch-1 copy (weights
    copied), one character in, logits out, the recurrent state carried; milliseconds per
    character over `--gen-chars` calls. gazelle and Keras 3: `jax.jit(model.stateless_call)`
    (the state threaded as a non-trainable value) and `predict_on_batch` on the stateful
    model; PyTorch: the eager module under `no_grad`, with the hidden state passed back in.

Seconds per epoch; round 0 is the warm-up (compiling) and is reported apart; each round runs
every system once, S1 then S2, so the systems share the machine's state. PyTorch's threads
are pinned (`--threads`, default: the usable cores) and reported.

    python bench/sequences.py [--rounds 3] [--systems gazelle,keras,torch] [--threads 2]
                              [--gen-chars 200] [--json PATH]
"""
import argparse
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

from harness import (command_line, fmt, machine_facts, print_facts, ratio, record,  # noqa: E402
                     summarize, timed, write_json)

BATCH = 64


# ---------------------------------------------------------------- data

def load_s1():
    import gazelle
    sentences, labels = gazelle.datasets.rt_polarity.load_data()
    order = np.random.default_rng(42).permutation(len(sentences))
    train = order[len(sentences) // 10:]
    vectorize = gazelle.layers.TextVectorization(max_tokens=10000, output_sequence_length=50)
    vectorize.adapt(sentences[train])
    x = np.asarray(vectorize(sentences[train])).astype(np.int32)
    return x, labels[train].astype(np.float32)


def load_s2(chars=300_000, window=100):
    import gazelle
    text = gazelle.datasets.shakespeare.load_data()
    vocabulary = sorted(set(text))
    index = {c: i for i, c in enumerate(vocabulary)}
    ids = np.array([index[c] for c in text[:chars]], np.int32)
    n = (len(ids) - 1) // window
    return (ids[:n * window].reshape(n, window), ids[1:n * window + 1].reshape(n, window),
            len(vocabulary))


# ---------------------------------------------------------------- Keras-API systems

def keras_models(k):
    L = k.layers
    s1 = k.models.Sequential([k.Input(shape=(50,), dtype="int32"), L.Embedding(10000, 64),
                              L.LSTM(64), L.Dense(1, activation="sigmoid")])
    s1.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    s2 = k.models.Sequential([k.Input(shape=(None,), dtype="int32"), L.Embedding(65, 64),
                              L.GRU(256, return_sequences=True), L.Dense(65)])
    s2.compile(loss=k.losses.SparseCategoricalCrossentropy(from_logits=True), optimizer="adam")
    return s1, s2


def keras_epoch(model, x, y):
    def run():
        history = model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0)
        return float(history.history["loss"][-1])
    return run


def keras_one_step(k, trained):
    L = k.layers
    step = k.models.Sequential([k.Input(batch_shape=(1, None), dtype="int32"),
                                L.Embedding(65, 64),
                                L.GRU(256, return_sequences=True, stateful=True), L.Dense(65)])
    step.set_weights(trained.get_weights())
    return step


def keras_generation(k, trained, n_chars, rng):
    """ms per character: (jit(stateless_call), predict_on_batch), greedy-free sampling."""
    import jax
    step = keras_one_step(k, trained)
    fn = jax.jit(step.stateless_call)
    trainable = [v.value for v in step.trainable_variables]
    state = [v.value for v in step.non_trainable_variables]
    x = np.array([[1]], np.int32)
    logits, state = fn(trainable, state, x)          # compile
    start = time.perf_counter()
    for _ in range(n_chars):
        logits, state = fn(trainable, state, x)
        x = np.array([[int(rng.integers(65))]], np.int32)
        np.asarray(logits)
    jitted = (time.perf_counter() - start) / n_chars
    calls = max(5, n_chars // 20)                     # predict_on_batch is slow: fewer calls
    step.predict_on_batch(x)
    start = time.perf_counter()
    for _ in range(calls):
        np.asarray(step.predict_on_batch(x))
    return 1000 * jitted, 1000 * (time.perf_counter() - start) / calls


# ---------------------------------------------------------------- PyTorch

def torch_models(torch):
    nn = torch.nn

    class S1(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(10000, 64)
            self.lstm = nn.LSTM(64, 64, batch_first=True)
            self.dense = nn.Linear(64, 1)

        def forward(self, x):
            _, (h, _) = self.lstm(self.embedding(x))
            return torch.sigmoid(self.dense(h[-1]))[:, 0]

    class S2(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(65, 64)
            self.gru = nn.GRU(64, 256, batch_first=True)
            self.dense = nn.Linear(256, 65)

        def forward(self, x, h=None):
            y, h = self.gru(self.embedding(x), h)
            return self.dense(y), h

    return S1(), S2()


def torch_epoch(torch, model, x, y, loss_fn, sequence):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    xt, yt = torch.from_numpy(x.astype(np.int64)), torch.from_numpy(y)
    if sequence:
        yt = yt.long()

    def run():
        model.train()
        perm = torch.randperm(len(xt))
        total, batches = 0.0, 0
        for start in range(0, len(xt), BATCH):
            idx = perm[start:start + BATCH]
            optimizer.zero_grad()
            out = model(xt[idx])
            if sequence:
                loss = loss_fn(out[0].reshape(-1, out[0].shape[-1]), yt[idx].reshape(-1))
            else:
                loss = loss_fn(out, yt[idx])
            loss.backward()
            optimizer.step()
            total, batches = total + loss.item(), batches + 1
        return total / batches
    return run


def torch_generation(torch, model, n_chars, rng):
    model.eval()
    h = None
    x = torch.tensor([[1]])
    with torch.no_grad():
        model(x, h)
        start = time.perf_counter()
        for _ in range(n_chars):
            logits, h = model(x, h)
            logits.numpy()
            x = torch.tensor([[int(rng.integers(65))]])
    return 1000 * (time.perf_counter() - start) / n_chars


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds after warm-up")
    parser.add_argument("--systems", default="gazelle,keras,torch")
    parser.add_argument("--threads", type=int, default=None,
                        help="PyTorch threads (default: the usable cores; on a busy 2-core "
                             "machine 1 is far faster, as OpenMP threads wait on each other)")
    parser.add_argument("--s2-chars", type=int, default=300_000)
    parser.add_argument("--gen-chars", type=int, default=200)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    systems = args.systems.split(",")
    threads = args.threads or len(os.sched_getaffinity(0))
    if "torch" in systems:
        import torch
        torch.set_num_threads(threads)
        torch.manual_seed(42)
    facts = machine_facts()
    print_facts(facts)

    x1, y1 = load_s1()
    x2, y2, _ = load_s2(args.s2_chars)
    print(f"S1: {len(x1)} sentences x 50 ids; S2: {len(x2)} windows x 100 characters",
          flush=True)
    runs = {}
    models = {}
    for name in systems:
        if name == "torch":
            s1, s2 = torch_models(torch)
            runs[name] = {
                "S1": torch_epoch(torch, s1, x1, y1, torch.nn.BCELoss(), sequence=False),
                "S2": torch_epoch(torch, s2, x2, y2, torch.nn.CrossEntropyLoss(), sequence=True)}
        else:
            k = __import__(name)
            k.utils.set_random_seed(42)
            s1, s2 = keras_models(k)
            runs[name] = {"S1": keras_epoch(s1, x1, y1), "S2": keras_epoch(s2, x2, y2)}
        models[name] = s2

    results = {}
    for r in range(args.rounds + 1):
        for workload in ("S1", "S2"):
            for name in systems:
                seconds, loss, others = timed(runs[name][workload])
                record(results, f"{workload}/{name}", f"{workload} {name}", r, args.rounds,
                       seconds, loss, others)

    rng = np.random.default_rng(0)
    generation = {}
    for name in systems:
        if name == "torch":
            generation[name] = {"module call under no_grad": torch_generation(torch, models[name], args.gen_chars,
                                                          rng)}
        else:
            jitted, pob = keras_generation(__import__(name), models[name], args.gen_chars, rng)
            generation[name] = {"jit(stateless_call)": jitted, "predict_on_batch": pob}
        print(f"  generation {name}: " + ", ".join(f"{k} {v:.3f} ms/char"
                                                   for k, v in generation[name].items()),
              flush=True)

    labels = {"gazelle": "gazelle", "keras": f"Keras {facts['keras']} (jax)",
              "torch": f"PyTorch {facts['torch']} eager"}
    lines = [f"`{command_line('sequences.py', sys.argv[1:])}` ({facts['date']}); "
             f"CPU: {facts['cpu']}, {facts['cores']}; load average at start "
             f"{facts['load average at start']}. PyTorch threads: {threads}.", "",
             "| workload | system | warm-up epoch (s) | median s/epoch (min) | clean rounds "
             "| vs gazelle | last loss |", "|---|---|---|---|---|---|---|"]
    for workload in ("S1", "S2"):
        base = summarize(results.get(f"{workload}/gazelle", {}).get("times", []),
                         results.get(f"{workload}/gazelle", {}).get("others", []))
        for name in systems:
            res = results[f"{workload}/{name}"]
            s = summarize(res["times"], res["others"])
            lines.append(f"| {workload} | {labels[name]} | {fmt(res['first'], 2)} | "
                         f"{fmt(s['median'], 2)} ({fmt(s['min'], 2)}) | {s['clean']}/{s['n']} | "
                         f"{ratio(s['median'], base['median'])} | {res['accuracy']:.4f} |")
    lines += ["", "| one-step generation (batch 1, stateful) | ms per character |", "|---|---|"]
    for name in systems:
        for how, ms in generation[name].items():
            lines.append(f"| {labels[name]}, {how} | {ms:.3f} |")
    section = "\n".join(lines)
    print("\n" + section)
    write_json(args.json, {"workload": "S1-S2", "script": "sequences.py", "facts": facts,
                           "results": results, "generation": generation,
                           "markdown": section})


if __name__ == "__main__":
    main()
