"""gazelle: a Keras-compatible deep-learning library that computes on JAX/XLA.

`import gazelle as keras` and tf.keras course code runs unchanged. Subpackages load on
first use, so `import gazelle` stays fast.
"""
import importlib

__version__ = "0.1.0"

_SUBMODULES = {
    "activations", "applications", "backend", "callbacks", "config", "constraints", "datasets", "initializers",
    "layers", "preprocessing", "dtype_policies", "mixed_precision",
    "losses", "metrics", "models", "ops", "optimizers", "random", "regularizers", "saving",
    "utils", "wrappers", "testing", "doctor", "distribution", "tree",
}
_ATTRS = {
    "Sequential": "gazelle.models",
    "Model": "gazelle.models",
    "Input": "gazelle.layers",
    "InputSpec": "gazelle.layers.input_spec",
    "Layer": "gazelle.layers",
    "Variable": "gazelle.core.variables",
    "DTypePolicy": "gazelle.dtype_policies",
    "FloatDTypePolicy": "gazelle.dtype_policies",
    "Initializer": "gazelle.initializers",
    "KerasTensor": "gazelle.core.symbolic",
    "Loss": "gazelle.losses",
    "Metric": "gazelle.metrics",
    "name_scope": "gazelle.core.name_scope",
    "Optimizer": "gazelle.optimizers",
    "Regularizer": "gazelle.regularizers",
    "StatelessScope": "gazelle.backend",
    "device": "gazelle.backend",
    "version": "gazelle._version",
}

__all__ = sorted(_SUBMODULES | set(_ATTRS) | {"__version__"})


def _compilation_cache():
    """XLA's compiled programs go to a disk cache (JAX's persistent compilation cache), so a
    script run again skips most of its compiling. GAZELLE_COMPILATION_CACHE=0 turns it off,
    =PATH moves it (default ~/.cache/gazelle/xla); a cache the user configured for JAX wins.
    Set through JAX's environment variables, so `import gazelle` does not import jax."""
    import os
    import sys
    setting = os.environ.get("GAZELLE_COMPILATION_CACHE", "")
    if setting.lower() in ("0", "off", "false", "no") or \
            os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return
    path = setting or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "gazelle", "xla")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return                      # read-only home: run without the cache
    import importlib.util
    options = {"jax_compilation_cache_dir": path,
               "jax_persistent_cache_min_compile_time_secs": 0.2}
    if importlib.util.find_spec("filelock") is not None:   # JAX needs it to evict entries
        options["jax_compilation_cache_max_size"] = 1 << 30
    jax = sys.modules.get("jax")
    for name, value in options.items():
        if name.upper() in os.environ:
            continue                # the user's own JAX setting
        if jax is None:
            os.environ[name.upper()] = str(value)
        elif name != "jax_compilation_cache_dir" or not jax.config.jax_compilation_cache_dir:
            jax.config.update(name, value)


_compilation_cache()


def __getattr__(name):
    if name in _SUBMODULES:
        module = importlib.import_module(f"gazelle.{name}")
        globals()[name] = module
        return module
    if name in _ATTRS:
        value = getattr(importlib.import_module(_ATTRS[name]),
                        "device_scope" if name == "device" else name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gazelle' has no attribute {name!r}")


def __dir__():
    return __all__
