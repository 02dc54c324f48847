"""Finds a dataset's files offline first, and never uses a file whose sha256 is wrong.

[leaf: stdlib, numpy-free, gazelle.utils.file_utils; never jax.] Lookup order:

1. an explicit `path=` (a folder holding the files, or one file such as `mnist.npz`);
   if it exists it must be valid (anything else is an error); if it does not exist the
   lookup goes on, as Keras's `path="mnist.npz"` only names a cache file;
2. `$GAZELLE_HOME/datasets/<name>/` (default `~/.gazelle/datasets/<name>/`);
3. the copy bundled in this package (`gazelle/datasets/data/<name>/`);
4. the Keras cache (`$KERAS_HOME/datasets/...`, default `~/.keras/datasets/...`);
5. a download from the official mirrors into `$GAZELLE_HOME/datasets/<name>/`.

A corrupt file found in steps 2-4 is skipped with a warning. Verification results are
cached per process, keyed by (real path, size, mtime), so repeated `load_data()` calls
do not hash the same file twice.
"""
import dataclasses
import os
import urllib.error
import warnings

from gazelle.utils import file_utils

BUNDLED_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

_hashes = {}  # (realpath, size, mtime_ns) -> sha256 of the file's bytes


@dataclasses.dataclass(frozen=True)
class FileSet:
    """Files that together hold one dataset, and where they can be downloaded from."""
    files: tuple  # ((file name, sha256), ...)
    mirrors: tuple = ()  # base URLs; a file's URL is base + file name

    @property
    def names(self):
        return tuple(name for name, _ in self.files)


@dataclasses.dataclass(frozen=True)
class Dataset:
    """A dataset: folder name, accepted file sets (first = preferred), Keras cache folder."""
    name: str
    file_sets: tuple
    keras_subdir: str = ""  # folder under $KERAS_HOME/datasets


def sha256(path):
    """Returns the sha256 of the file at `path`, cached by (real path, size, mtime)."""
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _hashes:
        _hashes[key] = file_utils.hash_file(path, "sha256")
    return _hashes[key]


def verify(path, expected):
    """Raises ValueError naming the file and both hashes unless its sha256 is `expected`."""
    actual = sha256(path)
    if actual != expected:
        raise ValueError(f"File {path} is corrupt or incomplete: expected sha256 {expected}, "
                         f"got {actual}. Delete it (or replace it with the original file).")


def find(dataset, path=None):
    """Returns `(file_set, {file name: path})` for the first valid copy of `dataset`."""
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or os.PathLike (a file or folder), "
                            f"received {type(path).__name__}: {path!r}.")
        path = os.path.expanduser(os.fspath(path))
        if os.path.exists(path):
            return _from_explicit(dataset, path)
    looked, problems = [], []
    for folder in _folders(dataset):
        looked.append(folder)
        for file_set in dataset.file_sets:
            paths = {name: os.path.join(folder, name) for name in file_set.names}
            if not all(os.path.isfile(p) for p in paths.values()):
                continue
            try:
                for name, expected in file_set.files:
                    verify(paths[name], expected)
            except ValueError as e:
                warnings.warn(f"{e} Skipping it.", stacklevel=3)
                problems.append(str(e))
                continue
            return file_set, paths
    return _download(dataset, looked, problems)


def _folders(dataset):
    return [
        os.path.join(file_utils.gazelle_home(), "datasets", dataset.name),
        os.path.join(BUNDLED_DIR, dataset.name),
        os.path.join(file_utils.keras_home(), "datasets", dataset.keras_subdir),
    ]


def _from_explicit(dataset, path):
    if os.path.isdir(path):
        for file_set in dataset.file_sets:
            paths = {name: os.path.join(path, name) for name in file_set.names}
            if all(os.path.isfile(p) for p in paths.values()):
                for name, expected in file_set.files:
                    verify(paths[name], expected)
                return file_set, paths
        wanted = " or ".join(str(list(s.names)) for s in dataset.file_sets)
        raise ValueError(f"path={path!r} is a folder without the {dataset.name} files: expected "
                         f"{wanted}, found {sorted(os.listdir(path))}.")
    single = [s for s in dataset.file_sets if len(s.files) == 1]
    by_name = [s for s in single if s.names[0] == os.path.basename(path)]
    if by_name:  # a known file name must have that file's hash
        verify(path, by_name[0].files[0][1])
        return by_name[0], {by_name[0].names[0]: path}
    actual = sha256(path)
    for file_set in single:  # a renamed copy is recognised by its hash
        if file_set.files[0][1] == actual:
            return file_set, {file_set.names[0]: path}
    raise ValueError(
        f"path={path!r} is not a known {dataset.name} file: expected a folder holding "
        f"{list(dataset.file_sets[0].names)}"
        + "".join(f", or {s.names[0]} (sha256 {s.files[0][1]})" for s in single)
        + f"; the file's sha256 is {actual}.")


def _download(dataset, looked, problems):
    target = os.path.join(file_utils.gazelle_home(), "datasets", dataset.name)
    failures = []
    for file_set in dataset.file_sets:
        if not file_set.mirrors:
            continue
        paths = {}
        for name, expected in file_set.files:
            paths[name] = _download_one(name, expected, file_set.mirrors, target, failures)
            if paths[name] is None:
                break
        else:
            return file_set, paths
    lines = [f"Could not find the {dataset.name} dataset. Looked in:"]
    lines += [f"  {folder}" for folder in looked]
    lines += [f"Rejected: {p}" for p in problems]
    lines += [f"Download failed: {f}" for f in failures]
    names = " or ".join(str(list(s.names)) for s in dataset.file_sets)
    lines.append(f"Copy the files {names} into {target} (or pass path=) to load it offline.")
    raise FileNotFoundError("\n".join(lines))


def _download_one(name, expected, mirrors, target_dir, failures):
    target = os.path.join(target_dir, name)
    if os.path.isfile(target):
        if sha256(target) == expected:
            return target
    for base in mirrors:
        url = base + name
        print(f"Downloading data from {url}")
        try:
            return file_utils.download(url, target, expected, "sha256", progress=True)
        except (OSError, ValueError, urllib.error.URLError) as e:
            failures.append(f"{url}: {e}")
    return None
