"""The training doctor's checks: they explain bad input and failing training. [L4: jax,
numpy, stdlib, gazelle.core, gazelle.random, gazelle.training]

Everything here runs on the host, outside the compiled steps, so it costs nothing per
step: checks over the data (or a sample of it) before the first compile, checks of the
logs and per-step losses the trainer already fetches once per chunk, and two extra
measurements taken only when a finding needs them (layer gradient norms on one batch,
at most once per epoch; the fraction of dead ReLU units, one forward pass).

Label/loss mismatches that a compiled gather would silently clamp are ValueErrors, always.
Everything else is a `Finding`; during `fit` each is reported once as a `DoctorWarning`
that says what was seen, why it hurts and what to do. Models are inspected duck-typed
(this tier never imports layers/ or models/).
"""
import dataclasses
import math
import os
import sys
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gazelle import random as grandom
from gazelle.core.variables import Variable
from gazelle.training import data as data_mod
from gazelle.training.compile_utils import loss_name

_SPARSE = {"sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"}
_CATEGORICAL = {"categorical_crossentropy", "CategoricalCrossentropy"}
_BINARY_NAMES = {"binary_crossentropy", "BinaryCrossentropy", "binary_focal_crossentropy",
                 "BinaryFocalCrossentropy"}
_SAMPLE = 2048                  # rows of x/y the data checks look at
_MIN_STALL_STEPS = 10           # steps in an epoch before its loss curve can show a stall
_MIN_STEPS = 50                 # steps of training before "not learning" is judged
_DEEP = 6                       # layers with weights from which a model counts as deep
_PROBE = 256                    # samples in the extra gradient / dead-ReLU measurements
_REGRESSION = {"mean_squared_error", "mean_absolute_error", "huber", "log_cosh",
               "mean_squared_logarithmic_error"}
_PROBABILITY = {"sparse_categorical_crossentropy", "categorical_crossentropy",
                "binary_crossentropy"}
_SHAPE_ONLY = {"Dropout", "Flatten", "Reshape", "GaussianNoise", "GaussianDropout",
               "AlphaDropout", "Identity", "ActivityRegularization"}
# Output/loss mismatches found before fit: their symptoms (not learning) go unreported.
_SETUP = {"softmax_from_logits", "logits_without_from_logits", "regression_loss_on_classifier",
          "sigmoid_with_categorical", "nothing_trainable", "target_scale"}
_TARGET_SCALE = 100.0           # regression targets this large (RMS) swamp a fresh output
_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_state = {"enabled": True}


class DoctorWarning(UserWarning):
    """A finding of gazelle's training doctor (filter with `warnings.filterwarnings`)."""


def set_enabled(enabled):
    """Turns the doctor on or off for every later `fit` (see `gazelle.doctor`)."""
    _state["enabled"] = bool(enabled)


def is_enabled():
    """Whether `fit` runs the doctor when called with `doctor=None`."""
    return _state["enabled"]


@dataclasses.dataclass
class Finding:
    """One thing the doctor noticed.

    Args:
        code: short identifier, e.g. `"unscaled_input"`; warning messages start with it.
        severity: `"error"` (training cannot work), `"warning"` or `"info"`.
        message: what was seen, why it hurts and what to do.
        details: the numbers behind the message.
    """
    code: str
    severity: str
    message: str
    details: dict = dataclasses.field(default_factory=dict)

    def __str__(self):
        return f"[{self.severity}] {self.code}: {self.message}"


class Report(list):
    """A list of `Finding`s that prints as a readable report."""

    @property
    def codes(self):
        return [f.code for f in self]

    def __str__(self):
        if not self:
            return "Doctor's report: no problems found."
        head = f"Doctor's report: {len(self)} finding{'s' if len(self) > 1 else ''}"
        return "\n".join([head] + [f"- {f}" for f in self])


# gazelle's own entry points count as the caller: from the command line a warning points
# at the CLI's fit call, not at the console script that started Python.
_ENTRY_FILES = tuple(os.path.join(_PKG_DIR, name) for name in ("cli.py", "__main__.py"))


def _stacklevel():
    """The stacklevel of the first frame outside gazelle (the user's fit() call), or of
    the CLI's own call when the CLI runs the fit."""
    frame, level = sys._getframe(2), 2
    while frame is not None and frame.f_code.co_filename.startswith(_PKG_DIR) and \
            not frame.f_code.co_filename.startswith(_ENTRY_FILES):
        frame, level = frame.f_back, level + 1
    return level


def message_text(finding):
    """`code: message`, without the code said twice ("underfitting: Underfitting: ...")."""
    message, words = finding.message, finding.code.replace("_", " ")
    if message.lower().startswith(words + ":"):
        message = message[len(words) + 1:].lstrip()
    return f"{finding.code}: {message}"


def warn(finding):
    warnings.warn(message_text(finding), DoctorWarning, stacklevel=_stacklevel())


# -- label errors (ValueErrors, with or without the doctor) ---------------------------------
def check_labels(trainer, x, ys):
    """Label/loss mismatches that a compiled gather would silently clamp, per output."""
    for spec, fn, y, shape in zip(trainer.loss.specs, trainer.loss.fns, ys,
                                  trainer.y_pred_shapes):
        if spec is not None and isinstance(y, np.ndarray):
            _check_output_labels(spec, y, shape)
            name = _loss_kind(fn)[0]
            if name in _REGRESSION and y.ndim == 1 and shape and len(shape) == 2 and \
                    shape[-1] > 1:
                raise ValueError(
                    f"Loss '{loss_name(spec)}' compares y with the model's output element by "
                    f"element, but y has shape {y.shape} and the model outputs "
                    f"{shape[-1]} values per sample. For class labels use "
                    "loss='sparse_categorical_crossentropy'; for regression give the last "
                    "layer as many units as y has columns.")
            _check_loss_shapes(trainer, spec, fn, y, shape)


def _check_loss_shapes(trainer, spec, fn, y, pred_shape):
    """Traces the loss on the target's and the output's shapes (no data, no compile), so a
    mismatch is reported here, naming the output and the loss, not deep inside JAX."""
    if pred_shape is None or y.ndim == 0 or y.dtype.kind not in "biuf":
        return
    # Once per loss and shapes: repeated fits of one model trace nothing new.
    key = (id(fn), tuple(y.shape[1:]), y.dtype.str, tuple(pred_shape[1:]))
    checked = trainer.__dict__.setdefault("_checked_loss_shapes", set())
    if key in checked:
        return
    batch = 2
    y_spec = jax.ShapeDtypeStruct((batch,) + tuple(y.shape[1:]), y.dtype)
    p_spec = jax.ShapeDtypeStruct((batch,) + tuple(pred_shape[1:]), np.float32)
    try:
        jax.eval_shape(lambda t, p: fn(t, p, None), y_spec, p_spec)
    except (TypeError, ValueError) as e:
        names = list(getattr(trainer.loss, "output_names", []) or [])
        index = next((i for i, s in enumerate(trainer.loss.specs) if s is spec), 0)
        output = f"output '{names[index]}'" if index < len(names) else "the model's output"
        raise ValueError(
            f"Loss '{loss_name(spec)}' cannot compare the targets with {output}: y has shape "
            f"{y.shape}, the output has shape {(None,) + tuple(pred_shape[1:])}, so this loss "
            f"expects targets of shape {('n',) + tuple(pred_shape[1:])}. Give "
            "the last layer as many units as y has columns, or reshape/encode y to match "
            f"({str(e).splitlines()[0][:160]}).") from None
    checked.add(key)


def _check_output_labels(loss_spec, y, pred_shape):
    name = loss_name(loss_spec)
    n_classes = pred_shape[-1] if pred_shape else None
    if name in _SPARSE:
        if y.ndim >= 2 and y.shape[-1] > 1 and y.shape[-1] == n_classes:
            raise ValueError(
                f"Loss '{name}' expects integer class labels of shape (n,), but y has shape "
                f"{y.shape}, which looks one-hot encoded. Use "
                "loss='categorical_crossentropy', or pass y.argmax(axis=1).")
        if y.dtype.kind == "f" and not np.all(np.equal(np.mod(y, 1), 0)):
            raise ValueError(
                f"Loss '{name}' expects integer class labels; y holds non-integer values "
                f"(e.g. {y.ravel()[np.flatnonzero(np.mod(y.ravel(), 1))[0]]}).")
        if n_classes is not None and y.size:
            lo, hi = int(y.min()), int(y.max())
            if lo < 0 or hi >= n_classes:
                raise ValueError(
                    f"Received a label value of {hi if hi >= n_classes else lo} which is outside "
                    f"the valid range of [0, {n_classes - 1}] for loss '{name}': the model "
                    f"outputs {n_classes} classes. Check the labels, or give the last layer as "
                    "many units as there are classes.")
    elif name in _BINARY_NAMES:
        if y.dtype.kind in "biuf" and y.size:
            lo, hi = float(np.min(y)), float(np.max(y))
            if lo < 0 or hi > 1:
                values = np.unique(y.ravel()[:_SAMPLE * 8])
                classes = (f" It holds {len(values)} distinct values from {lo:g} to {hi:g}, "
                           "which look like class labels: for that many classes use a "
                           f"Dense({len(values)}, activation='softmax') output with "
                           "loss='sparse_categorical_crossentropy'."
                           if len(values) <= 1000 and np.all(np.mod(values, 1) == 0) else "")
                raise ValueError(
                    f"Loss '{name}' expects targets in [0, 1] (the labels 0 and 1, or "
                    f"probabilities), but y holds values from {lo:g} to {hi:g}; outside [0, 1] "
                    f"the loss has no minimum and goes negative while the model learns "
                    f"nothing.{classes}")
    elif name in _CATEGORICAL and n_classes and n_classes > 1:
        if y.ndim == 1 or (y.ndim == 2 and y.shape[-1] == 1):
            raise ValueError(
                f"Loss '{name}' expects one-hot targets of shape (n, {n_classes}), but y has "
                f"shape {y.shape} (integer labels). Use loss='sparse_categorical_crossentropy', "
                "or convert y with keras.utils.to_categorical(y).")
        if y.shape[-1] != n_classes:
            raise ValueError(
                f"Loss '{name}': targets have {y.shape[-1]} columns but the model outputs "
                f"{n_classes} classes.")


# -- what the model and loss are ------------------------------------------------------------
def _loss_kind(fn):
    """A compiled loss's function name and from_logits: ("mean_squared_error", False)."""
    inner = getattr(fn, "fn", fn)
    name = getattr(inner, "__name__", type(inner).__name__)
    options = getattr(fn, "_fn_kwargs", {})
    return name, bool(getattr(fn, "from_logits", options.get("from_logits", False)))


def _is_sequential(model):
    return any(c.__name__ == "Sequential" for c in type(model).__mro__)


def _activation_of(layer):
    """The name of the activation `layer` ends with ("linear" for none), "pass" for a
    layer that only reshapes or drops, None when unknown."""
    if _is_sequential(layer):
        return _chain_activation(list(layer.layers)) if layer.layers else None
    if type(layer).__name__ == "Softmax":
        return "softmax"
    activation = getattr(layer, "activation", None)
    if callable(activation):
        return getattr(activation, "__name__", None)
    return "pass" if type(layer).__name__ in _SHAPE_ONLY else None


def _chain_activation(layers):
    for layer in reversed(layers):
        name = _activation_of(layer)
        if name != "pass":
            return name
    return None


def _outputs(model):
    """(output layer, its final activation name or None) per output; [] when opaque."""
    tensors = getattr(model, "_output_tensors", None)
    if tensors is not None:                                     # Functional
        found = []
        for t in tensors:
            layer, name = t.node.layer, _activation_of(t.node.layer)
            while name == "pass" and len(t.node.input_tensors) == 1:
                t = t.node.input_tensors[0]
                name = _activation_of(t.node.layer)
            found.append((layer, None if name == "pass" else name))
        return found
    if _is_sequential(model) and model.layers:
        return [(model.layers[-1], _chain_activation(list(model.layers)))]
    return []


def _even_sample(y):
    """Every k-th row of a huge array (about 100k rows): cheap, and fair to sorted data."""
    return y[::max(1, len(y) // (50 * _SAMPLE))]


def _class_labels(name, y, units):
    """Integer class labels for a classification loss, or None (regression, multi-label)."""
    if not isinstance(y, np.ndarray) or y.size == 0:
        return None
    y = _even_sample(y)
    if name == "sparse_categorical_crossentropy":
        return y.reshape(-1).astype(np.int64)
    if name == "categorical_crossentropy" and y.ndim >= 2 and y.shape[-1] > 1:
        return y.reshape(-1, y.shape[-1]).argmax(axis=1)
    if name == "binary_crossentropy" and units == 1 and np.isin(y, (0, 1)).all():
        return y.reshape(-1).astype(np.int64)
    return None


def _learning_rate(optimizer):
    try:
        lr = optimizer.learning_rate
        return float(np.asarray(lr.value if isinstance(lr, Variable) else lr))
    except (TypeError, AttributeError, ValueError):
        return None


# -- checks before fit ------------------------------------------------------------------------
def input_scale_findings(x, optimizer_name=None):
    """Inputs far from unit scale: raw pixels, big features, columns of unequal scales."""
    for leaf in jax.tree_util.tree_leaves(x):
        if not isinstance(leaf, np.ndarray) or leaf.dtype.kind not in "uif" or leaf.size == 0:
            continue
        sample = leaf[:_SAMPLE].reshape(min(len(leaf), _SAMPLE), -1).astype(np.float32)
        std = sample.std(axis=0)
        # Per-feature spread, not the max: standardized data has outliers of 5-10 std.
        spread = float(std.max()) if len(sample) > 1 else 0.0
        peak = float(np.abs(sample).max())
        if spread > 10.0:
            kind = "image-like pixels" if leaf.dtype == np.uint8 or (
                leaf.ndim >= 3 and peak <= 255.0) else "features"
            return [Finding("unscaled_input", "warning",
                f"Inputs look unscaled: {kind} of shape {leaf.shape} range up to {peak:g} "
                f"(dtype {leaf.dtype}, largest per-feature std {spread:.3g}). Large inputs "
                f"make gradients huge, so training with {optimizer_name or 'SGD'} can diverge "
                "(loss explodes, accuracy stays near chance). Scale them first: x / 255.0 for "
                "pixels, or standardize features (x - mean) / std, e.g. with sklearn's "
                "StandardScaler.",
                {"shape": leaf.shape, "max": peak, "max_feature_std": spread})]
        if leaf.ndim == 2 and len(sample) > 1:
            # Mostly-constant columns (one-hot flags, image borders) have no scale to compare.
            varied = (std > 0) & ((sample == np.median(sample, axis=0)).mean(axis=0) <= 0.5)
            cols = np.flatnonzero(varied)
            if len(cols) >= 2:
                hi, lo = cols[std[cols].argmax()], cols[std[cols].argmin()]
                ratio = float(std[hi] / std[lo])
                if ratio > 100:
                    return [Finding("feature_scales", "warning",
                        f"Input features have very different scales: column {hi} has std "
                        f"{std[hi]:.3g} but column {lo} has std {std[lo]:.3g} (ratio "
                        f"{ratio:.0f}). Gradient descent then takes tiny steps along the "
                        "large features and huge ones along the small, so it learns slowly "
                        "or diverges. Standardize each column: (x - x.mean(axis=0)) / "
                        "x.std(axis=0), or sklearn's StandardScaler.",
                        {"column_high": int(hi), "column_low": int(lo), "ratio": ratio})]
    return []


def _output_findings(model, trainer, ys):
    """Output activation vs loss: softmax twice, logits into a probability loss,
    a regression loss on a classifier."""
    found = []
    outputs = _outputs(model)
    if len(outputs) != len(trainer.loss.fns):
        return found
    for (layer, activation), fn, y, shape in zip(outputs, trainer.loss.fns, ys,
                                                 trainer.y_pred_shapes):
        if fn is None:
            continue
        name, from_logits = _loss_kind(fn)
        units = shape[-1] if shape else 1
        where = f"The output layer '{layer.name}'"
        if activation in ("softmax", "sigmoid") and name in _PROBABILITY and from_logits:
            found.append(Finding("softmax_from_logits", "warning",
                f"{where} applies {activation}, but the loss '{name}' has from_logits=True, so "
                f"it applies {activation} a second time. Outputs squeezed into [0, 1] give "
                "nearly uniform probabilities and tiny gradients: the loss stays high. Either "
                f"drop the activation (e.g. Dense({units})) and keep from_logits=True, or keep "
                f"activation='{activation}' and use from_logits=False.",
                {"layer": layer.name, "activation": activation, "loss": name}))
        elif activation == "linear" and name in _PROBABILITY and not from_logits:
            found.append(Finding("logits_without_from_logits", "warning",
                f"{where} has no activation, so it outputs logits, but the loss '{name}' "
                "expects probabilities (from_logits=False): negative logits are clipped to "
                "~0 and the loss and its gradients are wrong. Add activation="
                f"'{'sigmoid' if units == 1 else 'softmax'}' to the last layer, or use e.g. "
                f"keras.losses.{_class_name(name)}(from_logits=True).",
                {"layer": layer.name, "activation": activation, "loss": name}))
        elif activation == "sigmoid" and units > 1 and name in (
                "categorical_crossentropy", "sparse_categorical_crossentropy"):
            found.append(Finding("sigmoid_with_categorical", "warning",
                f"{where} applies sigmoid to {units} units, but the loss '{name}' treats them "
                "as one probability distribution over the classes. Sigmoid outputs are "
                "independent and do not sum to 1, so the loss rescales them and the model "
                "learns a distorted problem. For one class per sample use "
                "activation='softmax'; for several labels per sample use "
                "loss='binary_crossentropy' with the sigmoid.",
                {"layer": layer.name, "activation": activation, "loss": name}))
        elif activation in ("linear", None) and name in _REGRESSION - {
                "mean_squared_logarithmic_error"} and isinstance(y, np.ndarray) and \
                y.size and np.issubdtype(y.dtype, np.number):
            sample = _even_sample(y).astype(np.float64)
            sample = sample[np.isfinite(sample)]
            rms = float(np.sqrt(np.mean(sample ** 2))) if sample.size else 0.0
            if rms >= _TARGET_SCALE:
                mean, std = float(sample.mean()), float(sample.std())
                found.append(Finding("target_scale", "warning",
                    f"The targets of '{layer.name}' are large: mean {mean:.4g}, standard "
                    f"deviation {std:.4g}, while a freshly initialized output layer gives "
                    f"values of order 1. The first losses are then about {rms ** 2:.3g} "
                    f"({name}), and the gradients that large make training diverge or crawl. "
                    "Standardize the targets: y_scaled = (y - mean) / std (compute mean and "
                    "std on the training set), train on y_scaled, and map predictions back "
                    "with pred * std + mean.",
                    {"layer": layer.name, "loss": name, "mean": mean, "std": std,
                     "rms": rms}))
        elif activation in ("softmax", "sigmoid") and name in _REGRESSION and \
                isinstance(y, np.ndarray) and y.size and _integer_labels(y, units):
            better = "binary_crossentropy" if units == 1 else (
                "sparse_categorical_crossentropy" if y.ndim == 1 or y.shape[-1] == 1
                else "categorical_crossentropy")
            found.append(Finding("regression_loss_on_classifier", "warning",
                f"{where} is a {activation} classifier and y holds integer class labels, but "
                f"the loss is '{name}', a regression loss: it compares class ids with "
                "probabilities, so the model cannot learn the classes. Use "
                f"loss='{better}'.", {"layer": layer.name, "loss": name, "suggested": better}))
    return found


def _class_name(fn_name):
    return "".join(part.capitalize() for part in fn_name.split("_"))


def _integer_labels(y, units):
    sample = y[:_SAMPLE]
    if not np.all(np.mod(sample, 1) == 0):
        return False
    return len(np.unique(sample)) <= max(2, units) if y.ndim == 1 or y.shape[-1] == 1 else False


def _distribution(labels, classes):
    counts = np.array([(labels == c).sum() for c in classes], np.float64)
    return counts / max(counts.sum(), 1)


def _label_findings(trainer, ys, val_ys, weighted):
    """Class imbalance in y, and a validation set whose labels differ from training's."""
    found = []
    for i, (fn, y, shape) in enumerate(zip(trainer.loss.fns, ys, trainer.y_pred_shapes)):
        if fn is None:
            continue
        name = _loss_kind(fn)[0]
        if isinstance(y, np.ndarray) and y.ndim >= (3 if name == "categorical_crossentropy"
                                                   else 2) and y.shape[-1] != 1:
            continue        # a label per time step (next-character targets): no class_weight
        labels = _class_labels(name, y, shape[-1] if shape else 1)
        if labels is None:
            continue
        classes, counts = np.unique(labels, return_counts=True)
        rare, common = counts.argmin(), counts.argmax()
        if not weighted and counts[common] >= 30 and counts[rare] < 0.1 * counts[common]:
            weights = {int(c): round(float(len(labels) / (len(classes) * k)), 2)
                       for c, k in zip(classes, counts)}
            shown = weights if len(weights) <= 10 else "{...}"
            found.append(Finding("class_imbalance", "warning",
                f"The classes are strongly imbalanced: class {classes[rare]} has "
                f"{counts[rare]} samples but class {classes[common]} has {counts[common]} "
                f"(1:{counts[common] / counts[rare]:.0f}). The model can score "
                f"{counts[common] / counts.sum():.0%} accuracy by always predicting class "
                f"{classes[common]} and neglect the rare ones. Pass class_weight={shown} "
                "(balanced weights) to fit, or resample, and judge the model by per-class "
                "precision/recall rather than accuracy.",
                {"counts": dict(zip(map(int, classes), map(int, counts))),
                 "class_weight": weights}))
        if val_ys is not None:
            val_labels = _class_labels(name, val_ys[i], shape[-1] if shape else 1)
            if val_labels is None or not len(val_labels):
                continue
            union = np.union1d(classes, np.unique(val_labels))
            p, q = _distribution(labels, union), _distribution(val_labels, union)
            tv = 0.5 * float(np.abs(p - q).sum())
            # What sampling alone gives: E|p_k - q_k| for two samples of one distribution.
            spread = p * (1 - p) * (1 / len(labels) + 1 / len(val_labels))
            noise = 0.5 * float(np.sqrt(2 * spread / np.pi).sum())
            if tv > max(0.2, 2 * noise):
                worst = int(np.abs(p - q).argmax())
                found.append(Finding("validation_shift", "warning",
                    f"The validation labels are distributed differently from the training "
                    f"labels (total variation distance {tv:.2f}): class {union[worst]} is "
                    f"{q[worst]:.0%} of validation but {p[worst]:.0%} of training. Validation "
                    "scores then measure the wrong thing. validation_split takes the LAST "
                    "samples without shuffling: if the data is sorted (e.g. by label), shuffle "
                    "it first, or split with sklearn's train_test_split(..., stratify=y).",
                    {"tv_distance": tv, "train": dict(zip(map(int, union), p.round(3))),
                     "validation": dict(zip(map(int, union), q.round(3)))}))
    return found


# First layers that take raw values by design: scaling layers, and layers that read ids
# or categories (an Embedding's ids are not a feature scale).
_SCALING_LAYERS = {"Rescaling", "Normalization", "BatchNormalization", "LayerNormalization",
                   "Embedding", "IntegerLookup", "StringLookup", "TextVectorization",
                   "CategoryEncoding", "Hashing", "HashedCrossing", "Discretization"}
_GEOMETRY_LAYERS = {"InputLayer", "Resizing", "CenterCrop", "Pipeline"}


def _scales_its_inputs(model):
    """Whether the model's first computing layer rescales or normalizes its inputs (after
    shape-only and augmentation layers, inside nested Sequentials too): then raw pixels
    in x are what the model expects."""
    pending = list(getattr(model, "layers", []))
    while pending:
        layer = pending.pop(0)
        name = type(layer).__name__
        if name == "Sequential":
            pending = list(layer.layers) + pending
        elif not type(layer).__module__.startswith("gazelle.") and getattr(layer, "_layers", None):
            # A user's layer (e.g. token + position embedding): judge by its first sublayer.
            pending = list(layer._layers) + pending
        elif name in _SCALING_LAYERS:
            return True
        elif not (name in _SHAPE_ONLY or name in _GEOMETRY_LAYERS or name.startswith("Random")):
            return False
    return False


def _trainable_findings(model):
    """A model with weights but none of them trainable: fit can change nothing."""
    if model.weights and not model.trainable_weights:
        frozen = [layer.name for layer in model.layers if layer.weights][:5]
        return [Finding("nothing_trainable", "warning",
            f"The model '{model.name}' has no trainable weights: every layer with weights "
            f"is frozen (trainable=False: {', '.join(frozen)}), so fit cannot change the "
            "model and the loss will not move. Unfreeze what should learn (layer.trainable = "
            "True, then compile again), or add a trainable head on top of the frozen base.",
            {"frozen_layers": frozen})]
    return []


def findings_before_fit(model, trainer, x, ys, validation=None, weighted=False):
    """All checks that look at the data and the compiled model before training starts."""
    found = _trainable_findings(model)
    found += [] if _scales_its_inputs(model) else input_scale_findings(
        x, type(trainer.optimizer).__name__)
    found += _output_findings(model, trainer, ys)
    found += _label_findings(trainer, ys, validation[1] if validation else None, weighted)
    found += sequence_findings(model, x)
    return found


# -- sequences of token ids -------------------------------------------------------------------
# Layers that run on the host before fit (strings to ids): the model's compiled part starts
# after them, and x already holds their ids when the doctor looks at it.
_HOST_LAYERS = {"TextVectorization", "StringLookup", "IntegerLookup", "Hashing"}
_ATTENTION = {"MultiHeadAttention", "Attention", "AdditiveAttention", "GroupedQueryAttention"}
_AVERAGING = {"GlobalAveragePooling1D", "AveragePooling1D"}
_PADDING_SHARE = 0.25   # share of padding tokens from which a model without a mask is warned
_OOV_SHARE = 0.3        # share of the [UNK] id among the real tokens: the vocabulary misses
_CUT_SHARE = 0.5        # share of rows without padding (or longer than the length): texts cut
_MIN_TOKENS = 50        # real tokens in the sample before the vocabulary is judged


def _class_names(layer):
    return {c.__name__ for c in type(layer).__mro__}


def _is_rnn(layer):
    """A recurrent layer of gazelle (SimpleRNN, LSTM, GRU, RNN, ConvLSTM*, Bidirectional)."""
    return any(c.__module__.startswith("gazelle.layers.recurrent") and
               c.__name__ in ("RNN", "Bidirectional") for c in type(layer).__mro__)


def _sublayers(layer):
    """`layer` and every layer inside it."""
    flatten = getattr(layer, "_flatten_layers", None)
    return list(flatten()) if callable(flatten) else [layer]


def _has_rnn(layer):
    return any(_is_rnn(sub) for sub in _sublayers(layer))


def _own_mask(layer):
    """Whether a user's layer computes its own mask (a custom embedding that masks 0)."""
    owner = next((c for c in type(layer).__mro__ if "compute_mask" in c.__dict__), None)
    return owner is not None and not owner.__module__.startswith("gazelle.")


def _first_embedding(layers):
    """The Embedding that reads the input of a chain of layers: the first computing layer
    (after host layers), or the first layer inside it (a nested model, or a user's token +
    position embedding); None when the chain starts with anything else."""
    for layer in layers:
        names = _class_names(layer)
        if "InputLayer" in names or names & _HOST_LAYERS:
            continue
        if "Embedding" in names and hasattr(layer, "mask_zero"):
            return layer
        inner = getattr(layer, "layers", None) if _is_model(layer) else \
            getattr(layer, "_layers", None)
        return _first_embedding(list(inner)) if inner else None
    return None


def _is_model(layer):
    return any(c.__name__ in ("Model", "Functional", "Sequential")
               for c in type(layer).__mro__) and hasattr(layer, "layers")


def _tensor_leaves(value):
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensor_leaves(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensor_leaves(v)]
    return [value]


def _token_inputs(model, x):
    """`(ids, embedding, top, after)` for each input of `model` whose first computing layer
    is (or starts with) an Embedding: the array of x, the Embedding, the model's layer that
    holds it, and the layers that compute from its output."""
    tensors = getattr(model, "_input_tensors", None)
    found = []
    if tensors is not None and hasattr(model, "_nodes"):                    # Functional
        if isinstance(x, dict):
            leaves = [x.get(t.node.layer.name) for t in tensors]
        else:
            leaves = list(x) if isinstance(x, (list, tuple)) else [x]
        if len(leaves) != len(tensors):
            return found
        consumers = {}
        for node in model._nodes:
            for t in node.input_tensors:
                consumers.setdefault(id(t), []).append(node)

        def after(node):
            return [n for out in _tensor_leaves(node.outputs) for n in consumers.get(id(out), [])]
        for t, leaf in zip(tensors, leaves):
            nodes = consumers.get(id(t), [])
            while len(nodes) == 1 and _class_names(nodes[0].layer) & _HOST_LAYERS:
                nodes = after(nodes[0])
            # Ids that feed more layers than the embedding (e.g. a hand-made attention mask)
            # are the user's own business.
            if len(nodes) != 1 or _first_embedding([nodes[0].layer]) is None:
                continue
            downstream, todo, seen = [], [nodes[0]], set()
            while todo:
                for n in after(todo.pop()):
                    if id(n) not in seen:
                        seen.add(id(n))
                        todo.append(n)
                        downstream.append(n.layer)
            found.append((leaf, _first_embedding([nodes[0].layer]), nodes[0].layer,
                          downstream))
    elif _is_sequential(model) and not isinstance(x, (list, tuple, dict)):
        layers = list(model.layers)
        for i, layer in enumerate(layers):
            names = _class_names(layer)
            if "InputLayer" in names or names & _HOST_LAYERS:
                continue
            embedding = _first_embedding([layer])
            if embedding is not None:
                found.append((x, embedding, layer, layers[i + 1:]))
            break
    return found


def _id_sample(leaf):
    """At most _SAMPLE rows, spread over the data, of a 2-D array of token ids; else None."""
    if not isinstance(leaf, np.ndarray) or leaf.ndim != 2 or leaf.dtype.kind not in "iu" \
            or leaf.shape[1] < 2 or not leaf.size:
        return None
    ids = np.asarray(leaf[::max(1, len(leaf) // _SAMPLE)][:_SAMPLE])
    return ids if ids.min() >= 0 else None


def _padding_layout(ids):
    """Where the padding id 0 sits in rows of ids: `"post"` (a run at the end of each row),
    `"pre"` (a run at the start), or None (no zeros, or zeros among the tokens, so 0 is a
    real token)."""
    real = ids != 0
    padded = ~real.all(axis=1)
    if not padded.any():
        return None
    post = ~(real[:, 1:] & ~real[:, :-1]).any(axis=1)      # no token after a 0
    pre = ~(~real[:, 1:] & real[:, :-1]).any(axis=1)       # no 0 after a token
    post_share, pre_share = post[padded].mean(), pre[padded].mean()
    if max(post_share, pre_share) < 0.95:
        return None
    return "post" if post_share >= pre_share else "pre"


def _reads_padding(layers):
    """The first of `layers` (or layer inside them) that takes padded positions as data."""
    for layer in layers:
        for sub in _sublayers(layer):
            names = _class_names(sub)
            if _is_rnn(sub) or names & _ATTENTION or names & _AVERAGING:
                return sub
    return None


def _has_masking(model):
    return any("Masking" in _class_names(layer) for layer in _sublayers(model))


def _padding_finding(model, leaf, ids, layout, embedding, top, after):
    real = ids != 0
    share = float(1 - real.mean())
    if layout is None or share < _PADDING_SHARE or embedding.mask_zero or \
            _has_masking(model) or _own_mask(top):
        return []
    inside = [layer for layer in _sublayers(top) if layer is not embedding and layer is not top]
    reader = _reads_padding(inside + list(after))
    if reader is None:
        return []
    length = ids.shape[1]
    pad = length - real.sum(axis=1)
    mean_pad = float(pad.mean())
    kind = type(reader).__name__
    if _is_rnn(reader):
        how = (f"the recurrent layer '{reader.name}' ({kind}) reads the padding as data: with "
               f"post-padding its last state comes after {mean_pad:.0f} padding steps on "
               "average, which wash out what it read from the text"
               if layout == "post" else
               f"the recurrent layer '{reader.name}' ({kind}) reads the padding as data: with "
               f"pre-padding it runs through {mean_pad:.0f} padding steps on average before "
               "each text, so texts of different lengths start from different states")
    elif _class_names(reader) & _ATTENTION:
        how = (f"the attention layer '{reader.name}' ({kind}) attends to the padding "
               "positions as if they were tokens")
    else:
        how = (f"'{reader.name}' ({kind}) averages the padding vectors in with the tokens, "
               "and dilutes shorter texts more")
    return [Finding("padding_without_mask", "warning",
        f"Padded sequences without a mask: {share:.0%} of the tokens in x (shape "
        f"{leaf.shape}) are the padding id 0, {layout}-padded ({mean_pad:.1f} of "
        f"{length} positions per row on average), but Embedding '{embedding.name}' has "
        f"mask_zero=False and the model has no Masking layer, so {how}. Pass "
        f"Embedding(..., mask_zero=True) so that the layers after it skip the padding (id 0 "
        "must then mean padding only, as in TextVectorization's and pad_sequences' ids); "
        "for inputs that are already vectors, start with a Masking(mask_value=0.0) layer.",
        {"padding_share": share, "layout": layout, "mean_padding": mean_pad,
         "length": length, "embedding": embedding.name, "layer": reader.name})]


def _oov_finding(ids, where):
    """Id 1 (the [UNK] id of TextVectorization/StringLookup) crowding out the real tokens."""
    real = ids[ids != 0]
    if real.size < _MIN_TOKENS:
        return []
    values, counts = np.unique(real, return_counts=True)
    oov = int(counts[values == 1].sum())
    share = oov / real.size
    # Id 1 must also dwarf every other id: in some encodings it is a real, common token.
    others = counts[values != 1]
    runner_up = int(others.max()) if others.size else 0
    if share <= _OOV_SHARE or oov < 3 * runner_up:
        return []
    return [Finding("mostly_oov", "warning",
        f"Most tokens are out of vocabulary: id 1, the [UNK] (out-of-vocabulary) id of "
        f"TextVectorization and StringLookup, is {share:.0%} of the {real.size} non-padding "
        f"tokens {where}, {oov / max(runner_up, 1):.0f}x as often as any other id. The model "
        "sees one 'unknown' token in place of most words, so it can hardly tell the texts "
        "apart. The vocabulary misses most tokens: it was adapted on other data, max_tokens "
        "is too small, or the texts were standardized differently from those it was adapted "
        "on (case, punctuation, split). Adapt the layer on the training texts "
        "(vectorizer.adapt(train_texts)), raise max_tokens, and compare "
        "vectorizer.get_vocabulary()[:20] with your tokens. (If id 1 is a real token in your "
        "own encoding, ignore this.)",
        {"oov_share": share, "tokens": int(real.size), "oov_id": 1})]


def _truncation_finding(leaf, ids, layout):
    """Most rows filled to the last position while the rest are padded: texts were cut."""
    if layout is None or ids.shape[1] < 4:
        return []
    full = (ids != 0).all(axis=1)
    padded = int((~full).sum())
    share = float(full.mean())
    if share <= _CUT_SHARE or padded < max(10, 0.05 * len(ids)):
        return []
    length = ids.shape[1]
    return [Finding("truncated_sequences", "warning",
        f"Most sequences were probably cut: {share:.0%} of the rows of x (shape "
        f"{leaf.shape}) have no padding at all, while the other rows are {layout}-padded, so "
        f"most texts were likely longer than the {length} tokens they were cut to, and what "
        "was cut is lost to the model. TextVectorization(output_sequence_length=...) keeps "
        "the first tokens and drops the end; pad_sequences(maxlen=...) with its default "
        "truncating='pre' drops the start. Use a longer output_sequence_length (or maxlen), "
        "e.g. the 90th percentile of the texts' token counts, or truncate the part that "
        "matters less (pad_sequences' truncating='post' keeps the start).",
        {"full_rows_share": share, "length": length, "layout": layout})]


def sequence_findings(model, x):
    """Checks of token-id inputs that feed an Embedding: padding that no mask hides, a
    vocabulary that misses most tokens, sequences cut short."""
    found, codes = [], set()
    for leaf, embedding, top, after in _token_inputs(model, x):
        ids = _id_sample(leaf)
        if ids is None:
            continue
        layout = _padding_layout(ids)
        # Id 1 means [UNK] only where 0 means padding (TextVectorization's ids, not
        # StringLookup's default ones, where 0 is [UNK] and 1 the most common token).
        for finding in (_padding_finding(model, leaf, ids, layout, embedding, top, after)
                        + (_oov_finding(ids, "in a sample of x") if layout else [])
                        + _truncation_finding(leaf, ids, layout)):
            if finding.code not in codes:
                codes.add(finding.code)
                found.append(finding)
    return found


def text_findings(vectorizer, texts):
    """`mostly_oov` and `truncated_sequences` measured on raw strings with a
    `TextVectorization` layer: the share of tokens its vocabulary maps to an
    out-of-vocabulary id, and the share of texts longer than its `output_sequence_length`
    (token counts from the layer's own standardize and split, n-grams included).

    Args:
        vectorizer: a gazelle `TextVectorization` layer.
        texts: a sample of the raw strings (a NumPy array of str, shape (n,) or (n, 1));
            at most _SAMPLE of them, spread over the array, are looked at.

    Returns:
        A list of `Finding`s (empty when nothing is wrong).
    """
    texts = np.asarray(texts)
    if texts.ndim == 2 and texts.shape[-1] == 1:
        texts = texts[:, 0]
    if texts.ndim != 1 or not len(texts):
        return []
    texts = texts[::max(1, len(texts) // _SAMPLE)][:_SAMPLE]
    rows = vectorizer._preprocess(texts)
    if not isinstance(rows, list):                   # split=None: each text is one token
        rows = [[t] for t in np.asarray(rows, dtype=object).reshape(-1).tolist()]
    found = []
    lookup = vectorizer._lookup_layer
    tokens = [t for row in rows for t in row]
    if lookup.num_oov_indices > 0 and len(tokens) >= _MIN_TOKENS:
        ids = lookup._lookup(np.array(tokens, dtype=object))
        start = lookup._oov_start_index()
        unknown = (ids >= start) & (ids < start + lookup.num_oov_indices)
        share = float(unknown.mean())
        if share > _OOV_SHARE:
            values, counts = np.unique(np.array(tokens, dtype=object)[unknown].astype(str),
                                       return_counts=True)
            common = [str(v) for v in values[np.argsort(-counts, kind="stable")][:8]]
            size = lookup.vocabulary_size()
            empty = size <= lookup._token_start_index()
            cause = (f"The layer '{vectorizer.name}' has no vocabulary yet: call "
                     "vectorizer.adapt(train_texts) before vectorizing." if empty else
                     f"Its vocabulary ({size} entries, max_tokens={lookup.max_tokens}) "
                     "misses most tokens: it was adapted on other data, max_tokens is too "
                     "small, or the texts were standardized differently from those it was "
                     "adapted on (case, punctuation, split). Adapt it on the training texts "
                     "(vectorizer.adapt(train_texts)) or raise max_tokens.")
            found.append(Finding("mostly_oov", "warning",
                f"Most tokens are out of vocabulary: TextVectorization '{vectorizer.name}' "
                f"maps {share:.0%} of the {len(tokens)} tokens of {len(rows)} sample texts "
                f"to its [UNK] id (the most common unknown ones: {common}), so the model sees "
                f"one 'unknown' token in place of most words and can hardly tell the texts "
                f"apart. {cause}",
                {"oov_share": share, "tokens": len(tokens), "vocabulary_size": size,
                 "unknown_examples": common}))
    length = vectorizer._output_sequence_length
    if vectorizer._output_mode == "int" and length is not None and rows:
        counts = np.array([len(row) for row in rows])
        cut = counts > length
        share = float(cut.mean())
        if share > _CUT_SHARE:
            lost = float(np.maximum(counts - length, 0).sum() / max(counts.sum(), 1))
            p90 = int(np.percentile(counts, 90))
            found.append(Finding("truncated_sequences", "warning",
                f"Most texts are cut: {share:.0%} of {len(rows)} sample texts have more than "
                f"output_sequence_length={length} tokens (median {int(np.median(counts))}, "
                f"90th percentile {p90}), so TextVectorization '{vectorizer.name}' keeps "
                f"their first {length} tokens and drops the end: {lost:.0%} of all tokens "
                f"never reach the model. Use a longer output_sequence_length (e.g. {p90}, "
                "the 90th percentile), or if the start of the texts matters less, cut them "
                "yourself (pad_sequences(..., truncating='pre') keeps the end).",
                {"cut_share": share, "output_sequence_length": length,
                 "median_tokens": float(np.median(counts)), "p90_tokens": p90,
                 "lost_share": lost}))
    return found


# -- extra measurements (only when a finding needs them) --------------------------------------
def gradient_norms(trainer, x, ys, n=_PROBE):
    """The loss and each layer's gradient and weight norms on the first `n` samples.

    One extra jitted gradient computation (compiled once per compiled model).
    Returns `(loss, [{"layer", "grad_norm", "weight_norm", "recurrent"}, ...])` in layer
    order ("recurrent": the layer is or holds an RNN).
    """
    steps = trainer.steps
    fn = getattr(steps, "_doctor_grad_norms", None)
    if fn is None:
        def norms(trainable, non_trainable, x, ys):
            def loss_fn(values):
                y_pred, _, losses = steps._forward(values, non_trainable, x, True)
                return steps._loss(ys, y_pred, None, losses)[0]
            loss, grads = jax.value_and_grad(loss_fn)(trainable)
            squares = lambda arrays: [jnp.sum(jnp.square(a)) for a in arrays]  # noqa: E731
            return loss, squares(grads), squares(trainable)
        fn = steps._doctor_grad_norms = jax.jit(norms)
    state = steps.layout.lift()
    batch_x = jax.tree_util.tree_map(lambda a: a[:n], x)
    loss, g2, w2 = jax.device_get(fn(state.trainable, state.non_trainable, batch_x,
                                      [y[:n] for y in ys]))
    by_id = {id(v): (float(g), float(w)) for v, g, w in zip(steps.layout.trainable, g2, w2)}
    rows = []
    for layer in trainer.model.layers:
        own = [by_id.pop(id(v)) for v in layer.trainable_weights if id(v) in by_id]
        if own:
            rows.append({"layer": layer.name,
                         "grad_norm": math.sqrt(sum(g for g, _ in own)),
                         "weight_norm": math.sqrt(sum(w for _, w in own)),
                         "recurrent": _has_rnn(layer)})
    return float(loss), rows


def gradient_findings(loss, rows):
    """Vanishing or exploding gradients from `gradient_norms`' rows."""
    grads = np.array([r["grad_norm"] for r in rows])
    if not len(grads) or not np.isfinite(grads).all() or not np.isfinite(loss):
        return []
    table = ", ".join(f"{r['layer']}: {r['grad_norm']:.2g}" for r in rows)
    details = {"loss": loss, "layers": rows}
    big = [r for r in rows if r["grad_norm"] > 100 * max(r["weight_norm"], 1.0)]
    if big:
        r = max(big, key=lambda r: r["grad_norm"])
        if r.get("recurrent"):
            return [Finding("exploding_gradients", "warning",
                f"Exploding gradients in a recurrent layer: '{r['layer']}' has gradient norm "
                f"{r['grad_norm']:.3g} for weights of norm {r['weight_norm']:.3g} (gradient "
                f"norms by layer: {table}). Backpropagation through time multiplies by the "
                "recurrent weight matrix once per time step, so over a long sequence the "
                "gradient grows geometrically and one step can throw the weights far off. "
                "First clip the gradients with the optimizer's clipnorm, e.g. "
                "keras.optimizers.Adam(clipnorm=1.0): it caps each step without changing its "
                "direction. Then, if needed, lower the learning rate, use LSTM or GRU rather "
                "than SimpleRNN, or train on shorter sequences.",
                {**details, "recurrent": True})]
        return [Finding("exploding_gradients", "warning",
            f"Exploding gradients: layer '{r['layer']}' has gradient norm "
            f"{r['grad_norm']:.3g} for weights of norm {r['weight_norm']:.3g} (gradient norms "
            f"by layer: {table}). One SGD step at learning rate 0.01 would move these weights "
            "by more than their own size, so training is unstable. Lower the learning rate, "
            "clip gradients (e.g. optimizer clipnorm=1.0), scale the inputs and regression "
            "targets, or add BatchNormalization.", details)]
    if loss > 1e-3 and grads.max() == 0.0:
        return [Finding("vanishing_gradients", "warning",
            f"Vanishing gradients: every layer's gradient is exactly zero while the loss is "
            f"{loss:.3g}, so no weight can change. Usually the output is saturated (huge "
            "logits drive softmax/sigmoid to exactly 0 or 1, whose clipped log has no "
            "gradient) or every ReLU is dead; both follow from unscaled inputs or a too "
            "large learning rate. Scale the inputs and lower the learning rate.", details)]
    if loss > 1e-3 and len(grads) > 1 and grads.min() < 1e-4 * grads.max():
        lo, hi = rows[int(grads.argmin())], rows[int(grads.argmax())]
        return [Finding("vanishing_gradients", "warning",
            f"Vanishing gradients: layer '{lo['layer']}' gets gradient norm "
            f"{lo['grad_norm']:.2g} while layer '{hi['layer']}' gets {hi['grad_norm']:.2g} "
            f"(by layer: {table}), so the early layers barely learn. Use ReLU-family "
            "activations with he_normal initialization instead of sigmoid/tanh in deep "
            "stacks, add BatchNormalization, or use fewer layers or skip connections.",
            details)]
    return []


def dead_relus(model, x, n=_PROBE):
    """Fraction of ReLU units that output 0 for every one of `n` samples (one forward pass).

    Returns `(overall_fraction, {layer_name: fraction})`, or `(None, {})` without ReLUs.
    """
    captured, patched = [], []
    for layer in model._flatten_layers():
        activation = getattr(layer, "activation", None)
        if callable(activation) and getattr(activation, "__name__", "") == "relu":
            def spy(t, _fn=activation, _name=layer.name):
                out = _fn(t)
                captured.append((_name, out))
                return out
            patched.append((layer, activation))
            layer.activation = spy          # an instance attribute, put back below
    try:
        if patched:
            model(jax.tree_util.tree_map(lambda a: a[:n], x), training=False)
    finally:
        for layer, activation in patched:
            layer.activation = activation
    per_layer, dead, total = {}, 0, 0
    for name, out in captured:
        out = np.asarray(out)
        alive = out.reshape(-1, out.shape[-1]).max(axis=0) > 0
        per_layer[name] = float(1 - alive.mean())
        dead, total = dead + int((~alive).sum()), total + alive.size
    return (dead / total if total else None), per_layer


# -- during and after fit ---------------------------------------------------------------------
def _accuracy(logs):
    for key, value in logs.items():
        if not key.startswith("val_") and (key == "acc" or key.endswith("accuracy")):
            return value
    return None


def trivial_loss(trainer, ys):
    """The loss of a model that ignores its input (predicts the class shares, the mean or
    the median of y), for a single output with a common loss; else None."""
    if len(trainer.loss.fns) != 1 or not isinstance(ys[0], np.ndarray) or not ys[0].size:
        return None
    name, y = _loss_kind(trainer.loss.fns[0])[0], _even_sample(ys[0])
    shape = trainer.y_pred_shapes[0]
    labels = _class_labels(name, y, shape[-1] if shape else 1)
    y = y.astype(np.float64)
    if labels is not None:
        p = np.bincount(labels) / len(labels)
        return float(-(p[p > 0] * np.log(p[p > 0])).sum())
    if name == "mean_squared_error":
        return float(y.var(axis=0).mean())
    if name == "mean_absolute_error":
        return float(np.abs(y - np.median(y, axis=0)).mean())
    return None


def stall_findings(history, first_epoch=0, stopped_early=False, reference=None):
    """Overfitting and underfitting, from per-epoch logs (a list of dicts).

    `first_epoch` numbers the epochs in messages; after a callback stopped the run
    (`stopped_early`, e.g. EarlyStopping), overfitting is not reported. A final loss below
    half of `reference` (a trivial model's loss) is not underfitting.
    """
    losses = [h.get("loss") for h in history]
    if len(losses) < 3 or not all(v is not None and np.isfinite(v) for v in losses):
        return []
    found = []
    val = [h.get("val_loss") for h in history]
    if all(v is not None and np.isfinite(v) for v in val):
        best = int(np.argmin(val))
        after = np.diff(val[best:])
        rises, stop = int((after > 0).sum()), first_epoch + best + 1
        if not stopped_early and rises >= 3 and \
                val[-1] > val[best] + 0.05 * abs(val[best]) and losses[-1] < losses[best]:
            found.append(Finding("overfitting", "warning",
                f"Overfitting: val_loss was lowest in epoch {stop} ({val[best]:.4g}) and rose "
                f"in {rises} of the {len(after)} epochs after it (to {val[-1]:.4g}) while the "
                f"training loss kept falling ({losses[best]:.4g} -> {losses[-1]:.4g}): the "
                f"model is memorizing the training set. Stop at epoch {stop}: pass "
                "callbacks=[keras.callbacks.EarlyStopping(monitor='val_loss', patience=3, "
                "restore_best_weights=True)], or add regularization (Dropout, L2) or more "
                "data.", {"best_epoch": stop, "val_loss": val, "loss": losses}))
    gain = (losses[0] - losses[-1]) / abs(losses[0]) if losses[0] else 0.0
    if gain < 0.05 and (reference is None or losses[-1] > 0.5 * reference):
        found.append(Finding("underfitting", "warning",
            f"Underfitting: the training loss barely improved in {len(losses)} epochs "
            f"({losses[0]:.4g} -> {losses[-1]:.4g}, {gain:.1%}). The model is not fitting "
            "even the training data: raise the learning rate (model.find_learning_rate(x, y) "
            "suggests one), train longer, use a bigger model, and check that the inputs are "
            "scaled and the labels match the inputs.",
            {"loss": losses, "improvement": gain}))
    return found


class FitDoctor:
    """The doctor for one `fit`: hooks the trainer calls at its existing sync points."""

    def __init__(self, model, trainer, x, ys, validation=None, weighted=False):
        self.model, self.trainer = model, trainer
        self.x, self.ys, self.validation, self.weighted = x, ys, validation, weighted
        self.fired = set()
        self.findings = Report()
        self.history = []             # epoch logs, as fit's History sees them
        self.baseline = None          # mean loss over the fit's first steps
        self.first_losses = []
        self.epoch = 0
        self.steps_per_epoch = 0
        self.epoch_losses = []
        self.diverged = False         # the loss exploded or became non-finite
        self.broken = False           # non-finite: the weights are gone
        self.first_epoch = None
        self.steps_done = 0
        self.reference = trivial_loss(trainer, ys)     # what ignoring the input scores
        self._has_rnn = None

    def emit(self, finding):
        if finding.code not in self.fired:
            self.fired.add(finding.code)
            self.findings.append(finding)
            warn(finding)

    def before_fit(self):
        for finding in findings_before_fit(self.model, self.trainer, self.x, self.ys,
                                           self.validation, self.weighted):
            self.emit(finding)

    def begin_epoch(self, epoch, steps_per_epoch):
        if self.first_epoch is None:
            self.first_epoch = epoch
        self.epoch, self.steps_per_epoch, self.epoch_losses = epoch, steps_per_epoch, []

    def after_chunk(self, first_step, n_valid, step_losses):
        """Per-step losses of one compiled chunk: non-finite or exploding loss."""
        losses = np.asarray(jax.device_get(step_losses), np.float64).reshape(-1)[:n_valid]
        finite = np.isfinite(losses)
        if len(self.first_losses) < 10 and finite.any():      # the fit's first 10 steps
            self.first_losses.extend(losses[finite][:10 - len(self.first_losses)].tolist())
            self.baseline = float(np.mean(self.first_losses))
        if not finite.all():
            bad = int(np.argmin(finite))
            self.epoch_losses.extend(losses[:bad].tolist())
            self._nonfinite(first_step + bad, losses[bad])
            return
        self.epoch_losses.extend(losses.tolist())
        self.steps_done += n_valid
        recent = float(losses[-10:].mean())
        if self.baseline and self.baseline > 0 and recent > 100 * self.baseline:
            self.diverged = True
            self.emit(Finding("loss_explosion", "warning",
                f"The loss exploded: it grew from {self.baseline:.4g} over the first steps to "
                f"{recent:.4g} by epoch {self.epoch + 1}, step {first_step + n_valid} "
                f"({recent / self.baseline:.0f}x): training is diverging. Fixes: "
                f"{self._fixes()}", {"epoch": self.epoch + 1, "step": first_step + n_valid,
                                      "first_loss": self.baseline, "loss": recent}))

    def _fixes(self):
        lr = _learning_rate(self.trainer.optimizer)
        scaled = "scale the inputs (flagged above)" if {"unscaled_input", "feature_scales"} & \
            self.fired else "check that the inputs are scaled"
        if self._recurrent():
            return ("clip gradients first, with the optimizer's clipnorm (e.g. "
                    "keras.optimizers.Adam(clipnorm=1.0)): gradients through a recurrent "
                    "layer multiply over the time steps and explode; then lower the learning "
                    "rate" + (f" (now {lr:g}; try {lr / 10:g})" if lr else "") +
                    f" and {scaled}.")
        return ("lower the learning rate" + (f" (now {lr:g}; try {lr / 10:g})" if lr else "") +
                f", clip gradients (optimizer clipnorm=1.0), {scaled}, and add normalization "
                "layers (BatchNormalization).")

    def _recurrent(self):
        """Whether the model has a recurrent layer (its gradients multiply over time)."""
        if self._has_rnn is None:
            self._has_rnn = any(_has_rnn(layer) for layer in self.model.layers)
        return self._has_rnn

    def _nonfinite(self, step, value):
        self.diverged = self.broken = True
        self.model.stop_training = True           # as TerminateOnNaN does
        before = f" (it had gone from {self.baseline:.4g} to {self.epoch_losses[-1]:.4g})" \
            if self.baseline is not None and self.epoch_losses else ""
        self.emit(Finding("nonfinite_loss", "error",
            f"The loss became {value} at epoch {self.epoch + 1}, step {step + 1}/"
            f"{self.steps_per_epoch}{before}; training was stopped, as TerminateOnNaN does. "
            "Weights are now NaN/inf, so the model is unusable. Usual causes: a too large "
            f"learning rate, unscaled inputs, no normalization. Fixes: {self._fixes()}",
            {"epoch": self.epoch + 1, "step": step + 1, "loss": float(value)}))

    def after_epoch(self, epoch, logs):
        """Epoch logs (validation included): a network stuck at chance; gradient norms."""
        self.history.append(dict(logs))
        if self.broken:
            return
        self._check_stuck(logs)
        # Gradient norms cost one extra compile, so they are measured only where they can
        # explain something: after the first epoch of a deep model (vanishing/exploding
        # gradients come with depth; a recurrent layer is deep in time), and after an epoch
        # whose loss did not fall or blew up.
        head, tail, noise = self._epoch_trend()
        poor = self.baseline if self.reference is None else self.reference
        # Stalled: the loss stays poor and fell by less than 5% or by less than its noise.
        stalled = head is not None and self.baseline is not None and tail > 0.5 * poor \
            and (tail >= self.baseline or head - tail < max(0.05 * head, 2 * noise))
        # Gradient norms are measured once per compiled model for depth or a stall, not in
        # every fit() call: loops of fit(epochs=1) would otherwise pay an extra forward and
        # backward pass (and its compile) each time. A diverging run is always measured.
        probed = getattr(self.trainer, "_gradients_probed", False)
        deep = epoch == self.first_epoch and not probed and (
            sum(1 for layer in self.model.layers if layer.trainable_weights) >= _DEEP
            or self._recurrent())
        if (self.diverged or ((stalled or deep) and not probed)) and \
                not {"exploding_gradients", "vanishing_gradients"} & self.fired:
            if not self.diverged:
                self.trainer._gradients_probed = True
            loss, rows = gradient_norms(self.trainer, self.x, self.ys)
            for finding in gradient_findings(loss, rows):
                self.emit(finding)

    def _epoch_trend(self):
        """(first, last, standard error of last - first): the epoch's loss at its first and
        last step on a least-squares line through its per-step losses, which batch-to-batch
        noise moves far less than a few steps' means; Nones before _MIN_STALL_STEPS steps."""
        losses = np.asarray([v for v in self.epoch_losses if np.isfinite(v)], np.float64)
        if len(losses) < _MIN_STALL_STEPS:
            return None, None, None
        steps = np.arange(len(losses), dtype=np.float64)
        slope, start = np.polyfit(steps, losses, 1)
        residual = losses - (start + slope * steps)
        spread = np.sqrt(np.sum((steps - steps.mean()) ** 2))
        se_slope = np.sqrt(np.sum(residual ** 2) / (len(losses) - 2)) / spread
        return float(start), float(start + slope * steps[-1]), float(se_slope * steps[-1])

    def _epoch_head_tail(self):
        """Mean loss of the first and of the last tenth of this epoch's steps."""
        losses = self.epoch_losses
        if not losses:
            return None, None
        k = max(1, len(losses) // 10)
        return float(np.mean(losses[:k])), float(np.mean(losses[-k:]))

    def _check_stuck(self, logs):
        if (_SETUP | {"not_learning"}) & self.fired or self.steps_done < _MIN_STEPS:
            return                               # known cause, already said, or too early
        if len(self.trainer.loss.fns) != 1 or self.trainer.loss.fns[0] is None:
            return
        loss = logs.get("loss")
        name = _loss_kind(self.trainer.loss.fns[0])[0]
        units = self.trainer.y_pred_shapes[0][-1] if self.trainer.y_pred_shapes[0] else 1
        labels = _class_labels(name, self.ys[0], units)
        if labels is None or loss is None or not np.isfinite(loss):
            return
        n_classes = max(units, 2)
        uniform = math.log(n_classes)
        chance = float(np.bincount(labels).max() / len(labels))
        accuracy = _accuracy(logs)
        # Stuck: the loss no better than a uniform guess, and accuracy within sampling noise
        # (3 sigma, at least 2 points) of the majority class's share; without an accuracy
        # metric, the loss still no better than uniform at the end of the epoch.
        noise = max(0.02, 3 * math.sqrt(chance * (1 - chance) / len(labels)))
        tail = self._epoch_head_tail()[1]
        if accuracy is not None:
            stuck = loss >= 0.95 * uniform and accuracy <= chance + noise
        else:
            stuck = loss >= 0.98 * uniform and (tail is None or tail >= 0.98 * uniform)
        # A loss that starts high and falls within the epoch gives a poor epoch mean while the
        # network learns: the fitted within-epoch trend must be flat (or rising) too, and
        # validation accuracy, when there is one, must sit at chance as well.
        head, end, trend_noise = self._epoch_trend()
        falling = head is not None and head - end > max(0.05 * head, 2 * trend_noise)
        val_accuracy = _accuracy({k[4:]: v for k, v in logs.items() if k.startswith("val_")})
        val_learning = val_accuracy is not None and val_accuracy > chance + noise
        if not stuck or falling or val_learning:
            return
        dead, per_layer = dead_relus(self.model, self.x)
        dead_text = "" if dead is None else (
            f" Dead ReLU units (output 0 for all of {min(_PROBE, len(labels))} probe samples): "
            f"{dead:.0%} (" + ", ".join(f"{k}: {v:.0%}" for k, v in per_layer.items()) + ").")
        seen = f" and accuracy at chance ({accuracy:.3f}; always guessing the most common " \
            f"class scores {chance:.3f})" if accuracy is not None else ""
        saturated = " A loss far above ln(classes) means confidently wrong outputs: they " \
            "are saturated." if loss > 2 * uniform else ""
        moved = (f"the loss went from {head:.4g} to {end:.4g} during it (fitted trend) and "
                 f"averaged {loss:.4g}" if head is not None else f"the loss averaged {loss:.4g}")
        self.emit(Finding("not_learning", "warning",
            f"The network is not learning: in epoch {self.epoch + 1} {moved} (a uniform "
            f"guess over {n_classes} classes scores ln({n_classes}) = "
            f"{uniform:.3f}){seen}.{saturated}{dead_text} This often follows a "
            "blow-up in the first steps (unscaled inputs or a too large learning rate "
            "saturate the outputs or kill the ReLUs), or labels that do not match the "
            "inputs. Scale the inputs, lower the learning rate, and check that x and y were "
            "shuffled together.",
            {"epoch": self.epoch + 1, "loss": loss, "accuracy": accuracy, "chance": chance,
             "dead_relu_fraction": dead, "dead_relu_by_layer": per_layer}))

    def after_fit(self):
        if self.diverged or "not_learning" in self.fired or _SETUP & self.fired:
            return
        for finding in stall_findings(
                self.history, self.first_epoch or 0, self.model.stop_training,
                self.baseline if self.reference is None else self.reference):
            self.emit(finding)


def start(model, trainer, x, ys, validation, weighted, doctor, texts=()):
    """The FitDoctor for this fit, or None when `doctor` (or the global switch) says off.
    `texts`: `(TextVectorization, raw strings)` pairs of a model that starts with text
    layers (training/host.py); their findings come first, as they see the strings."""
    if doctor is False or (doctor is None and not is_enabled()):
        return None
    doc = FitDoctor(model, trainer, x, ys, validation, weighted)
    for vectorizer, raw in texts:
        for finding in text_findings(vectorizer, raw):
            doc.emit(finding)
    doc.before_fit()
    return doc


# -- learning-rate range test -----------------------------------------------------------------
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
