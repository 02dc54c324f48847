"""Max pooling forward + backward: XLA's reduce_window (select-and-scatter gradient) against
gazelle's tiled path (reshape + max, gradient to each window's first maximum), inside a
jitted lax.scan of 20 steps as the trainer runs them. Shapes of the W2 convnet at batch 128.

    python bench/pooling.py [--steps 20]
"""
import argparse
import os
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from gazelle.layers import pooling  # noqa: E402


def reduce_window(x):
    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def tiled(x):
    return pooling._tiled_pool(x, ((1, 2), (2, 2)), "max")


def per_step(fn, xs):
    def body(c, xi):
        y, vjp = jax.vjp(fn, xi)
        g, = vjp(jnp.ones_like(y) * c)
        return c + g.sum() * 1e-9, None
    run = jax.jit(lambda xs: jax.lax.scan(body, jnp.float32(1.0), xs)[0])
    run(xs).block_until_ready()
    ts = []
    for _ in range(5):
        t = time.perf_counter()
        run(xs).block_until_ready()
        ts.append((time.perf_counter() - t) / xs.shape[0])
    return min(ts)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    print(f"device: {jax.devices()[0].device_kind}; jax {jax.__version__}")
    print("| shape | reduce_window ms/step | tiled ms/step | ratio |\n|---|---:|---:|---:|")
    for shape in [(128, 26, 26, 32), (128, 11, 11, 64)]:
        xs = jnp.asarray(np.random.default_rng(0).random((args.steps,) + shape, np.float32))
        a, b = per_step(reduce_window, xs), per_step(tiled, xs)
        print(f"| {shape} | {a * 1e3:.3f} | {b * 1e3:.3f} | {a / b:.2f}x |")


if __name__ == "__main__":
    main()
