"""`keras.utils.split_dataset`: a dataset cut in two (e.g. train / test). [leaf: numpy]

Keras 3 returns two `tf.data.Dataset`s of single samples (or torch datasets). Gazelle
reads the samples as Keras does (the rows of an array, the zipped rows of a tuple or list
of arrays, the items of a dataset, unbatched), shuffles them with Python's `random` seeded
as Keras seeds it (so a seed gives the same split), and returns two BatchDatasets of
samples, which `.batch(n)` turns into training batches (a batched source dataset gives
batched splits, as in Keras). With TensorFlow installed they are `tf.data.Dataset`s, as
`image_dataset_from_directory` returns. A dict of arrays is also accepted (samples are
dicts); Keras accepts dicts only inside a `tf.data.Dataset`.
"""
import random
import time
import warnings

import numpy as np

from gazelle.utils.text_dataset import BatchDataset, as_tf_dataset


class SampleDataset(BatchDataset):
    """A BatchDataset whose items are single samples: `structure`'s arrays row by row."""

    def __init__(self, structure):
        super().__init__()
        self.batch_size = None
        self.structure = structure
        self._length = _length(structure)

    def __len__(self):
        return self._length

    def __getitem__(self, index):
        if not 0 <= index < self._length:
            raise IndexError(f"sample index {index} out of range for {self._length} samples")
        return _row(self.structure, index)


def _length(structure):
    while isinstance(structure, (tuple, dict)):
        structure = structure[0] if isinstance(structure, tuple) else \
            next(iter(structure.values()))
    return len(structure)


def _row(structure, index):
    if isinstance(structure, tuple):
        return tuple(_row(s, index) for s in structure)
    if isinstance(structure, dict):
        return {k: _row(v, index) for k, v in structure.items()}
    return structure[index]


def _check_columns(columns, kind):
    if len(columns) == 0:
        raise ValueError(f"split_dataset: received an empty {kind} dataset. Please provide a "
                         f"non-empty {kind} of arrays.")
    first = None
    for i, column in enumerate(columns):
        if not isinstance(column, np.ndarray):
            if hasattr(column, "shape") and hasattr(column, "__array__"):
                column = np.asarray(column)         # a JAX array
            else:
                raise ValueError(f"split_dataset: expected a {kind} of `numpy.ndarray` "
                                 f"objects; received {type(column).__name__} at index {i}.")
        if first is None:
            first = column.shape
        elif column.shape[0] != first[0]:
            raise ValueError(
                f"split_dataset: received a {kind} of NumPy arrays with different lengths. "
                f"Mismatch found at index {i}: expected shape={first}, received shape="
                f"{column.shape}. Please provide a {kind} of NumPy arrays of the same length.")
    return [np.asarray(c) for c in columns]


def _samples(dataset):
    """`(samples, batch_size, restack)`: the dataset's samples as a list, the batch size of
    a batched source (else None), and whether to stack the samples back into columns."""
    if isinstance(dataset, (tuple, list)):
        kind = "tuple" if isinstance(dataset, tuple) else "list"
        return list(zip(*_check_columns(list(dataset), kind))), None, True
    if isinstance(dataset, dict):
        keys = list(dataset)
        columns = _check_columns([dataset[k] for k in keys], "dict")
        return [dict(zip(keys, row)) for row in zip(*columns)], None, True
    if isinstance(dataset, np.ndarray):
        return list(dataset), None, False
    if hasattr(dataset, "as_numpy_iterator"):           # a tf.data.Dataset
        batch_size = getattr(dataset, "_batch_size", None)
        if batch_size is not None:
            dataset, batch_size = dataset.unbatch(), int(batch_size)
        return list(dataset.as_numpy_iterator()), batch_size, True
    if hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__"):
        batch_size = getattr(dataset, "batch_size", None)
        if batch_size is not None and hasattr(dataset, "unbatch"):
            dataset = dataset.unbatch()
        else:
            batch_size = None
        return [dataset[i] for i in range(len(dataset))], batch_size, True
    raise TypeError("split_dataset: the `dataset` argument must be a NumPy array, a "
                    "list/tuple (or dict) of arrays of the same length, or a dataset "
                    f"(PyDataset, tf.data.Dataset). Received: dataset={dataset!r} of type "
                    f"{type(dataset).__name__}")


def _check_shapes(samples):
    if not samples:
        raise ValueError("split_dataset: received an empty dataset. Argument `dataset` must "
                         "be a non-empty list/tuple of `numpy.ndarray` objects or a "
                         "non-empty dataset.")
    if not isinstance(samples[0], np.ndarray):
        return
    shape = samples[0].shape
    start = time.time()
    warned = False
    for i, sample in enumerate(samples[1:]):
        if np.shape(sample) != shape:
            raise ValueError(f"split_dataset: all `dataset` samples must have the same "
                             f"shape. Expected shape: {shape}, received shape: "
                             f"{np.shape(sample)} at index {i}.")
        if not warned and i % 10 == 0 and time.time() - start > 10:
            warned = True
            warnings.warn("split_dataset is taking longer than 10 seconds to read the "
                          "dataset; it is meant for small in-memory datasets.",
                          ResourceWarning, stacklevel=3)


def split_sizes(left_size, right_size, total):
    """`(left, right)` sample counts for Keras's `left_size`/`right_size` (ints are counts,
    floats fractions of `total`, None the complement), with Keras's checks."""
    left_type, right_type = type(left_size), type(right_size)
    bad_left = left_size is not None and left_type not in (int, float)
    bad_right = right_size is not None and right_type not in (int, float)
    if bad_left and bad_right:
        raise TypeError("split_dataset: invalid `left_size` and `right_size` types. Expected "
                        f"int, float or None; received type(left_size)={left_type} and "
                        f"type(right_size)={right_type}.")
    if bad_left:
        raise TypeError("split_dataset: invalid `left_size` type. Expected int, float or "
                        f"None; received type(left_size)={left_type}.")
    if bad_right:
        raise TypeError("split_dataset: invalid `right_size` type. Expected int, float or "
                        f"None; received type(right_size)={right_type}.")
    if left_size == 0 and right_size == 0:
        raise ValueError("split_dataset: both `left_size` and `right_size` are zero. At "
                         "least one of the split sizes must be non-zero.")
    for name, size, kind in (("left_size", left_size, left_type),
                             ("right_size", right_size, right_type)):
        if (kind is int and not 0 < size < total) or (kind is float and not 0 < size < 1):
            raise ValueError(f"split_dataset: `{name}` should be either a positive integer "
                             f"smaller than {total}, or a float within the range `[0, 1]`. "
                             f"Received: {name}={size}")
    if left_type is float and right_type is float and left_size + right_size > 1:
        raise ValueError("split_dataset: the sum of `left_size` and `right_size` is greater "
                         "than 1. It must be less than or equal to 1.")
    left = round(left_size * total) if left_type is float else left_size
    right = round(right_size * total) if right_type is float else right_size
    if left is None:
        left = total - right
    elif right is None:
        right = total - left
    if left + right > total:
        raise ValueError("split_dataset: the sum of `left_size` and `right_size` should be "
                         f"at most the dataset's length {total}. Received: left_size + "
                         f"right_size = {left + right}.")
    for size, side in ((left, "left"), (right, "right")):
        if size == 0:
            raise ValueError(f"split_dataset: with a `dataset` of length={total}, "
                             f"`left_size`={left} and `right_size`={right}, the {side} "
                             "split would be empty. Adjust any of these parameters.")
    return int(left), int(right)


def _columns(samples, restack):
    if not restack:
        return np.stack(samples)
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(_columns([s[i] for s in samples], True) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _columns([s[k] for s in samples], True) for k in first}
    return np.array(samples)


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None,
                  preferred_backend=None):
    """Splits a dataset into a left part and a right part (e.g. train / test).

    Args:
        dataset: a NumPy array, a list/tuple (or dict) of arrays of the same length, or a
            dataset (a `PyDataset` of gazelle's `keras.utils` datasets, a
            `tf.data.Dataset`); a batched dataset is split sample by sample.
        left_size: a float in (0, 1): the fraction of samples in the left part; an int:
            their number; None: the complement of `right_size`.
        right_size: the same for the right part (taken from the end).
        shuffle: whether to shuffle the samples before splitting.
        seed: the shuffling seed (Keras's: the same seed gives the same split).
        preferred_backend: accepted for Keras compatibility; gazelle always returns its
            own datasets (`"torch"` is refused).

    Returns:
        `(left, right)`: datasets of single samples (call `.batch(n)` before `fit`), or
        of batches of the source's size when `dataset` was batched.

    ```python
    data = np.random.random((1000, 4))
    left, right = keras.utils.split_dataset(data, left_size=0.8)
    len(left), len(right)      # (800, 200)
    ```
    """
    if preferred_backend not in (None, "jax", "tensorflow", "numpy"):
        raise ValueError("split_dataset: gazelle returns its own datasets; "
                         "`preferred_backend` must be None, 'jax', 'tensorflow' or 'numpy'. "
                         f"Received: preferred_backend={preferred_backend!r}")
    samples, batch_size, restack = _samples(dataset)
    if left_size is None and right_size is None:
        raise ValueError("split_dataset: at least one of `left_size` or `right_size` must be "
                         "specified. Received: left_size=None and right_size=None")
    _check_shapes(samples)
    if shuffle:
        if seed is None:
            seed = random.randint(0, int(1e6))
        random.Random(seed).shuffle(samples)
    left, right = split_sizes(left_size, right_size, len(samples))
    parts = []
    for part in (samples[:left], samples[-right:]):
        out = SampleDataset(_columns(part, restack))
        if batch_size is not None:
            out = out.batch(batch_size)
        parts.append(as_tf_dataset(out))
    return tuple(parts)
