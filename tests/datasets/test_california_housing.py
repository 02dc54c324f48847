"""California housing: the same arrays and split as Keras 3.

Facts from outside gazelle used here:
- A public Keras 3 run (`load_data(version="small")`, seed 113) printed the download as
  "743530/743530" bytes, y_train[:5] = [228400, 132900, 60000, 95200, 107000] and
  y_test[:5] = [218800, 218400, 93800, 173400, 229700].
- The first StatLib record is -122.23, 37.88, 41, 880, 129, 322, 126, 8.3252, 452600.
"""
import gzip
import io

import numpy as np
import pytest

from gazelle.datasets import _files, california_housing


@pytest.fixture(scope="module")
def full():
    return california_housing.read(*_files.find(california_housing.DATASET))


def test_shapes_and_dtypes():
    (x_train, y_train), (x_test, y_test) = california_housing.load_data()
    assert x_train.shape == (16512, 8) and y_train.shape == (16512,)
    assert x_test.shape == (4128, 8) and y_test.shape == (4128,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.float32)}
    (x_train, _), (x_test, _) = california_housing.load_data(version="small")
    assert x_train.shape == (480, 8) and x_test.shape == (120, 8)


def test_matches_a_published_keras_run():
    (_, y_train), (_, y_test) = california_housing.load_data(version="small")
    assert y_train[:5].tolist() == [228400, 132900, 60000, 95200, 107000]
    assert y_test[:5].tolist() == [218800, 218400, 93800, 173400, 229700]


def test_float32_arrays_have_the_size_of_keras_file(full):
    # Keras's california_housing.npz is 743530 bytes; np.savez of float32 x (20640, 8) and
    # y (20640,) is exactly that (float64 would be about twice as large).
    buffer = io.BytesIO()
    np.savez(buffer, x=full[0], y=full[1])
    assert len(buffer.getvalue()) == 743530


def test_columns_are_the_raw_statlib_columns_not_sklearns(full):
    # On purpose, like Keras's file (keras-team/keras#21886): the raw columns in StatLib
    # order, not scikit-learn's derived MedInc, HouseAge, AveRooms, ... table.
    x, y = full
    np.testing.assert_array_equal(
        x[0], np.array([-122.23, 37.88, 41, 880, 129, 322, 126, 8.3252], np.float32))
    assert y[0] == np.float32(452600)
    assert california_housing.FEATURES[0] == "longitude" and len(california_housing.FEATURES) == 8
    assert 14999 <= y.min() and y.max() <= 500001


@pytest.mark.parametrize("kwargs", [
    {}, {"version": "small"}, {"test_split": 0.25, "seed": 42},
    {"version": "small", "test_split": 0.0, "seed": 7}, {"test_split": 0.33, "seed": 109},
])
def test_same_split_as_keras(full, kwargs, monkeypatch, offline):
    import keras.src.datasets.california_housing as keras_housing

    npz = offline / "california_housing.npz"
    np.savez(npz, x=full[0], y=full[1])
    monkeypatch.setattr(keras_housing, "get_file", lambda *args, **kw: str(npz))
    theirs = keras_housing.load_data(**kwargs)
    ours = california_housing.load_data(**kwargs)
    for ours_part, theirs_part in zip(ours, theirs):
        for ours_array, theirs_array in zip(ours_part, theirs_part):
            assert ours_array.dtype == theirs_array.dtype
            np.testing.assert_array_equal(ours_array, theirs_array)


def test_uncompressed_statlib_file_via_path(full, offline):
    _, paths = _files.find(california_housing.DATASET)
    raw = offline / "cal_housing.data"
    with gzip.open(paths["cal_housing.data.gz"], "rb") as f:
        raw.write_bytes(f.read())
    (x_train, y_train), _ = california_housing.load_data(path=str(raw))
    (x_expected, y_expected), _ = california_housing.load_data()
    np.testing.assert_array_equal(x_train, x_expected)
    np.testing.assert_array_equal(y_train, y_expected)


def test_explicit_npz_that_is_not_keras_file_is_an_error(full, offline):
    npz = offline / "california_housing.npz"
    np.savez(npz, x=full[0], y=full[1])  # same arrays, but not Keras's bytes
    with pytest.raises(ValueError, match="corrupt or incomplete: expected sha256 1a2e3a52"):
        california_housing.load_data(path=str(npz))


@pytest.mark.parametrize("kwargs, match", [
    ({"version": "medium"},
     r"version must be one of \['small', 'large'\], received version='medium'"),
    ({"test_split": 1.0}, r"test_split must be in \[0, 1\).*received test_split=1.0"),
    ({"test_split": -0.1}, r"test_split must be in \[0, 1\)"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        california_housing.load_data(**kwargs)
