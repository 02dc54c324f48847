"""`text_dataset_from_directory`: `.txt` files in class folders -> batches of strings.
[leaf: numpy, stdlib]

Keras 3 returns a `tf.data.Dataset`; gazelle returns a `PyDataset` of NumPy batches
(string arrays, and labels), with a `class_names` attribute. Files are listed and
shuffled as Keras lists and shuffles them (sorted walk, `np.random.RandomState(seed)`),
so a seed gives the same files in the same training/validation subsets. Keras's extra
`tf.data` buffer shuffle of the training batches is not reproduced. Apply a
`TextVectorization` to the text (on the host) before feeding a model.
"""
import os

import numpy as np

from gazelle.utils.dataset import PyDataset


class BatchDataset(PyDataset):
    """A PyDataset with the two `tf.data` methods course code uses on these datasets:
    `map(fn)` (per batch, `fn(x, y)` for `(x, y)` batches) and `take(n)`."""

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def map(self, fn):
        """A dataset whose batches are `fn(*batch)` (or `fn(batch)` without labels)."""
        return _Mapped(self, fn)

    def take(self, count):
        """A dataset of the first `count` batches (all of them if `count` is -1)."""
        return _Taken(self, len(self) if count is None or count < 0 else min(count, len(self)))


class _Mapped(BatchDataset):
    def __init__(self, source, fn):
        super().__init__()
        self.source, self.fn = source, fn
        self.class_names = getattr(source, "class_names", None)

    def __len__(self):
        return len(self.source)

    def __getitem__(self, index):
        batch = self.source[index]
        return self.fn(*batch) if isinstance(batch, tuple) else self.fn(batch)


class _Taken(BatchDataset):
    def __init__(self, source, count):
        super().__init__()
        self.source, self.count = source, count
        self.class_names = getattr(source, "class_names", None)

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        if not 0 <= index < self.count:
            raise IndexError(f"batch index {index} out of range for {self.count} batches")
        return self.source[index]


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
        A `keras.utils.PyDataset` (with `class_names`), or a list of two for subset="both".

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
    if verbose:
        print(f"Found {len(paths)} files." if label_values is None else
              f"Found {len(paths)} files belonging to {len(names)} classes.")
    if shuffle:
        np.random.RandomState(seed).shuffle(paths)
        if label_values is not None:
            np.random.RandomState(seed).shuffle(label_values)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError("text_dataset_from_directory: label_mode='binary' needs exactly 2 "
                         f"classes. Received: class_names={names}")

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
        return TextFileDataset(p, encoded(y), batch_size, max_length, names)

    if subset == "both":
        return [make("training"), make("validation")]
    return make(subset or "training")
