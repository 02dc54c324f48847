"""The loader's resource limits, in one place, for every entry point. [side: stdlib, numpy,
gazelle.core, gazelle.config]

A model file is data that asks for memory: a config names layer sizes, and the weights
member names array shapes. Every loading function (`load_model`, `model_from_json`,
`model_from_config`, `load_weights`, tf.keras 2 `.h5`) goes through these limits:

- a weights budget: each Variable the load creates is sized from its shape before any
  memory is taken (`core.variables.allocation_guard`), and the running total may not pass
  the budget. For a file with weights the budget is what the file holds plus a margin
  (a 3 KB file cannot ask for gigabytes); without weights it is the global cap,
  `keras.config.set_max_weights_bytes` (default 2 GiB), or the caller's
  `max_weights_bytes=`.
- a depth limit on JSON and configs, checked without recursion before anything recursive
  touches them.
- every allocation failure a file causes ends as a `ValueError`.
"""
import contextlib
import json
import math

import numpy as np

from gazelle import config as gconfig
from gazelle.core.variables import AllocationRefused, allocation_guard

# Deepest nesting of lists/dicts accepted in a config (a Keras model nests about 8 levels,
# plus about 6 for each model nested inside another).
MAX_CONFIG_DEPTH = 200
# Room in a weights budget for what a file's size does not cover: HDF5 bookkeeping on the
# reading side, and variables a loader creates that the file need not hold (optimizer slots
# before they are restored, metric accumulators).
MARGIN_BYTES = 16 * 2**20
# HDF5 bookkeeping per stored array and per group (measured: about 1.5 KiB per small
# dataset in a file h5py writes), with room to spare.
H5_OVERHEAD_BYTES = 8 * 2**10
# Optimizer slots are built from the model (Adam: 2 per weight) before the file's values
# are read into them, so a file's budget covers that many times what it holds.
SLOT_FACTOR = 3


def _fmt(n):
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def nbytes(shape, dtype):
    """Bytes of an array of `shape` and `dtype`, from the shape alone (Python ints)."""
    return math.prod(int(d) for d in shape) * np.dtype(dtype).itemsize


def global_cap(max_weights_bytes=None):
    """The caller's limit, else `keras.config.max_weights_bytes()`, checked."""
    value = gconfig.max_weights_bytes() if max_weights_bytes is None else max_weights_bytes
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"`max_weights_bytes` must be a positive int (bytes); received "
                         f"{value!r}.")
    return int(value)


def file_budget(weights_bytes, max_weights_bytes=None):
    """The budget for a file that holds `weights_bytes` of weights (None: no weights)."""
    cap = global_cap(max_weights_bytes)
    if weights_bytes is None or max_weights_bytes is not None:
        return cap
    return min(cap, SLOT_FACTOR * int(weights_bytes) + MARGIN_BYTES)


class Budget:
    """Counts the bytes of Variables created while it is active; refuses past `limit`."""

    def __init__(self, limit, source):
        self.limit = int(limit)
        self.source = source
        self.used = 0

    def __call__(self, shape, dtype, name):
        size = nbytes(shape, dtype)
        if self.used + size > self.limit:
            raise AllocationRefused(
                f"weight '{name}' of shape {tuple(shape)} ({np.dtype(dtype).name}) needs "
                f"{_fmt(size)}, which would bring the weights built from {self.source} to "
                f"{_fmt(self.used + size)}, past the loader's budget of {_fmt(self.limit)}. "
                "If the model is really this large and the file is trusted, raise the limit "
                "with `max_weights_bytes=` or `keras.config.set_max_weights_bytes()`.")
        self.used += size


@contextlib.contextmanager
def budget(limit, source):
    """Context in which Variable creation is counted against `limit` bytes."""
    counter = Budget(limit, source)
    with allocation_guard(counter):
        yield counter


def check_depth(value, what, limit=None):
    """Raises ValueError if lists/dicts in `value` nest deeper than `limit` (no recursion)."""
    limit = MAX_CONFIG_DEPTH if limit is None else limit
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > limit:
            raise ValueError(f"{what} nests lists/dicts more than {limit} levels deep; a "
                             "model config never needs that many. Refused.")
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list, tuple)))
    return value


def parse_json(text, what):
    """`json.loads(text)` with the depth limit; every failure is a ValueError naming `what`."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"{what} is not UTF-8 text ({e}).") from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"{what} nests lists/dicts more than {MAX_CONFIG_DEPTH} levels "
                         "deep; a model config never needs that many. Refused.") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{what} is not valid JSON ({e}).") from None
    return check_depth(value, what)


def as_value_error(error, what):
    """The ValueError a file's allocation failure becomes (None if `error` is another kind)."""
    if isinstance(error, MemoryError):
        return ValueError(f"{what}: building the model ran out of memory ({error or 'no detail'}"
                          "); the file asks for more than this machine has. Refused.")
    text = str(error)
    if "RESOURCE_EXHAUSTED" in text or "Out of memory" in text:
        return ValueError(f"{what}: building the model ran out of device memory "
                          f"({text[:200]}). Refused.")
    return None


def weights_member_limit(variables, layers_count):
    """How many bytes a weights file for these variables may inflate to: their values,
    optimizer slots for each (Keras's optimizers keep at most 3), HDF5 bookkeeping."""
    variables = list(variables)
    size = sum(nbytes(v.shape, v.dtype) for v in variables)
    per_copy = size + H5_OVERHEAD_BYTES * len(variables)
    return (SLOT_FACTOR + 1) * per_copy + H5_OVERHEAD_BYTES * layers_count + MARGIN_BYTES
