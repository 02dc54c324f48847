"""serialize/deserialize Keras objects as `{"module", "class_name", "config", "registered_name"}`.

Deserialization is a lookup in tables (`registry.py`: built-in layers and models, the
registered objects, the caller's `custom_objects`); nothing named in a config is ever
imported, evaluated or unmarshalled. Keras 3's special values (`__numpy__`, `__bytes__`,
`__ellipsis__`, `__slice__`) are decoded as data; a `__lambda__` (Python bytecode) is
refused unless the caller passes `safe_mode=False`. [side: stdlib, numpy, registry]
"""
import inspect

import numpy as np

from gazelle.saving import registry

_NUMERIC_KINDS = "biufc"


def _module_of(obj):
    module = type(obj).__module__
    if module.startswith("gazelle."):
        return ".".join(module.replace("gazelle", "keras", 1).split(".")[:2])
    return None if module == "__main__" else module


def serialize_keras_object(obj):
    """Returns the JSON-friendly form Keras 3 writes for `obj`.

    Plain values, lists and dicts are kept (their items serialized); layers and models
    get Keras 3's layer entry; objects with `get_config` get
    `{"module", "class_name", "config", "registered_name"}`; functions get Keras 3's
    `{"class_name": "function", "config": <name>}` form.

    Args:
        obj: the object to serialize.
    """
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(x) for x in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return {"class_name": "__numpy__",
                "config": {"value": obj.tolist(), "dtype": obj.dtype.name}}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    from gazelle.layers.layer import Layer
    if isinstance(obj, Layer):
        from gazelle.saving import model_config
        return model_config.serialize_layer(obj)
    if hasattr(obj, "get_config"):
        cls = type(obj)
        registered = registry.get_registered_name(cls)
        module = _module_of(obj)
        builtin = module is not None and module.startswith("keras.") and registered == cls.__name__
        return {"module": module, "class_name": cls.__name__,
                "config": serialize_keras_object(obj.get_config()),
                "registered_name": None if builtin else registered}
    name = getattr(obj, "__name__", None)
    if callable(obj) and name is not None:
        return {"module": "builtins", "class_name": "function",
                "config": registry.get_registered_name(obj), "registered_name": "function"}
    raise TypeError(f"Cannot serialize {obj!r}: it has neither get_config() nor a name.")


def decode_special(config, safe_mode=True, where="config"):
    """Decodes Keras 3's tagged values (`__numpy__`, `__bytes__`, ...) inside `config`.

    Returns the same structure with those dicts replaced by values. A `__lambda__` is
    refused (ValueError) when `safe_mode` is true and kept as is otherwise, for the
    layer that owns it to handle.
    """
    if isinstance(config, list):
        return [decode_special(x, safe_mode, where) for x in config]
    if not isinstance(config, dict):
        return config
    tag = config.get("class_name")
    inner = config.get("config")
    if tag == "__lambda__":
        if safe_mode:
            raise ValueError(
                f"{where} holds a Python lambda (bytecode). Loading it could run arbitrary "
                "code, so it is refused by default. If you trust the source of the file, "
                "pass `safe_mode=False` to the loading function.")
        return config
    if tag == "__numpy__" or tag == "__tensor__":
        dtype = np.dtype(str(inner.get("dtype", "float32")))
        if dtype.kind not in _NUMERIC_KINDS:
            raise ValueError(f"{where}: array dtype {dtype.name!r} is not numeric.")
        return np.array(inner.get("value"), dtype=dtype)
    if tag == "__bytes__":
        return str(inner["value"]).encode("utf-8")
    if tag == "__ellipsis__":
        return Ellipsis
    if tag == "__slice__":
        return slice(*(decode_special(inner.get(k), safe_mode, where)
                       for k in ("start", "stop", "step")))
    return {k: decode_special(v, safe_mode, where) for k, v in config.items()}


def is_serialized_object(value):
    """Whether `value` looks like `{"class_name": ..., "config": ...}`."""
    return isinstance(value, dict) and isinstance(value.get("class_name"), str) and (
        "config" in value)


def resolve_custom(value, custom_objects=None, safe_mode=True):
    """The user object a serialized dict names (instantiated), or None if not a user one.

    Only `custom_objects`, a `CustomObjectScope` and the registered objects are
    consulted; built-in names are left to the owner of the value (e.g. `Dense` passes its
    `kernel_initializer` dict to `initializers.get`).
    """
    if not is_serialized_object(value):
        return None
    if value["class_name"] == "function":
        names = [value.get("registered_name"), value.get("config")]
        names = [n for n in names if n != "function"]
        return registry.custom_lookup(names, custom_objects)
    obj = registry.custom_lookup([value.get("registered_name"), value["class_name"]],
                                 custom_objects)
    if obj is None or not inspect.isclass(obj):
        return obj
    from gazelle.layers.layer import Layer
    if issubclass(obj, Layer):
        from gazelle.saving import model_config
        return model_config.deserialize_layer(value, custom_objects, safe_mode)
    inner = value.get("config") or {}
    if hasattr(obj, "from_config"):
        return obj.from_config(inner)
    return obj(**inner)


def resolve_custom_in(config, custom_objects=None, safe_mode=True):
    """`config` with every serialized user object (at any depth) replaced by the object."""
    found = resolve_custom(config, custom_objects, safe_mode)
    if found is not None:
        return found
    if isinstance(config, dict):
        return {k: resolve_custom_in(v, custom_objects, safe_mode) for k, v in config.items()}
    if isinstance(config, list):
        return [resolve_custom_in(v, custom_objects, safe_mode) for v in config]
    return config


def deserialize_keras_object(config, module_objects=None, custom_objects=None, kind="object",
                             safe_mode=True):
    """Builds an object from its serialized form, by table lookup only.

    Layers and models resolve through the built-in layer table; other names through
    `module_objects`. User classes come from `custom_objects`, a `CustomObjectScope`, or
    `register_keras_serializable`.

    Args:
        config: a name string or a `{"class_name", "config"}` dict.
        module_objects: optional dict name -> built-in class/function that may be built
            (default: the built-in layers and models).
        custom_objects: optional dict of user classes/functions.
        kind: word used in error messages ("loss", "layer", ...).
        safe_mode: refuse Python lambdas (bytecode) in the config. Defaults to `True`.
    """
    if config is None:
        return None
    if isinstance(config, str):
        found = registry.get_registered_object(config, custom_objects, module_objects)
        if found is not None:
            return found
        raise ValueError(f"Unknown {kind}: {config!r}. Valid names: "
                         f"{sorted(module_objects or {})}.")
    if not is_serialized_object(config) and not (
            isinstance(config, dict) and "class_name" in config):
        raise TypeError(f"Cannot deserialize {kind} from {config!r}: expected a name or a dict "
                        "with 'class_name' and 'config'.")
    config = decode_special(config, safe_mode, where=f"The {kind} config")
    custom = resolve_custom(config, custom_objects, safe_mode)
    if custom is not None:
        return custom
    if module_objects is None or config["class_name"] in registry.builtin_layers():
        from gazelle.saving import model_config
        return model_config.deserialize_layer(config, custom_objects, safe_mode)
    cls = module_objects.get(config["class_name"])
    if cls is None:
        raise ValueError(
            f"Unknown {kind} class {config['class_name']!r}. Known: {sorted(module_objects)}. "
            "Pass custom classes with `custom_objects=`.")
    inner = resolve_custom_in(config.get("config") or {}, custom_objects, safe_mode)
    if hasattr(cls, "from_config"):
        return cls.from_config(inner)
    return cls(**inner)
