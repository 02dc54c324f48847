"""Weight regularizers: L1, L2, L1L2, OrthogonalRegularizer; their penalty is added to the
training loss. [L1]"""
import math

import jax.numpy as jnp
import numpy as np
from jax import lax

from gazelle import config as _config
from gazelle.core.serialization import deserialize_keras_object


class Regularizer:
    """Base class: `__call__(weight) -> scalar penalty`."""

    def __call__(self, x):
        return 0.0

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """Penalty `l1 * sum(|x|) + l2 * sum(x**2)`.

    Args:
        l1: L1 factor (default 0.0).
        l2: L2 factor (default 0.0).
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = float(l1)
        self.l2 = float(l2)

    def __call__(self, x):
        x = jnp.asarray(getattr(x, "value", x))
        penalty = 0.0
        if self.l1:
            penalty = penalty + self.l1 * jnp.sum(jnp.abs(x))
        if self.l2:
            penalty = penalty + self.l2 * jnp.sum(jnp.square(x))
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """L1 penalty `l1 * sum(|x|)`. Args: l1: factor (default 0.01)."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """L2 penalty `l2 * sum(x**2)`. Args: l2: factor (default 0.01)."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Regularizer that pushes the rows (or columns) of a 2D weight to be orthogonal.

    Each row (`mode="rows"`) or column (`mode="columns"`) is L2-normalized; the penalty
    is `factor * 0.5 * sum(|dot products between distinct ones|) / number of pairs`,
    i.e. `factor` times half the mean absolute cosine similarity over pairs.

    Args:
        factor: Float, the regularization factor (non-negative). Defaults to `0.01`.
        mode: String, `"rows"` or `"columns"`: which vectors of the weight to make
            orthogonal. For a `Dense` kernel `(input_dim, units)`, `"rows"` acts on the
            input features. Defaults to `"rows"`.

    ```python
    layer = Dense(4, kernel_regularizer=OrthogonalRegularizer(factor=0.01))
    ```
    """

    def __init__(self, factor=0.01, mode="rows"):
        if (isinstance(factor, bool) or not isinstance(factor, (int, float, np.number))
                or not math.isfinite(factor) or factor < 0):
            raise ValueError(f"OrthogonalRegularizer: expected `factor` to be a non-negative "
                             f"finite float, received factor={factor!r}.")
        if mode not in ("rows", "columns"):
            raise ValueError(f"OrthogonalRegularizer: expected `mode` to be 'rows' or "
                             f"'columns', received mode={mode!r}.")
        # Kept as float32, as Keras keeps it (a float32 tensor), so configs agree.
        self.factor = float(np.float32(factor))
        self.mode = mode

    def __call__(self, x):
        x = jnp.asarray(getattr(x, "value", x))
        if x.ndim != 2:
            raise ValueError(f"OrthogonalRegularizer needs a rank-2 weight, received a "
                             f"weight of shape {tuple(x.shape)}.")
        if self.mode == "columns":
            x = x.T
        # L2-normalize each vector (a zero vector stays zero, as in Keras: 1/norm is
        # capped at 1/epsilon).
        inv_norm = jnp.minimum(lax.rsqrt(jnp.sum(jnp.square(x), axis=1, keepdims=True)),
                               1.0 / _config.epsilon())
        x = x * inv_norm
        size = x.shape[0]
        product = (x @ x.T) * (1.0 - jnp.eye(size, dtype=x.dtype))
        pairs = size * (size - 1.0) / 2.0
        return jnp.float32(self.factor) * 0.5 * jnp.sum(jnp.abs(product)) / pairs

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


def l1_l2(l1=0.01, l2=0.01):
    """tf.keras 2's `l1_l2` helper (both factors default 0.01)."""
    return L1L2(l1=l1, l2=l2)


l1 = L1
l2 = L2
orthogonal_regularizer = OrthogonalRegularizer
_TABLE = {"L1": L1, "L2": L2, "L1L2": L1L2, "l1": L1, "l2": L2, "l1_l2": l1_l2,
          "OrthogonalRegularizer": OrthogonalRegularizer,
          "orthogonal_regularizer": OrthogonalRegularizer}


def get(identifier):
    """Returns a regularizer from a name, config dict, instance or callable."""
    if identifier is None or isinstance(identifier, Regularizer) or (
            callable(identifier) and not isinstance(identifier, (str, dict))):
        return identifier
    obj = deserialize_keras_object(identifier, _TABLE, kind="regularizer")
    return obj() if isinstance(obj, type) or obj is l1_l2 else obj


def serialize(regularizer):
    from gazelle.core.serialization import serialize_keras_object
    return serialize_keras_object(regularizer)


def deserialize(config, custom_objects=None):
    """Returns a regularizer from its config (the output of `serialize`).

    Args:
        config: A dict `{"class_name": ..., "config": {...}}` or a name such as `"l2"`.
        custom_objects: Optional dict mapping class names to custom classes.

    ```python
    deserialize({"class_name": "L2", "config": {"l2": 0.1}})
    ```
    """
    obj = deserialize_keras_object(config, _TABLE, custom_objects=custom_objects,
                                   kind="regularizer")
    return obj() if isinstance(obj, type) or obj is l1_l2 else obj
