"""`keras.random`: seeds, SeedGenerator state and random draws. [L0: jax, numpy, gazelle.core, gazelle.config]

`set_random_seed(s)` seeds Python, NumPy and gazelle, so that weight initialization,
shuffling and dropout repeat bit for bit. The draws (`normal`, `uniform`, ...) take Keras
3's signatures; their `seed` is an int (the same int gives the same draw, equal bit for bit
to Keras 3's JAX backend), a `SeedGenerator` (a new draw per call; the stream differs from
Keras's), or None (the global stream, seeded by `set_random_seed`).

```python
keras.random.normal((2, 3), seed=1)              # the same values on every call
gen = keras.random.SeedGenerator(42)
keras.random.dropout(x, rate=0.5, seed=gen)      # a new mask on every call
```
"""
import os
import random as _pyrandom

import jax
import jax.numpy as jnp
import numpy as np

from gazelle import config
from gazelle.core.variables import Variable, unwrap

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
    """Returns a JAX key from an int, a SeedGenerator, a key array or None (global stream).

    An int seed gives the key Keras 3 uses for it (`[seed, 0]`), so draws with int seeds
    equal Keras's bit for bit.
    """
    if isinstance(seed, SeedGenerator):
        return seed.next()
    if seed is None:
        return jax.random.wrap_key_data(jnp.asarray(next_key()))
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return jax.random.wrap_key_data(jnp.asarray([int(seed) & 0xFFFFFFFF, 0], "uint32"))
    if isinstance(seed, jax.Array):
        return seed if jnp.issubdtype(seed.dtype, jax.dtypes.prng_key) else \
            jax.random.wrap_key_data(seed.astype("uint32"))
    raise ValueError("`seed` must be an int, a SeedGenerator or None, received "
                     f"{seed!r} of type {type(seed).__name__}.")


def _float_dtype(dtype):
    dtype = jnp.dtype(dtype or config.floatx())
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"Expected a float dtype, received {dtype.name}.")
    return dtype


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Draws from a normal distribution.

    Args:
        shape: output shape.
        mean: mean of the distribution.
        stddev: standard deviation.
        dtype: a float dtype (default floatx).
        seed: an int, a SeedGenerator, or None (the global stream).

    ```python
    keras.random.normal((2, 3), mean=1.0, stddev=0.5, seed=7)
    ```
    """
    key = draw_seed(seed)
    return jax.random.normal(key, shape=tuple(shape), dtype=_float_dtype(dtype)) * stddev + mean


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Draws uniformly from [minval, maxval) (a float dtype; default floatx).

    ```python
    keras.random.uniform((4,), minval=-1.0, maxval=1.0, seed=3)
    ```
    """
    return jax.random.uniform(draw_seed(seed), shape=tuple(shape), dtype=_float_dtype(dtype),
                              minval=unwrap(minval), maxval=unwrap(maxval))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Draws from a normal distribution cut at two standard deviations from the mean.

    ```python
    keras.random.truncated_normal((3, 3), stddev=0.1, seed=0)
    ```
    """
    sample = jax.random.truncated_normal(draw_seed(seed), -2.0, 2.0, shape=tuple(shape),
                                         dtype=_float_dtype(dtype))
    return sample * stddev + mean


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Draws integers uniformly from [minval, maxval).

    ```python
    keras.random.randint((5,), 0, 10, seed=1)
    ```
    """
    dtype = jnp.dtype(dtype)
    if not jnp.issubdtype(dtype, jnp.integer):
        raise ValueError(f"randint: expected an integer dtype, received {dtype.name}.")
    return jax.random.randint(draw_seed(seed), shape=tuple(shape), minval=unwrap(minval),
                              maxval=unwrap(maxval), dtype=dtype)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """Draws class ids from unnormalized log-probabilities `(batch, classes)`.

    Returns `(batch, num_samples)` ids.

    ```python
    keras.random.categorical([[0.0, 2.0, 1.0]], num_samples=4, seed=0)
    ```
    """
    logits = jnp.asarray(unwrap(logits))
    if logits.ndim != 2:
        raise ValueError(f"categorical: `logits` must be 2-D (batch, classes), received shape "
                         f"{logits.shape}.")
    shape = (logits.shape[0], num_samples)
    out = jax.random.categorical(draw_seed(seed), logits[..., None], shape=shape, axis=1)
    return out.astype(dtype)


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zeros entries with probability `rate` and scales the rest by 1 / (1 - rate).

    Args:
        inputs: a tensor.
        rate: the drop probability, in [0, 1].
        noise_shape: shape of the keep/drop mask, broadcast over `inputs` (None entries take
            the input's size).
        seed: an int, a SeedGenerator, or None.

    ```python
    keras.random.dropout(x, rate=0.2, seed=keras.random.SeedGenerator(1))
    ```
    """
    inputs = jnp.asarray(unwrap(inputs))
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"dropout: `rate` must be in [0, 1], received {rate}.")
    if rate == 1.0:
        return jnp.zeros_like(inputs)
    if rate == 0.0:
        return inputs
    shape = inputs.shape if noise_shape is None else tuple(
        inputs.shape[i] if d is None else d for i, d in enumerate(noise_shape))
    keep = 1.0 - rate
    mask = jnp.broadcast_to(jax.random.bernoulli(draw_seed(seed), p=keep, shape=shape),
                            inputs.shape)
    return jax.lax.select(mask, inputs / keep, jnp.zeros_like(inputs))


def shuffle(x, axis=0, seed=None):
    """Shuffles `x` along `axis`.

    ```python
    keras.random.shuffle(keras.ops.arange(10), seed=0)
    ```
    """
    return jax.random.permutation(draw_seed(seed), jnp.asarray(unwrap(x)), axis,
                                  independent=True)


def gamma(shape, alpha, dtype=None, seed=None):
    """Draws from a gamma distribution with concentration `alpha` (scale 1).

    ```python
    keras.random.gamma((100,), alpha=2.0, seed=0)
    ```
    """
    return jax.random.gamma(draw_seed(seed), unwrap(alpha), shape=tuple(shape),
                            dtype=_float_dtype(dtype))


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Draws successes out of `counts` trials with success `probabilities` (a float dtype).

    ```python
    keras.random.binomial((5,), counts=10, probabilities=0.3, seed=0)
    ```
    """
    return jax.random.binomial(draw_seed(seed), jnp.asarray(unwrap(counts)),
                               jnp.asarray(unwrap(probabilities)), shape=tuple(shape),
                               dtype=_float_dtype(dtype))


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Draws from a beta distribution with concentrations `alpha` and `beta`.

    ```python
    keras.random.beta((5,), alpha=2.0, beta=5.0, seed=0)
    ```
    """
    return jax.random.beta(draw_seed(seed), jnp.asarray(unwrap(alpha)),
                           jnp.asarray(unwrap(beta)), shape=tuple(shape),
                           dtype=_float_dtype(dtype))
