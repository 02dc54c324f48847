"""Activation functions and their lookup by name. [L1: jax, jax.numpy, gazelle.config]

Every activation is a pure function of an array, so it runs unchanged inside `jit`.
Layers take `activation="relu"` and resolve it with `get`; configs store the name that
`serialize` returns (what Keras 3 writes into a `Dense` config).
"""
import warnings

import jax
import jax.numpy as jnp

from gazelle import config


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


# Name -> function. The function's own `__name__` is its serialized name; "swish" and
# "hard_swish" are extra spellings, as in Keras.
_BUILTINS = {fn.__name__: fn for fn in (
    relu, leaky_relu, relu6, softmax, log_softmax, elu, selu, gelu, softplus, softsign,
    silu, tanh, sigmoid, exponential, hard_sigmoid, hard_silu, mish, linear)}
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
