"""The name tables now live in `gazelle.core.registry` (layers use them without importing
saving/); this module keeps the old import path. [side]"""
from gazelle.core.registry import *  # noqa: F401,F403
from gazelle.core.registry import (  # noqa: F401
    _GLOBAL_CUSTOM_NAMES, _GLOBAL_CUSTOM_OBJECTS, _SCOPE, all_custom_objects, custom_lookup,
    register_builtin_module)
from gazelle.core.registry import builtin_layers as _core_builtin_layers


def builtin_layers():
    """Built-in layer and model classes by class name (loads gazelle.models if needed)."""
    from gazelle import layers, models  # noqa: F401 - lazily: they register themselves
    return _core_builtin_layers()
