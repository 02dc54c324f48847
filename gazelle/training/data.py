"""Input data for fit/evaluate/predict: standardize, validate, split, weight. [L4]

Host-side numpy only: every check here runs before anything is compiled, so bad input
gets a clear ValueError/TypeError instead of an XLA trace.
"""
import functools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import jax

# XLA's CPU client uses a host array in place, without copying it, when the array starts
# on a 64-byte boundary; numpy's own large allocations start 16 bytes past one.
ALIGNMENT = 64


def aligned_empty(shape, dtype):
    """An uninitialized C-contiguous array whose data starts on an ALIGNMENT boundary."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    return raw[start:start + nbytes].view(dtype).reshape(shape)


def aligned_copy(a, dtype=None):
    """`a` as `dtype` in an aligned buffer (one pass: conversion and copy together)."""
    out = aligned_empty(a.shape, a.dtype if dtype is None else dtype)
    if out.ndim == 0:
        np.copyto(out, a, casting="unsafe")
    else:
        _by_rows(lambda i, j: np.copyto(out[i:j], a[i:j], casting="unsafe"), a)
    return out


@functools.lru_cache(maxsize=1)
def _host_pool():
    return ThreadPoolExecutor(_host_threads(), thread_name_prefix="gazelle-host")


def _host_threads():
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def _by_rows(fn, a, min_bytes=16 << 20):
    """fn(i, j) over row ranges covering `a`, on several threads for a large array (numpy
    releases the GIL while it copies and reduces): one pass over a 172 MB training set
    takes about half the time on 2 cores. Returns the results in order."""
    threads = _host_threads()
    if a.nbytes < min_bytes or threads < 2 or len(a) < threads:
        return [fn(0, len(a))]
    bounds = np.linspace(0, len(a), threads + 1).astype(int).tolist()
    return list(_host_pool().map(fn, bounds[:-1], bounds[1:]))


def _to_numpy(a, what):
    if a is None:
        return None
    if hasattr(a, "to_numpy") and not isinstance(a, np.ndarray):   # pandas
        a = a.to_numpy()
    if isinstance(a, dict):
        return {k: _to_numpy(v, f"{what}[{k!r}]") for k, v in a.items()}
    if isinstance(a, (list, tuple)) and a and all(
            isinstance(e, (np.ndarray, jax.Array)) or hasattr(e, "to_numpy") for e in a):
        return tuple(_to_numpy(e, f"{what}[{i}]") for i, e in enumerate(a))
    if isinstance(a, jax.Array):
        return a
    if isinstance(a, np.memmap):
        # Left on disk: fit streams memmaps in blocks, converting dtypes and checking for
        # NaN block by block (reading the whole file here would load it into memory).
        if a.dtype.kind not in "biuf":
            raise TypeError(f"`{what}` must hold numbers; received dtype {a.dtype}.")
        return a
    try:
        arr = np.asarray(a)
    except Exception as e:  # ragged lists and the like
        raise TypeError(f"`{what}` could not be converted to an array: {e}") from None
    if arr.dtype == object:
        raise TypeError(
            f"`{what}` must be a numeric array (or a list/dict of arrays); received an array "
            f"of Python objects with shape {arr.shape}.")
    if arr.dtype.kind not in "biuf":
        hint = ""
        if arr.dtype.kind in "USO" and what.lstrip("`").startswith("y"):
            hint = (" To train on string labels, encode them as integers first: "
                    "`sklearn.preprocessing.LabelEncoder().fit_transform(y)`, or "
                    "`keras.layers.StringLookup` in a preprocessing step.")
        elif arr.dtype.kind in "US":
            hint = (" Text must become numbers before a model sees it: e.g. "
                    "`keras.layers.TextVectorization` or a tokenizer, in preprocessing.")
        raise TypeError(f"`{what}` must hold numbers; received dtype {arr.dtype}.{hint}")
    if arr.dtype == np.float64:
        arr = aligned_copy(arr, np.float32)
    elif arr.dtype == np.int64:
        arr = aligned_copy(arr, np.int32)
    return arr


def _leaves(tree):
    return jax.tree_util.tree_leaves(tree)


def num_samples(tree, what):
    lengths = set()
    for leaf in _leaves(tree):
        if leaf.ndim == 0:
            raise ValueError(f"`{what}` must have a batch dimension; received a scalar.")
        lengths.add(int(leaf.shape[0]))
    if len(lengths) > 1:
        raise ValueError(f"All arrays in `{what}` must have the same length; received lengths "
                         f"{sorted(lengths)}.")
    return lengths.pop() if lengths else 0


def standardize(x, y=None, sample_weight=None, *, what="fit", need_y=True):
    """Returns `((x, y, sample_weight), n)` as numpy pytrees, after the basic checks."""
    if x is None:
        raise ValueError(f"`{what}()` needs input data `x`; received None.")
    x = _to_numpy(x, "x")
    y = _to_numpy(y, "y")
    sample_weight = _to_numpy(sample_weight, "sample_weight")
    n = num_samples(x, "x")
    if n == 0:
        raise ValueError(f"`{what}()` received empty input: x has 0 samples.")
    if need_y and y is None:
        raise ValueError(f"`{what}()` needs targets `y` to compute the loss; received y=None.")
    if y is not None:
        ny = num_samples(y, "y")
        if ny != n:
            raise ValueError(
                f"Data cardinality is ambiguous: x has {n} samples but y has {ny} samples. "
                "Make sure all arrays contain the same number of samples.")
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, np.float32)
        if sample_weight.shape[:1] != (n,):
            raise ValueError(f"`sample_weight` must have shape ({n},); received "
                             f"{sample_weight.shape}.")
    for name, tree in (("x", x), ("y", y)):
        for leaf in _leaves(tree):
            if isinstance(leaf, np.ndarray) and not isinstance(leaf, np.memmap) and \
                    leaf.dtype.kind == "f" and not _all_finite(leaf):
                bad = int(np.size(leaf) - np.isfinite(leaf).sum())
                raise ValueError(
                    f"`{name}` contains {bad} NaN or infinite value(s). Remove or impute them "
                    "before training (e.g. np.nan_to_num or sklearn's SimpleImputer).")
    return (x, y, sample_weight), n


def _all_finite(a):
    """True if `a` holds no NaN or infinity: min and max propagate NaN and show +-inf, and
    cost about half of np.isfinite(a).all() (no boolean array)."""
    def finite(b):
        return b.size == 0 or bool(np.isfinite(np.min(b)) and np.isfinite(np.max(b)))
    if a.ndim == 0:
        return finite(a)
    return all(_by_rows(lambda i, j: finite(a[i:j]), a))


def split_validation(data, n, validation_split):
    """Keras's rule: the last `validation_split` fraction (not shuffled) is validation."""
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(f"`validation_split` must be in [0, 1); received {validation_split}.")
    split_at = int(n * (1.0 - validation_split))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"validation_split={validation_split} leaves no samples for training or for "
            f"validation with {n} samples.")
    train = jax.tree_util.tree_map(lambda a: a[:split_at], data)
    val = jax.tree_util.tree_map(lambda a: a[split_at:], data)
    return train, split_at, val, n - split_at


def unpack_validation_data(validation_data):
    if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
        vx, vy = validation_data[0], validation_data[1]
        vsw = validation_data[2] if len(validation_data) == 3 else None
        return vx, vy, vsw
    raise ValueError(
        "`validation_data` must be a tuple (x_val, y_val) or (x_val, y_val, sample_weight); "
        f"received {type(validation_data).__name__}.")


def class_weight_to_sample_weight(y, class_weight, sample_weight):
    if not class_weight:
        return sample_weight
    if not isinstance(class_weight, dict):
        raise TypeError(f"`class_weight` must be a dict {{class: weight}}; received "
                        f"{type(class_weight).__name__}.")
    if not isinstance(y, np.ndarray):
        raise ValueError("`class_weight` is only supported for a single array of targets.")
    labels = y.reshape(len(y), -1)
    labels = labels.argmax(axis=1) if labels.shape[1] > 1 else labels[:, 0].astype(np.int64)
    weights = np.ones(len(y), np.float32)
    for cls, w in class_weight.items():
        weights[labels == int(cls)] = float(w)
    return weights if sample_weight is None else weights * sample_weight
