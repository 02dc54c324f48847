"""Hostile files are refused with a ValueError naming the file, and nothing they ask for runs."""
import base64
import io
import json
import marshal
import zipfile

import h5py
import numpy as np
import pytest

import gazelle as keras
from gazelle import saving
from gazelle.saving import keras_file


@pytest.fixture
def good(tmp_path):
    """A valid archive's members, to tamper with."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])
    path = tmp_path / "good.keras"
    saving.save_model(model, path)
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def config_with(good, **layer_changes):
    config = json.loads(good["config.json"])
    config["config"]["layers"][1].update(layer_changes)
    return json.dumps(config)


def test_good_archive_loads(tmp_path, good):
    model = saving.load_model(write_zip(tmp_path / "copy.keras", good))
    assert [layer.name for layer in model.layers] == ["d"]


def test_path_traversal_member_is_refused(tmp_path, good):
    marker = tmp_path / "marker.txt"
    path = write_zip(tmp_path / "evil.keras", {**good, "../marker.txt": b"pwned"})
    with pytest.raises(ValueError, match=r"evil\.keras.*'\.\./marker\.txt'.*not a plain"):
        saving.load_model(path)
    assert not marker.exists()


def test_absolute_member_name_is_refused(tmp_path, good):
    path = write_zip(tmp_path / "abs.keras", {**good, "/etc/evil": b"x"})
    with pytest.raises(ValueError, match="abs.keras.*not a plain relative name"):
        saving.load_model(path)


def test_decompression_bomb_member_is_refused(tmp_path, good):
    bomb = {**good, "config.json": good["config.json"] + b" " * (8 * 2**20)}
    path = write_zip(tmp_path / "bomb.keras", bomb, zipfile.ZIP_DEFLATED)
    with pytest.raises(ValueError, match="bomb.keras.*config.json.*decompression bomb"):
        saving.load_model(path)


def test_oversized_config_and_total_are_refused(tmp_path, good, monkeypatch):
    path = write_zip(tmp_path / "big.keras", good)
    monkeypatch.setattr(keras_file, "MAX_CONFIG_BYTES", 100)
    with pytest.raises(ValueError, match="big.keras.*config.json.*100"):
        saving.load_model(path)
    padded = {**good, "config.json": good["config.json"] + b" " * 50000}
    path = write_zip(tmp_path / "padded.keras", padded, zipfile.ZIP_DEFLATED)
    monkeypatch.setattr(keras_file, "MAX_CONFIG_BYTES", 2**20)
    monkeypatch.setattr(keras_file, "MAX_TOTAL_BYTES", 20000)   # above the file's size
    with pytest.raises(ValueError, match="padded.keras.*declare.*20000"):
        saving.load_model(path)


def test_too_many_members_are_refused(tmp_path, good, monkeypatch):
    monkeypatch.setattr(keras_file, "MAX_MEMBERS", 3)
    path = write_zip(tmp_path / "many.keras", {**good, "assets/a": b"", "assets/b": b""})
    with pytest.raises(ValueError, match="many.keras.*5 members"):
        saving.load_model(path)


def test_config_naming_os_system_is_refused(tmp_path, good):
    marker = tmp_path / "marker.txt"
    evil = {"module": "os", "class_name": "system", "registered_name": "system",
            "config": {"command": f"touch {marker}"}}
    config = json.loads(good["config.json"])
    config["config"]["layers"].append(evil)
    path = write_zip(tmp_path / "os.keras", {**good, "config.json": json.dumps(config)})
    with pytest.raises(ValueError, match=r"os\.keras.*Unknown layer: 'system'.*Dense"):
        saving.load_model(path)
    assert not marker.exists()


def test_activation_naming_os_system_is_refused(tmp_path, good):
    marker = tmp_path / "marker.txt"
    layer = json.loads(config_with(good))["config"]["layers"][1]
    layer["config"]["activation"] = {"module": "os", "class_name": "function",
                                     "config": "system", "registered_name": "function"}
    config = json.loads(good["config.json"])
    config["config"]["layers"][1] = layer
    path = write_zip(tmp_path / "act.keras", {**good, "config.json": json.dumps(config)})
    with pytest.raises(ValueError, match="act.keras.*activation.*system"):
        saving.load_model(path)
    assert not marker.exists()


def test_loss_naming_os_system_is_refused(tmp_path, good):
    config = json.loads(good["config.json"])
    config["compile_config"] = {"optimizer": "sgd", "loss": {
        "module": "os", "class_name": "function", "config": "system",
        "registered_name": "function"}}
    path = write_zip(tmp_path / "loss.keras", {**good, "config.json": json.dumps(config)})
    with pytest.raises(ValueError, match="loss.keras.*system"):
        saving.load_model(path)


def _lambda_archive(tmp_path, good, marker):
    def payload(x):
        open(marker, "w").close()
        return x
    code = base64.b64encode(marshal.dumps(payload.__code__)).decode()
    lam = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
           "config": {"name": "lam", "trainable": True, "dtype": "float32", "arguments": {},
                      "function": {"class_name": "__lambda__",
                                   "config": {"code": code, "defaults": None,
                                              "closure": None}}}}
    config = json.loads(good["config.json"])
    config["config"]["layers"].append(lam)
    config["safe_mode"] = False          # a file cannot switch safe mode off
    return write_zip(tmp_path / "lambda.keras", {**good, "config.json": json.dumps(config)})


def test_lambda_with_bytecode_is_refused_by_default(tmp_path, good):
    marker = tmp_path / "marker.txt"
    path = _lambda_archive(tmp_path, good, marker)
    with pytest.raises(ValueError, match="lambda.keras.*lambda.*safe_mode=False"):
        saving.load_model(path)
    assert not marker.exists()


def test_lambda_bytecode_is_never_unmarshalled_even_when_unsafe(tmp_path, good):
    # gazelle's Lambda takes functions by name only: with safe_mode=False the bytecode is
    # passed on, and the layer refuses it as not callable (nothing is unmarshalled).
    marker = tmp_path / "marker.txt"
    path = _lambda_archive(tmp_path, good, marker)
    with pytest.raises(ValueError, match="lambda.keras.*callable"):
        model = saving.load_model(path, safe_mode=False)
        model.predict(np.ones((1, 3), "float32"))
    assert not marker.exists()


def _weights_with(good, edit):
    buffer = io.BytesIO(good["model.weights.h5"])
    with h5py.File(buffer, "a") as f:
        edit(f)
    return {**good, "model.weights.h5": buffer.getvalue()}


def test_h5_external_link_is_not_followed(tmp_path, good):
    marker = tmp_path / "marker.h5"

    def edit(f):
        del f["layers/dense/vars"]
        f["layers/dense/vars"] = h5py.ExternalLink(str(marker), "/vars")

    path = write_zip(tmp_path / "link.keras", _weights_with(good, edit))
    with pytest.raises(ValueError, match="link.keras.*ExternalLink"):
        saving.load_model(path)
    assert not marker.exists()


def test_h5_soft_link_is_not_followed(tmp_path, good):
    def edit(f):
        data = f["layers/dense/vars/0"][()]
        del f["layers/dense/vars/0"]
        f["elsewhere"] = data
        f["layers/dense/vars/0"] = h5py.SoftLink("/elsewhere")

    path = write_zip(tmp_path / "soft.keras", _weights_with(good, edit))
    with pytest.raises(ValueError, match="soft.keras.*SoftLink"):
        saving.load_model(path)


def test_h5_external_dataset_storage_is_refused(tmp_path, good):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.zeros(6, "float32").tobytes())

    def edit(f):
        del f["layers/dense/vars/0"]
        f["layers/dense/vars"].create_dataset("0", shape=(3, 2), dtype="float32",
                                              external=[(str(secret), 0, 24)])

    path = write_zip(tmp_path / "ext.keras", _weights_with(good, edit))
    with pytest.raises(ValueError, match="ext.keras.*external"):
        saving.load_model(path)


def test_h5_dataset_shape_is_checked_before_reading(tmp_path, good):
    def edit(f):
        del f["layers/dense/vars/0"]
        f["layers/dense/vars"].create_dataset("0", shape=(100000, 1000), dtype="float32",
                                              compression="gzip", chunks=(1000, 1000))

    path = write_zip(tmp_path / "shape.keras", _weights_with(good, edit))
    with pytest.raises(ValueError, match=r"shape.keras.*\(3, 2\).*\(100000, 1000\)"):
        saving.load_model(path)


def test_legacy_h5_with_external_link_is_refused(tmp_path):
    marker = tmp_path / "marker.h5"
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])
    path = tmp_path / "w.h5"
    saving.save_weights(model, path)
    with h5py.File(path, "a") as f:
        del f["d"]
        f["d"] = h5py.ExternalLink(str(marker), "/d")
    with pytest.raises(ValueError, match="w.h5.*ExternalLink"):
        saving.load_weights(model, path)
    assert not marker.exists()


def test_truncated_h5_is_a_clear_error(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="d")])
    saving.save_model(model, tmp_path / "m.h5")
    data = (tmp_path / "m.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 3])
    with pytest.raises(ValueError, match="cut.h5.*not a readable HDF5 file"):
        saving.load_model(tmp_path / "cut.h5")
