"""Helpers shared by the ops modules: Variable unwrapping, dtype and axis rules. [L0]"""
import jax.numpy as jnp

from gazelle import config
from gazelle.core.variables import Variable, unwrap


def value(x):
    """A Variable's current array; anything else unchanged."""
    return x.value if isinstance(x, Variable) else x


def tensor(x, dtype=None):
    """`x` (array, Variable, scalar, nested list) as a jax array, like Keras's convert_to_tensor."""
    x = value(x)
    if isinstance(x, (list, tuple)):
        x = unwrap(x)
    return jnp.asarray(x, dtype=dtype)


def tensors(xs):
    return [tensor(x) for x in xs]


def is_int_or_bool(dtype):
    return jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.bool_)


def to_float(x):
    """`x` as a tensor; ints and bools become floatx, as Keras does before float math."""
    x = tensor(x)
    return x.astype(config.floatx()) if is_int_or_bool(x.dtype) else x


def axis_arg(axis):
    """Keras accepts lists for axis; jax wants an int or a tuple."""
    return tuple(axis) if isinstance(axis, list) else axis


def data_format_arg(data_format):
    data_format = data_format or config.image_data_format()
    data_format = data_format.lower()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("data_format must be 'channels_last' or 'channels_first', received "
                         f"{data_format!r}.")
    return data_format


# -- ops on Functional-API placeholders ------------------------------------------------
# Keras 3 records an op called on a KerasTensor as a node of the Functional graph. Here the
# layers tier registers a recorder (`set_symbolic_recorder`, from gazelle/layers/op_layer.py,
# so this tier never imports layers); `record_symbolic_calls` wraps every public op so that a
# call with a SymbolicTensor among its arguments goes to that recorder.
_RECORDER = [None]
_NOT_RECORDED = frozenset({"convert_to_numpy", "is_tensor", "custom_gradient", "vectorize"})
_WRAPPERS = {}      # id(original function) -> its wrapper (one wrapper per function)
_WRAPPED = set()    # ids of the wrappers


def set_symbolic_recorder(recorder):
    """Registers `recorder(fn_name, fn, args, kwargs)`: what an op does on placeholders."""
    _RECORDER[0] = recorder


def _has_symbolic(x, depth=0):
    from gazelle.core.symbolic import SymbolicTensor
    if isinstance(x, SymbolicTensor):
        return True
    if depth < 4 and isinstance(x, (list, tuple)):
        return any(_has_symbolic(v, depth + 1) for v in x)
    if depth < 4 and isinstance(x, dict):
        return any(_has_symbolic(v, depth + 1) for v in x.values())
    return False


def _symbolic_aware(name, fn):
    import functools

    from gazelle.core.symbolic import SymbolicTensor

    @functools.wraps(fn)
    def op(*args, **kwargs):
        for a in args:
            if isinstance(a, SymbolicTensor) or (
                    isinstance(a, (list, tuple, dict)) and _has_symbolic(a)):
                break
        else:
            if not kwargs or not _has_symbolic(kwargs):
                return fn(*args, **kwargs)
        if name == "shape":         # Keras 3: the static shape, None for unknown dims
            return tuple(args[0].shape) if args else tuple(kwargs["x"].shape)
        if name == "dtype":
            return (args[0] if args else kwargs["x"]).dtype
        if _RECORDER[0] is None:
            raise TypeError(f"ops.{name} was called on a Functional-API placeholder, but the "
                            "layers are not loaded: `import gazelle.layers` first.")
        return _RECORDER[0](name, fn, args, kwargs)

    return op


def record_symbolic_calls(*namespaces):
    """Wraps the public op functions in each namespace (a module's `vars()` or a module) so
    that they record a Functional-graph node when called on SymbolicTensors."""
    import types
    for space in namespaces:
        space = vars(space) if isinstance(space, types.ModuleType) else space
        for attr, fn in list(space.items()):
            if (attr.startswith("_") or attr in _NOT_RECORDED
                    or not isinstance(fn, types.FunctionType)
                    or not fn.__module__.startswith("gazelle.ops")):
                continue
            if id(fn) in _WRAPPED:
                continue
            wrapper = _WRAPPERS.get(id(fn))
            if wrapper is None:
                wrapper = _WRAPPERS[id(fn)] = _symbolic_aware(fn.__name__, fn)
                _WRAPPED.add(id(wrapper))
            space[attr] = wrapper
