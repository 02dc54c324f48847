"""Data parallelism over several devices, with Keras 3's `keras.distribution` API. [L0]

    devices = keras.distribution.list_devices()            # ['cpu:0', 'cpu:1', ...]
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    model.fit(x, y, batch_size=256)                          # each batch split over devices

Under a `DataParallel` distribution, `fit`, `evaluate` and `predict` replicate the weights,
optimizer slots and metric accumulators on every device of its mesh and split each global
batch along the mesh's batch axis; XLA's SPMD partitioner adds the all-reduce of the
gradients. One device computing the same global batch gives the same numbers up to float
summation order. Arrays that fit in memory are copied to every device; streamed data
(generators, PyDataset, memmaps) arrive per chunk, already split.

Several processes (hosts): call `initialize()` (JAX's `jax.distributed.initialize`, with
gloo collectives on CPUs) in every process before any other JAX work; `list_devices()` then
lists the devices of all processes, and every process runs the same script, seeded alike,
on the SAME full arrays (unlike Keras, which feeds each process its own shard); fit checks
that with a checksum and refuses data that differs. Weights and logs come back identical
in every process. See docs/DISTRIBUTED.md.
Model parallelism (Keras's `ModelParallel`, `LayoutMap`) is not provided.
"""
import contextlib
import os

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

_STATE = {"distribution": None}


def list_devices(device_type=None):
    """Devices JAX can use, as Keras names them ('cpu:0', 'gpu:1', ...)."""
    if device_type is not None:
        if not isinstance(device_type, str):
            raise TypeError(f"list_devices(): `device_type` must be a str such as 'cpu' or "
                            f"'gpu'; received {device_type!r}.")
        try:
            devices = jax.devices(device_type.lower())
        except RuntimeError as e:
            raise ValueError(f"list_devices(): no devices of type {device_type!r}: {e}") \
                from None
    else:
        devices = jax.devices()
    return [f"{d.platform}:{d.id}" for d in devices]


def _resolve_devices(devices):
    """jax Device objects for Keras device names ('cpu:0') or Devices."""
    by_name = {f"{d.platform}:{d.id}": d for d in jax.devices()}
    out = []
    for d in devices:
        if isinstance(d, jax.Device):
            out.append(d)
        elif isinstance(d, str) and d.lower() in by_name:
            out.append(by_name[d.lower()])
        else:
            raise ValueError(f"Unknown device {d!r}; available devices are "
                             f"{sorted(by_name)}.")
    if len({id(d) for d in out}) != len(out):
        raise ValueError(f"Devices must be distinct; received {list(devices)}.")
    return out


class DeviceMesh:
    """A grid of devices with named axes (Keras 3's `keras.distribution.DeviceMesh`)."""

    def __init__(self, shape, axis_names, devices=None):
        shape = tuple(int(s) for s in shape)
        axis_names = tuple(axis_names)
        if len(shape) != len(axis_names):
            raise ValueError(f"DeviceMesh: `shape` {shape} and `axis_names` {axis_names} must "
                             "have the same length.")
        devices = _resolve_devices(jax.devices() if devices is None else
                                   np.asarray(devices, dtype=object).ravel().tolist())
        if int(np.prod(shape)) != len(devices):
            raise ValueError(f"DeviceMesh: shape {shape} needs {int(np.prod(shape))} devices; "
                             f"received {len(devices)}.")
        self.shape = shape
        self.axis_names = axis_names
        self.devices = np.asarray(devices, dtype=object).reshape(shape)
        self.mesh = Mesh(self.devices, axis_names)

    def __repr__(self):
        return f"<DeviceMesh shape={self.shape}, axis_names={list(self.axis_names)}>"


class DataParallel:
    """Replicates the model on every device and splits each batch among them."""

    def __init__(self, device_mesh=None, devices=None, auto_shard_dataset=True):
        if device_mesh is not None and devices is not None:
            raise ValueError("DataParallel: pass `device_mesh` or `devices`, not both.")
        if device_mesh is None:
            devices = _resolve_devices(jax.devices() if devices is None else list(devices))
            device_mesh = DeviceMesh((len(devices),), ("batch",), devices)
        elif not isinstance(device_mesh, DeviceMesh):
            raise TypeError(f"DataParallel: `device_mesh` must be a DeviceMesh; received "
                            f"{type(device_mesh).__name__}.")
        self.device_mesh = device_mesh
        self.batch_dim_name = device_mesh.axis_names[0]
        self.auto_shard_dataset = auto_shard_dataset

    @property
    def num_devices(self):
        return int(self.device_mesh.devices.size)

    @property
    def num_processes(self):
        """How many processes own devices of the mesh (more than 1: a multi-process job)."""
        return len({d.process_index for d in self.device_mesh.devices.flat})

    def replicated(self):
        """The sharding of weights and other state: a full copy on every device."""
        return NamedSharding(self.device_mesh.mesh, PartitionSpec())

    def batch_sharding(self, rank=1, axis=0):
        """The sharding of an array whose `axis` is the batch: split over the batch axis."""
        spec = [None] * rank
        spec[axis] = self.batch_dim_name
        return NamedSharding(self.device_mesh.mesh, PartitionSpec(*spec))

    @contextlib.contextmanager
    def scope(self):
        """`with distribution.scope():` makes this the distribution inside the block."""
        previous = _STATE["distribution"]
        set_distribution(self)
        try:
            yield self
        finally:
            _STATE["distribution"] = previous

    def __repr__(self):
        names = [f"{d.platform}:{d.id}" for d in self.device_mesh.devices.ravel()]
        return f"<DataParallel over {names}>"


def set_distribution(value):
    """Sets the global distribution (a DataParallel, or None for one device)."""
    if value is not None and not isinstance(value, DataParallel):
        raise TypeError(f"set_distribution(): expected a DataParallel or None; received "
                        f"{type(value).__name__}.")
    _STATE["distribution"] = value


def distribution():
    """The global distribution set by `set_distribution`, or None."""
    return _STATE["distribution"]


def initialize(job_addresses=None, num_processes=None, process_id=None, **kwargs):
    """Joins a multi-process JAX job (several hosts, or several processes on one host).

    `job_addresses` is the coordinator's "host:port" (Keras also accepts a comma-separated
    list, whose first entry is the coordinator). Arguments left None are read, as in Keras,
    from KERAS_DISTRIBUTION_JOB_ADDRESSES, KERAS_DISTRIBUTION_NUM_PROCESSES and
    KERAS_DISTRIBUTION_PROCESS_ID when set. Other keyword arguments go to
    `jax.distributed.initialize` (e.g. `initialization_timeout` in seconds). Call it first
    thing in every process, before any model or array exists. On CPUs the collectives run
    over gloo."""
    env = os.environ
    if job_addresses is None and "KERAS_DISTRIBUTION_JOB_ADDRESSES" in env:
        job_addresses = env["KERAS_DISTRIBUTION_JOB_ADDRESSES"]
    if num_processes is None and "KERAS_DISTRIBUTION_NUM_PROCESSES" in env:
        num_processes = int(env["KERAS_DISTRIBUTION_NUM_PROCESSES"])
    if process_id is None and "KERAS_DISTRIBUTION_PROCESS_ID" in env:
        process_id = int(env["KERAS_DISTRIBUTION_PROCESS_ID"])
    if isinstance(job_addresses, str) and "," in job_addresses:
        job_addresses = job_addresses.split(",")[0]
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=job_addresses, num_processes=num_processes,
                               process_id=process_id, **kwargs)
