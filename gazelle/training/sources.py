"""Data that reaches the device in blocks: sliced arrays, memmaps, generators, PyDataset,
and the re-iterable datasets of other libraries (tf.data, DataLoader, Grain). [L4]

`fit` keeps arrays that fit the memory budget resident on the device (trainer.py); all other
input, and every evaluation and prediction, flows through here as a sequence of `Block`s:
`steps` batches of `batch_size` rows stacked along the first axis, made on the host and
copied to the device by a background thread one or two blocks ahead of the step that
consumes them. Memory stays at a few blocks whatever the size of the data.

Block sizes come from a small fixed set (powers of two up to the byte budget of a block),
so the number of compiled programs stays bounded however many different dataset sizes a
model sees.

Streamed batches (generators, PyDatasets, other libraries' pipelines) cost a few
microseconds each: a batch of plain NumPy arrays is unpacked without data.standardize's
walk (and one laid out as the batch before -- the same tuple or list of arrays, shapes and
dtypes -- with a few attribute reads, `_Layout`), batches are stacked into aligned blocks
with one copy per array (padded there to the steps the block runs), and the NaN/inf
check runs once per block on the stacked arrays (its error still names the first bad
batch, as a check of each batch on arrival did).
"""
import math
import mmap
import os
import queue
import threading
import warnings
from typing import Any, NamedTuple

import jax
import numpy as np

from gazelle import config
from gazelle.training import data as data_mod

BLOCK_BYTES = 8 << 20           # host bytes per block (a block is also one compiled chunk)


def memory_budget():
    """Bytes of arrays fit keeps resident: config.set_data_memory_budget, else 40% of the
    accelerator's memory, else a quarter of the host's RAM."""
    budget = config.data_memory_budget()
    if budget is not None:
        return budget
    try:
        stats = jax.devices()[0].memory_stats() or {}
    except Exception:           # CPU clients may not report memory
        stats = {}
    if stats.get("bytes_limit"):
        return int(0.4 * stats["bytes_limit"])
    try:
        with open("/proc/meminfo") as f:
            total_kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
        return total_kb * 1024 // 4
    except (OSError, StopIteration, ValueError):
        return 2 << 30


class Block(NamedTuple):
    data: Any                   # (x, y, sample_weight) or x, numpy, steps * batch_size rows
    steps: int
    batch_size: int
    first_step: int


def _leaves(tree):
    return jax.tree_util.tree_leaves(tree)


def row_bytes(tree):
    return sum(leaf.dtype.itemsize * int(np.prod(leaf.shape[1:])) for leaf in _leaves(tree))


def max_block_steps(tree, batch_size, cap=None):
    """Steps per block: the largest power of two whose block fits BLOCK_BYTES (and `cap`)."""
    fit = max(1, BLOCK_BYTES // max(1, row_bytes(tree) * batch_size))
    if cap is not None:
        fit = min(fit, max(1, cap))
    return 1 << (fit.bit_length() - 1)


def is_memmap(tree):
    return any(isinstance(leaf, np.memmap) for leaf in _leaves(tree))


def _file_rows(a):
    """(file descriptor path, byte position of row 0, row stride) when rows of memmap `a`
    can be read from its file with pread; None otherwise (views with gaps, odd strides)."""
    m = getattr(a, "_mmap", None)
    if not isinstance(a, np.memmap) or m is None or not getattr(a, "filename", None) or \
            a.ndim == 0 or a.strides[0] <= 0:
        return None
    row = np.empty((1,) + a.shape[1:], a.dtype)
    if a.strides[1:] != row.strides[1:]:
        return None
    try:
        base = np.frombuffer(m, np.uint8).ctypes.data
    except (TypeError, ValueError):
        return None
    start = a.offset - a.offset % mmap.ALLOCATIONGRANULARITY
    return a.filename, start + (a.ctypes.data - base), a.strides[0]


def _read_rows(a, rows, where):
    """Rows of a memmap read with pread into a fresh array: no pages of the file get mapped
    into the process, so resident memory stays flat however large the file (a fancy index
    on the memmap would fault in ~16 neighbouring pages per sampled row)."""
    path, first, stride = where
    out = data_mod.aligned_empty((len(rows),) + a.shape[1:], a.dtype)   # used in place
    buf = memoryview(out.reshape(-1).view(np.uint8))
    fd = os.open(path, os.O_RDONLY)
    try:
        if len(rows) and rows[-1] - rows[0] == len(rows) - 1 and \
                np.all(np.diff(rows) == 1):             # in order: one read for the block
            reads = [(0, len(rows) * stride, int(rows[0]))]
        else:
            reads = [(i * stride, stride, r) for i, r in enumerate(rows.tolist())]
        for at, size, r in reads:
            if os.preadv(fd, [buf[at:at + size]], first + r * stride) != size:
                raise ValueError(f"Could not read row {r} of the memmap {path!r}: the file "
                                 "is shorter than the array (was it truncated?).")
    finally:
        os.close(fd)
    return out


def _take(a, rows):
    """Rows of a memmap; non-finite values are refused here, block by block, since
    standardize does not read memmaps whole."""
    where = _file_rows(a)
    out = np.take(a, rows, axis=0) if where is None else _read_rows(a, rows, where)
    if out.dtype.kind == "f" and not np.isfinite(out).all():
        raise ValueError(f"The memmap input contains NaN or infinite values (in rows "
                         f"{int(rows.min())}..{int(rows.max())}). Remove or impute them "
                         "before training.")
    return out


class ArraySource:
    """Arrays (numpy, memmap) cut into blocks of rows, in order or in a shuffled order."""

    def __init__(self, data, n, batch_size):
        self.data = data
        self.n = n
        self.batch_size = batch_size
        self.steps = math.ceil(n / batch_size)

    def sample(self, rows=2048):
        return jax.tree_util.tree_map(lambda a: np.asarray(a[:rows]), self.data)

    def small(self):
        """In memory and within one block: read it in the caller's thread."""
        return not is_memmap(self.data) and self.n * row_bytes(self.data) <= BLOCK_BYTES

    def _gather(self, order, start, stop):
        rows = np.arange(start, stop) if order is None else order[start:stop]
        return jax.tree_util.tree_map(
            lambda a: _take(a, rows) if isinstance(a, np.memmap) else (
                np.take(a, rows, axis=0) if order is not None else a[start:stop]), self.data)

    def blocks(self, sizes, order=None):
        """Blocks of `sizes` steps each over the full batches, then the short last batch."""
        full, rest = divmod(self.n, self.batch_size)
        bs, step = self.batch_size, 0
        for m in sizes:
            yield Block(self._gather(order, step * bs, (step + m) * bs), m, bs, step)
            step += m
        if rest:
            yield Block(self._gather(order, full * bs, self.n), 1, rest, full)


def _array_like(x):
    return x is None or isinstance(x, (np.ndarray, jax.Array, list, tuple, dict, str, bytes,
                                       range)) or any(
        hasattr(x, a) for a in ("shape", "__array__", "to_numpy"))


def _is_dataset(x):
    return hasattr(x, "__getitem__") and hasattr(x, "__len__") and not _array_like(x)


def is_stream(x):
    """A Python generator/iterator or a PyDataset/Sequence-like object (not arrays)."""
    if _array_like(x):
        return False
    return _is_dataset(x) or hasattr(x, "__next__") or hasattr(x, "__iter__")


def _split(item):
    """x, y, sample_weight of a batch: x, (x,), (x, y) or (x, y, sample_weight)."""
    if isinstance(item, tuple) and 1 <= len(item) <= 3:
        return (tuple(item) + (None, None))[:3]
    if isinstance(item, list) and len(item) in (2, 3) and not all(
            isinstance(e, (int, float)) for e in item):
        return (tuple(item) + (None,))[:3]
    return item, None, None


def _batch_error(e, what):
    return type(e)(f"A batch yielded by the {what}() input: {e}")


def unpack(item, what, transform=None):
    """A batch from a generator or PyDataset: x, (x,), (x, y) or (x, y, sample_weight).
    `transform` (training/host.py) turns the batch's x into what the compiled steps take."""
    return _unpack(item, what, transform, quick=False)[0]


def _unpack(item, what, transform, quick=True):
    """(batch, checked): the batch as `unpack` gives it. With `quick`, a batch of plain
    NumPy arrays takes a short path that leaves the NaN/inf check to its block (`checked`
    is then False); anything else goes through data.standardize, which checks it whole."""
    x, y, sw = _split(item)
    try:
        if transform is not None:
            x = transform(x)
        if quick:
            batch = _plain_batch(x, y, sw)
            if batch is not None:
                return batch, False
        (x, y, sw), _ = data_mod.standardize(x, y, sw, what=what, need_y=False)
    except (TypeError, ValueError) as e:
        raise _batch_error(e, what) from None
    return (x, y, sw), True


def _check(batch, what):
    """Raises unpack's error for a batch that took the quick path (NaN or inf in it)."""
    try:
        data_mod.standardize(*batch, what=what, need_y=False)
    except (TypeError, ValueError) as e:
        raise _batch_error(e, what) from None


# The quick path gives what data.standardize gives for the same batch (lists of arrays as
# tuples, float64/int64 as 32-bit, sample weights as float32), with the same rows checks;
# whatever it is unsure of (other types, odd shapes or dtypes, any error to word) it leaves
# to standardize by returning None.
_NARROW = {np.dtype(np.float64): np.float32, np.dtype(np.int64): np.int32}


def _plain_leaf(a):
    if type(a) is not np.ndarray or a.ndim == 0 or a.dtype.kind not in "biuf":
        return None
    narrow = _NARROW.get(a.dtype)
    return a if narrow is None else a.astype(narrow)


def _plain_tree(v):
    """(tree, rows) for an array, a dict of arrays or a list/tuple of arrays; else None."""
    t = type(v)
    if t is np.ndarray:
        a = _plain_leaf(v)
        return None if a is None else (a, a.shape[0])
    if t is dict:
        out = {}
        for key, leaf in v.items():
            out[key] = a = _plain_leaf(leaf)
            if a is None:
                return None
        leaves = out.values()
    elif (t is tuple or t is list) and v:
        out = tuple(_plain_leaf(leaf) for leaf in v)
        if any(a is None for a in out):
            return None
        leaves = out
    else:
        return None
    rows = {a.shape[0] for a in leaves}
    return (out, rows.pop()) if len(rows) == 1 else None


def _plain_batch(x, y, sw):
    px = _plain_tree(x)
    if px is None or px[1] == 0:
        return None
    x, n = px
    if y is not None:
        py = _plain_tree(y)
        if py is None or py[1] != n:
            return None
        y = py[0]
    if sw is not None:
        sw = _plain_weights(sw)
        if sw is None or sw.shape[:1] != (n,):
            return None
    return x, y, sw


def _plain_weights(sw):
    sw = _plain_leaf(sw)
    return None if sw is None else np.asarray(sw, np.float32)


def _describe(batch):
    """(leaves, signature) of an unpacked batch: batches of one signature (structure,
    shapes, dtypes) stack into one block."""
    leaves, treedef = jax.tree_util.tree_flatten(batch)
    return leaves, (treedef, [(a.shape, a.dtype) for a in leaves])


class _Layout:
    """The raw form of a plain batch -- one array, or a tuple (x,), (x, y), (x, y, w) or a
    list [x, y], [x, y, w] of NumPy arrays -- with its shapes and dtypes. A later item of
    exactly that form, as most batches of a stream are, is unpacked by `match` in a few
    array attribute reads: the same arrays, narrowed the same way, as the quick path of
    `_unpack` gives, and the signature object of the first (the block grouping compares
    it by identity)."""

    __slots__ = ("kind", "size", "specs", "signature")

    def __init__(self, kind, size, specs, signature):
        self.kind, self.size, self.specs, self.signature = kind, size, specs, signature

    @classmethod
    def of(cls, item, signature):
        """The layout of raw `item`, whose quick unpacking had `signature`; None when
        `item` is not of a form `match` handles."""
        kind = type(item)
        if kind is np.ndarray:
            parts = (item,)
        elif (kind is tuple and 1 <= len(item) <= 3) or (kind is list and 2 <= len(item) <= 3):
            parts = item
        else:
            return None
        specs = []
        for i, a in enumerate(parts):
            if type(a) is not np.ndarray:
                return None
            if i == 2:                          # sample weights: float32
                cast = None if a.dtype == np.float32 else _plain_weights
            else:
                narrow = _NARROW.get(a.dtype)
                cast = None if narrow is None else (lambda v, t=narrow: v.astype(t))
            specs.append((a.shape, a.dtype, cast))
        return cls(kind, len(parts), tuple(specs), signature)

    def match(self, item):
        """The unpacked batch's leaves when raw `item` has this layout, else None."""
        kind = self.kind
        if type(item) is not kind:
            return None
        if kind is np.ndarray:
            item = (item,)
        elif len(item) != self.size:
            return None
        leaves = []
        for a, (shape, dtype, cast) in zip(item, self.specs):
            if type(a) is not np.ndarray or a.shape != shape or a.dtype != dtype:
                return None
            leaves.append(a if cast is None else cast(a))
        return leaves



class BatchSource:
    """Batches from a PyDataset/Sequence (indexable, re-iterable) or a generator."""

    def __init__(self, x, steps_limit, what, transform=None):
        self.what, self.transform = what, transform
        self.dataset = x if _is_dataset(x) else None
        self._iterator = None if self.dataset is not None else iter(x)
        self._peeked = None
        self.exhausted = False
        if self.dataset is not None:
            n = len(self.dataset)
            if n == 0:
                raise ValueError(f"{what}(): the PyDataset/Sequence `x` has 0 batches.")
            self.steps = n if steps_limit is None else min(n, steps_limit)
        else:
            self.steps = steps_limit           # None: until the generator stops

    @property
    def batch_size(self):
        """Rows of the first batch: the batch size of the stream's main program."""
        return int(_leaves(self.first()[0])[0].shape[0])

    def first(self):
        if self.dataset is not None:
            return unpack(self.dataset[0], self.what, self.transform)
        if self._peeked is None:
            try:
                self._peeked = unpack(next(self._iterator), self.what, self.transform)
            except StopIteration:
                raise ValueError(f"{self.what}(): the generator `x` yielded no batches.") \
                    from None
        return self._peeked

    def sample(self, rows=2048):
        return self.first()

    def small(self):
        return False

    _layout = None              # the _Layout of the last plain batch, or None

    def _read(self, item):
        """(batch, checked, leaves, signature) of a raw item: see `_unpack` and `_describe`.
        An item of the layout of the batch before takes `_Layout.match` (no transform)."""
        layout = self._layout
        if layout is not None:
            leaves = layout.match(item)
            if leaves is not None:
                n = len(leaves)
                batch = (leaves[0], leaves[1] if n > 1 else None, leaves[2] if n > 2 else None)
                return batch, False, leaves, layout.signature
        batch, checked = _unpack(item, self.what, self.transform)
        leaves, signature = _describe(batch)
        self._layout = None if checked or self.transform is not None else \
            _Layout.of(item, signature)
        return batch, checked, leaves, signature

    def _peeked_entry(self):
        batch, self._peeked = self._peeked, None
        return (batch, True) + _describe(batch)

    def batches(self, epoch, shuffle):
        """The epoch's batches, each unpacked and checked."""
        for batch, checked, _, _ in self._entries(epoch, shuffle):
            if not checked:
                _check(batch, self.what)
            yield batch

    def _entries(self, epoch, shuffle):
        """(batch, checked, leaves, signature) for each batch of the epoch; see `_read`."""
        if self.dataset is not None:
            yield from self._dataset_entries(epoch, shuffle)
            return
        count = 0
        while self.steps is None or count < self.steps:
            if self._peeked is not None:
                entry = self._peeked_entry()
            else:
                try:
                    item = next(self._iterator)
                except StopIteration:
                    self.exhausted = True
                    return
                entry = self._read(item)
            yield entry
            count += 1

    def _dataset_entries(self, epoch, shuffle):
        ds = self.dataset
        if hasattr(ds, "on_epoch_begin"):
            ds.on_epoch_begin()
        order = np.random.default_rng([epoch, 12345]).permutation(self.steps) if shuffle \
            else range(self.steps)
        workers = int(getattr(ds, "workers", 1) or 1)
        if workers > 1:
            from concurrent.futures import ThreadPoolExecutor
            ahead = max(workers, int(getattr(ds, "max_queue_size", 10) or 10))
            with ThreadPoolExecutor(workers, thread_name_prefix="gazelle-pydataset") as pool:
                futures = []
                it = iter(order)
                for i in it:
                    futures.append(pool.submit(ds.__getitem__, int(i)))
                    if len(futures) >= ahead:
                        yield self._read(futures.pop(0).result())
                for f in futures:
                    yield self._read(f.result())
        else:
            for i in order:
                yield self._read(ds[int(i)])
        if hasattr(ds, "on_epoch_end"):
            ds.on_epoch_end()

    def blocks(self, epoch, k, shuffle=False, pad=None):
        """Consecutive batches of one shape stacked into blocks of up to k steps. The NaN/inf
        check of quick batches runs once per block, on the stacked arrays; its error names
        the first batch at fault, as a check of each batch on arrival would. With `pad`
        (steps -> steps to run), a block of several steps comes with zero rows up to the
        steps it will run, stacked in the same buffer (no second copy to pad it)."""
        entries = self._entries(epoch, shuffle)
        group = _Group(self.what)
        step = 0
        while True:
            try:
                batch, checked, leaves, signature = next(entries)
            except StopIteration:
                break
            except Exception:
                group.check()              # a bad batch read earlier is reported first
                raise
            if group.batches and (len(group.batches) == k or (
                    signature is not group.signature and signature != group.signature)):
                yield group.block(step, pad)
                step += len(group.batches)
                group = _Group(self.what)
            group.add(batch, leaves, signature, checked)
        if group.batches:
            yield group.block(step, pad)


class IterableSource(BatchSource):
    """Batches from a re-iterable pipeline (tf.data, a DataLoader, Grain): each epoch is one
    pass over a fresh iterator. With a step limit (`steps_per_epoch`), the iterator carries
    on from epoch to epoch, and a new one starts once a pass of known length is used up or
    the old one runs out (as Keras 3 does; running out mid-epoch ends that epoch early,
    with a warning)."""

    def __init__(self, x, steps_limit, what, length, make_iterator, kind, transform=None):
        self.what, self.kind, self.transform = what, kind, transform
        self.dataset = None
        self.iterable = x
        self._make = make_iterator
        self.length = length                 # batches per pass, None when unknown
        self.limit = steps_limit
        self.steps = steps_limit if steps_limit is not None else length
        self._iterator, self._peeked, self._seen = None, None, 0
        self.exhausted = False               # never: the input is iterated again

    def _next(self):
        """The next item of the pass (raw, not unpacked)."""
        if self._iterator is None:
            self._iterator, self._seen = iter(self._make()), 0
        item = next(self._iterator)
        self._seen += 1
        return item

    def first(self):
        if self._peeked is None:
            try:
                item = self._next()
            except StopIteration:
                self._iterator = None
                raise ValueError(f"{self.what}(): the {self.kind} input yielded no "
                                 "batches.") from None
            self._peeked = unpack(item, self.what, self.transform)
        return self._peeked

    def _entries(self, epoch, shuffle):
        if self.limit is None and self._peeked is None:
            self._iterator = None            # a whole pass: start from the beginning
        count = 0
        while self.limit is None or count < self.limit:
            if self._peeked is not None:
                entry = self._peeked_entry()
            else:
                try:
                    item = self._next()
                except StopIteration:
                    self._iterator = None
                    if self.limit is not None:
                        warnings.warn(
                            f"{self.what}(): the {self.kind} input ran out of data after "
                            f"{count} of steps_per_epoch={self.limit} batches; the next "
                            "epoch starts a new pass. Use `.repeat()` on the dataset, or a "
                            "smaller `steps_per_epoch`.", UserWarning, stacklevel=2)
                    return
                entry = self._read(item)
            yield entry
            count += 1
        if self.length is not None and self._seen >= self.length:
            self._iterator = None            # the pass is used up: the next one is fresh


class _Group:
    """Consecutive batches of one structure, shapes and dtypes, becoming one Block."""

    def __init__(self, what):
        self.what = what
        self.batches, self.columns, self.signature = [], None, None
        self.unchecked = []                  # batches whose NaN/inf check is still due

    def add(self, batch, leaves, signature, checked):
        if self.columns is None:
            self.columns, self.signature = [[] for _ in leaves], signature
        for column, leaf in zip(self.columns, leaves):
            column.append(leaf)
        self.batches.append(batch)
        if not checked:
            self.unchecked.append(batch)

    def check(self, stacked=None):
        """The NaN/inf check of the quick batches: one reduction per array of the stacked
        block; only when it finds something, batch by batch for the error."""
        if not self.unchecked:
            return
        if stacked is not None:
            weighted = self.batches[0][2] is not None
            checked = stacked[:len(stacked) - weighted]       # x and y, not sample_weight
            if all(not isinstance(a, np.ndarray) or a.dtype.kind != "f" or _finite(a)
                   for a in checked):
                self.unchecked = []
                return
        for batch in self.unchecked:
            _check(batch, self.what)
        self.unchecked = []

    def block(self, first_step, pad=None):
        treedef = self.signature[0]
        steps = len(self.batches)
        batch_size = int(self.columns[0][0].shape[0])
        if steps == 1:
            leaves = [column[0] for column in self.columns]
            data = self.batches[0]
        else:
            rows = steps * batch_size
            padded = rows if pad is None else max(rows, pad(steps) * batch_size)
            stacked = [_concatenate(column, padded) for column in self.columns]
            data = jax.tree_util.tree_unflatten(treedef, stacked)
            leaves = stacked if padded == rows else [a[:rows] for a in stacked]
        self.check(leaves)
        return Block(data, steps, batch_size, first_step)


def _finite(a):
    """True if float array `a` holds no NaN or infinity. One pass: the dot product of the
    values with themselves carries any NaN or inf into the result (about half the time of
    a min and a max); only when it overflows, from large finite values, the exact check."""
    if a.dtype in _DOT_DTYPES and a.size and a.flags.c_contiguous:
        flat = a.reshape(-1)
        with np.errstate(all="ignore"):
            square = np.dot(flat, flat)
        if np.isfinite(square):
            return True
    return data_mod._all_finite(a)


_DOT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _concatenate(parts, rows=None):
    """Arrays of one shape and dtype stacked along rows into one aligned buffer, which the
    device copy then uses in place (no second copy to align it); zero rows after them up
    to `rows`."""
    first = parts[0]
    n = sum(p.shape[0] for p in parts)
    rows = n if rows is None else rows
    out = data_mod.aligned_empty((rows,) + tuple(first.shape[1:]), first.dtype)
    np.concatenate(parts, axis=0, out=out if rows == n else out[:n])
    if rows > n:
        out[n:] = 0
    return out


def pad_rows(tree, rows):
    """Pads every leaf with zero rows up to `rows` (a masked chunk skips them), in an
    aligned buffer (the device copy uses it in place)."""
    def pad(a):
        if a.shape[0] == rows:
            return a
        return _concatenate([np.asarray(a)], rows)
    return jax.tree_util.tree_map(pad, tree)


def prefetch(items, put, depth=2):
    """Runs `put` over `items` on a background thread, `depth` results ahead of the caller.
    Errors in the producer (a user's generator) are raised in the caller."""
    q = queue.Queue(depth)
    stop = threading.Event()
    done = object()

    def produce():
        try:
            for item in items:
                value = ("ok", put(item))
                while not stop.is_set():
                    try:
                        q.put(value, timeout=0.1)
                        break
                    except queue.Full:
                        pass
                if stop.is_set():
                    return
            q.put(("ok", done))
        except BaseException as e:      # handed to the consumer, which re-raises it
            q.put(("error", e))

    thread = threading.Thread(target=produce, name="gazelle-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            status, value = q.get()
            if status == "error":
                raise value
            if value is done:
                return
            yield value
    finally:
        stop.set()
        while thread.is_alive():
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass
        thread.join()
