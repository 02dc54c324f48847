"""Download-and-cache helpers: `get_file`, file hashing, atomic downloads, safe extraction.

[leaf: stdlib only, never jax.] A download is written to a temporary file beside its
target, checked against the expected hash, and only then moved into place with
`os.replace`, so a cache never holds a partial or corrupt file under its real name.
Archive members that would land outside the extraction folder are refused.
"""
import contextlib
import hashlib
import os
import tarfile
import tempfile
import urllib.parse
import urllib.request
import zipfile

_HASH_ALGORITHMS = ("auto", "sha256", "md5")
_ARCHIVE_FORMATS = ("tar", "zip")


def gazelle_home():
    """Returns gazelle's cache root: `$GAZELLE_HOME`, or `~/.gazelle` when it is unset."""
    return os.path.expanduser(os.environ.get("GAZELLE_HOME") or os.path.join("~", ".gazelle"))


def keras_home():
    """Returns the Keras cache root: `$KERAS_HOME`, or `~/.keras` when it is unset."""
    return os.path.expanduser(os.environ.get("KERAS_HOME") or os.path.join("~", ".keras"))


def _hasher(algorithm, file_hash=None):
    if algorithm not in _HASH_ALGORITHMS:
        raise ValueError(
            f"hash_algorithm must be one of {list(_HASH_ALGORITHMS)}, received {algorithm!r}.")
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None
                                 and len(file_hash) == 64):
        return hashlib.sha256()
    if algorithm == "auto" and file_hash is None:
        return hashlib.sha256()
    return hashlib.md5()


def hash_file(fpath, algorithm="sha256", chunk_size=1 << 20):
    """Calculates the sha256 or md5 hash of a file.

    Args:
        fpath: Path to the file.
        algorithm: Hash algorithm, one of `"auto"`, `"sha256"` or `"md5"`. Defaults to
            `"sha256"` (`"auto"` also means sha256 here, since no hash is given to guess from).
        chunk_size: Bytes to read at a time. Defaults to 1 MiB.

    Returns:
        The hash as a lowercase hex string.
    """
    hasher = _hasher(algorithm)
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=1 << 20):
    """Validates a file against a sha256 or md5 hash.

    Args:
        fpath: Path to the file.
        file_hash: The expected hash string (sha256 or md5, hex).
        algorithm: Hash algorithm, one of `"auto"`, `"sha256"` or `"md5"`. The default
            `"auto"` picks sha256 for a 64-character hash and md5 otherwise.
        chunk_size: Bytes to read at a time. Defaults to 1 MiB.

    Returns:
        Whether the file's hash equals `file_hash`.
    """
    hasher = _hasher(algorithm, file_hash)
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest() == str(file_hash).lower()


def _urlopen(url):
    # The single door to the network; tests replace it.
    return urllib.request.urlopen(url, timeout=60)


def download(url, target, file_hash=None, hash_algorithm="auto", progress=False):
    """Downloads `url` to `target` atomically and returns `target`.

    The bytes go to a temporary file in the target's folder. A short read (fewer bytes
    than the server announced) or a hash mismatch raises, and the temporary file is
    removed; only a complete, verified file is moved onto `target` (`os.replace`).

    Args:
        url: The URL to fetch (`http(s)://` or `file://`).
        target: Final path of the file.
        file_hash: Expected sha256 or md5 of the file, or `None` to skip the check.
        hash_algorithm: `"auto"`, `"sha256"` or `"md5"`. Defaults to `"auto"`.
        progress: Show tf.keras 2's byte-count progress bar. Defaults to `False`.
    """
    hasher = _hasher(hash_algorithm, file_hash)
    folder = os.path.dirname(os.path.abspath(target))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".part", dir=folder)
    try:
        size = 0
        with os.fdopen(fd, "wb") as out, _urlopen(url) as response:
            announced = response.headers.get("Content-Length") if response.headers else None
            bar = _progbar(int(announced) if announced else None) if progress else None
            for chunk in iter(lambda: response.read(1 << 16), b""):
                out.write(chunk)
                hasher.update(chunk)
                size += len(chunk)
                if bar is not None:
                    bar.update(size)
        if announced is not None and size != int(announced):
            raise OSError(f"Download of {url} is incomplete: received {size} of {announced} bytes.")
        if file_hash is not None and hasher.hexdigest() != str(file_hash).lower():
            raise ValueError(
                f"Downloaded file from {url} is corrupt or incomplete: expected {hasher.name} "
                f"{file_hash}, got {hasher.hexdigest()}. Nothing was saved to {target}.")
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    return target


def _progbar(total_bytes):
    from gazelle.utils.progbar import Progbar  # only needed while downloading

    return Progbar(total_bytes)


def _check_members(archive_path, folder, members):
    """Raises unless every (member name, path it writes or points to) stays inside `folder`."""
    folder = os.path.realpath(folder)
    for name, relative in members:
        target = os.path.realpath(os.path.join(folder, relative))
        if os.path.isabs(relative) or os.path.commonpath([target, folder]) != folder:
            raise ValueError(
                f"Archive {archive_path} has a member {name!r} that would reach outside "
                f"the extraction folder {folder}; refusing to extract it.")


def _tar_paths(member):
    yield member.name, member.name
    if member.issym():  # resolved from the link's own folder
        yield member.name, os.path.join(os.path.dirname(member.name), member.linkname)
    elif member.islnk():  # resolved from the archive root
        yield member.name, member.linkname


def extract_archive(file_path, path=".", archive_format="auto"):
    """Extracts a tar or zip archive, refusing members that would escape `path`.

    Args:
        file_path: Path to the archive file.
        path: Where to extract the archive. Defaults to `"."`.
        archive_format: `"auto"`, `"tar"`, `"zip"`, a list of these, or `None`. `"tar"`
            covers tar, tar.gz and tar.bz2; `"auto"` tries `["tar", "zip"]`. Defaults to
            `"auto"`.

    Returns:
        `True` if the file matched a format and was extracted, `False` otherwise.
    """
    if archive_format is None:
        return False
    formats = list(_ARCHIVE_FORMATS) if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format))
    for fmt in formats:
        if fmt not in _ARCHIVE_FORMATS:
            raise ValueError(f"archive_format must be 'auto', 'tar', 'zip' or None, "
                             f"received {archive_format!r}.")
    os.makedirs(path, exist_ok=True)
    for fmt in formats:
        if fmt == "tar" and tarfile.is_tarfile(file_path):
            with tarfile.open(file_path) as archive:
                members = archive.getmembers()
                _check_members(file_path, path, [p for m in members for p in _tar_paths(m)])
                for m in members:
                    if not (m.isfile() or m.isdir() or m.issym() or m.islnk()):
                        raise ValueError(f"Archive {file_path} has a special member {m.name!r} "
                                         "(device or fifo); refusing to extract it.")
                archive.extractall(path, members=members, **_tar_filter())
            return True
        if fmt == "zip" and zipfile.is_zipfile(file_path):
            with zipfile.ZipFile(file_path) as archive:
                _check_members(file_path, path, [(n, n) for n in archive.namelist()])
                archive.extractall(path)
            return True
    return False


def _tar_filter():
    # Python >= 3.11.4 has the "data" filter (no devices, no setuid bits, no escapes).
    return {"filter": "data"} if hasattr(tarfile, "data_filter") else {}


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False,
             archive_format="auto", cache_dir=None, force_download=False):
    """Downloads a file from a URL if it is not already in the cache.

    The file at `origin` is saved as `cache_dir/cache_subdir/fname`, by default
    `~/.gazelle/datasets/fname` (`$GAZELLE_HOME` moves the root). A cached file whose hash
    does not match `file_hash` is downloaded again. Downloads are atomic: a failed,
    partial or corrupt download leaves no file behind.

    The return value follows tf.keras 2 (Keras 3 differs on purpose): with `untar=True`
    the archive is saved as `fname + ".tar.gz"`, extracted into the cache folder, and
    `cache_dir/cache_subdir/fname` is returned; with `extract=True` the archive is
    extracted into the cache folder and the archive's own path is returned.

    Example:

    ```python
    path = get_file("flower_photos", origin="https://example.com/flower_photos.tgz",
                    untar=True)
    ```

    Args:
        fname: Name of the file. If an absolute path, the file is saved there. If `None`,
            the name of the file at `origin` is used.
        origin: Original URL of the file.
        untar: Deprecated in favor of `extract`. Boolean, whether the file is a tar archive
            that should be extracted. Defaults to `False`.
        md5_hash: Deprecated in favor of `file_hash`. md5 hash of the file for verification.
        file_hash: The expected hash string of the file after download. The sha256 and md5
            hash algorithms are both supported.
        cache_subdir: Subdirectory under the cache dir where the file is saved. If an
            absolute path is given, the file is saved at that location. Defaults to
            `"datasets"`.
        hash_algorithm: Select the hash algorithm to verify the file. Options are `"md5"`,
            `"sha256"`, and `"auto"`. The default `"auto"` detects the algorithm in use.
        extract: If `True`, extracts the archive (tar or zip). Defaults to `False`.
        archive_format: Archive format to try when extracting: `"auto"`, `"tar"`, `"zip"`
            or `None`. `"auto"` corresponds to `["tar", "zip"]`. Defaults to `"auto"`.
        cache_dir: Location to store cached files. When `None`, defaults to
            `$GAZELLE_HOME` or `~/.gazelle`.
        force_download: If `True`, the file is always downloaded again. Defaults to `False`.

    Returns:
        Path to the downloaded file (or the extraction folder with `untar=True`).
    """
    if not origin:
        raise ValueError("get_file: the `origin` argument (URL of the file to download) "
                         f"is required, received origin={origin!r}.")
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    _hasher(hash_algorithm, file_hash)  # validates hash_algorithm early
    base = os.path.expanduser(os.fspath(cache_dir)) if cache_dir is not None else gazelle_home()
    with contextlib.suppress(OSError):
        os.makedirs(base, exist_ok=True)
    if not os.access(base, os.W_OK):  # e.g. a read-only home: fall back like Keras
        base = os.path.join(tempfile.gettempdir(), ".gazelle")
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)

    fname = os.fspath(fname) if fname is not None else ""
    if not fname:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(f"get_file: cannot take a file name from origin={origin!r}; "
                             "pass the `fname` argument.")
    if untar:
        if fname.endswith(".tar.gz"):
            fname = fname[:-len(".tar.gz")]
        untar_fpath = os.path.join(datadir, fname)
        fpath = untar_fpath + ".tar.gz"
    else:
        fpath = os.path.join(datadir, fname)

    need = force_download or not os.path.exists(fpath)
    if not need and file_hash is not None and not validate_file(fpath, file_hash, hash_algorithm):
        print("A local file was found, but it seems to be incomplete or outdated because the "
              f"{hash_algorithm} file hash does not match the original value of {file_hash} "
              "so we will re-download the data.")
        need = True
    if need:
        print(f"Downloading data from {origin}")
        download(origin, fpath, file_hash, hash_algorithm, progress=True)

    if untar:
        if not os.path.exists(untar_fpath):
            extract_archive(fpath, datadir, archive_format="tar")
        return untar_fpath
    if extract:
        extract_archive(fpath, datadir, archive_format)
    return fpath
