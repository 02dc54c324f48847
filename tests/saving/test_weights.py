"""save_weights/load_weights in Keras 3's layout (`.weights.h5`), both directions."""
import h5py
import numpy as np
import pytest

import gazelle as keras
from gazelle import saving

X = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")


def mlp(K, hidden=8, name="hidden"):
    return K.Sequential([K.Input((4,)), K.layers.Dense(hidden, activation="relu", name=name),
                         K.layers.Dense(2, name="out")])


def test_round_trip_into_a_fresh_model(tmp_path):
    model, other = mlp(keras), mlp(keras, name="renamed")
    saving.save_weights(model, tmp_path / "w.weights.h5")
    saving.load_weights(other, tmp_path / "w.weights.h5")
    np.testing.assert_allclose(other.predict(X), model.predict(X), rtol=1e-6)


def test_optimizer_state_travels_with_the_weights(tmp_path):
    model = mlp(keras)
    model.compile(keras.optimizers.Adam(0.01), "mse")
    model.fit(X, np.ones((5, 2)), epochs=2, verbose=0)
    saving.save_weights(model, tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5", "r") as f:
        assert f["optimizer/vars"].attrs["name"] == "adam" and len(f["optimizer/vars"]) == 10
    other = mlp(keras)
    other.compile(keras.optimizers.Adam(0.01), "mse")
    saving.load_weights(other, tmp_path / "w.weights.h5")
    assert int(other.optimizer.iterations.value) == 2
    for ours, theirs in zip(model.optimizer.variables, other.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(ours.value), np.asarray(theirs.value))


@pytest.mark.parametrize("direction", ["keras3_to_gazelle", "gazelle_to_keras3"])
def test_weights_cross_over_with_keras3(tmp_path, direction):
    import keras as k3
    ours, theirs = mlp(keras), mlp(k3)
    path = tmp_path / "w.weights.h5"
    if direction == "keras3_to_gazelle":
        theirs.save_weights(path)
        saving.load_weights(ours, path)
    else:
        saving.save_weights(ours, path)
        theirs.load_weights(path)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X, verbose=0), rtol=1e-5,
                               atol=1e-6)


def test_load_weights_from_a_keras_archive(tmp_path):
    model = mlp(keras)
    saving.save_model(model, tmp_path / "m.keras")
    other = mlp(keras)
    saving.load_weights(other, tmp_path / "m.keras")
    np.testing.assert_allclose(other.predict(X), model.predict(X), rtol=1e-6)


def test_any_other_name_is_one_hdf5_file(tmp_path):
    # tf.keras 2 tutorials write `save_weights("my_keras_weights.ckpt")` (a TF checkpoint);
    # gazelle writes one HDF5 file under that exact name and reads it back.
    model, other = mlp(keras), mlp(keras)
    saving.save_weights(model, tmp_path / "my_keras_weights.ckpt")
    assert [p.name for p in tmp_path.iterdir()] == ["my_keras_weights.ckpt"]
    saving.load_weights(other, tmp_path / "my_keras_weights.ckpt")
    np.testing.assert_allclose(other.predict(X), model.predict(X), rtol=1e-6)


def test_shape_mismatch_names_file_and_layer_and_loads_nothing(tmp_path):
    saving.save_weights(mlp(keras), tmp_path / "w.weights.h5")
    other = mlp(keras, hidden=3)
    before = other.get_weights()
    match = r"w.weights.h5.*layer 'hidden'.*kernel.*\(4, 3\).*\(4, 8\)"
    with pytest.raises(ValueError, match=match):
        saving.load_weights(other, tmp_path / "w.weights.h5")
    for a, b in zip(before, other.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_skip_mismatch_loads_the_layers_that_fit(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, name="a"),
                              keras.layers.Dense(2, name="b")])
    saving.save_weights(model, tmp_path / "w.weights.h5")
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, name="a"),
                              keras.layers.Dense(3, name="b")])
    with pytest.warns(UserWarning, match="Skipping loading weights of layer 'b'"):
        saving.load_weights(other, tmp_path / "w.weights.h5", skip_mismatch=True)
    np.testing.assert_array_equal(other.get_layer("a").get_weights()[0],
                                  model.get_layer("a").get_weights()[0])


def test_variable_count_mismatch_is_reported(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, use_bias=False)])
    saving.save_weights(model, tmp_path / "w.weights.h5")
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="w.weights.h5.*expected 2 variables.*received 1"):
        saving.load_weights(other, tmp_path / "w.weights.h5")


def test_by_name_needs_a_legacy_file_and_keras_name_is_refused(tmp_path):
    model = mlp(keras)
    saving.save_weights(model, tmp_path / "w.weights.h5")
    with pytest.raises(ValueError, match="by_name=True.*w.weights.h5"):
        saving.load_weights(model, tmp_path / "w.weights.h5", by_name=True)
    with pytest.raises(ValueError, match=r"must not end in `\.keras`"):
        saving.save_weights(model, tmp_path / "w.keras")
