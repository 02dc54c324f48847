"""What the doctor reports: `Finding`, `Report`, `DoctorWarning`, and the on/off switch.
[doctor: stdlib only]

A finding is reported once per `fit` as a `DoctorWarning` that points at the user's own
`fit(...)` call (the first frame outside gazelle, or the CLI's call).
"""
import dataclasses
import os
import sys
import warnings


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
