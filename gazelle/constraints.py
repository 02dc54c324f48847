"""Weight constraints: projections applied to a weight after each optimizer update.
[L1: jax, gazelle.config, gazelle.core.tables]

A constraint is a callable `w -> projected w` on arrays, so the compiled training step
applies it as a pure function (`training/steps.py` calls the `constraint` a weight was
created with). Names and configs resolve through a lookup table, as for losses.
"""
import inspect

import jax.numpy as jnp

from gazelle import config
from gazelle.core import naming, tables


def _norms(w, axis):
    return jnp.sqrt(jnp.sum(jnp.square(w), axis=axis, keepdims=True))


class Constraint:
    """Base class for weight constraints.

    Subclasses implement `__call__(w)`, returning the projected weight, and
    `get_config()` when they take arguments.

    ```python
    class NonNegBelow(Constraint):
        def __init__(self, ref_value):
            self.ref_value = ref_value

        def __call__(self, w):
            return jnp.clip(w, 0.0, self.ref_value)

        def get_config(self):
            return {"ref_value": self.ref_value}
    ```
    """

    def __call__(self, w):
        """Applies the constraint to the weight `w` and returns the result.

        Args:
            w: the weight array (or Variable) to project.
        """
        return w

    def get_config(self):
        """Returns a Python dict of the constraint's configuration."""
        return {}

    @classmethod
    def from_config(cls, config):
        """Instantiates a constraint from the dict returned by `get_config`.

        Args:
            config: A Python dictionary, the output of `get_config()`.
        """
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} {self.get_config()}>"


class MaxNorm(Constraint):
    """MaxNorm weight constraint.

    Rescales the weights incident to each hidden unit so that their norm is at most
    `max_value`.

    Args:
        max_value: the maximum norm value for the incoming weights. Defaults to `2`.
        axis: integer, axis along which to calculate weight norms. For a `Dense`
            kernel of shape `(input_dim, output_dim)` use `axis=0` (the default);
            for a `Conv2D` kernel `(rows, cols, input_depth, output_depth)` use
            `axis=[0, 1, 2]`.

    ```python
    keras.layers.Dense(64, kernel_constraint=MaxNorm(3.0))
    ```
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        w = jnp.asarray(w)
        norms = _norms(w, self.axis)
        desired = jnp.clip(norms, 0, self.max_value)
        return w.astype(norms.dtype) * (desired / (config.epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Constrains the weights to be non-negative.

    ```python
    keras.layers.Dense(8, kernel_constraint=NonNeg())
    ```
    """

    def __call__(self, w):
        return jnp.maximum(jnp.asarray(w), 0)


class UnitNorm(Constraint):
    """Constrains the weights incident to each hidden unit to have unit norm.

    Args:
        axis: integer, axis along which to calculate weight norms. For a `Dense`
            kernel use `axis=0` (the default); for a `Conv2D` kernel with the
            channels-last layout use `axis=[0, 1, 2]`.

    ```python
    keras.layers.Dense(8, kernel_constraint=UnitNorm())
    ```
    """

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = jnp.asarray(w)
        norms = _norms(w, self.axis)
        return w.astype(norms.dtype) / (config.epsilon() + norms)

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """MinMaxNorm weight constraint.

    Constrains the weights incident to each hidden unit to have a norm between
    `min_value` and `max_value`; `rate` moves the norm only part of the way.

    Args:
        min_value: the minimum norm for the incoming weights. Defaults to `0.0`.
        max_value: the maximum norm for the incoming weights. Defaults to `1.0`.
        rate: rate for enforcing the constraint: weights will be rescaled to yield
            `(1 - rate) * norm + rate * norm.clip(min_value, max_value)`.
            `rate=1.0` (the default) means strict enforcement; `rate<1.0` means
            weights are rescaled at each step to slowly move towards a value inside
            the desired interval.
        axis: integer, axis along which to calculate weight norms. Defaults to `0`.

    ```python
    keras.layers.Dense(8, kernel_constraint=MinMaxNorm(0.5, 2.0, rate=0.5))
    ```
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        w = jnp.asarray(w)
        norms = _norms(w, self.axis)
        desired = self.rate * jnp.clip(norms, self.min_value, self.max_value) + \
            (1 - self.rate) * norms
        return w.astype(norms.dtype) * (desired / (config.epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


# tf.keras 2 / Keras 3 lower-case aliases.
max_norm = MaxNorm
non_neg = NonNeg
unit_norm = UnitNorm
min_max_norm = MinMaxNorm

_CLASSES = {cls.__name__: cls for cls in (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)}
_TABLE = {**_CLASSES, **{naming.to_snake_case(n): c for n, c in _CLASSES.items()}}


def _lookup(name, custom_objects=None):
    for table in (custom_objects or {}, _TABLE):
        if name in table:
            return table[name]
    raise ValueError(f"Unknown constraint identifier: {name!r}. Expected one of "
                     f"{sorted(_TABLE)}, a `Constraint` instance, a callable or a config "
                     "dict.")


def serialize(constraint):
    """Serializes a `Constraint` instance to a Keras 3 config dict.

    Args:
        constraint: A `Constraint` instance (or `None`).
    """
    return tables.serialize_entry(constraint, Constraint, "keras.constraints", "constraint")


def deserialize(config, custom_objects=None):
    """Returns a constraint instance from its config dict (or name).

    Args:
        config: Constraint configuration: a dict from `serialize`, or a name.
        custom_objects: Optional dictionary mapping names (strings) to custom
            objects (classes and functions) to be considered during
            deserialization.
    """
    return tables.deserialize_entry(config, lambda n: _lookup(n, custom_objects),
                                    "constraint")


def get(identifier):
    """Retrieves a constraint from a name, config dict, instance or callable.

    Args:
        identifier: `None`, a constraint name (`"max_norm"`, `"NonNeg"`), a config
            dict from `serialize`, a `Constraint` instance or any callable
            `w -> w`.

    ```python
    get("non_neg")              # NonNeg()
    get({"class_name": "MaxNorm", "config": {"max_value": 3, "axis": 0}})
    ```
    """
    if identifier is None:
        return None
    obj = deserialize(identifier) if isinstance(identifier, (str, dict)) else identifier
    if inspect.isclass(obj):
        obj = obj()
    if not callable(obj):
        raise ValueError(f"Could not interpret constraint identifier: {identifier!r}. "
                         "Expected a constraint name, a config dict, a `Constraint` "
                         "instance or a callable.")
    return obj
