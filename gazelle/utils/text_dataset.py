"""`text_dataset_from_directory`, and `BatchDataset`, the dataset type of gazelle's
dataset utilities. [leaf: numpy, stdlib; TensorFlow only when installed]

Keras 3 returns a `tf.data.Dataset`; so does gazelle when TensorFlow is installed (the
same batches, as a dataset `fit` takes and `.map(...)` code keeps working on; set the
environment variable `GAZELLE_TF_DATA=0` to get gazelle's own type anyway). Without
TensorFlow it returns a `BatchDataset`: a `PyDataset` of NumPy batches (string arrays,
and labels) with a `class_names` attribute and the subset of `tf.data` listed on the
class. Files are listed and shuffled as Keras lists and shuffles them (sorted walk,
`np.random.RandomState(seed)`), so a seed gives the same files in the same
training/validation subsets. Keras's extra `tf.data` buffer shuffle of the training
batches is not reproduced. Apply a `TextVectorization` to the text (on the host, or
inside `map`) before feeding a model.
"""
import importlib
import importlib.util
import os
import sys

import numpy as np

from gazelle.utils.dataset import PyDataset


def tensorflow_or_none():
    """TensorFlow's module when it is installed (and not turned off with
    `GAZELLE_TF_DATA=0`), else None. Imported on first use only."""
    if os.environ.get("GAZELLE_TF_DATA", "1").strip().lower() in ("0", "false", "no"):
        return None
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    if importlib.util.find_spec("tensorflow") is None:
        return None
    return importlib.import_module("tensorflow")


def as_tf_dataset(dataset, tf=None, ends_batched=False):
    """`dataset` (a BatchDataset) as a `tf.data.Dataset` of the same batches, with its
    `class_names` and `file_paths`; the BatchDataset itself when TensorFlow is absent.
    `ends_batched`: Keras 3's dataset of this kind ends with `.batch()`, so it has the
    `_batch_size` that `split_dataset` reads to split it sample by sample (timeseries);
    the one returned has it too."""
    tf = tensorflow_or_none() if tf is None else tf
    if tf is None:
        return dataset
    first = dataset[0]
    batched = getattr(dataset, "batch_size", None) is not None

    varying = getattr(dataset, "varying_axes", ())     # of x: e.g. audio's clip length

    def spec(a, axes=()):
        a = np.asarray(a)
        shape = ((None,) + a.shape[1:]) if batched and a.ndim else a.shape
        shape = tuple(None if i in axes else d for i, d in enumerate(shape))
        dtype = tf.string if a.dtype.kind in "USO" else tf.as_dtype(a.dtype)
        return tf.TensorSpec(shape, dtype)

    if isinstance(first, tuple):
        signature = tuple(spec(a, varying if i == 0 else ()) for i, a in enumerate(first))
    elif isinstance(first, dict):                # split_dataset of a dict of arrays
        signature = {key: spec(a) for key, a in first.items()}
    else:
        signature = spec(first, varying)

    def one_pass():                 # a dataset that reshuffles per epoch does so per pass
        yield from iter(dataset)
        if callable(getattr(dataset, "on_epoch_end", None)):
            dataset.on_epoch_end()

    out = tf.data.Dataset.from_generator(one_pass, output_signature=signature)
    out = out.apply(tf.data.experimental.assert_cardinality(len(dataset)))
    out = out.prefetch(tf.data.AUTOTUNE)
    for name in ("class_names", "file_paths"):
        if getattr(dataset, name, None) is not None:
            setattr(out, name, getattr(dataset, name))
    if ends_batched and batched:
        out._batch_size = tf.constant(dataset.batch_size, tf.int64)
    return out


class BatchDataset(PyDataset):
    """A PyDataset of NumPy batches with the part of `tf.data.Dataset` that Keras code
    uses on the datasets of `keras.utils`: iteration, `map`, `take`, `batch`, `unbatch`,
    `shuffle`, `cache` and `prefetch` (a no-op: `fit` already prefetches).

    ```python
    ds = keras.utils.timeseries_dataset_from_array(x, y, sequence_length=10)
    ds = ds.unbatch().shuffle(1000, seed=0).batch(64).map(lambda a, b: (a / 10, b))
    model.fit(ds.prefetch(2), epochs=3)
    ```
    """

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def map(self, fn):
        """A dataset whose items are `fn(*item)` (or `fn(item)` for an item that is not a
        tuple), computed when an item is read."""
        return _Mapped(self, fn)

    def take(self, count):
        """A dataset of the first `count` items (all of them if `count` is -1)."""
        return _Taken(self, len(self) if count is None or count < 0 else min(count, len(self)))

    def batch(self, batch_size, drop_remainder=False):
        """A dataset whose items stack `batch_size` consecutive items of this one along a
        new first axis (the last item may have fewer, unless `drop_remainder`)."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"batch(): `batch_size` must be a positive int; received "
                             f"{batch_size!r}.")
        return _Batched(self, int(batch_size), bool(drop_remainder))

    def unbatch(self):
        """A dataset whose items are the rows of this one's batches."""
        return _Unbatched(self)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True):
        """A dataset of the same items in a random order, drawn again for every pass
        (`reshuffle_each_iteration=False`: once). gazelle draws a uniform permutation of
        the items, which is what `tf.data` gives with a buffer of at least the dataset's
        size; a smaller `buffer_size` does not make the order more local."""
        if isinstance(buffer_size, bool) or not isinstance(buffer_size, (int, np.integer)) \
                or buffer_size < 1:
            raise ValueError(f"shuffle(): `buffer_size` must be a positive int; received "
                             f"{buffer_size!r}.")
        return _Shuffled(self, seed, bool(reshuffle_each_iteration))

    def prefetch(self, buffer_size=None):
        """This dataset (fit, evaluate and predict already read ahead on a thread)."""
        del buffer_size
        return self

    def cache(self, filename=""):
        """A dataset that keeps every item in memory once it has been read."""
        if filename:
            raise ValueError("cache(): gazelle's BatchDataset caches in memory only; call "
                             f"cache() without a filename (received {filename!r}).")
        return _Cached(self)


class _Derived(BatchDataset):
    def __init__(self, source):
        super().__init__()
        self.source = source
        self.class_names = getattr(source, "class_names", None)

    def __len__(self):
        return len(self.source)

    def _check(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"item index {index} out of range for {len(self)} items")

    def on_epoch_begin(self):
        self.source.on_epoch_begin()

    def on_epoch_end(self):
        self.source.on_epoch_end()


class _Mapped(_Derived):
    def __init__(self, source, fn):
        super().__init__(source)
        self.fn = fn

    def __getitem__(self, index):
        batch = self.source[index]
        return self.fn(*batch) if isinstance(batch, tuple) else self.fn(batch)


class _Taken(_Derived):
    def __init__(self, source, count):
        super().__init__(source)
        self.count = count

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        self._check(index)
        return self.source[index]


def _stack(items):
    first = items[0]
    if isinstance(first, tuple):
        return tuple(_stack([item[i] for item in items]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _stack([item[k] for item in items]) for k in first}
    return np.stack([np.asarray(item) for item in items])


def _rows(batch, start, stop):
    if isinstance(batch, tuple):
        return tuple(_rows(b, start, stop) for b in batch)
    if isinstance(batch, dict):
        return {k: _rows(v, start, stop) for k, v in batch.items()}
    return np.asarray(batch)[start:stop]


def _num_rows(batch):
    while isinstance(batch, (tuple, dict)):
        batch = batch[0] if isinstance(batch, tuple) else next(iter(batch.values()))
    return len(np.asarray(batch))


class _Batched(_Derived):
    def __init__(self, source, batch_size, drop_remainder):
        super().__init__(source)
        self.batch_size, self.drop_remainder = batch_size, drop_remainder

    def __len__(self):
        n = len(self.source)
        return n // self.batch_size if self.drop_remainder else -(-n // self.batch_size)

    def __getitem__(self, index):
        self._check(index)
        start = index * self.batch_size
        stop = min(start + self.batch_size, len(self.source))
        return _stack([self.source[i] for i in range(start, stop)])


class _Unbatched(_Derived):
    def __init__(self, source):
        super().__init__(source)
        self.batch_size = None
        self._ends = None
        self._last = (None, None)        # (batch index, batch): rows are read in order

    def _offsets(self):
        if self._ends is None:           # one pass over the batches to count their rows
            self._ends = np.cumsum([_num_rows(self.source[i])
                                    for i in range(len(self.source))])
        return self._ends

    def __len__(self):
        ends = self._offsets()
        return int(ends[-1]) if len(ends) else 0

    def __getitem__(self, index):
        self._check(index)
        ends = self._offsets()
        b = int(np.searchsorted(ends, index, side="right"))
        if self._last[0] != b:
            self._last = (b, self.source[b])
        row = index - (int(ends[b - 1]) if b else 0)
        item = _rows(self._last[1], row, row + 1)
        return _first_row(item)


def _first_row(item):
    if isinstance(item, tuple):
        return tuple(_first_row(i) for i in item)
    if isinstance(item, dict):
        return {k: _first_row(v) for k, v in item.items()}
    return item[0]


class _Shuffled(_Derived):
    def __init__(self, source, seed, reshuffle):
        super().__init__(source)
        self.rng = np.random.default_rng(seed)
        self.reshuffle = reshuffle
        self.order = self.rng.permutation(len(source))

    def on_epoch_begin(self):
        super().on_epoch_begin()
        if self.reshuffle:
            self.order = self.rng.permutation(len(self.source))

    def __iter__(self):
        if self.reshuffle:
            self.order = self.rng.permutation(len(self.source))
        order = self.order
        for i in order:
            yield self.source[int(i)]

    def __getitem__(self, index):
        self._check(index)
        return self.source[int(self.order[index])]


class _Cached(_Derived):
    def __init__(self, source):
        super().__init__(source)
        self._items = {}

    def __getitem__(self, index):
        self._check(index)
        if index not in self._items:
            self._items[index] = self.source[index]
        return self._items[index]


class TextFileDataset(BatchDataset):
    """Batches of file contents (NumPy arrays of str) and labels."""

    def __init__(self, paths, labels, batch_size, max_length, class_names):
        super().__init__()
        self.file_paths, self.labels = list(paths), labels
        self.batch_size, self.max_length = batch_size, max_length
        self.class_names = class_names

    def __len__(self):
        if self.batch_size is None:
            return len(self.file_paths)
        return -(-len(self.file_paths) // self.batch_size)

    def _read(self, path):
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        return text if self.max_length is None else text[:self.max_length]

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range for {len(self)} batches")
        size = self.batch_size or 1
        part = slice(index * size, (index + 1) * size)
        texts = np.array([self._read(p) for p in self.file_paths[part]], dtype=object)
        texts = texts.astype(str) if len(texts) else np.zeros(0, str)
        labels = None if self.labels is None else self.labels[part]
        if self.batch_size is None:
            texts = texts[0]
            labels = None if labels is None else labels[0]
        return texts if labels is None else (texts, labels)


def _list_files(directory, labels, class_names, follow_links):
    if labels == "inferred":
        subdirs = sorted(d for d in os.listdir(directory)
                         if os.path.isdir(os.path.join(directory, d)) and not d.startswith("."))
        if class_names is not None:
            if not set(class_names) <= set(subdirs):
                raise ValueError(f"text_dataset_from_directory: `class_names` must name "
                                 f"subfolders of {directory}: expected a subset of {subdirs}. "
                                 f"Received: class_names={class_names}")
            subdirs = list(class_names)
    else:
        subdirs = [""]
    paths, found = [], []
    for k, sub in enumerate(subdirs):
        root_dir = os.path.join(directory, sub)
        walk = os.walk(root_dir, followlinks=bool(follow_links))
        for root, _, files in sorted(walk, key=lambda w: w[0]):
            for name in sorted(files):
                if name.lower().endswith(".txt"):
                    paths.append(os.path.join(root, name))
                    found.append(k)
    return paths, np.asarray(found, dtype="int32"), subdirs


def shuffle_listing(where, paths, labels, class_names, label_mode, shuffle, seed, verbose):
    """What the `*_dataset_from_directory` utilities do with their file listing, as Keras
    does: say what was found, shuffle the paths (and their labels, in place) with
    `np.random.RandomState(seed)`, and check that label_mode='binary' has two classes."""
    if verbose:
        print(f"Found {len(paths)} files." if labels is None else
              f"Found {len(paths)} files belonging to {len(class_names)} classes.")
    if shuffle:
        np.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(f"{where}: label_mode='binary' needs exactly 2 classes. "
                         f"Received: class_names={class_names}")


def text_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                class_names=None, batch_size=32, max_length=None,
                                shuffle=True, seed=None, validation_split=None, subset=None,
                                follow_links=False, verbose=True):
    """Reads `.txt` files from class subfolders into batches of `(texts, labels)`.

    `directory/class_a/*.txt` and `directory/class_b/*.txt` give labels 0 and 1 (class
    folders in alphabetical order, or the order of `class_names`).

    Args:
        directory: the folder holding one subfolder per class.
        labels: "inferred" (from the subfolders), None (texts only), or a list of
            integer labels, one per file in sorted path order.
        label_mode: "int" (default), "categorical" (one-hot float32), "binary"
            (float32 of shape (batch, 1), needs two classes) or None.
        class_names: with "inferred", the subfolders to use and their order.
        batch_size: texts per batch (default 32; None: one text per item).
        max_length: cut every text to this many characters.
        shuffle: shuffle the files (default True).
        seed: the shuffle's seed (needed with `validation_split`).
        validation_split: fraction of the files kept for validation.
        subset: "training", "validation" or "both" (with `validation_split`).
        follow_links: follow symbolic links to subfolders.
        verbose: print how many files were found.

    Returns:
        A `tf.data.Dataset` when TensorFlow is installed (as Keras 3), else a
        `BatchDataset` (a `keras.utils.PyDataset` with `map`, `batch`, `shuffle`, ...);
        either has `class_names`. A list of two for subset="both".

    ```python
    train = keras.utils.text_dataset_from_directory("aclImdb/train", validation_split=0.2,
                                                    subset="training", seed=42)
    ```
    """
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError("text_dataset_from_directory: `labels` must be 'inferred', None "
                             f"or a list of integer labels. Received: labels={labels!r}")
        if class_names:
            raise ValueError("text_dataset_from_directory: `class_names` is only used with "
                             "labels='inferred'.")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError("text_dataset_from_directory: `label_mode` must be 'int', "
                         f"'categorical', 'binary' or None. Received: label_mode={label_mode!r}")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if validation_split and not 0 < validation_split < 1:
        raise ValueError("text_dataset_from_directory: `validation_split` must be between 0 "
                         f"and 1. Received: {validation_split}")
    if bool(validation_split) != bool(subset):
        raise ValueError("text_dataset_from_directory: set `subset` and `validation_split` "
                         "together.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError("text_dataset_from_directory: `subset` must be 'training', "
                         f"'validation' or 'both'. Received: subset={subset!r}")
    if validation_split and shuffle and seed is None:
        raise ValueError("text_dataset_from_directory: with `validation_split` and shuffling, "
                         "pass a `seed` so the two subsets do not overlap.")
    if not os.path.isdir(directory):
        raise ValueError(f"text_dataset_from_directory: {directory!r} is not a folder.")
    if seed is None:
        seed = np.random.randint(1e6)
    paths, found, names = _list_files(directory, labels, class_names, follow_links)
    if labels == "inferred":
        label_values = found
    elif labels is None:
        label_values, names = None, None
    else:
        if len(labels) != len(paths):
            raise ValueError(f"text_dataset_from_directory: {len(labels)} labels for "
                             f"{len(paths)} .txt files in {directory}.")
        label_values = np.asarray(labels)
        names = [str(v) for v in sorted(set(labels))]
    shuffle_listing("text_dataset_from_directory", paths, label_values, names, label_mode,
                    shuffle, seed, verbose)

    def encoded(values):
        if values is None or label_mode == "int":
            return values
        if label_mode == "binary":
            return values.astype("float32")[:, None]
        return np.eye(len(names), dtype="float32")[values]

    def part(which):
        if not validation_split:
            return paths, label_values
        n_val = int(validation_split * len(paths))
        if which == "training":
            cut = slice(None, -n_val) if n_val else slice(None)
        else:
            cut = slice(-n_val, None) if n_val else slice(0, 0)
        if verbose:
            count = len(paths[cut])
            print(f"Using {count} files for {which}.")
        return paths[cut], None if label_values is None else label_values[cut]

    def make(which):
        p, y = part(which)
        if not p:
            raise ValueError(f"text_dataset_from_directory: no {which + ' ' if subset else ''}"
                             f".txt files in {directory}.")
        return as_tf_dataset(TextFileDataset(p, encoded(y), batch_size, max_length, names))

    if subset == "both":
        return [make("training"), make("validation")]
    return make(subset or "training")
