"""IMDB movie-review sentiment, as word-index sequences (Keras's `imdb.npz`). [leaf]

Not bundled: `load_data` reads Keras's cache (`~/.keras/datasets/imdb.npz`, same file
and sha256 as Keras), or downloads it from Keras's URL, or says where to put the file.
"""
import json

import numpy as np

from gazelle.datasets import _keras_cache, _sequences

_FILES = {
    "imdb.npz": "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
    "imdb_word_index.json": "bfafd718b763782e994055a2d397834f",
}


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113,
              start_char=1, oov_char=2, index_from=3, **kwargs):
    """Loads the IMDB dataset: 25,000 training and 25,000 test reviews, labels 0/1.

    Each review is a list of word indices (1 + `index_from` for the most frequent word,
    and so on), after Keras's shuffle with `seed`.

    Args:
        path: the file name in the cache (`~/.keras/datasets/`), or a path to the file.
        num_words: keep only the `num_words` most frequent words (others -> `oov_char`).
        skip_top: also replace the `skip_top` most frequent words by `oov_char`.
        maxlen: drop sequences of `maxlen` words or more.
        seed: the shuffle's seed.
        start_char: index that starts every sequence (None: none).
        oov_char: index of replaced words (None: drop them instead).
        index_from: offset added to every word index.

    Returns:
        `(x_train, y_train), (x_test, y_test)`; x arrays hold lists of ints.

    ```python
    (x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data(num_words=10000)
    ```
    """
    if kwargs:
        raise TypeError(f"imdb.load_data: unexpected keyword arguments {sorted(kwargs)}.")
    file = _keras_cache.find("imdb.npz", _FILES["imdb.npz"], path)
    # The file holds object arrays (pickled lists); it is only read after its hash matched.
    with np.load(file, allow_pickle=True) as f:
        x_train, y_train = f["x_train"], f["y_train"]
        x_test, y_test = f["x_test"], f["y_test"]
    rng = np.random.RandomState(seed)
    x_train, y_train = _sequences.shuffle(rng, x_train, y_train)
    x_test, y_test = _sequences.shuffle(rng, x_test, y_test)
    x_train = _sequences.offset(x_train, start_char, index_from)
    x_test = _sequences.offset(x_test, start_char, index_from)
    y_train, y_test = list(y_train), list(y_test)
    if maxlen:
        x_train, y_train = _sequences.drop_long(maxlen, x_train, y_train)
        x_test, y_test = _sequences.drop_long(maxlen, x_test, y_test)
        if not x_train or not x_test:
            raise ValueError(f"imdb.load_data: no sequence is shorter than maxlen={maxlen}; "
                             "increase maxlen.")
    xs = _sequences.limit_words(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([np.asarray(y_train), np.asarray(y_test)])
    n = len(x_train)
    return ((_sequences.as_object_array(xs[:n]), labels[:n]),
            (_sequences.as_object_array(xs[n:]), labels[n:]))


def get_word_index(path="imdb_word_index.json"):
    """Returns the dict word -> index (1 = most frequent) of the IMDB dataset.

    Indices in `load_data`'s sequences are these plus `index_from` (3 by default).
    """
    file = _keras_cache.find("imdb_word_index.json", _FILES["imdb_word_index.json"], path)
    with open(file, encoding="utf-8") as f:
        return json.load(f)
