"""Convolutional autoencoder on MNIST (issue 14): gazelle vs Keras 3 (JAX) vs PyTorch eager,
interleaved round by round.

Conv2D(32, 3, strides 2, same, relu) -> Conv2D(64, 3, strides 2, same, relu) ->
Conv2DTranspose(64, 3, strides 2, same, relu) -> Conv2DTranspose(32, 3, strides 2, same,
relu) -> Conv2D(1, 3, same, sigmoid); binary cross-entropy against the input; Adam; batch
128; the first `--samples` MNIST training images scaled to [0, 1]. Seconds per epoch; round
0 is the warm-up (compiling). PyTorch's threads are pinned (`--threads`) and reported.

    python bench/autoencoder.py [--rounds 3] [--samples 20000] [--systems gazelle,keras,torch]
"""
import argparse
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

from harness import (command_line, fmt, machine_facts, print_facts, ratio, record,  # noqa: E402
                     summarize, timed, write_json)

BATCH = 128


def keras_model(k):
    L = k.layers
    model = k.Sequential([
        k.Input(shape=(28, 28, 1)),
        L.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
        L.Conv2D(64, 3, strides=2, padding="same", activation="relu"),
        L.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu"),
        L.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),
        L.Conv2D(1, 3, padding="same", activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def keras_epoch(model, x):
    def run():
        return float(model.fit(x, x, batch_size=BATCH, epochs=1, verbose=0)
                     .history["loss"][-1])
    return run


def torch_setup(torch, x):
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(64, 64, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.Conv2d(32, 1, 3, padding=1), nn.Sigmoid())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    xt = torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 1)))
    loss_fn = nn.BCELoss()

    def run():
        model.train()
        perm = torch.randperm(len(xt))
        total, batches = 0.0, 0
        for start in range(0, len(xt), BATCH):
            xb = xt[perm[start:start + BATCH]]
            optimizer.zero_grad()
            loss = loss_fn(model(xb), xb)
            loss.backward()
            optimizer.step()
            total, batches = total + loss.item(), batches + 1
        return total / batches
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--systems", default="gazelle,keras,torch")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args()
    systems = args.systems.split(",")
    import gazelle
    (x, _), _ = gazelle.datasets.mnist.load_data()
    x = (x[:args.samples, :, :, None] / 255.0).astype(np.float32)
    threads = args.threads or len(os.sched_getaffinity(0))
    runs = {}
    if "gazelle" in systems:
        runs["gazelle"] = keras_epoch(keras_model(gazelle), x)
    if "keras" in systems:
        import keras
        runs[f"Keras {keras.__version__} (jax)"] = keras_epoch(keras_model(keras), x)
    if "torch" in systems:
        import torch
        torch.set_num_threads(threads)
        runs[f"PyTorch {torch.__version__} eager, {threads} threads"] = torch_setup(torch, x)
    facts = machine_facts()
    print_facts(facts)
    results = {}
    for r in range(args.rounds + 1):
        for name, run in runs.items():
            seconds, loss, others = timed(run)
            record(results, name, name, r, args.rounds, seconds, loss, others)
    base = summarize(results["gazelle"]["times"], results["gazelle"]["others"]) \
        if "gazelle" in results else None
    print(f"\n`{command_line('autoencoder.py', sys.argv[1:])}`; {len(x)} samples, batch "
          f"{BATCH}.\n")
    print("| system | warm-up epoch (s) | median s/epoch (min) | clean rounds | vs gazelle "
          "| last loss |")
    print("|---|---|---|---|---|---|")
    for name, res in results.items():
        s = summarize(res["times"], res["others"])
        print(f"| {name} | {fmt(res['first'], 2)} | {fmt(s['median'], 2)} "
              f"({fmt(s['min'], 2)}) | {s['clean']}/{s['n']} | "
              f"{ratio(s['median'], base['median']) if base else 'n/a'} | "
              f"{res['accuracy']:.4f} |")
    write_json(args.json, {"facts": facts, "results": results})


if __name__ == "__main__":
    main()
