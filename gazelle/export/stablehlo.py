"""`model.export(path, format="jax")`: serialized StableHLO plus plain weights. [top]

The model runs as a pure function of (weights, inputs) under `jax.jit`; `jax.export`
serializes that program with a symbolic batch dimension (or once per fixed batch size),
and the weights travel beside it as an `.npz` in the same zip, with a JSON manifest.
`gazelle.saving.load_exported` reads it back with JAX alone.
"""
import io
import json
import os
import tempfile
import zipfile

import numpy as np

from gazelle.saving import exported as loader


class InputInfo:
    """One model input as the exporters see it: name, shape (`None` = any size), dtype."""

    def __init__(self, name, shape, dtype):
        self.name, self.shape, self.dtype = name, tuple(shape), str(np.dtype(dtype))

    def __repr__(self):
        return f"InputInfo({self.name!r}, {self.shape}, {self.dtype})"


def _spec_of(item, name):
    shape = getattr(item, "shape", None)
    dtype = getattr(item, "dtype", None) or "float32"
    if shape is None:
        raise ValueError(f"input_signature: each entry needs a `shape` (and a `dtype`), e.g. "
                         f"keras.Input(shape=(784,)); received {item!r}.")
    shape = tuple(None if d is None else int(d) for d in shape)
    return InputInfo(getattr(item, "name", None) or name, shape, np.dtype(str(dtype)).name)


def model_inputs(model, input_signature=None):
    """The inputs of `model` (from `input_signature` when given) as `InputInfo`s."""
    if not getattr(model, "built", False):
        raise ValueError(f"Model '{model.name}' is not built yet: call it on data, call "
                         "build(input_shape) or give it an Input before exporting.")
    defaults = []
    if hasattr(model, "_input_tensors"):            # Functional
        defaults = [InputInfo(t.node.layer.name, t.shape, t.dtype or "float32")
                    for t in model._input_tensors]
    elif getattr(model, "_input_layer", None) is not None:      # Sequential
        layer = model._input_layer
        defaults = [InputInfo(layer.name, layer._batch_input_shape,
                              getattr(layer, "_dtype", None) or "float32")]
    elif getattr(model, "_build_shapes", None):
        defaults = [InputInfo(f"input_{i}", s, "float32")
                    for i, s in enumerate(model._build_shapes)]
    if input_signature is None:
        if not defaults:
            raise ValueError(f"Model '{model.name}': cannot tell its input shapes; pass "
                             "input_signature=[keras.Input(shape=..., dtype=...)].")
        return defaults
    if isinstance(input_signature, dict):
        names = [d.name for d in defaults] or list(input_signature)
        missing = [n for n in names if n not in input_signature]
        if missing:
            raise ValueError(f"input_signature: missing inputs {missing} (model inputs: "
                             f"{names}).")
        items = [(input_signature[n], n) for n in names]
    else:
        sig = list(input_signature) if isinstance(input_signature, (list, tuple)) and (
            not input_signature or hasattr(input_signature[0], "shape")) else [input_signature]
        if defaults and len(sig) != len(defaults):
            raise ValueError(f"input_signature has {len(sig)} entries; model "
                             f"'{model.name}' takes {len(defaults)} inputs.")
        items = [(s, defaults[i].name if defaults else f"input_{i}")
                 for i, s in enumerate(sig)]
    infos = [_spec_of(s, n) for s, n in items]
    for d, info in zip(defaults, infos):
        info.name = d.name
    return infos


def model_output_names(model, count):
    if hasattr(model, "_output_tensors"):
        names = list(model.output_names)
    elif hasattr(model, "_stack") and model._stack:
        names = [model._stack[-1].name]
    else:
        names = [f"output_{i}" for i in range(count)]
    if len(names) != count:
        names = [f"output_{i}" for i in range(count)]
    seen, unique = {}, []
    for n in names:
        seen[n] = seen.get(n, -1) + 1
        unique.append(n if seen[n] == 0 else f"{n}_{seen[n]}")
    return unique


def _pure_function(model, n_trainable):
    import jax

    def run(weights, *inputs):
        x = inputs[0] if len(inputs) == 1 else list(inputs)
        out, _ = model.stateless_call(weights[:n_trainable], weights[n_trainable:], x,
                                      training=False)
        return tuple(jax.tree_util.tree_leaves(out))
    return run


def _export_program(model, infos, weights, n_trainable, batch, max_batch=None):
    import jax
    from jax import export as jax_export
    names = []
    for i, info in enumerate(infos):
        for j, d in enumerate(info.shape):
            if d is None and not (j == 0 and batch is None) and not (j == 0 and batch):
                names.append(f"d{i}_{j}")
    constraints = () if max_batch is None else (f"b <= {max_batch}",)
    dims = iter(jax_export.symbolic_shape(", ".join(["b"] + names), constraints=constraints))
    b = next(dims)
    specs = []
    for info in infos:
        shape = []
        for j, d in enumerate(info.shape):
            if d is not None:
                shape.append(d)
            elif j == 0:
                shape.append(b if batch is None else batch)
            else:
                shape.append(next(dims))
        specs.append(jax.ShapeDtypeStruct(tuple(shape), info.dtype))
    w_specs = [jax.ShapeDtypeStruct(w.shape, w.dtype) for w in weights]
    fn = jax.jit(_pure_function(model, n_trainable))
    try:
        exported = jax_export.export(fn, platforms=("cpu", "cuda"))(w_specs, *specs)
    except Exception:  # noqa: BLE001 - retry for the current platform only
        exported = jax_export.export(fn)(w_specs, *specs)
    return exported


# When a layer picks its computation from the batch size (CPU convolutions choose between
# a patch matrix and XLA's convolution by size), a fully symbolic batch dimension makes
# that choice undecidable; a bounded one decides it. The bound is the largest that works.
_BATCH_BOUNDS = (None, 65536, 8192, 1024, 256, 64)


def _export_symbolic(model, infos, weights, n_trainable):
    """Returns (exported program, largest batch it takes or None)."""
    for bound in _BATCH_BOUNDS:
        try:
            return _export_program(model, infos, weights, n_trainable, None, bound), bound
        except Exception as e:  # noqa: BLE001 - jax's InconclusiveDimensionOperation
            if type(e).__name__ != "InconclusiveDimensionOperation" or (
                    bound == _BATCH_BOUNDS[-1]):
                raise


def export_jax(model, filepath, input_signature=None, verbose=True, batch_sizes=None):
    """Writes `model` as serialized StableHLO + weights (see module docstring)."""
    infos = model_inputs(model, input_signature)
    trainable = list(model.trainable_variables)
    variables = trainable + list(model.non_trainable_variables)
    weights = [np.asarray(v.value) for v in variables]
    if batch_sizes is not None:
        sizes = [batch_sizes] if isinstance(batch_sizes, int) else list(batch_sizes)
        if not sizes or any(not isinstance(s, int) or isinstance(s, bool) or s <= 0
                            for s in sizes):
            raise ValueError(f"batch_sizes must be None (any batch size) or positive ints; "
                             f"received {batch_sizes!r}.")
        sizes = sorted(set(sizes))
    else:
        sizes = [None]
    programs, max_batch = [], None
    for size in sizes:
        try:
            if size is None:
                program, max_batch = _export_symbolic(model, infos, weights, len(trainable))
            else:
                program = _export_program(model, infos, weights, len(trainable), size)
            programs.append((size, program))
        except Exception as e:  # noqa: BLE001
            hint = ("pass batch_sizes=[...] to export fixed batch sizes, or "
                    if size is None else "")
            raise ValueError(
                f"Model '{model.name}' could not be exported to StableHLO with "
                f"{'a symbolic batch dimension' if size is None else f'batch size {size}'} "
                f"({type(e).__name__}: {e}); {hint}try format='onnx'.") from e
    first = programs[0][1]
    n_out = len(first.out_avals)
    out_names = model_output_names(model, n_out)
    outputs = []
    for name, aval in zip(out_names, first.out_avals):
        shape = [d if isinstance(d, int) else None for d in aval.shape]
        if batch_sizes is not None and shape:
            shape[0] = None
        outputs.append({"name": name, "shape": shape, "dtype": str(aval.dtype)})
    manifest = {
        "format": loader.FORMAT_NAME, "format_version": loader.FORMAT_VERSION,
        "model_name": model.name,
        "inputs": [{"name": i.name, "shape": list(i.shape), "dtype": i.dtype} for i in infos],
        "outputs": outputs,
        "weights": [{"name": v.path if hasattr(v, "path") else v.name,
                     "shape": list(w.shape), "dtype": str(w.dtype)}
                    for v, w in zip(variables, weights)],
        "max_batch_size": max_batch,
        "programs": [{"file": f"program_{'any' if s is None else s}.stablehlo",
                      "batch_size": s} for s, _ in programs],
    }
    buffer = io.BytesIO()
    np.savez(buffer, **{f"w{i}": w for i, w in enumerate(weights)})
    filepath = os.fspath(filepath)
    folder = os.path.dirname(os.path.abspath(filepath))
    fd, tmp = tempfile.mkstemp(prefix=".export-", dir=folder)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as z:
            z.writestr(loader.MANIFEST, json.dumps(manifest, indent=1))
            z.writestr(loader.WEIGHTS, buffer.getvalue())
            for entry, (_, program) in zip(manifest["programs"], programs):
                z.writestr(entry["file"], bytes(program.serialize()))
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    if verbose:
        batch = ("any batch size" if max_batch is None else f"batch sizes up to {max_batch}"
                 ) if batch_sizes is None else f"batch sizes {sizes}"
        print(f"Saved StableHLO artifact at '{filepath}' ({batch}). Load it with "
              "gazelle.saving.load_exported(path); it needs only JAX to run.")
    return filepath
