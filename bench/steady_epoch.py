"""Steady seconds per epoch inside one `fit(epochs=N)` call (the way the tutorial trains),
for gazelle and a hand-written JAX lax.scan epoch, on the tutorial MLP, interleaved in
one process. seed_mlp.py calls fit(epochs=1) per round, so its gazelle figure also
carries fit's fixed costs (copying the training set to the device, about 0.17 s here);
this script separates them: per-epoch time after the first epoch, and the whole call.

    python bench/steady_epoch.py [--batch-size 32] [--epochs 5] [--rounds 2]
"""
import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    import jax
    import jax.numpy as jnp
    import gazelle as keras
    import seed_mlp
    x, y = seed_mlp.load_data()
    bs, n = args.batch_size, len(x)
    steps = n // bs

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(300, activation="relu"),
                              keras.layers.Dense(100, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy",
                  optimizer=keras.optimizers.SGD(learning_rate=0.01), metrics=["accuracy"])
    marks = []
    cb = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, l: marks.append(time.perf_counter()))

    # hand-written: the same network, one jitted lax.scan per epoch, data resident
    rng = np.random.default_rng(0)

    def init(i, o):
        lim = np.sqrt(6 / (i + o))
        return jnp.asarray(rng.uniform(-lim, lim, (i, o)).astype("float32")), jnp.zeros(o)
    params = [init(784, 300), init(300, 100), init(100, 10)]
    xd, yd = jax.device_put(x.reshape(n, -1)), jax.device_put(y)

    def loss_fn(p, xb, yb):
        h = xb
        for i, (w, b) in enumerate(p):
            h = h @ w + b
            h = jax.nn.relu(h) if i < 2 else jax.nn.log_softmax(h)
        return -jnp.mean(jnp.take_along_axis(h, yb[:, None], 1))

    @jax.jit
    def epoch(p, key):
        order = jax.random.permutation(key, n)[:steps * bs].reshape(steps, bs)

        def body(p, idx):
            loss, g = jax.value_and_grad(loss_fn)(p, xd[idx], yd[idx])
            return jax.tree_util.tree_map(lambda a, b: a - 0.01 * b, p, g), loss
        return jax.lax.scan(body, p, order)

    results = {"gazelle per epoch": [], "gazelle whole fit call": [], "hand-written JAX": []}
    for r in range(args.rounds):
        marks.clear()
        start = time.perf_counter()
        model.fit(x, y, batch_size=bs, epochs=args.epochs, verbose=0, callbacks=[cb])
        end = time.perf_counter()
        per = np.diff(marks)                   # epochs 2..N: no compile, no data copy
        results["gazelle per epoch"].extend(per.tolist())
        results["gazelle whole fit call"].append((end - start) / args.epochs)
        key = jax.random.key(r)
        p = params
        p, _ = epoch(p, key)                   # warm-up / compile
        jax.block_until_ready(p)
        for e in range(args.epochs - 1):
            t = time.perf_counter()
            p, losses = epoch(p, jax.random.fold_in(key, e))
            jax.block_until_ready(losses)
            results["hand-written JAX"].append(time.perf_counter() - t)
    print(f"tutorial MLP, batch {bs}, {n:,} samples, {args.rounds} rounds of fit(epochs="
          f"{args.epochs})")
    print("| measure | min s/epoch | median s/epoch |\n|---|---:|---:|")
    for name, ts in results.items():
        print(f"| {name} | {min(ts):.3f} | {statistics.median(ts):.3f} |")
    g = statistics.median(results["gazelle per epoch"])
    h = statistics.median(results["hand-written JAX"])
    print(f"\ngazelle per epoch / hand-written JAX (medians): {g / h:.2f}x")


if __name__ == "__main__":
    main()
