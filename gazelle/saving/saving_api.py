"""Public saving functions; `Model.save`, `load_model`, `Model.save_weights`, ... delegate
here. [side: stdlib, h5py, gazelle.utils.io, gazelle.saving]

The file's first bytes decide how it is read (a zip is a `.keras` archive, an HDF5 file is
Keras 3 weights or a tf.keras 2 `.h5`), so a misnamed file still loads; the name decides
how a file is written: `.keras` archives, `.h5`/`.hdf5` tf.keras 2 files, and Keras 3
weights for `.weights.h5`.
"""
import io
import json
import os

import h5py

from gazelle.saving import compile_config as compile_mod
from gazelle.saving import h5_legacy, keras_file, limits, model_config, weights_layout
from gazelle.utils.io import atomic_write, print_msg

_ZIP_MAGIC = b"PK\x03\x04"


def _path(filepath, what):
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(f"{what}: `filepath` must be a string or path-like object, received "
                        f"{type(filepath).__name__}: {filepath!r}.")
    return os.fspath(filepath)


def ask_to_proceed_with_overwrite(filepath):
    """Asks on the console whether to overwrite `filepath`; returns True for "y"."""
    answer = input(f"[WARNING] {filepath} already exists - overwrite? [y/n]").strip().lower()
    while answer not in ("y", "n"):
        answer = input('Enter "y" (overwrite) or "n" (cancel).').strip().lower()
    if answer == "n":
        return False
    print_msg("[TIP] Next time specify overwrite=True!")
    return True


def _may_write(path, overwrite):
    if not overwrite and os.path.exists(path) and not ask_to_proceed_with_overwrite(path):
        return False
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    return True


def _h5_bytes(writer):
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5file:
        writer(h5file)
    return buffer.getvalue()


def _is_legacy_h5_name(path):
    return path.endswith((".h5", ".hdf5")) and not path.endswith(".weights.h5")


def save_model(model, filepath, overwrite=True, include_optimizer=True, save_format=None,
               **kwargs):
    """Saves a model as a `.keras` archive (Keras 3) or an `.h5` file (tf.keras 2).

    The file holds the architecture, the weights, the compile configuration and the
    optimizer state, so `load_model` returns a model that continues training where it
    stopped.

    Args:
        model: the model to save.
        filepath: a path ending in `.keras` (Keras 3's zip) or `.h5`/`.hdf5` (tf.keras 2's
            HDF5 file).
        overwrite: whether to overwrite an existing file silently; if `False`, ask on the
            console. Defaults to `True`.
        include_optimizer: whether to save the compile configuration and optimizer state.
            Defaults to `True`.
        save_format: `"keras"` or `"h5"` to choose the format regardless of the name;
            `"tf"` (SavedModel) is not supported. Defaults to `None` (from the name).

    ```python
    model.save("my_model.keras")
    model = keras.models.load_model("my_model.keras")
    ```
    """
    path = _path(filepath, "save_model")
    unknown = set(kwargs) - {"options", "signatures", "zipped"}
    if unknown:
        raise TypeError(f"save_model(): unexpected keyword argument(s) {sorted(unknown)}.")
    fmt = save_format or ("keras" if path.endswith(".keras") else
                          "h5" if path.endswith((".h5", ".hdf5")) else None)
    if fmt not in ("keras", "h5"):
        raise ValueError(
            "Invalid filepath extension for saving. Please add either a `.keras` extension "
            "for the native Keras format (recommended) or a `.h5` extension (tf.keras 2's "
            f"HDF5 format). SavedModel directories are not supported. Received: "
            f"filepath={path}" + (f", save_format={save_format!r}" if save_format else ""))
    if not _may_write(path, overwrite):
        return
    if fmt == "h5":
        atomic_write(path, _h5_bytes(lambda f: h5_legacy.write_model(f, model, include_optimizer)))
        return
    config = model_config.serialize_layer(model)
    if not include_optimizer:
        config["compile_config"] = {}
    compiled = bool(config.get("compile_config"))
    atomic_write(path, keras_file.archive_bytes(
        config, keras_file.write_weights(model, include_optimizer=compiled)))


def _read_file(path, what):
    if not os.path.exists(path):
        raise ValueError(f"File not found: filepath={path}. Please ensure the file is an "
                         "accessible `.keras` zip file or `.h5` file.")
    if os.path.isdir(path):
        raise ValueError(f"Cannot {what} '{path}': it is a directory (a TensorFlow SavedModel "
                         "or checkpoint?). Only `.keras` and `.h5` files are supported.")
    size = os.path.getsize(path)
    if size > keras_file.MAX_TOTAL_BYTES:
        raise ValueError(f"Cannot {what} '{path}': the file has {size} bytes, more than the "
                         f"limit of {keras_file.MAX_TOTAL_BYTES}.")
    with open(path, "rb") as f:
        head = f.read(4)
    if head == _ZIP_MAGIC:
        return "keras"
    if h5py.is_hdf5(path):
        return "h5"
    raise ValueError(f"Cannot {what} '{path}': file format not supported. gazelle reads "
                     "Keras 3 `.keras` zip files and HDF5 (`.h5`, `.weights.h5`) files.")


def _open_h5(path):
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise ValueError(f"Cannot load '{path}': not a readable HDF5 file ({e}).") from None


# What building a model from a file's content raises when the content is wrong: bad
# values reach layer code (TypeError, AttributeError, IndexError, ZeroDivisionError, ...),
# and h5py reports a damaged HDF5 structure as OSError or RuntimeError (RecursionError,
# from JSON nested too deep, is a RuntimeError too).
_CONTENT_ERRORS = (ValueError, TypeError, LookupError, AttributeError, ArithmeticError,
                   OSError, RuntimeError, MemoryError)


def _wrap(path, fn, *args, what=None):
    """Runs `fn`; an error caused by the file's content becomes a ValueError naming the file."""
    what = what or f"Cannot load '{path}'"
    try:
        return fn(*args)
    except _CONTENT_ERRORS as e:
        if str(e).startswith(("Cannot load", "File not found", what)):
            raise
        memory = limits.as_value_error(e, what)
        if memory is not None:
            raise memory from None
        raise ValueError(f"{what}: {e}") from e


def _weights_member_limit(model):
    return limits.weights_member_limit(model.variables, len(model_config.layer_order(model)) + 1)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True,
               max_weights_bytes=None):
    """Loads a model saved with `model.save()` (`.keras`) or by tf.keras 2 (`.h5`).

    Class and function names in the file are looked up among gazelle's built-in layers,
    the registered objects and `custom_objects`; nothing in the file is imported or run.

    Args:
        filepath: path to a `.keras` or `.h5` file.
        custom_objects: Optional dictionary mapping names (strings) to custom classes or
            functions to be considered during deserialization.
        compile: Boolean, whether to compile the model after loading (with the saved
            optimizer state). Defaults to `True`.
        safe_mode: Boolean, whether to disallow unsafe `lambda` deserialization. When
            `safe_mode=False`, loading an object has the potential to trigger arbitrary
            code execution. This argument is only applicable to the Keras v3 model format.
            Defaults to `True`.
        max_weights_bytes: the most bytes of weights the file may make gazelle allocate
            (gazelle only). Defaults to `None`: three times the file's size plus 16 MiB,
            capped by `keras.config.max_weights_bytes()` (2 GiB), so a small file cannot
            ask for gigabytes. A file past it is refused with a `ValueError` before the
            memory is taken.

    Returns:
        A Keras model instance.

    ```python
    model = keras.models.load_model("my_model.keras")
    ```
    """
    path = _path(filepath, "load_model")
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError("load_model: `custom_objects` must be a dict mapping names to classes "
                        f"or functions, received {type(custom_objects).__name__}.")
    safe_mode = bool(safe_mode)
    kind = _read_file(path, "load")
    allowed = limits.file_budget(os.path.getsize(path), max_weights_bytes)
    if kind == "h5":
        with _open_h5(path) as h5file, limits.budget(allowed, f"'{path}'"):
            return _wrap(path, h5_legacy.load_model, h5file, path, custom_objects, compile,
                         safe_mode)
    with open(path, "rb") as f:
        archive = keras_file.Archive(f.read(), path)
    if not archive.has(keras_file.WEIGHTS_FILENAME):
        raise ValueError(
            f"Cannot load '{path}': the archive has no '{keras_file.WEIGHTS_FILENAME}' member, "
            "so the model would come back with random weights. Keras refuses such files too. "
            "To build the architecture alone from its config, use "
            "`keras.models.model_from_json` on the archive's config.json.")
    config = archive.read_json(keras_file.CONFIG_FILENAME)
    if not isinstance(config, dict):
        raise ValueError(f"Cannot load '{path}': config.json must hold a JSON object, "
                         f"received {type(config).__name__}.")
    compiled = config.get("compile_config") if compile else None
    config = {k: v for k, v in config.items() if k != "compile_config"}
    with limits.budget(allowed, f"'{path}'"):
        model = _wrap(path, model_config.model_from_config, config, custom_objects, safe_mode)
        if compiled:
            _wrap(path, compile_mod.compile_from_config, model, compiled, custom_objects)
        with archive.open_weights(_weights_member_limit(model)) as weights:
            _wrap(path, weights_layout.read_into, weights, model, path)
    return model


def save_weights(model, filepath, overwrite=True, save_format=None, **kwargs):
    """Saves the model's weights (and optimizer state, as Keras 3 does) to an HDF5 file.

    A name ending in `.weights.h5` gets Keras 3's layout; `.h5`/`.hdf5` gets tf.keras 2's
    layout; any other name (e.g. tf.keras 2's `"my_weights.ckpt"`) gets Keras 3's layout
    in a single HDF5 file, which `load_weights` reads back.

    Args:
        model: the model whose weights to save.
        filepath: the file to write.
        overwrite: whether to overwrite an existing file silently; if `False`, ask on the
            console. Defaults to `True`.
        save_format: `"h5"` for tf.keras 2's layout regardless of the name. Defaults to
            `None` (from the name).

    ```python
    model.save_weights("my_model.weights.h5")
    model.load_weights("my_model.weights.h5")
    ```
    """
    path = _path(filepath, "save_weights")
    unknown = set(kwargs) - {"options", "max_shard_size"}
    if unknown:
        raise TypeError(f"save_weights(): unexpected keyword argument(s) {sorted(unknown)}.")
    if path.endswith(".keras"):
        raise ValueError("save_weights: the filename must not end in `.keras` (that is a whole "
                         "model; use model.save). Use a name ending in `.weights.h5`. "
                         f"Received: filepath={path}")
    if not _may_write(path, overwrite):
        return
    if save_format == "h5" or _is_legacy_h5_name(path):
        atomic_write(path, _h5_bytes(lambda f: h5_legacy.write_weights(f, model)))
    else:
        atomic_write(path, _h5_bytes(lambda f: weights_layout.write(f, model)))


def load_weights(model, filepath, skip_mismatch=False, by_name=False, **kwargs):
    """Loads weights saved by `save_weights` (either layout), by Keras 3, or by tf.keras 2.

    Args:
        model: the model to load into.
        filepath: a `.weights.h5`, `.h5` or `.keras` file.
        skip_mismatch: Boolean, whether to skip loading of layers where there is a
            mismatch in the number of weights, or a mismatch in the shape of the weights.
            Defaults to `False`.
        by_name: Boolean, whether to load weights by layer name (tf.keras 2 `.h5` files
            only); otherwise layers are matched by order. Defaults to `False`.
    """
    path = _path(filepath, "load_weights")
    unknown = set(kwargs) - {"options"}
    if unknown:
        raise TypeError(f"load_weights(): unexpected keyword argument(s) {sorted(unknown)}.")
    if _read_file(path, "load") == "keras":
        with open(path, "rb") as f:
            archive = keras_file.Archive(f.read(), path)
        weights = archive.open_weights(_weights_member_limit(model))
        if weights is None:
            raise ValueError(f"Cannot load '{path}': the archive has no weights.")
    else:
        weights = _open_h5(path)
    with weights:
        if h5_legacy.is_weights_file(weights):
            group = weights_layout.group_at(weights, "model_weights", path) or weights
            _wrap(path, h5_legacy.read_weights, group, model, path, skip_mismatch, by_name)
        elif by_name:
            raise ValueError(f"load_weights: `by_name=True` needs a tf.keras 2 `.h5` weights "
                             f"file; '{path}' has Keras 3's layout, which matches by position.")
        else:
            _wrap(path, weights_layout.read_into, weights, model, path, skip_mismatch)


def model_to_json(model, **kwargs):
    """Returns the model's architecture as a JSON string (Keras 3's layout, no weights).

    Args:
        model: the model.
        **kwargs: passed to `json.dumps` (e.g. `indent=2`).
    """
    entry = model_config.serialize_layer(model)
    return json.dumps(entry, default=keras_file._json_default, **kwargs)


def model_from_json(json_string, custom_objects=None, max_weights_bytes=None):
    """Builds a model (new weights) from the JSON string that `to_json()` returned.

    Args:
        json_string: JSON string encoding a model configuration.
        custom_objects: Optional dictionary mapping names (strings) to custom classes or
            functions to be considered during deserialization.
        max_weights_bytes: the most bytes of weights the config may make gazelle allocate
            (gazelle only). Defaults to `keras.config.max_weights_bytes()` (2 GiB).

    ```python
    clone = keras.models.model_from_json(model.to_json())
    ```
    """
    if not isinstance(json_string, (str, bytes)):
        raise TypeError("model_from_json: `json_string` must be a string, received "
                        f"{type(json_string).__name__}.")
    config = limits.parse_json(json_string, "model_from_json: `json_string`")
    return _from_config(config, custom_objects, max_weights_bytes, "model_from_json")


def model_from_config(config, custom_objects=None, max_weights_bytes=None):
    """Instantiates a Keras model from its config (`{"class_name": ..., "config": ...}`).

    Args:
        config: Configuration dictionary.
        custom_objects: Optional dictionary mapping names (strings) to custom classes or
            functions to be considered during deserialization.
        max_weights_bytes: the most bytes of weights the config may make gazelle allocate
            (gazelle only). Defaults to `keras.config.max_weights_bytes()` (2 GiB).
    """
    limits.check_depth(config, "model_from_config: `config`")
    return _from_config(config, custom_objects, max_weights_bytes, "model_from_config")


def _from_config(config, custom_objects, max_weights_bytes, what):
    if not isinstance(config, dict) or "class_name" not in config:
        return model_config.model_from_config(config, custom_objects)   # its TypeError
    with limits.budget(limits.global_cap(max_weights_bytes), "the config"):
        return _wrap(None, model_config.model_from_config, config, custom_objects,
                     what=f"{what}: the config is invalid")
