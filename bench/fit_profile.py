"""Where one `fit(epochs=1)` call's time goes, outside the epoch's compiled chunks: the
tutorial MLP on Fashion-MNIST (55,000 images, batch 32), two warm-up calls, then one call
under cProfile; prints the heaviest functions by cumulative time.

    python bench/fit_profile.py [--batch-size 32] [--top 25]
"""
import argparse
import cProfile
import os
import pstats
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

import gazelle as keras  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    (x, y), _ = keras.datasets.fashion_mnist.load_data()
    x = ((x[5000:].astype(np.float32) - 72.94) / 90.02).astype(np.float32)
    y = y[5000:].astype(np.int32)
    layers = keras.layers
    model = keras.models.Sequential([
        layers.Flatten(input_shape=[28, 28]), layers.Dense(300, activation="relu"),
        layers.Dense(100, activation="relu"), layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    for _ in range(2):
        model.fit(x, y, epochs=1, batch_size=args.batch_size, verbose=0)
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.enable()
    model.fit(x, y, epochs=1, batch_size=args.batch_size, verbose=0)
    profile.disable()
    print(f"fit(epochs=1): {time.perf_counter() - start:.3f} s (under cProfile)")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
