"""The course CNN on full Fashion-MNIST: gazelle vs Keras 3 (JAX backend), same run.

Conv2D 32 3x3 relu (same) -> MaxPooling2D -> Conv2D 64 3x3 relu (same) -> MaxPooling2D ->
Flatten -> Dense 128 relu -> Dense 10 softmax; Adam; batch 64; 55,000 training images
(standardized), 5,000 for validation; test accuracy on the 10,000 test images.

    python bench/cnn_course.py [--epochs 5] [--systems gazelle,keras]

Prints seconds per epoch (the first includes compiling) and the test accuracy per system.
"""
import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402


def build(k):
    L = k.layers
    model = k.models.Sequential([
        k.Input(shape=(28, 28, 1)),
        L.Conv2D(32, 3, activation="relu", padding="same"), L.MaxPooling2D(2),
        L.Conv2D(64, 3, activation="relu", padding="same"), L.MaxPooling2D(2),
        L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


class EpochTimer:
    def __init__(self, k):
        self.k, self.times = k, []

    def callback(self):
        timer = self

        class _T(self.k.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                timer.t = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                timer.times.append(time.perf_counter() - timer.t)
        return _T()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--systems", default="gazelle,keras")
    args = parser.parse_args()
    import gazelle
    (x, y), (x_test, y_test) = gazelle.datasets.fashion_mnist.load_data()
    mean, std = x.mean(), x.std()
    x = ((x - mean) / std).astype("float32")[..., None]
    x_test = ((x_test - mean) / std).astype("float32")[..., None]
    for name in args.systems.split(","):
        k = gazelle if name == "gazelle" else __import__("keras")
        k.utils.set_random_seed(42)
        model = build(k)
        timer = EpochTimer(k)
        model.fit(x[5000:], y[5000:], epochs=args.epochs, batch_size=64,
                  validation_data=(x[:5000], y[:5000]), verbose=0, callbacks=[timer.callback()])
        acc = model.evaluate(x_test, y_test, verbose=0)[1]
        rest = timer.times[1:]
        print(f"{name:8s} first epoch {timer.times[0]:.2f} s, then median "
              f"{np.median(rest):.3f} s/epoch (min {min(rest):.3f}), test accuracy {acc:.4f}"
              if rest else f"{name}: {timer.times}")


if __name__ == "__main__":
    main()
