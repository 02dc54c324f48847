"""The tf.keras Fashion-MNIST tutorial, run unchanged on gazelle.

First the tutorial's raw-pixel run (1 epoch: gazelle explains why it fails), then the
same model on standardized inputs for 10 epochs; prints the test accuracy and saves the
learning curves as a PNG.

    python examples/fashion_mnist_mlp.py [--epochs 10] [--out learning_curves.png]
"""
import argparse

import numpy as np

import gazelle as keras


def build_model():
    model = keras.models.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        keras.layers.Dense(300, activation="relu"),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd",
                  metrics=["accuracy"])
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--out", default="learning_curves.png")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    print(keras.__name__, keras.__version__)
    keras.utils.set_random_seed(args.seed)

    fashion_mnist = keras.datasets.fashion_mnist
    (x_train_all, y_train_all), (x_test, y_test) = fashion_mnist.load_data()
    x_valid, x_train = x_train_all[:5000], x_train_all[5000:]
    y_valid, y_train = y_train_all[:5000], y_train_all[5000:]

    print("\n== The tutorial as written: raw 0..255 pixels, SGD (1 epoch) ==")
    model = build_model()
    model.summary()
    model.fit(x_train, y_train, epochs=1, validation_data=(x_valid, y_valid))

    print(f"\n== Standardized inputs ({args.epochs} epochs) ==")
    mean, std = x_train.mean(), x_train.std()
    scale = lambda x: (x.astype(np.float32) - mean) / std  # noqa: E731
    model = build_model()
    history = model.fit(scale(x_train), y_train, epochs=args.epochs,
                        validation_data=(scale(x_valid), y_valid))
    loss, accuracy = model.evaluate(scale(x_test), y_test, verbose=0)
    print(f"test loss: {loss:.4f} - test accuracy: {accuracy:.4f}")

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: skipping the plot (pip install 'gazelle[plot]').")
        return
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, values in history.history.items():
        ax.plot(history.epoch, values, label=name)
    ax.grid(True)
    ax.set_ylim(0, 1)
    ax.set_xlabel("epoch")
    ax.legend()
    fig.savefig(args.out, dpi=100)
    print(f"learning curves saved to {args.out}")


if __name__ == "__main__":
    main()
