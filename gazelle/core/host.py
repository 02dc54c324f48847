"""Which host layers a trainer has already applied to the data. [L0]

Host layers (TextVectorization, StringLookup, IntegerLookup, Hashing) work on strings and
Python objects in NumPy, so they cannot run inside a compiled step. At the front of a
model, `fit`/`evaluate`/`predict` apply them to the data on the host (training/host.py);
inside the compiled step, under `host_layers_applied`, they pass their input through and
the model skips its shape check of the inputs they replaced.
"""
import contextlib
import contextvars

_APPLIED = contextvars.ContextVar("gazelle_host_layers_applied", default=frozenset())


@contextlib.contextmanager
def host_layers_applied(ids):
    """Within: the host layers (and model inputs) whose `id` is in `ids` have already been
    applied to the data on the host, so calling them passes their input through. The
    trainer sets it around the compiled steps of a model that starts with host layers."""
    token = _APPLIED.set(frozenset(ids))
    try:
        yield
    finally:
        _APPLIED.reset(token)


def applied_on_host(obj):
    """Whether `obj` (a layer or a model input) was applied on the host (see above)."""
    applied = _APPLIED.get()
    return bool(applied) and id(obj) in applied
