"""Keras 3's serialize/deserialize shape for families of functions and classes (losses,
metrics): a name or config resolves through a lookup table, never an import. [L0: stdlib]"""
import inspect


def serialize_entry(obj, base_cls, module, kind):
    """`obj` (a `base_cls` instance or a plain function) as Keras 3's config dict."""
    if obj is None:
        return None
    if isinstance(obj, base_cls):
        return {"module": module, "class_name": type(obj).__name__,
                "config": obj.get_config(), "registered_name": None}
    if inspect.isfunction(obj):
        return {"module": "builtins", "class_name": "function", "config": obj.__name__,
                "registered_name": "function"}
    raise TypeError(f"serialize: expected a `{base_cls.__name__}` instance or a {kind} "
                    f"function, received {obj!r} of type {type(obj).__name__}.")


def deserialize_entry(config, lookup, kind):
    """Rebuilds a function or instance from a name or `serialize_entry`'s dict via `lookup`."""
    if isinstance(config, str):
        obj = lookup(config)
        return obj() if inspect.isclass(obj) else obj
    if not isinstance(config, dict) or "class_name" not in config:
        raise TypeError(f"deserialize: expected a {kind} name or a dict with 'class_name' "
                        f"and 'config', received {config!r}.")
    if config["class_name"] == "function":
        return lookup(config["config"])
    cls = lookup(config["class_name"])
    if not inspect.isclass(cls):
        raise ValueError(f"deserialize: {config['class_name']!r} is not a {kind} class.")
    return cls.from_config(config.get("config") or {})
