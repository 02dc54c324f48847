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

from gazelle.core.variables import StatelessScope
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
        self.run_eagerly = False      # compile(run_eagerly=True): steps run in Python

    # -- single steps --------------------------------------------------------------
    def _forward(self, trainable, non_trainable, x, training):
        y_pred, non_trainable, losses = self.model.stateless_call(
            trainable, non_trainable, x, training=training, return_losses=True)
        return y_pred, non_trainable, losses

    def _loss(self, y, y_pred, sw, losses):
        if self.loss is None:           # compile() without a loss: the added losses alone
            if not losses:
                raise ValueError(
                    "No loss to compute: compile() got no `loss`, and the model's layers "
                    "added none with `self.add_loss(...)`. Pass a loss to compile(), e.g. "
                    "loss='sparse_categorical_crossentropy'.")
            return sum(losses), []
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
                # As Keras 3: only `weighted_metrics` see the sample weights.
                values = slot.metric.stateless_update_state(
                    values, y[slot.index], preds[slot.index],
                    sample_weight=sw if slot.weighted else None)
            new.append(values)
        return new

    def train_step(self, state, batch):
        return self.train_step_with_loss(state, batch)[0]

    def _scale_loss(self, loss, optimizer_values):
        """`optimizer.scale_loss(loss)` with the optimizer's Variables read from the state
        (a LossScaleOptimizer's scale changes from step to step inside a chunk)."""
        scale = getattr(self.optimizer, "scale_loss", None)
        if scale is None:
            return loss
        with StatelessScope(zip(self.layout.optimizer, optimizer_values)):
            return scale(loss)

    def train_step_with_loss(self, state, batch):
        """`train_step` that also returns the batch's loss (the doctor reads it per chunk)."""
        x, y, sw = batch

        def loss_fn(trainable):
            y_pred, non_trainable, losses = self._forward(trainable, state.non_trainable, x, True)
            loss, parts = self._loss(y, y_pred, sw, losses)
            # Keras 3 takes gradients of the scaled loss; the optimizer divides them back.
            return self._scale_loss(loss, state.optimizer), (loss, y_pred, non_trainable, parts)

        (_, (loss, y_pred, non_trainable, parts)), grads = jax.value_and_grad(
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
        if "predict_step" in overridden_steps(self.model):
            return self._model_predict_step(state, x)
        y_pred, _, _ = self._forward(state.trainable, state.non_trainable, x, False)
        return y_pred

    def _model_predict_step(self, state, x):
        result = self.model.predict_step((list(state.trainable), list(state.non_trainable)), x)
        if not (isinstance(result, tuple) and len(result) == 2 and
                isinstance(result[1], (list, tuple)) and
                len(result[1]) == len(self.layout.non_trainable)):
            raise NotImplementedError(
                f"{type(self.model).__name__}.predict_step() must return `(outputs, "
                "non_trainable_variables)` as in Keras 3's JAX backend; it returned "
                f"{type(result).__name__}.")
        return result[0]

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
        if self.run_eagerly:
            return _Eager(self, kind, steps, batch_size)
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
        if key in self._pending or self.run_eagerly:
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

        if kind != "predict" and self.logged:
            return self._build_logged_chunk(kind, steps, masked, take, block_indices)

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

    def _build_logged_chunk(self, kind, steps, masked, take, block_indices):
        """A chunk of steps that return their own logs (the model's `train_step`/`test_step`):
        the logs of the chunk's last valid step come out with the state. Steps past
        `n_valid` run but keep the state they were given."""
        step = self.train_step_logs if kind == "train" else self.test_step_logs

        def body(state, k, n_valid, batch):
            new, logs = step(state, batch)
            if masked:
                keep = k < n_valid
                new = jax.tree_util.tree_map(lambda a, b: jnp.where(keep, a, b), new, state)
            return new, logs

        def run(state, data, order, start, n_valid):
            self.traces += 1
            if steps == 1:
                state, logs = body(state, 0, n_valid, take(data, block_indices(order, start)[0]))
                return state, logs, None
            state, logs = jax.lax.scan(
                lambda st, inp: body(st, inp[0], n_valid, take(data, inp[1])), state,
                (jnp.arange(steps), block_indices(order, start)))
            last = jnp.clip(n_valid - 1, 0, steps - 1) if masked else steps - 1
            return state, jax.tree_util.tree_map(lambda a: a[last], logs), None

        return jax.jit(run, donate_argnums=(0,) if kind == "train" else ())

    def reset_metrics(self):
        return [m.stateless_reset_state() for m in self.metrics]

    logged = False                    # steps return their own logs (KerasSteps)
    log_names = ()


class KerasSteps(Steps):
    """Steps that run the model's own `train_step`/`test_step`/`predict_step` (Keras 3's JAX
    contract) inside the same compiled chunks: the TrainState is handed over as Keras's
    tuples of lists of arrays (metrics flattened in `model.metrics` order) and read back."""

    logged = True

    def __init__(self, model, loss, slots, optimizer, layout, metrics):
        super().__init__(model, loss, slots, optimizer, layout)
        self.metrics = list(metrics)
        self.log_names = []

    def _flat(self, metric_values):
        return [v for values in metric_values for v in values]

    def _split(self, flat, what):
        flat = list(flat)
        sizes = [len(vs) for vs in self.layout.metrics]
        if len(flat) != sum(sizes):
            raise ValueError(
                f"{what} returned {len(flat)} metrics variables; the model's metrics "
                f"({[m.name for m in self.metrics]}) have {sum(sizes)}. Return one array per "
                "entry of `self.metrics_variables`, in the order of `self.metrics`.")
        out, i = [], 0
        for n in sizes:
            out.append(flat[i:i + n])
            i += n
        return out

    def _result(self, result, n, what):
        layout = {4: "(trainable_variables, non_trainable_variables, optimizer_variables, "
                     "metrics_variables)",
                  3: "(trainable_variables, non_trainable_variables, metrics_variables)"}[n]
        if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], dict)
                and isinstance(result[1], (tuple, list)) and len(result[1]) == n):
            raise NotImplementedError(
                f"{type(self.model).__name__}.{what}() must return `(logs, state)` as in Keras "
                f"3's JAX backend: `logs` a dict of scalars and `state` the tuple {layout}; "
                f"it returned {type(result).__name__}. gazelle runs steps compiled, so a "
                "step cannot update Variables in place (TensorFlow/PyTorch style); compute "
                "the new values and return them.")
        logs, state = result
        for name, old, new in zip(("trainable_variables", "non_trainable_variables"),
                                  (self.layout.trainable, self.layout.non_trainable), state):
            if len(new) != len(old):
                raise ValueError(f"{what}() returned {len(new)} {name}; the model has "
                                 f"{len(old)}.")
        self.log_names = _flat_names(logs)
        return logs, [list(part) for part in state]

    def train_step_logs(self, state, batch):
        result = self.model.train_step(
            (list(state.trainable), list(state.non_trainable), list(state.optimizer),
             self._flat(state.metrics)), _keras_data(batch))
        logs, (trainable, non_trainable, opt_values, metric_values) = self._result(
            result, 4, "train_step")
        return TrainState(trainable, non_trainable, opt_values,
                          self._split(metric_values, "train_step()")), logs

    def train_step_with_loss(self, state, batch):
        raise NotImplementedError(
            f"{type(self.model).__name__} overrides Keras's step hooks ("
            f"{', '.join(overridden_steps(self.model))}); gazelle's learning-rate finder runs "
            "its built-in step and would ignore them. Run the range test on a model without "
            "the overrides, or sweep the learning rate with a callback.")

    def test_step_logs(self, state, batch):
        result = self.model.test_step(
            (list(state.trainable), list(state.non_trainable), self._flat(state.metrics)),
            _keras_data(batch))
        logs, (trainable, non_trainable, metric_values) = self._result(result, 3, "test_step")
        return state._replace(non_trainable=non_trainable,
                              metrics=self._split(metric_values, "test_step()")), logs



def _flat_names(logs):
    """Log names in the order the step wrote them, nested dicts (a metric's dict result)
    spread in place, as the logs reach callbacks."""
    names = []
    for key, value in logs.items():
        names.extend(_flat_names(value) if isinstance(value, dict) else [key])
    return names


def _keras_data(batch):
    """gazelle's (x, y, sample_weight) batch as Keras hands it to a step: x, (x, y) or all."""
    if not isinstance(batch, tuple):
        return batch
    x, y, sw = batch
    if sw is not None:
        return x, y, sw
    if y is not None:
        return x, y
    return x


class _Eager:
    """A chunk run step by step in Python on concrete arrays (compile(run_eagerly=True)):
    no jit, so layers and steps see real arrays and can be debugged with print/pdb."""

    def __init__(self, steps, kind, n_steps, batch_size):
        self.steps, self.kind, self.n_steps, self.batch_size = steps, kind, n_steps, batch_size

    def _batch(self, data, order, start, i):
        lo = int(start) + i * self.batch_size
        return _take(data, jnp.asarray(order)[lo:lo + self.batch_size])

    def __call__(self, state, data, order, start, n_valid=None):
        s = self.steps
        with jax.disable_jit():
            if self.kind == "predict":
                ys = [s.predict_step(state, self._batch(data, order, start, i))
                      for i in range(self.n_steps)]
                return jax.tree_util.tree_map(lambda *a: jnp.stack(a), *ys)
            logs, losses = None, []
            for i in range(int(n_valid)):
                batch = self._batch(data, order, start, i)
                if s.logged and self.kind == "train":
                    state, logs = s.train_step_logs(state, batch)
                elif s.logged:
                    state, logs = s.test_step_logs(state, batch)
                elif self.kind == "train":
                    state, loss = s.train_step_with_loss(state, batch)
                    losses.append(loss)
                else:
                    state = s.test_step(state, batch)
            if not s.logged:
                logs = s.results(state.metrics)
            if logs is None:
                logs = {}
        return state, logs, (jnp.stack(losses) if losses else None)

    def lower(self, *args):
        raise NotImplementedError("run_eagerly=True steps are not compiled.")


_JAX_TRAIN_STEP = """    def train_step(self, state, data):
        trainable, non_trainable, optimizer_vars, metrics_vars = state
        x, y = data
        grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
        (loss, (y_pred, non_trainable, metrics_vars)), grads = grad_fn(
            trainable, non_trainable, metrics_vars, x, y, None, training=True)
        trainable, optimizer_vars = self.optimizer.stateless_apply(
            optimizer_vars, grads, trainable)
        logs, metrics_vars = ...   # metric.stateless_update_state(...) per metric
        return logs, (trainable, non_trainable, optimizer_vars, metrics_vars)"""


def check_step_contract(model):
    """Refuses step overrides written for TensorFlow or PyTorch (`train_step(self, data)`,
    `tf.GradientTape`): gazelle runs Keras 3's JAX contract, compiled."""
    import inspect
    for name, n_args in (("train_step", 2), ("test_step", 2), ("predict_step", 2)):
        fn = getattr(type(model), name, None)
        if fn is None or name not in overridden_steps(model):
            continue
        code = getattr(fn, "__code__", None)
        names = set(code.co_names) if code is not None else set()
        if "GradientTape" in names:
            raise NotImplementedError(
                f"{type(model).__name__}.{name}() uses tf.GradientTape; gazelle computes on "
                "JAX, where a step is a pure function of `state` (Keras 3's JAX backend). "
                "Take gradients with jax.value_and_grad instead:\n" + _JAX_TRAIN_STEP)
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(params) - 1 < n_args and not any(
                p.kind == p.VAR_POSITIONAL for p in inspect.signature(fn).parameters.values()):
            raise NotImplementedError(
                f"{type(model).__name__}.{name}(self, data) follows the TensorFlow/PyTorch "
                f"contract; gazelle runs Keras 3's JAX contract, `{name}(self, state, data)` "
                "returning `(logs, state)`, for example:\n" + _JAX_TRAIN_STEP)


def overridden_steps(model):
    """The Keras step hooks (train_step, compute_loss, ...) the model's class overrides."""
    fn = getattr(model, "_overridden_steps", None)
    return fn() if fn is not None else ()


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
