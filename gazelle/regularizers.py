"""Weight regularizers: L1, L2, L1L2; their penalty is added to the training loss. [L1]"""
import jax.numpy as jnp

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


def l1_l2(l1=0.01, l2=0.01):
    """tf.keras 2's `l1_l2` helper (both factors default 0.01)."""
    return L1L2(l1=l1, l2=l2)


l1 = L1
l2 = L2
_TABLE = {"L1": L1, "L2": L2, "L1L2": L1L2, "l1": L1, "l2": L2, "l1_l2": l1_l2}


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
