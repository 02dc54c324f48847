"""Keras's post-processing of word-index datasets (imdb, reuters). [leaf: numpy]"""
import numpy as np


def shuffle(rng, *arrays):
    indices = np.arange(len(arrays[0]))
    rng.shuffle(indices)
    return tuple(a[indices] for a in arrays)


def offset(xs, start_char, index_from):
    """Prepends `start_char` (when set) and shifts every word index by `index_from`."""
    head = [] if start_char is None else [start_char]
    return [head + [int(w) + index_from for w in x] for x in xs]


def drop_long(maxlen, xs, labels):
    """Keeps the sequences strictly shorter than `maxlen` (Keras's rule)."""
    keep = [i for i, x in enumerate(xs) if len(x) < maxlen]
    return [xs[i] for i in keep], [labels[i] for i in keep]


def limit_words(xs, num_words, skip_top, oov_char):
    """Replaces (or drops, with oov_char=None) indices outside `[skip_top, num_words)`."""
    if not num_words:
        num_words = max(max(x) for x in xs if len(x))
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def as_object_array(xs):
    out = np.empty(len(xs), dtype=object)
    for i, x in enumerate(xs):
        out[i] = x
    return out
