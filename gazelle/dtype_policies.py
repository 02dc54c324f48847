"""`keras.dtype_policies`: DTypePolicy (a layer's compute and variable dtypes) and its
`get` / `serialize` / `deserialize`. [leaf: numpy, gazelle.config, gazelle.backend]

Gazelle trains in float32: a `"float32"` policy (and integer or bool policies, for layers
that take ids) works wherever a dtype does (`keras.layers.Dense(2,
dtype=keras.DTypePolicy("float32"))`); mixed precision (`"mixed_float16"`,
`"mixed_bfloat16"`), other float dtypes and quantized policies raise NotImplementedError
with the message of `keras.config.set_dtype_policy`.
"""
import numpy as np

from gazelle import config as _config

_REFUSED = ("mixed_float16", "mixed_bfloat16", "float16", "bfloat16", "float64")
_QUANTIZATION_MODES = ("int8", "int4", "float8", "gptq", "awq")


def refusal(name, where):
    """The NotImplementedError gazelle raises for a policy it cannot run (the message of
    `keras.config.set_dtype_policy`)."""
    return NotImplementedError(
        f"{where}({name!r}): gazelle computes in float32 only (no mixed precision or "
        "quantization yet); use 'float32', or Keras 3 for other policies.")


class DTypePolicy:
    """A dtype policy: the dtype of a layer's computations and of its variables.

    Args:
        name: the policy's name: `"float32"`, or an integer/bool dtype name for layers
            that take ids; None means the global policy (`"float32"`). Mixed precision
            and the other float dtypes raise NotImplementedError: gazelle trains in
            float32.

    A policy can be given wherever a layer takes `dtype=`.

    ```python
    layer = keras.layers.Dense(10, dtype=keras.DTypePolicy("float32"))
    layer.dtype         # "float32"
    ```
    """

    def __init__(self, name=None):
        if name is None:
            name = _config.dtype_policy().name
        if not isinstance(name, str):
            raise TypeError("'name' must be a string, such as 'mixed_float16'. Received: "
                            f"name={name} (of type {type(name)})")
        if name in _REFUSED:
            raise refusal(name, type(self).__name__)
        if name.startswith(_QUANTIZATION_MODES):
            raise refusal(name, type(self).__name__)
        from gazelle.backend import standardize_dtype
        try:
            dtype = standardize_dtype(name)
        except ValueError:
            raise ValueError(f"Cannot convert '{name}' to a mixed precision DTypePolicy. "
                             "Valid policies include 'mixed_float16', 'mixed_bfloat16', and "
                             "the name of any float dtype such as 'float32'; gazelle runs "
                             "'float32' (and integer or bool dtypes).") from None
        if dtype in _REFUSED:
            raise refusal(name, type(self).__name__)
        self._name = name
        self._compute_dtype = self._variable_dtype = dtype
        self._quantization_mode = None

    @property
    def name(self):
        """The policy's name."""
        return self._name

    @property
    def compute_dtype(self):
        """The dtype of the layer's computations."""
        return self._compute_dtype

    @property
    def variable_dtype(self):
        """The dtype of the layer's weights."""
        return self._variable_dtype

    @property
    def quantization_mode(self):
        """None: gazelle has no quantized policies."""
        return self._quantization_mode

    @property
    def dtype(self):
        # NumPy/JAX read `.dtype`, so a policy is accepted where a dtype is (Layer(dtype=)).
        return np.dtype(self._variable_dtype)

    def convert_input(self, x, autocast, dtype):
        """`x` as an array, float inputs cast to `dtype` when `autocast` (integers kept)."""
        import jax.numpy as jnp

        from gazelle.backend import is_float_dtype, standardize_dtype
        if not hasattr(x, "__array__") and not hasattr(x, "dtype"):
            return x
        if not hasattr(x, "dtype") or isinstance(x, np.ndarray):
            x = jnp.asarray(x)
        dtype = standardize_dtype(dtype)
        x_dtype = standardize_dtype(x.dtype)
        if autocast and is_float_dtype(x_dtype) and x_dtype != dtype:
            x = x.astype(dtype)
        return x

    def get_config(self):
        return {"name": self._name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f'<DTypePolicy "{self._name}">'

    def __eq__(self, other):
        if isinstance(other, _config._Float32Policy):
            return self._name == other.name
        if type(other) not in (DTypePolicy, FloatDTypePolicy):
            return False
        return self._name == other._name

    def __hash__(self):
        return hash(self._name)


class FloatDTypePolicy(DTypePolicy):
    """Keras's other name for `DTypePolicy` (a float policy)."""


def serialize(dtype_policy):
    """A policy's Keras 3 config: `{"module", "class_name", "config", "registered_name"}`.

    ```python
    keras.dtype_policies.serialize(keras.DTypePolicy("float32"))
    ```
    """
    if isinstance(dtype_policy, _config._Float32Policy):
        dtype_policy = DTypePolicy(dtype_policy.name)
    if not isinstance(dtype_policy, DTypePolicy):
        raise TypeError("keras.dtype_policies.serialize: expected a DTypePolicy, received "
                        f"{dtype_policy!r} of type {type(dtype_policy).__name__}.")
    return {"module": "keras", "class_name": type(dtype_policy).__name__,
            "config": dtype_policy.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """A policy from its config (what `serialize` returns).

    Args:
        config: a dict with `"class_name"` and `"config"`.
        custom_objects: optional dict of custom policy classes by name.
    """
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError("keras.dtype_policies.deserialize: expected a dict with "
                         f"'class_name' and 'config', received {config!r}.")
    class_name = config["class_name"]
    classes = {"DTypePolicy": DTypePolicy, "FloatDTypePolicy": FloatDTypePolicy}
    cls = (custom_objects or {}).get(class_name) or classes.get(class_name)
    if cls is None:
        if "Quantized" in class_name or class_name.endswith(
                ("Int4DTypePolicy", "GPTQDTypePolicy", "AWQDTypePolicy")):
            raise refusal(class_name, "keras.dtype_policies.deserialize")
        raise ValueError(f"keras.dtype_policies.deserialize: unknown policy class "
                         f"{class_name!r}; expected one of {sorted(classes)}.")
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier):
    """A DTypePolicy from a name, a config dict, a policy, a dtype, or None (the global
    policy).

    ```python
    keras.dtype_policies.get("float32")     # <DTypePolicy "float32">
    ```
    """
    if identifier is None:
        return DTypePolicy(_config.dtype_policy().name)
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, _config._Float32Policy):
        return DTypePolicy(identifier.name)
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return DTypePolicy(identifier)
    from gazelle.backend import standardize_dtype
    try:
        name = standardize_dtype(identifier)
    except (TypeError, ValueError):
        raise ValueError("Cannot interpret `dtype` argument. Expected a string or an "
                         f"instance of DTypePolicy. Received: dtype={identifier}") from None
    return DTypePolicy(name)


__all__ = ["DTypePolicy", "FloatDTypePolicy", "deserialize", "get", "serialize"]
