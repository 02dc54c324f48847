"""Variable and StatelessScope: mutable state with a pure escape hatch. [L0: jax, numpy]

A Variable holds an array. Inside a `StatelessScope` reads and writes go to the scope
instead, which is how the trainer runs layer code as a pure function under `jit`.
"""
import contextvars

import jax
import jax.numpy as jnp
import numpy as np

from gazelle import config

_SCOPE = contextvars.ContextVar("gazelle_stateless_scope", default=None)
# A callable `(shape, dtype, name)` consulted before a Variable allocates its value; the
# loader installs one (saving/limits.py) so a file cannot make gazelle allocate past a
# budget. None outside loading.
_ALLOCATION_GUARD = contextvars.ContextVar("gazelle_allocation_guard", default=None)


def to_device(value, dtype=None, owned=False):
    """`jnp.asarray(value, dtype)` for any value; a NumPy array or scalar of numbers (or a
    Python number, given a dtype) is converted on the host and placed with `jax.device_put` instead. jnp.asarray stages
    NumPy input through a small XLA program, compiled once per shape and dtype (20-35 ms
    each on a CPU): one per weight shape when a model is built. device_put compiles
    nothing, but on a CPU it may use an aligned NumPy buffer in place, so the value is
    copied first unless `owned` says that nothing else can hold it: a fresh sample that
    owns its memory (not a view of another array)."""
    if dtype is not None and isinstance(value, (bool, int, float)):
        value, owned = np.asarray(value, dtype=jax.dtypes.canonicalize_dtype(dtype)), True
    if isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind in "biuf":
        target = jax.dtypes.canonicalize_dtype(value.dtype if dtype is None else dtype)
        if np.dtype(target).kind in "biuf":
            if owned and value.base is None and value.dtype == target \
                    and value.flags.c_contiguous:
                host = value
            else:
                host = np.array(value, dtype=target, order="C")
            return jax.device_put(host)
    return jnp.asarray(value, dtype=dtype)


class AllocationRefused(ValueError):
    """An allocation guard refused to create an array (a loader budget was exceeded)."""


class allocation_guard:
    """Runs `guard(shape, dtype, name)` before each Variable allocation in this context.

    The guard raises to refuse an allocation; it sees the shape before any memory is
    taken. Used by the loader's size budget.
    """

    def __init__(self, guard):
        self._guard = guard
        self._token = None

    def __enter__(self):
        self._token = _ALLOCATION_GUARD.set(self._guard)
        return self

    def __exit__(self, *exc):
        _ALLOCATION_GUARD.reset(self._token)


def check_allocation(shape, dtype, name):
    """Asks the active allocation guard (if any) whether a `shape`/`dtype` array may be made."""
    guard = _ALLOCATION_GUARD.get()
    if guard is not None:
        guard(tuple(shape), dtype, name)


class StatelessScope:
    """Routes Variable reads/writes to a dict, keyed by variable identity.

    Args:
        state_mapping: iterable of `(variable, value)` pairs to read from.

    ```python
    with StatelessScope([(layer.kernel, k)]) as scope:
        y = layer(x)
    ```
    """

    def __init__(self, state_mapping=()):
        self._values = {id(v): (v, value) for v, value in state_mapping}
        self._token = None

    def get_current_value(self, variable):
        entry = self._values.get(id(variable))
        return None if entry is None else entry[1]

    def add_update(self, variable, value):
        self._values[id(variable)] = (variable, value)

    def __enter__(self):
        self._token = _SCOPE.set(self)
        return self

    def __exit__(self, *exc):
        _SCOPE.reset(self._token)


def get_stateless_scope():
    return _SCOPE.get()


def in_stateless_scope():
    return _SCOPE.get() is not None


def _is_tracer(x):
    return isinstance(x, jax.core.Tracer)


def _standardize_dtype(dtype):
    if dtype is None:
        return config.floatx()
    return jnp.dtype(dtype).name


class Variable:
    """A named, mutable array owned by a layer, metric or optimizer.

    Args:
        initializer: an array-like value, or a callable `(shape, dtype) -> array`.
        shape: the shape, required when `initializer` is callable.
        dtype: the dtype (default `config.floatx()`).
        trainable: whether gradients flow to it during `fit`.
        name: short name, e.g. `"kernel"`.

    ```python
    v = Variable(np.zeros(3), name="bias")
    v.assign(v + 1.0)
    ```
    """

    def __init__(self, initializer, shape=None, dtype=None, trainable=True, name=None,
                 aggregation="mean"):
        self.name = name or "variable"
        self.path = self.name
        self.trainable = trainable
        self.aggregation = aggregation
        self._dtype = _standardize_dtype(dtype)
        if callable(initializer):
            if shape is None:
                raise ValueError(
                    f"Variable '{self.name}': a callable initializer needs `shape=`.")
            check_allocation(shape, self._dtype, self.name)
            value = initializer(tuple(shape), dtype=self._dtype)
        else:
            value = initializer
        value = to_device(value, self._dtype)
        if _is_tracer(value):
            raise ValueError(
                f"Variable '{self.name}' was created while tracing a jitted function. "
                "Create weights in `build()` (or `__init__`), not in `call()`.")
        self._shape = tuple(value.shape)
        self._value = value

    # -- value -------------------------------------------------------------------
    @property
    def value(self):
        scope = _SCOPE.get()
        if scope is not None:
            v = scope.get_current_value(self)
            if v is not None:
                return v
        return self._value

    def assign(self, value):
        value = to_device(value, self._dtype)
        if tuple(value.shape) != self._shape:
            raise ValueError(
                f"Variable '{self.path}' has shape {self._shape}; cannot assign a value "
                f"of shape {tuple(value.shape)}.")
        scope = _SCOPE.get()
        if scope is not None:
            scope.add_update(self, value)
        elif _is_tracer(value):
            raise ValueError(
                f"Cannot assign a traced value to Variable '{self.path}' outside a "
                "StatelessScope. Inside jit, run the layer through `stateless_call`.")
        else:
            self._value = value
        return value

    def assign_add(self, delta):
        return self.assign(self.value + delta)

    def assign_sub(self, delta):
        return self.assign(self.value - delta)

    def numpy(self):
        return np.asarray(self.value)

    @property
    def shape(self):
        return self._shape

    @property
    def dtype(self):
        return self._dtype

    @property
    def ndim(self):
        return len(self._shape)

    def __array__(self, dtype=None, copy=None):
        a = np.asarray(self.value)
        return a.astype(dtype) if dtype is not None else a

    def __repr__(self):
        return (f"<Variable path={self.path}, shape={self._shape}, dtype={self._dtype}, "
                f"value={np.asarray(self._value) if not _is_tracer(self._value) else '<traced>'}>")

    def __len__(self):
        return self._shape[0]

    def __getitem__(self, idx):
        return self.value[idx]

    def __float__(self):
        return float(self.value)

    def __int__(self):
        return int(self.value)

    def __bool__(self):
        return bool(self.value)

    def __hash__(self):
        return id(self)

    # Arithmetic: Variables behave like their value in expressions (`x @ self.kernel`).
    def __neg__(self): return -self.value
    def __pos__(self): return self.value
    def __abs__(self): return jnp.abs(self.value)
    def __add__(self, o): return jnp.add(self.value, _v(o))
    def __radd__(self, o): return jnp.add(_v(o), self.value)
    def __sub__(self, o): return jnp.subtract(self.value, _v(o))
    def __rsub__(self, o): return jnp.subtract(_v(o), self.value)
    def __mul__(self, o): return jnp.multiply(self.value, _v(o))
    def __rmul__(self, o): return jnp.multiply(_v(o), self.value)
    def __truediv__(self, o): return jnp.true_divide(self.value, _v(o))
    def __rtruediv__(self, o): return jnp.true_divide(_v(o), self.value)
    def __floordiv__(self, o): return jnp.floor_divide(self.value, _v(o))
    def __rfloordiv__(self, o): return jnp.floor_divide(_v(o), self.value)
    def __mod__(self, o): return jnp.mod(self.value, _v(o))
    def __rmod__(self, o): return jnp.mod(_v(o), self.value)
    def __pow__(self, o): return jnp.power(self.value, _v(o))
    def __rpow__(self, o): return jnp.power(_v(o), self.value)
    def __matmul__(self, o): return jnp.matmul(self.value, _v(o))
    def __rmatmul__(self, o): return jnp.matmul(_v(o), self.value)
    def __lt__(self, o): return jnp.less(self.value, _v(o))
    def __le__(self, o): return jnp.less_equal(self.value, _v(o))
    def __gt__(self, o): return jnp.greater(self.value, _v(o))
    def __ge__(self, o): return jnp.greater_equal(self.value, _v(o))

    @property
    def T(self):
        return self.value.T


def _v(x):
    return x.value if isinstance(x, Variable) else x


def unwrap(tree):
    """Replaces every Variable in a pytree with its current value."""
    return jax.tree_util.tree_map(_v, tree, is_leaf=lambda x: isinstance(x, Variable))
