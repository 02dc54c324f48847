"""Keras 3's weight layout: which HDF5 group holds which object's variables. [side: numpy,
h5py, gazelle.saving]

Keras 3 walks a model and writes each object's own variables to `<path>/vars/<i>` with
the object's name in the group's `name` attribute: the model itself at `vars`, a
Sequential's or Functional's layers in the `layers` container, each named by its
snake-cased class name made unique in that container (`layers/dense`, `layers/dense_1`;
not the layer's own name), sublayers held in attributes at `<path>/<attribute>`, and the
optimizer at `optimizer/vars` (its `variables`, in order). A layer's own variables are
its trainable ones, then its non-trainable ones, in creation order. Shared layers are
written once, at the first path that reaches them.

Reading never follows soft or external links, refuses external or virtual datasets, and
checks every dataset's shape against the model before it reads a byte of it.
"""
import re
import warnings

import h5py
import numpy as np

from gazelle.saving import model_config

# Model attributes that are not sublayers to save (the walk reaches them another way).
_SKIP_ATTRS = {"_stack", "_input_layer", "_operations", "_layers", "_inbound_nodes",
               "_trainer", "optimizer", "history", "_added_weights", "_tracked_cache",
               "_predict_steps", "_own_losses"}


def keras_snake(name):
    """Keras 3's snake case: `Conv2D` -> `conv2d`, `BatchNormalization` -> `batch_normalization`."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _name_key(name):
    return f"~{name}" if name.startswith("_") else name


def own_variables(layer):
    """A layer's own variables as Keras saves them: trainable first, then non-trainable."""
    own = layer._own_variables()
    return [v for v in own if v.trainable] + [v for v in own if not v.trainable]


def _children(layer):
    from gazelle.layers.layer import Layer
    from gazelle.models import Functional, Sequential
    if isinstance(layer, (Sequential, Functional)):
        yield "layers", model_config.layer_order(layer)
    for attr in sorted(vars(layer), key=_name_key):
        if attr in _SKIP_ATTRS:
            continue
        value = vars(layer)[attr]
        if isinstance(value, Layer) or (isinstance(value, (list, tuple, dict)) and value):
            yield attr, value


def _walk(root, path, visited, out):
    """Pre-order walk of layers and containers, without recursion (nesting depth is free)."""
    from gazelle.layers.layer import Layer
    stack = [(root, path)]
    while stack:
        obj, path = stack.pop()
        children = []
        if isinstance(obj, Layer):
            if id(obj) in visited:
                continue
            visited.add(id(obj))
            out.append((path, obj, own_variables(obj)))
            children = [(child, f"{path}/{attr}" if path else attr)
                        for attr, child in _children(obj)]
        elif isinstance(obj, (list, tuple, dict)):
            used = {}
            for item in (obj.values() if isinstance(obj, dict) else obj):
                if isinstance(item, Layer):
                    base = keras_snake(type(item).__name__)
                elif isinstance(item, (list, tuple, dict)):
                    base = "container"
                else:
                    continue
                used[base] = used.get(base, -1) + 1
                name = base if used[base] == 0 else f"{base}_{used[base]}"
                children.append((item, f"{path}/{name}" if path else name))
        stack.extend(reversed(children))


def saveables(model, include_optimizer=True):
    """`(path, owner, variables)` for every object whose variables Keras 3 saves."""
    out = []
    _walk(model, "", set(), out)
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None and hasattr(optimizer, "variables"):
        out.append(("optimizer", optimizer, list(optimizer.variables)))
    return out


def write(h5file, model, include_optimizer=True):
    """Writes the model's (and optimizer's) variables into an open, empty h5py File."""
    for path, owner, variables in saveables(model, include_optimizer):
        group = h5file.create_group(f"{path}/vars" if path else "vars")
        group.attrs["name"] = owner.name
        for i, variable in enumerate(variables):
            group.create_dataset(str(i), data=np.asarray(variable.value))


# -- reading ---------------------------------------------------------------------------
def _child(parent, name, kind, filename):
    """`parent[name]` if it is a hard link to a `kind` (Group/Dataset), else None/ValueError."""
    if name not in parent:
        return None
    link = parent.get(name, getlink=True)
    if not isinstance(link, h5py.HardLink):
        raise ValueError(f"Cannot load '{filename}': the HDF5 file contains a "
                         f"{type(link).__name__} at '{parent.name}/{name}'; links that point "
                         "elsewhere are not followed.")
    item = parent[name]
    if not isinstance(item, kind):
        raise ValueError(f"Cannot load '{filename}': expected a {kind.__name__} at "
                         f"'{item.name}', found a {type(item).__name__}.")
    return item


def group_at(h5file, path, filename):
    """The group at `path` (`a/b/c`), following hard links only; None if absent."""
    group = h5file
    for part in [p for p in path.split("/") if p]:
        group = _child(group, part, h5py.Group, filename)
        if group is None:
            return None
    return group


def read_dataset(group, name, shape, filename, what):
    """Reads dataset `name` after checking it is a plain, local array of `shape`."""
    ds = _child(group, name, h5py.Dataset, filename)
    if ds is None:
        raise ValueError(f"Cannot load '{filename}': {what} has no dataset '{name}'.")
    if ds.external or ds.is_virtual:
        raise ValueError(f"Cannot load '{filename}': dataset '{ds.name}' stores its data "
                         "outside the file (external or virtual dataset).")
    if ds.dtype.kind not in "biuf":
        raise ValueError(f"Cannot load '{filename}': dataset '{ds.name}' has non-numeric "
                         f"dtype {ds.dtype}.")
    if tuple(ds.shape) != tuple(shape):
        raise ValueError(f"Cannot load '{filename}': {what} expects shape {tuple(shape)} for "
                         f"'{name}', but the file has shape {tuple(ds.shape)}.")
    return np.asarray(ds[()])


def _dataset_shape(group, name, filename):
    ds = _child(group, name, h5py.Dataset, filename)
    return None if ds is None else tuple(ds.shape)


def read_into(h5file, model, filename, skip_mismatch=False, include_optimizer=True):
    """Reads Keras 3-layout weights into the model; all checked before any is assigned.

    Returns the number of objects that were loaded.
    """
    assignments = []
    for path, owner, variables in saveables(model, include_optimizer=False):
        group = group_at(h5file, f"{path}/vars" if path else "vars", filename)
        keys = sorted(group.keys()) if group is not None else []
        what = f"layer '{owner.name}' (path '{path or '/'}')"
        problem = None
        if len(keys) != len(variables):
            problem = (f"{what} expected {len(variables)} variables, but received {len(keys)} "
                       f"variables during loading. Expected: {[v.name for v in variables]}")
        else:
            shapes = [_dataset_shape(group, str(i), filename) for i in range(len(variables))]
            bad = [(v.name, v.shape, s) for v, s in zip(variables, shapes) if s != v.shape]
            if bad:
                problem = f"{what}: shape mismatch (name, expected, in file): {bad}"
        if problem is not None:
            if skip_mismatch:
                warnings.warn(f"Skipping loading weights of {what}: {problem}", stacklevel=3)
                continue
            raise ValueError(f"Cannot load weights from '{filename}': {problem}.")
        for i, v in enumerate(variables):
            assignments.append((v, read_dataset(group, str(i), v.shape, filename, what)))
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None:
        assignments.extend(_optimizer_values(h5file, model, optimizer, filename))
    for variable, value in assignments:
        variable.assign(value)
    return len(assignments)


def _optimizer_values(h5file, model, optimizer, filename):
    group = group_at(h5file, "optimizer/vars", filename)
    if group is None:
        return []
    count = len(group.keys())
    if count != len(optimizer.variables) and not optimizer.built and model.built:
        optimizer.build(model.trainable_variables)
    variables = list(optimizer.variables)
    shapes = [_dataset_shape(group, str(i), filename) for i in range(len(variables))]
    if count != len(variables) or any(s != v.shape for s, v in zip(shapes, variables)):
        warnings.warn(f"Skipping variable loading for optimizer '{optimizer.name}', because it "
                      f"has {len(variables)} variables whereas the saved optimizer has {count} "
                      "variables.", stacklevel=4)
        return []
    what = f"optimizer '{optimizer.name}'"
    return [(v, read_dataset(group, str(i), v.shape, filename, what))
            for i, v in enumerate(variables)]
