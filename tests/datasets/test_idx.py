"""The IDX parser on tiny hand-built files (header bytes written with struct, not our code)."""
import gzip
import struct

import numpy as np
import pytest

from gazelle.datasets import _idx


def idx_bytes(array, type_code=0x08, big_endian_dtype=">u1"):
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.asarray(array, big_endian_dtype).tobytes()


def test_parses_uint8_images_and_labels():
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    labels = np.array([7, 3], np.uint8)
    np.testing.assert_array_equal(_idx.parse_idx(idx_bytes(images)), images)
    parsed = _idx.parse_idx(idx_bytes(labels))
    np.testing.assert_array_equal(parsed, labels)
    assert parsed.dtype == np.uint8 and parsed.flags.writeable


def test_parses_big_endian_int32_into_native_order():
    values = np.array([[1, -2], [70000, 3]], np.int32)
    parsed = _idx.parse_idx(idx_bytes(values, 0x0C, ">i4"))
    np.testing.assert_array_equal(parsed, values)
    assert parsed.dtype == np.dtype("int32")


@pytest.mark.parametrize("data", [
    b"\x00\x00\x08",                       # too short for a magic number
    b"\x01\x00\x08\x01\x00\x00\x00\x00",    # first byte must be zero
    b"\x00\x00\x07\x01\x00\x00\x00\x00",    # unknown type code
    b"PK\x03\x04" + b"\x00" * 10,           # a zip file, not IDX
])
def test_bad_magic_is_rejected(data):
    with pytest.raises(ValueError, match="not an IDX file.*magic number"):
        _idx.parse_idx(data, name="bad.idx")


def test_truncated_header_is_rejected():
    with pytest.raises(ValueError, match=r"bad.idx is truncated: .*header needs 16 bytes"):
        _idx.parse_idx(b"\x00\x00\x08\x03\x00\x00\x00\x02", name="bad.idx")


@pytest.mark.parametrize("cut", [-1, 1])
def test_wrong_payload_size_is_rejected(cut):
    data = idx_bytes(np.zeros((2, 3, 4), np.uint8))
    data = data[:cut] if cut < 0 else data + b"\x00"
    with pytest.raises(ValueError, match=r"wrong size for shape \(2, 3, 4\).*expected 40 bytes"):
        _idx.parse_idx(data)


def test_read_images_and_labels_checks_they_match(tmp_path):
    images, labels = tmp_path / "i.gz", tmp_path / "l.gz"
    images.write_bytes(gzip.compress(idx_bytes(np.zeros((3, 2, 2), np.uint8))))
    labels.write_bytes(gzip.compress(idx_bytes(np.zeros(2, np.uint8))))
    with pytest.raises(ValueError, match=r"do not match.*\(3, 2, 2\) and \(2,\)"):
        _idx.read_images_and_labels(images, labels)
