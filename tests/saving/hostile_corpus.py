"""A corpus of hostile model files and inputs, by class, and a runner that loads each in a
fresh process and reports: outcome, peak memory growth, time.

`python tests/saving/hostile_corpus.py DIR` writes the corpus to DIR and prints the table
(the closing note's figures); tests/saving/test_loader_limits.py runs the same corpus and
asserts on it: every case ends in a ValueError, under 256 MB of extra memory, under 10 s.
"""
import io
import json
import os
import resource
import subprocess
import sys
import time
import zipfile

MEMORY_LIMIT_MB = 256
TIME_LIMIT_S = 10.0


def _dense(name, units, **extra):
    return {"module": "keras.layers", "class_name": "Dense", "registered_name": None,
            "config": {"name": name, "units": units, **extra}}


def _layer(class_name, name, **config):
    return {"module": "keras.layers", "class_name": class_name, "registered_name": None,
            "config": {"name": name, **config}}


def _input(shape):
    return _layer("InputLayer", "in", batch_shape=[None, *shape], dtype="float32")


def _sequential(layers, shape=(3,)):
    return {"module": "keras", "class_name": "Sequential", "registered_name": None,
            "config": {"name": "seq", "layers": [_input(shape)] + layers}}


def _functional(**changes):
    ref = {"class_name": "__keras_tensor__", "config": {"shape": [None, 3], "dtype": "float32",
                                                        "keras_history": ["in", 0, 0]}}
    layers = [{**_input((3,)), "name": "in", "inbound_nodes": []},
              {**_dense("d", 2), "name": "d", "inbound_nodes": [{"args": [ref], "kwargs": {}}]}]
    config = {"name": "f", "layers": layers, "input_layers": [["in", 0, 0]],
              "output_layers": [["d", 0, 0]]}
    config.update(changes)
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "registered_name": None, "config": config}


def _weights_bytes(model_config):
    """A valid model.weights.h5 for a small Sequential Dense(2) on 3 inputs."""
    import h5py
    import numpy as np
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        g = f.create_group("layers/dense/vars")
        g["0"] = np.zeros((3, 2), "float32")
        g["1"] = np.zeros((2,), "float32")
        f.create_group("optimizer/vars")
    return buffer.getvalue()


def _archive(path, config, weights=b"", extra=(), compression=zipfile.ZIP_STORED,
             weights_member=True):
    with zipfile.ZipFile(path, "w", compression) as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", config if isinstance(config, str) else json.dumps(config))
        if weights_member:
            archive.writestr("model.weights.h5", weights or _weights_bytes(config))
        for name, data in extra:
            archive.writestr(name, data)


def _legacy_h5(path, config):
    import h5py
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config).encode()
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        f.create_group("model_weights").attrs["layer_names"] = []


def _deep(levels):
    return "[" * levels + "]" * levels


def build(directory):
    """Writes the corpus; returns [(class, case, kind, path)] (kind: how it is loaded)."""
    os.makedirs(directory, exist_ok=True)
    cases = []

    def add(klass, case, kind, name, maker, *args, **kwargs):
        path = os.path.join(directory, name)
        maker(path, *args, **kwargs)
        cases.append((klass, case, kind, path))

    def text(path, value):
        with open(path, "w") as f:
            f.write(value if isinstance(value, str) else json.dumps(value))

    # sizes: configs that ask for absurd weights
    conv = _layer("Conv2D", "c", filters=2**20, kernel_size=[3, 3])
    sizes = {
        "Dense units=10**9": _sequential([_dense("d", 10**9)]),
        "Dense units=10**12": _sequential([_dense("d", 10**12)]),
        "Embedding input_dim=10**10": _sequential([_layer("Embedding", "e", input_dim=10**10,
                                                          output_dim=8)], shape=(4,)),
        "Conv2D filters=2**20": _sequential([conv], shape=(8, 8, 64)),
        "Dense 8 x 300M (each under, total over)": _sequential(
            [_dense(f"d{i}", 25 * 10**6) for i in range(8)], shape=(3,)),
    }
    for i, (case, config) in enumerate(sizes.items()):
        add("sizes", case + " (.keras)", "load_model", f"size{i}.keras", _archive, config)
    add("sizes", "Dense units=10**9 (legacy .h5)", "load_model", "size.h5", _legacy_h5,
        sizes["Dense units=10**9"])
    add("sizes", "Embedding input_dim=10**10 (legacy .h5)", "load_model", "emb.h5", _legacy_h5,
        sizes["Embedding input_dim=10**10"])
    add("sizes", "Dense units=10**9 (model_from_json)", "model_from_json", "size.json", text,
        sizes["Dense units=10**9"])
    add("sizes", "Conv2D filters=2**20 (model_from_json)", "model_from_json", "conv.json", text,
        sizes["Conv2D filters=2**20"])

    # inflation: a weights member that deflates far but stays within the 100:1 ratio check
    small = _sequential([_dense("dense", 2)])
    zeros = bytes(256 * 2**20)
    noise = os.urandom(3 * 2**20)
    add("inflation", "weights member 256 MiB, deflated ~85:1", "load_model", "inflate.keras",
        _archive, small, weights=noise + zeros, compression=zipfile.ZIP_DEFLATED)
    add("inflation", "weights member 256 MiB (load_weights)", "load_weights", "inflate2.keras",
        _archive, small, weights=noise + zeros, compression=zipfile.ZIP_DEFLATED)

    # depth
    add("depth", "JSON nested 100,000 deep (model_from_json)", "model_from_json", "deep.json",
        text, _deep(100000))
    add("depth", "config.json nested 100,000 deep (.keras)", "load_model", "deep.keras", _archive,
        _deep(100000))
    deep_cfg = _sequential([_dense("d", 2, kernel_initializer=json.loads(_deep(500)))])
    add("depth", "config nested 500 deep (.keras)", "load_model", "deep500.keras", _archive,
        deep_cfg)
    add("depth", "model_config nested 100,000 deep (legacy .h5)", "load_model", "deep.h5",
        _legacy_h5, {"class_name": "Sequential", "config": {"layers": json.loads(_deep(900))}})
    add("depth", "config nested 500 deep (model_from_config)", "model_from_config",
        "deep500.json", text, deep_cfg)

    # missing members
    add("missing", "no model.weights.h5", "load_model", "noweights.keras", _archive, small,
        weights_member=False)
    with zipfile.ZipFile(os.path.join(directory, "noconfig.keras"), "w") as archive:
        archive.writestr("model.weights.h5", _weights_bytes(small))
    cases.append(("missing", "no config.json", "load_model",
                  os.path.join(directory, "noconfig.keras")))

    # wrong types
    types = {
        'units "4"': _sequential([_dense("dense", "4")]),
        "units 2.5": _sequential([_dense("dense", 2.5)]),
        "units true": _sequential([_dense("dense", True)]),
        '"layers": 5': {"class_name": "Sequential", "config": {"name": "s", "layers": 5}},
        "output_layers []": _functional(output_layers=[]),
        "input_layers {}": _functional(input_layers={}),
        '"inbound_nodes": 7': _functional(layers=[
            {**_input((3,)), "name": "in", "inbound_nodes": []},
            {**_dense("d", 2), "name": "d", "inbound_nodes": 7}]),
        "keras_history points nowhere": _functional(output_layers=[["d", 5, 9]]),
        'batch_shape ["a"]': _sequential([_dense("dense", 2)], shape=("a",)),
        'Reshape target_shape ["4"]': _sequential([_layer("Reshape", "r", target_shape=["4"])]),
        "class_name 12": {"class_name": 12, "config": {}},
    }
    for i, (case, config) in enumerate(types.items()):
        add("types", case, "load_model", f"type{i}.keras", _archive, config)
    add("types", '"layers": 5 (model_from_json)', "model_from_json", "types.json", text,
        types['"layers": 5'])
    return cases


CHILD = r"""
import json, os, resource, sys, time, warnings
warnings.simplefilter("ignore")
sys.setrecursionlimit(10000)
import gazelle as keras
small = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
small.predict(__import__("numpy").zeros((1, 3)), verbose=0)
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
results = []
for kind, path in json.loads(sys.argv[1]):
    base, start = peak(), time.time()
    try:
        if kind == "load_model":
            keras.models.load_model(path)
        elif kind == "load_weights":
            small.load_weights(path)
        elif kind == "model_from_json":
            keras.models.model_from_json(open(path).read())
        else:
            keras.models.model_from_config(json.load(open(path)))
        outcome, message = "loaded", ""
    except BaseException as e:
        outcome, message = type(e).__name__, str(e)[:300]
    results.append([outcome, message, time.time() - start, peak() - base])
print(json.dumps(results))
"""


def run(cases):
    """Loads each case in one fresh process; returns [(class, case, outcome, msg, s, MB)]."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu")}
    argument = json.dumps([[kind, path] for _, _, kind, path in cases])
    done = subprocess.run([sys.executable, "-c", CHILD, argument], capture_output=True,
                          text=True, env=env, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"corpus runner failed ({done.returncode}): {done.stderr[-2000:]}")
    results = json.loads(done.stdout.strip().splitlines()[-1])
    return [(klass, case, *result) for (klass, case, _, _), result in zip(cases, results)]


def table(rows):
    lines = ["| class | case | outcome | peak memory growth | time |", "|---|---|---|---|---|"]
    for klass, case, outcome, _, seconds, megabytes in rows:
        lines.append(f"| {klass} | {case} | {outcome} | {megabytes:.0f} MB | {seconds:.2f} s |")
    return "\n".join(lines)


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "/tmp/gazelle-hostile-corpus"
    built = build(target)
    started = time.time()
    print(table(run(built)))
    print(f"\n{len(built)} cases, {time.time() - started:.1f} s in all "
          f"(peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB)")
