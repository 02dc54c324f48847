"""tf.keras 2's HDF5 files: whole models (`model.h5`) and weights (`weights.h5`). [side:
numpy, h5py, gazelle.saving]

Layout: the file's attributes hold `model_config` and `training_config` (JSON) and
`keras_version`/`backend`; the `model_weights` group (or, in a weights file, the root)
lists `layer_names`; each layer's group lists `weight_names` (`dense/kernel:0`, ...) and
holds the arrays at those relative paths, trainable weights first. Loading matches
layers by order (the layers that have weights) or, with `by_name=True`, by name. The
optimizer's arrays go to `optimizer_weights` in Keras 3's order; a file whose optimizer
state does not fit (e.g. tf.keras 2's slot order) loads with a fresh optimizer and a
warning, as in Keras 3.
"""
import warnings

import numpy as np

from gazelle.saving import compile_config as compile_mod
from gazelle.saving import limits, model_config
from gazelle.saving.keras_file import KERAS_FORMAT_VERSION, MAX_CONFIG_BYTES, dumps
from gazelle.saving.weights_layout import _dataset_shape, group_at, read_dataset

_ATTR_LIMIT = 64000      # HDF5 object headers hold at most 64 KiB of attributes


def legacy_weights(layer):
    """tf.keras 2's weight order for a layer or nested model: trainable, then the rest."""
    return layer.trainable_weights + layer.non_trainable_weights


def _write_names(group, key, names):
    if not names:
        group.attrs[key] = np.array([], dtype="float64")
        return
    data = np.array([n.encode("utf8") for n in names])
    chunks = 1
    while any(part.nbytes > _ATTR_LIMIT for part in np.array_split(data, chunks)):
        chunks += 1
    if chunks == 1:
        group.attrs[key] = data
    else:
        for i, part in enumerate(np.array_split(data, chunks)):
            group.attrs[f"{key}{i}"] = part


def _read_names(group, key):
    values = list(group.attrs[key]) if key in group.attrs else []
    i = 0
    while f"{key}{i}" in group.attrs:
        values.extend(group.attrs[f"{key}{i}"])
        i += 1
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in values]


def _weight_names(variables):
    names, seen = [], set()
    for v in variables:
        name = f"{v.path}:0"
        while name in seen:
            name = name.replace(":", "_1:", 1)
        seen.add(name)
        names.append(name)
    return names


def write_weights(group, model):
    """Writes tf.keras 2's weights layout for `model` into an h5py group."""
    layers = model_config.layer_order(model)
    group.attrs["backend"] = b"jax"
    group.attrs["keras_version"] = KERAS_FORMAT_VERSION.encode()
    _write_names(group, "layer_names", [layer.name for layer in layers])
    for layer in layers:
        _write_layer(group.create_group(layer.name), legacy_weights(layer))
    own = [v for v in model._own_variables()]
    _write_layer(group.create_group("top_level_model_weights"), own)


def _write_layer(group, variables):
    names = _weight_names(variables)
    _write_names(group, "weight_names", names)
    for name, v in zip(names, variables):
        group.create_dataset(name, data=np.asarray(v.value))


def write_model(h5file, model, include_optimizer=True):
    """Writes a whole model (config, training config, weights, optimizer) in tf.keras 2's layout."""
    entry = model_config.serialize_layer(model)
    h5file.attrs["backend"] = b"jax"
    h5file.attrs["keras_version"] = KERAS_FORMAT_VERSION.encode()
    h5file.attrs["model_config"] = dumps(
        {"class_name": entry["class_name"], "config": entry["config"]}).encode("utf8")
    training = compile_mod.training_config(model) if include_optimizer else None
    if training is not None:
        h5file.attrs["training_config"] = dumps(training).encode("utf8")
    write_weights(h5file.create_group("model_weights"), model)
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and training is not None and optimizer is not None:
        group = h5file.create_group("optimizer_weights")
        _write_layer(group, list(optimizer.variables))


def _json_attr(h5file, key, filename):
    value = h5file.attrs.get(key)
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        value = value.tobytes()
    if isinstance(value, bytes):
        if len(value) > MAX_CONFIG_BYTES:
            raise ValueError(f"Cannot load '{filename}': its {key} is larger than "
                             f"{MAX_CONFIG_BYTES} bytes.")
        value = value.decode("utf8")
    return limits.parse_json(value, f"Cannot load '{filename}': its {key}")


def _read_layer(group, variables, filename, what, skip_mismatch):
    """[(variable, value)] for one layer's group; checks names, count and shapes first."""
    names = _read_names(group, "weight_names")
    if len(names) != len(variables):
        raise ValueError(f"Cannot load weights from '{filename}': weight count mismatch for "
                         f"{what}: the layer expects {len(variables)} weight(s), the file has "
                         f"{len(names)}.")
    out = []
    for name, v in zip(names, variables):
        parent, _, leaf = name.rpartition("/")
        holder = group_at(group, parent, filename) if parent else group
        shape = _dataset_shape(holder, leaf, filename) if holder is not None else None
        if shape != tuple(v.shape):
            message = (f"{what}: weight {v.path} expects shape {tuple(v.shape)}, the file has "
                       f"{'no dataset ' + repr(name) if shape is None else shape}")
            if skip_mismatch and shape is not None:
                warnings.warn(f"Skipping loading weights for {message}.", stacklevel=4)
                continue
            raise ValueError(f"Cannot load weights from '{filename}': shape mismatch in "
                             f"{message}.")
        out.append((v, read_dataset(holder, leaf, v.shape, filename, what)))
    return out


def read_weights(group, model, filename, skip_mismatch=False, by_name=False):
    """Loads tf.keras 2-layout weights from an h5py group into `model` (all or nothing)."""
    saved = _read_names(group, "layer_names")
    layers = model_config.layer_order(model)
    assignments = []
    if by_name:
        by = {layer.name: layer for layer in layers}
        for name in saved:
            layer_group = group_at(group, name, filename)
            if name not in by or layer_group is None:
                continue
            variables = legacy_weights(by[name])
            try:
                assignments += _read_layer(layer_group, variables, filename,
                                           f"layer '{name}'", skip_mismatch)
            except ValueError as e:
                if not skip_mismatch or "count mismatch" not in str(e):
                    raise
                warnings.warn(f"Skipping loading of weights for layer '{name}': {e}",
                              stacklevel=3)
    else:
        with_weights = [layer for layer in layers if legacy_weights(layer)]
        saved_groups = []
        for name in saved:
            layer_group = group_at(group, name, filename)
            if layer_group is None:
                raise ValueError(f"Cannot load weights from '{filename}': layer '{name}' is "
                                 "listed but has no group.")
            if _read_names(layer_group, "weight_names"):
                saved_groups.append((name, layer_group))
        if len(saved_groups) != len(with_weights):
            raise ValueError(
                f"Cannot load weights from '{filename}': layer count mismatch. The model "
                f"expected {len(with_weights)} layers with weights, the file has "
                f"{len(saved_groups)} saved layers ({[n for n, _ in saved_groups]}).")
        for k, ((name, layer_group), layer) in enumerate(zip(saved_groups, with_weights)):
            assignments += _read_layer(
                layer_group, legacy_weights(layer), filename,
                f"layer #{k} (named '{layer.name}' in the model, '{name}' in the file)",
                skip_mismatch)
    top = group_at(group, "top_level_model_weights", filename)
    own = list(model._own_variables())
    if top is not None and _read_names(top, "weight_names") and own:
        assignments += _read_layer(top, own, filename, "the top-level model", skip_mismatch)
    for variable, value in assignments:
        variable.assign(value)


def is_weights_file(h5file):
    """Whether an h5py File is tf.keras 2-layout weights (not Keras 3's `layers/...`)."""
    return "layer_names" in h5file.attrs or "layer_names0" in h5file.attrs or (
        "model_weights" in h5file)


def load_model(h5file, filename, custom_objects=None, compile=True, safe_mode=True):
    """Builds the model saved in a tf.keras 2 `.h5` file, with weights and compile state."""
    config = _json_attr(h5file, "model_config", filename)
    if config is None:
        raise ValueError(f"Cannot load '{filename}': no model config found in the file "
                         "(is it a weights-only file? use model.load_weights).")
    model = model_config.model_from_config(config, custom_objects, safe_mode)
    weights = group_at(h5file, "model_weights", filename)
    if weights is None:
        raise ValueError(f"Cannot load '{filename}': no 'model_weights' group.")
    read_weights(weights, model, filename)
    if not compile:
        return model
    training = _json_attr(h5file, "training_config", filename)
    if training is None:
        warnings.warn("No training configuration found in the save file, so the model was "
                      "*not* compiled. Compile it manually.", stacklevel=3)
        return model
    compile_mod.compile_from_config(model, training, custom_objects)
    group = group_at(h5file, "optimizer_weights", filename)
    if group is not None:
        _load_optimizer(group, model, filename)
    return model


def _load_optimizer(group, model, filename):
    optimizer = model.optimizer
    saved = len(_read_names(group, "weight_names"))
    if not optimizer.built and saved != len(optimizer.variables):
        optimizer.build(model.trainable_variables)
    try:
        assignments = _read_layer(group, list(optimizer.variables), filename,
                                  f"optimizer '{optimizer.name}'", skip_mismatch=False)
    except ValueError:
        warnings.warn("Error in loading the saved optimizer state. As a result, your model is "
                      "starting with a freshly initialized optimizer.", stacklevel=4)
        return
    for variable, value in assignments:
        variable.assign(value)
