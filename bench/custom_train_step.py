"""fit() with the built-in step vs a user `train_step` override, on the tutorial MLP.

The model is the tutorial MLP (Fashion-MNIST shapes: 784-300-100-10, SGD, batch 32,
sparse categorical crossentropy, accuracy). The override is written the way Keras 3's
"customizing what happens in fit() with JAX" guide writes it: its own
`compute_loss_and_updates`, `jax.value_and_grad`, `optimizer.stateless_apply`, and every
metric updated with `stateless_update_state`. Each library trains both variants; seconds
per epoch are the median (and min) of the epochs after the first (which compiles), and
the ratio custom / built-in is printed (target for gazelle: within 1.1x).

    python bench/custom_train_step.py [--samples 19200] [--epochs 4] [--libs gazelle keras]
"""
import argparse
import os
import warnings
import statistics
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import load_average, machine_facts, print_facts  # noqa: E402


def custom_model_class(lib):
    class CustomModel(lib.Sequential):
        def compute_loss_and_updates(self, trainable_variables, non_trainable_variables, x, y,
                                     training=False):
            y_pred, non_trainable_variables = self.stateless_call(
                trainable_variables, non_trainable_variables, x, training=training)
            loss = self.compute_loss(x, y, y_pred)
            return loss, (y_pred, non_trainable_variables)

        def train_step(self, state, data):
            trainable, non_trainable, optimizer_vars, metrics_vars = state
            x, y = data
            grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
            (loss, (y_pred, non_trainable)), grads = grad_fn(trainable, non_trainable, x, y,
                                                             training=True)
            trainable, optimizer_vars = self.optimizer.stateless_apply(optimizer_vars, grads,
                                                                       trainable)
            new_metrics_vars, logs = [], {}
            for metric in self.metrics:
                n = len(metric.variables)
                these = metrics_vars[len(new_metrics_vars):len(new_metrics_vars) + n]
                if metric.name == "loss":
                    these = metric.stateless_update_state(these, loss)
                else:
                    these = metric.stateless_update_state(these, y, y_pred)
                logs[metric.name] = metric.stateless_result(these)
                new_metrics_vars += these
            return logs, (trainable, non_trainable, optimizer_vars, new_metrics_vars)

    return CustomModel


def build(lib, custom):
    cls = custom_model_class(lib) if custom else lib.Sequential
    model = cls([lib.Input(shape=(784,)), lib.layers.Dense(300, activation="relu"),
                 lib.layers.Dense(100, activation="relu"),
                 lib.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd",
                  metrics=["accuracy"])
    return model


def epoch_seconds(lib, custom, x, y, epochs):
    """Seconds between consecutive epoch ends (so work a library leaves in flight at an
    epoch's end is counted in the next one); the first epoch, which compiles, is dropped."""
    ends = []

    class Timer(lib.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            ends.append(time.perf_counter())

    model = build(lib, custom)
    model.fit(x, y, batch_size=32, epochs=epochs, verbose=0, callbacks=[Timer()])
    return [b - a for a, b in zip(ends, ends[1:])]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=19200)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--libs", nargs="+", default=["gazelle", "keras"])
    args = parser.parse_args()
    warnings.simplefilter("ignore")      # gazelle's training doctor: random labels underfit
    print_facts(machine_facts())
    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 784), dtype=np.float32)
    y = rng.integers(0, 10, args.samples)
    print(f"\ntutorial MLP, {args.samples} samples, batch 32, {args.epochs} epochs "
          f"(first dropped); s/epoch median (min); load average {load_average()}")
    print(f"{'library':<10} {'built-in':>16} {'user train_step':>18} {'ratio':>7}")
    for name in args.libs:
        lib = __import__(name)
        builtin = epoch_seconds(lib, False, x, y, args.epochs)
        custom = epoch_seconds(lib, True, x, y, args.epochs)
        ratio = statistics.median(custom) / statistics.median(builtin)
        print(f"{name:<10} {statistics.median(builtin):>8.3f} ({min(builtin):.3f}) "
              f"{statistics.median(custom):>10.3f} ({min(custom):.3f}) {ratio:>7.2f}")
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
