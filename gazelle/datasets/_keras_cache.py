"""Finds a Keras-cache dataset file (imdb.npz, reuters.npz, word indexes). [leaf: stdlib]

Files gazelle cannot bundle are looked for, in order: an explicit existing `path`;
`$GAZELLE_HOME/datasets/<name>`; Keras's cache `$KERAS_HOME/datasets/<name>` (default
`~/.keras/datasets`). Each must have Keras's hash (sha256 or md5). If none is found,
Keras's download URL is tried through `gazelle.utils.file_utils.download`; when that
fails, a FileNotFoundError names the file, its hash and where to put it.
"""
import os
import urllib.error

from gazelle.utils import file_utils

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def find(name, file_hash, path=None):
    """Returns the path of a verified copy of Keras's dataset file `name`."""
    candidates = []
    if path is not None:
        path = os.path.expanduser(os.fspath(path))
        if os.path.isfile(path):
            if not file_utils.validate_file(path, file_hash):
                raise ValueError(f"File {path} is not Keras's {name}: its hash differs from "
                                 f"{file_hash}. Delete it or pass the original file.")
            return path
        if os.path.isabs(path) or os.sep in path:
            candidates.append(path)
        name_in_cache = os.path.basename(path)
    else:
        name_in_cache = name
    candidates += [os.path.join(file_utils.gazelle_home(), "datasets", name_in_cache),
                   os.path.join(file_utils.keras_home(), "datasets", name_in_cache)]
    rejected = []
    for candidate in candidates:
        if os.path.isfile(candidate):
            if file_utils.validate_file(candidate, file_hash):
                return candidate
            rejected.append(candidate)
    target = os.path.join(file_utils.gazelle_home(), "datasets", name_in_cache)
    url = ORIGIN + name
    try:
        print(f"Downloading data from {url}")
        return file_utils.download(url, target, file_hash, progress=True)
    except (OSError, ValueError, urllib.error.URLError) as e:
        failure = f"{type(e).__name__}: {e}"
    lines = [f"Could not find Keras's {name} (hash {file_hash}) and could not download it "
             f"from {url} ({failure}).", "Looked in:"]
    lines += [f"  {c}" for c in candidates]
    lines += [f"Rejected (wrong hash): {r}" for r in rejected]
    lines.append(f"Copy {name} into {os.path.dirname(candidates[-1])} (Keras's cache) or "
                 f"{os.path.dirname(target)}, or pass path= to load it offline.")
    raise FileNotFoundError("\n".join(lines))
