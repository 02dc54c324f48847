"""`.keras` archives: gazelle round trips, and Keras 3 reading ours and we reading Keras 3's."""
import json
import zipfile

import h5py
import numpy as np
import pytest

import gazelle as keras
from gazelle import saving
from gazelle.saving import model_config


def mlp(K):
    return K.Sequential([K.Input((4,), name="features"),
                         K.layers.Dense(8, activation="relu", name="hidden"),
                         K.layers.Dense(3, activation="softmax", name="probs")], name="mlp")


def two_headed(K):
    """Two inputs, two outputs, a nested Sequential, conv/pool/reshape/activation layers."""
    image = K.Input((6, 6, 1), name="image")
    extra = K.Input((3,), name="extra")
    x = K.layers.Conv2D(2, 3, activation="relu", name="conv")(image)
    x = K.layers.MaxPooling2D(2, name="pool")(x)
    x = K.layers.Flatten(name="flat")(x)
    inner = K.Sequential([K.Input((8,), name="inner_in"),
                          K.layers.Dense(5, activation="tanh", name="inner_dense")], name="inner")
    a = K.layers.Reshape((5, 1), name="resh")(inner(x))
    b = K.layers.Activation("softmax", name="act")(K.layers.Dense(2, name="extra_dense")(extra))
    return K.Model([image, extra], [a, b], name="net")


def data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)).astype("float32"), rng.integers(0, 3, n)


def image_data(n=5, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, 6, 6, 1)).astype("float32"),
            rng.standard_normal((n, 3)).astype("float32")]


def compiled_mlp(epochs=2):
    model = mlp(keras)
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x, y = data()
    model.fit(x, y, epochs=epochs, batch_size=8, shuffle=False, verbose=0)
    return model


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A compiled MLP trained for two epochs and its `.keras` file (read-only for tests)."""
    model = compiled_mlp()
    path = tmp_path_factory.mktemp("trained") / "m.keras"
    saving.save_model(model, path)
    return model, path


def assert_same_outputs(a, b):
    for x, y in zip(a if isinstance(a, list) else [a], b if isinstance(b, list) else [b]):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


def test_archive_has_keras3_members_and_metadata(trained):
    _, path = trained
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        metadata = json.loads(archive.read("metadata.json"))
    assert metadata["keras_version"].startswith("3.") and "date_saved" in metadata


def test_sequential_round_trip_keeps_predictions_compile_and_optimizer(trained):
    model, path = trained
    loaded = saving.load_model(path)
    x, _ = data()
    assert_same_outputs(model.predict(x), loaded.predict(x))
    assert [layer.name for layer in loaded.layers] == ["hidden", "probs"]
    assert type(loaded.optimizer).__name__ == "Adam"
    np.testing.assert_allclose(float(loaded.optimizer.learning_rate.value), 0.01, rtol=1e-6)
    for ours, theirs in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(ours.value), np.asarray(theirs.value))
    assert int(loaded.optimizer.iterations.value) == 8


def test_fit_continues_where_it_stopped(tmp_path):
    model = compiled_mlp()
    saving.save_model(model, tmp_path / "m.keras")
    loaded = saving.load_model(tmp_path / "m.keras")
    x, y = data()
    for m in (model, loaded):
        m.fit(x, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for ours, theirs in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    assert int(loaded.optimizer.iterations.value) == 12


def test_load_without_compile_and_save_without_optimizer(tmp_path, trained):
    model, path = trained
    assert saving.load_model(path, compile=False).optimizer is None
    saving.save_model(model, tmp_path / "b.keras", include_optimizer=False)
    with zipfile.ZipFile(tmp_path / "b.keras") as archive:
        assert json.loads(archive.read("config.json"))["compile_config"] == {}
    assert saving.load_model(tmp_path / "b.keras").optimizer is None


def test_gazelle_archive_loads_in_keras3_with_optimizer_state(trained):
    import keras as k3
    model, path = trained
    theirs = k3.saving.load_model(path)
    x, _ = data()
    assert_same_outputs(model.predict(x), theirs.predict(x, verbose=0))
    assert len(theirs.optimizer.variables) == len(model.optimizer.variables)
    for ours, other in zip(model.optimizer.variables, theirs.optimizer.variables):
        np.testing.assert_allclose(np.asarray(ours.value), np.asarray(other), rtol=1e-6)


def test_keras3_archive_loads_in_gazelle_with_optimizer_state(tmp_path):
    import keras as k3
    theirs = mlp(k3)
    theirs.compile(k3.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                   metrics=["accuracy"])
    x, y = data()
    theirs.fit(x, y, epochs=1, batch_size=8, verbose=0)
    theirs.save(tmp_path / "k.keras")
    ours = saving.load_model(tmp_path / "k.keras")
    assert_same_outputs(ours.predict(x), theirs.predict(x, verbose=0))
    for mine, other in zip(ours.optimizer.variables, theirs.optimizer.variables):
        np.testing.assert_allclose(np.asarray(mine.value), np.asarray(other), rtol=1e-6)
    ours.fit(x, y, epochs=1, batch_size=8, verbose=0)       # training goes on
    assert int(ours.optimizer.iterations.value) == 8


@pytest.mark.parametrize("direction", ["gazelle_to_keras3", "keras3_to_gazelle"])
def test_functional_model_crosses_over(tmp_path, direction):
    import keras as k3
    source, target = (keras, k3) if direction == "gazelle_to_keras3" else (k3, keras)
    model = two_headed(source)
    path = tmp_path / "f.keras"
    saving.save_model(model, path) if source is keras else model.save(path)
    loaded = saving.load_model(path) if target is keras else k3.saving.load_model(path)
    x = image_data()
    predict = {keras: lambda m: m.predict(x), k3: lambda m: m.predict(x, verbose=0)}
    assert_same_outputs(predict[source](model), predict[target](loaded))
    ours, theirs = (loaded, model) if target is keras else (model, loaded)
    assert [layer.name for layer in model_config.layer_order(ours)] == [
        layer.name for layer in theirs.layers]


def _strip(obj):
    # Keras-internal details gazelle does not reproduce: object-sharing ids, the
    # quantization slot, a `mask: None` call kwarg, and build_config on layers that Keras
    # builds at construction time.
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items()
                if k not in ("shared_object_id", "quantization_config", "mask", "build_config")}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


@pytest.mark.parametrize("build", [mlp, two_headed], ids=["sequential", "functional"])
def test_config_json_equals_keras3s(tmp_path, build):
    import keras as k3
    saving.save_model(build(keras), tmp_path / "g.keras")
    build(k3).save(tmp_path / "k.keras")
    configs = []
    for name in ("g.keras", "k.keras"):
        with zipfile.ZipFile(tmp_path / name) as archive:
            configs.append(json.loads(archive.read("config.json")))
    assert _strip(configs[0]) == _strip(configs[1])


def _h5_tree(path):
    entries = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: entries.append(
            (name, obj.attrs.get("name"), getattr(obj, "shape", None))))
    return sorted(entries)


def test_weight_paths_follow_keras3_layout(tmp_path):
    import keras as k3
    saving.save_weights(two_headed(keras), tmp_path / "g.weights.h5")
    two_headed(k3).save_weights(tmp_path / "k.weights.h5")
    ours = _h5_tree(tmp_path / "g.weights.h5")
    assert ours == _h5_tree(tmp_path / "k.weights.h5")
    # Groups are named by class ("dense"), not by the layer's name ("extra_dense").
    assert ("layers/dense/vars", "extra_dense", None) in ours


OPTIONAL = ("BatchNormalization", "Dropout", "Concatenate")


@pytest.mark.skipif(not all(hasattr(keras.layers, n) for n in OPTIONAL),
                    reason="BatchNormalization/Dropout/Concatenate not exported yet")
def test_model_with_state_and_merge_layers_crosses_over(tmp_path):
    import keras as k3

    def build(K):
        a, b = K.Input((4,), name="a"), K.Input((2,), name="b")
        x = K.layers.BatchNormalization(name="bn")(K.layers.Dense(6, name="d1")(a))
        x = K.layers.Dropout(0.5, name="drop")(x)
        return K.Model([a, b], K.layers.Dense(1, name="out")(
            K.layers.Concatenate(name="cat")([x, b])))

    theirs = build(k3)
    theirs.compile("adam", "mse")
    x = [np.random.rand(16, 4).astype("float32"), np.random.rand(16, 2).astype("float32")]
    theirs.fit(x, np.ones((16, 1)), epochs=1, verbose=0)     # moving stats move
    theirs.save(tmp_path / "k.keras")
    ours = saving.load_model(tmp_path / "k.keras")
    assert_same_outputs(ours.predict(x), theirs.predict(x, verbose=0))
    saving.save_model(ours, tmp_path / "g.keras")
    back = k3.saving.load_model(tmp_path / "g.keras")
    assert_same_outputs(ours.predict(x), back.predict(x, verbose=0))


def test_save_refuses_unknown_extension_and_load_reports_missing_file(tmp_path):
    model = mlp(keras)
    with pytest.raises(ValueError, match="Invalid filepath extension.*model.tf"):
        saving.save_model(model, tmp_path / "model.tf")
    with pytest.raises(ValueError, match="File not found.*nothing.keras"):
        saving.load_model(tmp_path / "nothing.keras")
    (tmp_path / "text.keras").write_text("hello")
    with pytest.raises(ValueError, match="text.keras.*format not supported"):
        saving.load_model(tmp_path / "text.keras")


def test_overwrite_false_asks_before_replacing(tmp_path, monkeypatch):
    path = tmp_path / "m.keras"
    path.write_bytes(b"old")
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    saving.save_model(mlp(keras), path, overwrite=False)
    assert path.read_bytes() == b"old"
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    saving.save_model(mlp(keras), path, overwrite=False)
    assert zipfile.is_zipfile(path)


def test_save_creates_missing_directory_and_leaves_no_temp_files(tmp_path):
    saving.save_model(mlp(keras), tmp_path / "sub" / "m.keras")
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["m.keras"]
