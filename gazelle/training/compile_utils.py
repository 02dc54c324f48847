"""compile() arguments -> loss, metric and optimizer objects; log names. [L4]

Outputs are handled as a flat list (one entry for a single-output model). Losses,
loss weights and metrics may be given once for all outputs, as a list in output order,
or as a dict keyed by output name, as in Keras. Log names follow tf.keras 2: `loss`,
then `<output>_loss` per output, then metrics (`<output>_<metric>` when there are
several outputs).
"""
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from gazelle import losses as losses_mod
from gazelle import metrics as metrics_mod
from gazelle import optimizers as optimizers_mod

_SPARSE = {"sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"}
_CATEGORICAL = {"categorical_crossentropy", "CategoricalCrossentropy"}
_BINARY = {"binary_crossentropy", "BinaryCrossentropy"}


def loss_name(loss):
    """A loss's name for matching: the string, the function name or the class name."""
    if isinstance(loss, str):
        return loss
    return getattr(loss, "__name__", None) or type(loss).__name__


def get_loss(loss):
    """One loss identifier -> a callable `(y_true, y_pred, sample_weight) -> scalar`."""
    obj = losses_mod.get(loss)
    if isinstance(obj, losses_mod.Loss):
        return obj
    name = loss if isinstance(loss, str) else getattr(obj, "__name__", "loss")
    return losses_mod.LossFunctionWrapper(obj, name=name)


def per_output(spec, output_names, what, default=None):
    """Spreads a compile() argument over the outputs: one value, a list, or a dict."""
    n = len(output_names)
    if isinstance(spec, dict):
        unknown = set(spec) - set(output_names)
        if unknown:
            raise ValueError(f"compile(): `{what}` has keys {sorted(unknown)} that are not "
                             f"output names; the outputs are {output_names}.")
        return [spec.get(name, default) for name in output_names]
    if isinstance(spec, (list, tuple)) and what != "metrics":
        if len(spec) != n:
            raise ValueError(f"compile(): `{what}` has {len(spec)} entries but the model has "
                             f"{n} output(s) {output_names}.")
        return list(spec)
    return [spec] * n


class CompiledLoss:
    """The total loss of a (possibly multi-output) model, and each output's share."""

    def __init__(self, loss, loss_weights, output_names):
        if loss is None:
            raise ValueError(
                "compile() needs a loss to train the model, e.g. "
                "loss='sparse_categorical_crossentropy'.")
        self.output_names = list(output_names)
        self.specs = per_output(loss, self.output_names, "loss")
        if all(s is None for s in self.specs):
            raise ValueError("compile(): every output has loss None; nothing to train.")
        self.fns = [None if s is None else get_loss(s) for s in self.specs]
        weights = per_output(loss_weights, self.output_names, "loss_weights", default=1.0)
        self.weights = [1.0 if w is None else float(w) for w in weights]

    def __call__(self, ys, preds, sample_weight):
        parts = []
        for fn, w, y, p in zip(self.fns, self.weights, ys, preds):
            parts.append(jnp.float32(0.0) if fn is None else fn(y, p, sample_weight))
        total = sum(w * part for w, part in zip(self.weights, parts))
        return total, parts


class NoLoss:
    """Stands in for a CompiledLoss when a model's own train_step needs no compiled loss."""

    def __init__(self, output_names):
        self.output_names = list(output_names)
        self.specs = [None] * len(self.output_names)
        self.fns = [None] * len(self.output_names)


class MetricSlot(NamedTuple):
    """A metric and what feeds it: the total loss, one output's loss, or one output
    (weighted by the batch's sample weights when it came from `weighted_metrics`)."""
    metric: object
    kind: str         # "loss" | "output_loss" | "output"
    index: int
    weighted: bool = False


def resolve_accuracy(name, loss, y_true_shape, y_pred_shape):
    """'accuracy'/'acc' -> the accuracy metric that fits the loss and shapes (as Keras)."""
    lname = loss_name(loss)
    if lname in _BINARY or (y_pred_shape and y_pred_shape[-1] == 1):
        return metrics_mod.BinaryAccuracy(name=name)
    if lname in _SPARSE:
        return metrics_mod.SparseCategoricalAccuracy(name=name)
    if lname in _CATEGORICAL:
        return metrics_mod.CategoricalAccuracy(name=name)
    if y_true_shape is not None and len(y_true_shape) == len(y_pred_shape) and \
            y_true_shape[-1] == y_pred_shape[-1]:
        return metrics_mod.CategoricalAccuracy(name=name)
    return metrics_mod.SparseCategoricalAccuracy(name=name)


def _make_metric(m, name, loss, y_true_shape, y_pred_shape, fresh):
    if isinstance(m, str) and m in ("accuracy", "acc"):
        return resolve_accuracy(name, loss, y_true_shape, y_pred_shape)
    obj = metrics_mod.get(m)
    if isinstance(obj, metrics_mod.Metric):
        if fresh:                           # one object per output: state is per output
            obj = type(obj).from_config({**obj.get_config(), "name": name})
        elif isinstance(m, str):            # "precision" logs as "precision", as in Keras 3
            obj.name = name
        # Metrics whose state is sized by the data (F1Score, R2Score, multi-label AUC)
        # build from the shapes now: the compiled step needs their variables up front.
        if getattr(obj, "_built", True) is False and y_pred_shape is not None and \
                y_true_shape is not None:
            obj.update_state(np.zeros((1,) + tuple(y_true_shape[1:]), "float32"),
                             np.zeros((1,) + tuple(y_pred_shape[1:]), "float32"))
            obj.reset_state()
        return obj
    return metrics_mod.MeanMetricWrapper(obj, name=name)


def _metric_name(m):
    if isinstance(m, str):
        return m
    if isinstance(m, metrics_mod.Metric):
        return m.name
    return getattr(m, "__name__", "metric")


def _per_output_metrics(metrics, names):
    """compile()'s `metrics` (or `weighted_metrics`) as one list of specs per output."""
    multi = len(names) > 1
    if metrics is None:
        per = [[] for _ in names]
    elif isinstance(metrics, dict):
        per = per_output(metrics, names, "metrics", default=[])
    elif multi and isinstance(metrics, (list, tuple)) and len(metrics) == len(names) and \
            all(isinstance(m, (list, tuple)) or m is None for m in metrics):
        per = list(metrics)
    else:
        per = [metrics] * len(names)
    out = []
    for ms in per:
        ms = [] if ms is None else ms
        out.append(list(ms) if isinstance(ms, (list, tuple)) else [ms])
    return out


def build_slots(compiled_loss, metrics, y_true_shapes, y_pred_shapes, weighted_metrics=None):
    """All metric slots in log order: loss, per-output losses, metrics, then weighted
    metrics. A weighted metric whose name is already taken logs as `weighted_<name>`
    (`<output>_weighted_<name>` with several outputs), then `..._1`, `..._2`, as Keras 3."""
    names = compiled_loss.output_names
    multi = len(names) > 1
    slots = [MetricSlot(metrics_mod.Mean(name="loss"), "loss", -1)]
    if multi:
        slots += [MetricSlot(metrics_mod.Mean(name=f"{n}_loss"), "output_loss", i)
                  for i, n in enumerate(names) if compiled_loss.fns[i] is not None]
    for i, ms in enumerate(_per_output_metrics(metrics, names)):
        for m in ms:
            name = _metric_name(m)
            name = f"{names[i]}_{name}" if multi else name
            slots.append(MetricSlot(_make_metric(
                m, name, compiled_loss.specs[i], y_true_shapes[i], y_pred_shapes[i], multi),
                "output", i))
    seen = [s.metric.name for s in slots]
    dupes = sorted({n for n in seen if seen.count(n) > 1})
    if dupes:
        raise ValueError(f"compile(): metric names must be unique; repeated: {dupes}.")
    taken, counters = set(seen), {}
    for i, ms in enumerate(_per_output_metrics(weighted_metrics, names)):
        prefix = f"{names[i]}_" if multi else ""
        for m in ms:
            base = _metric_name(m)
            name = prefix + base
            if name in taken:
                name = f"{prefix}weighted_{base}"
                if name in taken:
                    counters[name] = counters.get(name, 0) + 1
                    name = f"{name}_{counters[name]}"
            taken.add(name)
            fresh = multi or (isinstance(m, metrics_mod.Metric) and m.name != name)
            slots.append(MetricSlot(_make_metric(
                m, name, compiled_loss.specs[i], y_true_shapes[i], y_pred_shapes[i], fresh),
                "output", i, weighted=True))
    return slots


def get_optimizer(optimizer):
    return optimizers_mod.get(optimizer)
