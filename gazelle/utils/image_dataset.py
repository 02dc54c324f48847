"""`image_dataset_from_directory`: image files in class folders -> batches of float32 images.
[leaf: stdlib, numpy; Pillow through `image_utils`]

Keras 3 returns a `tf.data.Dataset` (or a grain dataset); gazelle returns a `PyDataset`
of NumPy batches `(images, labels)` with `class_names` and `file_paths` attributes, which
`fit` streams through its prefetch thread. Files are listed, shuffled and split exactly
as Keras does (sorted walk, `np.random.RandomState(seed)`, the validation subset taken
from the end), so a seed gives the same files in the same subsets. Each batch is decoded
by Pillow on a pool of host threads and resized in NumPy with the sampling of
`keras.ops.image.resize` (what Keras's PIL-based loader uses). Keras's `tf.data` buffer
shuffle cannot be reproduced; instead, with `shuffle=True`, the training files are
reshuffled (seeded) after every epoch, so batches differ from one epoch to the next.
"""
import concurrent.futures
import os
import threading

import numpy as np

from gazelle import config
from gazelle.utils import image_utils
from gazelle.utils.text_dataset import BatchDataset, as_tf_dataset, shuffle_listing

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5",
                   "gaussian", "mitchellcubic")
_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}

_pool = None
_pool_lock = threading.Lock()


def _decoder_pool():
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=min(8, os.cpu_count() or 1), thread_name_prefix="gazelle-images")
    return _pool


def index_directory(directory, labels, formats, class_names=None, follow_links=False):
    """Lists the files of `directory` as Keras does: `(paths, labels, class_names)`,
    class folders in sorted (or `class_names`) order, each walked in sorted order."""
    if labels == "inferred":
        subdirs = [d for d in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if class_names is not None:
            if not set(class_names) <= set(subdirs):
                raise ValueError("The `class_names` passed must name subfolders of "
                                 f"{directory}: expected {subdirs} (or a subset of it). "
                                 f"Received: class_names={class_names}")
            subdirs = list(class_names)
    else:
        if class_names is not None:
            raise ValueError("`class_names` can only be passed with labels='inferred' (with "
                             "labels=None or a list of labels there are no class folders). "
                             f"Received: labels={labels!r}, class_names={class_names}")
        subdirs = [""]
    paths, found = [], []
    for k, sub in enumerate(subdirs):
        top = os.path.join(directory, sub)
        walk = os.walk(top, followlinks=bool(follow_links))
        for root, _, files in sorted(walk, key=lambda w: w[0]):
            for name in sorted(files):
                if name.lower().endswith(formats):
                    relative = os.path.join(os.path.basename(top),
                                            os.path.relpath(os.path.join(root, name), top))
                    paths.append(os.path.join(directory, relative))
                    found.append(k)
    if labels == "inferred":
        return paths, np.asarray(found, dtype="int32"), subdirs
    if labels is None:
        return paths, None, None
    if len(labels) != len(paths):
        raise ValueError(f"`labels` has {len(labels)} entries but {len(paths)} files were "
                         f"found in {directory}; pass one label per file, in sorted path "
                         "order.")
    return paths, np.asarray(labels), [str(v) for v in sorted(set(labels))]


def split(paths, labels, validation_split, subset, verbose=True):
    """Keras's training/validation cut: the last `int(validation_split * n)` files are
    the validation subset."""
    if not validation_split:
        return paths, labels
    n_val = int(validation_split * len(paths))
    if subset == "training":
        cut = slice(None, -n_val)
        if verbose:
            print(f"Using {len(paths) - n_val} files for training.")
    else:
        cut = slice(-n_val, None)
        if verbose:
            print(f"Using {n_val} files for validation.")
    return paths[cut], None if labels is None else labels[cut]


class FileBatches(BatchDataset):
    """Batches of files decoded on read: `file_paths`, `batch_size` (None: one file per
    item) and, with `shuffle`, the files reshuffled (seeded) after every epoch."""

    def _setup(self, paths, labels, batch_size, class_names, shuffle, seed):
        self.file_paths, self.labels = list(paths), labels
        self.batch_size, self.class_names = batch_size, class_names
        self._shuffle, self._seed, self._epoch = shuffle, seed, 0
        self._order = np.arange(len(self.file_paths))

    def __len__(self):
        if self.batch_size is None:
            return len(self.file_paths)
        return -(-len(self.file_paths) // self.batch_size)

    def on_epoch_end(self):
        if self._shuffle:
            self._epoch += 1
            seed = None if self._seed is None else (self._seed + self._epoch) % 2 ** 32
            self._order = np.random.RandomState(seed).permutation(len(self.file_paths))

    def _rows(self, index):
        """`(paths, labels)` of batch `index`, in the epoch's order."""
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range for {len(self)} batches")
        size = self.batch_size or 1
        rows = self._order[index * size:(index + 1) * size]
        return ([self.file_paths[i] for i in rows],
                None if self.labels is None else self.labels[rows])

    def _item(self, x, labels):
        """A batch (or, with batch_size None, the one file's) as `x` or `(x, labels)`."""
        if self.batch_size is None:
            x, labels = x[0], None if labels is None else labels[0]
        return x if labels is None else (x, labels)


class ImageFileDataset(FileBatches):
    """Batches of decoded, resized images (float32) and their labels."""

    def __init__(self, paths, labels, batch_size, image_size, color_mode, interpolation,
                 crop_to_aspect_ratio, pad_to_aspect_ratio, data_format, class_names,
                 shuffle=False, seed=None):
        super().__init__()
        self._setup(paths, labels, batch_size, class_names, shuffle, seed)
        self.image_size = tuple(image_size)
        self.color_mode, self.interpolation = color_mode, interpolation
        self.crop_to_aspect_ratio = crop_to_aspect_ratio
        self.pad_to_aspect_ratio = pad_to_aspect_ratio
        self.data_format = data_format

    def _load(self, path):
        x = image_utils.decode_image(path, self.color_mode)
        if x.shape[:2] != self.image_size or self.crop_to_aspect_ratio or self.pad_to_aspect_ratio:
            x = image_utils.resize_image(x, self.image_size, self.interpolation,
                                         self.crop_to_aspect_ratio, self.pad_to_aspect_ratio)
        return x.transpose(2, 0, 1) if self.data_format == "channels_first" else x

    def __getitem__(self, index):
        paths, labels = self._rows(index)
        if len(paths) > 1:
            images = np.stack(list(_decoder_pool().map(self._load, paths)))
        else:
            images = self._load(paths[0])[None]
        return self._item(images, labels)


def _encode(labels, label_mode, num_classes):
    if labels is None:
        return None
    if label_mode == "int":
        return labels.astype("int32")
    if label_mode == "binary":
        return labels.astype("float32")[:, None]
    return np.eye(num_classes, dtype="float32")[labels]


def check_directory_args(where, kind, directory, labels, label_mode, class_names, batch_size,
                         validation_split, subset, shuffle, seed):
    """The checks the `*_dataset_from_directory` utilities share (`kind`: "image", "audio"),
    with Keras's rules; returns `(labels, label_mode)`, both None when either is None."""
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple, np.ndarray)):
            raise ValueError(f"{where}: `labels` must be 'inferred', None or a list of integer "
                             f"labels, one per {kind} file. Received: labels={labels!r}")
        if class_names:
            raise ValueError(f"{where}: `class_names` is only used with labels='inferred'.")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(f"{where}: `label_mode` must be 'int', 'categorical', 'binary' or "
                         f"None. Received: label_mode={label_mode!r}")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if batch_size is not None and (isinstance(batch_size, bool) or
                                   not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"{where}: `batch_size` must be a positive int or None. "
                         f"Received: batch_size={batch_size!r}")
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"{where}: `validation_split` must be between 0 and 1. "
                         f"Received: {validation_split}")
    if bool(validation_split) != bool(subset):
        raise ValueError(f"{where}: set `subset` and `validation_split` together. "
                         f"Received: validation_split={validation_split}, subset={subset!r}")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f"{where}: `subset` must be 'training', 'validation' or 'both'. "
                         f"Received: subset={subset!r}")
    if validation_split and shuffle and seed is None:
        raise ValueError(f"{where}: with `validation_split` and shuffling, pass a `seed` so "
                         "the two subsets do not overlap.")
    if not os.path.isdir(directory):
        raise ValueError(f"{where}: {directory!r} is not a folder.")
    return labels, label_mode


def list_directory(where, directory, labels, label_mode, class_names, formats, follow_links,
                   shuffle, seed, verbose):
    """Keras's file listing for the `*_dataset_from_directory` utilities: `(paths, labels,
    class_names, seed)`, the files (and their labels) shuffled with
    `np.random.RandomState(seed)`; the seed is drawn when None."""
    if seed is None:
        seed = np.random.randint(1e6)
    paths, label_values, names = index_directory(directory, labels, formats, class_names,
                                                 follow_links)
    shuffle_listing(where, paths, label_values, names, label_mode, shuffle, seed, verbose)
    return paths, label_values, names, seed


def split_or_raise(where, noun, directory, paths, labels, validation_split, which, subset,
                   formats, verbose):
    """The files of subset `which` (see `split`); a ValueError, naming the files `noun`
    ("images"), when there are none."""
    p, y = split(paths, labels, validation_split, which, verbose)
    if not p:
        raise ValueError(f"{where}: no {which + ' ' if subset else ''}{noun} found in "
                         f"{directory}. Allowed formats: {formats}")
    return p, y


def image_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, color_mode="rgb", batch_size=32,
                                 image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear",
                                 follow_links=False, crop_to_aspect_ratio=False,
                                 pad_to_aspect_ratio=False, data_format=None, format="tf",
                                 verbose=True):
    """Reads images from class subfolders into batches of `(images, labels)`.

    `directory/class_a/*.png` and `directory/class_b/*.png` give labels 0 and 1 (class
    folders in alphabetical order, or the order of `class_names`). Files ending in
    .bmp, .gif, .jpeg, .jpg or .png are read (the first frame of an animated gif).

    Args:
        directory: the folder holding one subfolder per class.
        labels: "inferred" (from the subfolders), None (images only), or a list of
            integer labels, one per file in sorted path order.
        label_mode: "int" (default; int32), "categorical" (one-hot float32), "binary"
            (float32 of shape (batch, 1), two classes) or None.
        class_names: with "inferred", the subfolders to use and their order.
        color_mode: "rgb" (default, 3 channels), "rgba" (4) or "grayscale" (1).
        batch_size: images per batch (default 32; None: one image per item).
        image_size: `(height, width)` every image is resized to (default (256, 256)).
        shuffle: shuffle the files (default True; reshuffled after every epoch).
        seed: the shuffle's seed (needed with `validation_split`).
        validation_split: fraction of the files kept for validation.
        subset: "training", "validation" or "both" (with `validation_split`).
        interpolation: resize method: "bilinear" (default), "nearest", "bicubic",
            "lanczos3" or "lanczos5" ("area", "gaussian" and "mitchellcubic", which
            only TensorFlow offers, raise NotImplementedError).
        follow_links: follow symbolic links to subfolders.
        crop_to_aspect_ratio: crop the centre to `image_size`'s aspect ratio before
            resizing, so images are not distorted.
        pad_to_aspect_ratio: pad with zeros to `image_size`'s aspect ratio instead.
        data_format: "channels_last" or "channels_first"; defaults to
            `keras.config.image_data_format()`.
        format: "tf" or "grain" (Keras's container types); gazelle returns its own
            `PyDataset` for both.
        verbose: print how many files were found.

    Returns:
        A `keras.utils.PyDataset` of float32 image batches `(batch, height, width,
        channels)` and labels, with `class_names` and `file_paths`; a list of two (training,
        validation) for subset="both".

    ```python
    train, val = keras.utils.image_dataset_from_directory(
        "flowers", image_size=(180, 180), validation_split=0.2, subset="both", seed=1337)
    model.fit(train, validation_data=val, epochs=10)
    ```
    """
    where = "image_dataset_from_directory"
    labels, label_mode = check_directory_args(
        where, "image", directory, labels, label_mode, class_names, batch_size,
        validation_split, subset, shuffle, seed)
    if color_mode not in _CHANNELS:
        raise ValueError(f"{where}: `color_mode` must be 'rgb', 'rgba' or 'grayscale'. "
                         f"Received: color_mode={color_mode!r}")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    if (not isinstance(image_size, (list, tuple)) or len(image_size) != 2
            or not all(isinstance(v, (int, np.integer)) and v > 0 for v in image_size)):
        raise ValueError(f"{where}: `image_size` must be (height, width), two positive ints. "
                         f"Received: image_size={image_size!r}")
    interpolation = str(interpolation).lower()
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{where}: `interpolation` must be one of {list(_INTERPOLATIONS)}. "
                         f"Received: interpolation={interpolation!r}")
    if interpolation not in image_utils.RESIZE_INTERPOLATIONS:
        raise NotImplementedError(
            f"{where}: interpolation={interpolation!r} is a TensorFlow-only resize method; "
            f"gazelle offers {list(image_utils.RESIZE_INTERPOLATIONS)}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError(f"{where}: pass only one of `crop_to_aspect_ratio` and "
                         "`pad_to_aspect_ratio`.")
    if format not in ("tf", "grain"):
        raise ValueError(f"{where}: `format` must be 'tf' or 'grain'. Received: {format!r}")
    data_format = config.image_data_format() if data_format is None else data_format
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"{where}: `data_format` must be 'channels_last' or 'channels_first'. "
                         f"Received: data_format={data_format!r}")
    paths, label_values, names, seed = list_directory(
        where, directory, labels, label_mode, class_names, ALLOWLIST_FORMATS,
        follow_links, shuffle, seed, verbose)

    def make(which, shuffled):
        p, y = split_or_raise(where, "images", directory, paths, label_values,
                              validation_split, which, subset, ALLOWLIST_FORMATS, verbose)
        # A tf.data.Dataset when TensorFlow is installed (as Keras 3), else the dataset itself.
        return as_tf_dataset(ImageFileDataset(
            p, _encode(y, label_mode, len(names or ())), batch_size, image_size, color_mode,
            interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio, data_format, names,
            shuffled, seed))

    if subset == "both":
        return [make("training", shuffle), make("validation", False)]
    return make(subset or "training", shuffle)
