"""The Python side of training: epochs, chunks, validation, callbacks. [L4]

No jax transforms here (they live in steps.py). Per chunk of K steps the loop does one
compiled call, one write-back of the state into the Variables (so callbacks always see
live weights) and one host sync for the logs. Data moves to the device once per call of
fit/evaluate/predict; shuffling happens on device.
"""
import math
import sys

import jax
import jax.numpy as jnp
import numpy as np

from gazelle import metrics as metrics_mod
from gazelle import random as grandom
from gazelle.callbacks import CallbackList, History
from gazelle.training import compile_utils, data as data_mod, diagnostics, distribute
from gazelle.training.state import StateLayout
from gazelle.training.steps import Steps

_UPDATES_PER_EPOCH = 20


def _live_display(verbose):
    return verbose == 1 and (getattr(sys.stdout, "isatty", lambda: False)()
                             or "ipykernel" in sys.modules)


def _shuffled_order(seed, epoch, n):
    """A permutation of range(n), drawn on the host: NumPy's Philox stream for (seed, epoch).
    (jax.random.permutation compiles once per dataset size, ~0.3 s each on a CPU.)"""
    return np.random.default_rng([seed, epoch]).permutation(n).astype(np.int32)


def _pythonify(logs, names):
    """Device scalars -> Python floats, in compile order (jit returns dicts key-sorted)."""
    logs = jax.device_get(logs)
    ordered = [k for k in names if k in logs] + sorted(k for k in logs if k not in names)
    return {k: float(logs[k]) for k in ordered}


class Trainer:
    """Everything compile() decided, plus the compiled steps once the model is built."""

    def __init__(self, model, optimizer, loss, metrics, loss_weights=None,
                 steps_per_execution="auto", run_eagerly=False):
        self.model = model
        self.optimizer = compile_utils.get_optimizer(optimizer)
        if loss is None:
            raise ValueError(
                "compile() needs a loss to train the model, e.g. "
                "loss='sparse_categorical_crossentropy'.")
        _validate_identifiers(loss, metrics)
        self.loss_spec = loss
        self.loss_weights = loss_weights
        self.metrics_spec = metrics
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

    def output_names(self):
        names = getattr(self.model, "output_names", None)
        if names:
            return list(names)
        n = len(self.y_pred_shapes)
        return ["output"] if n == 1 else [f"output_{i + 1}" for i in range(n)]

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
        model._check_input(x)           # on the host: a clear error, not a trace
        if self.metrics is None:
            pred = jax.eval_shape(lambda a: model.stateless_call(
                [v.value for v in model.trainable_variables],
                [v.value for v in model.non_trainable_variables], a)[0], first)
            self.y_pred_shapes = [p.shape for p in jax.tree_util.tree_leaves(pred)]
            ys = self.targets(y)
            self.loss = compile_utils.CompiledLoss(self.loss_spec, self.loss_weights,
                                                   self.output_names())
            self.slots = compile_utils.build_slots(
                self.loss, self.metrics_spec, [np.shape(t) for t in ys], self.y_pred_shapes)
            self.metrics = [slot.metric for slot in self.slots]
        ids = [id(v) for v in model.trainable_variables]
        if self.steps is None or ids != self._trainable_ids:
            self.optimizer.build(model.trainable_variables)
            layout = StateLayout(model, self.optimizer, self.metrics)
            self.steps = Steps(model, self.loss, self.slots, self.optimizer, layout)
            self._trainable_ids = ids
        return self.steps

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
        return [m.name for m in self.metrics] if self.metrics else ["loss"]

    # -- the epoch loop ------------------------------------------------------------
    def _precompile(self, kind, state, data, n, batch_size, k, main=True):
        """Starts background compiles of the programs an epoch over `n` samples needs:
        its chunk of k steps (unless `main` is False: the caller compiles that one first
        thing) and the one-step program for a short last batch."""
        full, rest = divmod(n, batch_size)
        padded = math.ceil(full / k) * k * batch_size if full else 0
        order = jax.ShapeDtypeStruct((max(padded, n),), jnp.int32)    # as _order makes it
        if full and main:
            self.steps.precompile(kind, k, batch_size, full % k != 0, state, data, order, 0, 1)
        if rest:
            self.steps.precompile(kind, 1, rest, False, state, data, order, 0, 1)

    def _run_epoch(self, kind, state, data, n, batch_size, k, order, callbacks, begin_hooks):
        steps = self.steps
        full, rest = divmod(n, batch_size)
        n_chunks = math.ceil(full / k) if full else 0
        hook_end = getattr(callbacks, f"on_{kind}_batch_end")
        hook_begin = getattr(callbacks, f"on_{kind}_batch_begin")
        fn = steps.chunk(kind, k, batch_size, masked=full % k != 0) if full else None
        logs = {}
        for c in range(n_chunks):
            if begin_hooks:
                hook_begin(c * k)
            n_valid = min(k, full - c * k)
            state, logs, losses = fn(state, data, order, c * k * batch_size, n_valid)
            if kind == "train":
                steps.layout.write_back(state)
            logs = _pythonify(logs, self.metrics_names)
            hook_end(c * k + n_valid - 1, logs)
            if kind == "train" and self._doctor:    # doctor: this chunk's per-step losses
                self._doctor.after_chunk(c * k, n_valid, losses)
            if kind == "train" and self.model.stop_training:
                return state, logs
        if rest:
            if begin_hooks:
                hook_begin(full)
            tail = steps.chunk(kind, 1, rest, masked=False)
            state, logs, losses = tail(state, data, order, full * batch_size, 1)
            if kind == "train":
                steps.layout.write_back(state)
            logs = _pythonify(logs, self.metrics_names)
            hook_end(full, logs)
            if kind == "train" and self._doctor:
                self._doctor.after_chunk(full, 1, losses)
        return state, logs

    def _order(self, n, batch_size, k, shuffle, seed, epoch, n_total=None):
        """Sample indices for one epoch, on the device: the first `n` of a permutation of
        `n_total`, padded so every chunk of k steps can slice whole blocks."""
        n_total = n if n_total is None else n_total
        full = n // batch_size
        padded = math.ceil(full / k) * k * batch_size if full else 0
        order = _shuffled_order(seed, epoch, n_total) if shuffle else \
            np.arange(n_total, dtype=np.int32)
        order = order[:n]
        if padded > n:
            order = np.concatenate([order, np.zeros((padded - n,), np.int32)])
        return distribute.place(order)

    def fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split,
            validation_data, shuffle, class_weight, sample_weight, initial_epoch,
            validation_batch_size, validation_freq, steps_per_epoch=None, validation_steps=None,
            doctor=None):
        model = self.model
        (x, y, sample_weight), n = data_mod.standardize(x, y, sample_weight, what="fit")
        sample_weight = data_mod.class_weight_to_sample_weight(y, class_weight, sample_weight)
        val = None
        if validation_data is not None:
            vx, vy, vsw = data_mod.unpack_validation_data(validation_data)
            val, val_n = data_mod.standardize(vx, vy, vsw, what="fit (validation_data)")
        elif validation_split:
            (x, y, sample_weight), n, val, val_n = data_mod.split_validation(
                (x, y, sample_weight), n, validation_split)
        steps = self._ensure_ready(x, y)
        y = self.targets(y)
        if val:
            val = (val[0], self.targets(val[1]), val[2])
        diagnostics.check_labels(self, x, y)
        if val:
            diagnostics.check_labels(self, val[0], val[1])
        # The training doctor (gazelle.doctor): host-side findings, nothing inside the steps.
        self._doctor = diagnostics.start(model, self, x, y, val[:2] if val else None,
                                         bool(class_weight) or sample_weight is not None, doctor)
        batch_size = _batch_size(batch_size, "batch_size")
        n_total = n
        if steps_per_epoch is not None:
            n = min(n, steps_per_epoch * batch_size)
        if val and validation_steps is not None:
            val_n = min(val_n, validation_steps * _batch_size(validation_batch_size or batch_size,
                                                              "validation_batch_size"))

        cb = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0, model=model,
            verbose=verbose, epochs=epochs, steps=math.ceil(n / batch_size), samples=n,
            batch_size=batch_size, val_samples=val_n if val else 0)
        per_batch = cb.needs_batch_hooks("train")
        k = self._chunk_steps(n // batch_size, verbose, per_batch)
        data = distribute.place((x, y, sample_weight))
        val_data = distribute.place(val) if val else None
        seed = grandom.next_seed()
        val_bs = _batch_size(validation_batch_size or batch_size, "validation_batch_size")

        # Epoch 1 needs up to four programs; all but the first compile in the background
        # while the first chunks run, so the epoch does not stall at its end to compile.
        state = steps.layout.lift()
        self._precompile("train", state, data, n, batch_size, k, main=False)
        if val is not None:
            self._precompile("test", state, val_data, val_n, val_bs,
                             self._chunk_steps(val_n // val_bs, 0, False))
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
            order = self._order(n, batch_size, k, shuffle, seed, epoch, n_total)
            if self._doctor:
                self._doctor.begin_epoch(epoch, math.ceil(n / batch_size))
            state, logs = self._run_epoch("train", state, data, n, batch_size, k, order, cb,
                                          per_batch)
            epoch_logs = dict(logs)
            if val is not None and not model.stop_training and _due(epoch, validation_freq):
                val_logs = self._evaluate_arrays(val_data, val_n, val_bs, cb, verbose=0,
                                                 hooks=False)
                epoch_logs.update({"val_" + name: v for name, v in val_logs.items()})
            if self._doctor:
                self._doctor.after_epoch(epoch, epoch_logs)
            cb.on_epoch_end(epoch, epoch_logs)
            if model.stop_training:
                break
        cb.on_train_end(epoch_logs)
        if self._doctor:
            self._doctor.after_fit()
            self._doctor = None
        history = next((c for c in cb.callbacks if isinstance(c, History)), None)
        return history if history is not None else model.history

    def _evaluate_arrays(self, data, n, batch_size, cb, verbose, hooks=True):
        steps = self.steps
        k = self._chunk_steps(n // batch_size, verbose, hooks and cb.needs_batch_hooks("test"))
        state = steps.layout.lift()
        state = state._replace(metrics=steps.reset_metrics())
        order = self._order(n, batch_size, k, False, None, 0)
        if hooks:
            cb.on_test_begin()
        state, logs = self._run_epoch("test", state, data, n, batch_size, k, order,
                                      cb if hooks else _NO_CALLBACKS, False)
        steps.layout.write_back_metrics(state.metrics)
        if hooks:
            cb.on_test_end(logs)
        return logs

    def evaluate(self, x, y, batch_size, verbose, sample_weight, callbacks, return_dict):
        (x, y, sample_weight), n = data_mod.standardize(x, y, sample_weight, what="evaluate")
        self._ensure_ready(x, y)
        y = self.targets(y)
        diagnostics.check_labels(self, x, y)
        batch_size = _batch_size(batch_size, "batch_size")
        cb = callbacks if isinstance(callbacks, CallbackList) else CallbackList(
            callbacks, add_progbar=verbose != 0, model=self.model, verbose=verbose, epochs=1,
            steps=math.ceil(n / batch_size), samples=n, batch_size=batch_size, val_samples=0)
        logs = self._evaluate_arrays(distribute.place((x, y, sample_weight)), n, batch_size, cb,
                                     verbose)
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names if name in logs]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size, verbose, callbacks):
        model = self.model
        (x, _, _), n = data_mod.standardize(x, None, None, what="predict", need_y=False)
        if not model.built:
            model(jax.tree_util.tree_map(lambda a: np.asarray(a[:1]), x))
        return predict_arrays(model, x, n, _batch_size(batch_size, "batch_size"))


class _NoCallbacks:
    def __getattr__(self, name):
        return lambda *a, **k: None


_NO_CALLBACKS = _NoCallbacks()
_PREDICT_CACHE = {}


def predict_arrays(model, x, n, batch_size):
    """Runs the model over x in compiled chunks and returns numpy outputs."""
    from gazelle.training.steps import Steps
    steps = getattr(model, "_predict_steps", None)
    trainable = model.trainable_variables
    if steps is None or steps.layout.trainable != trainable:
        layout = StateLayout(model, None, [])
        steps = Steps(model, None, [], None, layout)
        model._predict_steps = steps
    model._check_input(x)
    state = steps.layout.lift()
    full, rest = divmod(n, batch_size)
    xd = distribute.place(x)
    order = distribute.place(np.arange(n, dtype=np.int32))
    parts = []
    if full:
        ys = steps.chunk("predict", full, batch_size, False)(state, xd, order, 0)
        parts.append(jax.tree_util.tree_map(
            lambda a: a.reshape((full * batch_size,) + a.shape[2:]), ys))
    if rest:
        ys = steps.chunk("predict", 1, rest, False)(state, xd, order, full * batch_size)
        parts.append(jax.tree_util.tree_map(lambda a: a.reshape((rest,) + a.shape[2:]), ys))
    parts = jax.device_get(parts)
    if len(parts) == 1:
        return jax.tree_util.tree_map(np.asarray, parts[0])
    return jax.tree_util.tree_map(lambda *a: np.concatenate(a, axis=0), *parts)


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
