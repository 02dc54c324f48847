"""Activation functions and their lookup by name. [L1: jax, jax.numpy, gazelle.config, gazelle.ops]

Every activation is a pure function of an array, so it runs unchanged inside `jit`.
Layers take `activation="relu"` and resolve it with `get`; configs store the name that
`serialize` returns (what Keras 3 writes into a `Dense` config).
"""
import warnings

import jax
import jax.numpy as jnp

from gazelle import config
from gazelle.ops import nn as _nn


def _tensor(x):
    # Lists, numpy arrays and ints become float arrays of `floatx()`, like Keras's
    # convert_to_tensor; float arrays keep their dtype.
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(config.floatx())
    return x


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Applies the rectified linear unit activation function.

    With the defaults this is `max(x, 0)`. Values below `threshold` are set to zero
    (or, with a `negative_slope`, to `negative_slope * (x - threshold)`), and the
    output is capped at `max_value`.

    Args:
        x: Input tensor.
        negative_slope: A `float` that controls the slope for values lower than the
            threshold. Defaults to `0.0`.
        max_value: A `float` that sets the saturation threshold (the largest value
            the function will return). Defaults to `None` (no cap).
        threshold: A `float` giving the threshold value of the activation function
            below which values will be damped or set to zero. Defaults to `0.0`.

    ```python
    relu([-10.0, -5.0, 0.0, 5.0, 10.0], max_value=5.0)  # [0, 0, 0, 5, 5]
    ```
    """
    x = _tensor(x)
    if negative_slope != 0.0 and max_value is None and threshold == 0:
        return jax.nn.leaky_relu(x, negative_slope=negative_slope)
    below = jax.nn.relu(threshold - x) if negative_slope != 0.0 else 0.0
    if threshold != 0:
        y = jnp.where(x > threshold, x, jnp.zeros_like(x))
    else:
        y = jax.nn.relu(x)
    if max_value is not None:
        y = jnp.clip(y, 0.0, max_value).astype(x.dtype)
    return y - negative_slope * below if negative_slope != 0.0 else y


def leaky_relu(x, negative_slope=0.2):
    """Leaky relu activation function: `x` if `x >= 0`, else `negative_slope * x`.

    Args:
        x: Input tensor.
        negative_slope: A `float` that controls the slope for values lower than the
            threshold. Defaults to `0.2`.
    """
    return jax.nn.leaky_relu(_tensor(x), negative_slope=negative_slope)


def relu6(x):
    """Relu6 activation function: the ReLU function, capped at 6.

    Args:
        x: Input tensor.
    """
    return jax.nn.relu6(_tensor(x))


def softmax(x, axis=-1):
    """Softmax converts a vector of values to a probability distribution.

    The elements of the output lie in `[0, 1]` and sum to 1 along `axis`. It is
    computed as `exp(x - max(x)) / sum(exp(x - max(x)))`, so large logits do not
    overflow.

    Args:
        x: Input tensor.
        axis: Integer, axis along which the softmax is applied. Defaults to `-1`.

    ```python
    softmax(jnp.array([[1.0, 2.0, 3.0]]))  # [[0.090, 0.245, 0.665]]
    ```
    """
    x = _tensor(x)
    if isinstance(axis, int) and -x.ndim <= axis < x.ndim and x.shape[axis] == 1:
        warnings.warn(
            f"softmax over axis {axis} of a tensor of shape {x.shape}: this axis has "
            "size 1, so the output is always 1. Did you mean to use a sigmoid instead?",
            stacklevel=2)
    return jax.nn.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    """Log-Softmax activation function: `log(softmax(x))`, computed stably.

    Args:
        x: Input tensor.
        axis: Integer, axis along which the softmax is applied. Defaults to `-1`.
    """
    return jax.nn.log_softmax(_tensor(x), axis=axis)


def elu(x, alpha=1.0):
    """Exponential Linear Unit: `x` if `x > 0`, else `alpha * (exp(x) - 1)`.

    Args:
        x: Input tensor.
        alpha: A scalar, slope of the negative section. Defaults to `1.0`.
    """
    return jax.nn.elu(_tensor(x), alpha=alpha)


def selu(x):
    """Scaled Exponential Linear Unit (SELU): `scale * elu(x, alpha)`.

    `alpha=1.67326324` and `scale=1.05070098`; use it with the `LecunNormal`
    initializer.

    Args:
        x: Input tensor.
    """
    return jax.nn.selu(_tensor(x))


def gelu(x, approximate=False):
    """Gaussian error linear unit (GELU): `x * P(X <= x)` with `X ~ N(0, 1)`.

    Args:
        x: Input tensor.
        approximate: A `bool`, whether to use the tanh approximation. Defaults to
            `False`.
    """
    return jax.nn.gelu(_tensor(x), approximate=approximate)


def softplus(x):
    """Softplus activation function: `log(exp(x) + 1)`, computed stably.

    Args:
        x: Input tensor.
    """
    return jax.nn.softplus(_tensor(x))


def softsign(x):
    """Softsign activation function: `x / (abs(x) + 1)`.

    Args:
        x: Input tensor.
    """
    return jax.nn.soft_sign(_tensor(x))


def silu(x):
    """Swish (or Silu) activation function: `x * sigmoid(x)`.

    Args:
        x: Input tensor.
    """
    return jax.nn.silu(_tensor(x))


swish = silu


def tanh(x):
    """Hyperbolic tangent activation function.

    Args:
        x: Input tensor.
    """
    return jnp.tanh(_tensor(x))


def sigmoid(x):
    """Sigmoid activation function: `1 / (1 + exp(-x))`, with outputs in `(0, 1)`.

    Args:
        x: Input tensor.
    """
    return jax.nn.sigmoid(_tensor(x))


def exponential(x):
    """Exponential activation function: `exp(x)`.

    Args:
        x: Input tensor.
    """
    return jnp.exp(_tensor(x))


def hard_sigmoid(x):
    """Hard sigmoid: `0` if `x <= -3`, `1` if `x >= 3`, else `x / 6 + 0.5`.

    Args:
        x: Input tensor.
    """
    return jax.nn.hard_sigmoid(_tensor(x))


def hard_silu(x):
    """Hard SiLU (also known as Hard Swish): `x * hard_sigmoid(x)`.

    Args:
        x: Input tensor.
    """
    return jax.nn.hard_silu(_tensor(x))


hard_swish = hard_silu


def mish(x):
    """Mish activation function: `x * tanh(softplus(x))`.

    Args:
        x: Input tensor.
    """
    x = _tensor(x)
    return x * jnp.tanh(jax.nn.softplus(x))


def linear(x):
    """Linear activation function (pass-through): returns the input unmodified.

    Args:
        x: Input tensor.
    """
    return x


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: `max(x, 0) + min(alpha * (exp(x / alpha) - 1), 0)`.

    Args:
        x: Input tensor.
        alpha: The `alpha` value of the CELU formulation. Defaults to `1.0`.

    ```python
    celu([-1.0, 0.0, 1.0])  # [-0.632, 0.0, 1.0]
    ```
    """
    return _nn.celu(_tensor(x), alpha=alpha)


def glu(x, axis=-1):
    """Gated linear unit: `a * sigmoid(b)`, where `x` is split into halves `a`, `b`.

    Args:
        x: Input tensor.
        axis: The axis along which to split the input (its size must be even).
            Defaults to `-1`.

    ```python
    glu([[1.0, 2.0, 0.0, 0.0]])  # [[0.5, 1.0]]
    ```
    """
    return _nn.glu(_tensor(x), axis=axis)


def hard_shrink(x, threshold=0.5):
    """Hard shrink: `x` where `|x| > threshold`, else `0`.

    Args:
        x: Input tensor.
        threshold: Threshold value. Defaults to `0.5`.

    ```python
    hard_shrink([-1.0, 0.2, 1.0])  # [-1.0, 0.0, 1.0]
    ```
    """
    return _nn.hard_shrink(_tensor(x), threshold=threshold)


def hard_tanh(x):
    """Hard tanh: `x` clipped to `[-1, 1]`.

    Args:
        x: Input tensor.

    ```python
    hard_tanh([-2.0, 0.5, 2.0])  # [-1.0, 0.5, 1.0]
    ```
    """
    return _nn.hard_tanh(_tensor(x))


def log_sigmoid(x):
    """Logarithm of the sigmoid, `-softplus(-x)`, computed stably.

    Args:
        x: Input tensor.

    ```python
    log_sigmoid([0.0])  # [-0.693]
    ```
    """
    return _nn.log_sigmoid(_tensor(x))


def soft_shrink(x, threshold=0.5):
    """Soft shrink: `x - threshold` above `threshold`, `x + threshold` below `-threshold`, else `0`.

    Args:
        x: Input tensor.
        threshold: Threshold value. Defaults to `0.5`.

    ```python
    soft_shrink([-1.0, 0.2, 1.0])  # [-0.5, 0.0, 0.5]
    ```
    """
    return _nn.soft_shrink(_tensor(x), threshold=threshold)


def sparse_plus(x):
    """SparsePlus: `0` for `x <= -1`, `(x + 1)**2 / 4` for `-1 < x < 1`, `x` for `x >= 1`.

    Args:
        x: Input tensor.

    ```python
    sparse_plus([-2.0, 0.0, 2.0])  # [0.0, 0.25, 2.0]
    ```
    """
    return _nn.sparse_plus(_tensor(x))


def sparse_sigmoid(x):
    """Sparse sigmoid: `0` for `x <= -1`, `(x + 1) / 2` in between, `1` for `x >= 1`.

    Args:
        x: Input tensor.

    ```python
    sparse_sigmoid([-2.0, 0.0, 2.0])  # [0.0, 0.5, 1.0]
    ```
    """
    return _nn.sparse_sigmoid(_tensor(x))


def sparsemax(x, axis=-1):
    """Sparsemax: the Euclidean projection of `x` onto the probability simplex along `axis`.

    Like softmax its outputs are non-negative and sum to 1, but many are exactly zero.

    Args:
        x: Input tensor.
        axis: Integer, axis along which sparsemax is applied. Defaults to `-1`.

    ```python
    sparsemax([[0.0, 0.5, 1.0]])  # [[0.0, 0.25, 0.75]]
    ```
    """
    # Keras 3.15 (every backend, and gazelle.ops.nn.sparsemax, which follows it) builds the
    # threshold from the sum of the cumulative sums over the support, which is wrong once
    # the support holds two or more entries (keras-team/keras#23425, fixed upstream in
    # #23469). This is the algorithm of Martins & Astudillo (2016): tau = (sum of the
    # supported sorted logits - 1) / support size.
    x = _tensor(x)
    z = -jnp.sort(-x, axis=axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    k = jnp.arange(1, x.shape[axis] + 1, dtype=x.dtype).reshape(shape)
    support = z - (jnp.cumsum(z, axis=axis) - 1) / k > 0
    size = jnp.sum(support, axis=axis, keepdims=True).astype(x.dtype)
    tau = (jnp.sum(jnp.where(support, z, 0.0), axis=axis, keepdims=True) - 1) / size
    return jnp.maximum(x - tau, 0.0).astype(x.dtype)


def squareplus(x, b=4):
    """Squareplus: `(x + sqrt(x**2 + b)) / 2`, a smooth approximation of ReLU.

    Args:
        x: Input tensor.
        b: Smoothness parameter (non-negative). Defaults to `4`.

    ```python
    squareplus([0.0])  # [1.0]
    ```
    """
    return _nn.squareplus(_tensor(x), b=b)


def tanh_shrink(x):
    """Tanh shrink: `x - tanh(x)`.

    Args:
        x: Input tensor.

    ```python
    tanh_shrink([0.0, 1.0])  # [0.0, 0.238]
    ```
    """
    return _nn.tanh_shrink(_tensor(x))


def threshold(x, threshold, default_value):
    """Threshold: `x` where `x > threshold`, else `default_value`.

    Args:
        x: Input tensor.
        threshold: The value that decides when to keep or replace `x`.
        default_value: The value that replaces `x` where `x <= threshold`.

    ```python
    threshold([-1.0, 2.0], threshold=0.0, default_value=-5.0)  # [-5.0, 2.0]
    ```
    """
    return _nn.threshold(_tensor(x), threshold, default_value)


# Name -> function. The function's own `__name__` is its serialized name; "swish" and
# "hard_swish" are extra spellings, as in Keras.
_BUILTINS = {fn.__name__: fn for fn in (
    relu, leaky_relu, relu6, softmax, log_softmax, elu, selu, gelu, softplus, softsign,
    silu, tanh, sigmoid, exponential, hard_sigmoid, hard_silu, mish, linear,
    celu, glu, hard_shrink, hard_tanh, log_sigmoid, soft_shrink, sparse_plus, sparse_sigmoid,
    sparsemax, squareplus, tanh_shrink, threshold)}
_ALIASES = {**_BUILTINS, "swish": silu, "hard_swish": hard_silu}


def _unknown(identifier):
    return ValueError(
        f"Could not interpret activation function identifier: {identifier!r}. Expected "
        f"None, a callable or one of {sorted(_ALIASES)}.")


def serialize(activation):
    """Returns the name of a built-in activation, as Keras 3 stores it in a config.

    A function that is not built in is described as Keras 3 describes it:
    `{"module": "builtins", "class_name": "function", "config": <its name>,
    "registered_name": "function"}`.

    Args:
        activation: Function object.

    ```python
    serialize(relu)  # "relu"
    ```
    """
    for name, fn in _BUILTINS.items():
        if activation is fn:
            return name
    if not callable(activation):
        raise TypeError(
            f"serialize: expected an activation function, received {activation!r} "
            f"of type {type(activation).__name__}.")
    return {"module": "builtins", "class_name": "function",
            "config": getattr(activation, "__name__", type(activation).__name__),
            "registered_name": "function"}


def deserialize(config, custom_objects=None):
    """Returns the activation function named by `config`.

    Args:
        config: A string name (`"relu"`), or a dict whose `"config"` is such a name.
        custom_objects: Optional dict mapping names to custom functions.
    """
    name = config.get("config") if isinstance(config, dict) else config
    if isinstance(name, str):
        if custom_objects and name in custom_objects:
            return custom_objects[name]
        if name in _ALIASES:
            return _ALIASES[name]
    raise _unknown(config)


def get(identifier):
    """Returns the activation function for `identifier`.

    Args:
        identifier: `None` (linear), a string name such as `"relu"`, or a callable
            (returned as is).

    ```python
    get("relu")(jnp.array([-1.0, 2.0]))  # [0.0, 2.0]
    ```
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        if identifier in _ALIASES:
            return _ALIASES[identifier]
        raise _unknown(identifier)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(
        f"Could not interpret activation function identifier: {identifier!r} of type "
        f"{type(identifier).__name__}. Expected None, a callable or one of "
        f"{sorted(_ALIASES)}.")
