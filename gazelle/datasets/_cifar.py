"""Reads CIFAR-10/100 from Keras's archive (`cifar-*-python.tar.gz`) without extracting it.
[leaf: stdlib, numpy]

The archive is looked for under the names Keras 3 (`cifar-10-batches-py-target_archive`),
tf.keras 2 (`cifar-10-batches-py.tar.gz`) and the CIFAR site (`cifar-10-python.tar.gz`)
give it, in `$GAZELLE_HOME/datasets` and Keras's cache `$KERAS_HOME/datasets`, and is used
only when its sha256 is Keras's. Otherwise it is downloaded from the CIFAR site when the
network allows, or a FileNotFoundError says which file to put where. The batches are
pickled dicts: they are read with an unpickler that only rebuilds NumPy arrays.
"""
import dataclasses
import io
import os
import pickle
import tarfile
import urllib.error

import numpy as np

from gazelle import config
from gazelle.datasets import _files
from gazelle.utils import file_utils


@dataclasses.dataclass(frozen=True)
class Archive:
    names: tuple      # file names it may have in a cache folder; the first is Keras 3's
    url: str
    sha256: str
    folder: str       # the folder inside the archive


CIFAR10 = Archive(("cifar-10-batches-py-target_archive", "cifar-10-batches-py.tar.gz",
                   "cifar-10-python.tar.gz"),
                  "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                  "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
                  "cifar-10-batches-py")
CIFAR100 = Archive(("cifar-100-python-target_archive", "cifar-100-python.tar.gz"),
                   "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                   "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
                   "cifar-100-python")

_ARRAY_GLOBALS = {("numpy", "ndarray"), ("numpy", "dtype"),
                  ("numpy.core.multiarray", "_reconstruct"),
                  ("numpy._core.multiarray", "_reconstruct")}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ARRAY_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"Refusing to load {module}.{name} from a CIFAR batch: "
                                     "the file is not Keras's CIFAR archive.")


def find(archive):
    """Returns the path of a verified copy of `archive`."""
    folders = [os.path.join(file_utils.gazelle_home(), "datasets"),
               os.path.join(file_utils.keras_home(), "datasets")]
    candidates = [os.path.join(f, n) for f in folders for n in archive.names]
    rejected = []
    for path in candidates:
        if os.path.isfile(path):
            if _files.sha256(path) == archive.sha256:
                return path
            rejected.append(path)
    target = os.path.join(folders[0], archive.names[-1])
    try:
        print(f"Downloading data from {archive.url}")
        return file_utils.download(archive.url, target, archive.sha256, progress=True)
    except (OSError, ValueError, urllib.error.URLError) as e:
        failure = f"{type(e).__name__}: {e}"
    lines = [f"Could not find {archive.names[-1]} (sha256 {archive.sha256}) and could not "
             f"download it from {archive.url} ({failure}).", "Looked in:"]
    lines += [f"  {c}" for c in candidates]
    lines += [f"Rejected (wrong sha256): {r}" for r in rejected]
    lines.append(f"Download {archive.url} elsewhere and copy it to {candidates[-1]} (or "
                 f"{target}) to load it offline.")
    raise FileNotFoundError("\n".join(lines))


def read_batches(path, archive, members, label_key):
    """Returns `(images (n, 3, 32, 32) uint8, labels list)` from the named batch files."""
    images, labels = [], []
    with tarfile.open(path, "r:gz") as tar:
        for member in members:
            name = f"{archive.folder}/{member}"
            try:
                f = tar.extractfile(name)
            except KeyError:
                f = None
            if f is None:
                raise ValueError(f"{path} has no file {name}: it is not Keras's CIFAR archive.")
            batch = _ArraysOnly(io.BytesIO(f.read()), encoding="bytes").load()
            batch = {k.decode("utf8") if isinstance(k, bytes) else k: v
                     for k, v in batch.items()}
            data = np.asarray(batch["data"], dtype=np.uint8)
            images.append(data.reshape(len(data), 3, 32, 32))
            labels.extend(batch[label_key])
    return np.concatenate(images), labels


def channels(x):
    """Keras's layout: (n, 32, 32, 3) unless the image data format is channels_first."""
    return x.transpose(0, 2, 3, 1) if config.image_data_format() == "channels_last" else x
