"""TextVectorization: strings -> integer ids (or multi-hot/count/tf-idf vectors). [L2: core]

All string work happens on the host in Python/NumPy; the layer returns NumPy arrays, so
a compiled step only ever sees integers. Keras 3's (TensorFlow's) text semantics:

- "lower" lowercases ASCII letters only (TensorFlow's `strings.lower` without an
  encoding); "strip_punctuation" removes ASCII punctuation ``!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'``;
- "whitespace" splits on runs of ASCII whitespace (space, \\t, \\n, \\v, \\f, \\r);
  "character" splits into Unicode code points;
- n-grams of each requested width, joined by a space, follow the unigrams row by row;
- the vocabulary of `adapt` is ordered by descending count, ties by descending token.
"""
import re

import numpy as np

from gazelle.core import serialization
from gazelle.layers.preprocessing.categorical import (StringLookup, _decode, _HostLayer,
                                                      _to_numpy, encode_categorical)

_PUNCTUATION = re.compile(r'[!"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~\']')
_WHITESPACE = re.compile(r"[ \t\n\v\f\r]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _standardize_one(text, mode):
    if mode in ("lower", "lower_and_strip_punctuation"):
        text = text.translate(_ASCII_LOWER)
    if mode in ("strip_punctuation", "lower_and_strip_punctuation"):
        text = _PUNCTUATION.sub("", text)
    return text


def _ngrams(tokens, widths):
    out = []
    for n in widths:
        out.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return out


def _check_choice(value, allowed, arg):
    if value is None or callable(value) or value in allowed:
        return value
    raise ValueError(f"TextVectorization: `{arg}` must be None, a callable or one of "
                     f"{allowed}. Received: {arg}={value!r}")


class TextVectorization(_HostLayer):
    """Turns strings into sequences of token ids (or into token-count vectors).

    Each string is standardized (lowercased, punctuation removed), split into tokens
    (words by default), optionally combined into n-grams, and looked up in a vocabulary
    that `adapt(texts)` learns (most frequent first) or that `vocabulary=` gives.
    In "int" mode id 0 is padding and id 1 the out-of-vocabulary token "[UNK]".
    The layer runs on the host (NumPy) and returns NumPy arrays: apply it to the data
    before `fit` (`x_ids = vectorize(x_text)`) and start the model with an Embedding.

    Args:
        max_tokens: maximum vocabulary size, including padding and "[UNK]" (None: no limit).
        standardize: "lower_and_strip_punctuation" (default), "lower",
            "strip_punctuation", None, or a callable taking and returning a NumPy array
            of strings.
        split: "whitespace" (default), "character", None, or a callable taking a
            NumPy array of strings and returning a list of token lists.
        ngrams: None, an int n (all n-grams of widths 1..n) or a tuple of widths.
        output_mode: "int" (default), "multi_hot", "count" or "tf_idf".
        output_sequence_length: with "int", pad or cut every sequence to this length
            (default None: pad to the longest sequence of the batch).
        pad_to_max_tokens: in the vector modes, use `max_tokens` columns.
        vocabulary: optional list of tokens (or a file path, one token per line).
        idf_weights: with "tf_idf" and `vocabulary`, one weight per term.
        sparse, ragged: must stay False (gazelle returns dense arrays).
        encoding: text encoding of byte-string inputs (default "utf-8").

    ```python
    vectorize = keras.layers.TextVectorization(max_tokens=10000, output_sequence_length=50)
    vectorize.adapt(train_texts)
    x_train = vectorize(train_texts)            # int ids, shape (n, 50)
    ```
    """

    _cast_inputs = False

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int",
                 output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None,
                 **kwargs):
        has_input = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        super().__init__(name=name, **kwargs)
        if sparse:
            raise ValueError("TextVectorization: `sparse=True` needs the TensorFlow backend; "
                             "gazelle returns dense arrays. Pass sparse=False.")
        if ragged:
            raise ValueError("TextVectorization: `ragged=True` needs the TensorFlow backend; "
                             "use output_sequence_length= or the default padding instead.")
        self._standardize = _check_choice(
            standardize, ("lower_and_strip_punctuation", "lower", "strip_punctuation"),
            "standardize")
        self._split = _check_choice(split, ("whitespace", "character"), "split")
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode == "tf-idf":
            output_mode = "tf_idf"
        modes = ("int", "one_hot", "multi_hot", "count", "tf_idf")
        if output_mode not in modes:
            raise ValueError(f"TextVectorization: `output_mode` must be one of {modes}. "
                             f"Received: output_mode={output_mode!r}")
        if isinstance(ngrams, list):
            ngrams = tuple(ngrams)
        if not (ngrams is None or isinstance(ngrams, int) or isinstance(ngrams, tuple) and all(
                isinstance(n, int) for n in ngrams)):
            raise ValueError("TextVectorization: `ngrams` must be None, an integer or a tuple "
                             f"of integers. Received: ngrams={ngrams!r}")
        if output_mode == "int" and not (output_sequence_length is None or isinstance(
                output_sequence_length, int)):
            raise ValueError("TextVectorization: `output_sequence_length` must be None or an "
                             f"integer. Received: {output_sequence_length!r}")
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError("TextVectorization: `output_sequence_length` is only used with "
                             f"output_mode='int'. Received: output_mode={output_mode!r}")
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self._encoding = encoding
        self._has_input_vocabulary = bool(has_input)
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode,
            encoding=encoding, has_input_vocabulary=self._has_input_vocabulary,
            vocabulary_size=vocabulary_size, name=f"{self.name}_lookup")

    # -- preprocessing ---------------------------------------------------------------------
    def _standardized(self, texts):
        if callable(self._standardize):
            # As Keras 3 on non-TensorFlow backends: the callable gets a NumPy str array.
            texts = _decode(np.asarray(self._standardize(texts.astype(str))), self._encoding)
        elif self._standardize is not None:
            flat = texts.reshape(-1)
            texts = np.array([_standardize_one(t, self._standardize) for t in flat],
                             dtype=object).reshape(texts.shape)
        return texts

    def _preprocess(self, inputs):
        """Standardized texts -> a list of token lists (split) or an object array (no split)."""
        texts = _decode(_to_numpy(inputs), self._encoding)
        texts = self._standardized(texts)
        if self._split is None:
            if self._ngrams is not None:
                raise ValueError("TextVectorization: `ngrams` needs a `split`.")
            return texts
        if texts.ndim > 1:
            if texts.shape[-1] != 1 or texts.ndim > 2:
                raise ValueError(
                    "TextVectorization: to split strings the input must have rank 1, or "
                    f"rank 2 with a last dimension of 1. Received shape {texts.shape}")
            texts = texts.reshape(-1)
        texts = texts.reshape(-1) if texts.ndim == 0 else texts
        if self._split == "whitespace":
            rows = [[t for t in _WHITESPACE.split(s) if t] for s in texts]
        elif self._split == "character":
            rows = [list(s) for s in texts]
        else:
            rows = [[_decode(np.asarray(t), self._encoding).item() if not isinstance(t, str)
                     else t for t in row] for row in self._split(texts)]
        if self._ngrams is not None:
            rows = [_ngrams(row, self._ngrams) for row in rows]
        return rows

    # -- vocabulary --------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None):
        """Learns the vocabulary (and idf weights) from the texts in `data`.

        Args:
            data: a NumPy array or list of strings, or an iterable of such batches
                (e.g. a generator); `(x, y)` tuples use `x`.
            batch_size: unused (kept for Keras's signature).
            steps: with an iterable, the number of batches to read (default: all).
        """
        lookup = self._lookup_layer
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}': it was given a fixed "
                             "vocabulary (`vocabulary=` or `set_vocabulary()`).")
        import collections
        counts, doc_counts, num_docs = collections.Counter(), collections.Counter(), 0
        if isinstance(data, (np.ndarray, list, tuple, str, bytes)) or hasattr(data, "shape"):
            arr = np.asarray(data)
            batches = [arr.reshape(-1, 1) if arr.ndim == 1 else arr]
        elif hasattr(data, "__iter__"):
            batches = ((b[0] if isinstance(b, tuple) else b) for b in data)
        else:
            raise TypeError("TextVectorization.adapt: `data` must be an array or list of "
                            f"strings, or an iterable of batches. Received: "
                            f"{type(data).__name__}")
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            rows = self._preprocess(batch)
            if self._split is None:
                rows = np.asarray(rows, dtype=object)
                rows = [rows.reshape(-1).tolist()] if rows.ndim <= 1 else [
                    r.reshape(-1).tolist() for r in rows]
            for row in rows:
                counts.update(row)
                if self._output_mode == "tf_idf":
                    doc_counts.update(set(row))
            num_docs += len(rows)
        lookup._finish_adapt(counts, doc_counts, num_docs)

    def get_vocabulary(self, include_special_tokens=True):
        """Returns the vocabulary; position `i` holds the token of id `i`.

        Args:
            include_special_tokens: if True (default), include padding "" and "[UNK]".
        """
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        """The vocabulary size, including padding and OOV entries."""
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary (and the idf weights for "tf_idf") directly.

        Args:
            vocabulary: a list or 1D array of tokens, or a file path (one per line).
            idf_weights: with "tf_idf", one weight per vocabulary entry.
        """
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    # -- call --------------------------------------------------------------------------
    def build(self, input_shape=None):
        self.built = True

    def call(self, inputs):
        if self._split is not None and np.ndim(inputs) == 0:
            return self.call(np.reshape(inputs, (1,)))[0]     # one text -> one row
        processed = self._preprocess(inputs)
        lookup = self._lookup_layer
        if self._split is None:
            ids = lookup(processed)
            if self._output_mode != "int" or self._output_sequence_length is None:
                return ids
            return self._fit_length(ids, ids.shape[-1] if ids.ndim else 0)
        lengths = [len(r) for r in processed]
        flat = np.array([t for r in processed for t in r], dtype=object)
        pad = 0 if self._output_mode == "int" else -1
        width = max(lengths, default=0)
        if self._output_mode == "int" and self._output_sequence_length is not None:
            width = self._output_sequence_length
        ids = np.full((len(processed), width), pad, dtype=np.int64)
        flat_ids = lookup._lookup(flat) if len(flat) else np.zeros(0, np.int64)
        pos = 0
        for i, n in enumerate(lengths):
            k = min(n, width)
            ids[i, :k] = flat_ids[pos:pos + k]
            pos += n
        if self._output_mode == "int":
            return ids
        lookup._called = True
        depth = lookup.max_tokens if lookup.pad_to_max_tokens else lookup.vocabulary_size()
        mode = "count" if self._output_mode == "tf_idf" else self._output_mode
        out = encode_categorical(ids, mode, depth, self._dtype)
        if self._output_mode == "tf_idf":
            out = out * lookup.idf_weights
        return out

    def _fit_length(self, ids, current):
        length = self._output_sequence_length
        ids = ids[..., :length]
        if current < length:
            pad = [(0, 0)] * (ids.ndim - 1) + [(0, length - ids.shape[-1])]
            ids = np.pad(ids, pad)
        return ids

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self._output_mode == "int":
            if self._split is None:
                return input_shape
            return (input_shape[0], self._output_sequence_length)
        lookup = self._lookup_layer
        depth = lookup.max_tokens if lookup.pad_to_max_tokens else lookup.vocabulary_size()
        if self._split is None:
            return (input_shape[:-1] if len(input_shape) > 1 else ()) + (depth,)
        return (input_shape[0], depth)

    def get_config(self):
        lookup = self._lookup_layer
        vocabulary = lookup.input_vocabulary
        idf = lookup.input_idf_weights
        if vocabulary is None and lookup._tokens:
            # Keras 3 writes an adapted vocabulary to the .keras file's assets; gazelle keeps
            # it in the config so that a saved model keeps its ids.
            vocabulary = lookup.get_vocabulary()
            if self._output_mode == "tf_idf":
                idf = lookup.idf_weights[:len(vocabulary)]
        if isinstance(vocabulary, np.ndarray):
            vocabulary = vocabulary.tolist()
        return {**super().get_config(), "max_tokens": lookup.max_tokens,
                "standardize": self._serialize(self._standardize),
                "split": self._serialize(self._split), "ngrams": self._ngrams_arg,
                "output_mode": self._output_mode,
                "output_sequence_length": self._output_sequence_length,
                "pad_to_max_tokens": lookup.pad_to_max_tokens, "sparse": False,
                "ragged": False, "vocabulary": vocabulary,
                "idf_weights": None if idf is None else np.asarray(idf).tolist(),
                "encoding": self._encoding, "vocabulary_size": self.vocabulary_size()}

    # Keras 3's saving hooks: the vocabulary is an asset, idf weights a variable.
    def save_assets(self, dir_path):
        """Writes the vocabulary to `dir_path/vocabulary.txt` (Keras 3's .keras layout)."""
        self._lookup_layer.save_assets(dir_path)

    def load_assets(self, dir_path):
        """Reads the vocabulary from `dir_path/vocabulary.txt` (Keras 3's .keras layout)."""
        self._lookup_layer.load_assets(dir_path)

    def save_own_variables(self, store):
        """Stores the idf weights in "tf_idf" mode."""
        self._lookup_layer.save_own_variables(store)

    def load_own_variables(self, store):
        """Reads the idf weights in "tf_idf" mode."""
        self._lookup_layer.load_own_variables(store)

    @staticmethod
    def _serialize(value):
        if value is None or isinstance(value, str):
            return value
        return serialization.serialize_keras_object(value)

    @classmethod
    def from_config(cls, config_):
        config_ = dict(config_)
        for key in ("standardize", "split"):
            if isinstance(config_.get(key), dict):
                config_[key] = serialization.deserialize_keras_object(config_[key])
        return cls(**config_)
