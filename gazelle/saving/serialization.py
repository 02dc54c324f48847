"""serialize/deserialize Keras objects as `{"module", "class_name", "config", "registered_name"}`.

Deserialization is a lookup in a table of known classes (plus the caller's
`custom_objects`); nothing named in a config is ever imported or evaluated. [side]
"""


def serialize_keras_object(obj):
    """Returns Keras 3's dict for `obj` (None stays None; strings stay strings)."""
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if hasattr(obj, "get_config"):
        module = type(obj).__module__.replace("gazelle", "keras", 1).split(".")
        return {"module": ".".join(module[:2]), "class_name": type(obj).__name__,
                "config": obj.get_config(), "registered_name": None}
    name = getattr(obj, "__name__", None)
    if name is None:
        raise TypeError(f"Cannot serialize {obj!r}: it has neither get_config() nor a name.")
    return name


def deserialize_keras_object(config, module_objects, custom_objects=None, kind="object"):
    """Builds an object from its serialized form by table lookup only.

    Args:
        config: a name string or a `{"class_name", "config"}` dict.
        module_objects: dict name -> class/function that may be built.
        custom_objects: optional dict of user classes/functions.
        kind: word used in error messages ("loss", "layer", ...).
    """
    table = dict(module_objects)
    table.update(custom_objects or {})
    if isinstance(config, str):
        if config in table:
            return table[config]
        raise ValueError(f"Unknown {kind}: {config!r}. Valid names: {sorted(table)}.")
    if isinstance(config, dict) and "class_name" in config:
        cls = table.get(config["class_name"])
        if cls is None:
            raise ValueError(
                f"Unknown {kind} class {config['class_name']!r}. Known: {sorted(table)}. "
                "Pass custom classes with `custom_objects=`.")
        inner = config.get("config") or {}
        if hasattr(cls, "from_config"):
            return cls.from_config(inner)
        return cls(**inner)
    raise TypeError(f"Cannot deserialize {kind} from {config!r}.")
