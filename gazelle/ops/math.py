"""`keras.ops` math: segment reductions, top-k, special functions, FFTs and STFTs. [L0]

Keras 3 exports these at `keras.ops.X` (its source module is `keras.src.ops.math`); gazelle
keeps them in this module and re-exports them from `gazelle.ops`. Complex results come back
as `(real, imag)` pairs, as in Keras.

```python
from gazelle import ops
values, indices = ops.top_k(ops.array([1.0, 4.0, 2.0]), k=2)   # [4, 2], [1, 2]
```
"""
import math as _pymath

import jax
import jax.numpy as jnp
import numpy as np

from gazelle.ops._common import axis_arg as _axis
from gazelle.ops._common import tensor as _t


def _check_segments(data, segment_ids, num_segments, name):
    if segment_ids.ndim != 1:
        raise ValueError(f"{name}: `segment_ids` must be a 1-D vector, received shape "
                         f"{segment_ids.shape}. Flatten data and ids first, or use vmap.")
    if segment_ids.shape[0] != data.shape[0]:
        raise ValueError(f"{name}: `segment_ids` (length {segment_ids.shape[0]}) must match the "
                         f"first dimension of `data` ({data.shape[0]}).")
    if num_segments is None:
        raise ValueError(f"{name}: argument `num_segments` must be set with the JAX backend. "
                         "Received: num_segments=None")


def segment_sum(data, segment_ids, num_segments=None, sorted=False):
    """Sums of `data` rows that share a segment id; shape `(num_segments,) + data.shape[1:]`.

    ```python
    ops.segment_sum(ops.array([1., 2., 3.]), ops.array([0, 0, 1]), num_segments=2)  # [3, 3]
    ```
    """
    data, segment_ids = _t(data), _t(segment_ids)
    _check_segments(data, segment_ids, num_segments, "segment_sum")
    return jax.ops.segment_sum(data, segment_ids, num_segments, indices_are_sorted=sorted)


def segment_max(data, segment_ids, num_segments=None, sorted=False):
    """Maxima of `data` rows that share a segment id (empty segments: the dtype's lowest)."""
    data, segment_ids = _t(data), _t(segment_ids)
    _check_segments(data, segment_ids, num_segments, "segment_max")
    return jax.ops.segment_max(data, segment_ids, num_segments, indices_are_sorted=sorted)


def segment_min(data, segment_ids, num_segments=None, sorted=False):
    """Minima of `data` rows that share a segment id (empty segments: the dtype's highest)."""
    data, segment_ids = _t(data), _t(segment_ids)
    _check_segments(data, segment_ids, num_segments, "segment_min")
    return jax.ops.segment_min(data, segment_ids, num_segments, indices_are_sorted=sorted)


def segment_prod(data, segment_ids, num_segments=None, sorted=False):
    """Products of `data` rows that share a segment id (empty segments: 1)."""
    data, segment_ids = _t(data), _t(segment_ids)
    _check_segments(data, segment_ids, num_segments, "segment_prod")
    return jax.ops.segment_prod(data, segment_ids, num_segments, indices_are_sorted=sorted)


def top_k(x, k, sorted=True):
    """The `k` largest values along the last axis and their indices (always sorted)."""
    return jax.lax.top_k(_t(x), k)


def in_top_k(targets, predictions, k):
    """True where the target class is among the top `k` predictions (ties count as in)."""
    targets, predictions = _t(targets), _t(predictions)
    at_label = jnp.take_along_axis(predictions, targets[..., None], axis=-1)
    at_label = jnp.where(jnp.isnan(at_label), -jnp.inf, at_label)
    rank = 1 + jnp.sum(predictions > at_label, axis=-1)
    return rank <= k


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over `axis`, computed stably."""
    return jax.scipy.special.logsumexp(_t(x), axis=_axis(axis), keepdims=keepdims)


def cdist(x, y):
    """Euclidean distances between the rows of x and y: shape `(..., n, m)`."""
    x, y = _t(x), _t(y)
    if x.ndim < 2 or y.ndim < 2:
        raise ValueError(f"cdist: inputs must have rank >= 2, received {x.shape} and {y.shape}.")
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"cdist: last dimensions must match, received {x.shape} and {y.shape}.")
    d = x[..., :, None, :] - y[..., None, :, :]
    return jnp.sqrt(jnp.sum(d * d, axis=-1))


def rsqrt(x):
    """1 / sqrt(x), element-wise."""
    return jax.lax.rsqrt(_t(x))


def erf(x):
    """The error function, element-wise."""
    return jax.lax.erf(_t(x))


def erfc(x):
    """1 - erf(x), element-wise."""
    return jax.scipy.special.erfc(_t(x))


def erfinv(x):
    """Inverse error function, element-wise."""
    return jax.scipy.special.erfinv(_t(x))


def logdet(x):
    """log(det(x)) of (batched) positive-definite matrices."""
    return jnp.linalg.slogdet(_t(x))[1]


def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of `sequence_length` along the last axis, every `sequence_stride` samples.

    Returns shape `(..., num_sequences, sequence_length)`.
    """
    x = _t(x)
    *batch, n = x.shape
    frames = (n - sequence_length) // sequence_stride + 1
    starts = np.arange(frames)[:, None] * sequence_stride + np.arange(sequence_length)[None, :]
    return x.reshape(_pymath.prod(batch), n)[:, starts].reshape(*batch, frames, sequence_length)


def _complex(x, name):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"{name}: `x` must be a tuple (real, imag) of two tensors, received "
                         f"{type(x).__name__}.")
    real, imag = _t(x[0]), _t(x[1])
    if real.shape != imag.shape:
        raise ValueError(f"{name}: real and imaginary parts must have the same shape, received "
                         f"{real.shape} and {imag.shape}.")
    if not (jnp.issubdtype(real.dtype, jnp.floating) and jnp.issubdtype(imag.dtype, jnp.floating)):
        raise ValueError(f"{name}: real and imaginary parts must be floats, received "
                         f"{real.dtype} and {imag.dtype}.")
    return jax.lax.complex(real, imag)


def _pair(c):
    return jnp.real(c), jnp.imag(c)


def fft(x):
    """FFT over the last axis of `x = (real, imag)`; returns `(real, imag)`."""
    return _pair(jnp.fft.fft(_complex(x, "fft")))


def fft2(x):
    """2-D FFT over the last two axes of `x = (real, imag)`; returns `(real, imag)`."""
    return _pair(jnp.fft.fft2(_complex(x, "fft2")))


def ifft2(x):
    """Inverse 2-D FFT of `x = (real, imag)`; returns `(real, imag)`."""
    return _pair(jnp.fft.ifft2(_complex(x, "ifft2")))


def rfft(x, fft_length=None):
    """FFT of a real signal over its last axis; returns `(real, imag)` of fft_length//2+1 bins."""
    return _pair(jnp.fft.rfft(_t(x), n=fft_length, axis=-1))


def irfft(x, fft_length=None):
    """Inverse of `rfft`: a real signal from `x = (real, imag)`."""
    return jnp.fft.irfft(_complex(x, "irfft"), n=fft_length, axis=-1)


def view_as_complex(x):
    """A complex64 tensor from a real one whose last axis is (real, imag)."""
    x = _t(x)
    if x.ndim < 1 or x.shape[-1] != 2:
        raise ValueError(f"view_as_complex: the last dimension must be 2 (real, imag), received "
                         f"shape {x.shape}.")
    return x[..., 0].astype("complex64") + 1j * x[..., 1].astype("complex64")


def view_as_real(x):
    """A real tensor with a trailing axis (real, imag) from a complex one."""
    x = _t(x)
    return jnp.stack((jnp.real(x), jnp.imag(x)), axis=-1)


def _check_stride(sequence_stride):
    if not isinstance(sequence_stride, int) or sequence_stride <= 0:
        raise ValueError(f"`sequence_stride` must be a positive int, received {sequence_stride!r}.")


def _window(window, sequence_length, fft_length, dtype):
    if window is None:
        return jnp.ones((fft_length,), dtype)
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(f"A string window must be 'hann' or 'hamming', received {window!r}.")
        n = np.arange(sequence_length)
        a = 0.5 if window == "hann" else 0.54
        # periodic windows (as scipy.signal.get_window returns them)
        win = jnp.asarray(a - (1 - a) * np.cos(2 * np.pi * n / sequence_length), dtype)
    else:
        win = _t(window).astype(dtype)
        if win.shape != (sequence_length,):
            raise ValueError(f"`window` must have shape ({sequence_length},), received "
                             f"{win.shape}.")
    left = (fft_length - sequence_length) // 2
    return jnp.pad(win, (left, fft_length - sequence_length - left))


def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """Short-time Fourier transform over the last axis; returns `(real, imag)`.

    Args:
        x: float32/float64 signal `(..., samples)`.
        sequence_length: frame length.
        sequence_stride: hop between frames.
        fft_length: FFT size (>= sequence_length).
        window: "hann", "hamming", a `(sequence_length,)` tensor, or None.
        center: pad the signal by fft_length // 2 on both sides (reflect) first.

    Returns a pair of `(..., frames, fft_length // 2 + 1)` tensors.
    """
    _check_stride(sequence_stride)
    x = _t(x)
    if x.dtype not in (jnp.float32, jnp.float64):
        raise TypeError(f"stft: expected a float32 or float64 signal, received {x.dtype}.")
    if fft_length < sequence_length:
        raise ValueError(f"stft: `fft_length` ({fft_length}) must be >= `sequence_length` "
                         f"({sequence_length}).")
    win = _window(window, sequence_length, fft_length, x.dtype)
    if center:
        x = jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(fft_length // 2, fft_length // 2)],
                    mode="reflect")
    frames = extract_sequences(x, fft_length, sequence_stride) * win
    return _pair(jnp.fft.rfft(frames, n=fft_length, axis=-1))


def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann",
          center=True):
    """Inverse of `stft` by overlap-add; `x = (real, imag)` of shape `(..., frames, bins)`.

    Args:
        length: samples to return (by default all, less the centering padding).
        Other arguments as in `stft`.
    """
    _check_stride(sequence_stride)
    x = _complex(x, "istft")
    if x.ndim < 2:
        raise ValueError(f"istft: `x` must have at least 2 dimensions, received {x.shape}.")
    dtype = jnp.real(x).dtype
    frames = jnp.fft.irfft(x, n=fft_length, axis=-1)
    win = _window(window, sequence_length, fft_length, dtype)
    n_frames = x.shape[-2]
    total = fft_length + sequence_stride * (n_frames - 1)
    frames = frames * win
    out = jnp.zeros(x.shape[:-2] + (total,), dtype)
    norm = jnp.zeros((total,), dtype)
    idx = np.arange(n_frames)[:, None] * sequence_stride + np.arange(fft_length)[None, :]
    out = out.at[..., idx].add(frames)
    norm = norm.at[idx].add(jnp.broadcast_to(win * win, idx.shape))
    out = out / jnp.where(norm > 1e-10, norm, 1.0)
    if window is None:          # Keras scales the unwindowed inverse this way
        out = out * (fft_length / sequence_stride)
    start = fft_length // 2 if center else 0
    if length is not None:
        end = start + length
    elif center:
        end = total - fft_length // 2
    else:
        end = total
    return out[..., start:end]
