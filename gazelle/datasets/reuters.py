"""Reuters newswire topics, as word-index sequences (Keras's `reuters.npz`). [leaf]

Not bundled: `load_data` reads Keras's cache (`~/.keras/datasets/reuters.npz`, same file
and sha256 as Keras), or downloads it from Keras's URL, or says where to put the file.
"""
import json

import numpy as np

from gazelle.datasets import _keras_cache, _sequences

_FILES = {
    "reuters.npz": "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916",
    "reuters_word_index.json": "4d44cc38712099c9e383dc6e5f11a921",
}

_LABELS = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply",
    "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas",
    "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin",
    "strategic-metal", "livestock", "retail", "ipi", "iron-steel", "rubber", "heat", "jobs",
    "lei", "bop", "zinc", "orange", "pet-chem", "dlr", "gas", "silver", "wpi", "hog", "lead")


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2,
              seed=113, start_char=1, oov_char=2, index_from=3):
    """Loads the Reuters dataset: 11,228 newswires labelled with 46 topics.

    Args:
        path: the file name in the cache (`~/.keras/datasets/`), or a path to the file.
        num_words, skip_top, maxlen, seed, start_char, oov_char, index_from: as
            `keras.datasets.imdb.load_data`.
        test_split: fraction of the (shuffled) samples used for the test set.

    Returns:
        `(x_train, y_train), (x_test, y_test)`; x arrays hold lists of ints.

    ```python
    (x_train, y_train), (x_test, y_test) = keras.datasets.reuters.load_data(num_words=10000)
    ```
    """
    if not 0 <= test_split < 1:
        raise ValueError(f"reuters.load_data: test_split must be in [0, 1). "
                         f"Received: test_split={test_split!r}")
    file = _keras_cache.find("reuters.npz", _FILES["reuters.npz"], path)
    with np.load(file, allow_pickle=True) as f:     # read only after its hash matched
        xs, labels = f["x"], f["y"]
    xs, labels = _sequences.shuffle(np.random.RandomState(seed), xs, labels)
    xs = _sequences.offset(xs, start_char, index_from)
    labels = list(labels)
    if maxlen:
        xs, labels = _sequences.drop_long(maxlen, xs, labels)
    xs = _sequences.limit_words(xs, num_words, skip_top, oov_char)
    n = int(len(xs) * (1 - test_split))
    labels = np.asarray(labels)
    return ((_sequences.as_object_array(xs[:n]), labels[:n]),
            (_sequences.as_object_array(xs[n:]), labels[n:]))


def get_word_index(path="reuters_word_index.json"):
    """Returns the dict word -> index (1 = most frequent) of the Reuters dataset."""
    file = _keras_cache.find("reuters_word_index.json", _FILES["reuters_word_index.json"], path)
    with open(file, encoding="utf-8") as f:
        return json.load(f)


def get_label_names():
    """Returns the 46 topic names; label `i` is `get_label_names()[i]`."""
    return _LABELS
