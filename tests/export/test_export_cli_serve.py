"""`gazelle export` and examples/serve_exported.py (an HTTP JSON endpoint)."""
import importlib.util
import json
import pathlib
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest

import gazelle as keras
from gazelle.cli import main
from gazelle.saving import load_exported

from _export_models import FAMILIES, inputs_for, predict

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "serve_exported.py"


@pytest.fixture
def saved_mlp(tmp_path):
    model = keras.Sequential([keras.Input(shape=(5,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.save(tmp_path / "mlp.keras")
    return model, tmp_path / "mlp.keras"


def test_cli_exports_onnx_next_to_the_model(saved_mlp, capsys):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model, path = saved_mlp
    assert main(["export", str(path), "--format", "onnx"]) == 0
    assert "Saved ONNX artifact" in capsys.readouterr().out
    session = ort.InferenceSession(str(path.with_suffix(".onnx")),
                                   providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((7, 5)).astype("float32")
    (out,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(out, model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


def test_cli_exports_jax_to_output(saved_mlp, tmp_path):
    model, path = saved_mlp
    out = tmp_path / "served.zip"
    assert main(["export", str(path), "--format", "jax", "--output", str(out)]) == 0
    x = np.random.default_rng(1).standard_normal((2, 5)).astype("float32")
    np.testing.assert_allclose(load_exported(out)(x), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-5)


def test_cli_errors(tmp_path, capsys):
    assert main(["export", str(tmp_path / "missing.keras")]) == 2
    assert "no such model file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", str(tmp_path / "m.keras"), "--format", "tf_saved_model"])


def _load_example():
    spec = importlib.util.spec_from_file_location("serve_exported", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _post(url, body, content_type="application/json"):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture
def server(tmp_path):
    serve = _load_example()
    model = FAMILIES["mlp"]()
    model.export(tmp_path / "mlp.zip", format="jax", verbose=False)
    httpd = serve.make_server(str(tmp_path / "mlp.zip"), "127.0.0.1", 0, max_body=1 << 20)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    host, port = httpd.server_address[:2]
    yield model, f"http://{host}:{port}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_serve_good_request(server):
    model, url = server
    x = inputs_for(model, 3)[0]
    status, answer = _post(url + "/predict", {"inputs": x.tolist()})
    assert status == 200
    np.testing.assert_allclose(np.asarray(answer["outputs"], "float32"),
                               predict(model, [x]), rtol=1e-5, atol=1e-6)
    with urllib.request.urlopen(url + "/metadata", timeout=30) as response:
        meta = json.loads(response.read())
    assert meta["inputs"] == [{"name": "input_1", "shape": [None, 28, 28],
                               "dtype": "float32"}]


@pytest.mark.parametrize("body, match", [
    (b"{not json", "not valid JSON"),
    ({"x": [1]}, '"inputs"'),
    ({"inputs": "abc"}, "nested\\) list"),
    ({"inputs": [[[0.0] * 28] * 27]}, r"expects shape \(None, 28, 28\)"),
    ({"inputs": [[["a"] * 28] * 28]}, "must hold numbers"),
    ({"inputs": [[[0.0] * 28] * 27 + [[0.0] * 3]]}, "ragged"),
])
def test_serve_bad_requests_get_400(server, body, match):
    _, url = server
    status, answer = _post(url + "/predict", body)
    assert status == 400
    assert pytest.importorskip("re").search(match, answer["error"]), answer


def test_serve_unknown_path_and_big_body(server):
    _, url = server
    assert _post(url + "/other", {"inputs": []})[0] == 404
    status, answer = _post(url + "/predict", b" " * ((1 << 20) + 1))
    assert status == 413
