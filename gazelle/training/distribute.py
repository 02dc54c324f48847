"""Where fit/evaluate/predict put their arrays under a `gazelle.distribution`. [L4]

Without a distribution everything sits on JAX's default device. Under `DataParallel`,
state and in-memory datasets are replicated over the mesh, and each batch a step gathers
is constrained to be split along the mesh's batch axis, so XLA partitions the step and
all-reduces the gradients. A batch the device count does not divide (a short last batch)
runs replicated instead: same numbers, no split.

A mesh spanning several processes (`gazelle.distribution.initialize`) runs the same code:
every process passes the same host arrays and each keeps the shards of its own devices.
`place`, called from the main thread, checks that the processes really passed equal data
(a CRC32 compared across processes, one small collective per call), since unequal copies
of a "replicated" array would silently diverge; `to_host` reads results back, gathering
arrays that are split over other processes' devices.
"""
import threading
import zlib

import jax
import numpy as np

from gazelle import distribution as distribution_mod
from gazelle.training import data


def current():
    """The active DataParallel, or None (also for a mesh of one device)."""
    dist = distribution_mod.distribution()
    return dist if dist is not None and dist.num_devices > 1 else None


def place(tree, dist=None):
    """Copies a pytree of host/device arrays to the device(s): replicated under `dist`."""
    dist = current() if dist is None else dist
    if dist is None:
        if jax.default_backend() == "cpu":
            tree = jax.tree_util.tree_map(_aligned, tree)
        return jax.device_put(tree)
    sharding = dist.replicated()
    if dist.num_processes == 1:
        return jax.device_put(tree, sharding)
    if threading.current_thread() is threading.main_thread():
        # A collective, so only from the main thread, whose calls come in the same order in
        # every process (blocks placed by a prefetch thread are not checked).
        _check_same_on_every_process(tree, sharding)
    return jax.tree_util.tree_map(lambda a: _to_global(a, sharding), tree)


def _aligned(leaf):
    """A large host array as an aligned copy, which the CPU client then uses in place: one
    numpy copy (~3x faster than the client's own copy of an unaligned array)."""
    if isinstance(leaf, np.ndarray) and leaf.nbytes >= 1 << 20 and (
            leaf.ctypes.data % data.ALIGNMENT or not leaf.flags.c_contiguous):
        return data.aligned_copy(leaf)
    return leaf


def _to_global(leaf, sharding):
    """One leaf as an array on a mesh spanning several processes, built from this process's
    copy without any collective. (`jax.device_put` would first all-gather the whole value
    to assert it is equal everywhere: a full copy of the dataset through the network, and
    a collective that deadlocks when issued from a prefetch thread.)"""
    if isinstance(leaf, jax.Array):
        if not leaf.is_fully_addressable:          # already global (a step's output)
            return leaf if leaf.sharding == sharding else jax.device_put(leaf, sharding)
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.extended):   # typed PRNG keys
            return jax.device_put(leaf, sharding)
    host = np.asarray(jax.device_get(leaf))
    host = host.astype(jax.dtypes.canonicalize_dtype(host.dtype), copy=False)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def to_host(tree):
    """NumPy copies of a pytree of arrays, also of arrays spanning several processes: a
    replicated one is read from this process's own copy; a split one is gathered first
    (a collective: every process of the job must call this at the same point)."""
    def one(a):
        if isinstance(a, jax.Array) and not a.is_fully_addressable:
            if a.is_fully_replicated:
                return np.asarray(a.addressable_data(0))
            from jax.experimental import multihost_utils
            return np.asarray(multihost_utils.process_allgather(a, tiled=True))
        return np.asarray(jax.device_get(a))
    return jax.tree_util.tree_map(one, tree)


def split_batch(dist, batch_size):
    """A function constraining a batch pytree to be split over `dist`'s devices, or None."""
    if dist is None or batch_size % dist.num_devices:
        return None

    def constrain(batch):
        return jax.tree_util.tree_map(
            lambda a: jax.lax.with_sharding_constraint(a, dist.batch_sharding(a.ndim)), batch)
    return constrain


def _checksum(tree, sharding):
    """CRC32 of the shapes, dtypes and bytes of the leaves that still have to be copied to
    `sharding` (arrays already placed there were checked when they were placed)."""
    crc = 0
    for leaf in jax.tree_util.tree_leaves(tree):
        if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
            continue              # already global: made by a jitted step or an earlier place
        host = np.ascontiguousarray(jax.device_get(leaf))
        crc = zlib.crc32(repr((host.shape, host.dtype.str)).encode(), crc)
        crc = zlib.crc32(host.reshape(-1).view(np.uint8), crc)
    return crc


def _check_same_on_every_process(tree, sharding):
    """Raises on every process when the processes hold different values for `tree`."""
    from jax.experimental import multihost_utils
    mine = np.asarray([_checksum(tree, sharding)], np.uint32)
    every = np.asarray(multihost_utils.process_allgather(mine)).reshape(-1)
    if np.any(every != every[0]):
        raise ValueError(
            "DataParallel over several processes: the processes passed different arrays "
            f"(checksums by process: {[int(c) for c in every]}). Every process must pass the "
            "SAME full dataset and build the same model: seed it identically "
            "(keras.utils.set_random_seed) in every process, before building the model and "
            "before fit (the shuffle order is drawn from it too).")
