"""The bundled MNIST files: Keras's layout, and facts published independently of gazelle.

Expected labels and class counts are the widely published MNIST figures (also listed in
/work/shared/datasets/README.md from independent sources), not outputs of this code.
"""
import numpy as np
import pytest

from gazelle.datasets import _files, mnist
from gazelle.utils import file_utils


@pytest.fixture(scope="module")
def data():
    return mnist.load_data()


def test_shapes_and_dtypes_match_keras(data):
    (x_train, y_train), (x_test, y_test) = data
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8


def test_official_order_and_class_counts(data):
    (x_train, y_train), (x_test, y_test) = data
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265,
                                             5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    # The usual normalisation constants 0.1307 / 0.3081 come from these pixels.
    assert x_train.mean() / 255 == pytest.approx(0.1307, abs=5e-5)
    assert x_train.std() / 255 == pytest.approx(0.3081, abs=5e-5)
    assert x_train.min() == 0 and x_train.max() == 255


def test_repeated_loads_hash_nothing_again(data, monkeypatch):
    calls = []
    monkeypatch.setattr(file_utils, "hash_file", lambda *a: calls.append(a))
    _files.find(mnist.DATASET)
    assert calls == []


def test_bundled_hashes_equal_the_published_ones():
    # sha256 values as published for the official files (torchvision's prototype checksums).
    published = {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    }
    file_set, paths = _files.find(mnist.DATASET)
    assert dict(file_set.files) == published
    for name, path in paths.items():
        assert file_utils.hash_file(path) == published[name]
