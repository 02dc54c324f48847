"""Sentence polarity v1.0 (Pang & Lee 2005): 5,331 positive + 5,331 negative movie-review
sentences, bundled. [leaf: stdlib, numpy]

A gazelle extra (Keras has no such loader), for text-classification exercises; files
checked by sha256 before use.
"""
import gzip

import numpy as np

from gazelle.datasets import _files

DATASET = _files.Dataset(name="rt-polarity", file_sets=(
    _files.FileSet(files=(
        ("rt-polarity.pos.gz", "58c5c5f7391e24de6a72f4a92c3822cee707655a89a8658d31c6e50597114023"),
        ("rt-polarity.neg.gz", "11eb15001bf7e045356a5b3ff74d38f9070a4a492e4913bcebe11a79561e74cf"),
    )),
))


def _lines(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")          # the bundled copy is UTF-8
    except UnicodeDecodeError:
        text = raw.decode("latin-1")        # the authors' original files are Latin-1
    return [line.strip() for line in text.split("\n") if line.strip()]


def load_data(path=None):
    """Returns `(sentences, labels)`: 10,662 strings and int64 labels (1 positive, 0 negative).

    The sentences are lowercased and tokenized (punctuation split off by spaces), the 5,331
    positive ones first. There is no train/test split: take one with a fixed seed.

    Args:
        path: optional folder holding `rt-polarity.pos.gz` and `rt-polarity.neg.gz`.

    ```python
    sentences, labels = keras.datasets.rt_polarity.load_data()
    vectorize = keras.layers.TextVectorization(max_tokens=10000, output_sequence_length=40)
    vectorize.adapt(sentences)
    ```
    """
    _, paths = _files.find(DATASET, path)
    pos, neg = _lines(paths["rt-polarity.pos.gz"]), _lines(paths["rt-polarity.neg.gz"])
    sentences = np.array(pos + neg, dtype=object).astype(str)
    labels = np.concatenate([np.ones(len(pos), np.int64), np.zeros(len(neg), np.int64)])
    return sentences, labels
