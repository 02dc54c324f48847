"""Weight initializers and their lookup by name or config. [L1: jax, numpy, gazelle.config, gazelle.random, gazelle.core.variables]

An initializer is called as `init(shape, dtype=None)` and returns a JAX array. Random
initializers with `seed=None` draw a fresh seed from the global stream on every call
(so two layers get different weights, and `set_random_seed` makes runs repeat); an int
seed gives the same values on every call. Samples are drawn with NumPy on the host: a
JAX random draw compiles once per new shape (about 0.5 s each on a CPU), which would
make building a model slower than training an epoch of it. So seeded values differ from
Keras 3's (same distributions, different streams).
Lookup (`get`, `deserialize`) is a table of built-in classes; nothing is imported or
evaluated from a name.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np

from gazelle import config
from gazelle import random as grandom
from gazelle.core.variables import to_device

# Keras divides the truncated-normal stddev by this constant: the stddev of a unit
# normal truncated to [-2, 2], so that the samples end up with the requested variance.
_TRUNCATED_STDDEV = 0.87962566103423978


def _standardize_shape(shape):
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"Initializer: expected `shape` to be a tuple of ints, "
                        f"received shape={shape!r}.") from None
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0:
            raise ValueError(f"Initializer: expected `shape` to be a tuple of "
                             f"non-negative ints, received shape={shape!r}.")
    return tuple(int(d) for d in dims)


def _float_dtype(dtype):
    dtype = jnp.dtype(dtype or config.floatx())
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"Random initializers need a float dtype, received dtype={dtype}.")
    return dtype


def _rng(seed):
    return np.random.default_rng(grandom.next_seed() if seed is None else seed & 0xFFFFFFFF)


def _normal(seed, shape, dtype):
    # Drawn in float32 (never float64), so a weight takes the memory its dtype says.
    return _rng(seed).standard_normal(_standardize_shape(shape), dtype=np.float32)


def _out(values, dtype, owned=False):
    # owned: `values` is a fresh array of this call's own (a sample, zeros), which the
    # device may then use in place; anything else is copied (core.variables.to_device).
    return to_device(np.asarray(values, dtype=np.dtype(dtype)), owned=owned)


def compute_fans(shape, input_axes=None, output_axes=None):
    """Returns `(fan_in, fan_out)` for a weight shape, as Keras computes them.

    A 2D shape is `(fan_in, fan_out)`; a convolution kernel `(..., in, out)` multiplies
    both by the receptive field size (the product of the leading dimensions).

    Args:
        shape: Integer shape tuple.
        input_axes: Optional axes whose sizes multiply to `fan_in`; used only when
            `output_axes` is given too. Defaults to `None`.
        output_axes: Optional axes whose sizes multiply to `fan_out`. Defaults to `None`.
    """
    if input_axes is not None and output_axes is not None:
        return (math.prod(shape[a] for a in input_axes),
                math.prod(shape[a] for a in output_axes))
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class Initializer:
    """Initializer base class: all initializers inherit from this class.

    Subclasses implement `__call__(self, shape, dtype=None)` and, if they take
    arguments, `get_config()`.

    ```python
    class ConstantSeven(Initializer):
        def __call__(self, shape, dtype=None):
            return jnp.full(shape, 7.0, dtype or "float32")
    ```
    """

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(
            f"{type(self).__name__} must implement `__call__(self, shape, dtype=None)`.")

    def get_config(self):
        """Returns the initializer's configuration as a JSON-serializable dict."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Instantiates an initializer from a configuration dictionary.

        Args:
            config: A Python dictionary, the output of `get_config()`.
        """
        return cls(**config)

    def clone(self):
        return self.__class__.from_config(self.get_config())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    """Initializer that generates tensors initialized to 0.

    ```python
    Zeros()((2, 2))
    ```
    """

    def __call__(self, shape, dtype=None):
        return _out(np.zeros(_standardize_shape(shape)), dtype or config.floatx(), owned=True)


class Ones(Initializer):
    """Initializer that generates tensors initialized to 1.

    ```python
    Ones()((2, 2))
    ```
    """

    def __call__(self, shape, dtype=None):
        return _out(np.ones(_standardize_shape(shape)), dtype or config.floatx(), owned=True)


class Constant(Initializer):
    """Initializer that generates tensors with constant values.

    Args:
        value: A Python scalar (or anything that broadcasts to the shape). Defaults
            to `0.0`.

    ```python
    Constant(3.0)((2, 2))
    ```
    """

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return _out(np.broadcast_to(np.asarray(self.value), _standardize_shape(shape)),
                    dtype or config.floatx())

    def get_config(self):
        value = self.value
        if isinstance(value, (np.ndarray, np.generic, jax.Array)):
            value = np.asarray(value).tolist()
        return {"value": value}


class Identity(Initializer):
    """Initializer that generates the identity matrix (2D shapes only).

    Args:
        gain: Scaling factor to apply to the identity matrix. Defaults to `1.0`.

    ```python
    Identity()((3, 3))
    ```
    """

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape)
        if len(shape) != 2:
            raise ValueError("Identity initializer can only be used for 2D matrices, "
                             f"received shape={shape} of rank {len(shape)}.")
        dtype = dtype or config.floatx()
        return _out(self.gain * np.eye(*shape), dtype, owned=True)

    def get_config(self):
        # Keras 3 writes {} here and so loses `gain`; we keep it (Keras reads it back).
        return {"gain": self.gain}


class RandomInitializer(Initializer):
    """Base class for initializers that draw random numbers.

    Args:
        seed: An int, or `None` to draw a fresh seed from the global stream on each
            call. Defaults to `None`.
    """

    def __init__(self, seed=None):
        if seed is not None and (isinstance(seed, bool)
                                 or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"{type(self).__name__}: expected `seed` to be an int or "
                            f"None, received seed={seed!r} of type {type(seed).__name__}.")
        self.seed = None if seed is None else int(seed)

    def get_config(self):
        return {"seed": self.seed}


class RandomNormal(RandomInitializer):
    """Random normal initializer: samples from `N(mean, stddev**2)`.

    Args:
        mean: A python scalar, the mean of the random values to generate. Defaults
            to `0.0`.
        stddev: A python scalar, the standard deviation of the random values to
            generate. Defaults to `0.05`.
        seed: An int, or `None` for a fresh seed on each call. Defaults to `None`.

    ```python
    RandomNormal(mean=0.0, stddev=1.0, seed=42)((2, 2))
    ```
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        dtype = _float_dtype(dtype)
        return _out(_normal(self.seed, shape, dtype) * self.stddev + self.mean, dtype, owned=True)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomInitializer):
    """Truncated normal initializer: normal samples, redrawn beyond two stddevs.

    Args:
        mean: A python scalar, the mean of the random values to generate. Defaults
            to `0.0`.
        stddev: A python scalar, the standard deviation of the normal distribution
            before truncation. Defaults to `0.05`.
        seed: An int, or `None` for a fresh seed on each call. Defaults to `None`.

    ```python
    TruncatedNormal(stddev=1.0, seed=42)((2, 2))
    ```
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        return _truncated_normal(self.seed, shape, self.mean, self.stddev, dtype)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class RandomUniform(RandomInitializer):
    """Random uniform initializer: samples from `U(minval, maxval)`.

    Args:
        minval: A python scalar, the lower bound of the range of random values to
            generate (inclusive). Defaults to `-0.05`.
        maxval: A python scalar, the upper bound of the range of random values to
            generate (exclusive). Defaults to `0.05`.
        seed: An int, or `None` for a fresh seed on each call. Defaults to `None`.

    ```python
    RandomUniform(minval=0.0, maxval=1.0, seed=42)((2, 2))
    ```
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        return _uniform(self.seed, shape, self.minval, self.maxval, dtype)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


def _truncated_normal(seed, shape, mean, stddev, dtype):
    dtype = _float_dtype(dtype)
    rng = _rng(seed)
    shape = _standardize_shape(shape)
    sample = rng.standard_normal(shape, dtype=np.float32)
    bad = np.abs(sample) > 2.0
    while bad.any():                       # redraw beyond two stddevs, as Keras does
        sample[bad] = rng.standard_normal(int(bad.sum()), dtype=np.float32)
        bad = np.abs(sample) > 2.0
    sample *= np.float32(stddev)
    sample += np.float32(mean)
    return _out(sample, dtype, owned=True)


def _uniform(seed, shape, minval, maxval, dtype):
    dtype = _float_dtype(dtype)
    sample = _rng(seed).random(_standardize_shape(shape), dtype=np.float32)
    sample *= np.float32(maxval - minval)
    sample += np.float32(minval)
    # float32 rounding may reach maxval; keep the interval half-open as Keras's is.
    np.minimum(sample, np.nextafter(np.float32(maxval), np.float32(minval)), out=sample)
    return _out(sample, dtype, owned=True)


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


class VarianceScaling(RandomInitializer):
    """Initializer that adapts its scale to the shape of the weights.

    With `distribution="truncated_normal"` or `"untruncated_normal"`, samples are drawn
    from a (truncated) normal with `stddev = sqrt(scale / n)`, where `n` is the number
    of input units (`mode="fan_in"`), output units (`"fan_out"`) or their average
    (`"fan_avg"`). With `distribution="uniform"`, samples are drawn from
    `[-limit, limit]` with `limit = sqrt(3 * scale / n)`.

    Args:
        scale: Scaling factor (positive float). Defaults to `1.0`.
        mode: One of `"fan_in"`, `"fan_out"`, `"fan_avg"`. Defaults to `"fan_in"`.
        distribution: Random distribution to use. One of `"truncated_normal"`,
            `"untruncated_normal"` or `"uniform"` (`"normal"` means truncated normal).
            Defaults to `"truncated_normal"`.
        seed: An int, or `None` for a fresh seed on each call. Defaults to `None`.
        input_axes: Optional tuple of the axes whose sizes multiply to `fan_in`
            (used together with `output_axes`). Defaults to `None`.
        output_axes: Optional tuple of the axes whose sizes multiply to `fan_out`.
            Defaults to `None`.

    ```python
    VarianceScaling(scale=0.1, mode="fan_in", distribution="uniform")((3, 3))
    ```
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal",
                 seed=None, input_axes=None, output_axes=None):
        if not isinstance(scale, (int, float, np.number)) or not scale > 0:
            raise ValueError(f"VarianceScaling: expected `scale` to be a positive float, "
                             f"received scale={scale!r}.")
        if mode not in _MODES:
            raise ValueError(f"VarianceScaling: expected `mode` to be one of {_MODES}, "
                             f"received mode={mode!r}.")
        dist = distribution.lower() if isinstance(distribution, str) else distribution
        dist = "truncated_normal" if dist == "normal" else dist
        if dist not in _DISTRIBUTIONS:
            raise ValueError(f"VarianceScaling: expected `distribution` to be one of "
                             f"{_DISTRIBUTIONS + ('normal',)}, received "
                             f"distribution={distribution!r}.")
        self.scale = scale
        self.mode = mode
        self.distribution = dist
        self.input_axes = input_axes
        self.output_axes = output_axes
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape)
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}
        variance = self.scale / max(1.0, n[self.mode])
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return _uniform(self.seed, shape, -limit, limit, dtype)
        if self.distribution == "untruncated_normal":
            dtype = _float_dtype(dtype)
            return _out(_normal(self.seed, shape, dtype) * math.sqrt(variance), dtype, owned=True)
        stddev = math.sqrt(variance) / _TRUNCATED_STDDEV
        return _truncated_normal(self.seed, shape, 0.0, stddev, dtype)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class _Preset(VarianceScaling):
    """A VarianceScaling with fixed `(scale, mode, distribution)`; only the seed varies."""

    _preset = ()

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(*self._preset, seed=seed, input_axes=input_axes,
                         output_axes=output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class GlorotUniform(_Preset):
    """Glorot uniform initializer, the default kernel initializer of `Dense`.

    Uniform in `[-limit, limit]` with `limit = sqrt(6 / (fan_in + fan_out))`: the
    same as `VarianceScaling(1.0, "fan_avg", "uniform")`.

    Args:
        seed: An int, or `None` for a fresh seed on each call. Defaults to `None`.
        input_axes: Optional tuple of axes that make up `fan_in`. Defaults to `None`.
        output_axes: Optional tuple of axes that make up `fan_out`. Defaults to `None`.
    """

    _preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    """Glorot normal initializer.

    Truncated normal with `stddev = sqrt(2 / (fan_in + fan_out))`: the same as
    `VarianceScaling(1.0, "fan_avg", "truncated_normal")`.

    Args:
        seed: An int, or `None` for a fresh seed on each call. Defaults to `None`.
        input_axes: Optional tuple of axes that make up `fan_in`. Defaults to `None`.
        output_axes: Optional tuple of axes that make up `fan_out`. Defaults to `None`.
    """

    _preset = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_Preset):
    """He uniform variance scaling initializer.

    Uniform in `[-limit, limit]` with `limit = sqrt(6 / fan_in)`: the same as
    `VarianceScaling(2.0, "fan_in", "uniform")`.

    Args:
        seed: An int, or `None` for a fresh seed on each call. Defaults to `None`.
        input_axes: Optional tuple of axes that make up `fan_in`. Defaults to `None`.
        output_axes: Optional tuple of axes that make up `fan_out`. Defaults to `None`.
    """

    _preset = (2.0, "fan_in", "uniform")


class HeNormal(_Preset):
    """He normal initializer.

    Truncated normal with `stddev = sqrt(2 / fan_in)`: the same as
    `VarianceScaling(2.0, "fan_in", "truncated_normal")`.

    Args:
        seed: An int, or `None` for a fresh seed on each call. Defaults to `None`.
        input_axes: Optional tuple of axes that make up `fan_in`. Defaults to `None`.
        output_axes: Optional tuple of axes that make up `fan_out`. Defaults to `None`.
    """

    _preset = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    """Lecun uniform initializer.

    Uniform in `[-limit, limit]` with `limit = sqrt(3 / fan_in)`: the same as
    `VarianceScaling(1.0, "fan_in", "uniform")`.

    Args:
        seed: An int, or `None` for a fresh seed on each call. Defaults to `None`.
        input_axes: Optional tuple of axes that make up `fan_in`. Defaults to `None`.
        output_axes: Optional tuple of axes that make up `fan_out`. Defaults to `None`.
    """

    _preset = (1.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    """Lecun normal initializer, meant to be used with the `selu` activation.

    Truncated normal with `stddev = sqrt(1 / fan_in)`: the same as
    `VarianceScaling(1.0, "fan_in", "truncated_normal")`.

    Args:
        seed: An int, or `None` for a fresh seed on each call. Defaults to `None`.
        input_axes: Optional tuple of axes that make up `fan_in`. Defaults to `None`.
        output_axes: Optional tuple of axes that make up `fan_out`. Defaults to `None`.
    """

    _preset = (1.0, "fan_in", "truncated_normal")


class Orthogonal(RandomInitializer):
    """Initializer that generates an orthogonal matrix.

    The shape is flattened to `(prod(shape[:-1]), shape[-1])`; the result has
    orthonormal rows or columns (whichever are fewer), times `gain`.

    Args:
        gain: Multiplicative factor to apply to the orthogonal matrix. Defaults to
            `1.0`.
        seed: An int, or `None` for a fresh seed on each call. Defaults to `None`.

    ```python
    Orthogonal(seed=42)((4, 4))
    ```
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain = gain
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape)
        if len(shape) < 2:
            raise ValueError("Orthogonal initializer needs a shape of rank 2 or more, "
                             f"received shape={shape} of rank {len(shape)}.")
        dtype = _float_dtype(dtype)
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = _normal(self.seed, (max(rows, cols), min(rows, cols)), dtype)
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diagonal(r))  # makes the decomposition unique
        if rows < cols:
            q = q.T
        return _out(self.gain * q.reshape(shape), dtype, owned=True)

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


# Cosine-sum coefficients of the windows STFT computes itself (scipy.signal's definitions).
_COSINE_WINDOWS = {"hann": (0.5, 0.5), "hamming": (0.54, 0.46), "blackman": (0.42, 0.5, 0.08)}
_NATIVE_WINDOWS = ("hann", "hamming", "blackman", "bartlett", "boxcar")


def _window_values(name, length, periodic):
    # Returns float64 window values as scipy.signal.get_window(name, length, fftbins=periodic).
    if name not in _NATIVE_WINDOWS:
        try:
            from scipy import signal  # optional: only for windows not computed here
        except ImportError:
            raise ValueError(
                f"STFT: window={name!r} needs scipy (pip install scipy); without it the "
                f"window must be one of {_NATIVE_WINDOWS}, an array of values or None."
            ) from None
        try:
            return np.asarray(signal.get_window(name, length, periodic), np.float64)
        except ValueError as e:
            raise ValueError(f"STFT: unknown window={name!r}: {e}") from None
    if length == 1:
        return np.ones(1)
    m = length + 1 if periodic else length     # a periodic window drops the last sample
    n = np.arange(m)
    if name == "boxcar":
        w = np.ones(m)
    elif name == "bartlett":
        w = np.where(n <= (m - 1) / 2.0, 2.0 * n / (m - 1), 2.0 - 2.0 * n / (m - 1))
    else:
        w = sum((-1) ** k * a * np.cos(2.0 * np.pi * k * n / (m - 1))
                for k, a in enumerate(_COSINE_WINDOWS[name]))
    return w[:length]


class STFT(Initializer):
    """Initializer of Conv kernels that compute a Short-Time Fourier Transform (STFT).

    The kernel has shape `(frame_length, channels, fft_length // 2 + 1)`: entry
    `[t, :, f]` is `cos` (`side="real"`) or `sin` (`side="imag"`) of
    `-2 * pi * t * f / fft_length`, times the window and divided by its scale. Only the
    first half of the frequency bins is produced, since the rest are their conjugates.

    Args:
        side: String, `"real"` or `"imag"`: whether the kernel computes the real or the
            imaginary part of the transform. Defaults to `"real"`.
        window: String name of a windowing function (`"hann"`, `"hamming"`,
            `"blackman"`, `"bartlett"`, `"boxcar"`; any other `scipy.signal.windows`
            name when scipy is installed), an array of `frame_length` values, or `None`
            for no window. Defaults to `"hann"`.
        scaling: String, `"density"` (divide by the window's L2 norm) or `"spectrum"`
            (divide by its L1 norm), or `None` for no scaling. Defaults to `"density"`.
        periodic: Boolean, whether the window is periodic (as for FFT bins) rather
            than symmetric. Defaults to `False`.

    ```python
    STFT("real", "hann", "density", False)((128, 1, 65))
    ```
    """

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ("real", "imag"):
            raise ValueError(f"STFT: expected `side` to be 'real' or 'imag', received "
                             f"side={side!r}.")
        if scaling is not None and scaling not in ("density", "spectrum"):
            raise ValueError(f"STFT: expected `scaling` to be None, 'density' or "
                             f"'spectrum', received scaling={scaling!r}.")
        if isinstance(window, str):
            _window_values(window, 1, False)    # an unknown name fails here, not at build
        elif isinstance(window, (np.ndarray, np.generic, jax.Array)):
            window = np.asarray(window).tolist()
        self.side = side
        self.window = window
        self.scaling = scaling
        self.periodic = periodic

    def __call__(self, shape, dtype=None):
        shape = _standardize_shape(shape)
        if len(shape) != 3:
            raise ValueError(f"STFT initializer expects a shape (frame_length, channels, "
                             f"fft_length // 2 + 1), received shape={shape}.")
        dtype = _float_dtype(dtype)
        frame_length, _, bins = shape
        # Same float steps as Keras (in `dtype`), so the values agree to the last bits.
        freq = jnp.arange(bins, dtype=dtype).reshape(1, 1, bins) / ((bins - 1) * 2)
        time = jnp.arange(frame_length, dtype=dtype).reshape(frame_length, 1, 1)
        args = (-2 * time) * freq * jnp.arccos(jnp.asarray(-1, dtype))
        kernel = (jnp.cos(args) if self.side == "real" else jnp.sin(args)).astype(dtype)
        if self.window is not None:
            if isinstance(self.window, str):
                win = _window_values(self.window, frame_length, self.periodic)
            else:
                win = np.asarray(self.window)
            win = jnp.asarray(win, dtype)
            if win.ndim != 1 or win.shape[0] != frame_length:
                raise ValueError(f"STFT: `window` must have shape ({frame_length},) "
                                 f"(frame_length), received shape {tuple(win.shape)}.")
            win = win.reshape(frame_length, 1, 1)
            scale = 1
            if self.scaling == "density":
                scale = jnp.sqrt(jnp.sum(jnp.square(win)))
            elif self.scaling == "spectrum":
                scale = jnp.sum(jnp.abs(win))
            kernel = kernel * win / scale
        return jnp.broadcast_to(kernel, shape).astype(dtype)

    def get_config(self):
        return {"side": self.side, "window": self.window, "periodic": self.periodic,
                "scaling": self.scaling}


def _snake(name):
    return "".join("_" + c.lower() if c.isupper() and i else c.lower()
                   for i, c in enumerate(name))


_CLASSES = (Zeros, Ones, Constant, Identity, RandomNormal, RandomUniform, TruncatedNormal,
            VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal,
            LecunUniform, LecunNormal, Orthogonal, STFT)
_BUILTINS = {cls.__name__: cls for cls in _CLASSES}
_ALIASES = {**_BUILTINS, **{_snake(cls.__name__): cls for cls in _CLASSES if cls is not STFT},
            "stft": STFT, "STFTInitializer": STFT,
            "IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal,
            "normal": RandomNormal, "uniform": RandomUniform, "one": Ones, "zero": Zeros}

# Keras 3's public aliases: the same classes under a second name (`keras.initializers.
# glorot_uniform is keras.initializers.GlorotUniform`).
IdentityInitializer = Identity
OrthogonalInitializer = Orthogonal
STFTInitializer = STFT
stft = STFT
constant = Constant
identity = Identity
ones = Ones
zeros = Zeros
glorot_normal = GlorotNormal
glorot_uniform = GlorotUniform
he_normal = HeNormal
he_uniform = HeUniform
lecun_normal = LecunNormal
lecun_uniform = LecunUniform
orthogonal = Orthogonal
random_normal = RandomNormal
random_uniform = RandomUniform
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling


def _unknown(identifier):
    return ValueError(f"Could not interpret initializer identifier: {identifier!r}. "
                      f"Expected an Initializer, a callable `(shape, dtype)`, a config "
                      f"dict or one of {sorted(_ALIASES)}.")


def serialize(initializer):
    """Returns the initializer configuration as a Python dict, as Keras 3 writes it.

    Args:
        initializer: An `Initializer` instance (or a plain function).

    ```python
    serialize(GlorotUniform())
    # {"module": "keras.initializers", "class_name": "GlorotUniform",
    #  "config": {"seed": None, ...}, "registered_name": None}
    ```
    """
    if isinstance(initializer, Initializer):
        name = type(initializer).__name__
        if _BUILTINS.get(name) is type(initializer):
            return {"module": "keras.initializers", "class_name": name,
                    "config": initializer.get_config(), "registered_name": None}
        module = type(initializer).__module__
        return {"module": None if module == "__main__" else module, "class_name": name,
                "config": initializer.get_config(), "registered_name": name}
    if callable(initializer):
        return {"module": "builtins", "class_name": "function",
                "config": getattr(initializer, "__name__", repr(initializer)),
                "registered_name": "function"}
    raise TypeError(f"serialize: expected an Initializer, received {initializer!r} of "
                    f"type {type(initializer).__name__}.")


def deserialize(config, custom_objects=None):
    """Returns an initializer from its config (the output of `serialize`).

    Args:
        config: A dict `{"class_name": ..., "config": {...}}`, or a string name.
        custom_objects: Optional dict mapping class names to custom classes.
    """
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    if not isinstance(config, dict) or "class_name" not in config:
        raise _unknown(config)
    table = {**_ALIASES, **(custom_objects or {})}
    cls = table.get(config["class_name"])
    if cls is None:
        raise _unknown(config["class_name"])
    return cls.from_config(config.get("config") or {})


def _from_values(values):
    # An array given as the initializer: calls must ask for exactly its shape.
    values = np.asarray(values)

    def initialize_fn(shape, dtype=None):
        if _standardize_shape(shape) != values.shape:
            raise ValueError(f"Expected `shape` to be {values.shape} for an array used as "
                             f"initializer, received shape={shape}.")
        return _out(values, dtype or config.floatx())

    return initialize_fn


def get(identifier):
    """Retrieves an initializer object via an identifier.

    Args:
        identifier: A string name (`"glorot_uniform"` or `"GlorotUniform"`), a config
            dict, an `Initializer` instance or class, a callable `(shape, dtype)`, an
            array (its values, for calls of exactly its shape), or `None` (returned as
            is).

    ```python
    get("he_normal")((784, 10))
    ```
    """
    if identifier is None or isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, (str, dict)):
        return deserialize(identifier)
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, (np.ndarray, np.generic, jax.Array)):
        return _from_values(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret initializer identifier: {identifier!r} of type "
                    f"{type(identifier).__name__}. Expected an Initializer, a callable, a "
                    f"config dict or one of {sorted(_ALIASES)}.")
