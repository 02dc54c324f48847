"""IDX reader: the MNIST file format, as pure functions over bytes. [leaf: stdlib + numpy]

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the values in row-major order.
"""
import gzip

import numpy as np

# Type code in the magic number -> big-endian numpy dtype.
_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(data, name="IDX data"):
    """Returns the array stored in IDX bytes `data`; `name` is used in error messages."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise ValueError(f"{name} is not an IDX file: expected a magic number 0x0000TTNN with "
                         f"type TT in {sorted(hex(t) for t in _DTYPES)}, got "
                         f"0x{data[:4].hex() or 'empty'}.")
    dtype, ndim = np.dtype(_DTYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{name} is truncated: its {ndim}-dimensional header needs {header} "
                         f"bytes, the file has {len(data)}.")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"{name} has the wrong size for shape {shape} and dtype {dtype.name}: "
                         f"expected {expected} bytes, got {len(data)}.")
    array = np.frombuffer(data, dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # native order, and a writable copy


def read_idx_gz(path):
    """Reads a gzip-compressed IDX file into a numpy array."""
    with gzip.open(path, "rb") as f:
        return parse_idx(f.read(), name=str(path))


def read_images_and_labels(images_path, labels_path):
    """Reads an (images, labels) pair of IDX files and checks that they belong together."""
    images, labels = read_idx_gz(images_path), read_idx_gz(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{images_path} and {labels_path} do not match: expected images of "
                         f"shape (n, rows, cols) and labels of shape (n,), got {images.shape} "
                         f"and {labels.shape}.")
    return images, labels
