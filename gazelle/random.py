"""Seeds: the global seed for weight initialization, and SeedGenerator state. [L0]

`set_random_seed(s)` seeds Python, NumPy and gazelle, so that weight initialization,
shuffling and dropout repeat bit for bit.
"""
import os
import random as _pyrandom

import jax
import jax.numpy as jnp
import numpy as np

from gazelle.core.variables import Variable

_global = {"seed": None, "counter": 0}


def _base_seed():
    if _global["seed"] is None:
        _global["seed"] = int.from_bytes(os.urandom(4), "little") & 0x7FFFFFFF
    return _global["seed"]


def set_random_seed(seed):
    """Sets the seeds of Python's `random`, NumPy and gazelle.

    Args:
        seed: an int.

    ```python
    keras.utils.set_random_seed(42)
    ```
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"set_random_seed: expected an int seed, received {seed!r}.")
    seed = int(seed)
    _pyrandom.seed(seed)
    np.random.seed(seed % (2**32))
    _global["seed"] = seed & 0x7FFFFFFF
    _global["counter"] = 0


def next_seed():
    """Draws a fresh int seed from the global stream (one per draw, deterministic once seeded)."""
    _global["counter"] += 1
    return (_base_seed() * 1000003 + _global["counter"]) & 0x7FFFFFFF


def next_key():
    """Draws a fresh PRNG key from the global stream."""
    return jax.random.key_data(jax.random.key(next_seed()))


def make_key(seed):
    """A raw uint32 PRNG key for `seed` (or a fresh one from the global stream if None)."""
    if seed is None:
        return next_key()
    return jax.random.key_data(jax.random.key(int(seed)))


class SeedGenerator:
    """Random state held as a Variable, so compiled steps advance it purely.

    Args:
        seed: an int, or None to draw one from the global seed.

    ```python
    gen = SeedGenerator(1337)
    key = gen.next()          # a new key on every call
    ```
    """

    def __init__(self, seed=None, name=None):
        self.state = Variable(make_key(seed), dtype="uint32", trainable=False,
                              name=name or "seed_generator_state")

    def next(self):
        key = self.state.value
        new_key, sub = jax.random.split(jax.random.wrap_key_data(key))
        self.state.assign(jax.random.key_data(new_key))
        return sub


def draw_seed(seed):
    """Returns a JAX key from an int, a SeedGenerator or None (global stream)."""
    if isinstance(seed, SeedGenerator):
        return seed.next()
    return jax.random.wrap_key_data(jnp.asarray(make_key(seed)))
