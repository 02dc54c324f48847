"""tf.keras's `keras.backend` (`K`): session reset, settings, and a few array helpers.

`import gazelle.backend as K` covers what courses use: `clear_session`, `floatx`,
`epsilon`, `image_data_format`, and elementwise helpers that map to `jax.numpy`.
"""
import gc

import jax.numpy as jnp

from gazelle.config import epsilon, floatx, image_data_format, set_epsilon, set_floatx  # noqa: F401
from gazelle.config import set_image_data_format  # noqa: F401
from gazelle.core import variables as _variables


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


# ---- dtypes, uids and symbolic tensors (Keras 3's `keras.backend`) ------------------------

_ALLOWED_DTYPES = (
    "float16", "float32", "float64", "uint8", "uint16", "uint32", "uint64", "int8", "int16",
    "int32", "int64", "bfloat16", "bool", "string", "float8_e4m3fn", "float8_e5m2",
    "complex64", "complex128")
_PYTHON_DTYPES = {bool: "bool", int: "int32", float: "float32", str: "string",
                  complex: "complex64", "int": "int32"}


def standardize_dtype(dtype):
    """Returns the canonical string name of `dtype`, as Keras 3 (JAX backend) names it.

    Args:
        dtype: A dtype name, a NumPy/JAX dtype or scalar type, a Python type (`int` is
            `"int32"`, `float` is `"float32"`), or `None` (the default float type).

    ```python
    keras.backend.standardize_dtype(np.float32)  # "float32"
    ```
    """
    if dtype is None:
        return floatx()
    try:
        dtype = _PYTHON_DTYPES.get(dtype, dtype)
    except TypeError:                        # unhashable: not a dtype
        pass
    if hasattr(dtype, "name"):
        dtype = dtype.name
    elif hasattr(dtype, "__name__"):
        dtype = dtype.__name__
    elif "jax.numpy" in str(dtype):
        dtype = str(dtype).split(".")[-1]
    if not isinstance(dtype, str) or dtype not in _ALLOWED_DTYPES:
        raise ValueError(f"Invalid dtype: {dtype!r}. Expected one of {_ALLOWED_DTYPES}, a "
                         "NumPy/JAX dtype or a Python type.")
    return dtype


def is_float_dtype(dtype):
    """Returns whether `dtype` (anything `standardize_dtype` takes) is a float type.

    ```python
    keras.backend.is_float_dtype("bfloat16")  # True
    ```
    """
    return standardize_dtype(dtype).startswith(("float", "bfloat"))


def is_int_dtype(dtype):
    """Returns whether `dtype` (anything `standardize_dtype` takes) is a (u)int type.

    ```python
    keras.backend.is_int_dtype("uint8")  # True
    ```
    """
    return standardize_dtype(dtype).startswith(("int", "uint"))


# The type promotion lattice Keras 3 uses (JAX's): each type -> the types directly above
# it. "int" and "float" are the weak types of Python scalars.
_LATTICE = {
    "bool": ["int"], "int": ["uint8", "int8", "complex64"],
    "uint8": ["int16", "uint16"], "uint16": ["int32", "uint32"],
    "uint32": ["int64", "uint64"], "uint64": ["float"],
    "int8": ["int16"], "int16": ["int32"], "int32": ["int64"], "int64": ["float"],
    "float": ["bfloat16", "float16"], "bfloat16": ["float32"], "float16": ["float32"],
    "float32": ["float64", "complex64"], "float64": ["complex128"],
    "complex64": ["complex128"], "complex128": [],
}


def _above(node):
    seen, todo = {node}, [node]
    while todo:
        for up in _LATTICE[todo.pop()]:
            if up not in seen:
                seen.add(up)
                todo.append(up)
    return seen


_UPPER = {node: _above(node) for node in _LATTICE}


def _join(nodes):
    # The least upper bound of `nodes` on the lattice.
    for n in nodes:
        if n not in _UPPER:
            raise ValueError(f"dtype={n!r} is not a valid dtype for Keras type promotion.")
    common = set.intersection(*(_UPPER[n] for n in nodes))
    least = [c for c in common if common <= _UPPER[c]]
    if len(least) != 1:
        raise ValueError(f"Input dtypes {tuple(nodes)} have no available implicit dtype "
                         "promotion path. Try explicitly casting inputs to the desired "
                         "output type.")
    return least[0]


def _weak(dtype):
    if dtype == "bool":
        return dtype
    for kind in ("float", "int", "complex"):
        if kind in dtype:
            return kind
    raise ValueError(f"Invalid dtype for promotion: {dtype!r}.")


_TO_32_BIT = {"int64": "int32", "uint64": "uint32", "float64": "float32",
              "complex128": "complex64"}


def result_type(*dtypes):
    """Returns the dtype that Keras 3's type promotion rules give for `dtypes`.

    Python `int`/`float` (the types themselves) are weak: they do not widen a typed
    operand. As on Keras's JAX backend, 64-bit results are reported as their 32-bit
    types, and no arguments give the default float type.

    Args:
        *dtypes: Input dtypes (anything `standardize_dtype` takes; `None` is `floatx()`).

    ```python
    keras.backend.result_type("int32", "float16")  # "float16"
    keras.backend.result_type("bfloat16", int)     # "bfloat16"
    ```
    """
    if not dtypes:
        return floatx()
    if any(d in ("float8_e4m3fn", "float8_e5m2") for d in dtypes if isinstance(d, str)):
        raise ValueError("There is no implicit conversions from float8 dtypes to others. "
                         f"You must cast it explicitly. Received: {dtypes}")
    args = [floatx() if d is None else d for d in dtypes]
    names = [standardize_dtype(d) for d in args]
    weak = [d is int or d is float for d in args]
    if len(names) == 1:
        out, out_weak = names[0], weak[0]
    elif len(set(names)) == 1 and not all(weak):
        out, out_weak = names[0], False
    elif all(weak):
        out, out_weak = _join(set(names)), True
    else:
        out = _join({_weak(n) if w else n for n, w in zip(names, weak)})
        out_weak = out in ("int", "float")
    if out != "bool" and out_weak:
        bits = floatx()[-2:]
        kind = "f" if out == "bfloat16" else out[:1]
        out = {"b": "bool", "i": f"int{bits}", "u": f"uint{bits}"}.get(kind, f"float{bits}")
    return _TO_32_BIT.get(out, out)


def is_keras_tensor(x):
    """Returns whether `x` is a symbolic tensor (what `keras.Input` and layers called on
    it return), as opposed to an array with values.

    ```python
    keras.backend.is_keras_tensor(keras.Input((3,)))  # True
    ```
    """
    from gazelle.core.symbolic import SymbolicTensor
    return isinstance(x, SymbolicTensor)


def get_uid(prefix=""):
    """Returns the next integer for `prefix`: 1, 2, 3, ... in a session.

    The counter is the one automatic layer names use (a first `Dense` is `"dense"`,
    so `get_uid("dense")` then returns 2, as in Keras 3); `clear_session()` resets it.

    Args:
        prefix: String prefix to count.

    ```python
    keras.backend.get_uid("block")  # 1
    ```
    """
    from gazelle.core import naming
    naming._counts[prefix] += 1
    return naming._counts[prefix]


class StatelessScope(_variables.StatelessScope):
    """A scope in which Variables read given values and record their updates, unchanged.

    Inside it, reading a Variable listed in `state_mapping` gives the mapped value, and
    `variable.assign(...)` records the new value in the scope instead of changing the
    Variable; read it back with `scope.get_current_value(variable)`. This is how layer code
    runs as a pure function of its weights (Keras 3's `stateless_call` is built on it).

    Args:
        state_mapping: a list of `(variable, value)` pairs. Each value must have its
            variable's shape; it is cast to the variable's dtype.
        collect_losses: Keras collects `add_loss` terms in the scope; gazelle does not
            (use `model.stateless_call(..., return_losses=True)`); only False is accepted.
        initialize_variables: only True (the default) is accepted: gazelle creates a
            Variable's value when the Variable is made.

    ```python
    with keras.StatelessScope(state_mapping=[(layer.kernel, new_kernel)]) as scope:
        y = layer(x)                     # computed with new_kernel
    ```
    """

    def __init__(self, state_mapping=None, collect_losses=False, initialize_variables=True):
        if collect_losses:
            raise NotImplementedError(
                "StatelessScope(collect_losses=True) is not supported by gazelle; use "
                "model.stateless_call(..., return_losses=True) to get the losses of a call.")
        if not initialize_variables:
            raise NotImplementedError(
                "StatelessScope(initialize_variables=False) is not supported by gazelle: a "
                "Variable gets its value when it is created.")
        pairs = []
        for variable, value in (state_mapping or ()):
            if not isinstance(variable, _variables.Variable):
                raise ValueError("StatelessScope: every key of `state_mapping` must be a "
                                 f"keras.Variable; received {type(variable).__name__}.")
            value = jnp.asarray(value, dtype=variable.dtype)
            if tuple(value.shape) != tuple(variable.shape):
                raise ValueError(
                    f"StatelessScope: the value for variable '{variable.name}' has shape "
                    f"{tuple(value.shape)}, but the variable has shape {tuple(variable.shape)}.")
            pairs.append((variable, value))
        super().__init__(pairs)


def device_scope(device_name):
    """A context in which new arrays and computations go to one device (`keras.device`).

    Args:
        device_name: a string such as `"cpu"`, `"cpu:0"` or `"gpu:1"`, or a `jax.Device`.

    ```python
    with keras.device("cpu:0"):
        y = model.predict(x)
    ```
    """
    import jax
    if isinstance(device_name, str):
        kind, _, index = device_name.lower().partition(":")
        try:
            devices = jax.devices(kind)
        except RuntimeError as e:
            raise ValueError(f"keras.device: no {kind!r} device is available here "
                             f"({e}). Available: {[str(d) for d in jax.devices()]}.") from None
        if index and not index.isdigit():
            raise ValueError(f"keras.device: expected a device like 'gpu:0'; received "
                             f"{device_name!r}.")
        number = int(index or 0)
        if number >= len(devices):
            raise ValueError(f"keras.device: {device_name!r} does not exist; there are "
                             f"{len(devices)} {kind} device(s).")
        device = devices[number]
    elif isinstance(device_name, jax.Device):
        device = device_name
    else:
        raise ValueError("keras.device: expected a string like 'gpu:0' or a jax.Device; "
                         f"received {device_name!r}.")
    return jax.default_device(device)
