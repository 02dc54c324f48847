"""HashedCrossing: crosses two or more categorical features into hashed bins. [L2, host]

The bin of a cross is TensorFlow's `sparse.cross_hashed` value, which Keras 3 uses: start
from the key 0xDECAFCAFFE and fold in each feature's fingerprint with FarmHash's
`FingerprintCat64`; a string's fingerprint is FarmHash Fingerprint64 of its UTF-8 bytes,
an integer's is its own value (as an unsigned 64-bit number). Runs on the host (NumPy).
"""
import numbers

import numpy as np

from gazelle.layers.preprocessing.categorical import (
    _HostLayer, _decode, _to_numpy, encode_categorical, fingerprint64)

_MASK64 = (1 << 64) - 1
_CROSS_KEY = 0xDECAFCAFFE       # TensorFlow's default hash key for hashed crosses
_MUL = 0xc6a4a7935bd1e995


def _shift_mix(v):
    return v ^ (v >> 47)


def fingerprint_cat64(fp1, fp2):
    """FarmHash's `FingerprintCat64`: combines two 64-bit fingerprints into one."""
    result = fp1 ^ _MUL
    result ^= (_shift_mix((fp2 * _MUL) & _MASK64) * _MUL) & _MASK64
    result = (result * _MUL) & _MASK64
    result = (_shift_mix(result) * _MUL) & _MASK64
    return _shift_mix(result)


def _feature_hashes(values):
    """Per-element 64-bit fingerprints of one feature (strings or integers)."""
    if values.dtype.kind in "iu":
        return [int(v) & _MASK64 for v in values.reshape(-1)]
    strings = _decode(values).reshape(-1)
    cache = {}
    out = []
    for s in strings:
        h = cache.get(s)
        if h is None:
            h = cache[s] = fingerprint64(s.encode("utf-8"))
        out.append(h)
    return out


class HashedCrossing(_HostLayer):
    """Crosses categorical features (strings or integers) and hashes each cross into bins.

    Each sample's tuple of feature values is hashed into one of `num_bins` bins, with the
    same hash values as Keras 3 (TensorFlow's `cross_hashed`). Runs on the host (NumPy):
    apply it to the data before `fit`.

    Args:
        num_bins: number of hash bins.
        output_mode: `"int"` (default: the bin index) or `"one_hot"`.
        sparse: must stay False (gazelle returns dense arrays).
        name, dtype: the usual layer arguments; `dtype` defaults to `"int64"` in int mode.

    Call arguments:
        inputs: a tuple or list of at least two arrays of the same shape, `()`,
            `(batch_size,)` or `(batch_size, 1)`, each of strings or integers.

    ```python
    layer = keras.layers.HashedCrossing(num_bins=5)
    layer((np.array(["A", "B", "A"]), np.array([101, 101, 102])))
    ```
    """

    def __init__(self, num_bins, output_mode="int", sparse=False, name=None, dtype=None,
                 **kwargs):
        if dtype is None:
            dtype = "int64" if output_mode == "int" else "float32"
        super().__init__(name=name, **kwargs)
        self._dtype = str(dtype)
        if isinstance(num_bins, bool) or not isinstance(num_bins, numbers.Integral) \
                or num_bins <= 0:
            raise ValueError(f"HashedCrossing: `num_bins` must be a positive integer. "
                             f"Received: num_bins={num_bins!r}")
        if output_mode not in ("int", "one_hot"):
            raise ValueError("HashedCrossing: `output_mode` must be 'int' or 'one_hot'. "
                             f"Received: output_mode={output_mode!r}")
        if sparse:
            raise ValueError("HashedCrossing: `sparse=True` needs the TensorFlow backend; "
                             "gazelle returns dense arrays.")
        self.num_bins = int(num_bins)
        self.output_mode = output_mode
        self.sparse = False

    def __call__(self, inputs, *args, **kwargs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError("HashedCrossing: the layer must be called on a list or tuple of "
                             f"inputs. Received: {type(inputs).__name__}")
        inputs = tuple(np.asarray(x) if isinstance(x, (str, bytes, numbers.Integral, list, tuple))
                       else x for x in inputs)
        return super(_HostLayer, self).__call__(inputs, *args, **kwargs)

    def build(self, input_shape=None):
        self.built = True

    def _check(self, arrays):
        if len(arrays) < 2:
            raise ValueError("HashedCrossing: the layer must be called on at least two "
                             f"inputs. Received {len(arrays)}.")
        first = arrays[0].shape
        if len(first) > 2 or (len(first) == 2 and first[-1] != 1):
            raise ValueError("HashedCrossing: every input must have shape (), (batch_size,) "
                             f"or (batch_size, 1). Received shapes {[a.shape for a in arrays]}.")
        if any(a.shape != first for a in arrays[1:]):
            raise ValueError("HashedCrossing: all inputs must have the same shape. Received "
                             f"shapes {[a.shape for a in arrays]}.")
        for a in arrays:
            if a.dtype.kind not in "iuUSO":
                raise ValueError("HashedCrossing: every input must hold integers or strings. "
                                 f"Received dtype {a.dtype}.")

    def call(self, inputs):
        arrays = [_to_numpy(x) for x in inputs]
        self._check(arrays)
        hashes = [_feature_hashes(a) for a in arrays]
        bins = np.empty(len(hashes[0]), dtype=np.int64)
        for i, parts in enumerate(zip(*hashes)):
            h = _CROSS_KEY
            for part in parts:
                h = fingerprint_cat64(h, part)
            bins[i] = h % self.num_bins
        bins = bins.reshape(arrays[0].shape)
        if self.output_mode == "int":
            return bins.astype(self._dtype)
        return encode_categorical(bins, "one_hot", self.num_bins, self._dtype)

    def compute_output_shape(self, input_shape):
        first = tuple(input_shape[0])
        if self.output_mode == "int":
            return first
        if not first:
            return (self.num_bins,)
        if first[-1] == 1:
            return first[:-1] + (self.num_bins,)
        return first + (self.num_bins,)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins,
                "output_mode": self.output_mode, "sparse": self.sparse}
