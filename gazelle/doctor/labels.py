"""The doctor's label family: label/loss mismatches that a compiled gather would silently
clamp (ValueErrors, with or without the doctor), class imbalance and a shifted validation
set (findings). [doctor: jax, numpy, gazelle.training]
"""
import jax
import numpy as np

from gazelle.doctor.anatomy import (_BINARY_NAMES, _CATEGORICAL, _REGRESSION, _SAMPLE, _SPARSE,
                                    _class_labels, _loss_kind)
from gazelle.doctor.findings import Finding
from gazelle.training.compile_utils import loss_name


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
