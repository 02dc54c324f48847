"""tf.keras 2 HDF5 files: whole models (`model.h5`) and weights (`weights.h5`)."""
import json
import warnings

import h5py
import numpy as np
import pytest

import gazelle as keras
from gazelle import saving

RNG = np.random.default_rng(0)
W1, B1 = RNG.standard_normal((4, 8)).astype("float32"), RNG.standard_normal(8).astype("float32")
W2, B2 = RNG.standard_normal((8, 3)).astype("float32"), RNG.standard_normal(3).astype("float32")
X = RNG.standard_normal((6, 4)).astype("float32")


def numpy_mlp(x):
    h = np.maximum(x @ W1 + B1, 0)
    z = h @ W2 + B2
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def tf2_dense(name, units, activation, input_shape=None):
    config = {"name": name, "trainable": True, "dtype": "float32", "units": units,
              "activation": activation, "use_bias": True,
              "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
              "bias_initializer": {"class_name": "Zeros", "config": {}},
              "kernel_regularizer": None, "bias_regularizer": None,
              "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None}
    if input_shape:
        config["batch_input_shape"] = [None, *input_shape]
    return {"class_name": "Dense", "config": config}


TF2_SEQUENTIAL = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32",
                                            "sparse": False, "ragged": False,
                                            "name": "dense_input"}},
    tf2_dense("dense", 8, "relu", (4,)), tf2_dense("dense_1", 3, "softmax")]}}

TF2_FUNCTIONAL = {"class_name": "Functional", "config": {
    "name": "model",
    "layers": [
        {"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [],
         "config": {"batch_input_shape": [None, 4], "dtype": "float32", "sparse": False,
                    "ragged": False, "name": "input_1"}},
        {**tf2_dense("dense", 8, "relu"), "name": "dense",
         "inbound_nodes": [[["input_1", 0, 0, {}]]]},
        {**tf2_dense("dense_1", 3, "softmax"), "name": "dense_1",
         "inbound_nodes": [[["dense", 0, 0, {}]]]}],
    "input_layers": [["input_1", 0, 0]], "output_layers": [["dense_1", 0, 0]]}}

TF2_TRAINING = {"loss": "sparse_categorical_crossentropy", "weighted_metrics": None,
                "loss_weights": None,
                "metrics": [[{"class_name": "MeanMetricWrapper", "config": {
                    "name": "accuracy", "dtype": "float32",
                    "fn": "sparse_categorical_accuracy"}}]],
                "optimizer_config": {"class_name": "SGD", "config": {
                    "name": "SGD", "learning_rate": 0.05, "decay": 0.0, "momentum": 0.9,
                    "nesterov": False}}}


def write_tf2_layers(group, layers):
    """Writes layers as tf.keras 2 does: `layer_names`, `weight_names`, `<layer>/<name>:0`."""
    group.attrs["keras_version"] = b"2.4.0"
    group.attrs["backend"] = b"tensorflow"
    group.attrs["layer_names"] = np.array([name.encode() for name, _ in layers])
    for name, weights in layers:
        layer = group.create_group(name)
        names = [f"{name}/{w}:0" for w in weights]
        layer.attrs["weight_names"] = (np.array([n.encode() for n in names]) if names
                                       else np.array([], dtype="float64"))
        for n, value in zip(names, weights.values()):
            layer.create_dataset(n, data=value)


def tf2_layers(input_name="dense_input"):
    return [(input_name, {}), ("dense", {"kernel": W1, "bias": B1}),
            ("dense_1", {"kernel": W2, "bias": B2})]


def write_tf2_model(path, config):
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.4.0"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(config).encode()
        f.attrs["training_config"] = json.dumps(TF2_TRAINING).encode()
        name = config["config"]["layers"][0]["config"]["name"]
        write_tf2_layers(f.create_group("model_weights"), tf2_layers(name))
        opt = f.create_group("optimizer_weights")     # tf.keras 2's slot order: iter, m...
        opt.attrs["weight_names"] = np.array([b"SGD/iter:0", b"SGD/dense/kernel/momentum:0"])
        opt["SGD/iter:0"] = np.int64(10)
        opt["SGD/dense/kernel/momentum:0"] = np.zeros((4, 8), "float32")
    return path


@pytest.mark.parametrize("config", [TF2_SEQUENTIAL, TF2_FUNCTIONAL],
                         ids=["sequential", "functional"])
def test_tf_keras2_model_file_loads_like_keras3_reads_it(tmp_path, config):
    import keras as k3
    path = write_tf2_model(tmp_path / "tf2.h5", config)
    with pytest.warns(UserWarning, match="freshly initialized optimizer"):
        model = saving.load_model(path)
    np.testing.assert_allclose(model.predict(X), numpy_mlp(X), rtol=1e-5, atol=1e-6)
    theirs = k3.saving.load_model(path, compile=False)
    np.testing.assert_allclose(model.predict(X), theirs.predict(X, verbose=0), rtol=1e-5,
                               atol=1e-6)
    assert type(model.optimizer).__name__ == "SGD" and model.optimizer.momentum == 0.9
    model.fit(X, np.array([0, 1, 2, 0, 1, 2]), epochs=1, verbose=0)
    assert model.metrics_names == ["loss", "accuracy"]


def test_h5_round_trip_keeps_model_compile_and_optimizer(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    y = np.array([0, 1, 2, 0, 1, 2])
    model.fit(X, y, epochs=2, batch_size=3, shuffle=False, verbose=0)
    saving.save_model(model, tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as f:
        assert sorted(f) == ["model_weights", "optimizer_weights"]
        assert list(f["model_weights/dense"].attrs["weight_names"]) == [
            b"dense/kernel:0", b"dense/bias:0"]
        assert f["model_weights/dense/dense/kernel:0"].shape == (4, 8)
    loaded = saving.load_model(tmp_path / "m.h5")
    np.testing.assert_allclose(model.predict(X), loaded.predict(X), rtol=1e-6)
    for m in (model, loaded):
        m.fit(X, y, epochs=1, batch_size=3, shuffle=False, verbose=0)
    for ours, theirs in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_gazelle_h5_loads_in_keras3(tmp_path):
    import keras as k3
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    saving.save_model(model, tmp_path / "m.h5")
    theirs = k3.saving.load_model(tmp_path / "m.h5")
    np.testing.assert_allclose(model.predict(X), theirs.predict(X, verbose=0), rtol=1e-5,
                               atol=1e-6)
    assert type(theirs.optimizer).__name__ == "SGD"


def test_keras3_h5_loads_in_gazelle(tmp_path):
    import keras as k3
    theirs = k3.Sequential([k3.Input((4,)), k3.layers.Dense(8, activation="relu"),
                            k3.layers.Dense(3, activation="softmax")])
    theirs.compile("adam", "sparse_categorical_crossentropy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs.save(tmp_path / "k.h5")
    with warnings.catch_warnings():
        warnings.simplefilter("error")         # the optimizer state fits: no warning
        ours = saving.load_model(tmp_path / "k.h5")
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X, verbose=0), rtol=1e-5,
                               atol=1e-6)


def mlp_with_names(first, second, extra=False):
    layers = [keras.Input((4,)), keras.layers.Dense(8, activation="relu", name=first)]
    if extra:
        layers.append(keras.layers.Dense(8, name="extra"))
    layers.append(keras.layers.Dense(3, activation="softmax", name=second))
    return keras.Sequential(layers)


def write_tf2_weights(path):
    with h5py.File(path, "w") as f:
        write_tf2_layers(f, tf2_layers())
    return path


def test_tf_keras2_weights_load_by_order(tmp_path):
    model = mlp_with_names("a", "b")           # names differ: matched by position
    saving.load_weights(model, write_tf2_weights(tmp_path / "w.h5"))
    np.testing.assert_allclose(model.predict(X), numpy_mlp(X), rtol=1e-5, atol=1e-6)


def test_tf_keras2_weights_load_by_name(tmp_path):
    model = mlp_with_names("dense", "dense_1", extra=True)
    extra = model.get_layer("extra").get_weights()
    saving.load_weights(model, write_tf2_weights(tmp_path / "w.h5"), by_name=True)
    np.testing.assert_array_equal(model.get_layer("dense").get_weights()[0], W1)
    np.testing.assert_array_equal(model.get_layer("dense_1").get_weights()[1], B2)
    for before, after in zip(extra, model.get_layer("extra").get_weights()):
        np.testing.assert_array_equal(before, after)      # not in the file: untouched


def test_by_order_layer_count_mismatch_is_a_clear_error(tmp_path):
    model = mlp_with_names("dense", "dense_1", extra=True)
    with pytest.raises(ValueError, match=r"w.h5.*layer count mismatch.*3 layers.*2 saved"):
        saving.load_weights(model, write_tf2_weights(tmp_path / "w.h5"))


def test_by_name_shape_mismatch_errors_or_skips(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, name="dense"),
                              keras.layers.Dense(8, name="mid"),
                              keras.layers.Dense(3, activation="softmax", name="dense_1")])
    path = write_tf2_weights(tmp_path / "w.h5")
    with pytest.raises(ValueError, match=r"w.h5.*dense/kernel.*\(4, 5\).*\(4, 8\)"):
        saving.load_weights(model, path, by_name=True)
    with pytest.warns(UserWarning, match="Skipping loading weights"):
        saving.load_weights(model, path, by_name=True, skip_mismatch=True)
    np.testing.assert_array_equal(model.get_layer("dense_1").get_weights()[0], W2)


def test_save_weights_h5_name_writes_tf_keras2_layout(tmp_path):
    model = mlp_with_names("dense", "dense_1")
    saving.save_weights(model, tmp_path / "w.h5")
    with h5py.File(tmp_path / "w.h5", "r") as f:
        assert [n.decode() for n in f.attrs["layer_names"]] == ["dense", "dense_1"]
        assert "dense/dense/kernel:0" in f
    other = mlp_with_names("x", "y")
    saving.load_weights(other, tmp_path / "w.h5")
    np.testing.assert_allclose(other.predict(X), model.predict(X), rtol=1e-6)


def test_weights_only_file_is_not_a_model(tmp_path):
    with pytest.raises(ValueError, match="w.h5.*no model config"):
        saving.load_model(write_tf2_weights(tmp_path / "w.h5"))
