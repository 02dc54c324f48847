"""Fuzzing `load_model` with hostile variants of valid `.keras` and `.h5` files.

Every mutated file must load or end in a `ValueError`: no other exception type, no hang
(an alarm bounds each load), and no side effect. The base files carry hostile payloads
that would create a marker file if anything in them were run (a marshalled Lambda, an
`os.system` entry), and the loads run with a fresh working directory and temp directory
that must stay empty. Examples are derandomized (the same cases every run) and bounded in
number (1,000 in all). Integers drawn into configs include absurd sizes (10**9, 2**63):
the loader's weights budget (saving/limits.py) must refuse them before allocating.
"""
import base64
import contextlib
import copy
import io
import json
import marshal
import os
import signal
import tempfile
import warnings
import zipfile

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import gazelle as keras
from gazelle import saving

# Heavy (processes killed or spawned, many fuzz cases): CI's slow pass runs it.
pytestmark = pytest.mark.slow

LOAD_SECONDS = 20
# GAZELLE_FUZZ_SCALE=20 runs 20 times as many (random, not derandomized) cases, by hand.
SCALE = int(os.environ.get("GAZELLE_FUZZ_SCALE", "1"))
EXAMPLES = {"keras_bytes": 200, "keras_members": 200, "keras_json": 400, "h5": 200}
TRIED = {}


def fuzz_settings(name):
    return settings(max_examples=EXAMPLES[name] * SCALE, deadline=None, derandomize=SCALE == 1,
                    database=None, suppress_health_check=list(HealthCheck),
                    phases=[Phase.explicit, Phase.generate, Phase.shrink])


class World(dict):
    """The fixture's dict, with a short repr for hypothesis's failure reports."""

    def __repr__(self):
        return "<fuzz world>"


# -- the valid files and their payloads ------------------------------------------------

@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Base files (bytes), a marker path nothing may create, and clean dirs for loading."""
    root = tmp_path_factory.mktemp("fuzz")
    marker = root / "MARKER"
    sequential = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                                   keras.layers.Dropout(0.2), keras.layers.Dense(2)])
    sequential.compile(optimizer="adam", loss="mse", metrics=["mae"])
    sequential.optimizer.build(sequential.trainable_variables)
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(4)(inputs)
    functional = keras.Model(inputs, keras.layers.Dense(1)(
        keras.layers.concatenate([hidden, inputs])))
    functional.compile(optimizer="sgd", loss="mse")
    files = {}
    for name, model, ext in [("seq", sequential, ".keras"), ("fun", functional, ".keras"),
                             ("seq", sequential, ".h5")]:
        saving.save_model(model, root / f"{name}{ext}")
        files[name + ext] = (root / f"{name}{ext}").read_bytes()
    files["payload.keras"] = zip_members(with_payload(members(files["seq.keras"]), marker))
    files["payload.h5"] = h5_edit(files["seq.h5"], lambda f: f.attrs.__setitem__(
        "model_config", json.dumps(payload_config(
            json.loads(f.attrs["model_config"]), marker)).encode()))
    clean = root / "clean"
    clean.mkdir()
    return World(files=files, marker=marker, root=root, clean=clean)


def hostile_entries(marker):
    def payload(x):
        open(marker, "w").close()
        return x

    code = base64.b64encode(marshal.dumps(payload.__code__)).decode()
    lam = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
           "config": {"name": "lam", "trainable": True, "dtype": "float32", "arguments": {},
                      "function": {"class_name": "__lambda__",
                                   "config": {"code": code, "defaults": None,
                                              "closure": None}}}}
    system = {"module": "os", "class_name": "system", "registered_name": "system",
              "config": {"command": f"touch {marker}"}}
    return [lam, system]


def payload_config(config, marker):
    config["config"]["layers"].extend(hostile_entries(marker))
    return config


def with_payload(parts, marker):
    config = payload_config(json.loads(parts["config.json"]), marker)
    config["safe_mode"] = False
    return {**parts, "config.json": json.dumps(config).encode()}


def members(raw):
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def zip_members(parts, compression=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def h5_edit(raw, edit):
    buffer = io.BytesIO(raw)
    with h5py.File(buffer, "a") as f:
        edit(f)
    return buffer.getvalue()


# -- the oracle --------------------------------------------------------------------------

class Hang(BaseException):
    """Raised by the alarm; a BaseException so the loader cannot swallow it."""


@contextlib.contextmanager
def alarm(seconds):
    def ring(signum, frame):
        raise Hang(f"load_model ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def listing(directory):
    return sorted(os.listdir(directory))


def check_load(world, data, ext, kind):
    """Writes the case, loads it in a clean cwd/TMPDIR and checks the outcome."""
    TRIED[kind] = TRIED.get(kind, 0) + 1
    case_dir = world["root"] / "case"
    case_dir.mkdir(exist_ok=True)
    path = case_dir / f"case{ext}"
    path.write_bytes(data)
    clean, cwd, old_tmp = world["clean"], os.getcwd(), tempfile.tempdir
    before = listing(world["root"]), listing(clean)
    os.chdir(clean)
    tempfile.tempdir = str(clean)
    try:
        with alarm(LOAD_SECONDS), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            saving.load_model(path)
    except ValueError:
        pass
    except Exception as e:   # noqa: BLE001 - the point: name what escaped
        raise AssertionError(f"{kind}: load_model raised {type(e).__name__}: {e}") from e
    finally:
        os.chdir(cwd)
        tempfile.tempdir = old_tmp
    assert not world["marker"].exists(), f"{kind}: a payload ran"
    assert (listing(world["root"]), listing(clean)) == before, f"{kind}: files appeared"


# -- mutations ---------------------------------------------------------------------------

def byte_mutation(size):
    """A function bytes -> bytes: bit flips, truncation, insertion or deletion."""
    flips = st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, 7)),
                     min_size=1, max_size=8).map(lambda fl: ("flip", fl))
    cut = st.integers(0, size - 1).map(lambda n: ("cut", n))
    insert = st.tuples(st.integers(0, size), st.binary(min_size=1, max_size=64)).map(
        lambda t: ("insert", t))
    delete = st.tuples(st.integers(0, size - 1), st.integers(1, 64)).map(
        lambda t: ("delete", t))
    return st.one_of(flips, cut, insert, delete)


def apply_bytes(raw, mutation):
    kind, arg = mutation
    raw = bytearray(raw)
    if kind == "flip":
        for index, bit in arg:
            raw[index % len(raw)] ^= 1 << bit
    elif kind == "cut":
        raw = raw[:arg]
    elif kind == "insert":
        raw[arg[0]:arg[0]] = arg[1]
    else:
        del raw[arg[0]:arg[0] + arg[1]]
    return bytes(raw)


SMALL_INTS = st.integers(-5, 64) | st.sampled_from([10**6, 10**9, 10**12, 2**31, 2**63])
REGISTRY_NAMES = ["Dense", "Dropout", "Conv2D", "Lambda", "InputLayer", "Sequential",
                  "Functional", "Model", "Flatten", "Reshape", "Concatenate", "BatchNormalization",
                  "system", "eval", "__import__", "TFOpLambda", "__lambda__", "function"]
FIXED = [None, True, False, 0, -1, 1, 2, 0.5, -0.0, float("nan"), float("inf"), "", "relu",
         "x" * 5000, [], [None], [[[[]]]], {}, "../../../etc/passwd", "__import__('os')",
         "float64", "string", "int8", [None, 3], [None, -3], [0], {"class_name": "Dense"},
         {"module": "builtins", "class_name": "eval", "config": "1+1"}]


def json_values():
    leaves = (st.none() | st.booleans() | SMALL_INTS | st.floats(-1e6, 1e6)
              | st.text(max_size=12) | st.sampled_from(REGISTRY_NAMES))
    nested = st.recursive(leaves, lambda c: st.lists(c, max_size=3)
                          | st.dictionaries(st.text(max_size=8) | st.sampled_from(
                              ["class_name", "config", "module", "name", "units"]), c,
                              max_size=3), max_leaves=6)
    return st.sampled_from(FIXED) | nested


def json_paths(obj, path=()):
    yield path
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from json_paths(value, path + (key,))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            yield from json_paths(value, path + (i,))


def mutate_json(obj, data, marker):
    """Replaces, deletes or re-types a value somewhere in obj (a JSON tree), 1-3 times.

    Drawn values are copied: a later mutation may edit them in place."""
    for _ in range(data.draw(st.integers(1, 3))):
        paths = list(json_paths(obj))
        path = data.draw(st.sampled_from(paths))
        action = data.draw(st.sampled_from(["replace", "replace", "delete", "payload", "wrap"]))
        if not path:
            obj = copy.deepcopy(data.draw(json_values())) if action != "wrap" else [obj]
            continue
        *head, last = path
        parent = obj
        for key in head:
            parent = parent[key]
        if action == "delete":
            del parent[last]
        elif action == "payload":
            parent[last] = data.draw(st.sampled_from(hostile_entries(marker)))
        elif action == "wrap":
            parent[last] = data.draw(st.sampled_from(
                [[parent[last]], {"config": parent[last]}, str(parent[last]),
                 json.dumps(parent[last])]))
        else:
            parent[last] = copy.deepcopy(data.draw(json_values()))
    return obj


def keras_base(world, data):
    """One of the valid archives; the one with payloads (refused early) one time in five."""
    names = ["seq.keras", "seq.keras", "fun.keras", "fun.keras", "payload.keras"]
    return world["files"][data.draw(st.sampled_from(names))]


# -- the fuzz tests ----------------------------------------------------------------------

def test_base_files_load_and_payloads_are_refused(world):
    for name in ("seq.keras", "fun.keras", "seq.h5"):
        path = world["root"] / name
        assert saving.load_model(path).count_params() > 0
    for name in ("payload.keras", "payload.h5"):
        path = world["root"] / name
        path.write_bytes(world["files"][name])
        with pytest.raises(ValueError):
            saving.load_model(path)
    assert not world["marker"].exists()


@fuzz_settings("keras_bytes")
@given(data=st.data())
def test_fuzz_keras_file_bytes(world, data):
    raw = keras_base(world, data)
    check_load(world, apply_bytes(raw, data.draw(byte_mutation(len(raw)))), ".keras",
               "keras_bytes")


@fuzz_settings("keras_members")
@given(data=st.data())
def test_fuzz_keras_members(world, data):
    parts = members(keras_base(world, data))
    names = list(parts)
    action = data.draw(st.sampled_from(["bytes", "bytes", "swap", "rename", "drop", "extra",
                                        "deflate", "deep"]))
    if action == "bytes":
        name = data.draw(st.sampled_from(names))
        parts[name] = apply_bytes(parts[name], data.draw(byte_mutation(len(parts[name]))))
    elif action == "swap":
        a, b = data.draw(st.permutations(names))[:2]
        parts[a], parts[b] = parts[b], parts[a]
    elif action == "rename":
        name = data.draw(st.sampled_from(names))
        new = data.draw(st.sampled_from(["config.JSON", "x/config.json", "model.weights.h5",
                                         "assets/", "metadata.json", "../config.json"]))
        parts[new] = parts.pop(name)
    elif action == "drop":
        del parts[data.draw(st.sampled_from(names))]
    elif action == "extra":
        parts[data.draw(st.sampled_from(["assets/x", "variables.h5", "config.json.bak"]))] = \
            data.draw(st.binary(max_size=64))
    elif action == "deep":
        depth = data.draw(st.sampled_from([100, 5000, 200000]))
        parts["config.json"] = b"[" * depth + b"]" * depth
    compression = zipfile.ZIP_DEFLATED if action == "deflate" else zipfile.ZIP_STORED
    check_load(world, zip_members(parts, compression), ".keras", "keras_members")


@fuzz_settings("keras_json")
@given(data=st.data())
def test_fuzz_keras_json_values(world, data):
    parts = members(keras_base(world, data))
    name = data.draw(st.sampled_from(["config.json"] * 4 + ["metadata.json"]))
    obj = mutate_json(json.loads(parts[name]), data, world["marker"])
    parts[name] = json.dumps(obj).encode()
    check_load(world, zip_members(parts), ".keras", "keras_json")


@fuzz_settings("h5")
@given(data=st.data())
def test_fuzz_h5_file(world, data):
    raw = world["files"][data.draw(st.sampled_from(["seq.h5", "payload.h5"]))]
    action = data.draw(st.sampled_from(["bytes", "bytes", "config", "training", "dataset",
                                        "drop"]))
    if action == "bytes":
        mutated = apply_bytes(raw, data.draw(byte_mutation(len(raw))))
    elif action in ("config", "training"):
        key = "model_config" if action == "config" else "training_config"

        def edit(f):
            obj = mutate_json(json.loads(f.attrs[key]), data, world["marker"])
            f.attrs[key] = json.dumps(obj).encode()

        mutated = h5_edit(raw, edit)
    else:
        def edit(f):
            datasets = []
            f.visititems(lambda n, o: datasets.append(n) if isinstance(o, h5py.Dataset)
                         else None)
            target = data.draw(st.sampled_from(sorted(datasets)))
            if action == "drop":
                del f[data.draw(st.sampled_from([target, target.rsplit("/", 1)[0]]))]
                return
            del f[target]
            shape = tuple(data.draw(st.lists(st.integers(0, 5), max_size=3)))
            dtype = data.draw(st.sampled_from(["float32", "float64", "int8", "bool"]))
            if data.draw(st.booleans()):
                f[target] = np.zeros(shape, dtype)
            else:
                f[target] = np.array(["not a number"] * max(1, int(np.prod(shape))),
                                     dtype=h5py.string_dtype())

        mutated = h5_edit(raw, edit)
    check_load(world, mutated, ".h5", "h5")


def test_zz_report_count():
    """Prints how many hostile files were tried (run with -s to see it)."""
    total = sum(TRIED.values())
    print(f"\nfuzz: {total} hostile files tried {TRIED}")
    assert total == 0 or total >= sum(EXAMPLES.values()) // 2
