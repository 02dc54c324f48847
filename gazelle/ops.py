"""`keras.ops` for Keras 3 code: names resolve to `jax.numpy` / `jax.nn` functions. [L0]

Variables are unwrapped to their values first, so `ops.matmul(x, self.kernel)` works.
"""
import functools

import jax
import jax.numpy as jnp


def __getattr__(name):
    fn = getattr(jnp, name, None) or getattr(jax.nn, name, None)
    if fn is None or not callable(fn):
        raise AttributeError(f"gazelle.ops has no function {name!r} (looked in jax.numpy "
                             "and jax.nn).")
    from gazelle.core.variables import unwrap

    @functools.wraps(fn)
    def op(*args, **kwargs):
        return fn(*unwrap(args), **unwrap(kwargs))

    globals()[name] = op
    return op
