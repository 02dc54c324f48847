"""The doctor during fit: `FitDoctor`, whose hooks the trainer calls at the points where it
already syncs (once per fit, chunk and epoch), so a training step costs the same with or
without it: non-finite or exploding losses, a network stuck at chance, gradient probes,
and the after-fit findings. [doctor: jax, numpy]
"""
import math

import jax
import numpy as np

from gazelle.doctor import after_fit as after_fit_mod
from gazelle.doctor import inputs, probes, sequences
from gazelle.doctor.anatomy import (_DEEP, _MIN_STALL_STEPS, _MIN_STEPS, _PROBE, _SETUP,
                                    _class_labels, _has_rnn, _learning_rate, _loss_kind)
from gazelle.doctor.findings import Finding, Report, is_enabled, warn


def _accuracy(logs):
    for key, value in logs.items():
        if not key.startswith("val_") and (key == "acc" or key.endswith("accuracy")):
            return value
    return None


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
        self.reference = after_fit_mod.trivial_loss(trainer, ys)  # ignoring the input
        self._has_rnn = None
        self.probe = _PROBE           # samples per probe (start: at most the batch size)

    def emit(self, finding):
        if finding.code not in self.fired:
            self.fired.add(finding.code)
            self.findings.append(finding)
            warn(finding)

    def before_fit(self):
        for finding in inputs.findings_before_fit(self.model, self.trainer, self.x,
                                                  self.ys, self.validation, self.weighted):
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
            loss, rows = probes.gradient_norms(self.trainer, self.x, self.ys, n=self.probe)
            for finding in probes.gradient_findings(loss, rows):
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
        val_accuracy = _accuracy({k[4:]: v for k, v in logs.items()
                                  if k.startswith("val_")})
        val_learning = val_accuracy is not None and val_accuracy > chance + noise
        if not stuck or falling or val_learning:
            return
        dead, per_layer = probes.dead_relus(self.model, self.x, n=self.probe)
        dead_text = "" if dead is None else (
            f" Dead ReLU units (output 0 for all of {min(self.probe, len(labels))} probe samples): "
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
        for finding in after_fit_mod.stall_findings(
                self.history, self.first_epoch or 0, self.model.stop_training,
                self.baseline if self.reference is None else self.reference):
            self.emit(finding)


def start(model, trainer, x, ys, validation, weighted, doctor, texts=(), batch_size=None):
    """The FitDoctor for this fit, or None when `doctor` (or the global switch) says off.
    `texts`: `(TextVectorization, raw strings)` pairs of a model that starts with text
    layers (training/host.py); their findings come first, as they see the strings."""
    if doctor is False or (doctor is None and not is_enabled()):
        return None
    doc = FitDoctor(model, trainer, x, ys, validation, weighted)
    if batch_size:      # probes no larger than the fit's batches: the steps fit in memory
        doc.probe = max(1, min(_PROBE, int(batch_size)))
    for vectorizer, raw in texts:
        for finding in sequences.text_findings(vectorizer, raw):
            doc.emit(finding)
    doc.before_fit()
    return doc
