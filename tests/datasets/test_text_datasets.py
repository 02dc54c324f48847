"""Text datasets: bundled Tiny Shakespeare and sentence polarity; imdb and reuters from a
Keras cache folder (tiny synthetic npz files, hashes patched: never the network).

The imdb/reuters post-processing is compared with Keras 3's own `load_data`, pointed at
the same synthetic file through its `path=` argument and a patched `get_file`.
"""
import hashlib
import json

import numpy as np
import pytest

import gazelle as keras
from gazelle.datasets import imdb, reuters
from gazelle.utils import file_utils


def test_shakespeare_bundled():
    text = keras.datasets.shakespeare.load_data()
    assert isinstance(text, str)
    assert len(text) == 1115394 and len(set(text)) == 65
    assert text.startswith("First Citizen:")


def test_rt_polarity_bundled():
    sentences, labels = keras.datasets.rt_polarity.load_data()
    assert sentences.shape == labels.shape == (10662,)
    assert labels[:5331].tolist() == [1] * 5331 and labels[5331:].tolist() == [0] * 5331
    assert sentences[0].startswith("the rock is destined")
    assert all(s == s.strip() and s for s in sentences[:100])


def _sequences(rng, n):
    out = np.empty(n, dtype=object)
    for i in range(n):
        out[i] = rng.integers(1, 40, rng.integers(2, 12)).tolist()
    return out


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


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


def _keras_reference(module_name, file, monkeypatch, **kwargs):
    k3_module = pytest.importorskip(f"keras.src.datasets.{module_name}")
    monkeypatch.setattr(k3_module, "get_file", lambda *a, **k: str(file))
    return k3_module.load_data(**kwargs)


def _assert_same(ours, ref):
    for (xo, yo), (xr, yr) in zip(ours, ref):
        assert [list(x) for x in xo] == [list(x) for x in xr]
        np.testing.assert_array_equal(yo, yr)


@pytest.mark.parametrize("kwargs", [{}, {"num_words": 20, "skip_top": 3},
                                    {"maxlen": 9, "oov_char": None, "seed": 5},
                                    {"start_char": None, "index_from": 0}])
def test_imdb_from_keras_cache(cache, monkeypatch, kwargs):
    rng = np.random.default_rng(0)
    file = cache / "imdb.npz"
    np.savez(file, x_train=_sequences(rng, 30), y_train=rng.integers(0, 2, 30),
             x_test=_sequences(rng, 20), y_test=rng.integers(0, 2, 20))
    monkeypatch.setitem(imdb._FILES, "imdb.npz", _sha256(file))
    ours = imdb.load_data(**kwargs)
    _assert_same(ours, _keras_reference("imdb", file, monkeypatch, **kwargs))
    assert len(ours[0][0]) + len(ours[1][0]) <= 50


@pytest.mark.parametrize("kwargs", [{}, {"num_words": 15, "test_split": 0.3, "seed": 1}])
def test_reuters_from_keras_cache(cache, monkeypatch, kwargs):
    rng = np.random.default_rng(1)
    file = cache / "reuters.npz"
    np.savez(file, x=_sequences(rng, 40), y=rng.integers(0, 46, 40))
    monkeypatch.setitem(reuters._FILES, "reuters.npz", _sha256(file))
    _assert_same(reuters.load_data(**kwargs),
                 _keras_reference("reuters", file, monkeypatch, **kwargs))
    assert len(reuters.get_label_names()) == 46


def test_word_index_and_md5(cache, monkeypatch):
    file = cache / "imdb_word_index.json"
    file.write_text(json.dumps({"the": 1, "and": 2}))
    monkeypatch.setitem(imdb._FILES, "imdb_word_index.json",
                        hashlib.md5(file.read_bytes()).hexdigest())
    assert imdb.get_word_index() == {"the": 1, "and": 2}


def test_missing_or_corrupt_file_says_where_to_put_it(cache):
    with pytest.raises(FileNotFoundError) as info:
        imdb.load_data()
    message = str(info.value)
    assert "imdb.npz" in message and str(cache) in message and "no network" in message
    (cache / "reuters.npz").write_bytes(b"not the file")
    with pytest.raises(FileNotFoundError, match="Rejected \\(wrong hash\\)"):
        reuters.load_data()
    bad = cache / "mine.npz"
    bad.write_bytes(b"nope")
    with pytest.raises(ValueError, match="hash differs"):
        reuters.load_data(path=str(bad))
