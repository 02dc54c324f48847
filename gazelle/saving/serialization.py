"""Serialization now lives in `gazelle.core.serialization` (layers use it without
importing saving/); this module keeps the old import path. [side]"""
from gazelle.core.serialization import (  # noqa: F401
    decode_special, deserialize_keras_object, deserialize_layer, is_serialized_object,
    layer_entry, resolve_custom, resolve_custom_in, serialize_keras_object)
