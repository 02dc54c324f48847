"""The doctor's after-fit family: overfitting and underfitting from the per-epoch logs,
judged against the loss of a model that ignores its input. [doctor: numpy]
"""
import numpy as np

from gazelle.doctor.anatomy import _class_labels, _even_sample, _loss_kind
from gazelle.doctor.findings import Finding


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
