"""Saving and serialization (Keras 3 file contracts). [side]"""
from gazelle.saving.serialization import (  # noqa: F401
    deserialize_keras_object as deserialize_keras_object,
    serialize_keras_object as serialize_keras_object,
)
