"""Pure train/test/predict steps and their jitted `lax.scan` chunks. [L4]

Everything here runs under `jit`: it takes and returns a TrainState and knows nothing
of callbacks, printing or time. A chunk runs K steps over batches gathered on device
from index blocks; `masked` chunks skip the steps past `n_valid` with `lax.cond`, so
one compiled program serves every chunk of an epoch, the last one included.
"""
from concurrent.futures import ThreadPoolExecutor

import jax
import jax.numpy as jnp
import numpy as np

from gazelle.training import distribute
from gazelle.training.state import TrainState


_COMPILER = []


def _compiler():
    """One background thread for XLA compiles (XLA releases the GIL while it compiles)."""
    if not _COMPILER:
        _COMPILER.append(ThreadPoolExecutor(1, thread_name_prefix="gazelle-compile"))
    return _COMPILER[0]


def _take(data, idx):
    return jax.tree_util.tree_map(lambda a: jnp.take(a, idx, axis=0), data)


class Steps:
    """Builds and caches the compiled chunk functions for one compiled model."""

    def __init__(self, model, loss, slots, optimizer, layout):
        self.model = model
        self.loss = loss              # CompiledLoss: (ys, preds, sw) -> (total, per output)
        self.slots = slots            # MetricSlots, in log order
        self.metrics = [slot.metric for slot in slots]
        self.optimizer = optimizer
        self.layout = layout
        # On CPUs, models with convolutions run one dispatched step at a time (see
        # layers.convolutional._BaseConv._slow_in_cpu_loops); elsewhere chunks are scans.
        self.per_step_dispatch = jax.default_backend() == "cpu" and any(
            getattr(layer, "_slow_in_cpu_loops", False) for layer in model._flatten_layers())
        self._cache = {}
        self._pending = {}            # chunk key -> Future of its XLA compile (precompile)
        self.traces = 0               # how many chunk programs were traced (tests read it)

    # -- single steps --------------------------------------------------------------
    def _forward(self, trainable, non_trainable, x, training):
        y_pred, non_trainable, losses = self.model.stateless_call(
            trainable, non_trainable, x, training=training, return_losses=True)
        return y_pred, non_trainable, losses

    def _loss(self, y, y_pred, sw, losses):
        total, parts = self.loss(y, jax.tree_util.tree_leaves(y_pred), sw)
        if losses:
            total = total + sum(losses)
        return total, parts

    def _update_metrics(self, metric_values, loss, parts, y, y_pred, sw, batch_size):
        preds = jax.tree_util.tree_leaves(y_pred)
        new = []
        for slot, values in zip(self.slots, metric_values):
            if slot.kind == "loss":
                values = slot.metric.stateless_update_state(values, loss, sample_weight=batch_size)
            elif slot.kind == "output_loss":
                values = slot.metric.stateless_update_state(
                    values, parts[slot.index], sample_weight=batch_size)
            else:
                values = slot.metric.stateless_update_state(
                    values, y[slot.index], preds[slot.index], sample_weight=sw)
            new.append(values)
        return new

    def train_step(self, state, batch):
        return self.train_step_with_loss(state, batch)[0]

    def train_step_with_loss(self, state, batch):
        """`train_step` that also returns the batch's loss (the doctor reads it per chunk)."""
        x, y, sw = batch

        def loss_fn(trainable):
            y_pred, non_trainable, losses = self._forward(trainable, state.non_trainable, x, True)
            loss, parts = self._loss(y, y_pred, sw, losses)
            return loss, (y_pred, non_trainable, parts)

        (loss, (y_pred, non_trainable, parts)), grads = jax.value_and_grad(
            loss_fn, has_aux=True)(state.trainable)
        trainable, opt_values = self.optimizer.stateless_apply(
            state.optimizer, grads, state.trainable)
        trainable = [v if c is None else c(v) for v, c in zip(
            trainable, [getattr(w, "constraint", None) for w in self.layout.trainable])]
        batch_size = jax.tree_util.tree_leaves(x)[0].shape[0]
        metric_values = self._update_metrics(state.metrics, loss, parts, y, y_pred, sw,
                                             batch_size)
        return TrainState(trainable, non_trainable, opt_values, metric_values), \
            jnp.asarray(loss, jnp.float32)

    def test_step(self, state, batch):
        x, y, sw = batch
        y_pred, _, losses = self._forward(state.trainable, state.non_trainable, x, False)
        loss, parts = self._loss(y, y_pred, sw, losses)
        batch_size = jax.tree_util.tree_leaves(x)[0].shape[0]
        return state._replace(metrics=self._update_metrics(
            state.metrics, loss, parts, y, y_pred, sw, batch_size))

    def predict_step(self, state, x):
        y_pred, _, _ = self._forward(state.trainable, state.non_trainable, x, False)
        return y_pred

    def results(self, metric_values):
        out = {}
        for m, values in zip(self.metrics, metric_values):
            r = m.stateless_result(values)
            if isinstance(r, dict):
                out.update(r)
            else:
                out[m.name] = r
        return out

    # -- chunks --------------------------------------------------------------------
    def chunk(self, kind, steps, batch_size, masked):
        """The jitted function running `steps` steps of `kind` ('train'/'test'/'predict')."""
        dist = distribute.current()
        key = (kind, steps, batch_size, masked, dist)
        fn = self._cache.get(key)
        if fn is None:
            fn = self._build_chunk(kind, steps, batch_size, masked, dist)
            self._cache[key] = fn
        pending = self._pending.pop(key, None)
        if pending is not None:
            pending.result()          # compiled in the background: jit's cache now has it
        return fn

    def precompile(self, kind, steps, batch_size, masked, *args):
        """Traces a chunk for these arguments now and compiles it on a background thread, so
        programs needed later in the epoch (the short last batch, validation) compile while
        the first chunks train. `chunk()` waits for the compile before handing it out."""
        key = (kind, steps, batch_size, masked, distribute.current())
        if key in self._pending:
            return
        lowered = self.chunk(kind, steps, batch_size, masked).lower(*args)
        self._pending[key] = _compiler().submit(lowered.compile)

    def _build_chunk(self, kind, steps, batch_size, masked, dist):
        # Train steps also emit their batch loss as the scan's output: K floats per chunk,
        # free to compute, fetched only by the training doctor (diagnostics.FitDoctor).
        if kind == "train":
            step, skipped = self.train_step_with_loss, lambda s, b: (s, jnp.float32(jnp.nan))
        else:
            step, skipped = (lambda s, b: (self.test_step(s, b), None)), (lambda s, b: (s, None))

        split = distribute.split_batch(dist, batch_size)

        def take(data, idx):
            batch = _take(data, idx)
            return batch if split is None else split(batch)

        def block_indices(order, start):
            idx = jax.lax.dynamic_slice_in_dim(order, start, steps * batch_size)
            return idx.reshape(steps, batch_size)

        if steps > 1 and self.per_step_dispatch:
            return _Dispatched(self.chunk(kind, 1, batch_size, False), batch_size, kind)

        if kind == "predict":
            def run(state, x, order, start):
                self.traces += 1
                if steps == 1:
                    return jax.tree_util.tree_map(
                        lambda a: a[None], self.predict_step(state, take(
                            x, block_indices(order, start)[0])))

                def body(carry, i):
                    return carry, self.predict_step(state, take(x, i))
                _, ys = jax.lax.scan(body, None, block_indices(order, start))
                return ys
            return jax.jit(run)

        if steps == 1:
            # One step: straight-line code, no loop around it (compiles faster, and keeps
            # XLA:CPU's convolution gradients fast).
            def run(state, data, order, start, n_valid):
                self.traces += 1
                batch = take(data, block_indices(order, start)[0])
                if masked:
                    state, loss = jax.lax.cond(0 < n_valid, step, skipped, state, batch)
                else:
                    state, loss = step(state, batch)
                losses = None if loss is None else jnp.reshape(loss, (1,))
                return state, self.results(state.metrics), losses

            return jax.jit(run, donate_argnums=(0,) if kind == "train" else ())

        def run(state, data, order, start, n_valid):
            self.traces += 1

            def body(state, inputs):
                k, i = inputs
                batch = take(data, i)
                if not masked:
                    return step(state, batch)
                return jax.lax.cond(k < n_valid, step, skipped, state, batch)

            ks = jnp.arange(steps)
            state, losses = jax.lax.scan(body, state, (ks, block_indices(order, start)))
            return state, self.results(state.metrics), losses     # losses: None for "test"

        return jax.jit(run, donate_argnums=(0,) if kind == "train" else ())

    def reset_metrics(self):
        return [m.stateless_reset_state() for m in self.metrics]


class _Dispatched:
    """A chunk of steps run as a Python loop over the one-step program: every step is its
    own asynchronous dispatch, with no host sync until the caller reads the results."""

    def __init__(self, one_step, batch_size, kind):
        self.one_step = one_step
        self.batch_size = batch_size
        self.kind = kind

    def __call__(self, state, data, order, start, n_valid=None):
        if self.kind == "predict":     # all the block's steps; outputs joined on the host
            steps = order.shape[0] // self.batch_size
            ys = jax.device_get([self.one_step(state, data, order, start + i * self.batch_size)
                                 for i in range(steps)])
            return jax.tree_util.tree_map(lambda *a: np.concatenate(a), *ys)
        losses, logs = [], None
        for i in range(int(n_valid)):
            state, logs, loss = self.one_step(state, data, order, start + i * self.batch_size,
                                              1)
            losses.append(loss)
        return state, logs, (losses if self.kind == "train" else None)

    def lower(self, state, data, order, start, *n_valid):
        return self.one_step.lower(state, data, order, start, *([1] if n_valid else []))
