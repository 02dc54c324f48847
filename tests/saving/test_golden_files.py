"""Golden `.keras` files written by Keras 3 (tests/saving/golden/make_golden.py) load in
gazelle with the same predictions and optimizer state, and gazelle re-saves the same layout."""
import io
import pathlib
import zipfile

import h5py
import numpy as np
import pytest

import gazelle as keras

GOLDEN = pathlib.Path(__file__).parent / "golden"
NAMES = ["mlp", "cnn", "wide_deep"]


def h5_datasets(path):
    with zipfile.ZipFile(path) as z:
        data = z.read("model.weights.h5")
    out = {}
    with h5py.File(io.BytesIO(data), "r") as f:
        f.visititems(lambda name, obj: out.__setitem__(name, np.asarray(obj))
                     if isinstance(obj, h5py.Dataset) else None)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_keras3_file_loads_with_same_predictions(name):
    model = keras.models.load_model(GOLDEN / f"{name}.keras")
    x = np.load(GOLDEN / f"inputs_{name}.npy")
    np.testing.assert_allclose(model.predict(x), np.load(GOLDEN / f"expected_{name}.npy"),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_optimizer_state_is_restored_in_keras_order(name):
    model = keras.models.load_model(GOLDEN / f"{name}.keras")
    stored = h5_datasets(GOLDEN / f"{name}.keras")
    opt = [stored[f"optimizer/vars/{i}"] for i in range(len(model.optimizer.variables))]
    assert f"optimizer/vars/{len(opt)}" not in stored
    for value, var in zip(opt, model.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(var.value), value)
    assert int(model.optimizer.iterations.value) == 3


@pytest.mark.parametrize("name", NAMES)
def test_resave_keeps_keras_layout_and_values(name, tmp_path):
    model = keras.models.load_model(GOLDEN / f"{name}.keras")
    model.save(tmp_path / "again.keras")
    theirs, ours = h5_datasets(GOLDEN / f"{name}.keras"), h5_datasets(tmp_path / "again.keras")
    assert sorted(theirs) == sorted(ours)
    for key in theirs:
        np.testing.assert_array_equal(theirs[key], ours[key])
