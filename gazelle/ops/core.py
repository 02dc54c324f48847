"""`keras.ops` core: tensors, casts, control flow, scatter/slice and gradients. [L0]

Thin mappings onto `jax.lax` and `jax.numpy` with Keras 3's signatures. Control-flow ops
(`cond`, `scan`, `while_loop`, ...) take Python callables exactly as in Keras and trace them
with jax. Every tensor argument may be a gazelle Variable.

```python
from gazelle import ops
ops.while_loop(lambda i: i < 10, lambda i: i + 1, 0)     # 10
```
"""
import builtins

import jax
import jax.numpy as jnp
import numpy as np

from gazelle.core.variables import unwrap
from gazelle.ops._common import tensor as _t
from gazelle.ops._common import value as _v


def _standardize_dtype(dtype):
    if dtype is None:
        return None
    if dtype in ("int", int):
        return "int32"
    if dtype in ("float", float):
        return "float32"
    return jnp.dtype(dtype).name


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """Converts `x` (array, Variable, scalar, nested list) to a jax array.

    Args:
        x: the value to convert.
        dtype: target dtype; by default the dtype jax infers (floats give float32).
        sparse: gazelle has no sparse tensors; `True` raises.
        ragged: gazelle has no ragged tensors; `True` raises.

    ```python
    ops.convert_to_tensor([1, 2, 3], dtype="float32")
    ```
    """
    if sparse:
        raise NotImplementedError("convert_to_tensor(sparse=True): gazelle has no sparse tensors; "
                                  "pass sparse=None or False.")
    if ragged:
        raise ValueError("convert_to_tensor(ragged=True) is not supported with the JAX backend.")
    return _t(x, dtype=_standardize_dtype(dtype))


def convert_to_numpy(x):
    """Returns `x` as a NumPy array."""
    return np.array(_v(x))


def is_tensor(x):
    """True for jax arrays (not for Variables, NumPy arrays or Python numbers)."""
    return isinstance(x, jax.Array)


def shape(x):
    """The static shape of `x`, as a tuple."""
    x = _v(x)
    return tuple(x.shape) if hasattr(x, "shape") else tuple(np.shape(x))


def dtype(x):
    """The dtype of `x` as a standardized string, e.g. `"float32"`."""
    x = _v(x)
    return _standardize_dtype(x.dtype if hasattr(x, "dtype") else _t(x).dtype)


def cast(x, dtype):
    """`x` cast to `dtype`."""
    return _t(x).astype(_standardize_dtype(dtype))


def _limits(dtype):
    dtype = jnp.dtype(dtype)
    if dtype == jnp.bool_:
        return 0, 1
    if jnp.issubdtype(dtype, jnp.integer):
        info = jnp.iinfo(dtype)
    else:
        info = jnp.finfo(dtype)
    return info.min, info.max


def saturate_cast(x, dtype):
    """Casts to `dtype`, first clipping values to the range that `dtype` can hold.

    ```python
    ops.saturate_cast(ops.array([-1.0, 300.0]), "uint8")     # [0, 255]
    ```
    """
    x = _t(x)
    dtype = _standardize_dtype(dtype)
    in_dtype = x.dtype
    in_min, in_max = _limits(in_dtype)
    out_min, out_max = _limits(dtype)
    low = np.asarray(np.maximum(in_min, out_min)).astype(in_dtype)
    if low < out_min:
        low = np.nextafter(low, 0, dtype=in_dtype)
    high = np.asarray(np.minimum(in_max, out_max)).astype(in_dtype)
    if high > out_max:
        high = np.nextafter(high, 0, dtype=in_dtype)
    return jnp.clip(x, low, high).astype(dtype)


def stop_gradient(variable):
    """`variable` with its gradient blocked."""
    return jax.lax.stop_gradient(_t(variable))


def unstack(x, num=None, axis=0):
    """Splits `x` along `axis` into a list of arrays."""
    x = _t(x)
    return [jax.lax.index_in_dim(x, i, axis, keepdims=False) for i in range(x.shape[axis])]


# ---- control flow -------------------------------------------------------------------------

def cond(pred, true_fn, false_fn):
    """Runs `true_fn()` if `pred` else `false_fn()` (both traced; outputs must match)."""
    return jax.lax.cond(_t(pred), true_fn, false_fn)


def switch(index, branches, *operands):
    """Runs `branches[index](*operands)` (index clamped to the valid range)."""
    return jax.lax.switch(_t(index), branches, *unwrap(operands))


def while_loop(cond, body, loop_vars, maximum_iterations=None):
    """Runs `loop_vars = body(*loop_vars)` while `cond(*loop_vars)`.

    Args:
        cond: callable returning a boolean scalar.
        body: callable returning new loop variables with the same structure.
        loop_vars: a value or a tuple/list of values.
        maximum_iterations: optional cap on the number of iterations.
    """
    as_tuple = isinstance(loop_vars, (tuple, list))
    state = tuple(unwrap(loop_vars)) if as_tuple else (unwrap(loop_vars),)

    def step(args):
        out = body(*args)
        return tuple(out) if as_tuple else (out,)

    if maximum_iterations is None:
        out = jax.lax.while_loop(lambda a: cond(*a), step, state)
    else:
        out = jax.lax.while_loop(
            lambda a: jnp.logical_and(cond(*a[0]), a[1] < maximum_iterations),
            lambda a: (step(a[0]), a[1] + 1), (state, 0))[0]
    return out if as_tuple else out[0]


def fori_loop(lower, upper, body_fun, init_val):
    """Runs `val = body_fun(i, val)` for i in [lower, upper)."""
    return jax.lax.fori_loop(_v(lower), _v(upper), body_fun, unwrap(init_val))


def scan(f, init, xs=None, length=None, reverse=False, unroll=1):
    """Loops `carry, y = f(carry, x)` over the leading axis of `xs`; returns (carry, ys)."""
    if not isinstance(unroll, bool) and (not isinstance(unroll, int) or unroll < 1):
        raise ValueError(f"scan: `unroll` must be a positive int or a bool, received {unroll!r}.")
    return jax.lax.scan(f, unwrap(init), unwrap(xs), length=length, reverse=reverse,
                        unroll=unroll)


def associative_scan(f, elems, reverse=False, axis=0):
    """Parallel prefix scan of `elems` with the associative binary function `f`."""
    return jax.lax.associative_scan(f, unwrap(elems), reverse=reverse, axis=axis)


def map(f, xs):
    """Applies `f` to each slice of `xs` along its leading axis and stacks the results."""
    return jax.lax.map(f, unwrap(xs))


def vectorized_map(function, elements):
    """`function` mapped over the leading axis of `elements` (jax.vmap)."""
    return jax.vmap(function)(unwrap(elements))


def custom_gradient(f):
    """Decorator: `f` returns `(output, grad_fn)`; `grad_fn(upstream)` gives input gradients.

    ```python
    @ops.custom_gradient
    def log1pexp(x):
        e = ops.exp(x)
        def grad(upstream):
            return ops.multiply(upstream, 1.0 - 1.0 / ops.add(1, e))
        return ops.log(1 + e), grad
    ```
    """
    wrapped = jax.custom_gradient(f)

    def call(*args, **kwargs):
        return wrapped(*unwrap(args), **unwrap(kwargs))

    return call


# ---- scatter and slices -------------------------------------------------------------------

def scatter(indices, values, shape):
    """A zeros array of `shape` with `values` added at `indices` (last axis = coordinates)."""
    values = _t(values)
    indices = _t(indices)
    key = tuple(jnp.moveaxis(indices, -1, 0))
    return jnp.zeros(shape, values.dtype).at[key].add(values)


def scatter_update(inputs, indices, updates, reduction=None):
    """`inputs` with `updates` written (or reduced: add/max/min/mul) at `indices`."""
    inputs = _t(inputs)
    if reduction is not None:
        reduction = reduction.lower()
    key = tuple(jnp.transpose(_t(indices)))
    at = inputs.at[key]
    updates = _t(updates)
    if reduction is None:
        return at.set(updates)
    ops = {"add": at.add, "max": at.max, "min": at.min, "mul": at.multiply}
    if reduction not in ops:
        raise ValueError(f"scatter_update: reduction must be None, 'add', 'max', 'min' or 'mul', "
                         f"received {reduction!r}.")
    return ops[reduction](updates)


def slice(inputs, start_indices, shape):
    """A slice of `inputs` of `shape` starting at `start_indices` (-1 in shape: to the end)."""
    inputs = _t(inputs)
    start_indices = _v(start_indices)
    if isinstance(start_indices, (list, tuple)):
        start_indices = unwrap(start_indices)
    final = tuple(inputs.shape[i] - start_indices[i] if s == -1 else s
                  for i, s in builtins.enumerate(shape))
    return jax.lax.dynamic_slice(inputs, start_indices, final)


def slice_update(inputs, start_indices, updates):
    """`inputs` with `updates` written at `start_indices`."""
    start_indices = _v(start_indices)
    if isinstance(start_indices, (list, tuple)):
        start_indices = unwrap(start_indices)
    return jax.lax.dynamic_update_slice(_t(inputs), _t(updates), start_indices)

