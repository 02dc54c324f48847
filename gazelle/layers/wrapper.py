"""`keras.layers.Wrapper`: the base class of layers that wrap another layer. [L2: core]

A subclass keeps the wrapped layer as `self.layer` (tracked, so its weights are the
wrapper's) and adds behaviour around it in `call`. `get_config` stores the wrapped layer's
serialized config under `"layer"`, and `from_config` rebuilds it first.
"""
import abc

from gazelle.layers.layer import Layer


class Wrapper(Layer, metaclass=abc.ABCMeta):
    """Abstract base class of layers that wrap another layer (as Keras 3's `Wrapper`).

    Args:
        layer: the `keras.layers.Layer` instance to wrap.
        **kwargs: the base Layer arguments (`name`, `trainable`, `dtype`, ...).

    `TimeDistributed` and `Bidirectional` count as Wrappers (`isinstance` is True).

    ```python
    class Doubled(keras.layers.Wrapper):
        def call(self, x):
            return 2 * self.layer(x)

    y = Doubled(keras.layers.Dense(4))(np.ones((2, 3), "float32"))
    ```
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(
                f"Layer {layer!r} supplied to Wrapper isn't a supported layer type: expected "
                f"a keras.layers.Layer instance, received {type(layer).__name__}.")
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        """Builds the wrapped layer for `input_shape` when it is not built yet."""
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True

    def get_config(self):
        from gazelle.core.serialization import serialize_keras_object
        return {**super().get_config(), "layer": serialize_keras_object(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from gazelle.core.serialization import deserialize_keras_object
        config = dict(config)
        layer = config.pop("layer")
        if not isinstance(layer, Layer):
            layer = deserialize_keras_object(layer, custom_objects=custom_objects, kind="layer")
        return cls(layer, **config)


def _register_builtin_wrappers():
    from gazelle.layers.recurrent.wrappers import Bidirectional, TimeDistributed
    Wrapper.register(Bidirectional)
    Wrapper.register(TimeDistributed)


_register_builtin_wrappers()
