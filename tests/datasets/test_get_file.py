"""get_file: cache layout, hash checks, atomic downloads and safe extraction (file:// only)."""
import hashlib
import io
import os
import tarfile
import zipfile

import pytest

from gazelle.utils import file_utils
from gazelle.utils.file_utils import get_file


@pytest.fixture
def origin(offline):
    source = offline / "server" / "data.csv"
    source.parent.mkdir()
    source.write_bytes(b"a,b\n1,2\n")
    return source


def count_urlopen(monkeypatch):
    calls = []
    real = file_utils._urlopen
    monkeypatch.setattr(file_utils, "_urlopen", lambda url: calls.append(url) or real(url))
    return calls


def test_downloads_into_cache_like_keras(origin, offline, capsys):
    import keras

    (offline / "theirs").mkdir()  # Keras falls back to /tmp/.keras for a missing cache_dir
    ours = get_file("data.csv", origin=origin.as_uri(), cache_dir=offline / "ours")
    theirs = keras.utils.get_file("data.csv", origin=origin.as_uri(),
                                  cache_dir=str(offline / "theirs"))
    assert os.path.relpath(ours, offline / "ours") == os.path.relpath(theirs, offline / "theirs")
    assert open(ours, "rb").read() == open(theirs, "rb").read() == origin.read_bytes()
    out = capsys.readouterr().out
    assert f"Downloading data from {origin.as_uri()}" in out
    assert "8/8 [==============================]" in out  # tf.keras 2's download bar


def test_default_cache_dir_is_gazelle_home_and_file_is_reused(origin, offline, monkeypatch):
    calls = count_urlopen(monkeypatch)
    sha = hashlib.sha256(origin.read_bytes()).hexdigest()
    path = get_file(origin=origin.as_uri(), file_hash=sha)
    assert path == str(offline / "gazelle_home" / "datasets" / "data.csv")
    assert get_file(origin=origin.as_uri(), file_hash=sha) == path
    assert len(calls) == 1


def test_md5_hash_is_accepted(origin, offline):
    md5 = hashlib.md5(origin.read_bytes()).hexdigest()
    assert os.path.exists(get_file("d.csv", origin.as_uri(), md5_hash=md5, cache_dir=offline))


def test_wrong_hash_raises_and_leaves_no_file(origin, offline):
    with pytest.raises(ValueError, match="corrupt or incomplete: expected sha256 0{64}"):
        get_file("data.csv", origin=origin.as_uri(), file_hash="0" * 64, cache_dir=offline / "c")
    assert os.listdir(offline / "c" / "datasets") == []


def test_stale_cached_file_is_downloaded_again(origin, offline, capsys):
    cached = offline / "c" / "datasets" / "data.csv"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"old")
    sha = hashlib.sha256(origin.read_bytes()).hexdigest()
    get_file("data.csv", origin=origin.as_uri(), file_hash=sha, cache_dir=offline / "c")
    assert cached.read_bytes() == origin.read_bytes()
    assert "will re-download" in capsys.readouterr().out


class Partial(io.BytesIO):
    headers = {"Content-Length": "1000"}


def test_partial_download_leaves_no_file(offline, monkeypatch):
    monkeypatch.setattr(file_utils, "_urlopen", lambda url: Partial(b"x" * 10))
    with pytest.raises(OSError, match="incomplete: received 10 of 1000 bytes"):
        get_file("big.bin", origin="https://example.invalid/big.bin", cache_dir=offline / "c")
    assert os.listdir(offline / "c" / "datasets") == []


@pytest.mark.parametrize("kwargs, match", [
    ({"origin": None}, "origin"),
    ({"origin": "https://example.invalid/x", "hash_algorithm": "sha1"},
     r"hash_algorithm must be one of \['auto', 'sha256', 'md5'\], received 'sha1'"),
    ({"origin": "https://example.invalid/"}, "pass the `fname` argument"),
])
def test_bad_arguments(kwargs, match, offline):
    with pytest.raises(ValueError, match=match):
        get_file(cache_dir=offline, **kwargs)


def make_tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_untar_returns_the_folder_like_tf_keras_2(offline):
    archive = offline / "flowers.tgz"
    make_tar(archive, {"flowers/daisy/1.jpg": b"jpg"})
    path = get_file("flowers", origin=archive.as_uri(), untar=True, cache_dir=offline / "c")
    assert path == str(offline / "c" / "datasets" / "flowers")
    assert (offline / "c" / "datasets" / "flowers.tar.gz").exists()
    assert (offline / "c" / "datasets" / "flowers" / "daisy" / "1.jpg").read_bytes() == b"jpg"


def test_extract_returns_the_archive_like_tf_keras_2_not_keras_3(offline):
    import keras

    archive = offline / "flowers.tgz"
    make_tar(archive, {"flower_photos/daisy/1.jpg": b"jpg"})
    ours = get_file("flower_photos.tar", origin=archive.as_uri(), extract=True,
                    cache_dir=offline / "ours")
    # tf.keras 2 (and gazelle): the archive path; contents land beside it, so the
    # tutorial's `pathlib.Path(path).with_suffix("")` is the photo folder.
    assert ours == str(offline / "ours" / "datasets" / "flower_photos.tar")
    assert (offline / "ours" / "datasets" / "flower_photos" / "daisy" / "1.jpg").exists()
    # Keras 3 differs on purpose: it returns a separate "<name>_extracted" folder.
    (offline / "theirs").mkdir()
    theirs = keras.utils.get_file("flower_photos.tar", origin=archive.as_uri(), extract=True,
                                  cache_dir=str(offline / "theirs"))
    assert os.path.basename(theirs) == "flower_photos_extracted"


def test_tar_member_escaping_the_folder_is_refused(offline):
    archive = offline / "evil.tgz"
    make_tar(archive, {"ok.txt": b"ok", "../evil.txt": b"gotcha"})
    with pytest.raises(ValueError, match=r"member '../evil.txt' that would reach outside"):
        get_file("evil", origin=archive.as_uri(), untar=True, cache_dir=offline / "c")
    assert not (offline / "c" / "evil.txt").exists()
    assert not (offline / "c" / "datasets" / "ok.txt").exists()


def test_tar_symlink_escaping_the_folder_is_refused(offline):
    archive = offline / "link.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("link")
        info.type, info.linkname = tarfile.SYMTYPE, "../../outside"
        tar.addfile(info)
    with pytest.raises(ValueError, match="member 'link' that would reach outside"):
        file_utils.extract_archive(archive, offline / "out")


def test_zip_member_escaping_the_folder_is_refused(offline):
    archive = offline / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../evil.txt", b"gotcha")
    with pytest.raises(ValueError, match="would reach outside"):
        get_file("evil.zip", origin=archive.as_uri(), extract=True, cache_dir=offline / "c")
    assert not (offline / "c" / "evil.txt").exists()


def test_zip_extracts(offline):
    archive = offline / "good.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("good/a.txt", b"a")
    assert file_utils.extract_archive(archive, offline / "out", archive_format="zip")
    assert (offline / "out" / "good" / "a.txt").read_bytes() == b"a"
    assert not file_utils.extract_archive(archive, offline / "out", archive_format="tar")
    with pytest.raises(ValueError, match="archive_format must be"):
        file_utils.extract_archive(archive, offline / "out", archive_format="rar")
