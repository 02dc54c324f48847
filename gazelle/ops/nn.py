"""`keras.ops.nn`: activations, convolutions, pooling, normalization, losses, CTC. [L0]

Thin mappings onto `jax.nn` and `jax.lax` with Keras 3's signatures: convolution kernels
are `(*spatial, in_channels // groups, out_channels)` for either `data_format`, pooling
takes `pool_size`/`strides`/`padding` as in Keras, and the cross-entropies clip
probabilities to `[epsilon, 1 - epsilon]` exactly as Keras does. Every tensor argument may
be a gazelle Variable.

```python
from gazelle import ops
ops.conv(ops.ones((1, 8, 8, 3)), ops.ones((3, 3, 3, 4)), padding="same").shape  # (1, 8, 8, 4)
```
"""
import math
import warnings

import jax
import jax.numpy as jnp
from jax import lax

from gazelle import config
from gazelle.ops._common import axis_arg as _axis
from gazelle.ops._common import data_format_arg as _data_format
from gazelle.ops._common import tensor as _t

# ---- activations --------------------------------------------------------------------------


def relu(x):
    """max(x, 0)."""
    return jax.nn.relu(_t(x))


def relu6(x):
    """min(max(x, 0), 6)."""
    return jax.nn.relu6(_t(x))


def sigmoid(x):
    """1 / (1 + exp(-x))."""
    return jax.nn.sigmoid(_t(x))


def sparse_sigmoid(x):
    """Piecewise-linear sigmoid: 0 below -1, (x + 1) / 2 in [-1, 1], 1 above."""
    return jax.nn.sparse_sigmoid(_t(x))


def softplus(x):
    """log(1 + exp(x))."""
    return jax.nn.softplus(_t(x))


def softsign(x):
    """x / (1 + |x|)."""
    return jax.nn.soft_sign(_t(x))


def soft_shrink(x, threshold=0.5):
    """x - threshold above threshold, x + threshold below -threshold, 0 between."""
    x = _t(x)
    return jnp.where(x > threshold, x - threshold, jnp.where(x < -threshold, x + threshold, 0.0))


def hard_shrink(x, threshold=0.5):
    """x where |x| > threshold, else 0."""
    x = _t(x)
    return jnp.where(jnp.abs(x) > threshold, x, 0.0)


def tanh_shrink(x):
    """x - tanh(x)."""
    x = _t(x)
    return x - jnp.tanh(x)


def threshold(x, threshold, default_value):
    """x where x > threshold, else default_value."""
    x = _t(x)
    return jnp.where(x > threshold, x, default_value)


def sparse_plus(x):
    """0 below -1, (x + 1)**2 / 4 in [-1, 1], x above."""
    return jax.nn.sparse_plus(_t(x))


def silu(x):
    """x * sigmoid(x)."""
    return jax.nn.silu(_t(x))


def swish(x):
    """x * sigmoid(x) (alias of `silu`)."""
    return jax.nn.silu(_t(x))


def squareplus(x, b=4):
    """(x + sqrt(x**2 + b)) / 2."""
    return jax.nn.squareplus(_t(x), b=b)


def log_sigmoid(x):
    """log(sigmoid(x)), computed stably."""
    return jax.nn.log_sigmoid(_t(x))


def leaky_relu(x, negative_slope=0.2):
    """x above 0, negative_slope * x below."""
    return jax.nn.leaky_relu(_t(x), negative_slope=negative_slope)


def hard_sigmoid(x):
    """relu6(x + 3) / 6."""
    return jax.nn.hard_sigmoid(_t(x))


def hard_silu(x):
    """x * hard_sigmoid(x)."""
    return jax.nn.hard_silu(_t(x))


def hard_swish(x):
    """x * hard_sigmoid(x) (alias of `hard_silu`)."""
    return jax.nn.hard_silu(_t(x))


def hard_tanh(x):
    """Clips to [-1, 1]."""
    return jax.nn.hard_tanh(_t(x))


def elu(x, alpha=1.0):
    """x above 0, alpha * (exp(x) - 1) below."""
    return jax.nn.elu(_t(x), alpha=alpha)


def selu(x):
    """Scaled ELU with the self-normalizing constants."""
    return jax.nn.selu(_t(x))


def gelu(x, approximate=True):
    """Gaussian error linear unit (tanh approximation by default, as in Keras)."""
    return jax.nn.gelu(_t(x), approximate)


def celu(x, alpha=1.0):
    """max(x, 0) + min(alpha * (exp(x / alpha) - 1), 0)."""
    return jax.nn.celu(_t(x), alpha=alpha)


def glu(x, axis=-1):
    """Gated linear unit: a * sigmoid(b), with a, b the halves of `x` along `axis`."""
    x = _t(x)
    if x.shape[axis] % 2:
        raise ValueError(f"glu: axis {axis} of `x` must have an even size, received shape "
                         f"{x.shape}.")
    return jax.nn.glu(x, axis=axis)


def _over_axes(fn, x, axis):
    # softmax over several axes: move them last, flatten, apply, and undo.
    keep = [a for a in range(x.ndim) if a not in axis]
    moved = jnp.transpose(x, keep + list(axis))
    flat = jnp.reshape(moved, moved.shape[:len(keep)] + (-1,))
    out = jnp.reshape(fn(flat, axis=-1), moved.shape)
    return jnp.transpose(out, [(keep + list(axis)).index(a) for a in range(x.ndim)])


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) over `axis` (an int or a tuple)."""
    x = _t(x)
    if isinstance(axis, int) and -x.ndim <= axis < x.ndim and x.shape[axis] == 1:
        warnings.warn(f"softmax over axis {axis} of a tensor of shape {x.shape}: that axis has "
                      "size 1, so the result is always 1. Did you mean a sigmoid?", stacklevel=2)
    if isinstance(axis, (tuple, list)):
        return _over_axes(jax.nn.softmax, x, tuple(a % x.ndim for a in axis))
    return jax.nn.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    """log(softmax(x)) over `axis` (an int or a tuple), computed stably."""
    x = _t(x)
    if isinstance(axis, (tuple, list)):
        return _over_axes(jax.nn.log_softmax, x, tuple(a % x.ndim for a in axis))
    return jax.nn.log_softmax(x, axis=axis)


def sparsemax(x, axis=-1):
    """Euclidean projection of `x` onto the probability simplex along `axis`."""
    x = _t(x)
    z = -jnp.sort(-x, axis=axis)
    cumsum = jnp.cumsum(z, axis=axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    k = jnp.arange(1, x.shape[axis] + 1).reshape(shape)
    support = z - (cumsum - 1) / k > 0
    k_z = jnp.sum(support, axis=axis, keepdims=True)
    # tau = (sum of the supported sorted logits - 1) / support size (Martins & Astudillo,
    # 2016). Keras 3.15 sums the cumulative sums instead, which is wrong once two or more
    # entries survive (keras-team/keras#23425); gazelle gives the correct projection.
    tau = (jnp.sum(jnp.where(support, z, 0.0), axis=axis, keepdims=True) - 1) / k_z
    return jnp.maximum(x - tau, 0.0)


# ---- one-hot and losses -------------------------------------------------------------------

def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """One-hot encoding of int `x` (negative or out-of-range ids give all zeros)."""
    if sparse:
        raise NotImplementedError("one_hot(sparse=True): gazelle has no sparse tensors.")
    return jax.nn.one_hot(_t(x), num_classes, axis=axis, dtype=dtype or config.floatx())


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """Multi-hot encoding: 1 for each class id present in a row of `inputs`."""
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if kwargs:
        raise TypeError(f"multi_hot: unexpected arguments {sorted(kwargs)}.")
    if num_classes is None:
        raise ValueError("multi_hot: argument `num_classes` must be specified.")
    if sparse:
        raise NotImplementedError("multi_hot(sparse=True): gazelle has no sparse tensors.")
    x = _t(inputs)
    hot = jax.nn.one_hot(x.astype("int32"), num_classes, axis=axis, dtype=dtype or config.floatx())
    return jnp.max(hot, axis=1 if x.ndim > 1 else 0)


def _same_shape(target, output, name):
    if target.shape != output.shape:
        raise ValueError(f"{name}: `target` and `output` must have the same shape, received "
                         f"target.shape={target.shape}, output.shape={output.shape}.")


def binary_crossentropy(target, output, from_logits=False):
    """Element-wise binary cross-entropy between targets and probabilities (or logits)."""
    target, output = _t(target), _t(output)
    _same_shape(target, output, "binary_crossentropy")
    if from_logits:
        return -target * jax.nn.log_sigmoid(output) - (1.0 - target) * jax.nn.log_sigmoid(-output)
    eps = config.epsilon()
    output = jnp.clip(output, eps, 1.0 - eps)
    return -(target * jnp.log(output) + (1.0 - target) * jnp.log(1.0 - output))


def _log_probs(output, from_logits, axis):
    if from_logits:
        return jax.nn.log_softmax(output, axis=axis)
    eps = config.epsilon()
    output = output / jnp.sum(output, axis, keepdims=True)
    return jnp.log(jnp.clip(output, eps, 1.0 - eps))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between one-hot `target` and probabilities (or logits) over `axis`."""
    target, output = _t(target), _t(output)
    _same_shape(target, output, "categorical_crossentropy")
    if target.ndim < 1:
        raise ValueError("categorical_crossentropy: `target` and `output` must be at least "
                         f"rank 1, received shape {target.shape}.")
    return -jnp.sum(target * _log_probs(output, from_logits, axis), axis=axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between int class ids `target` and probabilities (or logits)."""
    target, output = _t(target).astype("int32"), _t(output)
    if target.ndim == output.ndim and target.shape[-1] == 1:
        target = jnp.squeeze(target, axis=-1)
    if output.ndim < 1:
        raise ValueError("sparse_categorical_crossentropy: `output` must be at least rank 1, "
                         f"received shape {output.shape}.")
    if target.shape != output.shape[:-1]:
        raise ValueError("sparse_categorical_crossentropy: `target` must have the shape of "
                         f"`output` without its last axis, received target.shape={target.shape}, "
                         f"output.shape={output.shape}.")
    log_prob = _log_probs(output, from_logits, axis)
    hot = jax.nn.one_hot(target, output.shape[axis], axis=axis, dtype=log_prob.dtype)
    return -jnp.sum(hot * log_prob, axis=axis)


# ---- normalization ------------------------------------------------------------------------

def moments(x, axes, keepdims=False, synchronized=False):
    """Mean and variance of `x` over `axes` (float16 inputs are reduced in float32)."""
    if synchronized:
        raise NotImplementedError("moments(synchronized=True) is not supported with JAX.")
    x = _t(x)
    axes = _axis(axes)
    low = x.dtype in (jnp.float16, jnp.bfloat16)
    xc = x.astype("float32") if low else x
    mean = jnp.mean(xc, axis=axes, keepdims=keepdims)
    variance = jnp.var(xc, axis=axes, keepdims=keepdims)
    if low:
        limit = jnp.finfo(jnp.float16).max
        mean = jnp.clip(mean, -limit, limit).astype(x.dtype)
        variance = jnp.clip(variance, -limit, limit).astype(x.dtype)
    return mean, variance


def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """(x - mean) / sqrt(variance + epsilon) * scale + offset, with 1-D stats along `axis`."""
    x, mean, variance = _t(x), _t(mean), _t(variance)
    shape = [1] * x.ndim
    shape[axis] = mean.shape[0]
    inv = lax.rsqrt(jnp.reshape(variance, shape) + epsilon)
    if scale is not None:
        inv = inv * jnp.reshape(_t(scale), shape)
    shift = -jnp.reshape(mean, shape) * inv
    if offset is not None:
        shift = shift + jnp.reshape(_t(offset), shape)
    return x * inv + shift


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """Normalizes over `axis` to zero mean and unit variance, then gamma * x + beta."""
    if kwargs.pop("rms_scaling", False):
        raise NotImplementedError("layer_normalization(rms_scaling=True) is deprecated in Keras; "
                                  "use ops.rms_normalization instead.")
    if kwargs:
        raise TypeError(f"layer_normalization: unexpected arguments {sorted(kwargs)}.")
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = _t(x)
    original = x.dtype
    x = x.astype(jnp.result_type(x.dtype, "float32"))
    axes = sorted(a % x.ndim for a in ([axis] if isinstance(axis, int) else axis))
    shape = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]

    def broadcast(v):
        if v is None:
            return None
        v = _t(v).astype(x.dtype)
        return v if v.ndim == x.ndim or axes == [x.ndim - 1] else jnp.reshape(v, shape)

    mean = jnp.mean(x, axis=tuple(axes), keepdims=True)
    variance = jnp.var(x, axis=tuple(axes), keepdims=True)
    inv = lax.rsqrt(variance + epsilon)
    gamma, beta = broadcast(gamma), broadcast(beta)
    if gamma is not None:
        inv = inv * gamma
    shift = -mean * inv
    if beta is not None:
        shift = shift + beta
    return (x * inv + shift).astype(original)


def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """x / sqrt(mean(x**2 over axis) + epsilon) * scale."""
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = _t(x)
    original = x.dtype
    x = x.astype(jnp.result_type(x.dtype, "float32"))
    if x.ndim == 0:
        x = x[None]
    axis = tuple(sorted(axis)) if isinstance(axis, (tuple, list)) else axis
    out = x * lax.rsqrt(jnp.mean(jnp.square(x), axis=axis, keepdims=True) + epsilon)
    if scale is not None:
        out = out * _t(scale).astype(x.dtype)
    return out.astype(original)


def normalize(x, axis=-1, order=2, epsilon=None):
    """x divided by its `order`-norm over `axis` (norms below epsilon count as epsilon)."""
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"normalize: `order` must be an int >= 1, received {order!r}.")
    epsilon = config.epsilon() if epsilon is None else epsilon
    x = _t(x)
    if x.ndim == 0:
        x = x[None]
    axis = _axis(axis)
    if order == 2:
        inv = lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
        return x * jnp.minimum(inv, 1.0 / epsilon)
    norm = jnp.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    return x / jnp.maximum(norm, epsilon)


def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio between two images, in dB."""
    x1, x2 = _t(x1), _t(x2)
    if x1.shape != x2.shape:
        raise ValueError(f"psnr: input shapes {x1.shape} and {x2.shape} must match.")
    mse = jnp.mean(jnp.square(x1 - x2))
    return 20 * jnp.log10(jnp.asarray(max_val, x2.dtype)) - 10 * jnp.log10(mse)


def polar(abs_, angle):
    """The complex number abs_ * exp(i * angle)."""
    abs_, angle = _t(abs_), _t(angle)
    return lax.complex(abs_ * jnp.cos(angle), abs_ * jnp.sin(angle))


# ---- convolutions -------------------------------------------------------------------------

def _spatial(value, n, name):
    value = (value,) * n if isinstance(value, int) else tuple(value)
    if len(value) != n:
        raise ValueError(f"`{name}` must be an int or a tuple of {n} ints, received {value}.")
    return value


def _dimension_numbers(n, data_format):
    spatial = "DHW"[3 - n:] if n <= 3 else None
    if spatial is None:
        raise ValueError(f"Convolutions support 1 to 3 spatial dimensions, received {n}.")
    io = "N" + spatial + "C" if data_format == "channels_last" else "NC" + spatial
    return (io, spatial + "IO", io)


def _padding(padding):
    padding = padding.lower()
    if padding not in ("valid", "same"):
        raise ValueError(f"`padding` must be 'valid' or 'same', received {padding!r}.")
    return padding.upper()


def _channels(x, data_format):
    return x.shape[-1] if data_format == "channels_last" else x.shape[1]


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution (grouped when in_channels is a multiple of the kernel's in-channels).

    Args:
        inputs: `(batch, *spatial, channels)` (or channels first).
        kernel: `(*kernel_spatial, in_channels // groups, out_channels)`.
        strides, dilation_rate: ints or tuples.
        padding: "valid" or "same".
        data_format: "channels_last" or "channels_first" (default from the config).
    """
    data_format = _data_format(data_format)
    kernel = _t(kernel)
    inputs = _t(inputs, dtype=kernel.dtype)
    n = inputs.ndim - 2
    channels = _channels(inputs, data_format)
    if channels % kernel.shape[-2]:
        raise ValueError(f"conv: input channels ({channels}) must be a multiple of the kernel's "
                         f"in_channels ({kernel.shape[-2]}).")
    out = lax.conv_general_dilated(
        inputs, kernel, _spatial(strides, n, "strides"), _padding(padding),
        rhs_dilation=_spatial(dilation_rate, n, "dilation_rate"),
        dimension_numbers=_dimension_numbers(n, data_format),
        feature_group_count=channels // kernel.shape[-2])
    if out.size == 0 and inputs.size != 0:
        raise ValueError("conv: the output is empty; the input is too small for this kernel "
                         "size, strides, dilation rate and padding.")
    return out


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Depthwise convolution: kernel `(*kernel_spatial, in_channels, depth_multiplier)`."""
    data_format = _data_format(data_format)
    inputs, kernel = _t(inputs), _t(kernel)
    n = inputs.ndim - 2
    channels = _channels(inputs, data_format)
    if kernel.shape[-2] != channels:
        raise ValueError(f"depthwise_conv: the kernel's in_channels ({kernel.shape[-2]}) must "
                         f"equal the input channels ({channels}).")
    kernel = jnp.reshape(kernel, kernel.shape[:-2] + (1, channels * kernel.shape[-1]))
    return lax.conv_general_dilated(
        inputs, kernel, _spatial(strides, n, "strides"), _padding(padding),
        rhs_dilation=_spatial(dilation_rate, n, "dilation_rate"),
        dimension_numbers=_dimension_numbers(n, data_format), feature_group_count=channels)


def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    """Depthwise convolution followed by a 1x1 (pointwise) convolution."""
    out = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return conv(out, pointwise_kernel, strides=1, padding="valid", data_format=data_format,
                dilation_rate=dilation_rate)


def _transpose_padding(kernel, stride, dilation, padding, output_padding):
    k = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(k, stride) - k if output_padding is None else output_padding
        return k - 1, k - 1 + extra
    total = stride + k - 2 if output_padding is None else k + k % 2 - 2 + output_padding
    left = min(total // 2 + total % 2, k - 1)
    return left, total - left


def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """Transposed convolution: kernel `(*kernel_spatial, out_channels, in_channels)`."""
    data_format = _data_format(data_format)
    inputs, kernel = _t(inputs), _t(kernel)
    n = inputs.ndim - 2
    if kernel.shape[-1] != _channels(inputs, data_format):
        raise ValueError(f"conv_transpose: the kernel's last axis ({kernel.shape[-1]}) must equal "
                         f"the input channels ({_channels(inputs, data_format)}).")
    strides = _spatial(strides, n, "strides")
    dilation = _spatial(dilation_rate, n, "dilation_rate")
    out_pad = (None,) * n if output_padding is None else _spatial(output_padding, n,
                                                                  "output_padding")
    padding = padding.lower()
    _padding(padding)
    pads = [_transpose_padding(kernel.shape[i], strides[i], dilation[i], padding, out_pad[i])
            for i in range(n)]
    return lax.conv_transpose(inputs, kernel, strides, padding=pads, rhs_dilation=dilation,
                              dimension_numbers=_dimension_numbers(n, data_format),
                              transpose_kernel=True)


# ---- pooling ------------------------------------------------------------------------------

def _window(inputs, pool_size, strides, data_format):
    n = inputs.ndim - 2
    pool = _spatial(pool_size, n, "pool_size")
    strides = pool if strides is None else _spatial(strides, n, "strides")
    if data_format == "channels_last":
        return (1,) + pool + (1,), (1,) + strides + (1,)
    return (1, 1) + pool, (1, 1) + strides


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling over windows of `pool_size`."""
    inputs = _t(inputs)
    window, strides = _window(inputs, pool_size, strides, _data_format(data_format))
    return lax.reduce_window(inputs, -jnp.inf, lax.max, window, strides, _padding(padding))


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling over windows of `pool_size` ('same' averages only the valid cells)."""
    inputs = _t(inputs)
    window, strides = _window(inputs, pool_size, strides, _data_format(data_format))
    pad = _padding(padding)
    total = lax.reduce_window(inputs, 0.0, lax.add, window, strides, pad)
    if pad == "VALID":
        return total / math.prod(window)
    ones = jnp.ones([d if w != 1 else 1 for d, w in zip(inputs.shape, window)], inputs.dtype)
    return total / lax.reduce_window(ones, 0.0, lax.add, window, strides, pad)


def _adaptive(inputs, output_size, data_format, reduce):
    inputs = _t(inputs)
    data_format = _data_format(data_format)
    n = inputs.ndim - 2
    sizes = _spatial(output_size, n, "output_size")
    first = 1 if data_format == "channels_last" else 2
    out = inputs
    for i, size in enumerate(sizes):
        ax = first + i
        length = inputs.shape[ax]
        pieces = []
        for j in range(size):
            start = (j * length) // size
            end = -((-(j + 1) * length) // size)
            pieces.append(reduce(lax.slice_in_dim(out, start, end, axis=ax), axis=ax,
                                 keepdims=True))
        out = jnp.concatenate(pieces, axis=ax)
    return out


def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average pooling to a fixed `output_size` (windows as in PyTorch's adaptive pools)."""
    return _adaptive(inputs, output_size, data_format, jnp.mean)


def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max pooling to a fixed `output_size` (windows as in PyTorch's adaptive pools)."""
    return _adaptive(inputs, output_size, data_format, jnp.max)


# ---- rearrangement ------------------------------------------------------------------------

def _check_block(block_size):
    if block_size < 2:
        raise ValueError(f"`block_size` must be at least 2, received {block_size}.")


def depth_to_space(x, block_size, data_format="channels_last"):
    """Moves channel blocks into spatial blocks: (n, h, w, c) -> (n, h*b, w*b, c/b**2)."""
    _check_block(block_size)
    x = _t(x)
    b = block_size
    if _data_format(data_format) == "channels_last":
        n, h, w, c = x.shape
        x = jnp.reshape(x, (n, h, w, b, b, c // b ** 2)).transpose(0, 1, 3, 2, 4, 5)
        return jnp.reshape(x, (n, h * b, w * b, c // b ** 2))
    n, c, h, w = x.shape
    x = jnp.reshape(x, (n, c // b ** 2, b, b, h, w)).transpose(0, 1, 4, 2, 5, 3)
    return jnp.reshape(x, (n, c // b ** 2, h * b, w * b))


def space_to_depth(x, block_size, data_format="channels_last"):
    """Moves spatial blocks into channels: (n, h, w, c) -> (n, h/b, w/b, c*b**2)."""
    _check_block(block_size)
    x = _t(x)
    b = block_size
    if _data_format(data_format) == "channels_last":
        n, h, w, c = x.shape
        x = jnp.reshape(x, (n, h // b, b, w // b, b, c)).transpose(0, 1, 3, 2, 4, 5)
        return jnp.reshape(x, (n, h // b, w // b, c * b ** 2))
    n, c, h, w = x.shape
    x = jnp.reshape(x, (n, c, h // b, b, w // b, b)).transpose(0, 1, 3, 5, 2, 4)
    return jnp.reshape(x, (n, c * b ** 2, h // b, w // b))


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding local blocks of an NCHW image: `(N, C*kh*kw, L)`, as torch's unfold."""
    x = _t(x)
    if x.ndim != 4:
        raise ValueError(f"unfold: input must be 4-D (N, C, H, W), received shape {x.shape}.")
    p = _pair(padding)
    x = jnp.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    patches = lax.conv_general_dilated_patches(
        x, _pair(kernel_size), _pair(stride), "VALID", rhs_dilation=_pair(dilation),
        dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return jnp.reshape(patches, patches.shape[:2] + (-1,))


def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sums sliding local blocks `(N, C*kh*kw, L)` back into an NCHW image (inverse of unfold)."""
    x = _t(x)
    if x.ndim != 3:
        raise ValueError(f"fold: input must be 3-D (N, C*kh*kw, L), received shape {x.shape}.")
    oh, ow = _pair(output_size)
    kh, kw = _pair(kernel_size)
    dh, dw = _pair(dilation)
    ph, pw = _pair(padding)
    sh, sw = _pair(stride)
    n, ckk, _ = x.shape
    if ckk % (kh * kw):
        raise ValueError(f"fold: the second dimension ({ckk}) must be divisible by kernel_size "
                         f"product ({kh * kw}).")
    c = ckk // (kh * kw)
    nh = (oh + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    nw = (ow + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    blocks = jnp.reshape(x, (n, c, kh, kw, nh, nw))
    out = jnp.zeros((n, c, oh + 2 * ph, ow + 2 * pw), x.dtype)
    for i in range(kh):
        for j in range(kw):
            r, q = i * dh, j * dw
            out = out.at[:, :, r:r + sh * (nh - 1) + 1:sh, q:q + sw * (nw - 1) + 1:sw].add(
                blocks[:, :, i, j])
    return out[:, :, ph:ph + oh, pw:pw + ow]


# ---- attention ----------------------------------------------------------------------------

def dot_product_attention(query, key, value, bias=None, mask=None, scale=None, is_causal=False,
                          flash_attention=None, attn_logits_soft_cap=None):
    """Scaled dot-product attention over `(batch, seq, heads, head_dim)` tensors.

    Args:
        query: `(B, T, N, H)`; key, value: `(B, S, K, H)` with N a multiple of K (grouped).
        bias: added to the logits, broadcastable to `(B, N, T, S)`.
        mask: boolean, broadcastable to `(B, N, T, S)`; False positions are excluded.
        scale: logits scale, default 1 / sqrt(H).
        is_causal: apply a causal mask.
        flash_attention: True asks for cuDNN's fused kernel (GPU only); None/False use XLA.
        attn_logits_soft_cap: not supported (Keras honours it only on TPUs).
    """
    if attn_logits_soft_cap is not None:
        raise ValueError("dot_product_attention: attn_logits_soft_cap is only supported for JAX "
                         "on TPU (flash attention); pass attn_logits_soft_cap=None.")
    query, key, value = _t(query), _t(key), _t(value)
    if query.ndim != 4 or key.ndim != 4 or value.ndim != 4:
        raise ValueError("dot_product_attention supports only 4-D inputs (B, T, N, H), received "
                         f"{query.shape}, {key.shape}, {value.shape}.")
    dtype = jnp.result_type(query.dtype, key.dtype, value.dtype)
    query, key, value = query.astype(dtype), key.astype(dtype), value.astype(dtype)
    bias = None if bias is None else _t(bias).astype(dtype)
    mask = None if mask is None else _t(mask).astype(bool)
    return jax.nn.dot_product_attention(
        query, key, value, bias=bias, mask=mask, scale=scale, is_causal=is_causal,
        implementation="cudnn" if flash_attention else "xla")


# ---- CTC ----------------------------------------------------------------------------------

_LOG_ZERO = -1e5


def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """Connectionist temporal classification loss per batch entry.

    Args:
        target: int labels `(batch, max_label_length)`.
        output: logits `(batch, max_time, num_classes)`.
        target_length: `(batch,)` label lengths.
        output_length: `(batch,)` valid time steps.
        mask_index: the blank class id.
    """
    target = _t(target).astype("int32")
    output = _t(output)
    output = output.astype(jnp.result_type(output.dtype, "float32"))
    target_length = _t(target_length).astype("int32")
    output_length = _t(output_length).astype("int32")
    batch, time, _ = output.shape
    labels = target.shape[1]
    logp = jax.nn.log_softmax(output)
    # extended label sequence: blank, l1, blank, l2, ..., blank  (length 2L + 1)
    ext = jnp.full((batch, 2 * labels + 1), mask_index, "int32").at[:, 1::2].set(target)
    emit = jnp.take_along_axis(logp, ext[:, None, :].repeat(time, 1), axis=2)   # (B, T, S)
    prev2 = jnp.pad(ext, ((0, 0), (2, 0)), constant_values=-1)[:, :-2]
    can_skip = (ext != mask_index) & (ext != prev2)
    neg = jnp.asarray(_LOG_ZERO, output.dtype)
    init = jnp.full((batch, 2 * labels + 1), neg).at[:, :2].set(emit[:, 0, :2])

    def step(alpha, t):
        a1 = jnp.pad(alpha, ((0, 0), (1, 0)), constant_values=_LOG_ZERO)[:, :-1]
        a2 = jnp.pad(alpha, ((0, 0), (2, 0)), constant_values=_LOG_ZERO)[:, :-2]
        a2 = jnp.where(can_skip, a2, neg)
        new = jnp.logaddexp(jnp.logaddexp(alpha, a1), a2) + emit[:, t]
        new = jnp.maximum(new, neg)
        return jnp.where((t < output_length)[:, None], new, alpha), None

    alpha, _ = lax.scan(step, init, jnp.arange(1, time))
    last = jnp.take_along_axis(alpha, (2 * target_length)[:, None], axis=1)[:, 0]
    before = jnp.take_along_axis(alpha, jnp.maximum(2 * target_length - 1, 0)[:, None],
                                 axis=1)[:, 0]
    before = jnp.where(target_length > 0, before, neg)
    return -jnp.logaddexp(last, before)


def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
               merge_repeated=True, mask_index=0):
    """Decodes CTC outputs: `(decoded (top_paths, batch, max_time), scores (batch, top_paths))`.

    Greedy decoding picks the best class per step, merges repeats (if `merge_repeated`),
    drops the blank `mask_index` and pads with -1. Only strategy="greedy" is supported.
    """
    if strategy == "beam_search":
        raise NotImplementedError("ctc_decode(strategy='beam_search') is not supported by gazelle "
                                  "yet; use strategy='greedy'.")
    if strategy != "greedy":
        raise ValueError(f"ctc_decode: strategy must be 'greedy' or 'beam_search', received "
                         f"{strategy!r}.")
    inputs = _t(inputs)
    inputs = inputs.astype(jnp.result_type(inputs.dtype, "float32"))
    lengths = _t(sequence_lengths).astype("int32")
    batch, time, classes = inputs.shape
    if mask_index is None:
        mask_index = classes - 1
    ids = jnp.argmax(inputs, axis=-1)
    scores = jnp.max(inputs, axis=-1)
    beyond = jnp.arange(time)[None, :] >= lengths[:, None]
    ids = jnp.where(beyond, mask_index, ids)
    scores = jnp.where(beyond, 0.0, scores)
    if merge_repeated:
        repeated = jnp.pad(ids[:, 1:] == ids[:, :-1], ((0, 0), (1, 0)))
        ids = jnp.where(repeated, mask_index, ids)
    dropped = ids == mask_index
    ids = jnp.where(dropped, -1, ids)
    order = jnp.argsort(jnp.where(dropped, time, jnp.arange(time)[None, :]), axis=-1)
    ids = jnp.take_along_axis(ids, order, axis=-1)
    return ids[None], -jnp.sum(scores, axis=1)[:, None]
