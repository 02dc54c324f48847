"""Lookup order, sha256 checks and safe downloads, on tiny synthetic IDX files."""
import dataclasses
import gzip
import hashlib
import io
import os
import struct
import urllib.error

import numpy as np
import pytest

from gazelle.datasets import _files, mnist
from gazelle.utils import file_utils

NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def idx(array):
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


def tiny_arrays(offset=0):
    rng = np.random.default_rng(offset)
    return ((rng.integers(0, 256, (3, 28, 28)), np.array([5, 0, 4]) + offset),
            (rng.integers(0, 256, (2, 28, 28)), np.array([7, 2]) + offset))


def tiny_contents(offset=0):
    (xtr, ytr), (xte, yte) = tiny_arrays(offset)
    return dict(zip(NAMES, (idx(xtr), idx(ytr), idx(xte), idx(yte))))


def write(folder, contents):
    os.makedirs(folder, exist_ok=True)
    for name, data in contents.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    return str(folder)


def spec(contents, mirrors=(), keras_subdir="tiny"):
    files = tuple((n, hashlib.sha256(contents[n]).hexdigest()) for n in NAMES)
    return _files.Dataset("tiny", (_files.FileSet(files, mirrors),), keras_subdir)


@pytest.fixture
def places(offline, monkeypatch):
    bundled = offline / "bundled"
    monkeypatch.setattr(_files, "BUNDLED_DIR", str(bundled))
    return {"explicit": offline / "explicit", "home": offline / "gazelle_home/datasets/tiny",
            "bundled": bundled / "tiny", "keras": offline / "keras_home/datasets/tiny"}


def folder_of(found):
    _, paths = found
    folders = {os.path.dirname(p) for p in paths.values()}
    assert len(folders) == 1
    return folders.pop()


def test_lookup_order_explicit_home_bundled_keras(places):
    contents = tiny_contents()
    for folder in places.values():
        write(folder, contents)
    dataset = spec(contents)
    assert folder_of(_files.find(dataset, places["explicit"])) == str(places["explicit"])
    for name in ("home", "bundled", "keras"):
        assert folder_of(_files.find(dataset)) == str(places[name])
        for n in NAMES:
            os.remove(places[name] / n)


def test_absent_explicit_path_falls_back_to_home(places):
    contents = tiny_contents()
    write(places["home"], contents)
    found = _files.find(spec(contents), places["explicit"] / "missing")
    assert folder_of(found) == str(places["home"])


def test_corrupt_explicit_file_is_an_error_naming_file_and_hashes(places):
    contents = tiny_contents()
    write(places["home"], contents)  # a valid copy exists, but the explicit one wins
    bad = dict(contents, **{NAMES[1]: idx(np.array([9, 9, 9]))})
    write(places["explicit"], bad)
    with pytest.raises(ValueError) as info:
        _files.find(spec(contents), places["explicit"])
    message = str(info.value)
    assert str(places["explicit"] / NAMES[1]) in message
    assert hashlib.sha256(contents[NAMES[1]]).hexdigest() in message
    assert hashlib.sha256(bad[NAMES[1]]).hexdigest() in message


def test_corrupt_home_file_is_skipped_with_a_warning(places):
    contents = tiny_contents()
    truncated = dict(contents, **{NAMES[0]: contents[NAMES[0]][:50]})
    write(places["home"], truncated)
    write(places["bundled"], contents)
    with pytest.warns(UserWarning, match="corrupt or incomplete.*Skipping"):
        found = _files.find(spec(contents))
    assert folder_of(found) == str(places["bundled"])


def test_explicit_folder_without_the_files_is_an_error(places):
    os.makedirs(places["explicit"])
    with pytest.raises(ValueError, match="without the tiny files: expected.*train-images"):
        _files.find(spec(tiny_contents()), places["explicit"])


def test_explicit_unknown_file_is_an_error(places, offline):
    stray = offline / "stray.npz"
    stray.write_bytes(b"not a dataset")
    with pytest.raises(ValueError, match="not a known mnist file.*mnist.npz \\(sha256 731c5ac6"):
        _files.find(mnist.DATASET, stray)


def test_path_of_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match="path must be a str or os.PathLike.*received int: 3"):
        mnist.load_data(path=3)


def test_offline_error_says_where_files_were_looked_for(places, monkeypatch):
    def offline_urlopen(url):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(file_utils, "_urlopen", offline_urlopen)
    with pytest.raises(FileNotFoundError) as info:
        _files.find(spec(tiny_contents(), mirrors=("https://example.invalid/",)))
    message = str(info.value)
    for name in ("home", "bundled", "keras"):
        assert str(places[name]) in message
    assert "example.invalid" in message and "pass path=" in message


class FakeResponse(io.BytesIO):
    def __init__(self, data, announced=None, fail_after=None):
        super().__init__(data)
        self.headers = {"Content-Length": str(announced if announced is not None else len(data))}
        self.fail_after = fail_after

    def read(self, n=-1):
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise ConnectionResetError("connection dropped")
        return super().read(n if self.fail_after is None else min(n, self.fail_after))


def leftovers(folder):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


@pytest.mark.parametrize("mode", ["short", "dropped", "wrong_bytes"])
def test_failed_download_never_leaves_a_file(places, monkeypatch, mode):
    contents = tiny_contents()
    urls = []

    def fake_urlopen(url):
        urls.append(url)
        data = contents[os.path.basename(url)]
        if mode == "short":  # server announces more than it sends
            return FakeResponse(data[: len(data) // 2], announced=len(data))
        if mode == "dropped":
            return FakeResponse(data, fail_after=len(data) // 2)
        return FakeResponse(tiny_contents(1)[os.path.basename(url)])

    monkeypatch.setattr(file_utils, "_urlopen", fake_urlopen)
    with pytest.raises(FileNotFoundError, match="Download failed"):
        _files.find(spec(contents, mirrors=("https://mirror-a/", "https://mirror-b/")))
    assert urls == ["https://mirror-a/" + NAMES[0], "https://mirror-b/" + NAMES[0]]
    assert leftovers(places["home"]) == []


def test_download_goes_to_gazelle_home_and_is_reused(places, monkeypatch):
    contents = tiny_contents()
    urls = []

    def fake_urlopen(url):
        urls.append(url)
        return FakeResponse(contents[os.path.basename(url)])

    monkeypatch.setattr(file_utils, "_urlopen", fake_urlopen)
    dataset = spec(contents, mirrors=("https://mirror/",))
    assert folder_of(_files.find(dataset)) == str(places["home"])
    assert leftovers(places["home"]) == sorted(NAMES)
    assert folder_of(_files.find(dataset)) == str(places["home"])
    assert len(urls) == 4


def test_verification_is_cached_by_path_size_and_mtime(places, monkeypatch):
    contents = tiny_contents()
    write(places["home"], contents)
    calls = []
    real_hash = file_utils.hash_file
    monkeypatch.setattr(file_utils, "hash_file", lambda *a: calls.append(a) or real_hash(*a))
    dataset = spec(contents)
    _files.find(dataset)
    _files.find(dataset)
    assert len(calls) == 4
    path = places["home"] / NAMES[3]
    path.write_bytes(idx(np.array([1, 1])))  # same size, new content and mtime
    os.utime(path, ns=(1, 1))
    with pytest.warns(UserWarning, match="corrupt"):
        with pytest.raises(FileNotFoundError):
            _files.find(dataset)


def test_mnist_load_data_reads_path_and_prefers_gazelle_home_to_bundled(monkeypatch, offline):
    # The real bundled files stay visible here (and valid for the second file set).
    contents = tiny_contents()
    tiny_set = spec(contents).file_sets[0]
    monkeypatch.setattr(mnist, "DATASET", dataclasses.replace(
        mnist.DATASET, file_sets=(tiny_set,) + mnist.DATASET.file_sets))
    (xtr, ytr), (xte, yte) = tiny_arrays()
    write(offline / "explicit", contents)
    got = mnist.load_data(path=str(offline / "explicit"))
    np.testing.assert_array_equal(got[0][0], xtr)
    np.testing.assert_array_equal(got[0][1], ytr)
    np.testing.assert_array_equal(got[1][0], xte)
    np.testing.assert_array_equal(got[1][1], yte)
    write(offline / "gazelle_home/datasets/mnist", contents)
    (got_x, got_y), _ = mnist.load_data()
    assert got_y.tolist() == [5, 0, 4] and got_x.shape == (3, 28, 28)


def test_mnist_reads_a_keras_npz_from_the_keras_cache(places, monkeypatch, offline):
    (xtr, ytr), (xte, yte) = tiny_arrays()
    keras_npz = offline / "keras_home/datasets/mnist.npz"
    os.makedirs(keras_npz.parent)
    np.savez(keras_npz, x_train=xtr.astype(np.uint8), y_train=ytr.astype(np.uint8),
             x_test=xte.astype(np.uint8), y_test=yte.astype(np.uint8))
    npz_set = _files.FileSet((("mnist.npz", hashlib.sha256(keras_npz.read_bytes()).hexdigest()),))
    monkeypatch.setattr(mnist, "DATASET", dataclasses.replace(
        mnist.DATASET, file_sets=(mnist.DATASET.file_sets[0], npz_set)))
    (got_x, got_y), (got_xt, got_yt) = mnist.load_data()  # bundled IDX is hidden by `places`
    np.testing.assert_array_equal(got_x, xtr)
    np.testing.assert_array_equal(got_yt, yte)
