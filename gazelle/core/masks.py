"""Masks attached to arrays, as Keras 3's `_keras_mask`. [L0: stdlib]

JAX arrays and tracers take no new attributes, so a mask lives in a side table keyed by
the array's `id`, and a `weakref.finalize` on the array removes the entry when the array
goes away (an id is then free for reuse). This works the same for eager arrays, for
tracers inside `jit`/`grad`/`scan`, and for numpy arrays. Layers attach the mask they
compute to their outputs (`Layer.__call__`); the next layer reads it from its input.
The trainer (L4) may read it here too, without importing layers.
"""
import weakref

_MASKS = {}


def _forget(key):
    _MASKS.pop(key, None)


def set_keras_mask(x, mask):
    """Attaches `mask` to `x` (None removes it). Values without weak references are skipped."""
    key = id(x)
    if mask is None:
        _MASKS.pop(key, None)
        return
    try:
        first = key not in _MASKS
        _MASKS[key] = (weakref.ref(x), mask)
        if first:
            weakref.finalize(x, _forget, key)
    except TypeError:          # e.g. Python scalars: they cannot carry a mask
        _MASKS.pop(key, None)


def get_keras_mask(x):
    """The mask attached to `x`, or None."""
    entry = _MASKS.get(id(x))
    if entry is None or entry[0]() is not x:
        return None
    return entry[1]
