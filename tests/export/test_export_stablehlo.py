"""model.export(format="jax") and saving.load_exported: StableHLO + plain weights."""
import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import gazelle as keras
from gazelle.saving import exported as loader_module
from gazelle.saving import load_exported

from _export_models import FAMILIES, inputs_for, predict

L = keras.layers


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_jax_export_matches_predict_at_two_batch_sizes(family, tmp_path):
    model = FAMILIES[family]()
    path = tmp_path / f"{family}.zip"
    model.export(path, format="jax", verbose=False)
    serve = load_exported(path)
    assert serve.batch_sizes is None
    assert all(s[0] is None for s in serve.input_shapes)
    for batch in (1, 7):
        xs = inputs_for(model, batch, seed=batch)
        np.testing.assert_allclose(serve(*xs), predict(model, xs), rtol=1e-5, atol=1e-5)


def test_manifest_and_weights_are_plain_data(tmp_path):
    model = FAMILIES["two_inputs"]()
    model.export(tmp_path / "m.zip", format="jax", verbose=False)
    with zipfile.ZipFile(tmp_path / "m.zip") as z:
        manifest = json.loads(z.read("manifest.json"))
        weights = np.load(io.BytesIO(z.read("weights.npz")), allow_pickle=False)
        assert len(weights.files) == len(model.weights)
        for i, w in enumerate(model.weights):
            np.testing.assert_array_equal(weights[f"w{i}"], np.asarray(w))
    assert manifest["format_version"] == 1
    assert [i["name"] for i in manifest["inputs"]] == ["numbers", "extra"]
    assert manifest["inputs"][0] == {"name": "numbers", "shape": [None, 6], "dtype": "float32"}
    assert manifest["outputs"] == [{"name": "probs", "shape": [None, 3], "dtype": "float32"}]


def test_inputs_by_name_and_as_a_list(tmp_path):
    model = FAMILIES["two_inputs"]()
    model.export(tmp_path / "m.zip", format="jax", verbose=False)
    serve = load_exported(tmp_path / "m.zip")
    a, b = inputs_for(model, 3)
    expected = predict(model, [a, b])
    np.testing.assert_allclose(serve({"numbers": a, "extra": b}), expected, atol=1e-6)
    np.testing.assert_allclose(serve([a, b]), expected, atol=1e-6)
    np.testing.assert_allclose(serve(numbers=a, extra=b), expected, atol=1e-6)


def test_reloads_in_a_fresh_process_without_gazelle(tmp_path):
    model = FAMILIES["cnn"]()
    model.export(tmp_path / "cnn.zip", format="jax", verbose=False)
    x = inputs_for(model, 7)[0]
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "expected.npy", predict(model, [x]))
    child = textwrap.dedent(f"""
        import importlib.util, sys
        import numpy as np
        spec = importlib.util.spec_from_file_location("exported_loader",
                                                      {loader_module.__file__!r})
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        serve = mod.load_exported({str(tmp_path / "cnn.zip")!r})
        out = serve(np.load({str(tmp_path / "x.npy")!r}))
        np.testing.assert_allclose(out, np.load({str(tmp_path / "expected.npy")!r}),
                                   rtol=1e-5, atol=1e-5)
        loaded = sorted(m for m in sys.modules if m == "gazelle" or m.startswith("gazelle."))
        assert not loaded, loaded
        assert "keras" not in sys.modules
        print("CHILD-OK", out.shape)
    """)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["JAX_PLATFORMS"] = "cpu"
    result = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                            cwd=str(tmp_path), env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "CHILD-OK (7, 5)" in result.stdout


def test_fixed_batch_sizes(tmp_path):
    model = FAMILIES["mlp"]()
    model.export(tmp_path / "m.zip", format="jax", verbose=False, batch_sizes=[1, 4])
    serve = load_exported(tmp_path / "m.zip")
    assert serve.batch_sizes == [1, 4]
    for batch in (1, 4):
        xs = inputs_for(model, batch)
        np.testing.assert_allclose(serve(xs[0]), predict(model, xs), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=r"batch sizes \[1, 4\].*batch of 3"):
        serve(inputs_for(model, 3)[0])
    with pytest.raises(ValueError, match="batch_sizes"):
        model.export(tmp_path / "n.zip", format="jax", batch_sizes=[0])


def test_subclassed_model_exports_to_jax(tmp_path):
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = L.Dense(2, activation="relu")

        def call(self, x):
            return self.d(x) * 2.0

    net = Net()
    x = np.random.default_rng(0).standard_normal((5, 3)).astype("float32")
    net(x)
    net.export(tmp_path / "net.zip", format="jax", verbose=False,
               input_signature=[keras.Input(shape=(3,))])
    np.testing.assert_allclose(load_exported(tmp_path / "net.zip")(x),
                               np.asarray(net(x)), rtol=1e-6)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    path = tmp_path_factory.mktemp("art") / "mlp.zip"
    keras.Sequential([keras.Input(shape=(4,)), L.Dense(3)]).export(path, format="jax",
                                                                   verbose=False)
    return path


@pytest.mark.parametrize("bad, match", [
    (np.zeros((2, 5), "float32"), r"expects shape \(None, 4\).*\(2, 5\)"),
    (np.zeros((2, 4, 1), "float32"), r"expects shape"),
    (np.zeros((2, 4), "float64"), r"expects dtype float32; received float64"),
    (np.zeros((2, 4), "int32"), r"expects dtype float32; received int32"),
    ([["a", "b", "c", "d"]], r"expects dtype float32"),
    ("text", r"must be an array"),
])
def test_wrong_inputs_are_clear_value_errors(artifact, bad, match):
    serve = load_exported(artifact)
    with pytest.raises(ValueError, match=match):
        serve(bad)


def test_wrong_input_count(artifact):
    serve = load_exported(artifact)
    with pytest.raises(ValueError, match=r"takes 1 input"):
        serve(np.zeros((1, 4), "float32"), np.zeros((1, 4), "float32"))
    assert serve([[1.0, 2.0, 3.0, 4.0]]).shape == (1, 3)     # lists become float32


def _rewrite(src, dst, replace):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            data = replace.get(name, zin.read(name))
            if data is not None:
                zout.writestr(name, data)


def _manifest(path):
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read("manifest.json"))


def test_truncated_file(artifact, tmp_path):
    data = artifact.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 30):
        bad = tmp_path / f"cut{cut}.zip"
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="Cannot load exported model"):
            load_exported(bad)


def test_not_a_zip_and_missing_file(tmp_path):
    (tmp_path / "x.zip").write_text("hello")
    with pytest.raises(ValueError, match="not a readable zip"):
        load_exported(tmp_path / "x.zip")
    with pytest.raises(ValueError, match="no such file"):
        load_exported(tmp_path / "missing.zip")


@pytest.mark.parametrize("edit, match", [
    (lambda m: m.update(format_version="1"), "format_version"),
    (lambda m: m.update(format="other"), "format must be"),
    (lambda m: m.update(inputs={"name": "x"}), "'inputs' must be a list"),
    (lambda m: m["inputs"][0].update(shape="(None, 4)"), r"inputs\[0\].shape"),
    (lambda m: m["inputs"][0].update(shape=[None, 4.5]), "invalid dimension 4.5"),
    (lambda m: m["inputs"][0].update(dtype="object"), r"inputs\[0\].dtype"),
    (lambda m: m["inputs"][0].update(name=7), r"inputs\[0\].name"),
    (lambda m: m["weights"][0].update(shape=[None, 3]), "invalid dimension None"),
    (lambda m: m["weights"][0].update(shape=[5, 3]), "manifest declares"),
    (lambda m: m["programs"][0].update(file="../../etc/passwd"), "plain file name"),
    (lambda m: m["programs"][0].update(batch_size=True), "batch_size"),
    (lambda m: m.update(programs=[]), "'programs' must be a non-empty list"),
])
def test_wrong_manifest_types(artifact, tmp_path, edit, match):
    manifest = _manifest(artifact)
    edit(manifest)
    bad = tmp_path / "bad.zip"
    _rewrite(artifact, bad, {"manifest.json": json.dumps(manifest)})
    with pytest.raises(ValueError, match=match):
        load_exported(bad)


def test_manifest_not_json_or_missing(artifact, tmp_path):
    _rewrite(artifact, tmp_path / "a.zip", {"manifest.json": b"\xff{not json"})
    with pytest.raises(ValueError, match="not valid JSON"):
        load_exported(tmp_path / "a.zip")
    _rewrite(artifact, tmp_path / "b.zip", {"manifest.json": None})
    with pytest.raises(ValueError, match="no 'manifest.json'"):
        load_exported(tmp_path / "b.zip")


def test_pickled_weights_are_refused(artifact, tmp_path):
    buffer = io.BytesIO()
    evil = np.empty(1, dtype=object)
    evil[0] = {"not": "an array"}
    np.savez(buffer, w0=evil, w1=np.zeros(3, "float32"))
    _rewrite(artifact, tmp_path / "p.zip", {"weights.npz": buffer.getvalue()})
    with pytest.raises(ValueError, match="plain array"):
        load_exported(tmp_path / "p.zip")


def test_damaged_program_and_oversized_entry(artifact, tmp_path, monkeypatch):
    name = _manifest(artifact)["programs"][0]["file"]
    _rewrite(artifact, tmp_path / "d.zip", {name: b"\x00" * 64})
    with pytest.raises(ValueError, match="cannot be deserialized"):
        load_exported(tmp_path / "d.zip")
    monkeypatch.setattr(loader_module, "MAX_PROGRAM_BYTES", 16)
    with pytest.raises(ValueError, match="more than the limit"):
        load_exported(artifact)


def test_bounded_symbolic_batch_is_enforced(tmp_path):
    model = FAMILIES["batchnorm"]()        # its CPU convolution picks a kernel by size
    model.export(tmp_path / "bn.zip", format="jax", verbose=False)
    serve = load_exported(tmp_path / "bn.zip")
    if serve.max_batch_size is None:
        pytest.skip("this export took any batch size")
    too_many = np.zeros((serve.max_batch_size + 1, 8, 8, 2), "float32")
    with pytest.raises(ValueError, match="at most"):
        serve(too_many)


def test_hostile_npy_header_is_refused_before_allocating(artifact, tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (10 ** 12,)})
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("w0.npy", header.getvalue() + b"\x00" * 16)
        z.writestr("w1.npy", header.getvalue())
    _rewrite(artifact, tmp_path / "h.zip", {"weights.npz": inner.getvalue()})
    with pytest.raises(ValueError, match=r"stored as \(1000000000000,\)"):
        load_exported(tmp_path / "h.zip")


def test_declared_weight_sizes_are_bounded(artifact, tmp_path):
    manifest = _manifest(artifact)
    manifest["weights"][0]["shape"] = [2 ** 39, 2 ** 39]
    _rewrite(artifact, tmp_path / "big.zip", {"manifest.json": json.dumps(manifest)})
    with pytest.raises(ValueError, match="more than the limit"):
        load_exported(tmp_path / "big.zip")


def test_two_outputs_and_variable_length(tmp_path):
    a = keras.Input(shape=(3,), name="a")
    h = L.Dense(4, activation="relu")(a)
    model = keras.Model(a, [L.Dense(2, name="o1")(h), L.Dense(1, name="o2")(h)])
    model.export(tmp_path / "two.zip", format="jax", verbose=False)
    serve = load_exported(tmp_path / "two.zip")
    assert serve.output_names == ["o1", "o2"]
    x = np.random.default_rng(0).standard_normal((7, 3)).astype("float32")
    for got, ref in zip(serve(x), model.predict(x, verbose=0)):
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    seq = keras.Sequential([keras.Input(shape=(None,), dtype="int32"), L.Embedding(20, 4),
                            L.GlobalAveragePooling1D(), L.Dense(2)])
    seq.export(tmp_path / "seq.zip", format="jax", verbose=False)
    serve = load_exported(tmp_path / "seq.zip")
    assert serve.input_shapes == [(None, None)]
    for length in (3, 11):
        ids = np.random.default_rng(length).integers(0, 20, (5, length)).astype("int32")
        np.testing.assert_allclose(serve(ids), predict(seq, [ids]), rtol=1e-5, atol=1e-5)
