"""The Python side of training: epochs, chunks, validation, callbacks. [L4]

No jax transforms here (they live in steps.py). Per chunk of K steps the loop does one
compiled call, one write-back of the state into the Variables (so callbacks always see
live weights) and one host sync for the logs. Data moves to the device once per call of
fit/evaluate/predict; shuffling happens on device.
"""
import functools
import math
import sys
import warnings

import jax
import numpy as np

from gazelle import metrics as metrics_mod
from gazelle import random as grandom
from gazelle.callbacks import CallbackList, History
import gazelle.doctor.hooks as diagnostics
from gazelle.training import compile_utils, distribute
from gazelle.training import data as data_mod
from gazelle.training import adapters, host, sources
from gazelle.training.state import StateLayout
from gazelle.training.steps import KerasSteps, Steps, check_step_contract, overridden_steps

_UPDATES_PER_EPOCH = 20


def _live_display(verbose):
    return verbose == 1 and (getattr(sys.stdout, "isatty", lambda: False)()
                             or "ipykernel" in sys.modules)


def _shuffled_order(seed, epoch, n):
    """A permutation of range(n), drawn on the host: NumPy's Philox stream for (seed, epoch).
    (jax.random.permutation compiles once per dataset size, ~0.3 s each on a CPU.)"""
    return np.random.default_rng([seed, epoch]).permutation(n).astype(np.int32)


def _pythonify(logs, names):
    """Device scalars -> Python floats, in compile order (jit returns dicts key-sorted).
    Nested dicts (a metric whose result is a dict) are merged into the top level."""
    logs = _flat_logs(jax.device_get(logs))
    ordered = [k for k in names if k in logs] + sorted(k for k in logs if k not in names)
    return {k: _python_value(logs[k]) for k in ordered}


def _flat_logs(logs):
    out = {}
    for k, v in logs.items():
        if isinstance(v, dict):
            out.update(_flat_logs(v))
        else:
            out[k] = v
    return out


def _python_value(v):
    v = np.asarray(v)
    return float(v) if v.size == 1 else v



def _host_front(method):
    """Runs a fit/evaluate/predict-like method with the model's host layers (strings to
    ids, training/host.py) applied to `x` on the host and passed through in the compiled
    steps; `self._front` offers the same to validation data and streamed batches."""
    @functools.wraps(method)
    def run(self, x, *args, **kwargs):
        front = host.Front(self.model)
        previous, self._front = getattr(self, "_front", None), front
        try:
            x = front.arrays(x)                 # on the host, before the layers pass through
            with front.applied():
                return method(self, x, *args, **kwargs)
        finally:
            self._front = previous
    return run

class Trainer:
    """Everything compile() decided, plus the compiled steps once the model is built."""

    def __init__(self, model, optimizer, loss, metrics, loss_weights=None,
                 steps_per_execution="auto", run_eagerly=False, weighted_metrics=None):
        self.model = model
        self.optimizer = compile_utils.get_optimizer(optimizer)
        # A model whose class overrides Keras's step hooks (train_step, compute_loss, ...)
        # runs its own steps (steps.KerasSteps), and may train without a compiled loss.
        self.custom = bool(overridden_steps(model))
        # No compiled loss (Keras 3 allows it): the loss is what the model's layers add
        # with add_loss() (the endpoint-layer pattern), and `y` is optional; a model that
        # adds none gets a clear error at its first step (Steps._loss).
        _validate_identifiers(loss, metrics)
        _validate_identifiers(None, weighted_metrics)
        if self.custom:
            check_step_contract(model)
        self.loss_spec = loss
        self.loss_weights = loss_weights
        self.metrics_spec = metrics
        self.weighted_metrics_spec = weighted_metrics
        if steps_per_execution != "auto" and (
                not isinstance(steps_per_execution, int) or steps_per_execution < 1):
            raise ValueError("compile(): `steps_per_execution` must be 'auto' or a positive "
                             f"int; received {steps_per_execution!r}.")
        self.steps_per_execution = steps_per_execution
        self.run_eagerly = run_eagerly
        self.loss = None
        self.metrics = None
        self.steps = None
        self._trainable_ids = None
        self._doctor = None           # the FitDoctor of the fit in progress, if any

    def _needs_y(self):
        """Whether fit/evaluate need targets: not for a model's own steps, nor without a
        compiled loss (the model's add_loss() terms are the loss)."""
        return not self.custom and self.loss_spec is not None

    def output_names(self):
        names = getattr(self.model, "output_names", None)
        if names:
            return list(names)
        n = len(self.y_pred_shapes)
        return ["output"] if n == 1 else [f"output_{i + 1}" for i in range(n)]

    def step_targets(self, y):
        """y as the steps take it: a list in output order for gazelle's own steps; as given
        for a model's own steps (Keras hands `train_step` the batch unchanged)."""
        return y if self.custom else self.targets(y)

    def targets(self, y):
        """y as a list in output order (a dict is matched by output name)."""
        names = self.output_names()
        if isinstance(y, dict):
            missing = [n for n in names if n not in y]
            if missing:
                raise ValueError(f"Targets `y` are missing outputs {missing}; the model's "
                                 f"outputs are {names}.")
            return [y[n] for n in names]
        ys = list(y) if isinstance(y, (list, tuple)) else [y]
        if len(ys) != len(names):
            raise ValueError(f"The model has {len(names)} output(s) {names} but received "
                             f"{len(ys)} target array(s).")
        return ys

    # -- setup -------------------------------------------------------------------
    def _ensure_ready(self, x, y):
        model = self.model
        first = jax.tree_util.tree_map(lambda a: np.asarray(a[:1]), x)
        if not model.built:
            model(first)
        if not self.custom:             # a model's own steps decide what x is
            model._check_input(x)       # on the host: a clear error, not a trace
        if self.metrics is None and self.custom and self.loss_spec is None and \
                not (self.metrics_spec or self.weighted_metrics_spec):
            # Nothing compiled to shape: only the loss tracker (x may not even be the
            # model's input, as in a GAN's train_step).
            self.loss, self.y_pred_shapes = None, []
            self.slots = [compile_utils.MetricSlot(metrics_mod.Mean(name="loss"), "loss", -1)]
            self.metrics = [slot.metric for slot in self.slots]
        if self.metrics is None:
            def forward(a):
                return model.stateless_call([v.value for v in model.trainable_variables],
                                            [v.value for v in model.non_trainable_variables],
                                            a)[0]
            # Shapes only; run_eagerly calls it on one real sample (nothing is ever traced).
            pred = forward(first) if self.run_eagerly else jax.eval_shape(forward, first)
            self.y_pred_shapes = [p.shape for p in jax.tree_util.tree_leaves(pred)]
            ys = self.targets(y) if y is not None else [None] * len(self.y_pred_shapes)
            if self.loss_spec is None:        # a model's own train_step, no compiled loss
                self.loss = None
                self.slots = compile_utils.build_slots(
                    compile_utils.NoLoss(self.output_names()), self.metrics_spec,
                    [None if t is None else np.shape(t) for t in ys], self.y_pred_shapes,
                    weighted_metrics=self.weighted_metrics_spec)
            else:
                self.loss = compile_utils.CompiledLoss(self.loss_spec, self.loss_weights,
                                                       self.output_names())
                self.slots = compile_utils.build_slots(
                    self.loss, self.metrics_spec, [None if t is None else np.shape(t)
                                                   for t in ys], self.y_pred_shapes,
                    weighted_metrics=self.weighted_metrics_spec)
            self.metrics = [slot.metric for slot in self.slots]
        ids = [id(v) for v in model.trainable_variables]
        if self.steps is None or ids != self._trainable_ids:
            self.optimizer.build(model.trainable_variables)
            if self.custom:
                metrics = model.metrics       # Keras's order: compiled, then the model's own
                layout = StateLayout(model, self.optimizer, metrics)
                self.steps = KerasSteps(model, self.loss, self.slots, self.optimizer, layout,
                                        metrics)
            else:
                layout = StateLayout(model, self.optimizer, self.metrics)
                self.steps = Steps(model, self.loss, self.slots, self.optimizer, layout)
            self._trainable_ids = ids
        self.steps.run_eagerly = bool(self.run_eagerly)
        return self.steps

    # -- what a model's own steps call back into (Model.compute_loss, compute_metrics) ----
    def loss_tracker(self):
        """The compiled `loss` Mean (None before the first fit/evaluate)."""
        for slot in self.slots if self.metrics is not None else ():
            if slot.kind == "loss":
                return slot.metric
        return None

    def update_output_loss_trackers(self, parts, y_pred):
        """Per-output loss Means of a multi-output model (stateful: inside a StatelessScope,
        as `stateless_compute_loss` opens; a bare `compute_loss` call leaves them alone)."""
        from gazelle.core.variables import in_stateless_scope
        if self.metrics is None or not in_stateless_scope():
            return
        leaves = [a for a in jax.tree_util.tree_leaves(y_pred) if a is not None]
        for slot in self.slots:
            if slot.kind == "output_loss":
                slot.metric.update_state(parts[slot.index], sample_weight=leaves[0].shape[0])

    def update_compiled_metrics(self, y, y_pred, sample_weight):
        """Updates the compiled output metrics with one batch (stateful, as Keras's). As in
        Keras 3, only compile(weighted_metrics=...) are weighted by `sample_weight`."""
        if self.metrics is None:
            return
        ys, preds = self.targets(y), jax.tree_util.tree_leaves(y_pred)
        for slot in self.slots:
            if slot.kind == "output":
                slot.metric.update_state(ys[slot.index], preds[slot.index],
                                         sample_weight=sample_weight if slot.weighted else None)

    def _chunk_steps(self, full_steps, verbose, per_batch):
        if per_batch:
            return 1
        if self.steps_per_execution != "auto":
            return min(self.steps_per_execution, max(full_steps, 1))
        if _live_display(verbose):
            return max(1, math.ceil(full_steps / _UPDATES_PER_EPOCH))
        return max(full_steps, 1)

    @property
    def metrics_names(self):
        if self.custom and self.steps is not None and self.steps.log_names:
            return list(self.steps.log_names)
        return [m.name for m in self.metrics] if self.metrics else ["loss"]

    # -- the epoch loop ------------------------------------------------------------
    def _run_chunks(self, kind, state, chunks, callbacks, begin_hooks):
        """Runs (fn, args, first_step, n_valid) chunks: one compiled call, one write-back
        and one host sync each, then the batch-end hook of its last step."""
        hook_end = getattr(callbacks, f"on_{kind}_batch_end")
        hook_begin = getattr(callbacks, f"on_{kind}_batch_begin")
        logs = {}
        try:
            for fn, args, first, n_valid in chunks:
                if begin_hooks:
                    hook_begin(first)
                state, logs, losses = fn(state, *args)
                if kind == "train":
                    self.steps.layout.write_back(state)
                logs = _pythonify(logs, self.metrics_names)
                hook_end(first + n_valid - 1, logs)
                if kind == "train" and self._doctor and losses is not None:    # per-step losses
                    self._doctor.after_chunk(first, n_valid, losses)
                if kind == "train" and self.model.stop_training:
                    break
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()                  # stops a prefetch thread early
        return state, logs

    def _with_targets(self, data):
        x, y, sw = data
        return x, self.step_targets(y), sw

    def _iota(self, rows):
        cache = self.__dict__.setdefault("_iotas", {})
        key = (rows, distribute.current())
        if key not in cache:
            cache[key] = distribute.place(np.arange(rows, dtype=np.int32))
        return cache[key]

    @_host_front
    def fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split,
            validation_data, shuffle, class_weight, sample_weight, initial_epoch,
            validation_batch_size, validation_freq, steps_per_epoch=None, validation_steps=None,
            doctor=None):
        model = self.model
        batch_size = _batch_size(batch_size, "batch_size")
        val_bs = _batch_size(validation_batch_size or batch_size, "validation_batch_size")
        front = self._front
        train, val = adapters.training(
            x, y, sample_weight, batch_size, steps_per_epoch, class_weight,
            need_y=self._needs_y(), validation_split=validation_split,
            validation_batch_size=val_bs, validation_steps=validation_steps,
            transform=front.transform())
        if validation_data is not None:
            val = adapters.validation(front.validation(validation_data), val_bs,
                                      validation_steps, need_y=self._needs_y(),
                                      transform=front.transform())
        x, y, _ = train.setup()
        steps = self._ensure_ready(x, y)
        # The doctor reads the compiled loss: a model's own steps, or a model whose loss
        # is only its add_loss() terms, train without it.
        self._doctor = None if self.custom or self.loss is None else self._start_doctor(
            train, val, class_weight, doctor)
        cb = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_history=True,
            add_progbar=("steps" if train.n is None else True) if verbose != 0 else False,
            model=model, verbose=verbose, epochs=epochs, steps=train.steps, samples=train.n,
            batch_size=train.batch_size, val_samples=val.n or 0 if val is not None else 0)
        per_batch = cb.needs_batch_hooks("train")
        k = train.block_steps(self._chunk_steps(train.full_steps, verbose, per_batch), "train")
        seed = grandom.next_seed()
        state = steps.layout.lift()
        train.precompile(self, "train", state, k)
        if val is not None:
            val.precompile(self, "test", state, self._eval_block_steps(val, 0, False))
        del state

        model.stop_training = False
        model._initial_epoch = None
        cb.on_train_begin()
        # A callback restoring a backup (BackupAndRestore) says where to resume, as in Keras.
        if model._initial_epoch is not None:
            initial_epoch = model._initial_epoch
        epoch_logs = {}
        for epoch in range(initial_epoch, epochs):
            cb.on_epoch_begin(epoch)
            state = steps.layout.lift()
            state = state._replace(metrics=steps.reset_metrics())
            if self._doctor:
                self._doctor.begin_epoch(epoch, train.steps or 0)
            chunks = train.chunks(self, "train", epoch, k, shuffle, seed)
            state, logs = self._run_chunks("train", state, chunks, cb, per_batch)
            epoch_logs = dict(logs)
            if train.exhausted and epoch + 1 < epochs:
                warnings.warn(
                    f"fit(): the generator `x` ran out of data in epoch {epoch + 1}; training "
                    f"stops here. Pass `steps_per_epoch` (at most the batches it yields per "
                    f"epoch), or a generator that loops, to train {epochs} epochs.",
                    UserWarning, stacklevel=4)
                model.stop_training = True
            if val is not None and not model.stop_training and _due(epoch, validation_freq):
                # Keras 3 runs the test hooks for validation too (the progress bar
                # ignores them inside fit).
                val_logs = self._evaluate_source(val, cb, verbose=0, hooks=True, epoch=epoch)
                epoch_logs.update({"val_" + name: v for name, v in val_logs.items()})
            if self._doctor:
                self._doctor.after_epoch(epoch, epoch_logs)
            cb.on_epoch_end(epoch, epoch_logs)
            if model.stop_training:
                break
        if epochs > 0:        # Keras 3: the final weights (EMA averages) before on_train_end
            self.optimizer.finalize_variable_values(model.trainable_variables)
        cb.on_train_end(epoch_logs)
        if self._doctor:
            self._doctor.after_fit()
            self._doctor = None
        history = next((c for c in cb.callbacks if isinstance(c, History)), None)
        return history if history is not None else model.history

    def _start_doctor(self, train, val, class_weight, doctor):
        """Label checks, then the training doctor (gazelle.doctor): host-side findings,
        nothing in the steps. (A model's own steps decide what y means: neither runs.)"""
        x, y, sample_weight = train.setup()
        y = self.targets(y)
        vsample = None
        if val is not None:
            vx, vy, _ = val.sample()
            vsample = (vx, self.targets(vy))
            diagnostics.check_labels(self, *vsample)
        diagnostics.check_labels(self, x, y)
        if sources.is_memmap((x, y)):
            x, y = jax.tree_util.tree_map(lambda a: np.asarray(a[:2048]), (x, y))
        front = getattr(self, "_front", None)
        return diagnostics.start(self.model, self, x, y, vsample,
                                 bool(class_weight) or sample_weight is not None, doctor,
                                 texts=front.texts if front is not None else (),
                                 batch_size=getattr(train, "batch_size", None))

    def _eval_block_steps(self, adapter, verbose, hooks):
        """Steps per evaluation block: a power of two within the block budget (and about a
        twentieth of the data on a live progress bar)."""
        return adapter.block_steps(self._chunk_steps(adapter.full_steps, verbose, hooks),
                                   "test")

    def _evaluate_source(self, adapter, cb, verbose, hooks=True, epoch=0):
        steps = self.steps
        per_batch = hooks and cb.needs_batch_hooks("test")
        k = self._eval_block_steps(adapter, verbose, per_batch)
        if hooks:       # first: a callback may swap weights in (SwapEMAWeights)
            cb.on_test_begin()
        state = steps.layout.lift()
        state = state._replace(metrics=steps.reset_metrics())
        state, logs = self._run_chunks("test", state, adapter.chunks(self, "test", epoch, k),
                                       cb if hooks else _NO_CALLBACKS, per_batch)
        steps.layout.write_back_metrics(state.metrics)
        if hooks:
            cb.on_test_end(logs)
        return logs

    @_host_front
    def evaluate(self, x, y, batch_size, verbose, sample_weight, callbacks, return_dict,
                 steps=None):
        batch_size = _batch_size(batch_size, "batch_size")
        adapter = adapters.get(x, y, sample_weight, batch_size, steps, "evaluate",
                               need_y=self._needs_y(), transform=self._front.transform())
        sx, sy, _ = adapter.sample()
        if sy is None and self._needs_y():
            raise ValueError("evaluate() needs targets `y` to compute the loss; received "
                             "y=None." if adapter.n is not None else
                             "evaluate(): the generator/PyDataset must yield (x, y) batches.")
        self._ensure_ready(sx, sy)
        if not self.custom and self.loss is not None:
            diagnostics.check_labels(self, sx, self.targets(sy))
        cb = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_progbar=("steps" if adapter.n is None else True)
            if verbose != 0 else False, model=self.model, verbose=verbose, epochs=1,
            steps=adapter.steps, samples=adapter.n, batch_size=adapter.batch_size,
            val_samples=0)
        logs = self._evaluate_source(adapter, cb, verbose)
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names if name in logs]
        return values[0] if len(values) == 1 else values

    @_host_front
    def train_on_batch(self, x, y, sample_weight, class_weight, return_dict):
        """One training step on the whole of `x` (Keras 3: the metrics start afresh)."""
        if class_weight is not None and sample_weight is not None:
            raise ValueError("train_on_batch(): pass `sample_weight` or `class_weight`, not "
                             "both (class_weight becomes per-sample weights).")
        (x, y, sample_weight), n = data_mod.standardize(
            x, y, sample_weight, what="train_on_batch", need_y=self._needs_y())
        sample_weight = data_mod.class_weight_to_sample_weight(y, class_weight, sample_weight)
        train = adapters.Resident((x, y, sample_weight), n, n, max(n, 1))
        self._ensure_ready(x, y)
        steps = self.steps
        state = steps.layout.lift()
        state = state._replace(metrics=steps.reset_metrics())
        _, logs = self._run_chunks("train", state, train.chunks(self, "train", 0, 1),
                                   _NO_CALLBACKS, False)
        return self._batch_logs(logs, return_dict)

    @_host_front
    def test_on_batch(self, x, y, sample_weight, return_dict):
        """The loss and metrics of one batch (Keras 3: the metrics start afresh)."""
        (x, y, sample_weight), n = data_mod.standardize(
            x, y, sample_weight, what="test_on_batch", need_y=self._needs_y())
        if y is None and not self.custom:
            raise ValueError("test_on_batch() needs targets `y` to compute the loss; "
                             "received y=None.")
        self._ensure_ready(x, y)
        adapter = adapters.Resident((x, y, sample_weight), n, n, max(n, 1))
        logs = self._evaluate_source(adapter, _NO_CALLBACKS, verbose=0, hooks=False)
        return self._batch_logs(logs, return_dict)

    def _batch_logs(self, logs, return_dict):
        logs = dict(logs)
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names if name in logs]
        values += [logs[name] for name in sorted(logs) if name not in self.metrics_names]
        return values[0] if len(values) == 1 else values

    @_host_front
    def predict(self, x, batch_size, verbose, callbacks, steps=None):
        model = self.model
        batch_size = _batch_size(batch_size, "batch_size")
        adapter = adapters.get(x, None, None, batch_size, steps, "predict", predict=True,
                               transform=self._front.transform())
        if not model.built:
            first = adapter.setup()
            first = first[0] if isinstance(adapter, adapters.Batches) else first
            model(jax.tree_util.tree_map(lambda a: np.asarray(a[:1]), first))
        cb = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_progbar=False, model=model, verbose=verbose, epochs=1,
            steps=adapter.steps, samples=adapter.n, batch_size=adapter.batch_size,
            val_samples=0)
        cb.on_predict_begin()       # before the weights are read (SwapEMAWeights)
        outputs = predict_source(model, adapter)
        cb.on_predict_end()
        return outputs


class _NoCallbacks:
    def __getattr__(self, name):
        return lambda *a, **k: None


_NO_CALLBACKS = _NoCallbacks()


def predict_source(model, adapter):
    """Runs the model over an adapter's input in compiled blocks; numpy outputs."""
    steps = getattr(model, "_predict_steps", None)
    trainable = model.trainable_variables
    if steps is None or steps.layout.trainable != trainable:
        layout = StateLayout(model, None, [])
        steps = Steps(model, None, [], None, layout)
        model._predict_steps = steps
    trainer = getattr(model, "_trainer", None)
    steps.run_eagerly = bool(getattr(trainer, "run_eagerly", False))
    runner = _Predictor(steps)
    state = steps.layout.lift()
    if isinstance(adapter, adapters.ArrayBlocks):
        model._check_input(adapter.setup())
    k = adapter.block_steps(None, "predict")
    outputs, counts = [], []
    for fn, args, _, n_valid in adapter.chunks(runner, "predict", 0, k):
        outputs.append(fn(state, *args))
        counts.append(n_valid)
    outputs = distribute.to_host(outputs)   # also gathers arrays split over processes
    # (steps, batch, ...) blocks -> rows, without the padded steps (on the host: no eager
    # device ops, which cost more than a small prediction itself)
    parts = [jax.tree_util.tree_map(
        lambda a, n=n: a[:n].reshape((n * a.shape[1],) + a.shape[2:]), ys)
        for ys, n in zip(outputs, counts)]
    if not parts:
        raise ValueError("predict(): the input yielded no batches.")
    if len(parts) == 1:
        return jax.tree_util.tree_map(np.asarray, parts[0])
    return jax.tree_util.tree_map(lambda *a: np.concatenate(a, axis=0), *parts)


def predict_arrays(model, x, n, batch_size):
    """Predictions for in-memory arrays x (n samples), in blocks of `batch_size` rows."""
    return predict_source(model, adapters.ArrayBlocks(sources.ArraySource(x, n, batch_size),
                                                      predict=True))


class _Predictor:
    """The block machinery of a Trainer, for a model's prediction steps."""

    def __init__(self, steps):
        self.steps = steps

    _iota = Trainer._iota


def _validate_identifiers(loss, metrics):
    """Unknown loss/metric names fail at compile(), listing the valid ones."""
    from gazelle import losses, metrics as metrics_mod
    for spec in (loss.values() if isinstance(loss, dict) else
                 loss if isinstance(loss, (list, tuple)) else [loss]):
        if spec is not None:
            losses.get(spec)
    flat = []
    for m in (metrics.values() if isinstance(metrics, dict) else metrics or []):
        flat.extend(m if isinstance(m, (list, tuple)) else [m])
    for m in flat:
        if m is not None and not (isinstance(m, str) and m in ("accuracy", "acc")):
            metrics_mod.get(m)


def _batch_size(batch_size, what):
    if batch_size is None:
        return 32
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"`{what}` must be a positive int; received {batch_size!r}.")
    return int(batch_size)


def _due(epoch, freq):
    if isinstance(freq, int):
        return (epoch + 1) % freq == 0
    return (epoch + 1) in freq
