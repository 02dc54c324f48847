"""The `.keras` zip: `metadata.json`, `config.json`, `model.weights.h5`. [side: stdlib,
numpy, h5py, gazelle.utils.io, gazelle.saving]

Writing builds the whole archive in memory and replaces the file atomically. Reading
opens the archive in memory and checks it before anything is built: a bounded number of
members, member names that are plain relative names (they are never used as paths;
nothing is extracted), a bounded total size, a bounded `config.json`, and member sizes
checked while reading (a member's declared size is not trusted).
"""
import datetime
import io
import json
import zipfile
import zlib

import h5py

from gazelle.saving import limits, weights_layout

CONFIG_FILENAME = "config.json"
METADATA_FILENAME = "metadata.json"
WEIGHTS_FILENAME = "model.weights.h5"
# The Keras release whose file layout these files follow (checked against Keras 3.15.1).
KERAS_FORMAT_VERSION = "3.15.1"

MAX_MEMBERS = 1000
MAX_CONFIG_BYTES = 64 * 2**20
MAX_TOTAL_BYTES = 16 * 2**30
# Members above BOMB_FLOOR_BYTES may expand at most this much (Keras stores members
# uncompressed; JSON deflates about 10x).
MAX_COMPRESSION_RATIO = 100
BOMB_FLOOR_BYTES = 2**20
# What zipfile raises for a damaged archive or member (bad CRC or header, cut-short or
# invalid deflate data, an encrypted member, an unknown compression method).
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
               NotImplementedError, RuntimeError)


def _json_default(obj):
    import numpy as np
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"Cannot write {type(obj).__name__} {obj!r:.100} to a JSON config.")


def dumps(config):
    """The JSON text of a config (numpy scalars become numbers)."""
    return json.dumps(config, default=_json_default)


def archive_bytes(config, weights_writer):
    """The bytes of a `.keras` archive for `config`; `weights_writer(h5file)` fills the h5."""
    import gazelle
    metadata = {"keras_version": KERAS_FORMAT_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "saved_by": f"gazelle {gazelle.__version__}"}
    weights = io.BytesIO()
    with h5py.File(weights, "w") as h5file:
        weights_writer(h5file)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(METADATA_FILENAME, json.dumps(metadata))
        archive.writestr(CONFIG_FILENAME, dumps(config))
        archive.writestr(WEIGHTS_FILENAME, weights.getvalue())
    return buffer.getvalue()


def _safe_member_name(name):
    parts = name.split("/")
    return not (name.startswith("/") or "\\" in name or ":" in name or "\x00" in name
                or any(p in ("", ".", "..") for p in parts[:-1]) or parts[-1] in (".", ".."))


class Archive:
    """A `.keras` archive read into memory and checked; `read(name)` returns member bytes.

    Args:
        data: the file's bytes.
        filename: the file's name, for error messages.
    """

    def __init__(self, data, filename):
        self.filename = filename
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
        except _ZIP_ERRORS as e:
            raise ValueError(f"Cannot load '{filename}': not a valid .keras (zip) file "
                             f"({e}).") from None
        infos = self._zip.infolist()
        if len(infos) > MAX_MEMBERS:
            self._reject(f"it has {len(infos)} members (at most {MAX_MEMBERS} allowed)")
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            self._reject("it has duplicate member names")
        bad = [n for n in names if not _safe_member_name(n)]
        if bad:
            self._reject(f"member name {bad[0]!r} is not a plain relative name (absolute "
                         "path, '..' or drive); such archives are refused")
        total = sum(i.file_size for i in infos)
        if total > MAX_TOTAL_BYTES:
            self._reject(f"its members declare {total} bytes uncompressed (at most "
                         f"{MAX_TOTAL_BYTES} allowed)")
        for info in infos:
            if info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1) and (
                    info.file_size > BOMB_FLOOR_BYTES):
                self._reject(f"member {info.filename!r} expands {info.file_size} bytes from "
                             f"{info.compress_size} (a decompression bomb)")
        self._infos = {i.filename: i for i in infos}
        self._read_so_far = 0

    def _reject(self, reason):
        raise ValueError(f"Cannot load '{self.filename}': {reason}.")

    def names(self):
        return list(self._infos)

    def read(self, name, limit=None):
        """Member bytes, reading at most `limit` (and the total budget) bytes."""
        info = self._infos.get(name)
        if info is None:
            self._reject(f"the archive has no '{name}' member")
        limit = min(limit or MAX_TOTAL_BYTES, MAX_TOTAL_BYTES - self._read_so_far)
        if info.file_size > limit:
            self._reject(f"member '{name}' declares {info.file_size} bytes, more than the "
                         f"{limit} bytes it may hold here (the weights of the model its config "
                         "describes, with room for optimizer state)")
        try:
            with self._zip.open(info) as member:
                data = member.read(limit + 1)
        except _ZIP_ERRORS as e:
            self._reject(f"member '{name}' is damaged ({type(e).__name__}: {e})")
        if len(data) > limit:
            self._reject(f"member '{name}' is larger than its limit of {limit} bytes")
        self._read_so_far += len(data)
        return data

    def read_json(self, name):
        return limits.parse_json(self.read(name, MAX_CONFIG_BYTES),
                                 f"Cannot load '{self.filename}': '{name}'")

    def has(self, name):
        return name in self._infos

    def open_weights(self, limit=None):
        """The weights as an open read-only h5py File (in memory), or None if absent.

        Args:
            limit: the most bytes the member may inflate to (checked against its declared
                size before reading, and while reading).
        """
        if WEIGHTS_FILENAME not in self._infos:
            return None
        data = self.read(WEIGHTS_FILENAME, limit)
        try:
            return h5py.File(io.BytesIO(data), "r")
        except OSError as e:
            self._reject(f"'{WEIGHTS_FILENAME}' is not a valid HDF5 file ({e})")


def write_weights(model, include_optimizer=True):
    """A `weights_writer` for `archive_bytes` that writes the model's variables."""
    return lambda h5file: weights_layout.write(h5file, model, include_optimizer)
