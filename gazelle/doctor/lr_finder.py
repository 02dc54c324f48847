"""The learning-rate range test behind `Model.find_learning_rate`: the loss over steps whose
learning rate grows exponentially, on a copy of the state. [doctor: jax, numpy,
gazelle.random, gazelle.training]
"""
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gazelle import random as grandom
from gazelle.core.variables import Variable
from gazelle.doctor.labels import check_labels
from gazelle.training import data as data_mod


class LRFinderResult(NamedTuple):
    """The learning-rate range test's curve and the rate it suggests.

    Args:
        lrs: the learning rate of each step (increasing exponentially).
        losses: the training loss at each step (smoothed), up to where it diverged.
        suggested_lr: the rate at the lowest smoothed loss, divided by 10.
    """
    lrs: np.ndarray
    losses: np.ndarray
    suggested_lr: float


def find_learning_rate(trainer, x, y, batch_size=32, start_lr=1e-7, end_lr=10.0,
                       num_steps=200, stop_factor=4.0, seed=None):
    """Runs the range test on a copy of the state; the model's Variables never change."""
    for arg, value in (("start_lr", start_lr), ("end_lr", end_lr), ("stop_factor", stop_factor)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"find_learning_rate(): `{arg}` must be a positive number; "
                             f"received {value!r}.")
    if end_lr <= start_lr:
        raise ValueError(f"find_learning_rate(): `end_lr` ({end_lr}) must be larger than "
                         f"`start_lr` ({start_lr}).")
    for arg, value, low in (("num_steps", num_steps, 2), ("batch_size", batch_size, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"find_learning_rate(): `{arg}` must be an int >= {low}; "
                             f"received {value!r}.")
    (x, y, _), n = data_mod.standardize(x, y, None, what="find_learning_rate")
    steps = trainer._ensure_ready(x, y)
    ys = trainer.targets(y)
    check_labels(trainer, x, ys)
    optimizer = trainer.optimizer
    lr_var = optimizer.learning_rate
    if not isinstance(lr_var, Variable):
        raise ValueError(
            "find_learning_rate() needs an optimizer with a float learning rate; "
            f"optimizer '{optimizer.name}' uses a schedule ({type(lr_var).__name__}).")
    lr_index = next(i for i, v in enumerate(optimizer.variables) if v is lr_var)
    batch_size = min(int(batch_size), n)
    rng = np.random.default_rng(grandom.next_seed() if seed is None else seed)
    per_epoch = n // batch_size
    epochs = math.ceil(num_steps / per_epoch)
    idx = np.concatenate([rng.permutation(n)[:per_epoch * batch_size] for _ in range(epochs)])
    idx = idx[:num_steps * batch_size].reshape(num_steps, batch_size).astype(np.int32)
    lrs = start_lr * (end_lr / start_lr) ** (np.arange(num_steps) / (num_steps - 1))

    def run(state, data, idx, lrs):
        def body(state, inputs):
            i, lr = inputs
            values = list(state.optimizer)
            values[lr_index] = lr.astype(values[lr_index].dtype)
            batch = jax.tree_util.tree_map(lambda a: jnp.take(a, i, axis=0), data)
            return steps.train_step_with_loss(state._replace(optimizer=values), batch)
        return jax.lax.scan(body, state, (idx, lrs))[1]

    # No donation and no write-back: the Variables keep the weights and optimizer state.
    losses = np.asarray(jax.device_get(jax.jit(run)(
        steps.layout.lift(), (x, ys, None), idx, jnp.asarray(lrs, jnp.float32))), np.float64)
    smooth, avg = [], 0.0
    for i, loss in enumerate(losses):
        avg = 0.9 * avg + 0.1 * loss
        value = avg / (1 - 0.9 ** (i + 1))
        if not np.isfinite(value) or (smooth and value > stop_factor * min(smooth)):
            break
        smooth.append(value)
    if not smooth:
        raise ValueError(f"find_learning_rate(): the loss was not finite even at start_lr="
                         f"{start_lr:g}; lower `start_lr` or check the data.")
    smooth = np.array(smooth)
    lrs = lrs[:len(smooth)]
    return LRFinderResult(lrs, smooth, float(lrs[int(smooth.argmin())] / 10))
