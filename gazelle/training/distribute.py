"""Where fit/evaluate/predict put their arrays under a `gazelle.distribution`. [L4]

Without a distribution everything sits on JAX's default device. Under `DataParallel`,
state and in-memory datasets are replicated over the mesh, and each batch a step gathers
is constrained to be split along the mesh's batch axis, so XLA partitions the step and
all-reduces the gradients. A batch the device count does not divide (a short last batch)
runs replicated instead: same numbers, no split.
"""
import jax

from gazelle import distribution as distribution_mod


def current():
    """The active DataParallel, or None (also for a mesh of one device)."""
    dist = distribution_mod.distribution()
    return dist if dist is not None and dist.num_devices > 1 else None


def place(tree, dist=None):
    """Copies a pytree of host/device arrays to the device(s): replicated under `dist`."""
    dist = current() if dist is None else dist
    if dist is None:
        return jax.device_put(tree)
    return jax.device_put(tree, dist.replicated())


def split_batch(dist, batch_size):
    """A function constraining a batch pytree to be split over `dist`'s devices, or None."""
    if dist is None or batch_size % dist.num_devices:
        return None

    def constrain(batch):
        return jax.tree_util.tree_map(
            lambda a: jax.lax.with_sharding_constraint(a, dist.batch_sharding(a.ndim)), batch)
    return constrain
