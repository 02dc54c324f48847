"""Every kind of input fit/evaluate/predict take, behind one interface. [L4]

An adapter turns what the user passed into chunks ready for a compiled step:

    adapter = adapters.get(x, y, sample_weight, batch_size, steps, what="fit")
    x, y, sw = adapter.setup()           # what the model is built and checked against
    k = adapter.block_steps(cap, kind)   # steps per compiled chunk
    adapter.precompile(runner, kind, state, k)
    for epoch in ...:
        for fn, args, first_step, n_valid in adapter.chunks(runner, kind, epoch, k, ...):
            ...                          # one compiled call per chunk
        adapter.exhausted                # a one-shot generator ran out

and says how many samples (`n`, None for a stream) and steps (`steps`, None: until the
input runs out) an epoch has. The kinds:

- `Resident`: in-memory arrays within the memory budget, copied to the device once per
  fit; each epoch gathers its batches through an index order (shuffling on device).
- `ArrayBlocks`: memmaps, arrays over the budget, and every evaluation and prediction of
  arrays: host blocks of rows (sources.ArraySource) copied one or two blocks ahead.
- `Batches`: generators and PyDatasets (sources.BatchSource), and the re-iterable inputs
  of other libraries, recognised by duck typing and module name without importing them:
  a `tf.data.Dataset`, a `torch.utils.data.DataLoader` and Grain's `DataLoader`,
  `MapDataset` and `IterDataset` (sources.IterableSource: one pass per epoch).

A `runner` is what owns the compiled programs: `runner.steps` (steps.Steps) and
`runner._iota(rows)` (a cached device index array).
"""
import math
import sys

import jax
import jax.numpy as jnp
import numpy as np

from gazelle.training import data as data_mod, distribute, sources

ACCEPTED = ("NumPy arrays (or lists/dicts of them, pandas objects, memmaps, JAX arrays), "
            "a Python generator or iterator yielding (x, y[, sample_weight]) batches, a "
            "keras.utils.PyDataset, a tf.data.Dataset, a torch.utils.data.DataLoader, or a "
            "Grain DataLoader/MapDataset/IterDataset")


# -- what the user passed --------------------------------------------------------------
def foreign_kind(x):
    """'tf.data', 'torch' or 'grain' for another library's input pipeline, else None.
    Recognised by the module its class comes from; nothing is imported."""
    root = (getattr(type(x), "__module__", "") or "").split(".")[0]
    if root == "tensorflow" and hasattr(x, "as_numpy_iterator"):
        return "tf.data"
    if root == "torch" and hasattr(x, "__iter__") and not hasattr(x, "shape"):
        return "torch"
    if root == "grain" and hasattr(x, "__iter__"):
        return "grain"
    return None


def is_stream(x):
    """Batches rather than arrays: a generator, a PyDataset, another library's dataset."""
    return foreign_kind(x) is not None or sources.is_stream(x)


def check_known(x, what):
    """A TypeError listing what gazelle accepts, for an input it cannot use."""
    if x is None or isinstance(x, (int, float, complex, bool, np.generic)) or \
            sources._array_like(x) or is_stream(x):
        return
    raise TypeError(f"{what}(): cannot use `x` of type {type(x).__module__}."
                    f"{type(x).__qualname__}. gazelle accepts {ACCEPTED}.")


def get(x, y, sample_weight, batch_size, steps, what, need_y=True, predict=False,
        transform=None):
    """The adapter for evaluation or prediction input (always streamed through blocks).
    `transform` maps each streamed batch's x (training/host.py)."""
    check_known(x, what)
    if is_stream(x):
        _no_arrays_with_stream(y, sample_weight, what)
        return Batches(stream_source(x, steps, what, transform), predict=predict)
    if predict:
        (x, _, _), n = data_mod.standardize(x, None, None, what=what, need_y=False)
        data = x
    else:
        (x, y, sample_weight), n = data_mod.standardize(x, y, sample_weight, what=what,
                                                        need_y=need_y)
        data = (x, y, sample_weight)
    if steps is not None:
        n = min(n, steps * batch_size)
    return ArrayBlocks(sources.ArraySource(data, n, batch_size), predict=predict)


def validation(validation_data, batch_size, steps, what="fit (validation_data)",
               need_y=True, transform=None):
    """The adapter for `validation_data`: a tuple of arrays or a stream of batches."""
    if not is_stream(validation_data):
        validation_data = data_mod.unpack_validation_data(validation_data)
        return get(*validation_data, batch_size, steps, what, need_y=need_y)
    return get(validation_data, None, None, batch_size, steps, what, need_y=need_y,
               transform=transform)


def training(x, y, sample_weight, batch_size, steps_per_epoch, class_weight, need_y,
             validation_split=0.0, validation_batch_size=None, validation_steps=None,
             transform=None):
    """The adapter for fit's input, and the validation adapter split from it (or None).
    `transform` maps each streamed batch's x (training/host.py)."""
    check_known(x, "fit")
    if is_stream(x):
        # A generator or PyDataset: batches as they come, streamed through blocks.
        _no_arrays_with_stream(y, sample_weight, "fit")
        if validation_split:
            raise ValueError("fit(): `validation_split` needs arrays; with a generator or "
                             "PyDataset pass `validation_data` instead.")
        source = stream_source(x, steps_per_epoch, "fit", transform)
        if source.first()[1] is None and need_y:
            raise ValueError("fit(): the generator/PyDataset must yield (x, y) or "
                             "(x, y, sample_weight) batches; it yielded inputs only.")
        if class_weight:
            raise ValueError("fit(): `class_weight` needs arrays; a generator or PyDataset "
                             "can yield (x, y, sample_weight) batches instead.")
        return Batches(source), None
    (x, y, sample_weight), n = data_mod.standardize(x, y, sample_weight, what="fit",
                                                    need_y=need_y)
    sample_weight = data_mod.class_weight_to_sample_weight(y, class_weight, sample_weight)
    val = None
    if validation_split:
        (x, y, sample_weight), n, arrays, val_n = data_mod.split_validation(
            (x, y, sample_weight), n, validation_split)
        if validation_steps is not None:
            val_n = min(val_n, validation_steps * validation_batch_size)
        val = ArrayBlocks(sources.ArraySource(arrays, val_n, validation_batch_size))
    data, n_total = (x, y, sample_weight), n
    if steps_per_epoch is not None:
        n = min(n, steps_per_epoch * batch_size)
    if not sources.is_memmap(data) and _nbytes(data) <= sources.memory_budget():
        return Resident(data, n, n_total, batch_size), val
    return ArrayBlocks(sources.ArraySource(data, n, batch_size), n_total), val


def stream_source(x, steps, what, transform=None):
    """A BatchSource: PyDataset/generator, or a re-iterable pipeline of another library."""
    kind = foreign_kind(x)
    if kind is None:
        return sources.BatchSource(x, steps, what, transform)
    length = _length(x, kind)
    if length == math.inf and steps is None:
        raise ValueError(f"{what}(): the {kind} input is infinite (it repeats without end); "
                         "pass `steps_per_epoch` (`steps` for evaluate/predict, "
                         "`validation_steps` for validation) to say how many batches make "
                         "an epoch.")
    return sources.IterableSource(x, steps, what, None if length == math.inf else length,
                                  _iterate(x, kind), kind, transform)


def _length(x, kind):
    """Batches per pass: an int, math.inf for an infinite dataset, None when unknown."""
    if kind == "tf.data":
        n = int(x.cardinality())
        return math.inf if n == -1 else (None if n < 0 else n)
    try:
        n = len(x)
    except (TypeError, NotImplementedError, AttributeError, ValueError):
        return None
    return math.inf if n >= sys.maxsize else int(n)


def _iterate(x, kind):
    """A function giving a fresh iterator over host (NumPy) batches."""
    if kind == "tf.data":
        return lambda: _tf_batches(x)
    return lambda: map(to_host, iter(x))


def _tf_batches(ds):
    """One pass over a tf.data.Dataset as NumPy batches: what `as_numpy_iterator()` yields
    (read-only arrays on the tensors' buffers, in the same structures) and the same check
    of the element types, without its tf.nest walk of every batch (~25 us a batch, 8% of
    the tutorial MLP's epoch on 2 cores)."""
    numpy_iterator = ds.as_numpy_iterator()
    tensors = getattr(numpy_iterator, "_iterator", None)
    if tensors is None:                  # a TensorFlow that iterates differently
        return numpy_iterator
    direct = _tf_direct(tensors, getattr(ds, "element_spec", None))
    return direct if direct is not None else map(_tf_element, tensors)


def _tf_direct(iterator, spec):
    """The elements of a tf.data iterator read with its get-next op, as a generator; None
    where that does not apply (a leaf other than a dense tensor, a TensorFlow without these
    internals). The iterator's own `next` rebuilds each element in Python (shapes, specs,
    tf.nest: ~0.1 ms a batch, a quarter of the tutorial MLP's epoch on 2 cores), then
    `as_numpy_iterator` walks it again; here the op's flat list of tensors becomes NumPy
    arrays packed into the element's structure once, as `as_numpy_iterator` yields it."""
    try:
        import tensorflow as tf          # loaded already: the dataset came from it
        from tensorflow.python.data.util import nest
        from tensorflow.python.eager import context
        from tensorflow.python.framework import errors
        from tensorflow.python.ops import gen_dataset_ops
        get_next = gen_dataset_ops.iterator_get_next
        resource = iterator._iterator_resource
        types, shapes = iterator._flat_output_types, iterator._flat_output_shapes
        specs = nest.flatten(spec)
    except (ImportError, AttributeError, TypeError):
        return None
    if not context.executing_eagerly() or len(specs) != len(types) or not all(
            type(s) is tf.TensorSpec for s in specs):
        return None
    if type(spec) is tuple and all(type(s) is tf.TensorSpec for s in spec):  # (x, y)
        pack = tuple
    elif type(spec) is tf.TensorSpec:
        pack = lambda leaves: leaves[0]          # noqa: E731
    else:
        pack = lambda leaves: nest.pack_sequence_as(spec, leaves)   # noqa: E731

    def elements(iterator=iterator):     # holds the iterator (its resource) while in use
        while True:
            try:
                if context.is_async():           # as the iterator's own next does
                    with context.execution_mode(context.SYNC):
                        flat = get_next(resource, output_types=types, output_shapes=shapes)
                else:
                    flat = get_next(resource, output_types=types, output_shapes=shapes)
            except errors.OutOfRangeError:
                return
            yield pack([_read_only(t._numpy()) for t in flat])
    return elements()


class _NotPlain(Exception):
    """A tf.data element holds a structure tf.nest knows and _tf_numpy does not."""


def _tf_element(item):
    if type(item) is tuple:              # the usual (x, y) of tensors, in one go
        out = []
        for tensor in item:
            numpy = getattr(tensor, "_numpy", None)
            if numpy is None:
                break
            out.append(_read_only(numpy()))
        else:
            return tuple(out)
    try:
        return _tf_numpy(item)
    except _NotPlain:
        import tensorflow as tf          # loaded already: `item` came from it
        return tf.nest.map_structure(_tf_leaf, item)


def _tf_numpy(item):
    t = type(item)
    if t is tuple or t is list:
        return t([_tf_numpy(e) for e in item])
    if t is dict:
        return {key: _tf_numpy(value) for key, value in item.items()}
    if isinstance(item, tuple) and hasattr(item, "_fields"):
        return t(*(_tf_numpy(e) for e in item))
    if item is None or hasattr(item, "_numpy") or hasattr(item, "numpy"):
        return _tf_leaf(item)
    raise _NotPlain                      # attrs classes, other mappings: tf.nest's walk


def _tf_leaf(x):
    """One tensor as `as_numpy_iterator` gives it."""
    if hasattr(x, "_numpy"):
        return _read_only(x._numpy())
    if x is not None:
        return _read_only(x.numpy())
    return None


def _read_only(a):
    if isinstance(a, np.ndarray):
        a.setflags(write=False)          # it shares the tensor's (immutable) buffer
    return a


def to_host(batch):
    """A batch of torch/TensorFlow/JAX tensors (in tuples, lists, dicts) as NumPy arrays."""
    t = type(batch)
    convert = _HOST.get(t)               # tensor types seen before (never containers)
    if convert is not None:
        return convert(batch)
    if t is tuple or t is list:
        return t([to_host(b) for b in batch])
    if isinstance(batch, (tuple, list)):
        return t(to_host(b) for b in batch) if not hasattr(batch, "_fields") \
            else t(*(to_host(b) for b in batch))
    if isinstance(batch, dict):
        return {k: to_host(v) for k, v in batch.items()}
    root = (getattr(t, "__module__", "") or "").split(".")[0]
    if root == "torch" and hasattr(batch, "detach"):
        convert = _torch_numpy
    elif root == "tensorflow" and hasattr(batch, "numpy"):
        convert = _tf_tensor_numpy
    else:
        convert = _same
    _HOST[t] = convert
    return convert(batch)


_HOST = {}                               # tensor type -> its conversion to NumPy


def _torch_numpy(t):
    if getattr(t, "is_cpu", False) and not t.requires_grad:
        return t.numpy()                 # the same array, without detach's new tensor
    return t.detach().cpu().numpy()


def _tf_tensor_numpy(t):
    return t.numpy()


def _same(x):
    return x


def _no_arrays_with_stream(y, sample_weight, what):
    for name, value in (("y", y), ("sample_weight", sample_weight)):
        if value is not None:
            raise ValueError(f"{what}(): `{name}` is not supported when `x` is a generator, "
                             f"a PyDataset or a dataset; yield (x, y) or "
                             f"(x, y, sample_weight) batches.")


# -- the adapters ------------------------------------------------------------------------
class Adapter:
    """What every input kind offers the trainer."""

    n = None                    # samples per epoch, None for a stream
    exhausted = False           # a one-shot generator ran out (the fit stops)
    predict = False             # x only (no targets)

    def setup(self):
        """(x, y, sample_weight) on the host, to build the model and check the labels."""
        raise NotImplementedError

    def sample(self, rows=2048):
        return self.setup()

    def small(self):
        return False

    @property
    def full_steps(self):
        """Full batches per epoch (a large number when unknown): sizes the chunks."""
        return self.steps or 1 << 30

    def block_steps(self, cap, kind):
        raise NotImplementedError

    def precompile(self, runner, kind, state, k):
        """Starts background compiles of the programs an epoch will need."""

    def chunks(self, runner, kind, epoch, k, shuffle=False, seed=0):
        """(fn, args, first_step, n_valid) for one epoch."""
        raise NotImplementedError

    def _select(self, runner, kind):
        return None if kind == "predict" else runner._with_targets


class Resident(Adapter):
    """In-memory arrays kept on the device for the whole fit."""

    def __init__(self, data, n, n_total, batch_size):
        self.data, self.n, self.n_total, self.batch_size = data, n, n_total, batch_size
        self.steps = math.ceil(n / batch_size)
        self._placed = None

    def setup(self):
        return self.data

    @property
    def full_steps(self):
        return self.n // self.batch_size

    def block_steps(self, cap, kind):
        return cap

    def _device_data(self, runner):
        if self._placed is None:
            self._placed = distribute.place(runner._with_targets(self.data))
        return self._placed

    def precompile(self, runner, kind, state, k):
        # Epoch 1 needs up to four programs; all but the first compile in the background
        # while the first chunks run, so the epoch does not stall at its end to compile.
        n, bs = self.n, self.batch_size
        rest = n % bs
        order = jax.ShapeDtypeStruct((_order_length(n, bs, k),), jnp.int32)
        if rest:
            runner.steps.precompile(kind, 1, rest, False, state, self._device_data(runner),
                                    order, 0, 1)

    def chunks(self, runner, kind, epoch, k, shuffle=False, seed=0):
        data = self._device_data(runner)
        order = _order(self.n, self.batch_size, k, shuffle, seed, epoch, self.n_total)
        return _resident_chunks(runner.steps, kind, data, self.n, self.batch_size, k, order)


class ArrayBlocks(Adapter):
    """Arrays (numpy, memmaps) read in blocks of rows on the host."""

    def __init__(self, source, n_total=None, predict=False):
        self.source, self.predict = source, predict
        self.n, self.batch_size, self.steps = source.n, source.batch_size, source.steps
        self.n_total = source.n if n_total is None else n_total

    def setup(self):
        return self.source.data

    def sample(self, rows=2048):
        return self.source.sample(rows)

    def small(self):
        return self.source.small()

    @property
    def full_steps(self):
        return self.n // self.batch_size

    def block_steps(self, cap, kind):
        data = self.source.data
        tree = data[0] if kind == "train" else data
        return sources.max_block_steps(tree, self.batch_size, cap=cap)

    def precompile(self, runner, kind, state, k):
        if kind == "train":
            return
        data = runner._with_targets(jax.tree_util.tree_map(lambda a: a[:0], self.source.data))
        bs = self.batch_size
        full, rest = divmod(self.n, bs)
        programs = {(1 << (m - 1).bit_length(), bs, (m & (m - 1)) != 0)
                    for m in _sizes(full, k)} | ({(1, rest, False)} if rest else set())
        for m, b, masked in sorted(programs):
            shaped = jax.tree_util.tree_map(
                lambda a: jax.ShapeDtypeStruct((m * b,) + a.shape[1:], _device_dtype(a.dtype)),
                data)
            runner.steps.precompile(kind, m, b, masked, state, shaped, runner._iota(m * b),
                                    0, m)

    def chunks(self, runner, kind, epoch, k, shuffle=False, seed=0):
        order = _shuffled_order(seed, epoch, self.n_total)[:self.n] \
            if kind == "train" and shuffle else None
        blocks = self.source.blocks(_sizes(self.n // self.batch_size, k), order)
        return block_chunks(runner, kind, blocks, k=k if kind == "train" else None,
                            select=self._select(runner, kind),
                            background=kind == "train" or not self.small())


class Batches(Adapter):
    """Batches from a generator, a PyDataset or another library's dataset."""

    def __init__(self, source, predict=False):
        self.source, self.predict = source, predict

    @property
    def steps(self):
        return self.source.steps

    @property
    def batch_size(self):
        return self.source.batch_size

    @property
    def exhausted(self):
        return self.source.exhausted

    def setup(self):
        return self.source.first()

    def block_steps(self, cap, kind):
        first = self.source.first()
        return sources.max_block_steps(first if kind == "test" else first[0],
                                       self.batch_size, cap=cap)

    def chunks(self, runner, kind, epoch, k, shuffle=False, seed=0):
        # Blocks come padded to the steps block_chunks runs them with (no copy there).
        if kind == "train":
            blocks = self.source.blocks(epoch, k, shuffle, pad=lambda m: _chunk_steps(m, k))
            return block_chunks(runner, kind, blocks, k=k, select=runner._with_targets)
        select = (lambda d: d[0]) if kind == "predict" else runner._with_targets
        blocks = self.source.blocks(epoch, k, pad=lambda m: _chunk_steps(m, None))
        return block_chunks(runner, kind, blocks, select=select)


# -- chunks ------------------------------------------------------------------------------
def _resident_chunks(steps, kind, data, n, batch_size, k, order):
    """Chunks over a dataset resident on the device, gathered through `order`."""
    full, rest = divmod(n, batch_size)
    if full:
        fn = steps.chunk(kind, k, batch_size, masked=full % k != 0)
        for c in range(math.ceil(full / k)):
            n_valid = min(k, full - c * k)
            yield fn, (data, order, c * k * batch_size, n_valid), c * k, n_valid
    if rest:
        yield (steps.chunk(kind, 1, rest, False), (data, order, full * batch_size, 1), full, 1)


def block_chunks(runner, kind, blocks, k=None, select=None, background=True):
    """Chunks over host blocks copied to the device one or two blocks ahead. With `k`
    (training streams), blocks of several steps are padded to k steps and masked: one
    program for the whole stream. Without, a block of m steps runs the program for the
    next power of two, padded and masked, so the programs stay few for any data size."""
    def put(block):
        data = block.data if select is None else select(block.data)
        data = jax.tree_util.tree_map(_to_device_dtype, data)
        m, bs = block.steps, block.batch_size
        steps = _chunk_steps(m, k)
        if steps > m:
            data = sources.pad_rows(data, steps * bs)      # as it is if padded already
        return distribute.place(data), steps, bs, block

    # A prefetch thread costs ~0.1 ms to start: not worth it for one small block.
    placed = sources.prefetch(blocks, put) if background else map(put, blocks)
    for data, steps, bs, block in placed:
        masked = steps > block.steps or (k is not None and steps > 1)
        if kind == "predict":
            fn = runner.steps.chunk(kind, steps, bs, False)
            args = (data, runner._iota(steps * bs), 0)
        else:
            fn = runner.steps.chunk(kind, steps, bs, masked)
            args = (data, runner._iota(steps * bs), 0, block.steps)
        yield fn, args, block.first_step, block.steps


def _chunk_steps(m, k):
    """Steps of the program that runs a block of m steps: k for a training stream's blocks
    of several steps (one program for the stream), else the next power of two."""
    if k is not None:
        return k if m > 1 else 1
    return 1 << (m - 1).bit_length()


def _shuffled_order(seed, epoch, n):
    """A permutation of range(n), drawn on the host: NumPy's Philox stream for (seed, epoch).
    (jax.random.permutation compiles once per dataset size, ~0.3 s each on a CPU.)"""
    return np.random.default_rng([seed, epoch]).permutation(n).astype(np.int32)


def _order(n, batch_size, k, shuffle, seed, epoch, n_total=None):
    """Sample indices for one epoch, on the device: the first `n` of a permutation of
    `n_total`, padded so every chunk of k steps can slice whole blocks."""
    n_total = n if n_total is None else n_total
    order = _shuffled_order(seed, epoch, n_total) if shuffle else \
        np.arange(n_total, dtype=np.int32)
    order = order[:n]
    length = _order_length(n, batch_size, k)
    if length > n:
        order = np.concatenate([order, np.zeros((length - n,), np.int32)])
    return distribute.place(order)


def _order_length(n, batch_size, k):
    """Length of an epoch's index array: n, padded up to whole chunks of k full batches."""
    full = n // batch_size
    return max(n, math.ceil(full / k) * k * batch_size if full else 0)


def _sizes(full, k):
    """Steps per block: blocks of k, then what is left."""
    return [k] * (full // k) + ([full % k] if full % k else [])


def _nbytes(tree):
    return sum(int(np.prod(leaf.shape)) * leaf.dtype.itemsize
               for leaf in jax.tree_util.tree_leaves(tree))


def _device_dtype(dtype):
    dtype = np.dtype(dtype)
    return {np.dtype(np.float64): np.dtype(np.float32),
            np.dtype(np.int64): np.dtype(np.int32)}.get(dtype, dtype)


def _to_device_dtype(a):
    """float64/int64 blocks (from memmaps, which standardize leaves untouched) as 32-bit."""
    a = np.asarray(a) if not isinstance(a, jax.Array) else a
    target = _device_dtype(a.dtype)
    return a.astype(target) if target != a.dtype else a
