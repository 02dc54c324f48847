"""Shape helpers: standardize user shapes, infer output shapes with jax.eval_shape. [L0]"""
import jax
import numpy as np


def standardize_shape(shape, what="shape"):
    """Returns `shape` as a tuple of ints/None, or raises a ValueError naming `what`."""
    if shape is None:
        raise ValueError(f"{what}: expected a shape tuple, received None.")
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{what}: expected a tuple/list of ints, received {shape!r}.") from None
    out = []
    for d in shape:
        if d is None:
            out.append(None)
        elif isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0:
            out.append(int(d))
        else:
            raise ValueError(
                f"{what}: dimensions must be non-negative ints or None, received {shape!r}.")
    return tuple(out)


def output_shape(fn, input_shapes, dtypes):
    """Output shape(s) of `fn(*inputs)`, with batch-like dimensions reported as None.

    `input_shapes` may contain None; we evaluate at two sizes (2 and 3) and any output
    dimension that changes between them is reported as None. Nothing is computed.
    """
    def concrete(size):
        specs = [jax.ShapeDtypeStruct(tuple(size if d is None else d for d in s), dt)
                 for s, dt in zip(input_shapes, dtypes)]
        return jax.eval_shape(fn, *specs)

    a, b = concrete(2), concrete(3)
    if not any(d is None for s in input_shapes for d in s):
        return jax.tree_util.tree_map(lambda x: tuple(x.shape), a)
    return jax.tree_util.tree_map(
        lambda x, y: tuple(None if p != q else p for p, q in zip(x.shape, y.shape)), a, b)
