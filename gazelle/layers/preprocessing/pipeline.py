"""Pipeline: a list of preprocessing layers applied in turn. [L2: saving.serialization]"""
from gazelle.layers.layer import Layer


class Pipeline(Layer):
    """Applies a list of layers one after the other, e.g. an augmentation pipeline.

    Unlike a Sequential model, a pipeline is a plain layer: it accepts dict inputs
    (`{"images": ..., "labels": ...}`) and passes `training` on to every layer.

    Args:
        layers: the list of layers to apply, in order.
        name: optional string, the layer's name.

    ```python
    augment = keras.layers.Pipeline([
        keras.layers.RandomFlip("horizontal"),
        keras.layers.RandomRotation(0.1),
    ])
    augmented = augment(images)
    ```
    """

    # Each layer of the pipeline casts its own inputs (Resizing keeps uint8, for example).
    _cast_inputs = False

    def __init__(self, layers, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        layers = list(layers) if isinstance(layers, (list, tuple)) else None
        if layers is None or not all(isinstance(layer, Layer) for layer in layers):
            raise TypeError("Pipeline: `layers` must be a list of layers. "
                            f"Received: layers={layers!r}")
        self._pipeline_layers = layers

    @property
    def layers(self):
        return self._pipeline_layers

    def call(self, inputs, training=None):
        for layer in self._pipeline_layers:
            inputs = layer(inputs, training=training)
        return inputs

    def compute_output_shape(self, input_shape):
        for layer in self._pipeline_layers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def get_config(self):
        from gazelle.core.serialization import serialize_keras_object
        return {"layers": [serialize_keras_object(layer) for layer in self._pipeline_layers],
                "name": self.name}

    @classmethod
    def from_config(cls, config):
        from gazelle.core.serialization import deserialize_keras_object
        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError("Pipeline config must have a 'layers' entry with a list of "
                             f"serialized layers. Received: layers={layers!r}")
        return cls(**{**config, "layers": [deserialize_keras_object(x) for x in layers]})
