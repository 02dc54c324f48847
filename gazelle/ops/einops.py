"""`keras.ops.rearrange`: einops-style axis rearrangement (reshape + transpose). [L0]

```python
from gazelle import ops
ops.rearrange(x, "b h w c -> b (h w) c")            # flatten the spatial axes
ops.rearrange(x, "b (h w) c -> b h w c", h=4)       # and back
```
"""
import math
import re

import jax.numpy as jnp

from gazelle.ops._common import tensor as _t

_TOKEN = re.compile(r"\(([^()]*)\)|([^\s()]+)")


def _groups(side, pattern):
    if re.sub(_TOKEN, "", side).strip():
        raise ValueError(f"rearrange: cannot parse {side!r} in pattern {pattern!r}.")
    return [group.split() if name == "" else [name] for group, name in _TOKEN.findall(side)]


def rearrange(tensor, pattern, **axes_lengths):
    """Reorders, merges and splits axes as described by an einops pattern.

    Args:
        tensor: the input tensor.
        pattern: `"input axes -> output axes"`; names are axes, parentheses merge (on the
            right) or split (on the left) them.
        **axes_lengths: sizes of split axes that cannot be inferred, e.g. `h=4`.

    ```python
    ops.rearrange(ops.ones((2, 3, 4)), "a b c -> c (a b)").shape   # (4, 6)
    ```
    """
    x = _t(tensor)
    if pattern.count("->") != 1:
        raise ValueError(f"rearrange: the pattern must contain one '->', received {pattern!r}.")
    left, right = pattern.split("->")
    inputs, outputs = _groups(left, pattern), _groups(right, pattern)
    if len(inputs) != x.ndim:
        raise ValueError(f"rearrange: the pattern's left side names {len(inputs)} axes, but the "
                         f"tensor has shape {x.shape}.")
    sizes = dict(axes_lengths)
    for group, dim in zip(inputs, x.shape):
        unknown = [n for n in group if n not in sizes]
        if len(unknown) > 1:
            raise ValueError(f"rearrange: cannot infer the sizes of {unknown} in {pattern!r}; "
                             "pass all but one of them as keyword arguments.")
        known = math.prod(sizes[n] for n in group if n in sizes)
        if unknown:
            sizes[unknown[0]] = dim // known
        if math.prod(sizes[n] for n in group) != dim:
            raise ValueError(f"rearrange: the axes {group} of {pattern!r} do not multiply to "
                             f"the tensor's size {dim}.")
    flat_in = [n for g in inputs for n in g]
    flat_out = [n for g in outputs for n in g]
    if sorted(flat_in) != sorted(flat_out) or len(set(flat_in)) != len(flat_in):
        raise ValueError(f"rearrange: both sides of {pattern!r} must name the same axes, each "
                         "once.")
    x = jnp.reshape(x, [sizes[n] for n in flat_in])
    x = jnp.transpose(x, [flat_in.index(n) for n in flat_out])
    return jnp.reshape(x, [math.prod(sizes[n] for n in g) for g in outputs])
