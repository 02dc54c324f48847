"""Host-side checks that explain bad input and failing training. [L4: numpy, stdlib]

They run before the first compile (cheap numpy over the data, or a sample of it) or on
the logs the trainer already fetched at chunk boundaries, so they cost nothing per step.
Errors are ValueErrors that say what was seen, why it breaks training and what to do;
softer findings are `DoctorWarning`s, which users can filter.
"""
import warnings

import jax
import numpy as np

from gazelle.training.compile_utils import loss_name

_SPARSE = {"sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"}
_CATEGORICAL = {"categorical_crossentropy", "CategoricalCrossentropy"}
_SAMPLE = 2048


class DoctorWarning(UserWarning):
    """A finding of gazelle's training doctor (filter with `warnings.filterwarnings`)."""


def check_labels(trainer, x, ys):
    """Label/loss mismatches that a compiled gather would silently clamp, per output."""
    for spec, y, shape in zip(trainer.loss.specs, ys, trainer.y_pred_shapes):
        if spec is not None and isinstance(y, np.ndarray):
            _check_output_labels(spec, y, shape)


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


def check_input_scale(x, optimizer_name=None):
    """Warns once when inputs look like raw pixels or unscaled features."""
    for leaf in jax.tree_util.tree_leaves(x):
        if not isinstance(leaf, np.ndarray) or leaf.dtype.kind not in "uif" or leaf.size == 0:
            continue
        sample = leaf[:_SAMPLE].reshape(min(len(leaf), _SAMPLE), -1).astype(np.float32)
        # Per-feature spread, not the max: standardized data has outliers of 5-10 std.
        spread = float(sample.std(axis=0).max()) if len(sample) > 1 else 0.0
        peak = float(np.abs(sample).max())
        if spread > 10.0:
            kind = "image-like pixels" if leaf.dtype == np.uint8 or (
                leaf.ndim >= 3 and peak <= 255.0) else "features"
            warnings.warn(
                f"Inputs look unscaled: {kind} of shape {leaf.shape} range up to {peak:g} "
                f"(dtype {leaf.dtype}, largest per-feature std {spread:.3g}). Large inputs "
                f"make gradients huge, so training with {optimizer_name or 'SGD'} can diverge (loss explodes, accuracy stays near "
                "chance). Scale them first: x / 255.0 for pixels, or standardize features "
                "(x - mean) / std, e.g. with sklearn's StandardScaler.",
                DoctorWarning, stacklevel=5)   # points at the user's fit() call
            return True
    return False


def check_before_fit(model, trainer, x, y, validation):
    check_labels(trainer, x, y)
    if validation is not None:
        check_labels(trainer, validation[0], validation[1])
    check_input_scale(x, type(trainer.optimizer).__name__)


def check_during_fit(model, epoch, logs):
    loss = logs.get("loss")
    if loss is not None and not np.isfinite(loss):
        warnings.warn(
            f"The loss became {loss} in epoch {epoch + 1}. Training has diverged: lower the "
            "learning rate, scale the inputs (x / 255.0 or standardization), or add "
            "normalization layers.", DoctorWarning, stacklevel=4)
