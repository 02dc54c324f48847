"""Tiny Shakespeare: one text of 1,115,394 characters, bundled. [leaf: stdlib, numpy]

A gazelle extra (Keras has no such loader): the file character-level text-generation
tutorials use (karpathy/char-rnn's `tinyshakespeare/input.txt`, public domain), checked
by sha256 before use.
"""
import gzip

from gazelle.datasets import _files

DATASET = _files.Dataset(name="shakespeare", file_sets=(
    _files.FileSet(files=(("input.txt.gz",
                           "bed00f18e91cda6838950656f0a95e07e0f4dbe8649a4b959f7602a7e53fbc6e"),)),
))


def load_data(path=None):
    """Returns the Tiny Shakespeare text as one `str` (1,115,394 characters, 65 distinct).

    Args:
        path: optional folder holding `input.txt.gz`, or that file itself.

    ```python
    text = keras.datasets.shakespeare.load_data()
    chars = sorted(set(text))
    ```
    """
    _, paths = _files.find(DATASET, path)
    with gzip.open(paths["input.txt.gz"], "rb") as f:
        return f.read().decode("utf-8")
