"""tf.keras's `keras.backend` (`K`): session reset, settings, and a few array helpers.

`import gazelle.backend as K` covers what courses use: `clear_session`, `floatx`,
`epsilon`, `image_data_format`, and elementwise helpers that map to `jax.numpy`.
"""
import gc

import jax.numpy as jnp

from gazelle.config import epsilon, floatx, image_data_format, set_epsilon, set_floatx  # noqa: F401
from gazelle.config import set_image_data_format  # noqa: F401


def clear_session(free_memory=True):
    """Resets the automatic layer names (`dense`, `dense_1`, ...) and frees memory.

    Models no longer referenced are collected with their compiled programs, JAX's
    tracing and compilation caches are cleared, and the C allocator is asked to hand
    freed heap back to the system (`malloc_trim`, where glibc has it), so a session that
    built many models returns to about the memory it started with.

    Args:
        free_memory: whether to collect garbage and clear the caches. Defaults to `True`.

    ```python
    keras.backend.clear_session()
    keras.layers.Dense(3).name      # 'dense' again
    ```
    """
    from gazelle.core import naming
    naming.reset()
    if not free_memory:
        return
    gc.collect()
    import jax
    jax.clear_caches()
    gc.collect()
    _malloc_trim()


def _malloc_trim():
    """Asks glibc to return freed heap to the system; a no-op where there is no glibc."""
    import ctypes
    import ctypes.util
    import sys
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.malloc_trim(0))
    except (OSError, AttributeError):
        return False                # musl and others have no malloc_trim


def backend():
    """The name of the compute engine: `"jax"`."""
    return "jax"


def square(x):
    return jnp.square(x)


def sqrt(x):
    return jnp.sqrt(x)


def mean(x, axis=None, keepdims=False):
    return jnp.mean(x, axis=axis, keepdims=keepdims)


def sum(x, axis=None, keepdims=False):  # noqa: A001 - Keras's name
    return jnp.sum(x, axis=axis, keepdims=keepdims)


def abs(x):  # noqa: A001 - Keras's name
    return jnp.abs(x)


def exp(x):
    return jnp.exp(x)


def log(x):
    return jnp.log(x)


def get_value(x):
    """Returns the value of a Variable (or array) as numpy (tf.keras's `K.get_value`)."""
    import numpy as np
    return np.asarray(getattr(x, "value", x))


def set_value(x, value):
    """Assigns `value` to Variable `x` (tf.keras's `K.set_value(model.optimizer.lr, 1e-3)`)."""
    if not hasattr(x, "assign"):
        raise TypeError(f"set_value: expected a Variable, received {type(x).__name__}.")
    x.assign(value)
