"""Models: Model (compile/fit/evaluate/predict), Sequential, clone_model."""
from gazelle.models.cloning import clone_model as clone_model
from gazelle.models.functional import Functional as Functional
from gazelle.models.model import Model as Model
from gazelle.models.sequential import Sequential as Sequential
from gazelle.saving.saving_api import load_model as load_model
from gazelle.saving.saving_api import model_from_config as model_from_config
from gazelle.saving.saving_api import model_from_json as model_from_json
from gazelle.saving.saving_api import save_model as save_model

# Sequential, Functional and Model are built-in names for configs (core/registry.py).
import sys as _sys  # noqa: E402

from gazelle.core import registry as _registry  # noqa: E402
from gazelle.layers.layer import Layer as _Layer  # noqa: E402

_registry.register_builtin_module(_sys.modules[__name__], _Layer)
