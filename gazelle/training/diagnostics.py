"""The training doctor's old home, kept for compatibility: it re-exports every name the
doctor's modules define (`Finding`, `DoctorWarning`, `check_labels`, `FitDoctor`,
`gradient_norms`, `find_learning_rate`, ...). The doctor now lives in `gazelle.doctor`, one
module per family of findings; the trainer calls it only through `gazelle.doctor.hooks`.
[L4 compatibility shim: gazelle.doctor]

Setting a name here (e.g. `monkeypatch.setattr(diagnostics, "gradient_norms", spy)`) sets
it in the doctor module that defines it too, so the doctor's own calls through that module
see the replacement, as they did when everything lived in this one module.
"""
import sys
import types

from gazelle.doctor import (after_fit, anatomy, dynamics, findings, inputs, labels, lr_finder,
                            probes, sequences)

# name -> the doctor module that defines it (the first to define a constant wins: shared
# ones are defined in anatomy and imported from there by the others).
_HOMES = {}
for _module in (findings, anatomy, labels, inputs, sequences, probes, after_fit, dynamics,
                lr_finder):
    for _name, _value in vars(_module).items():
        if _name.startswith("__") or isinstance(_value, types.ModuleType):
            continue
        if getattr(_value, "__module__", _module.__name__) != _module.__name__ and \
                not isinstance(_value, (int, float, str, set, frozenset, dict, tuple)):
            continue                           # imported from elsewhere (numpy, typing, ...)
        _HOMES.setdefault(_name, _module)
        globals().setdefault(_name, _value)
del _module, _name, _value


class _CompatModule(types.ModuleType):
    def __setattr__(self, name, value):
        home = _HOMES.get(name)
        if home is not None:
            setattr(home, name, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _CompatModule
