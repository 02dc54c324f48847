"""`keras.ops.numpy`: NumPy-style math with Keras 3's signatures and dtype rules. [L0]

Each function is a thin mapping onto `jax.numpy`; where Keras's semantics differ from
jax.numpy's (argument names, int inputs to float math, int8 products, -0.0 in argmax on
CPUs...) the difference is written out. Every argument may be a gazelle Variable.

```python
from gazelle import ops
ops.mean(ops.arange(6), axis=0)      # float32 3.0 (ints average to floatx)
```
"""
import builtins
import math

import jax
import jax.numpy as jnp

from gazelle import config
from gazelle.ops._common import axis_arg as _axis
from gazelle.ops._common import is_int_or_bool as _is_int_or_bool
from gazelle.ops._common import tensor as _t
from gazelle.ops._common import tensors as _ts
from gazelle.ops._common import to_float as _f
from gazelle.ops._common import value as _v


def _dtype_or_floatx(dtype):
    return dtype or config.floatx()


# ---- element-wise, one argument -----------------------------------------------------------

def abs(x):
    """Absolute value, element-wise."""
    return jnp.abs(_t(x))


def absolute(x):
    """Absolute value, element-wise (alias of `abs`)."""
    return jnp.absolute(_t(x))


def fabs(x):
    """Absolute value as a float, element-wise (not for complex inputs)."""
    x = _t(x)
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise TypeError(f"fabs does not support complex inputs, received dtype {x.dtype}.")
    return jnp.fabs(x)


def negative(x):
    """Numerical negative, element-wise."""
    return jnp.negative(_t(x))


def sign(x):
    """Sign (-1, 0, 1), element-wise."""
    return jnp.sign(_t(x))


def signbit(x):
    """True where the sign bit is set (negative numbers, -0.0)."""
    return jnp.signbit(_t(x))


def square(x):
    """Square, element-wise."""
    return jnp.square(_t(x))


def sqrt(x):
    """Non-negative square root, element-wise (ints give floatx)."""
    return jnp.sqrt(_f(x))


def cbrt(x):
    """Cube root, element-wise (ints give floatx)."""
    return jnp.cbrt(_f(x))


def reciprocal(x):
    """1 / x, element-wise."""
    return jnp.reciprocal(_t(x))


def exp(x):
    """e**x, element-wise (ints give floatx)."""
    return jnp.exp(_f(x))


def exp2(x):
    """2**x, element-wise (ints give floatx)."""
    return jnp.exp2(_f(x))


def expm1(x):
    """exp(x) - 1, element-wise (ints give floatx)."""
    return jnp.expm1(_f(x))


def log(x):
    """Natural logarithm, element-wise (ints give floatx)."""
    return jnp.log(_f(x))


def log10(x):
    """Base-10 logarithm, element-wise."""
    return jnp.log10(_f(x))


def log1p(x):
    """log(1 + x), element-wise."""
    return jnp.log1p(_f(x))


def log2(x):
    """Base-2 logarithm, element-wise."""
    return jnp.log2(_f(x))


def sin(x):
    """Sine, element-wise."""
    return jnp.sin(_f(x))


def cos(x):
    """Cosine, element-wise."""
    return jnp.cos(_f(x))


def tan(x):
    """Tangent, element-wise."""
    return jnp.tan(_f(x))


def arcsin(x):
    """Inverse sine, element-wise."""
    return jnp.arcsin(_f(x))


def arccos(x):
    """Inverse cosine, element-wise."""
    return jnp.arccos(_f(x))


def arctan(x):
    """Inverse tangent, element-wise."""
    return jnp.arctan(_f(x))


def sinh(x):
    """Hyperbolic sine, element-wise."""
    return jnp.sinh(_f(x))


def cosh(x):
    """Hyperbolic cosine, element-wise."""
    return jnp.cosh(_f(x))


def tanh(x):
    """Hyperbolic tangent, element-wise."""
    return jnp.tanh(_f(x))


def arcsinh(x):
    """Inverse hyperbolic sine, element-wise."""
    return jnp.arcsinh(_f(x))


def arccosh(x):
    """Inverse hyperbolic cosine, element-wise."""
    return jnp.arccosh(_f(x))


def arctanh(x):
    """Inverse hyperbolic tangent, element-wise."""
    return jnp.arctanh(_f(x))


def sinc(x):
    """Normalized sinc, sin(pi x) / (pi x), element-wise."""
    return jnp.sinc(_f(x))


def i0(x):
    """Modified Bessel function of the first kind, order 0."""
    x = _t(x)
    dtype = x.dtype if x.dtype in (jnp.float16, jnp.bfloat16, jnp.float64) else config.floatx()
    return jnp.i0(x.astype(dtype))


def deg2rad(x):
    """Degrees to radians."""
    return jnp.deg2rad(_t(x))


def rad2deg(x):
    """Radians to degrees."""
    return jnp.rad2deg(_t(x))


def ceil(x):
    """Ceiling, element-wise (ints give floatx)."""
    return jnp.ceil(_f(x))


def floor(x):
    """Floor, element-wise (ints give floatx)."""
    return jnp.floor(_f(x))


def trunc(x):
    """Rounds towards zero; ints and bools come back unchanged."""
    x = _t(x)
    return x if _is_int_or_bool(x.dtype) else jnp.trunc(x)


def round(x, decimals=0):
    """Rounds half to even to `decimals` places (negative decimals work on ints too)."""
    x = _t(x)
    if _is_int_or_bool(x.dtype) and decimals < 0:
        factor = math.pow(10, decimals)
        y = jnp.round(x.astype(config.floatx()) * factor) / factor
        return y.astype(x.dtype)
    return jnp.round(x, decimals=decimals)


def angle(x):
    """Angle of a complex number (0 or pi for reals)."""
    return jnp.angle(_f(x))


def conj(x):
    """Complex conjugate."""
    return jnp.conjugate(_t(x))


def conjugate(x):
    """Complex conjugate."""
    return jnp.conjugate(_t(x))


def real(x):
    """Real part."""
    return jnp.real(_t(x))


def imag(x):
    """Imaginary part."""
    return jnp.imag(_t(x))


def isfinite(x):
    """True where finite."""
    return jnp.isfinite(_t(x))


def isinf(x):
    """True where +-inf."""
    return jnp.isinf(_t(x))


def isnan(x):
    """True where NaN."""
    return jnp.isnan(_t(x))


def isneginf(x):
    """True where -inf."""
    return jnp.isneginf(_t(x))


def isposinf(x):
    """True where +inf."""
    return jnp.isposinf(_t(x))


def isreal(x):
    """True where the imaginary part is zero."""
    return jnp.isreal(_t(x))


def logical_not(x):
    """Logical NOT, element-wise."""
    return jnp.logical_not(_t(x))


def bitwise_invert(x):
    """Bitwise NOT, element-wise."""
    return jnp.invert(_t(x))


def bitwise_not(x):
    """Bitwise NOT, element-wise (alias of `bitwise_invert`)."""
    return jnp.invert(_t(x))


def copy(x):
    """A copy of `x`."""
    return jnp.copy(_t(x))


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """Replaces NaN and infinities by finite numbers."""
    return jnp.nan_to_num(_t(x), nan=nan, posinf=posinf, neginf=neginf)


# ---- element-wise, two arguments ----------------------------------------------------------

def add(x1, x2):
    """x1 + x2, element-wise."""
    return jnp.add(_t(x1), _t(x2))


def subtract(x1, x2):
    """x1 - x2, element-wise."""
    return jnp.subtract(_t(x1), _t(x2))


def multiply(x1, x2):
    """x1 * x2, element-wise."""
    return jnp.multiply(_t(x1), _t(x2))


def divide(x1, x2):
    """x1 / x2, element-wise (true division)."""
    return jnp.divide(_t(x1), _t(x2))


def true_divide(x1, x2):
    """x1 / x2, element-wise (alias of `divide`)."""
    return jnp.divide(_t(x1), _t(x2))


def divide_no_nan(x1, x2):
    """x1 / x2, with 0 where x2 is 0."""
    x1, x2 = _t(x1), _t(x2)
    safe = jnp.where(x2 == 0, 1, x2)
    return jnp.where(x2 == 0, 0, jnp.divide(x1, safe))


def floor_divide(x1, x2):
    """x1 // x2, element-wise."""
    return jnp.floor_divide(_t(x1), _t(x2))


def mod(x1, x2):
    """Remainder with the sign of x2, element-wise."""
    return jnp.mod(_t(x1), _t(x2))


def fmod(x1, x2):
    """Remainder with the sign of x1, element-wise."""
    return jnp.fmod(_t(x1), _t(x2))


def power(x1, x2):
    """x1 ** x2, element-wise."""
    return jnp.power(_t(x1), _t(x2))


def maximum(x1, x2):
    """Element-wise maximum (NaN propagates)."""
    return jnp.maximum(_t(x1), _t(x2))


def minimum(x1, x2):
    """Element-wise minimum (NaN propagates)."""
    return jnp.minimum(_t(x1), _t(x2))


def fmax(x1, x2):
    """Element-wise maximum ignoring NaN."""
    return jnp.fmax(_t(x1), _t(x2))


def fmin(x1, x2):
    """Element-wise minimum ignoring NaN."""
    return jnp.fmin(_t(x1), _t(x2))


def arctan2(x1, x2):
    """Element-wise arctan(x1 / x2) in the right quadrant."""
    x1, x2 = _t(x1), _t(x2)
    dtype = jnp.result_type(x1.dtype, x2.dtype, float)
    return jnp.arctan2(x1.astype(dtype), x2.astype(dtype))


def hypot(x1, x2):
    """sqrt(x1**2 + x2**2), element-wise."""
    return jnp.hypot(_t(x1), _t(x2))


def logaddexp(x1, x2):
    """log(exp(x1) + exp(x2)), element-wise."""
    x1, x2 = _t(x1), _t(x2)
    dtype = jnp.result_type(x1.dtype, x2.dtype, float)
    return jnp.logaddexp(x1.astype(dtype), x2.astype(dtype))


def logaddexp2(x1, x2):
    """log2(2**x1 + 2**x2), element-wise."""
    x1, x2 = _t(x1), _t(x2)
    dtype = jnp.result_type(x1.dtype, x2.dtype, float)
    return jnp.logaddexp2(x1.astype(dtype), x2.astype(dtype))


def heaviside(x1, x2):
    """Heaviside step: 0 below zero, x2 at zero, 1 above."""
    return jnp.heaviside(_t(x1), _t(x2))


def nextafter(x1, x2):
    """The next float after x1 towards x2."""
    return jnp.nextafter(_t(x1), _t(x2))


def gcd(x1, x2):
    """Greatest common divisor, element-wise."""
    return jnp.gcd(_t(x1), _t(x2))


def lcm(x1, x2):
    """Least common multiple, element-wise."""
    return jnp.lcm(_t(x1), _t(x2))


def ldexp(x1, x2):
    """x1 * 2**x2, element-wise; x2 must hold integers."""
    x1, x2 = _t(x1), _t(x2)
    if not jnp.issubdtype(x2.dtype, jnp.integer):
        raise TypeError(f"ldexp: the exponent x2 must have an integer dtype, received {x2.dtype}.")
    return jnp.ldexp(x1, x2)


def equal(x1, x2):
    """x1 == x2, element-wise."""
    return jnp.equal(_t(x1), _t(x2))


def not_equal(x1, x2):
    """x1 != x2, element-wise."""
    return jnp.not_equal(_t(x1), _t(x2))


def greater(x1, x2):
    """x1 > x2, element-wise."""
    return jnp.greater(_t(x1), _t(x2))


def greater_equal(x1, x2):
    """x1 >= x2, element-wise."""
    return jnp.greater_equal(_t(x1), _t(x2))


def less(x1, x2):
    """x1 < x2, element-wise."""
    return jnp.less(_t(x1), _t(x2))


def less_equal(x1, x2):
    """x1 <= x2, element-wise."""
    return jnp.less_equal(_t(x1), _t(x2))


def logical_and(x1, x2):
    """Logical AND, element-wise."""
    return jnp.logical_and(_t(x1), _t(x2))


def logical_or(x1, x2):
    """Logical OR, element-wise."""
    return jnp.logical_or(_t(x1), _t(x2))


def logical_xor(x1, x2):
    """Logical XOR, element-wise."""
    return jnp.logical_xor(_t(x1), _t(x2))


def bitwise_and(x, y):
    """Bitwise AND, element-wise."""
    return jnp.bitwise_and(_t(x), _t(y))


def bitwise_or(x, y):
    """Bitwise OR, element-wise."""
    return jnp.bitwise_or(_t(x), _t(y))


def bitwise_xor(x, y):
    """Bitwise XOR, element-wise."""
    return jnp.bitwise_xor(_t(x), _t(y))


def bitwise_left_shift(x, y):
    """x << y, element-wise."""
    return jnp.left_shift(_t(x), y if isinstance(y, int) else _t(y))


def left_shift(x, y):
    """x << y, element-wise (alias of `bitwise_left_shift`)."""
    return bitwise_left_shift(x, y)


def bitwise_right_shift(x, y):
    """x >> y, element-wise."""
    return jnp.right_shift(_t(x), y if isinstance(y, int) else _t(y))


def right_shift(x, y):
    """x >> y, element-wise (alias of `bitwise_right_shift`)."""
    return bitwise_right_shift(x, y)


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """True where |x1 - x2| <= atol + rtol * |x2|."""
    return jnp.isclose(_t(x1), _t(x2), rtol=rtol, atol=atol, equal_nan=equal_nan)


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """True when `isclose` holds everywhere."""
    return jnp.allclose(_t(x1), _t(x2), rtol=rtol, atol=atol, equal_nan=equal_nan)


def clip(x, x_min, x_max):
    """Clips values to [x_min, x_max] (bools are clipped as int32)."""
    x = _t(x)
    if x.dtype == jnp.bool_:
        x = x.astype("int32")
    return jnp.clip(x, _v(x_min), _v(x_max))


def where(condition, x1=None, x2=None):
    """Picks x1 where `condition`, else x2; with one argument, the indices where it holds."""
    if x1 is None and x2 is None:
        return jnp.nonzero(_t(condition))
    if x1 is None or x2 is None:
        raise ValueError("where: pass both x1 and x2, or neither.")
    return jnp.where(_t(condition), _t(x1), _t(x2))


# ---- reductions ---------------------------------------------------------------------------

def sum(x, axis=None, keepdims=False):
    """Sum over `axis` (bools and small ints sum as int32)."""
    return jnp.sum(_t(x), axis=_axis(axis), keepdims=keepdims)


def prod(x, axis=None, keepdims=False, dtype=None):
    """Product over `axis`."""
    return jnp.prod(_t(x), axis=_axis(axis), keepdims=keepdims, dtype=dtype)


def mean(x, axis=None, keepdims=False):
    """Mean over `axis` (ints and bools average to float32)."""
    x = _t(x)
    compute = jnp.result_type(x.dtype, "float32")
    result = compute if _is_int_or_bool(x.dtype) else x.dtype
    return jnp.mean(x, axis=_axis(axis), keepdims=keepdims, dtype=compute).astype(result)


def var(x, axis=None, keepdims=False):
    """Variance over `axis`."""
    x = _t(x)
    compute = jnp.result_type(x.dtype, "float32")
    result = jnp.result_type(x.dtype, float)
    return jnp.var(x, axis=_axis(axis), keepdims=keepdims, dtype=compute).astype(result)


def std(x, axis=None, keepdims=False):
    """Standard deviation over `axis`."""
    return jnp.std(_t(x), axis=_axis(axis), keepdims=keepdims)


def max(x, axis=None, keepdims=False, initial=None):
    """Maximum over `axis`."""
    return jnp.max(_t(x), axis=_axis(axis), keepdims=keepdims, initial=initial)


def min(x, axis=None, keepdims=False, initial=None):
    """Minimum over `axis`."""
    return jnp.min(_t(x), axis=_axis(axis), keepdims=keepdims, initial=initial)


def amax(x, axis=None, keepdims=False):
    """Maximum over `axis`."""
    return jnp.amax(_t(x), axis=_axis(axis), keepdims=keepdims)


def amin(x, axis=None, keepdims=False):
    """Minimum over `axis`."""
    return jnp.amin(_t(x), axis=_axis(axis), keepdims=keepdims)


def ptp(x, axis=None, keepdims=False):
    """max - min over `axis`."""
    return jnp.ptp(_t(x), axis=_axis(axis), keepdims=keepdims)


def all(x, axis=None, keepdims=False):
    """True when every element over `axis` is truthy."""
    return jnp.all(_t(x), axis=_axis(axis), keepdims=keepdims)


def any(x, axis=None, keepdims=False):
    """True when some element over `axis` is truthy."""
    return jnp.any(_t(x), axis=_axis(axis), keepdims=keepdims)


def count_nonzero(x, axis=None):
    """Number of non-zero elements over `axis`, as int32."""
    return jnp.count_nonzero(_t(x), axis=_axis(axis)).astype("int32")


def _cpu_signed_zero_fix(x):
    # Keras's JAX backend ranks -0.0 below 0.0 in arg-reductions on CPUs.
    if not jnp.issubdtype(x.dtype, jnp.floating) or x.ndim == 0:
        return x
    if jax.default_backend() != "cpu":
        return x
    x = x.astype(jnp.result_type(x.dtype, "float32"))
    return jnp.where((x == 0.0) & jnp.signbit(x), -jnp.finfo(x.dtype).tiny, x)


def argmax(x, axis=None, keepdims=False):
    """Index of the maximum over `axis` (int32)."""
    return jnp.argmax(_cpu_signed_zero_fix(_t(x)), axis=axis, keepdims=keepdims)


def argmin(x, axis=None, keepdims=False):
    """Index of the minimum over `axis` (int32)."""
    return jnp.argmin(_cpu_signed_zero_fix(_t(x)), axis=axis, keepdims=keepdims)


def median(x, axis=None, keepdims=False):
    """Median over `axis`."""
    x = _t(x)
    result = jnp.median(x, axis=_axis(axis), keepdims=keepdims)
    if keepdims and axis is None:
        result = jnp.reshape(result, (1,) * x.ndim)
    return result


def quantile(x, q, axis=None, method="linear", keepdims=False):
    """q-th quantile(s) over `axis`."""
    x, q = _t(x), _t(q)
    result = jnp.quantile(x, q, axis=_axis(axis), method=method, keepdims=keepdims)
    if keepdims and axis is None:
        result = jnp.reshape(result, q.shape + (1,) * x.ndim)
    return result


def percentile(x, q, axis=None, method="linear", keepdims=False):
    """q-th percentile(s) over `axis`."""
    return jnp.percentile(_t(x), _t(q), axis=_axis(axis), method=method, keepdims=keepdims)


def average(x, axis=None, weights=None):
    """Weighted average over `axis`."""
    x = _t(x)
    dtypes = [x.dtype, float]
    if weights is not None:
        weights = _t(weights)
        dtypes.append(weights.dtype)
    dtype = jnp.result_type(*dtypes)
    weights = None if weights is None else weights.astype(dtype)
    return jnp.average(x.astype(dtype), axis=axis, weights=weights)


def nanmax(x, axis=None, keepdims=False):
    """Maximum over `axis`, ignoring NaN."""
    return jnp.nanmax(_t(x), axis=_axis(axis), keepdims=keepdims)


def nanmin(x, axis=None, keepdims=False):
    """Minimum over `axis`, ignoring NaN."""
    return jnp.nanmin(_t(x), axis=_axis(axis), keepdims=keepdims)


def nanmean(x, axis=None, keepdims=False):
    """Mean over `axis`, ignoring NaN."""
    return jnp.nanmean(_t(x), axis=_axis(axis), keepdims=keepdims)


def nanmedian(x, axis=None, keepdims=False):
    """Median over `axis`, ignoring NaN."""
    return jnp.nanmedian(_t(x), axis=_axis(axis), keepdims=keepdims)


def nansum(x, axis=None, keepdims=False):
    """Sum over `axis`, NaN counted as zero."""
    return jnp.nansum(_t(x), axis=_axis(axis), keepdims=keepdims)


def nanprod(x, axis=None, keepdims=False):
    """Product over `axis`, NaN counted as one."""
    return jnp.nanprod(_t(x), axis=_axis(axis), keepdims=keepdims)


def nanstd(x, axis=None, keepdims=False):
    """Standard deviation over `axis`, ignoring NaN."""
    return jnp.nanstd(_t(x), axis=_axis(axis), keepdims=keepdims)


def nanvar(x, axis=None, keepdims=False):
    """Variance over `axis`, ignoring NaN."""
    return jnp.nanvar(_t(x), axis=_axis(axis), keepdims=keepdims)


def nanargmax(x, axis=None, keepdims=False):
    """Index of the maximum over `axis`, ignoring NaN."""
    return jnp.nanargmax(_t(x), axis=axis, keepdims=keepdims)


def nanargmin(x, axis=None, keepdims=False):
    """Index of the minimum over `axis`, ignoring NaN."""
    return jnp.nanargmin(_t(x), axis=axis, keepdims=keepdims)


def nancumsum(x, axis=None, dtype=None):
    """Cumulative sum, NaN counted as zero."""
    return jnp.nancumsum(_t(x), axis=axis, dtype=dtype)


def nancumprod(x, axis=None, dtype=None):
    """Cumulative product, NaN counted as one."""
    return jnp.nancumprod(_t(x), axis=axis, dtype=dtype)


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    """q-th percentile(s) over `axis`, ignoring NaN."""
    return jnp.nanpercentile(_t(x), _t(q), axis=_axis(axis), method=method, keepdims=keepdims)


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """q-th quantile(s) over `axis`, ignoring NaN."""
    return jnp.nanquantile(_t(x), _t(q), axis=_axis(axis), method=method, keepdims=keepdims)


def cumsum(x, axis=None, dtype=None):
    """Cumulative sum along `axis` (flattened when None)."""
    return jnp.cumsum(_t(x), axis=axis, dtype=dtype)


def cumprod(x, axis=None, dtype=None):
    """Cumulative product along `axis` (flattened when None)."""
    return jnp.cumprod(_t(x), axis=axis, dtype=dtype)


def trace(x, offset=0, axis1=0, axis2=1):
    """Sum along a diagonal."""
    return jnp.trace(_t(x), offset=offset, axis1=axis1, axis2=axis2)


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """Integral of y(x) by the trapezoidal rule."""
    return jnp.trapezoid(_t(y), None if x is None else _t(x), dx=_t(dx), axis=axis)


# ---- products -----------------------------------------------------------------------------

def matmul(x1, x2):
    """Matrix product (int8 @ int8 accumulates to int32)."""
    x1, x2 = _t(x1), _t(x2)
    preferred = "int32" if x1.dtype == jnp.int8 and x2.dtype == jnp.int8 else None
    return jnp.matmul(x1, x2, preferred_element_type=preferred)


def dot(x1, x2):
    """Dot product."""
    return jnp.dot(_t(x1), _t(x2))


def vdot(x1, x2):
    """Dot product of flattened inputs (conjugating x1)."""
    return jnp.vdot(_t(x1), _t(x2))


def inner(x1, x2):
    """Inner product over the last axes."""
    return jnp.inner(_t(x1), _t(x2))


def outer(x1, x2):
    """Outer product of flattened inputs."""
    return jnp.outer(_t(x1), _t(x2))


def tensordot(x1, x2, axes=2):
    """Tensor contraction over `axes`."""
    return jnp.tensordot(_t(x1), _t(x2), axes=axes)


def einsum(subscripts, *operands, **kwargs):
    """Einstein summation (all-int8 operands accumulate to int32)."""
    operands = _ts(operands)
    int8 = builtins.all(o.dtype == jnp.int8 for o in operands)
    kwargs["preferred_element_type"] = "int32" if int8 else None
    return jnp.einsum(subscripts, *operands, **kwargs)


def kron(x1, x2):
    """Kronecker product."""
    return jnp.kron(_t(x1), _t(x2))


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 3-vectors (or 2-vectors)."""
    return jnp.cross(_t(x1), _t(x2), axisa=axisa, axisb=axisb, axisc=axisc, axis=axis)


def correlate(x1, x2, mode="valid"):
    """Cross-correlation of two 1-D arrays."""
    return jnp.correlate(_t(x1), _t(x2), mode)


def corrcoef(x):
    """Pearson correlation coefficients of the rows of `x`."""
    return jnp.corrcoef(_t(x))


# ---- creation -----------------------------------------------------------------------------

def array(x, dtype=None):
    """An array from `x`."""
    return jnp.array(_t(x), dtype=dtype)


def zeros(shape, dtype=None):
    """An array of zeros (floatx by default)."""
    return jnp.zeros(shape, dtype=_dtype_or_floatx(dtype))


def ones(shape, dtype=None):
    """An array of ones (floatx by default)."""
    return jnp.ones(shape, dtype=_dtype_or_floatx(dtype))


def empty(shape, dtype=None):
    """An uninitialised array (zeros on XLA; floatx by default)."""
    return jnp.empty(shape, dtype=_dtype_or_floatx(dtype))


def full(shape, fill_value, dtype=None):
    """An array filled with `fill_value` (floatx by default)."""
    return jnp.full(shape, _v(fill_value), dtype=_dtype_or_floatx(dtype))


def zeros_like(x, dtype=None):
    """Zeros with the shape (and dtype) of `x`."""
    return jnp.zeros_like(_t(x), dtype=dtype)


def ones_like(x, dtype=None):
    """Ones with the shape (and dtype) of `x`."""
    return jnp.ones_like(_t(x), dtype=dtype)


def empty_like(x, dtype=None):
    """An uninitialised array like `x`."""
    return jnp.empty_like(_t(x), dtype=dtype)


def full_like(x, fill_value, dtype=None):
    """`fill_value` with the shape (and dtype) of `x`."""
    return jnp.full_like(_t(x), _v(fill_value), dtype=dtype)


def eye(N, M=None, k=0, dtype=None):
    """A 2-D array with ones on the k-th diagonal."""
    for name, value in (("N", N), ("M", M)):
        if isinstance(value, float) or jnp.issubdtype(getattr(value, "dtype", int), jnp.floating):
            raise TypeError(f"eye: `{name}` must be an integer, received {value!r}.")
    return jnp.eye(N, M=M, k=k, dtype=_dtype_or_floatx(dtype))


def identity(n, dtype=None):
    """The n x n identity matrix."""
    return jnp.identity(n, dtype=_dtype_or_floatx(dtype))


def tri(N, M=None, k=0, dtype=None):
    """Ones at and below the k-th diagonal."""
    return jnp.tri(N, M=M, k=k, dtype=_dtype_or_floatx(dtype))


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop); dtype from the arguments' Python types."""
    if dtype is None:
        kinds = [getattr(a, "dtype", type(a)) for a in (start, stop, step) if a is not None]
        dtype = jnp.result_type(*kinds)
    return jnp.arange(_v(start), _v(stop), step=_v(step), dtype=dtype)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """`num` evenly spaced values from start to stop."""
    return jnp.linspace(_v(start), _v(stop), num=num, endpoint=endpoint, retstep=retstep,
                        dtype=dtype, axis=axis)


def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """Values evenly spaced on a log scale: base**linspace(start, stop)."""
    return jnp.logspace(_v(start), _v(stop), num=num, endpoint=endpoint, base=base,
                        dtype=dtype, axis=axis)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """Values evenly spaced on a log scale between start and stop."""
    return jnp.geomspace(_v(start), _v(stop), num=num, endpoint=endpoint, dtype=dtype, axis=axis)


def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D coordinate vectors."""
    return jnp.meshgrid(*_ts(x), indexing=indexing)


def bartlett(x):
    """The Bartlett window of length x (floatx)."""
    return jnp.bartlett(_v(x)).astype(config.floatx())


def blackman(x):
    """The Blackman window of length x (floatx)."""
    return jnp.blackman(_v(x)).astype(config.floatx())


def hamming(x):
    """The Hamming window of length x (floatx)."""
    return jnp.hamming(_v(x)).astype(config.floatx())


def hanning(x):
    """The Hann window of length x (floatx)."""
    return jnp.hanning(_v(x)).astype(config.floatx())


def kaiser(x, beta):
    """The Kaiser window of length x (floatx)."""
    return jnp.kaiser(_v(x), beta).astype(config.floatx())


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of the 1-D `x` (N columns, default len(x))."""
    x = _t(x)
    if x.ndim != 1:
        raise ValueError(f"vander: `x` must be 1-D, received shape {x.shape}.")
    if N is not None and (not isinstance(N, int) or N < 0):
        raise ValueError(f"vander: `N` must be a non-negative int, received {N!r}.")
    return jnp.vander(x, N=N, increasing=increasing)


def diag(x, k=0):
    """The k-th diagonal of a matrix, or a matrix with `x` on it."""
    return jnp.diag(_t(x), k=k)


def diagflat(x, k=0):
    """A 2-D array with the flattened `x` on the k-th diagonal."""
    return jnp.diagflat(_t(x), k=k)


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The diagonal over axes axis1 and axis2."""
    x = _t(x)
    if axis1 % x.ndim == axis2 % x.ndim:
        raise ValueError(f"diagonal: `axis1` and `axis2` must differ, received {axis1} and "
                         f"{axis2}.")
    return jnp.diagonal(x, offset=offset, axis1=axis1, axis2=axis2)


def tril(x, k=0):
    """Lower triangle of `x` (zeros above the k-th diagonal)."""
    return jnp.tril(_t(x), k=k)


def triu(x, k=0):
    """Upper triangle of `x` (zeros below the k-th diagonal)."""
    return jnp.triu(_t(x), k=k)


# ---- shapes and rearrangement -------------------------------------------------------------

def reshape(x, newshape):
    """`x` with a new shape (one -1 allowed)."""
    return jnp.reshape(_t(x), newshape)


def ravel(x):
    """`x` flattened to 1-D."""
    return jnp.ravel(_t(x))


def transpose(x, axes=None):
    """Permutes the axes (reverses them when None)."""
    return jnp.transpose(_t(x), axes=axes)


def swapaxes(x, axis1, axis2):
    """Swaps two axes."""
    return jnp.swapaxes(_t(x), axis1, axis2)


def moveaxis(x, source, destination):
    """Moves axes to new positions."""
    return jnp.moveaxis(_t(x), source, destination)


def expand_dims(x, axis):
    """Inserts length-1 axes at `axis`."""
    return jnp.expand_dims(_t(x), _axis(axis))


def squeeze(x, axis=None):
    """Removes length-1 axes."""
    return jnp.squeeze(_t(x), axis=_axis(axis))


def broadcast_to(x, shape):
    """Broadcasts `x` to `shape`."""
    return jnp.broadcast_to(_t(x), shape)


def tile(x, repeats):
    """Repeats `x` `repeats` times along each axis."""
    return jnp.tile(_t(x), repeats)


def repeat(x, repeats, axis=None):
    """Repeats each element `repeats` times."""
    return jnp.repeat(_t(x), _v(repeats), axis=axis)


def flip(x, axis=None):
    """Reverses the order of elements along `axis`."""
    return jnp.flip(_t(x), axis=_axis(axis))


def fliplr(x):
    """Reverses the order along axis 1."""
    return jnp.fliplr(_t(x))


def flipud(x):
    """Reverses the order along axis 0."""
    return jnp.flipud(_t(x))


def roll(x, shift, axis=None):
    """Rolls elements along `axis` by `shift`."""
    return jnp.roll(_t(x), shift, axis=_axis(axis))


def rot90(array, k=1, axes=(0, 1)):
    """Rotates by 90 degrees k times in the plane of `axes`."""
    array = _t(array)
    if array.ndim < 2:
        raise ValueError(f"rot90 needs an array with at least 2 dimensions, received shape "
                         f"{array.shape}.")
    if len(axes) != 2 or axes[0] == axes[1]:
        raise ValueError(f"rot90: `axes` must be two different axes, received {axes}.")
    return jnp.rot90(array, k=k, axes=tuple(axes))


def pad(x, pad_width, mode="constant", constant_values=None):
    """Pads `x` (`constant_values` only with mode='constant')."""
    kwargs = {}
    if constant_values is not None:
        if mode != "constant":
            raise ValueError("pad: `constant_values` can only be passed with mode='constant', "
                             f"received mode={mode!r}.")
        kwargs["constant_values"] = constant_values
    return jnp.pad(_t(x), pad_width, mode=mode, **kwargs)


def concatenate(xs, axis=0):
    """Joins arrays along an existing axis."""
    return jnp.concatenate(_ts(xs), axis=axis)


def append(x1, x2, axis=None):
    """Appends x2 to x1 (flattened when axis is None)."""
    return jnp.append(_t(x1), _t(x2), axis=axis)


def stack(x, axis=0):
    """Joins arrays along a new axis."""
    return jnp.stack(_ts(x), axis=axis)


def hstack(xs):
    """Stacks arrays horizontally (column-wise)."""
    return jnp.hstack(_ts(xs))


def vstack(xs):
    """Stacks arrays vertically (row-wise)."""
    return jnp.vstack(_ts(xs))


def dstack(xs):
    """Stacks arrays along the third axis."""
    return jnp.dstack(_ts(xs))


def split(x, indices_or_sections, axis=0):
    """Splits into equal sections or at indices."""
    return jnp.split(_t(x), indices_or_sections, axis=axis)


def array_split(x, indices_or_sections, axis=0):
    """Splits into `indices_or_sections` nearly equal sections."""
    if not isinstance(indices_or_sections, int) or indices_or_sections <= 0:
        raise ValueError("array_split: `indices_or_sections` must be a positive int, received "
                         f"{indices_or_sections!r}.")
    return jnp.array_split(_t(x), indices_or_sections, axis=axis)


def hsplit(x, indices_or_sections):
    """Splits along axis 1 (axis 0 for 1-D)."""
    return jnp.hsplit(_t(x), indices_or_sections)


def vsplit(x, indices_or_sections):
    """Splits along axis 0."""
    return jnp.vsplit(_t(x), indices_or_sections)


def dsplit(x, indices_or_sections):
    """Splits along axis 2."""
    return jnp.dsplit(_t(x), indices_or_sections)


def ndim(x):
    """Number of dimensions."""
    return jnp.ndim(_t(x))


def size(x):
    """Number of elements."""
    return jnp.size(_t(x))


def view(x, dtype=None):
    """The same bytes viewed as `dtype`."""
    return _t(x).view(dtype=dtype)


# ---- indexing, sorting, searching ---------------------------------------------------------

def get_item(x, key):
    """x[key]."""
    return _t(x)[_v(key)]


def take(x, indices, axis=None):
    """Elements of `x` at `indices` along `axis` (flattened when None)."""
    return jnp.take(_t(x), _t(indices), axis=axis)


def take_along_axis(x, indices, axis=None):
    """Elements picked by `indices` along `axis`."""
    return jnp.take_along_axis(_t(x), _t(indices), axis=axis)


def nonzero(x):
    """Indices of the non-zero elements, one array per dimension."""
    return jnp.nonzero(_t(x))


def sort(x, axis=-1):
    """Sorted copy along `axis`."""
    return jnp.sort(_t(x), axis=axis)


def argsort(x, axis=-1):
    """Indices that sort `x` along `axis`."""
    x = _t(x)
    return jnp.argsort(x, axis=None if x.ndim == 0 else axis)


def argpartition(x, kth, axis=-1):
    """Indices that partition `x` around its kth element."""
    x = _t(x)
    if axis is None:
        return jnp.argpartition(jnp.ravel(x), kth, axis=0)
    return jnp.argpartition(x, kth, axis=axis)


def searchsorted(sorted_sequence, values, side="left"):
    """Indices where `values` would be inserted to keep the 1-D sequence sorted."""
    sorted_sequence = _t(sorted_sequence)
    if sorted_sequence.ndim != 1:
        raise ValueError("searchsorted needs a 1-D sorted_sequence (use vectorized_map for "
                         f"more), received shape {sorted_sequence.shape}.")
    return jnp.searchsorted(sorted_sequence, _t(values), side=side)


def digitize(x, bins):
    """Index of the bin each value falls into."""
    return jnp.digitize(_t(x), _t(bins))


def isin(x1, x2, assume_unique=False, invert=False):
    """True where an element of x1 is in x2."""
    return jnp.isin(_t(x1), _t(x2), assume_unique=assume_unique, invert=invert)


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False,
           axis=None, size=None, fill_value=None):
    """Unique elements (pass `size` to use it under jit)."""
    return jnp.unique(_t(x), return_index=return_index, return_inverse=return_inverse,
                      return_counts=return_counts, axis=axis, equal_nan=False, size=size,
                      sorted=sorted, fill_value=fill_value)


def unravel_index(indices, shape):
    """Flat indices to a tuple of coordinate arrays."""
    return jnp.unravel_index(_t(indices), shape)


def select(condlist, choicelist, default=0):
    """Picks from `choicelist` by the first true condition in `condlist`."""
    if not isinstance(condlist, (list, tuple)) or not isinstance(choicelist, (list, tuple)):
        raise ValueError("select: `condlist` and `choicelist` must be lists, received "
                         f"{type(condlist).__name__} and {type(choicelist).__name__}.")
    if not condlist or len(condlist) != len(choicelist):
        raise ValueError("select: `condlist` and `choicelist` must be non-empty and of the "
                         f"same length, received {len(condlist)} and {len(choicelist)}.")
    return jnp.select(_ts(condlist), _ts(choicelist), default=default)


def bincount(x, weights=None, minlength=0, sparse=False):
    """Counts of each non-negative int (per row for 2-D `x`)."""
    if sparse:
        raise NotImplementedError("bincount(sparse=True) is not supported by gazelle (no sparse "
                                  "tensors); use sparse=False.")
    x = _t(x)
    weights = None if weights is None else _t(weights)
    if x.ndim == 2:
        rows = [jnp.bincount(x[i], weights=None if weights is None else weights[i],
                             minlength=minlength) for i in range(x.shape[0])]
        return jnp.stack(rows)
    return jnp.bincount(x, weights=weights, minlength=minlength)


def histogram(x, bins=10, range=None):
    """Counts and bin edges of a histogram of the 1-D `x`."""
    x = _t(x)
    if not isinstance(bins, int) or bins < 0:
        raise ValueError(f"histogram: `bins` must be a non-negative int, received {bins!r}.")
    if x.ndim != 1:
        raise ValueError(f"histogram needs a 1-D x, received shape {x.shape}.")
    return jnp.histogram(x, bins=bins, range=range)


def diff(a, n=1, axis=-1):
    """n-th discrete difference along `axis`."""
    return jnp.diff(_t(a), n=n, axis=axis)


def slogdet(x):
    """(sign, log|det|) of square matrices."""
    return tuple(jnp.linalg.slogdet(_t(x)))


def vectorize(pyfunc, *, excluded=None, signature=None):
    """`pyfunc` turned into a function that broadcasts over arrays."""
    return jnp.vectorize(pyfunc, excluded=excluded or set(), signature=signature)
