"""`keras.doctor`: why did training fail? [doctor: gazelle.training, never models/ or layers/]

During `fit`, the doctor reports what it finds once each as a `DoctorWarning` (a Python
warning: filter it with `warnings.filterwarnings`); its checks run on the host, before the
first compile and at the points where the trainer already syncs, so a training step costs
the same with or without it. This module switches it on and off and runs the same checks
on request:

```python
keras.doctor.disable()                    # or model.fit(..., doctor=False)
report = keras.doctor.diagnose(model, x_train, y_train, history=history)
print(report)
```

The package holds one module per family of findings: `findings` (`Finding`, `Report`,
`DoctorWarning`, the on/off switch), `anatomy` (what the model and loss are, read
duck-typed), `labels`, `inputs` and `sequences` (before fit), `probes` (gradient norms and
dead ReLUs, measured only when a finding needs them), `dynamics` (`FitDoctor`, during fit),
`after_fit` (over- and underfitting) and `lr_finder`. The engine calls only `hooks`.
"""
from gazelle.doctor import after_fit, findings, inputs, labels, probes
from gazelle.doctor.findings import DoctorWarning, Finding, Report
from gazelle.doctor.lr_finder import LRFinderResult
from gazelle.training import data as data_mod

__all__ = ["DoctorWarning", "Finding", "LRFinderResult", "Report", "diagnose", "disable",
           "enable", "is_enabled"]


def enable():
    """Turns the training doctor on for every later `fit` (the default)."""
    findings.set_enabled(True)


def disable():
    """Turns the training doctor off for every later `fit` (unless `fit(doctor=True)`)."""
    findings.set_enabled(False)


def is_enabled():
    """Returns whether `fit` runs the doctor by default."""
    return findings.is_enabled()


def diagnose(model, x, y, validation_data=None, class_weight=None, sample_weight=None,
             history=None):
    """Runs the doctor's checks now and returns what it found, without warnings.

    Checks the data and the model's output/loss setup (as before `fit`), measures each
    layer's gradient norm and the share of dead ReLU units on a small batch, and, given a
    history, looks for over- and underfitting.

    Args:
        model: a compiled model.
        x, y: training data and targets (numpy arrays, or lists/dicts of them).
        validation_data: optional `(x_val, y_val)`, compared with the training labels.
        class_weight, sample_weight: as in `fit` (weighted data is not called imbalanced).
        history: a `History` (what `fit` returns) or its `.history` dict; defaults to
            `model.history` when that has epochs.

    Returns:
        A `Report`: a list of `Finding(code, severity, message, details)` that prints as
        a readable summary.
    """
    trainer = getattr(model, "_trainer", None)
    if trainer is None:
        raise ValueError("diagnose(): `model` must be compiled (model.compile(loss=..., "
                         f"optimizer=...)) so that the loss is known; received {model!r}.")
    report = Report()
    try:
        (x, y, _), _ = data_mod.standardize(x, y, sample_weight, what="diagnose")
        val = None
        if validation_data is not None:
            vx, vy, _ = data_mod.unpack_validation_data(validation_data)
            (vx, vy, _), _ = data_mod.standardize(vx, vy, None, what="diagnose")
        trainer._ensure_ready(x, y)
        ys = trainer.targets(y)
        labels.check_labels(trainer, x, ys)
        if validation_data is not None:
            val = (vx, trainer.targets(vy))
            labels.check_labels(trainer, vx, val[1])
    except ValueError as error:
        report.append(Finding("invalid_data", "error", str(error)))
        return report
    report.extend(inputs.findings_before_fit(
        model, trainer, x, ys, val, bool(class_weight) or sample_weight is not None))
    loss, rows = probes.gradient_norms(trainer, x, ys)
    report.extend(probes.gradient_findings(loss, rows))
    dead, per_layer = probes.dead_relus(model, x)
    if dead is not None and dead >= 0.5:
        report.append(Finding("dead_relus", "warning",
            f"{dead:.0%} of the ReLU units are dead: they output 0 for every sample of a "
            "batch, so they pass no gradient and never recover ("
            + ", ".join(f"{k}: {v:.0%}" for k, v in per_layer.items()) + "). This follows "
            "large updates (learning rate too high, unscaled inputs). Lower the learning "
            "rate, scale the inputs, or use LeakyReLU/ELU.",
            {"dead_relu_fraction": dead, "dead_relu_by_layer": per_layer}))
    epochs = _epoch_logs(model.history if history is None else history)
    report.extend(after_fit.stall_findings(
        epochs, reference=after_fit.trivial_loss(trainer, ys)))
    return report


def _epoch_logs(history):
    """A History, or its dict of lists, as one dict of logs per epoch."""
    logs = getattr(history, "history", history)
    if not logs:
        return []
    if not isinstance(logs, dict):
        raise TypeError("diagnose(): `history` must be a History or a dict of per-epoch "
                        f"lists; received {type(history).__name__}.")
    n = min(len(v) for v in logs.values())
    return [{k: float(v[i]) for k, v in logs.items()} for i in range(n)]
