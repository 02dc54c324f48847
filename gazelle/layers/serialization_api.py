"""`keras.layers.serialize` / `keras.layers.deserialize`. [L2]

A layer's config as a dict (Keras 3's `{"module", "class_name", "config", ...}` form), and
back. Names resolve through gazelle's tables only, never by importing what a config names.
"""
from gazelle.core.serialization import deserialize_keras_object, serialize_keras_object
from gazelle.layers.layer import Layer


def serialize(layer):
    """Returns a layer's configuration as a Python dict.

    Args:
        layer: a `keras.layers.Layer` instance.

    ```python
    config = keras.layers.serialize(keras.layers.Dense(3))
    layer = keras.layers.deserialize(config)
    ```
    """
    if not isinstance(layer, Layer):
        raise TypeError(f"keras.layers.serialize: expected a keras.layers.Layer, received "
                        f"{type(layer).__name__}.")
    return serialize_keras_object(layer)


def deserialize(config, custom_objects=None):
    """Builds a layer from its configuration (what `keras.layers.serialize` returns).

    Args:
        config: a dict with `"class_name"` and `"config"`.
        custom_objects: optional dict mapping names to custom classes or functions the
            config uses.

    Returns:
        A new `keras.layers.Layer`.
    """
    layer = deserialize_keras_object(config, custom_objects=custom_objects, kind="layer")
    if not isinstance(layer, Layer):
        raise ValueError("keras.layers.deserialize: the config does not describe a "
                         f"keras.layers.Layer; it built a {type(layer).__name__} from {config!r}.")
    return layer
