"""gazelle: a Keras-compatible deep-learning library that computes on JAX/XLA.

`import gazelle as keras` and tf.keras course code runs unchanged. Subpackages load on
first use, so `import gazelle` stays fast.
"""
import importlib

__version__ = "0.1.0"

_SUBMODULES = {
    "activations", "backend", "callbacks", "config", "datasets", "initializers", "layers",
    "losses", "metrics", "models", "ops", "optimizers", "random", "regularizers", "saving",
    "utils", "wrappers", "testing", "doctor", "distribution",
}
_ATTRS = {
    "Sequential": "gazelle.models",
    "Model": "gazelle.models",
    "Input": "gazelle.layers",
    "Layer": "gazelle.layers",
    "Variable": "gazelle.core.variables",
}

__all__ = sorted(_SUBMODULES | set(_ATTRS) | {"__version__"})


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f"gazelle.{name}")
        globals()[name] = module
        return module
    if name in _ATTRS:
        value = getattr(importlib.import_module(_ATTRS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gazelle' has no attribute {name!r}")


def __dir__():
    return __all__
