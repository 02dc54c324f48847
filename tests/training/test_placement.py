"""Host arrays placed on a CPU device: aligned copies that the CPU client uses in place."""
import jax
import numpy as np
import pytest

from gazelle.training import data, distribute


def _unaligned(shape):
    raw = np.empty(int(np.prod(shape)) * 4 + 64, np.uint8)
    start = (16 - raw.ctypes.data) % 64                # 16 bytes past a boundary
    a = raw[start:start + int(np.prod(shape)) * 4].view(np.float32).reshape(shape)
    a[...] = np.random.default_rng(0).standard_normal(shape)
    assert a.ctypes.data % data.ALIGNMENT == 16
    return a


def test_aligned_copy_converts_and_aligns():
    a = np.arange(12, dtype=np.float64).reshape(3, 4) / 7
    b = data.aligned_copy(a, np.float32)
    assert b.dtype == np.float32 and b.flags.c_contiguous
    assert b.ctypes.data % data.ALIGNMENT == 0
    np.testing.assert_array_equal(b, a.astype(np.float32))


def test_standardize_converts_float64_into_aligned_buffers():
    x = np.random.default_rng(0).random((600, 500))            # float64, 2.4 MB
    (xs, ys, _), n = data.standardize(x, np.arange(600), what="fit")
    assert xs.dtype == np.float32 and ys.dtype == np.int32 and n == 600
    assert xs.ctypes.data % data.ALIGNMENT == 0


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the CPU client's in-place use")
def test_place_on_cpu_aligns_large_arrays_then_uses_them_in_place():
    x = _unaligned((1000, 300))                                 # 1.2 MB
    placed = distribute.place(x)
    np.testing.assert_array_equal(np.asarray(placed), x)
    assert placed.unsafe_buffer_pointer() % data.ALIGNMENT == 0
    assert placed.unsafe_buffer_pointer() != x.ctypes.data     # a copy, not the user's array
    aligned = data.aligned_copy(x)
    assert distribute.place(aligned).unsafe_buffer_pointer() == aligned.ctypes.data


def test_nan_and_inf_are_still_caught():
    for bad in (np.nan, np.inf, -np.inf):
        x = np.zeros((50, 3), np.float32)
        x[7, 1] = bad
        with pytest.raises(ValueError, match="1 NaN or infinite"):
            data.standardize(x, np.zeros(50), what="fit")


def test_large_arrays_are_copied_and_checked_in_row_parts():
    # 20 MB: above the size where copy and NaN check split rows over host threads.
    x = np.random.default_rng(2).standard_normal((5000, 1000))          # float64
    parts = data._by_rows(lambda i, j: (i, j), x)
    assert parts[0][0] == 0 and parts[-1][1] == len(x)
    assert all(a[1] == b[0] for a, b in zip(parts, parts[1:]))
    np.testing.assert_array_equal(data.aligned_copy(x, np.float32), x.astype(np.float32))
    for row in (0, len(x) // 2, len(x) - 1):
        bad = x.copy()
        bad[row, -1] = np.nan
        with pytest.raises(ValueError, match="1 NaN or infinite"):
            data.standardize(bad, np.zeros(len(x)), what="fit")
