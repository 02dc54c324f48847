"""The doctor's interface to the engine: the only part of `gazelle.doctor` that training/
imports (and models/, for `Model.find_learning_rate`). [doctor hooks: stdlib at load; each
hook imports the module that does the work when called, so no import cycle can form]

The trainer calls, for each `fit`:

- `check_labels(trainer, x, ys)` on the data (and on validation data), always: label/loss
  mismatches raise ValueError with or without the doctor;
- `start(...)`, which returns `None` (the doctor is off) or a `FitHooks` object whose
  methods it calls at the points where it already syncs with the device.

The engine knows nothing else of the doctor; the doctor reads what it needs of the trainer
(its compiled steps, state layout, loss and optimizer) as attributes.
"""
from typing import Protocol


class FitHooks(Protocol):
    """What the trainer calls on the doctor of one `fit` (see `dynamics.FitDoctor`)."""

    def begin_epoch(self, epoch, steps_per_epoch):
        """Before the first chunk of an epoch."""

    def after_chunk(self, first_step, n_valid, step_losses):
        """After a compiled chunk, with its per-step losses (the first `n_valid` count)."""

    def after_epoch(self, epoch, logs):
        """After an epoch, with its logs (validation included)."""

    def after_fit(self):
        """Once, when training ends."""

    def emit(self, finding):
        """Reports a `Finding` (once per code) as a `DoctorWarning`."""


def check_labels(trainer, x, ys):
    """Raises ValueError for label/loss mismatches a compiled gather would silently clamp,
    and for targets whose shape the loss cannot compare with the output's."""
    from gazelle.doctor import labels
    labels.check_labels(trainer, x, ys)


def start(model, trainer, x, ys, validation, weighted, doctor, texts=(), batch_size=None):
    """The doctor for this fit (a `FitHooks`), after its before-fit findings, or None when
    `doctor` (or the global switch, with `doctor=None`) says off.

    `validation`: `(x_val, y_val targets)` or None; `weighted`: class or sample weights were
    given; `texts`: `(TextVectorization, raw strings)` pairs of a model that starts with
    text layers (their findings come first, as they see the strings); `batch_size`: the
    fit's, which bounds the doctor's gradient and activation probes (memory).
    """
    from gazelle.doctor import dynamics
    return dynamics.start(model, trainer, x, ys, validation, weighted, doctor, texts,
                          batch_size)


def find_learning_rate(trainer, x, y, batch_size=32, start_lr=1e-7, end_lr=10.0,
                       num_steps=200, stop_factor=4.0, seed=None):
    """The learning-rate range test on a copy of the state (see `Model.find_learning_rate`);
    returns an `LRFinderResult`."""
    from gazelle.doctor import lr_finder
    return lr_finder.find_learning_rate(trainer, x, y, batch_size=batch_size,
                                        start_lr=start_lr, end_lr=end_lr,
                                        num_steps=num_steps, stop_factor=stop_factor,
                                        seed=seed)
