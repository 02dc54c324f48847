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
