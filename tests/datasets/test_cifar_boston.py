"""cifar10, cifar100 and boston_housing from a Keras cache folder built in tmp_path (tiny
synthetic files with the real layouts, hashes patched; never the network).

boston_housing and cifar100 are compared with Keras 3's own `load_data`, pointed at the same
files through a patched `get_file`. Keras's cifar10 `load_data` assumes 10,000 images per
batch file, so cifar10 is compared batch by batch with Keras's `cifar.load_batch` instead.
"""
import dataclasses
import hashlib
import io
import os
import pickle
import tarfile

import numpy as np
import pytest

import gazelle as keras
from gazelle import config
from gazelle.datasets import _cifar, boston_housing, cifar10, cifar100
from gazelle.utils import file_utils


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty gazelle home, a Keras home with a datasets folder, and no network."""
    monkeypatch.setenv("GAZELLE_HOME", str(tmp_path / "gazelle"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    folder = tmp_path / "keras" / "datasets"
    folder.mkdir(parents=True)

    def offline(url):
        raise OSError(f"no network in tests ({url})")
    monkeypatch.setattr(file_utils, "_urlopen", offline)
    return folder


def _sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _batch(rng, n, **labels):
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    return pickle.dumps({b"data": data, **{k.encode(): v for k, v in labels.items()}},
                        protocol=4)  # as a Python 2 pickle reads: no _codecs


def _archive(path, folder, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path


def _cifar10_archive(path, seed=0):
    rng = np.random.default_rng(seed)
    members = {f"data_batch_{i}": _batch(rng, 3, labels=rng.integers(0, 10, 3).tolist())
               for i in range(1, 6)}
    members["test_batch"] = _batch(rng, 4, labels=rng.integers(0, 10, 4).tolist())
    return _archive(path, "cifar-10-batches-py", members)


def _cifar100_archive(path):
    rng = np.random.default_rng(1)
    members = {name: _batch(rng, n, fine_labels=rng.integers(0, 100, n).tolist(),
                            coarse_labels=rng.integers(0, 20, n).tolist())
               for name, n in (("train", 7), ("test", 5))}
    return _archive(path, "cifar-100-python", members)


def _patch_hash(monkeypatch, name, file):
    spec = getattr(_cifar, name)
    monkeypatch.setattr(_cifar, name, dataclasses.replace(spec, sha256=_sha256(file)))


@pytest.mark.parametrize("name", ["cifar-10-batches-py-target_archive",
                                  "cifar-10-batches-py.tar.gz", "cifar-10-python.tar.gz"])
def test_cifar10_from_keras_cache_matches_keras_batches(cache, monkeypatch, name):
    k3_cifar = pytest.importorskip("keras.src.datasets.cifar")
    file = _cifar10_archive(cache / name)
    _patch_hash(monkeypatch, "CIFAR10", file)
    (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    extracted = cache / "extracted"
    with tarfile.open(file) as tar:
        tar.extractall(extracted, filter="data")
    parts = [k3_cifar.load_batch(str(extracted / "cifar-10-batches-py" / f"data_batch_{i}"))
             for i in range(1, 6)]
    want_x = np.concatenate([p[0] for p in parts]).transpose(0, 2, 3, 1)
    want_y = np.concatenate([p[1] for p in parts]).reshape(-1, 1)
    test_x, test_y = k3_cifar.load_batch(str(extracted / "cifar-10-batches-py" / "test_batch"))
    assert x_train.dtype == x_test.dtype == y_train.dtype == y_test.dtype == np.uint8
    assert x_train.shape == (15, 32, 32, 3) and y_train.shape == (15, 1)
    np.testing.assert_array_equal(x_train, want_x)
    np.testing.assert_array_equal(y_train, want_y)
    np.testing.assert_array_equal(x_test, test_x.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(y_test[:, 0], test_y)


@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_cifar100_matches_keras(cache, monkeypatch, label_mode, data_format):
    k3_module = pytest.importorskip("keras.src.datasets.cifar100")
    import keras as k3
    file = _cifar100_archive(cache / "cifar-100-python-target_archive")
    _patch_hash(monkeypatch, "CIFAR100", file)
    extracted = cache / "cifar-100-python-target"
    with tarfile.open(file) as tar:
        tar.extractall(extracted, filter="data")
    monkeypatch.setattr(k3_module, "get_file", lambda *a, **k: str(extracted))
    old_ours, old_theirs = config.image_data_format(), k3.config.image_data_format()
    config.set_image_data_format(data_format)
    k3.config.set_image_data_format(data_format)
    try:
        ours = cifar100.load_data(label_mode)
        theirs = k3_module.load_data(label_mode)
    finally:
        config.set_image_data_format(old_ours)
        k3.config.set_image_data_format(old_theirs)
    for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_cifar100_rejects_bad_label_mode():
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data("medium")


def test_cifar_offline_error_names_the_file_and_folder(cache):
    with pytest.raises(FileNotFoundError) as info:
        cifar10.load_data()
    message = str(info.value)
    assert "cifar-10-python.tar.gz" in message and str(cache) in message
    assert "no network" in message and "toronto" in message
    (cache / "cifar-100-python.tar.gz").write_bytes(b"not the archive")
    with pytest.raises(FileNotFoundError, match="Rejected \\(wrong sha256\\)"):
        cifar100.load_data()


def test_cifar_downloads_when_the_network_allows(cache, monkeypatch, tmp_path):
    payload = open(_cifar10_archive(tmp_path / "served.tar.gz", seed=3), "rb").read()
    monkeypatch.setattr(_cifar, "CIFAR10",
                        dataclasses.replace(_cifar.CIFAR10,
                                            sha256=hashlib.sha256(payload).hexdigest()))

    class Response(io.BytesIO):
        headers = {"Content-Length": str(len(payload))}

    urls = []
    monkeypatch.setattr(file_utils, "_urlopen", lambda url: urls.append(url) or Response(payload))
    (x_train, _), _ = cifar10.load_data()
    assert urls == [_cifar.CIFAR10.url] and x_train.shape == (15, 32, 32, 3)
    saved = tmp_path / "gazelle" / "datasets" / "cifar-10-python.tar.gz"
    assert saved.read_bytes() == payload
    cifar10.load_data()                        # now from the cache: no second download
    assert len(urls) == 1


def test_cifar_refuses_pickles_that_are_not_arrays(cache, monkeypatch):
    evil = pickle.dumps({b"data": os.getcwd, b"labels": []}, protocol=4)
    file = _archive(cache / "cifar-10-python.tar.gz", "cifar-10-batches-py",
                    {f"data_batch_{i}": evil for i in range(1, 6)})
    _patch_hash(monkeypatch, "CIFAR10", file)
    with pytest.raises(pickle.UnpicklingError, match="Refusing"):
        cifar10.load_data()


@pytest.mark.parametrize("kwargs", [{}, {"test_split": 0.35, "seed": 7}, {"test_split": 0.0}])
def test_boston_housing_matches_keras(cache, monkeypatch, kwargs):
    k3_module = pytest.importorskip("keras.src.datasets.boston_housing")
    rng = np.random.default_rng(2)
    file = cache / "boston_housing.npz"
    np.savez(file, x=rng.normal(size=(40, 13)), y=rng.uniform(5, 50, 40))
    monkeypatch.setattr(boston_housing, "_SHA256", _sha256(file))
    monkeypatch.setattr(k3_module, "get_file", lambda *a, **k: str(file))
    ours = keras.datasets.boston_housing.load_data(**kwargs)
    theirs = k3_module.load_data(**kwargs)
    for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    explicit = boston_housing.load_data(path=str(file), **kwargs)
    np.testing.assert_array_equal(explicit[0][0], ours[0][0])


def test_boston_housing_errors(cache):
    with pytest.raises(ValueError, match="test_split"):
        boston_housing.load_data(test_split=1.0)
    with pytest.raises(FileNotFoundError) as info:
        boston_housing.load_data()
    assert "boston_housing.npz" in str(info.value) and str(cache) in str(info.value)
