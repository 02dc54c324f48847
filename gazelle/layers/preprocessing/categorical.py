"""Categorical preprocessing: StringLookup, IntegerLookup, Hashing, CategoryEncoding,
Discretization. [L2: core, config]

Vocabulary lookups and hashing are host work: they run eagerly in NumPy (strings never
reach a compiled step) and return NumPy arrays. `CategoryEncoding` and `Discretization`
are plain array math and also run inside compiled models.

Vocabulary order after `adapt` follows Keras 3: tokens by descending count, ties broken
by the tokens themselves in descending order (byte order for strings, as TensorFlow's
sort of UTF-8 bytes does). Hashing reproduces TensorFlow's `to_hash_bucket_fast`
(FarmHash Fingerprint64) and `to_hash_bucket_strong` (SipHash-2-4 keyed by the salt).
"""
import collections
import numbers

import jax
import jax.numpy as jnp
import numpy as np

from gazelle import config
from gazelle.core import symbolic
from gazelle.core.host import applied_on_host
from gazelle.layers.layer import Layer

_OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
_MASK64 = (1 << 64) - 1


# -- hashing (FarmHash Fingerprint64 and SipHash-2-4, as TensorFlow's string ops) --------
_K0 = 0xc3a5c85c97cb3127
_K1 = 0xb492b66fbe98f273
_K2 = 0x9ae16a3b2f90404f


def _rot(v, s):
    return ((v >> s) | (v << (64 - s))) & _MASK64 if s else v


def _u64(b, i):
    return int.from_bytes(b[i:i + 8], "little")


def _u32(b, i):
    return int.from_bytes(b[i:i + 4], "little")


def _shift_mix(v):
    return v ^ (v >> 47)


def _len16(u, v, mul):
    a = ((u ^ v) * mul) & _MASK64
    a ^= a >> 47
    b = ((v ^ a) * mul) & _MASK64
    b ^= b >> 47
    return (b * mul) & _MASK64


def _len0to16(s):
    n = len(s)
    if n >= 8:
        mul = _K2 + n * 2
        a = (_u64(s, 0) + _K2) & _MASK64
        b = _u64(s, n - 8)
        c = (_rot(b, 37) * mul + a) & _MASK64
        d = ((_rot(a, 25) + b) * mul) & _MASK64
        return _len16(c, d, mul)
    if n >= 4:
        mul = _K2 + n * 2
        return _len16(n + (_u32(s, 0) << 3), _u32(s, n - 4), mul)
    if n > 0:
        y = (s[0] + (s[n >> 1] << 8)) & 0xffffffff
        z = (n + (s[n - 1] << 2)) & 0xffffffff
        return (_shift_mix(((y * _K2) ^ (z * _K0)) & _MASK64) * _K2) & _MASK64
    return _K2


def _len17to32(s):
    n = len(s)
    mul = _K2 + n * 2
    a = (_u64(s, 0) * _K1) & _MASK64
    b = _u64(s, 8)
    c = (_u64(s, n - 8) * mul) & _MASK64
    d = (_u64(s, n - 16) * _K2) & _MASK64
    return _len16((_rot((a + b) & _MASK64, 43) + _rot(c, 30) + d) & _MASK64,
                  (a + _rot((b + _K2) & _MASK64, 18) + c) & _MASK64, mul)


def _len33to64(s):
    n = len(s)
    mul = _K2 + n * 2
    a = (_u64(s, 0) * _K2) & _MASK64
    b = _u64(s, 8)
    c = (_u64(s, n - 8) * mul) & _MASK64
    d = (_u64(s, n - 16) * _K2) & _MASK64
    y = (_rot((a + b) & _MASK64, 43) + _rot(c, 30) + d) & _MASK64
    z = _len16(y, (a + _rot((b + _K2) & _MASK64, 18) + c) & _MASK64, mul)
    e = (_u64(s, 16) * mul) & _MASK64
    f = _u64(s, 24)
    g = ((y + _u64(s, n - 32)) * mul) & _MASK64
    h = ((z + _u64(s, n - 24)) * mul) & _MASK64
    return _len16((_rot((e + f) & _MASK64, 43) + _rot(g, 30) + h) & _MASK64,
                  (e + _rot((f + a) & _MASK64, 18) + g) & _MASK64, mul)


def _weak32(s, i, a, b):
    w, x, y, z = _u64(s, i), _u64(s, i + 8), _u64(s, i + 16), _u64(s, i + 24)
    a = (a + w) & _MASK64
    b = _rot((b + a + z) & _MASK64, 21)
    c = a
    a = (a + x + y) & _MASK64
    b = (b + _rot(a, 44)) & _MASK64
    return (a + z) & _MASK64, (b + c) & _MASK64


def fingerprint64(data):
    """FarmHash's Fingerprint64 of `data` (bytes), as TensorFlow's `Fingerprint64`."""
    s = bytes(data)
    n = len(s)
    if n <= 16:
        return _len0to16(s)
    if n <= 32:
        return _len17to32(s)
    if n <= 64:
        return _len33to64(s)
    seed = 81
    y = (seed * _K1 + 113) & _MASK64
    z = (_shift_mix((y * _K2 + 113) & _MASK64) * _K2) & _MASK64
    v0 = v1 = w0 = w1 = 0
    x = (seed * _K2 + _u64(s, 0)) & _MASK64
    end = ((n - 1) // 64) * 64
    last64 = end + ((n - 1) & 63) - 63
    i = 0
    while True:
        x = (_rot((x + y + v0 + _u64(s, i + 8)) & _MASK64, 37) * _K1) & _MASK64
        y = (_rot((y + v1 + _u64(s, i + 48)) & _MASK64, 42) * _K1) & _MASK64
        x ^= w1
        y = (y + v0 + _u64(s, i + 40)) & _MASK64
        z = (_rot((z + w0) & _MASK64, 33) * _K1) & _MASK64
        v0, v1 = _weak32(s, i, (v1 * _K1) & _MASK64, (x + w0) & _MASK64)
        w0, w1 = _weak32(s, i + 32, (z + w1) & _MASK64, (y + _u64(s, i + 16)) & _MASK64)
        z, x = x, z
        i += 64
        if i == end:
            break
    mul = _K1 + ((z & 0xff) << 1)
    i = last64
    w0 = (w0 + ((n - 1) & 63)) & _MASK64
    v0 = (v0 + w0) & _MASK64
    w0 = (w0 + v0) & _MASK64
    x = (_rot((x + y + v0 + _u64(s, i + 8)) & _MASK64, 37) * mul) & _MASK64
    y = (_rot((y + v1 + _u64(s, i + 48)) & _MASK64, 42) * mul) & _MASK64
    x ^= (w1 * 9) & _MASK64
    y = (y + v0 * 9 + _u64(s, i + 40)) & _MASK64
    z = (_rot((z + w0) & _MASK64, 33) * mul) & _MASK64
    v0, v1 = _weak32(s, i, (v1 * mul) & _MASK64, (x + w0) & _MASK64)
    w0, w1 = _weak32(s, i + 32, (z + w1) & _MASK64, (y + _u64(s, i + 16)) & _MASK64)
    z, x = x, z
    return _len16((_len16(v0, w0, mul) + _shift_mix(y) * _K0 + z) & _MASK64,
                  (_len16(v1, w1, mul) + x) & _MASK64, mul)


def siphash24(data, key):
    """SipHash-2-4 of `data` (bytes) under `key = (k0, k1)` (two 64-bit integers)."""
    k0, k1 = (int(k) & _MASK64 for k in key)
    v0, v1 = k0 ^ 0x736f6d6570736575, k1 ^ 0x646f72616e646f6d
    v2, v3 = k0 ^ 0x6c7967656e657261, k1 ^ 0x7465646279746573

    def rounds(v0, v1, v2, v3, count):
        for _ in range(count):
            v0 = (v0 + v1) & _MASK64
            v1 = _rot(v1, 64 - 13) ^ v0
            v0 = _rot(v0, 32)
            v2 = (v2 + v3) & _MASK64
            v3 = _rot(v3, 64 - 16) ^ v2
            v0 = (v0 + v3) & _MASK64
            v3 = _rot(v3, 64 - 21) ^ v0
            v2 = (v2 + v1) & _MASK64
            v1 = _rot(v1, 64 - 17) ^ v2
            v2 = _rot(v2, 32)
        return v0, v1, v2, v3

    s = bytes(data)
    n = len(s)
    tail = n - n % 8
    blocks = [_u64(s, i) for i in range(0, tail, 8)]
    blocks.append(int.from_bytes(s[tail:], "little") | ((n & 0xff) << 56))
    for m in blocks:
        v3 ^= m
        v0, v1, v2, v3 = rounds(v0, v1, v2, v3, 2)
        v0 ^= m
    v2 ^= 0xff
    v0, v1, v2, v3 = rounds(v0, v1, v2, v3, 4)
    return v0 ^ v1 ^ v2 ^ v3


def _as_hash_bytes(value):
    """The bytes TensorFlow hashes: UTF-8 text, or an integer's decimal string."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (numbers.Integral, np.integer)):
        return str(int(value)).encode()
    if isinstance(value, (numbers.Real, np.floating)):
        return str(int(value)).encode()    # floats are truncated to int64 first
    raise TypeError(f"Cannot hash a value of type {type(value).__name__}: {value!r}")


def hash_buckets(values, num_buckets, salt=None):
    """Bucket ids in `[0, num_buckets)` of an array of strings or integers (NumPy int64)."""
    values = np.asarray(values, dtype=object)
    out = np.empty(values.shape, dtype=np.int64)
    flat_in, flat_out = values.reshape(-1), out.reshape(-1)
    cache = {}
    for i, value in enumerate(flat_in):
        data = _as_hash_bytes(value)
        h = cache.get(data)
        if h is None:
            h = fingerprint64(data) if salt is None else siphash24(data, salt)
            cache[data] = h
        flat_out[i] = h % num_buckets
    return out


# -- shared helpers ---------------------------------------------------------------------
def _to_numpy(x):
    if isinstance(x, jax.core.Tracer):
        raise TypeError(
            "This preprocessing layer runs on the host (NumPy) and cannot be traced inside "
            "a compiled function. Apply it to your data before `fit`/`predict` (e.g. "
            "`x = layer(x)`), and start the model at the layer that follows it.")
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    return np.asarray(x)


def _decode(x, encoding="utf-8"):
    """A NumPy array of Python `str` (object dtype) from str/bytes arrays or lists."""
    arr = np.asarray(x)
    if arr.dtype.kind == "U":
        return arr.astype(object)
    if arr.dtype.kind in "SO":
        out = np.empty(arr.shape, dtype=object)
        flat, flat_out = arr.reshape(-1), out.reshape(-1)
        for i, v in enumerate(flat):
            if isinstance(v, bytes):
                v = v.decode(encoding)
            elif not isinstance(v, str):
                raise TypeError(f"Expected strings, received an element of type "
                                f"{type(v).__name__}: {v!r}")
            flat_out[i] = v
        return out
    raise TypeError(f"Expected an array of strings, received dtype {arr.dtype}.")


def encode_categorical(ids, output_mode, depth, dtype="float32", count_weights=None, xp=np):
    """Encodes integer ids as Keras 3 does: one_hot, multi_hot or count over `depth`.

    Ids outside `[0, depth)` contribute nothing. Rank-1 inputs are one sample for
    multi_hot/count; a trailing axis of size 1 is dropped for one_hot.
    """
    ids = xp.asarray(ids)
    if ids.ndim == 0:
        ids = ids[None]
    if output_mode == "one_hot" and ids.ndim > 1 and ids.shape[-1] == 1:
        ids = ids.reshape(ids.shape[:-1])
    hot = ids[..., None] == xp.arange(depth)
    if output_mode == "one_hot":
        return hot.astype(dtype)
    axis = 1 if ids.ndim > 1 else 0
    if output_mode == "multi_hot":
        return hot.any(axis=axis).astype(dtype)
    hot = hot.astype(dtype)
    if count_weights is not None:
        hot = hot * xp.asarray(count_weights, dtype)[..., None]
    return hot.sum(axis=axis)


def _check_mode(layer, output_mode, allowed):
    if output_mode == "binary":
        output_mode = "multi_hot"
    if output_mode == "tf-idf":
        output_mode = "tf_idf"
    if output_mode not in allowed:
        raise ValueError(f"{layer}: `output_mode` must be one of {allowed}. "
                         f"Received: output_mode={output_mode!r}")
    return output_mode


def _iter_batches(data):
    """Batches of `data`: one for an array/list/tuple, else each item of an iterable."""
    if isinstance(data, (np.ndarray, list, tuple)) or hasattr(data, "shape") or isinstance(
            data, (str, bytes)):
        return [data], True
    if hasattr(data, "__iter__"):
        return ((b[0] if isinstance(b, tuple) else b) for b in data), False
    raise TypeError(f"adapt: `data` must be an array, a list, or an iterable of batches. "
                    f"Received: {type(data).__name__}")


class _HostLayer(Layer):
    """A layer that runs on the host: lists of strings become NumPy arrays first.

    `_runs_on_host` tells a trainer that the layer cannot run inside a compiled step: at
    the front of a model, fit/evaluate/predict apply it to the data on the host
    (training/host.py), and inside the compiled step it passes its input through.
    """

    _cast_inputs = False
    _runs_on_host = True

    def __call__(self, inputs, *args, **kwargs):
        if applied_on_host(self) and not symbolic.any_symbolic(inputs):
            return inputs
        if isinstance(inputs, (list, tuple, str, bytes)):
            inputs = np.asarray(inputs)
        return super().__call__(inputs, *args, **kwargs)


# -- lookups ----------------------------------------------------------------------------
class _IndexLookup(_HostLayer):
    """Shared machinery of StringLookup and IntegerLookup (a token -> index table)."""

    _cast_inputs = False
    _is_string = True

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary=None,
                 idf_weights=None, invert=False, output_mode="int", sparse=False,
                 pad_to_max_tokens=False, oov_method="floormod", salt=None, **kwargs):
        kind = type(self).__name__
        self._frozen_vocab_size = kwargs.pop("vocabulary_size", None)
        has_input = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(**kwargs)
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(f"{kind}: if set, `max_tokens` must be greater than 1. "
                             f"Received: max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(f"{kind}: `pad_to_max_tokens=True` needs `max_tokens`. "
                             f"Received: max_tokens={max_tokens}")
        if not isinstance(num_oov_indices, numbers.Integral) or num_oov_indices < 0:
            raise ValueError(f"{kind}: `num_oov_indices` must be an integer >= 0. "
                             f"Received: num_oov_indices={num_oov_indices!r}")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(f"{kind}: `oov_method` must be 'floormod' or 'farmhash'. "
                             f"Received: oov_method={oov_method!r}")
        output_mode = _check_mode(kind, output_mode, _OUTPUT_MODES)
        if invert and output_mode != "int":
            raise ValueError(f"{kind}: `output_mode` must be 'int' when `invert=True`. "
                             f"Received: output_mode={output_mode!r}")
        if sparse:
            raise ValueError(f"{kind}: `sparse=True` needs the TensorFlow backend; gazelle "
                             "returns dense arrays. Pass sparse=False.")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"{kind}: `idf_weights` is only used with output_mode='tf_idf'. "
                             f"Received: output_mode={output_mode!r}")
        if salt is not None:
            if not self._is_string and oov_method != "farmhash":
                raise ValueError(f"{kind}: `salt` needs oov_method='farmhash'. "
                                 f"Received: oov_method={oov_method!r}")
            if isinstance(salt, (tuple, list)) and len(salt) == 2:
                salt = [int(s) for s in salt]
            elif isinstance(salt, numbers.Integral):
                salt = [int(salt), int(salt)]
            else:
                raise ValueError(f"{kind}: `salt` must be an integer or a pair of integers. "
                                 f"Received: salt={salt!r}")
        self.max_tokens = max_tokens
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.invert = bool(invert)
        self.output_mode = output_mode
        self.sparse = False
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.oov_method = oov_method
        self.salt = salt
        self.input_vocabulary = vocabulary if not isinstance(vocabulary, str) else None
        self.input_idf_weights = idf_weights
        self._has_input_vocabulary = bool(has_input)
        self._tokens = []          # learned/set tokens, without the special ones
        self._index = {}
        self.idf_weights = None
        if output_mode == "tf_idf" and self._has_input_vocabulary and idf_weights is None:
            raise ValueError(f"{kind}: with `vocabulary` and output_mode='tf_idf', pass "
                             "`idf_weights` too.")
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    # indices of the special entries
    def _oov_start_index(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self):
        return self._oov_start_index() + self.num_oov_indices

    def _normalize_tokens(self, values):
        """Host array of tokens (Python str objects, or int64)."""
        if self._is_string:
            try:
                return _decode(values, getattr(self, "encoding", "utf-8"))
            except TypeError as e:
                raise TypeError(f"Layer '{self.name}' ({type(self).__name__}): {e} Use "
                                "IntegerLookup for integer tokens.") from None
        arr = np.asarray(values)
        if arr.dtype.kind not in "iub":
            if arr.dtype.kind == "f" and np.all(arr == np.round(arr)):
                return arr.astype(np.int64)
            raise TypeError(f"{type(self).__name__}: expected integer tokens, received "
                            f"dtype {arr.dtype}.")
        return arr.astype(np.int64)

    def _token_key(self, t):
        return str(t) if self._is_string else int(t)

    def vocabulary_size(self):
        """The size of the vocabulary, including the mask and OOV entries."""
        return len(self._tokens) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens=True):
        """Returns the vocabulary: index `i` of the list is the token of id `i`.

        Args:
            include_special_tokens: if True (default), the list starts with the mask
                and OOV tokens, so that positions equal ids.
        """
        special = ([self.mask_token] * self._oov_start_index()
                   + [self.oov_token] * self.num_oov_indices)
        vocab = special + list(self._tokens)
        if not include_special_tokens:
            vocab = vocab[self._token_start_index():]
        return vocab

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary (and, for 'tf_idf', the idf weights) directly.

        Args:
            vocabulary: a list, tuple or 1D array of tokens, or the path of a text file
                with one token per line. It may start with the mask and OOV tokens.
            idf_weights: for output_mode='tf_idf', a 1D array with one weight per entry
                of `vocabulary`.
        """
        kind = type(self).__name__
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ValueError(f"{kind}: `idf_weights` must be set when output_mode='tf_idf'.")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ValueError(f"{kind}: `idf_weights` is only used with output_mode='tf_idf'. "
                             f"Received: output_mode={self.output_mode!r}")
        if isinstance(vocabulary, str):
            if self.output_mode == "tf_idf":
                raise ValueError(f"{kind}: output_mode='tf_idf' cannot load a vocabulary "
                                 "from a file; pass a list and `idf_weights`.")
            try:
                with open(vocabulary, encoding="utf-8") as f:
                    lines = f.read().splitlines()
            except OSError as e:
                raise ValueError(f"{kind}: vocabulary file {vocabulary!r} cannot be read: "
                                 f"{e}") from None
            while lines and lines[-1] == "":
                lines.pop()
            vocabulary = lines if self._is_string else [int(x) for x in lines]
        if hasattr(vocabulary, "numpy") and not isinstance(vocabulary, np.ndarray):
            vocabulary = vocabulary.numpy()
        vocab = [self._token_key(t) for t in
                 (self._normalize_tokens(vocabulary).reshape(-1).tolist()
                  if len(vocabulary) else [])]
        if not vocab:
            raise ValueError(f"{kind}: cannot set an empty vocabulary.")
        start = self._token_start_index()
        special = ([self.mask_token] * self._oov_start_index()
                   + [self.oov_token] * self.num_oov_indices)
        found_special = vocab[:start] == [self._token_key(t) for t in special]
        tokens = vocab[start:] if found_special else vocab
        repeated = [t for t, c in collections.Counter(tokens).items() if c > 1]
        if repeated:
            raise ValueError(f"{kind}: the vocabulary has repeated tokens {repeated}; "
                             "each token must appear once.")
        if self.mask_token is not None and self._token_key(self.mask_token) in tokens:
            raise ValueError(
                f"{kind}: the mask token {self.mask_token!r} is in the vocabulary at an "
                f"unexpected position. Remove it, or start the vocabulary with exactly "
                f"{special}.")
        if self.invert and self.oov_token is not None and \
                self._token_key(self.oov_token) in tokens:
            raise ValueError(
                f"{kind}: the OOV token {self.oov_token!r} is in the vocabulary at an "
                f"unexpected position. Remove it, or start the vocabulary with exactly "
                f"{special}.")
        if self.max_tokens is not None and start + len(tokens) > self.max_tokens:
            raise ValueError(f"{kind}: the vocabulary has {start + len(tokens)} entries, "
                             f"more than max_tokens={self.max_tokens}.")
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            weights = np.asarray(idf_weights, dtype=np.float64)
            if weights.ndim != 1 or len(weights) != len(vocab):
                raise ValueError(f"{kind}: `idf_weights` must be 1D with one weight per "
                                 f"vocabulary entry ({len(vocab)}). Received shape "
                                 f"{weights.shape}")
            front = 0 if found_special else start
            back = (self.max_tokens - front - len(weights)
                    if self.pad_to_max_tokens else 0)
            self.idf_weights = np.concatenate([
                np.full(front, weights.mean() if len(weights) else 0.0), weights,
                np.zeros(max(back, 0))]).astype(config.floatx())

    def _set_tokens(self, tokens):
        if (self._frozen_vocab_size is not None and self.output_mode != "int"
                and not self.pad_to_max_tokens
                and len(tokens) + self._token_start_index() != self._frozen_vocab_size
                and getattr(self, "_called", False)):
            raise RuntimeError(
                f"{type(self).__name__}: with output_mode={self.output_mode!r} and "
                "pad_to_max_tokens=False the vocabulary size cannot change after the layer "
                f"was called (was {self._frozen_vocab_size}, now "
                f"{len(tokens) + self._token_start_index()}).")
        self._tokens = list(tokens)
        start = self._token_start_index()
        self._index = {t: start + i for i, t in enumerate(self._tokens)}
        self._frozen_vocab_size = self.vocabulary_size()

    # -- adapt ------------------------------------------------------------------------
    def adapt(self, data, steps=None):
        """Builds the vocabulary from the tokens in `data`, most frequent first.

        Args:
            data: an array or list of tokens, or an iterable of such batches (for
                example a generator).
            steps: with an iterable, the number of batches to read (default: all).
        """
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}': it was given a fixed "
                             "vocabulary (`vocabulary=` or `set_vocabulary()`).")
        counts = collections.Counter()
        doc_counts = collections.Counter()
        num_docs = 0
        batches, whole = _iter_batches(data)
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            if whole and np.ndim(batch) == 1:
                # One array of tokens: each token is a document (a batch from an
                # iterable is one document), as Keras counts them for tf_idf.
                batch = np.asarray(batch).reshape(-1, 1)
            docs = self._adapt_rows(batch)
            for row in docs:
                counts.update(row)
                if self.output_mode == "tf_idf":
                    doc_counts.update(set(row))
            num_docs += len(docs)
        self._finish_adapt(counts, doc_counts, num_docs)

    def _adapt_rows(self, batch):
        """Rows (documents) of token keys in one adapt batch, as Keras counts them."""
        arr = self._normalize_tokens(batch)
        if arr.ndim <= 1:
            arr = arr.reshape(1, -1)
        return [[self._token_key(t) for t in row.reshape(-1).tolist()] for row in arr]

    def _finish_adapt(self, counts, doc_counts, num_docs):
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                counts.pop(self._token_key(special), None)
        if not counts:
            return
        items = sorted(counts.items(), key=lambda kv: (kv[1], self._sort_key(kv[0])),
                       reverse=True)
        if self.max_tokens:
            items = items[:self.max_tokens - self._token_start_index()]
        tokens = [t for t, _ in items]
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            df = np.array([doc_counts[t] for t in tokens], dtype=np.float64)
            idf = np.log(1 + num_docs / (1 + df)).astype(config.floatx())
            start = self._token_start_index()
            weights = np.concatenate([np.full(start, idf.mean()), idf])
            if self.pad_to_max_tokens and self.max_tokens is not None:
                weights = np.concatenate([weights, np.zeros(self.max_tokens - len(weights))])
            self.idf_weights = weights.astype(config.floatx())

    def _sort_key(self, token):
        return token.encode("utf-8") if self._is_string else token

    # -- call ---------------------------------------------------------------------------
    def build(self, input_shape=None):
        self.built = True

    def _lookup(self, tokens):
        """int64 ids of an object/int array of tokens (no output encoding)."""
        shape = tokens.shape
        flat = tokens.reshape(-1).tolist()      # Python str or int keys
        unknown = -2
        get = self._index.get
        out = np.fromiter((get(t, unknown) for t in flat), dtype=np.int64, count=len(flat))
        if self.mask_token is not None:
            mask = self._token_key(self.mask_token)
            is_mask = np.fromiter((t == mask for t in flat), dtype=bool, count=len(flat))
            out[is_mask] = 0 if self.output_mode == "int" else -1
        missing = np.flatnonzero(out == unknown)
        if len(missing):
            n_oov = self.num_oov_indices
            if n_oov == 0:
                raise ValueError(
                    f"Layer '{self.name}': with num_oov_indices=0 all inputs must be in the "
                    f"vocabulary; found {flat[missing[0]]!r}. Set num_oov_indices=1.")
            if n_oov == 1:
                out[missing] = self._oov_start_index()
            else:
                values = [flat[i] for i in missing]
                if not self._is_string and self.oov_method == "floormod":
                    buckets = np.mod(np.asarray(values, np.int64), n_oov)
                else:
                    buckets = hash_buckets(values, n_oov, self.salt)
                out[missing] = buckets + self._oov_start_index()
        return out.reshape(shape)

    def _invert(self, ids):
        ids = np.asarray(ids).astype(np.int64)
        vocab = self.get_vocabulary()
        if self.mask_token is not None:
            vocab[0] = self.mask_token
        n = len(vocab)
        dtype = object if self._is_string else np.int64
        out = np.empty(ids.shape, dtype=dtype)
        flat, flat_out = ids.reshape(-1), out.reshape(-1)
        for i, j in enumerate(flat.tolist()):
            flat_out[i] = vocab[j] if 0 <= j < n and (
                j >= self._token_start_index() or (j == 0 and self.mask_token is not None)
            ) else self.oov_token
        return out.astype(str) if self._is_string else out

    def call(self, inputs):
        self._called = True
        if isinstance(inputs, jax.core.Tracer) and not self._is_string:
            return self._traced_call(inputs)
        if self.invert:
            return self._invert(_to_numpy(inputs))
        tokens = self._normalize_tokens(_to_numpy(inputs))
        ids = self._lookup(tokens)
        if self.output_mode == "int":
            return ids
        if self._frozen_vocab_size is None and not self.pad_to_max_tokens:
            raise RuntimeError(
                f"Layer '{self.name}': with output_mode={self.output_mode!r} set the "
                "vocabulary (`vocabulary=` or `adapt`) before calling the layer.")
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        out = encode_categorical(ids, mode, depth, config.floatx())
        if self.output_mode == "tf_idf":
            out = out * self.idf_weights
        return out

    def _traced_call(self, inputs):
        """IntegerLookup inside a compiled step: a sorted-table search in jax.numpy."""
        if self.invert or (self.num_oov_indices > 1 and self.oov_method == "farmhash"):
            raise TypeError(
                f"Layer '{self.name}': {'invert=True' if self.invert else 'farmhash OOV'} "
                "runs on the host only; apply the layer to the data before the model.")
        if self.num_oov_indices == 0:
            raise TypeError(f"Layer '{self.name}': num_oov_indices=0 checks for unknown "
                            "values on the host; apply the layer to the data before the model.")
        x = jnp.asarray(inputs)
        keys = np.array(sorted(self._index), dtype=np.int64)
        values = np.array([self._index[k] for k in keys.tolist()], dtype=np.int32)
        oov_start = self._oov_start_index()
        if len(keys):
            keys32 = jnp.asarray(keys.astype(np.int32))
            pos = jnp.clip(jnp.searchsorted(keys32, x), 0, len(keys) - 1)
            found = keys32[pos] == x
            ids = jnp.where(found, jnp.asarray(values)[pos], 0)
        else:
            found = jnp.zeros(x.shape, bool)
            ids = jnp.zeros(x.shape, jnp.int32)
        oov = (jnp.mod(x, self.num_oov_indices) if self.num_oov_indices > 1
               else jnp.zeros_like(x)) + oov_start
        ids = jnp.where(found, ids, oov.astype(jnp.int32))
        if self.mask_token is not None:
            ids = jnp.where(x == self.mask_token, 0 if self.output_mode == "int" else -1, ids)
        if self.output_mode == "int":
            return ids
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        out = encode_categorical(ids, mode, depth, config.floatx(), xp=jnp)
        if self.output_mode == "tf_idf":
            out = out * jnp.asarray(self.idf_weights)
        return out

    # -- Keras 3's saving hooks (the vocabulary as an asset, idf weights as a variable) --
    def save_assets(self, dir_path):
        """Writes the vocabulary to `dir_path/vocabulary.txt`, one token per line."""
        import os
        with open(os.path.join(dir_path, "vocabulary.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(str(t) for t in self.get_vocabulary()))

    def load_assets(self, dir_path):
        """Reads the vocabulary Keras 3 wrote to `dir_path/vocabulary.txt`."""
        import os
        if self.input_vocabulary is not None:
            return
        path = os.path.join(dir_path, "vocabulary.txt")
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
        while lines and lines[-1] == "":
            lines.pop()
        tokens = lines if self._is_string else [int(t) for t in lines]
        idf = self.idf_weights if self.output_mode == "tf_idf" else None
        if idf is not None:
            idf = idf[:len(tokens)]
        self.set_vocabulary(tokens, idf_weights=idf)
        self._has_input_vocabulary = False

    def save_own_variables(self, store):
        """Stores the idf weights (Keras 3 keeps them under "idf_weights")."""
        if self.output_mode == "tf_idf" and self.idf_weights is not None:
            store["idf_weights"] = np.asarray(self.idf_weights)

    def load_own_variables(self, store):
        """Reads the idf weights that `save_own_variables` stored."""
        if self.output_mode == "tf_idf" and "idf_weights" in store:
            self.idf_weights = np.asarray(store["idf_weights"], config.floatx())

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        if self.output_mode == "one_hot":
            if len(input_shape) > 1 and input_shape[-1] == 1:
                return input_shape[:-1] + (depth,)
            return input_shape + (depth,)
        return input_shape[:-1] + (depth,)

    def get_config(self):
        vocab = self.input_vocabulary
        if vocab is None and self._tokens:
            vocab = self.get_vocabulary()     # an adapted vocabulary travels in the config
        if isinstance(vocab, np.ndarray):
            vocab = vocab.tolist()
        idf = self.input_idf_weights
        if idf is None and self.idf_weights is not None and self.input_vocabulary is None:
            idf = self.idf_weights[:self.vocabulary_size()]
        return {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
                "mask_token": self.mask_token, "output_mode": self.output_mode,
                "sparse": self.sparse, "pad_to_max_tokens": self.pad_to_max_tokens,
                "idf_weights": None if idf is None else np.asarray(idf).tolist(),
                "vocabulary": vocab, "vocabulary_size": self._frozen_vocab_size,
                "oov_method": self.oov_method, "salt": self.salt}


    @classmethod
    def from_config(cls, config_):
        # Keras's hidden keys (`vocabulary_size`, `has_input_vocabulary`) are accepted.
        return cls(**config_)


class StringLookup(_IndexLookup):
    """Maps strings to integer ids from a vocabulary (or back, with `invert=True`).

    Id 0 is the mask token when `mask_token` is set (then the OOV ids follow), next
    come `num_oov_indices` ids for out-of-vocabulary strings, then the vocabulary.
    Runs on the host (NumPy): apply it to the data before `fit`.

    Args:
        max_tokens: maximum vocabulary size, including the mask and OOV entries
            (None: no limit).
        num_oov_indices: number of ids for out-of-vocabulary strings (default 1);
            with more than 1, a string's OOV id is its FarmHash modulo that number.
        mask_token: the string that means "padding" (id 0), or None (default).
        oov_token: the string `invert=True` returns for unknown ids (default "[UNK]").
        vocabulary: optional list of strings (or the path of a file, one per line).
        idf_weights: with output_mode="tf_idf" and a `vocabulary`, one weight per term.
        invert: map ids back to strings.
        output_mode: "int" (default), "one_hot", "multi_hot", "count" or "tf_idf".
        pad_to_max_tokens: encode over `max_tokens` columns instead of the vocabulary size.
        sparse: must stay False (gazelle returns dense arrays).
        encoding: the text encoding of byte-string inputs (default "utf-8").

    ```python
    lookup = keras.layers.StringLookup(vocabulary=["a", "b", "c"])
    lookup(np.array([["a", "c"], ["d", "b"]]))     # [[1, 3], [0, 2]]
    ```
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, sparse=False, encoding="utf-8", name=None,
                 salt=None, **kwargs):
        self.encoding = encoding
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, name=name,
                         salt=salt, oov_method="farmhash", **kwargs)

    def get_config(self):
        cfg = super().get_config()
        cfg.pop("oov_method", None)
        return {**cfg, "encoding": self.encoding}


class IntegerLookup(_IndexLookup):
    """Maps integers to contiguous ids from a vocabulary (or back, with `invert=True`).

    Args:
        max_tokens: maximum vocabulary size, including the mask and OOV entries.
        num_oov_indices: number of ids for out-of-vocabulary values (default 1); with
            more, a value's OOV id is `value % num_oov_indices` (oov_method="floormod")
            or a FarmHash of its decimal string (oov_method="farmhash").
        mask_token: the integer that means "padding" (id 0), or None (default).
        oov_token: the value `invert=True` returns for unknown ids (default -1).
        vocabulary: optional list of integers (or a file path, one per line).
        vocabulary_dtype: must be "int64".
        idf_weights, invert, output_mode, sparse, pad_to_max_tokens: as `StringLookup`.
        oov_method: "floormod" (default) or "farmhash".
        salt: with oov_method="farmhash", an int or pair of ints for a keyed hash.

    ```python
    lookup = keras.layers.IntegerLookup(vocabulary=[12, 36, 1138])
    lookup(np.array([12, 1138, 42]))     # [1, 3, 0]
    ```
    """

    _is_string = False

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
                 vocabulary=None, vocabulary_dtype="int64", idf_weights=None, invert=False,
                 output_mode="int", sparse=False, pad_to_max_tokens=False,
                 oov_method="floormod", salt=None, name=None, **kwargs):
        if vocabulary_dtype != "int64":
            raise ValueError("IntegerLookup: only vocabulary_dtype='int64' is supported. "
                             f"Received: vocabulary_dtype={vocabulary_dtype!r}")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=None if mask_token is None else int(mask_token),
                         oov_token=None if oov_token is None else int(oov_token),
                         vocabulary=vocabulary, idf_weights=idf_weights, invert=invert,
                         output_mode=output_mode, sparse=sparse,
                         pad_to_max_tokens=pad_to_max_tokens, oov_method=oov_method,
                         salt=salt, name=name, **kwargs)

    def get_config(self):
        return {**super().get_config(), "vocabulary_dtype": "int64"}


# -- hashing ----------------------------------------------------------------------------
class Hashing(_HostLayer):
    """Hashes strings or integers into `num_bins` bins (TensorFlow's hash values).

    Without `salt`, a value's bin is FarmHash Fingerprint64 of its UTF-8 bytes (integers:
    of their decimal string) modulo the number of bins; with `salt`, the keyed SipHash-2-4.
    Runs on the host (NumPy).

    Args:
        num_bins: number of hash bins, including the mask bin when `mask_value` is set.
        mask_value: a value that maps to bin 0 (other values then use bins 1.., so
            `num_bins - 1` of them), or None (default).
        salt: None (FarmHash), an int, or a pair of ints (the SipHash key).
        output_mode: "int" (default), "one_hot", "multi_hot" or "count".
        sparse: must stay False.

    ```python
    keras.layers.Hashing(num_bins=3)(np.array([["A"], ["B"], ["C"]]))
    ```
    """

    _cast_inputs = False

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False,
                 **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else config.floatx()
        dtype = kwargs.pop("dtype")
        super().__init__(**kwargs)
        self._dtype = str(dtype)     # int64 is a host dtype here (NumPy), as in Keras
        if not isinstance(num_bins, numbers.Integral) or num_bins <= 0:
            raise ValueError(f"Hashing: `num_bins` must be a positive integer. "
                             f"Received: num_bins={num_bins!r}")
        if output_mode not in ("int", "one_hot", "multi_hot", "count"):
            raise ValueError("Hashing: `output_mode` must be one of 'int', 'one_hot', "
                             f"'multi_hot', 'count'. Received: output_mode={output_mode!r}")
        if output_mode == "int" and self._dtype not in ("int32", "int64"):
            raise ValueError("Hashing: with output_mode='int', `dtype` must be 'int32' or "
                             f"'int64'. Received: dtype={self._dtype!r}")
        if sparse:
            raise ValueError("Hashing: `sparse=True` needs the TensorFlow backend; gazelle "
                             "returns dense arrays.")
        if salt is not None:
            if isinstance(salt, (tuple, list)) and len(salt) == 2:
                salt = [int(s) for s in salt]
            elif isinstance(salt, numbers.Integral):
                salt = [int(salt), int(salt)]
            else:
                raise ValueError("Hashing: `salt` must be an integer or a pair of integers. "
                                 f"Received: salt={salt!r}")
        self.num_bins = int(num_bins)
        self.mask_value = mask_value
        self.salt = salt
        self.strong_hash = salt is not None
        self.output_mode = output_mode
        self.sparse = False

    def build(self, input_shape=None):
        self.built = True

    def call(self, inputs):
        values = _to_numpy(inputs)
        if values.dtype.kind in "US":
            values = _decode(values)
        if self.output_mode == "one_hot" and values.ndim and values.shape[-1] == 1:
            values = values.reshape(values.shape[:-1])
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            mask = values == self.mask_value
        ids = hash_buckets(values, bins, self.salt)
        if mask is not None:
            ids = np.where(mask, 0, ids + 1)
        if self.output_mode == "int":
            return ids.astype(self._dtype)
        return encode_categorical(ids, self.output_mode, self.num_bins, self._dtype)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        if not input_shape:
            return (self.num_bins,)
        return input_shape[:-1] + (self.num_bins,)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt,
                "mask_value": self.mask_value, "output_mode": self.output_mode,
                "sparse": self.sparse}


# -- numeric categorical layers (traceable) ------------------------------------------------
class CategoryEncoding(Layer):
    """Encodes integer ids as one-hot, multi-hot or count vectors of size `num_tokens`.

    Args:
        num_tokens: number of distinct ids; inputs must lie in `[0, num_tokens)`
            (others encode to zeros).
        output_mode: "multi_hot" (default), "one_hot" or "count".
        sparse: must stay False.

    Call arguments:
        inputs: 1D or 2D integer ids.
        count_weights: optional weights, the shape of `inputs`, summed in "count" mode.

    ```python
    keras.layers.CategoryEncoding(num_tokens=4, output_mode="one_hot")(np.array([3, 1]))
    ```
    """

    _cast_inputs = False

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in ("count", "one_hot", "multi_hot"):
            raise ValueError("CategoryEncoding: `output_mode` must be 'count', 'one_hot' or "
                             f"'multi_hot'. Received: output_mode={output_mode!r}")
        if num_tokens is None:
            raise ValueError("CategoryEncoding: `num_tokens` must be set; if the number of "
                             "ids is unknown, use IntegerLookup instead.")
        if not isinstance(num_tokens, numbers.Integral) or num_tokens < 1:
            raise ValueError(f"CategoryEncoding: `num_tokens` must be an integer >= 1. "
                             f"Received: num_tokens={num_tokens!r}")
        if sparse:
            raise ValueError("CategoryEncoding: `sparse=True` is not supported; gazelle "
                             "returns dense arrays.")
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode
        self.sparse = False

    def call(self, inputs, count_weights=None):
        if count_weights is not None and self.output_mode != "count":
            raise ValueError("CategoryEncoding: `count_weights` is only used with "
                             f"output_mode='count'. Received: output_mode={self.output_mode!r}")
        ids = jnp.asarray(inputs)
        if jnp.issubdtype(ids.dtype, jnp.floating):
            ids = ids.astype("int32")
        return encode_categorical(ids, self.output_mode, self.num_tokens, self._dtype,
                                  count_weights=count_weights, xp=jnp)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if not input_shape:
            return (self.num_tokens,)
        if self.output_mode == "one_hot" and (input_shape[-1] != 1 or len(input_shape) == 1):
            return input_shape + (self.num_tokens,)
        return input_shape[:-1] + (self.num_tokens,)

    def get_config(self):
        return {**super().get_config(), "num_tokens": self.num_tokens,
                "output_mode": self.output_mode, "sparse": self.sparse}


def _quantile_summary(values, epsilon):
    """(2, k) array: every `1/epsilon`-th sorted value and the weight it stands for."""
    values = np.sort(np.reshape(values, -1))
    step = max(values.size * epsilon, 1)
    picked = values[int(step - 1)::int(step)]
    return np.stack([picked, np.full_like(picked, step)])


def _compress_summary(summary, epsilon):
    """Re-bins a weighted summary at the cumulative-weight fractions epsilon, 2 epsilon, ..."""
    if summary.shape[1] * epsilon < 1:
        return summary
    targets = np.arange(0.0, 1.0, epsilon) + epsilon
    cum = np.cumsum(summary[1])
    frac = cum / cum[-1]
    cum_at = np.interp(targets, frac, cum)
    new_weights = np.diff(cum_at, prepend=0.0)
    return np.stack([np.interp(targets, frac, summary[0]), new_weights]).astype("float32")


def _merge_summaries(a, b, epsilon):
    merged = np.concatenate([a, b], axis=1)
    merged = merged[:, np.argsort(merged[0])]
    return _compress_summary(merged, epsilon)


class Discretization(Layer):
    """Buckets continuous values into integer bins by boundaries (given, or from `adapt`).

    A value `x` gets bin `i` where `bin_boundaries[i-1] <= x < bin_boundaries[i]`.

    Args:
        bin_boundaries: sorted list of boundaries (n boundaries -> n + 1 bins).
        num_bins: number of bins to learn with `adapt` (approximate quantiles).
        epsilon: error tolerance of the quantiles (default 0.01).
        output_mode: "int" (default), "one_hot", "multi_hot" or "count".
        sparse: must stay False.

    ```python
    layer = keras.layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])
    layer(np.array([[-1.5, 1.0, 3.4, 0.5]]))     # [[0, 2, 3, 1]]
    ```
    """

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int",
                 sparse=False, dtype=None, name=None, **kwargs):
        super().__init__(dtype=dtype, name=name, **kwargs)
        if sparse:
            raise ValueError("Discretization: `sparse=True` is not supported; gazelle "
                             "returns dense arrays.")
        if output_mode not in ("int", "one_hot", "multi_hot", "count"):
            raise ValueError("Discretization: `output_mode` must be one of 'int', 'one_hot', "
                             f"'multi_hot', 'count'. Received: output_mode={output_mode!r}")
        if num_bins is not None and num_bins < 0:
            raise ValueError(f"Discretization: `num_bins` must be >= 0. "
                             f"Received: num_bins={num_bins}")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError("Discretization: set `num_bins` or `bin_boundaries`, not both. "
                             f"Received: num_bins={num_bins}, bin_boundaries={bin_boundaries}")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("Discretization: set either `num_bins` (then call `adapt`) or "
                             "`bin_boundaries`.")
        self.bin_boundaries = None if bin_boundaries is None else list(bin_boundaries)
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.output_mode = output_mode
        self.sparse = False
        self.summary = None if self.bin_boundaries else np.array([[], []], "float32")

    def adapt(self, data, steps=None):
        """Learns `num_bins` bins with about equal counts from the values in `data`.

        Args:
            data: an array, or an iterable of array batches.
            steps: with an iterable, the number of batches to read (default: all).
        """
        if self.num_bins is None:
            raise ValueError("Discretization: a layer built with `bin_boundaries` cannot be "
                             "adapted; pass `num_bins` instead.")
        self.summary = np.array([[], []], "float32")
        batches = [data] if isinstance(data, np.ndarray) or hasattr(data, "shape") or \
            not hasattr(data, "__iter__") else data
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            batch = np.asarray(batch[0] if isinstance(batch, tuple) else batch, "float32")
            self.summary = _merge_summaries(_quantile_summary(batch, self.epsilon),
                                            self.summary, self.epsilon)
        self.bin_boundaries = _compress_summary(
            self.summary, 1.0 / self.num_bins)[0, :-1].tolist()

    def call(self, inputs):
        if self.bin_boundaries is None:
            raise ValueError(f"Layer '{self.name}': pass `bin_boundaries` or call "
                             "`adapt(data)` before using the layer.")
        ids = jnp.digitize(inputs, jnp.asarray(self.bin_boundaries, inputs.dtype))
        if self.output_mode == "int":
            return ids.astype("int32")
        return encode_categorical(ids, self.output_mode, len(self.bin_boundaries) + 1,
                                  self._dtype, xp=jnp)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        depth = (len(self.bin_boundaries) + 1 if self.bin_boundaries is not None
                 else self.num_bins)
        if self.output_mode == "one_hot":
            if len(input_shape) > 1 and input_shape[-1] == 1:
                return input_shape[:-1] + (depth,)
            return input_shape + (depth,)
        if len(input_shape) >= 2:
            return (input_shape[0],) + input_shape[2:] + (depth,)
        return (depth,)

    def get_config(self):
        return {**super().get_config(), "bin_boundaries": self.bin_boundaries,
                "num_bins": self.num_bins, "epsilon": self.epsilon,
                "output_mode": self.output_mode, "sparse": self.sparse}

    @classmethod
    def from_config(cls, config_):
        config_ = dict(config_)
        boundaries = config_.get("bin_boundaries")
        if boundaries is not None and config_.get("num_bins") is not None:
            config_.pop("bin_boundaries")
            layer = cls(**config_)
            layer.bin_boundaries = boundaries
            return layer
        return cls(**config_)
