"""The per-batch path of streamed input (generators, PyDataset, tf.data, DataLoader): the
quick unpacking of plain NumPy batches, stacking into aligned blocks, and the NaN/inf check
done once per block. Each must give exactly what checking and unpacking every batch on
its own gives: the same arrays, the same errors, for the same batch."""
import collections

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gazelle as keras
from gazelle.training import adapters, data as data_mod, sources

rng = np.random.default_rng(0)


def arr(*shape, dtype="float32"):
    return rng.standard_normal(shape).astype(dtype) if np.dtype(dtype).kind == "f" else \
        rng.integers(0, 5, shape).astype(dtype)


Point = collections.namedtuple("Point", "x y")

PLAIN = {
    "x, y": (arr(4, 3), arr(4, dtype="int32")),
    "64-bit": (arr(4, 3, dtype="float64"), arr(4, dtype="int64"), arr(4, dtype="int64")),
    "list": [arr(4, 3), arr(4, dtype="uint8")],
    "x only": arr(4, 3),
    "(x,)": (arr(4, 3),),
    "dict x": ({"a": arr(4, 3), "b": arr(4, 2, dtype="float64")}, arr(4, dtype="int32")),
    "tuple x": ((arr(4, 3), arr(4, 5)), arr(4)),
    "list x": ([arr(4, 3), arr(4, 5)], arr(4)),
    "dict y": (arr(4, 3), {"p": arr(4, 2), "q": arr(4, dtype="int32")}),
    "bool, weights": (arr(4, 3) > 0, arr(4), arr(4, dtype="float64")),
}

SLOW = {   # not plain NumPy: standardize takes them, as before
    "memmap-like subclass": (arr(4, 3).view(np.matrix), arr(4)),
    "jax arrays": (jnp.ones((4, 3)), jnp.zeros((4,))),
    "python lists": ([[1.0, 2.0], [3.0, 4.0]], [0, 1]),
    "namedtuple x": (Point(arr(4, 2), arr(4, 2)), arr(4)),
}

BAD = {    # errors, which must read as before
    "lengths": (arr(4, 3), arr(5)),
    "strings": (np.array(["a", "b"]), arr(2)),
    "scalar": (np.float32(1.0), arr(1)),
    "empty": (arr(0, 3), arr(0)),
    "weights shape": (arr(4, 3), arr(4), arr(3)),
    "dict lengths": ({"a": arr(4, 3), "b": arr(3, 3)}, arr(4)),
    "complex": (arr(4, 3).astype("complex64"), arr(4)),
    "nan": (np.array([[1.0, np.nan]], "float32"), arr(1)),
    "inf in y": (arr(2, 3), np.array([0.0, np.inf])),
}


def same(a, b):
    fa, ta = jax.tree_util.tree_flatten(a)
    fb, tb = jax.tree_util.tree_flatten(b)
    assert ta == tb
    for u, v in zip(fa, fb):
        assert type(np.asarray(u)) is type(np.asarray(v))
        assert np.asarray(u).dtype == np.asarray(v).dtype
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


def error_of(fn):
    with pytest.raises((TypeError, ValueError)) as e:
        fn()
    return type(e.value), str(e.value)


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_quick_unpack_gives_what_standardize_gives(name):
    batch, checked = sources._unpack(PLAIN[name], "fit", None)
    assert not checked                    # its NaN/inf check is left to its block
    same(batch, sources.unpack(PLAIN[name], "fit"))


@pytest.mark.parametrize("name", sorted(SLOW))
def test_other_batches_go_through_standardize(name):
    batch, checked = sources._unpack(SLOW[name], "fit", None)
    assert checked
    same(batch, sources.unpack(SLOW[name], "fit"))


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_batches_raise_what_they_raised(name):
    item = BAD[name]
    expected = error_of(lambda: data_mod.standardize(*sources._split(item), what="fit",
                                                     need_y=False))
    expected = (expected[0], f"A batch yielded by the fit() input: {expected[1]}")
    assert error_of(lambda: sources.unpack(item, "fit")) == expected
    # quick or not, a block raises it (NaN/inf: when the block is made)
    assert error_of(lambda: list(sources.BatchSource(iter([item]), None, "fit")
                                 .blocks(0, 4))) == expected


def test_transform_runs_once_per_batch_before_the_quick_path():
    calls = []

    def transform(x):
        calls.append(1)
        return (x == "b").astype("int64")

    items = [(np.array(["a", "b"]), arr(2)) for _ in range(5)]
    source = sources.BatchSource(iter(items), None, "fit", transform=transform)
    blocks = list(source.blocks(0, 8))
    assert len(calls) == 5 and len(blocks) == 1
    assert blocks[0].data[0].dtype == np.int32
    np.testing.assert_array_equal(blocks[0].data[0], [0, 1] * 5)


def stream(items):
    return sources.BatchSource(iter(items), None, "fit")


def test_blocks_are_the_batches_stacked_in_aligned_arrays():
    items = [({"a": arr(8, 3), "b": arr(8, 2, dtype="float64")}, arr(8, dtype="int64"))
             for _ in range(10)] + [({"a": arr(3, 3), "b": arr(3, 2)}, arr(3))]
    blocks = list(stream(items).blocks(0, 4))
    assert [(b.steps, b.batch_size, b.first_step) for b in blocks] == \
        [(4, 8, 0), (4, 8, 4), (2, 8, 8), (1, 3, 10)]
    unpacked = [sources.unpack(i, "fit") for i in items]
    for block, group in zip(blocks, ([0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [10])):
        expected = jax.tree_util.tree_map(lambda *a: np.concatenate(a),
                                          *[unpacked[i] for i in group])
        same(block.data, expected)
        if block.steps > 1:
            for leaf in jax.tree_util.tree_leaves(block.data):
                assert leaf.ctypes.data % data_mod.ALIGNMENT == 0 and \
                    leaf.flags.c_contiguous


def test_a_change_of_shape_or_dtype_starts_a_new_block():
    items = [(arr(4, 3), arr(4))] * 2 + [(arr(4, 3, dtype="float16"), arr(4))] + \
        [(arr(4, 2), arr(4))] * 3 + [({"a": arr(4, 2)}, arr(4))]
    blocks = list(stream(items).blocks(0, 8))
    assert [(b.steps, b.first_step) for b in blocks] == [(2, 0), (1, 2), (3, 3), (1, 6)]


def test_the_check_is_one_reduction_per_block_not_per_batch(monkeypatch):
    calls = []
    real = sources._finite

    def counting(a):
        calls.append(a.shape)
        return real(a)

    monkeypatch.setattr(sources, "_finite", counting)
    items = [(arr(16, 5), arr(16, dtype="int32"), arr(16)) for _ in range(64)]
    source = sources.IterableSource(None, None, "fit", 64, lambda: iter(items), "tf.data")
    source.first()                        # the first batch: checked whole on its own
    calls.clear()
    assert len(list(source.blocks(0, 16))) == 4
    assert calls == [(256, 5)] * 4        # x of each block; int y and weights are not


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_the_block_check_finds_any_nan_or_inf_and_only_those(dtype):
    finite = np.finfo(dtype).max
    for values, ok in (([1.0, 2.0], True), ([finite, -finite], True),   # squares overflow
                       ([1.0, np.nan], False), ([np.inf, 1.0], False),
                       ([-np.inf, np.inf], False), ([np.nan, np.inf], False)):
        a = np.zeros((64, 3), dtype)
        a[17, 1], a[40, 2] = values
        assert sources._finite(a) is ok, (values, dtype)
        # rows 0, 2, 4, ... (not contiguous): only values[1], in row 40
        assert sources._finite(a[::2]) is bool(np.isfinite(values[1])), (values, dtype)


def nan_items(n=12, bad=(5, 9), rows=4):
    items = [(arr(rows, 3), arr(rows)) for _ in range(n)]
    for count, i in enumerate(bad):
        x = items[i][0].copy()
        x.flat[:count + 2] = [np.nan, np.inf, -np.inf][:count + 2]
        items[i] = (x, items[i][1])
    return items


@pytest.mark.parametrize("k", [1, 4, 8, 16])
def test_nan_error_is_the_first_bad_batch_s(k):
    items = nan_items()
    expected = error_of(lambda: sources.unpack(items[5], "fit"))
    assert "2 NaN or infinite" in expected[1]
    source = stream(items)
    got, blocks = None, []
    with pytest.raises(ValueError) as e:
        for block in source.blocks(0, k):
            blocks.append(block)
    got = (type(e.value), str(e.value))
    assert got == expected
    # the blocks before the bad batch's were made, the bad batch's was not
    assert sum(b.steps for b in blocks) == 5 // k * k


def test_nan_is_reported_before_a_later_error_in_the_same_block():
    items = nan_items(bad=(2,))
    expected = error_of(lambda: sources.unpack(items[2], "fit"))

    def then(items, error_item=None, exception=None):
        yield from items[:4]
        if exception is not None:
            raise exception
        yield error_item

    for k in (4, 8):
        for gen in (then(items, error_item=(np.array(["a"] * 4), arr(4))),
                    then(items, exception=RuntimeError("the pipeline broke"))):
            assert error_of(lambda: list(stream(gen).blocks(0, k))) == expected
    clean = nan_items(bad=())
    with pytest.raises(RuntimeError, match="the pipeline broke"):
        list(stream(then(clean, exception=RuntimeError("the pipeline broke"))).blocks(0, 8))
    with pytest.raises(TypeError, match="must hold numbers"):
        list(stream(then(clean, error_item=(np.array(["a"] * 4), arr(4)))).blocks(0, 8))


def test_blocks_refuse_exactly_what_each_batch_check_refused():
    x = arr(4, 3)
    nan_weights = (x, arr(4), np.array([1.0, np.nan, 1.0, 1.0], "float32"))
    nan_jax = (jnp.asarray(x).at[0, 0].set(jnp.nan), jnp.zeros((4,)))
    for item in (nan_weights, nan_jax):   # never refused (as unpack never did)
        sources.unpack(item, "fit")
        items = [(x, arr(4), arr(4))] * 3 + [item] if item is nan_weights else \
            [(x, arr(4))] * 3 + [item]
        assert sum(b.steps for b in stream(items).blocks(0, 8)) == 4
    # batches() still checks each batch
    with pytest.raises(ValueError, match="A batch yielded by the fit\\(\\) input: `x` "
                                         "contains 2 NaN"):
        list(stream(nan_items()).batches(0, False))


def test_fit_on_a_stream_with_a_nan_batch_names_it():
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    m.compile(loss="mse", optimizer="sgd")
    items = [(x, np.zeros((4, 2), "float32")) for x, _ in nan_items(n=40, bad=(21,))]
    with pytest.raises(ValueError, match="A batch yielded by the fit\\(\\) input: `x` "
                                         "contains 2 NaN or infinite"):
        m.fit(iter(items), epochs=1, verbose=0)


# -- tf.data and torch batches as NumPy ---------------------------------------------------
class FakeEager:
    """What _tf_numpy uses of an EagerTensor: _numpy()."""

    def __init__(self, a):
        self.a = a

    def _numpy(self):
        return self.a


def test_tf_elements_keep_their_structure_and_become_read_only():
    a, b = arr(4, 3), arr(4)
    element = (Point(FakeEager(a), FakeEager(b)), {"k": FakeEager(b), "n": None},
               [FakeEager(a)])
    out = adapters._tf_numpy(element)
    assert type(out) is tuple and type(out[0]) is Point and type(out[2]) is list
    assert out[0].x is a and out[1]["k"] is b and out[1]["n"] is None
    assert list(out[1]) == ["k", "n"]
    assert not a.flags.writeable


def test_tf_data_without_the_private_iterator_falls_back_to_as_numpy_iterator():
    class Dataset:
        def as_numpy_iterator(self):
            return iter([(1, 2)])
    assert list(adapters._tf_batches(Dataset())) == [(1, 2)]


def test_tf_batches_match_as_numpy_iterator():
    tf = pytest.importorskip("tensorflow")
    x, y = arr(10, 3), arr(10, dtype="int64")
    datasets = [
        tf.data.Dataset.from_tensor_slices((x, y)).batch(4),
        tf.data.Dataset.from_tensor_slices(({"a": x, "b": y}, y)).batch(3),
        tf.data.Dataset.from_tensor_slices(x).batch(5),
        tf.data.Dataset.from_tensor_slices((x, np.array([b"s"] * 10))).batch(4),
        tf.data.Dataset.from_tensor_slices(
            collections.OrderedDict(a=x, b=y)).batch(4),              # tf.nest's walk
        tf.data.Dataset.from_tensor_slices((x, y)).batch(4).map(lambda u, v: Point(u, v)),
        tf.data.Dataset.from_tensor_slices(({"a": x}, y)).batch(4),      # 2 leaves, not (x, y)
        tf.data.Dataset.from_tensor_slices(((x, x), y, y)).batch(4),
    ]
    for ds in datasets:
        ours, theirs = list(adapters._tf_batches(ds)), list(ds.as_numpy_iterator())
        assert len(ours) == len(theirs)
        for u, v in zip(ours, theirs):
            assert type(u) is type(v)
            same(u, v)
            assert all(not leaf.flags.writeable for leaf in jax.tree_util.tree_leaves(u))


def test_tf_batches_of_dense_tensors_skip_the_iterators_python_rebuild():
    """Dense elements are read with the iterator's get-next op (no tf.nest walk, no
    Python rebuild of each element); ragged ones go the iterator's own way."""
    tf = pytest.importorskip("tensorflow")
    from tensorflow.python.eager import context
    x, y = arr(10, 3), arr(10, dtype="int64")
    direct = [tf.data.Dataset.from_tensor_slices((x, y)).batch(4),
              tf.data.Dataset.from_tensor_slices(x).batch(4),
              tf.data.Dataset.from_tensor_slices(({"a": x}, y)).batch(4)]
    for ds in direct:
        assert adapters._tf_direct(iter(ds), ds.element_spec) is not None
        with context.execution_mode(context.ASYNC):      # as the iterator's own next
            ours = list(adapters._tf_batches(ds))
        same(ours, list(ds.as_numpy_iterator()))
    ragged = tf.data.Dataset.from_tensor_slices(tf.ragged.constant([[1], [2, 3]])).batch(2)
    assert adapters._tf_direct(iter(ragged), ragged.element_spec) is None


def test_to_host_converts_by_type():
    class Tensor:
        def __init__(self, a):
            self.a = a

        def detach(self):
            return self

        def cpu(self):
            return self

        def numpy(self):
            return self.a

    Tensor.__module__ = "torch"
    a = arr(2, 2)
    out = adapters.to_host([Tensor(a), {"w": Tensor(a)}, Point(Tensor(a), 3), (None,)])
    assert type(out) is list and out[0] is a and out[1]["w"] is a
    assert type(out[2]) is Point and out[2].x is a and out[2].y == 3 and out[3] == (None,)


# -- the layout path: a batch laid out as the one before skips _unpack ------------------
def fresh(item):
    """A copy of a raw item with new arrays of the same shapes and dtypes."""
    if isinstance(item, np.ndarray):
        return arr(*item.shape, dtype=item.dtype)
    return type(item)(arr(*a.shape, dtype=a.dtype) for a in item)


def raw_layout(item):
    """One array, a tuple of 1-3 arrays or a list of 2-3 arrays."""
    return type(item) is np.ndarray or (type(item) in (tuple, list) and all(
        type(a) is np.ndarray for a in item) and (type(item) is tuple or len(item) > 1))


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_a_batch_of_the_layout_before_reads_as_unpack_reads_it(name, monkeypatch):
    first = PLAIN[name]
    items = [first] + [fresh(first) if raw_layout(first) else first for _ in range(3)]
    calls = []
    real = sources._unpack
    monkeypatch.setattr(sources, "_unpack", lambda *a, **k: calls.append(1) or real(*a, **k))
    entries = list(sources.BatchSource(iter(items), None, "fit")._entries(0, False))
    unpacked = len(calls)
    assert len(entries) == 4
    for item, (batch, checked, leaves, signature) in zip(items, entries):
        assert not checked
        same(batch, sources.unpack(item, "fit"))
        assert signature == sources._describe(batch)[1]
        assert all(u is v for u, v in zip(leaves, jax.tree_util.tree_leaves(batch)))
    assert unpacked == (1 if raw_layout(first) else 4)
    if raw_layout(first):                 # one signature object: grouped by identity
        assert all(e[3] is entries[0][3] for e in entries)


def test_anything_else_after_a_layout_takes_the_general_path():
    x, y = arr(4, 3), arr(4, dtype="int64")
    items = [(x, y), (arr(4, 3), arr(4, dtype="int64")),
             (arr(4, 3, dtype="float64"), y),           # another dtype
             (arr(4, 3), y),
             (arr(4, 2), y),                             # another shape
             [arr(4, 2), y],                             # a list, not a tuple
             (arr(4, 2), y, arr(4)),                     # weights too
             (arr(4, 2).view(np.matrix), y),             # an ndarray subclass
             (jnp.ones((4, 2)), y),                      # a JAX array
             ({"a": arr(4, 2)}, y),                      # a dict
             (arr(3, 2), y[:3])]                         # the short last batch
    source = sources.BatchSource(iter(items), None, "fit")
    got = list(source._entries(0, False))
    assert len(got) == len(items)
    for item, (batch, checked, _, signature) in zip(items, got):
        same(batch, sources.unpack(item, "fit"))
        assert signature == sources._describe(batch)[1]
    assert got[1][3] is got[0][3] and got[2][3] is not got[0][3]
    runs = []                                   # runs of one signature, unpacked alone
    for item in items:
        signature = sources._describe(sources.unpack(item, "fit"))[1]
        if runs and runs[-1][0] == signature:
            runs[-1][1] += 1
        else:
            runs.append([signature, 1])
    blocks = list(stream(items).blocks(0, 8))
    assert [b.steps for b in blocks] == [n for _, n in runs]
    assert len(runs) >= 6 and runs[0][1] == 4   # float64 x narrows to the float32 block


def test_a_nan_in_a_layout_batch_is_found_and_named():
    items = [(arr(4, 3), arr(4, dtype="int32")) for _ in range(6)]
    items[4][0][2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN") as e:
        list(stream(items).blocks(0, 8))
    expected = error_of(lambda: sources.unpack(items[4], "fit"))
    assert str(e.value) == expected[1]


@pytest.mark.parametrize("steps, pad_to", [(3, 8), (5, 8), (8, 8)])
def test_padded_blocks_are_one_aligned_buffer_with_zero_rows_after(steps, pad_to):
    items = [(arr(4, 3), arr(4, dtype="int64"), arr(4)) for _ in range(steps)] + \
        [(arr(2, 3), arr(2, dtype="int64"), arr(2))]
    blocks = list(stream(items).blocks(0, 8, pad=lambda m: pad_to if m > 1 else 1))
    assert [(b.steps, b.batch_size) for b in blocks] == [(steps, 4), (1, 2)]
    unpacked = [sources.unpack(i, "fit") for i in items[:steps]]
    for got, want in zip(blocks[0].data, zip(*unpacked)):
        want = np.concatenate(want)
        assert got.shape == (pad_to * 4,) + want.shape[1:] and got.dtype == want.dtype
        assert got.ctypes.data % data_mod.ALIGNMENT == 0 and got.flags.c_contiguous
        np.testing.assert_array_equal(got[:steps * 4], want)
        assert not got[steps * 4:].any()
    assert blocks[1].data[0].shape == (2, 3)               # one batch: as it came
    # padded already: block_chunks' pad_rows leaves it as it is
    assert sources.pad_rows(blocks[0].data, pad_to * 4)[0] is blocks[0].data[0]


def test_pad_rows_gives_aligned_zero_padded_arrays():
    a = arr(5, 3)[1:]                                      # a view, not aligned as a rule
    out = sources.pad_rows({"a": a, "b": jnp.ones((4,), "int32")}, 8)
    assert out["a"].ctypes.data % data_mod.ALIGNMENT == 0
    np.testing.assert_array_equal(out["a"][:4], a)
    assert not out["a"][4:].any() and out["a"].dtype == a.dtype
    np.testing.assert_array_equal(out["b"], [1, 1, 1, 1, 0, 0, 0, 0])


def test_torch_tensors_become_arrays_on_their_memory():
    torch = pytest.importorskip("torch")
    plain = torch.arange(6.0).reshape(3, 2)
    grad = torch.ones(3, requires_grad=True)
    out = adapters.to_host((plain, [grad, torch.tensor([1, 2, 3])]))
    assert type(out) is tuple and type(out[1]) is list
    assert out[0].ctypes.data == plain.data_ptr()          # no copy
    np.testing.assert_array_equal(out[0], plain.numpy())
    np.testing.assert_array_equal(out[1][0], [1.0, 1.0, 1.0])
    assert out[1][1].dtype == np.int64
