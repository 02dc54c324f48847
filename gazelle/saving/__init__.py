"""Saving and serialization (Keras 3 file contracts, tf.keras 2 `.h5`). [side]

`save_model`/`load_model` (`.keras`, `.h5`), `save_weights`/`load_weights`, JSON configs,
and the registry of names that configs may use. Nothing named in a file is imported,
evaluated or unpickled: names resolve through tables only.
"""
from gazelle.saving.exported import load_exported as load_exported
from gazelle.saving.registry import CustomObjectScope as CustomObjectScope
from gazelle.saving.registry import custom_object_scope as custom_object_scope
from gazelle.saving.registry import get_custom_objects as get_custom_objects
from gazelle.saving.registry import get_registered_name as get_registered_name
from gazelle.saving.registry import get_registered_object as get_registered_object
from gazelle.saving.registry import register_keras_serializable as register_keras_serializable
from gazelle.saving.saving_api import load_model as load_model
from gazelle.saving.saving_api import load_weights as load_weights
from gazelle.saving.saving_api import model_from_config as model_from_config
from gazelle.saving.saving_api import model_from_json as model_from_json
from gazelle.saving.saving_api import model_to_json as model_to_json
from gazelle.saving.saving_api import save_model as save_model
from gazelle.saving.saving_api import save_weights as save_weights
from gazelle.saving.serialization import deserialize_keras_object as deserialize_keras_object
from gazelle.saving.serialization import serialize_keras_object as serialize_keras_object

__all__ = [
    "CustomObjectScope", "custom_object_scope", "deserialize_keras_object",
    "get_custom_objects", "get_registered_name", "get_registered_object", "load_exported",
    "load_model",
    "load_weights", "model_from_config", "model_from_json", "model_to_json",
    "register_keras_serializable", "save_model", "save_weights", "serialize_keras_object",
]
