"""The bundled Fashion-MNIST files, compared with Keras's own loader reading the same files."""
import os

import numpy as np
import pytest

from gazelle.datasets import _files, fashion_mnist


@pytest.fixture(scope="module")
def data():
    return fashion_mnist.load_data()


def test_shapes_dtypes_and_balanced_classes(data):
    (x_train, y_train), (x_test, y_test) = data
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert np.bincount(y_test).tolist() == [1000] * 10
    # Published normalisation constants for Fashion-MNIST: mean 0.2860, std 0.3530.
    assert x_train.mean() / 255 == pytest.approx(0.2860, abs=5e-5)
    assert x_train.std() / 255 == pytest.approx(0.3530, abs=5e-5)


def test_same_arrays_as_keras_loader(data, monkeypatch):
    import keras.src.datasets.fashion_mnist as keras_fashion

    _, paths = _files.find(fashion_mnist.DATASET)
    folder = os.path.dirname(paths["train-images-idx3-ubyte.gz"])
    monkeypatch.setattr(keras_fashion, "get_file",
                        lambda fname, **kwargs: os.path.join(folder, fname))
    theirs = keras_fashion.load_data()
    for ours_part, theirs_part in zip(data, theirs):
        for ours_array, theirs_array in zip(ours_part, theirs_part):
            assert ours_array.dtype == theirs_array.dtype
            np.testing.assert_array_equal(ours_array, theirs_array)


def test_explicit_folder_path(data, offline, monkeypatch):
    _, paths = _files.find(fashion_mnist.DATASET)
    link = offline / "my-fashion"
    os.symlink(os.path.dirname(paths["t10k-labels-idx1-ubyte.gz"]), link)
    (_, y_train), (_, y_test) = fashion_mnist.load_data(path=str(link))
    np.testing.assert_array_equal(y_test, data[1][1])
