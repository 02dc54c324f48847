"""Loads a model exported with `model.export(path, format="jax")`. [side, standalone]

The artifact is one zip file:

- `manifest.json`: format name and version, the inputs and outputs (name, shape with
  `null` for a dimension the program accepts at any size, dtype), the weights (name,
  shape, dtype) and the serialized programs (one with a symbolic batch dimension, or one
  per fixed batch size);
- `weights.npz`: the weights as plain arrays (read with `allow_pickle=False`);
- `program_*.stablehlo`: programs serialized by `jax.export`.

This module imports only the standard library, numpy and jax, so it can be copied next to
a server and loaded by its file path: running an exported model needs no gazelle code.
Everything in the file is data; anything unexpected (a truncated zip, wrong manifest
types, pickled arrays, sizes past the limits below) is a `ValueError`.
"""
import io
import json
import math
import os
import re
import zipfile

import numpy as np

FORMAT_NAME = "gazelle-jax-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WEIGHTS = "weights.npz"

MAX_MANIFEST_BYTES = 1 << 20            # 1 MiB of JSON
MAX_PROGRAM_BYTES = 1 << 30             # 1 GiB per serialized program
MAX_WEIGHTS_BYTES = 16 << 30            # 16 GiB of weights
MAX_MEMBERS = 256
MAX_RANK = 32
MAX_TENSORS = 100_000
DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64",
          "uint8", "uint16", "uint32", "uint64", "bool")
_MEMBER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")


def _fail(path, message):
    raise ValueError(f"Cannot load exported model {str(path)!r}: {message}")


def _read_member(path, archive, name, limit):
    try:
        info = archive.getinfo(name)
    except KeyError:
        _fail(path, f"the file has no {name!r} entry (not a gazelle jax export?).")
    if info.file_size > limit:
        _fail(path, f"entry {name!r} declares {info.file_size} bytes, more than the limit "
                    f"of {limit}.")
    try:
        with archive.open(info) as f:
            data = f.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as e:
        _fail(path, f"entry {name!r} is damaged ({e}).")
    if len(data) > limit:
        _fail(path, f"entry {name!r} is larger than the limit of {limit} bytes.")
    return data


def _check_spec(path, where, entry, allow_none):
    if not isinstance(entry, dict):
        _fail(path, f"{where} must be an object, received {type(entry).__name__}.")
    name, shape, dtype = entry.get("name"), entry.get("shape"), entry.get("dtype")
    if not isinstance(name, str) or not 0 < len(name) <= 256:
        _fail(path, f"{where}.name must be a non-empty string, received {name!r}.")
    if not isinstance(shape, list) or len(shape) > MAX_RANK:
        _fail(path, f"{where}.shape must be a list of at most {MAX_RANK} dimensions, "
                    f"received {shape!r}.")
    for d in shape:
        ok = (d is None and allow_none) or (
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2 ** 40)
        if not ok:
            _fail(path, f"{where}.shape has an invalid dimension {d!r} "
                        f"({'int or null' if allow_none else 'int'} expected).")
    if dtype not in DTYPES:
        _fail(path, f"{where}.dtype must be one of {DTYPES}, received {dtype!r}.")
    return name, tuple(shape), dtype


def _parse_manifest(path, raw):
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        _fail(path, f"manifest.json is not valid JSON ({e}).")
    if not isinstance(manifest, dict):
        _fail(path, "manifest.json must hold a JSON object.")
    if manifest.get("format") != FORMAT_NAME:
        _fail(path, f"manifest format must be {FORMAT_NAME!r}, received "
                    f"{manifest.get('format')!r}.")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        _fail(path, f"unsupported format_version {version!r} (this loader reads "
                    f"{FORMAT_VERSION}).")
    parsed = {}
    for key, allow_none in (("inputs", True), ("outputs", True), ("weights", False)):
        entries = manifest.get(key)
        if not isinstance(entries, list) or len(entries) > MAX_TENSORS or (
                key != "weights" and not entries):
            _fail(path, f"manifest {key!r} must be a list"
                        f"{'' if key == 'weights' else ' (non-empty)'}, received "
                        f"{type(entries).__name__}.")
        parsed[key] = [_check_spec(path, f"{key}[{i}]", e, allow_none)
                       for i, e in enumerate(entries)]
    declared = sum(math.prod(s) * np.dtype(d).itemsize
                   for _, s, d in parsed["weights"])
    if declared > MAX_WEIGHTS_BYTES:
        _fail(path, f"the weights declare {declared} bytes, more than the limit of "
                    f"{MAX_WEIGHTS_BYTES}.")
    names = [n for n, _, _ in parsed["inputs"]]
    if len(set(names)) != len(names):
        _fail(path, f"input names must be unique, received {names}.")
    max_batch = manifest.get("max_batch_size")
    if max_batch is not None and (not isinstance(max_batch, int) or isinstance(max_batch, bool)
                                  or max_batch <= 0):
        _fail(path, f"max_batch_size must be a positive int or null, received {max_batch!r}.")
    parsed["max_batch_size"] = max_batch
    programs = manifest.get("programs")
    if not isinstance(programs, list) or not 0 < len(programs) <= 64:
        _fail(path, "manifest 'programs' must be a non-empty list.")
    parsed["programs"] = []
    for i, p in enumerate(programs):
        if not isinstance(p, dict):
            _fail(path, f"programs[{i}] must be an object.")
        file, batch = p.get("file"), p.get("batch_size")
        if not isinstance(file, str) or not _MEMBER_NAME.match(file) or file in (
                MANIFEST, WEIGHTS):
            _fail(path, f"programs[{i}].file must be a plain file name, received {file!r}.")
        if batch is not None and (not isinstance(batch, int) or isinstance(batch, bool)
                                  or batch <= 0):
            _fail(path, f"programs[{i}].batch_size must be a positive int or null, "
                        f"received {batch!r}.")
        parsed["programs"].append((file, batch))
    return parsed


def _npy_header(path, name, data):
    """(shape, dtype) from an .npy header, read before any array memory is taken."""
    stream = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(stream)
        reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                  else np.lib.format.read_array_header_2_0)
        shape, _, dtype = reader(stream)
    except (ValueError, TypeError, SyntaxError, EOFError) as e:
        _fail(path, f"weight {name!r} has no valid .npy header ({e}).")
    return shape, dtype


def _load_weights(path, raw, specs):
    try:
        members = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        _fail(path, f"weights.npz is not a readable .npz archive ({e}).")
    values = []
    with members:
        entries = members.namelist()
        if len(entries) != len(specs):
            _fail(path, f"weights.npz holds {len(entries)} arrays, the manifest declares "
                        f"{len(specs)}.")
        for i, (name, shape, dtype) in enumerate(specs):
            nbytes = math.prod(shape) * np.dtype(dtype).itemsize
            data = _read_member(path, members, f"w{i}.npy", nbytes + 65536)
            found_shape, found_dtype = _npy_header(path, name, data)
            if found_dtype.hasobject:
                _fail(path, f"weight {name!r} holds Python objects (pickled data), not a "
                            "plain array; refusing to load it.")
            if found_dtype.name != dtype or tuple(found_shape) != shape:
                _fail(path, f"weight {name!r} is stored as {tuple(found_shape)} "
                            f"{found_dtype.name}; the manifest declares {shape} {dtype}.")
            try:
                value = np.load(io.BytesIO(data), allow_pickle=False)
            except (ValueError, OSError, EOFError) as e:
                _fail(path, f"weight {name!r} cannot be read as a plain array ({e}).")
            values.append(value)
    return values


class ExportedModel:
    """A model loaded from a `format="jax"` export: call it on arrays to get predictions.

    Attributes:
        input_names, input_shapes, input_dtypes: the declared inputs (`None` marks a
            dimension of any size).
        output_names, output_shapes, output_dtypes: the declared outputs.
        batch_sizes: `None` when the program takes any batch size, else the sizes it takes.
        max_batch_size: the largest batch a symbolic-batch program takes (`None`: no limit).
    """

    def __init__(self, path, manifest, weights, programs):
        import jax
        self.path = str(path)
        self.input_names = [n for n, _, _ in manifest["inputs"]]
        self.input_shapes = [s for _, s, _ in manifest["inputs"]]
        self.input_dtypes = [d for _, _, d in manifest["inputs"]]
        self.output_names = [n for n, _, _ in manifest["outputs"]]
        self.output_shapes = [s for _, s, _ in manifest["outputs"]]
        self.output_dtypes = [d for _, _, d in manifest["outputs"]]
        self._weights = [jax.device_put(w) for w in weights]
        self._programs = {batch: jax.jit(exported.call) for batch, exported in programs}
        fixed = sorted(b for b in self._programs if b is not None)
        self.batch_sizes = None if None in self._programs else fixed
        self.max_batch_size = manifest["max_batch_size"]

    def __repr__(self):
        inputs = ", ".join(f"{n}: {s} {d}" for n, s, d in
                           zip(self.input_names, self.input_shapes, self.input_dtypes))
        return f"<ExportedModel {self.path!r} ({inputs})>"

    def _standardize(self, args, kwargs):
        n = len(self.input_names)
        if kwargs:
            if args:
                raise ValueError("Pass the inputs either by position or by name, not both.")
            args = (kwargs,)
        if len(args) == 1 and isinstance(args[0], dict):
            given = args[0]
            unknown = sorted(set(given) - set(self.input_names))
            missing = [k for k in self.input_names if k not in given]
            if unknown or missing:
                raise ValueError(f"Expected inputs named {self.input_names}; missing "
                                 f"{missing}, unexpected {unknown}.")
            return [given[k] for k in self.input_names]
        if len(args) == 1 and n > 1 and isinstance(args[0], (list, tuple)):
            args = tuple(args[0])
        if len(args) != n:
            raise ValueError(f"The exported model takes {n} input(s) {self.input_names}; "
                             f"received {len(args)}.")
        return list(args)

    def _check(self, name, shape, dtype, x):
        if isinstance(x, (list, tuple, int, float, bool)):
            x = np.asarray(x)
            kind = np.dtype(dtype).kind
            if x.dtype.kind not in ("b", "i", "u", "f") or (
                    x.dtype.kind == "f" and kind != "f"):
                raise ValueError(f"Input {name!r} expects dtype {dtype}; received values of "
                                 f"dtype {x.dtype}.")
            x = x.astype(dtype)
        elif not hasattr(x, "shape") or not hasattr(x, "dtype"):
            raise ValueError(f"Input {name!r} must be an array; received "
                             f"{type(x).__name__}.")
        got = str(x.dtype)
        if got != dtype:
            raise ValueError(f"Input {name!r} expects dtype {dtype}; received {got}.")
        if len(x.shape) != len(shape) or any(
                d is not None and d != g for d, g in zip(shape, x.shape)):
            raise ValueError(f"Input {name!r} expects shape {shape} (None: any size); "
                             f"received {tuple(x.shape)}.")
        return x

    def __call__(self, *args, **kwargs):
        """Runs the model; returns one numpy array, or a list for several outputs."""
        inputs = self._standardize(args, kwargs)
        inputs = [self._check(n, s, d, x) for n, s, d, x in
                  zip(self.input_names, self.input_shapes, self.input_dtypes, inputs)]
        batches = {int(x.shape[0]) for x, s in zip(inputs, self.input_shapes)
                   if s and s[0] is None}
        if len(batches) > 1:
            raise ValueError(f"All inputs must have the same batch size; received "
                             f"{sorted(batches)}.")
        batch = batches.pop() if batches else None
        if None in self._programs:
            if self.max_batch_size is not None and batch is not None and (
                    batch > self.max_batch_size):
                raise ValueError(f"This export takes batches of at most "
                                 f"{self.max_batch_size}; received {batch}. Split the batch.")
            program = self._programs[None]
        elif batch in self._programs:
            program = self._programs[batch]
        else:
            raise ValueError(f"This export was made for batch sizes {self.batch_sizes}; "
                             f"received a batch of {batch}. Re-export with "
                             "batch_sizes=None (any size) or include this size.")
        outputs = program(self._weights, *inputs)
        outputs = [np.asarray(o) for o in outputs]
        return outputs[0] if len(outputs) == 1 else outputs


def load_exported(path):
    """Loads a model saved by `model.export(path, format="jax")` and returns a callable.

    The callable runs the serialized StableHLO program with JAX alone (no model code);
    it accepts one array per declared input (positionally, as a list, or as a dict by
    input name) and refuses undeclared shapes or dtypes with a `ValueError`.

    Args:
        path: path of the exported file.

    ```python
    model.export("mlp.zip", format="jax")
    serve = keras.saving.load_exported("mlp.zip")
    probabilities = serve(np.zeros((4, 784), "float32"))
    ```
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ValueError(f"Cannot load exported model {path!r}: no such file.")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        _fail(path, f"not a readable zip file ({e}); is it truncated?")
    with archive:
        if len(archive.infolist()) > MAX_MEMBERS:
            _fail(path, f"more than {MAX_MEMBERS} entries.")
        manifest = _parse_manifest(path, _read_member(path, archive, MANIFEST,
                                                      MAX_MANIFEST_BYTES))
        weights = _load_weights(path, _read_member(path, archive, WEIGHTS, MAX_WEIGHTS_BYTES),
                                manifest["weights"])
        raw_programs = [(batch, _read_member(path, archive, file, MAX_PROGRAM_BYTES))
                        for file, batch in manifest["programs"]]
    from jax import export as jax_export
    programs = []
    n_in, n_w = len(manifest["inputs"]), len(manifest["weights"])
    for batch, raw in raw_programs:
        try:
            exported = jax_export.deserialize(bytearray(raw))
        except Exception as e:  # noqa: BLE001 - any decoding failure is a bad file
            _fail(path, f"a program cannot be deserialized ({type(e).__name__}: {e}).")
        if len(exported.in_avals) != n_w + n_in or len(exported.out_avals) != len(
                manifest["outputs"]):
            _fail(path, f"a program takes {len(exported.in_avals)} arrays and returns "
                        f"{len(exported.out_avals)}; the manifest declares {n_w} weights + "
                        f"{n_in} inputs and {len(manifest['outputs'])} outputs.")
        for (name, shape, dtype), aval in zip(manifest["weights"], exported.in_avals):
            if tuple(aval.shape) != shape or str(aval.dtype) != dtype:
                _fail(path, f"weight {name!r} is declared {shape} {dtype} but the program "
                            f"expects {aval.shape} {aval.dtype}.")
        programs.append((batch, exported))
    return ExportedModel(path, manifest, weights, programs)


__all__ = ["ExportedModel", "load_exported"]
