"""serialize/deserialize Keras objects as `{"module", "class_name", "config", "registered_name"}`.

Deserialization is a lookup in tables (`core/registry.py`: built-in layers and models, the
registered objects, the caller's `custom_objects`); nothing named in a config is ever
imported, evaluated or unmarshalled. Keras 3's special values (`__numpy__`, `__bytes__`,
`__ellipsis__`, `__slice__`) are decoded as data; a `__lambda__` (Python bytecode) is
refused unless the caller passes `safe_mode=False`.

A layer's entry (`layer_entry`, `deserialize_layer`) is written and read here too, so
layers that hold layers (wrappers, cells, pipelines) serialize them without importing
`saving/`. Models add their own parts through two hooks on their classes:
`_keras_entry()` and `_from_keras_entry(...)` (models/ reach `saving/model_config.py`).
[L0: stdlib, numpy, core.registry]
"""
import inspect
import weakref

import numpy as np

from gazelle.core import registry

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
    if isinstance(obj, slice):
        return {"class_name": "__slice__", "config": {
            "start": serialize_keras_object(obj.start), "stop": serialize_keras_object(obj.stop),
            "step": serialize_keras_object(obj.step)}}
    if _is_layer(obj):
        return layer_entry(obj)
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
    if _is_layer_class(obj):
        return deserialize_layer(value, custom_objects, safe_mode)
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
        return deserialize_layer(config, custom_objects, safe_mode)
    cls = module_objects.get(config["class_name"])
    if cls is None:
        raise ValueError(
            f"Unknown {kind} class {config['class_name']!r}. Known: {sorted(module_objects)}. "
            "Pass custom classes with `custom_objects=`.")
    inner = resolve_custom_in(config.get("config") or {}, custom_objects, safe_mode)
    if hasattr(cls, "from_config"):
        return cls.from_config(inner)
    return cls(**inner)


# -- layer entries ---------------------------------------------------------------------
_LAYER_BASE = []        # [Layer], set by gazelle.layers.layer when it loads
# Keras-only arguments a config may carry; dropped when they hold these (default) values.
_FALSY = (None, False, 0, "", (), [], {})
_INPUT_SHAPE_ARGS = ("batch_input_shape", "input_shape", "input_dim", "batch_size")


def register_layer_base(cls):
    """Tells serialization which class is the Layer base (called by `layers/layer.py`)."""
    _LAYER_BASE[:] = [cls]


def _is_layer(obj):
    return bool(_LAYER_BASE) and isinstance(obj, _LAYER_BASE[0])


def _is_layer_class(obj):
    return bool(_LAYER_BASE) and inspect.isclass(obj) and issubclass(obj, _LAYER_BASE[0])


def dtype_policy(name):
    """Keras 3's DTypePolicy entry for a dtype name."""
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name},
            "registered_name": None}


def class_entry(layer):
    """`(module, registered_name)` of a layer's entry, as Keras 3 writes them."""
    cls = type(layer)
    builtin = cls.__module__.startswith("gazelle.")
    if builtin and registry.get_registered_name(cls) == cls.__name__:
        # Built-ins: "keras.layers" unless the class names its Keras module (models do).
        return getattr(cls, "_keras_entry_names", ("keras.layers", None))
    module = cls.__module__
    return (None if module == "__main__" else module), registry.get_registered_name(cls)


def _build_config(layer):
    if hasattr(layer, "get_build_config"):      # Keras 3's hook (e.g. attention's shapes_dict)
        return layer.get_build_config()
    shapes = getattr(layer, "_build_shapes", None)
    if not layer.built or not shapes:
        return None
    return {"input_shape": list(shapes[0]) if len(shapes) == 1 else [list(s) for s in shapes]}


def layer_entry(layer, in_model=False, config=None):
    """Keras 3's config entry for `layer`: module, class_name, config, registered_name and
    build_config. A model's entry comes from its `_keras_entry` hook (`config` given: the
    model's own config, made by saving/model_config.py).

    Args:
        layer: the layer.
        in_model: whether the entry goes inside a model with an InputLayer (then
            `batch_input_shape` & co. are left out, as Keras 3 does).
        config: the config to write instead of `layer.get_config()`.
    """
    own = getattr(layer, "_keras_entry", None)
    if config is None and own is not None:
        return own(in_model)
    input_layer = getattr(layer, "_is_input_layer", False)
    if config is None:
        config = dict(layer.get_config())
        if input_layer:
            config = {"batch_shape": config.get("batch_shape"), "dtype": config.get("dtype"),
                      "sparse": False, "ragged": False, "name": layer.name, "optional": False}
        else:
            if isinstance(config.get("dtype"), str):
                config["dtype"] = dtype_policy(config["dtype"])
            if in_model:
                for key in _INPUT_SHAPE_ARGS:
                    # Layer.get_config never writes `input_dim`: where it is present it is
                    # the layer's own argument (Embedding's vocabulary size), kept.
                    if key != "input_dim":
                        config.pop(key, None)
    module, registered = class_entry(layer)
    # A class may be exported under another name than its own (Keras 3's
    # GroupedQueryAttention is keras.layers.GroupQueryAttention); configs use the export.
    class_name = type(layer).__dict__.get("_keras_class_name", type(layer).__name__)
    entry = {"module": module, "class_name": class_name,
             "config": serialize_keras_object(config), "registered_name": registered}
    if not input_layer:
        build = _build_config(layer)
        if build is not None:
            entry["build_config"] = build
    return entry


_ACCEPTED = weakref.WeakKeyDictionary()     # class -> its accepted arguments (per load: once)


def _accepted_args(cls):
    """Keyword arguments `cls(...)` accepts, following `**kwargs` up to Layer; None: any."""
    if cls not in _ACCEPTED:
        _ACCEPTED[cls] = _find_accepted_args(cls)
    return _ACCEPTED[cls]


def _find_accepted_args(cls):
    base = _LAYER_BASE[0] if _LAYER_BASE else object
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if klass is base or not any(p.kind == p.VAR_KEYWORD for p in params):
            return frozenset(names - {"self"})
    return None


def clean_config(cls, config, what):
    """Drops Keras-only arguments that hold default values; refuses others gazelle lacks.

    A class with its own `from_config` may consume extra keys, so for it unknown keys
    with non-default values are passed on instead of refused.
    """
    accepted = _accepted_args(cls)
    if accepted is None:
        return config
    base = _LAYER_BASE[0] if _LAYER_BASE else None
    own_from_config = base is None or cls.from_config.__func__ is not base.from_config.__func__
    out = {}
    for key, value in config.items():
        default = any(value is v or (type(value) is type(v) and value == v) for v in _FALSY)
        if key in accepted or (own_from_config and not default):
            out[key] = value
        elif not default:
            raise ValueError(
                f"{what}: argument {key!r}={value!r} is not supported by gazelle's "
                f"{cls.__name__}. Supported arguments: {sorted(accepted)}.")
    return out


def prepare_config(config, custom_objects, safe_mode, what):
    """A layer config with Keras's tagged values decoded, its DTypePolicy read as a dtype
    name, and the user objects it names resolved."""
    config = decode_special(dict(config), safe_mode, where=what)
    dtype = config.get("dtype")
    if isinstance(dtype, dict):      # Keras 3 DTypePolicy
        config["dtype"] = (dtype.get("config") or {}).get("name", "float32")
    return resolve_custom_in(config, custom_objects, safe_mode)


# Layers private to a keras.applications family, registered when gazelle's module for it
# is imported: a saved ConvNeXt or InceptionResNetV2 loads in a fresh process too. Only
# these gazelle modules are imported, whatever a file says.
_APPLICATION_LAYERS = {"LayerScale": "convnext", "StochasticDepth": "convnext",
                       "CustomScaleLayer": "inception_resnet_v2"}


def _import_application_layers(class_name):
    """Imports gazelle's application module that defines `class_name`; whether it did."""
    import importlib
    family = _APPLICATION_LAYERS.get(class_name)
    if family is None:
        return False
    importlib.import_module(f"gazelle.applications.{family}")
    return True


def lookup_layer_class(config, custom_objects=None):
    """The class a layer entry names: user objects first, then the built-in table."""
    class_name = config.get("class_name")
    if not isinstance(class_name, str):
        raise ValueError(f"A layer entry needs a string 'class_name'; received {config!r:.200}.")
    module = config.get("module")
    cls = None
    if isinstance(module, str) and module.startswith("keras.src.ops."):  # an op on tensors
        cls = registry.op_layer_class(module, class_name)
    if cls is None:
        cls = registry.custom_lookup([config.get("registered_name"), class_name], custom_objects)
    if cls is None and _import_application_layers(class_name):
        cls = registry.custom_lookup([config.get("registered_name"), class_name], custom_objects)
    if cls is None:
        builtins = registry.builtin_layers()
        cls = builtins.get(class_name)
        if cls is None:
            raise ValueError(
                f"Unknown layer: {class_name!r}. Pass custom layers with "
                "`custom_objects={'" + class_name + "': " + class_name + "}` or register them "
                f"with `@keras.saving.register_keras_serializable()`. Built-in layers: "
                f"{sorted(builtins)}.")
    if not _is_layer_class(cls):
        raise ValueError(f"{class_name!r} names {cls!r}, which is not a Layer class.")
    return cls


def is_shape(s):
    """Whether `s` is one shape: a list/tuple of ints (not bools) and Nones."""
    return isinstance(s, (list, tuple)) and all(
        d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool)) for d in s)


def _build(layer, shape):
    shapes = tuple(shape) if is_shape(shape) else [tuple(s) for s in shape]
    own = getattr(layer, "_build_from_config_shape", None)     # models build from a shape
    if own is not None:
        own(shapes)
    else:
        layer._maybe_build([shapes] if is_shape(shape) else shapes)


def deserialize_layer(config, custom_objects=None, safe_mode=True, build=True):
    """Builds a layer or model from its Keras 3 (or tf.keras 2) config entry.

    Args:
        config: `{"class_name", "config", ...}` as written by `layer_entry`.
        custom_objects: optional dict of user classes and functions.
        safe_mode: refuse Python lambdas in the config. Defaults to `True`.
        build: build the layer from the entry's `build_config` (not needed inside a
            model, which builds its layers). Defaults to `True`.
    """
    if not isinstance(config, dict):
        raise TypeError(f"A layer entry must be a dict; received {type(config).__name__}.")
    cls = lookup_layer_class(config, custom_objects)
    raw = config.get("config")
    name = raw.get("name") if isinstance(raw, dict) else None
    what = f"Layer {name!r} ({config['class_name']})"
    if not isinstance(raw, (dict, list)):
        raise ValueError(f"{what}: 'config' must be a dict; received {raw!r:.200}.")
    if isinstance(raw, list):                       # Keras 2.2: a Sequential is a list
        raw = {"layers": raw}
    own = getattr(cls, "_from_keras_entry", None)   # models: Sequential / Functional layouts
    layer = own(raw, custom_objects, safe_mode) if own is not None else None
    if layer is None:
        inner = clean_config(cls, prepare_config(raw, custom_objects, safe_mode, what), what)
        if "custom_objects" in inspect.signature(cls.from_config).parameters:
            layer = cls.from_config(inner, custom_objects=registry.all_custom_objects(
                custom_objects))
        else:
            layer = cls.from_config(inner)
    build_config = config.get("build_config")
    if build and isinstance(build_config, dict) and not layer.built:
        shape = build_config.get("input_shape")
        if shape is not None:
            _build(layer, shape)
    return layer
