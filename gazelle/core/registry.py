"""Name <-> object tables for deserialization. [L0: stdlib only]

A saved config names classes and functions by strings. Those strings are resolved here
and only here, by looking them up in tables: the built-in layers and models (found by
walking the public names of the modules that register themselves here, `gazelle.layers`
and `gazelle.models`, so a layer exported there is known without further registration;
the registry never imports them), the objects registered with
`register_keras_serializable`, a `CustomObjectScope`, and the caller's
`custom_objects`. Nothing named in a file is ever imported, evaluated or unpickled.
"""
import contextvars
import inspect

_GLOBAL_CUSTOM_OBJECTS = {}     # "package>name" -> class or function
_GLOBAL_CUSTOM_NAMES = {}       # class or function -> "package>name"
_SCOPE = contextvars.ContextVar("gazelle_custom_object_scope", default=None)


def register_keras_serializable(package="Custom", name=None):
    """Registers a class or function so that saved configs can name it.

    The object is registered under `"package>name"`; a config that names it (in its
    `registered_name`) then loads without `custom_objects`.

    Args:
        package: The package that this class belongs to, used for the key
            (`"package>name"`). Defaults to `"Custom"`.
        name: The name to serialize this class under in this package. Defaults to the
            object's `__name__`.

    ```python
    @keras.saving.register_keras_serializable(package="my_package")
    class MyDense(keras.layers.Dense):
        pass
    ```
    """
    if not isinstance(package, str) or not package:
        raise TypeError(f"register_keras_serializable: `package` must be a non-empty string, "
                        f"received {package!r}.")

    def decorator(obj):
        key = f"{package}>{name if name is not None else obj.__name__}"
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError(f"register_keras_serializable: cannot register class "
                             f"{obj.__name__!r}: it has no get_config() method.")
        _GLOBAL_CUSTOM_OBJECTS[key] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = key
        return obj

    return decorator


def get_registered_name(obj):
    """Returns the name `obj` is registered under (`"package>name"`), else its `__name__`.

    Args:
        obj: The class or function.
    """
    if obj in _GLOBAL_CUSTOM_NAMES:
        return _GLOBAL_CUSTOM_NAMES[obj]
    return obj.__name__


def get_registered_object(name, custom_objects=None, module_objects=None):
    """Returns the class or function registered under `name`, or `None`.

    Looks in `custom_objects`, then the active `CustomObjectScope`, then the objects
    registered with `register_keras_serializable`, then `module_objects`.

    Args:
        name: The name to look up.
        custom_objects: Optional dict of user objects, checked first.
        module_objects: Optional dict of built-in objects, checked last.
    """
    for table in (custom_objects, _SCOPE.get(), _GLOBAL_CUSTOM_OBJECTS, module_objects):
        if table and name in table:
            return table[name]
    return None


def get_custom_objects():
    """Returns the global dict of registered objects (`"package>name"` -> object).

    Adding to it registers an object: `get_custom_objects()["MyLayer"] = MyLayer`.
    """
    return _GLOBAL_CUSTOM_OBJECTS


class CustomObjectScope:
    """Makes custom classes/functions known to deserialization inside a `with` block.

    Args:
        custom_objects: Dictionary of `{str: object}` pairs, where the `str` key is the
            object name.

    ```python
    with keras.saving.CustomObjectScope({"MyLayer": MyLayer}):
        model = keras.models.load_model("model.keras")
    ```
    """

    def __init__(self, custom_objects):
        if custom_objects is not None and not isinstance(custom_objects, dict):
            raise TypeError("CustomObjectScope: `custom_objects` must be a dict mapping names "
                            f"to objects, received {type(custom_objects).__name__}.")
        self.custom_objects = dict(custom_objects or {})
        self._token = None

    def __enter__(self):
        merged = {**(_SCOPE.get() or {}), **self.custom_objects}
        self._token = _SCOPE.set(merged)
        return self

    def __exit__(self, *exc):
        _SCOPE.reset(self._token)


custom_object_scope = CustomObjectScope


def custom_lookup(names, custom_objects=None):
    """The first of `names` (skipping None) found among the user's objects, or None.

    A bare name (`"cube"`) also finds the one object registered as `"<package>>cube"`,
    since some configs store a registered function by its plain name.
    """
    names = [n for n in names if isinstance(n, str)]
    for name in names:
        found = get_registered_object(name, custom_objects)
        if found is not None:
            return found
    for name in names:
        matches = [obj for key, obj in _GLOBAL_CUSTOM_OBJECTS.items()
                   if ">" not in name and key.split(">", 1)[-1] == name]
        if len(matches) == 1:
            return matches[0]
    return None


def all_custom_objects(custom_objects=None):
    """One dict of the user's objects: registered, then scoped, then `custom_objects`."""
    return {**_GLOBAL_CUSTOM_OBJECTS, **(_SCOPE.get() or {}), **(custom_objects or {})}


_BUILTIN_MODULES = []     # (module, base class): their public subclasses of base are built-in
_BUILTIN_CACHE = {}


def register_builtin_module(module, base):
    """Makes the public subclasses of `base` in `module` built-in names (called by
    `gazelle.layers` and `gazelle.models` when they load)."""
    if not any(m is module for m, _ in _BUILTIN_MODULES):
        _BUILTIN_MODULES.append((module, base))
        _BUILTIN_CACHE.clear()


def builtin_layers():
    """Built-in layer and model classes by class name (public names of gazelle.layers/models)."""
    # Built once per set of public names (a load asks once per layer in the file).
    key = tuple(len(vars(module)) for module, _ in _BUILTIN_MODULES)
    if _BUILTIN_CACHE.get("key") == key:
        return dict(_BUILTIN_CACHE["table"])
    table = {}
    for module, base in _BUILTIN_MODULES:
        for attr in dir(module):
            obj = getattr(module, attr)
            if not attr.startswith("_") and inspect.isclass(obj) and issubclass(obj, base):
                table.setdefault(obj.__name__, obj)
                table.setdefault(attr, obj)       # aliases such as MaxPool2D
    _BUILTIN_CACHE.update(key=key, table=table)
    return dict(table)


_OP_LAYER_CLASS = [None]    # (module, class_name) -> the layer class for a Keras op entry


def register_op_layer_class(lookup):
    """Registers `lookup(module, class_name)`, which returns the layer class that rebuilds a
    Keras 3 op entry (`"module": "keras.src.ops.numpy"`, ...) or None (called by
    gazelle/layers/op_layer.py when it loads)."""
    _OP_LAYER_CLASS[0] = lookup


def op_layer_class(module, class_name):
    """The layer class for Keras 3's entry of op `class_name` in `module`, or None."""
    lookup = _OP_LAYER_CLASS[0]
    return None if lookup is None else lookup(module, class_name)
