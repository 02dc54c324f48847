"""Sequential: a plain stack of layers. [L3]"""
import weakref

from gazelle.core import symbolic
from gazelle.layers.core import InputLayer
from gazelle.core.host import applied_on_host as _applied_on_host
from gazelle.layers.layer import Layer, _call_has_mask_arg, structure_changed
from gazelle.models.model import Model


class Sequential(Model):
    """A linear stack of layers, each with one input and one output.

    Args:
        layers: optional list of layers (or a `keras.Input(...)` first) to add.
        name: model name (default `"sequential"`, `"sequential_1"`, ...).

    The model is built as soon as the input shape is known: from `input_shape=` on the
    first layer, from a leading `Input`, or at the first call on data.

    ```python
    model = keras.models.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        keras.layers.Dense(300, activation="relu"),
        keras.layers.Dense(10, activation="softmax")])
    ```
    """

    def __init__(self, layers=None, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._stack = []
        self._input_layer = None
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self):
        """The model's layers, without the InputLayer (as tf.keras lists them)."""
        return list(self._stack)

    def add(self, layer):
        """Adds a layer on top of the stack (or a `keras.Input` as the model's input)."""
        if symbolic.is_symbolic(layer) and isinstance(getattr(layer.node, "layer", None),
                                                      InputLayer):
            layer = layer.node.layer
        if not isinstance(layer, Layer):
            raise TypeError(
                "The added layer must be an instance of class Layer. "
                f"Received: layer={layer!r} of type {type(layer).__name__}.")
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise ValueError(
                    f"Sequential model '{self.name}': an InputLayer can only be the first "
                    "layer.")
            self._input_layer = layer
            self.build(layer._batch_input_shape)
            return
        # Sets of ids and names (kept by add/pop) make each add O(1): a config with 64,000
        # layers loads in linear time.
        ids, names = self.__dict__.setdefault("_stack_keys", (set(), {}))
        if id(layer) in ids:
            raise ValueError(f"Layer '{layer.name}' is already in Sequential model '{self.name}'.")
        if layer.name in names:
            raise ValueError(
                f"All layers added to a Sequential model should have unique names. Name "
                f"'{layer.name}' is already the name of a layer in this model.")
        self._stack.append(layer)
        ids.add(id(layer))
        names[layer.name] = names.get(layer.name, 0) + 1
        structure_changed()
        if self.built:
            self._build_layer(layer, self._stack[-2].output_shape if len(self._stack) > 1
                              else self._batch_input)
        elif len(self._stack) == 1 and layer._batch_input_shape is not None:
            self.build(layer._batch_input_shape)

    def pop(self):
        """Removes the last layer and returns it."""
        if not self._stack:
            raise TypeError("There are no layers in the model.")
        layer = self._stack.pop()
        ids, names = self.__dict__.setdefault("_stack_keys", (set(), {}))
        ids.discard(id(layer))
        if names.get(layer.name, 0) > 1:
            names[layer.name] -= 1
        else:
            names.pop(layer.name, None)
        structure_changed()
        if not self._stack and self._input_layer is None:
            self.built = False
        return layer

    def build(self, input_shape=None):
        """Builds every layer for inputs of `input_shape` (batch dimension included)."""
        if input_shape is None:
            if self._input_layer is not None:
                input_shape = self._input_layer._batch_input_shape
            elif self._stack and self._stack[0]._batch_input_shape is not None:
                input_shape = self._stack[0]._batch_input_shape
            else:
                raise ValueError(
                    f"Sequential model '{self.name}' cannot be built: pass `input_shape` to "
                    "build(), start with keras.Input(shape=...), or give the first layer "
                    "`input_shape=`.")
        input_shape = tuple(input_shape)
        self._batch_input = input_shape
        if self._input_layer is None:
            self._input_layer = InputLayer(
                batch_shape=input_shape,
                name=f"{self._stack[0].name}_input" if self._stack else None)
        shape = input_shape
        for layer in self._stack:
            shape = self._build_layer(layer, shape)
        self._build_shapes = [input_shape]
        self.built = True

    def _build_layer(self, layer, shape):
        if layer.__dict__.get("_sequential_owner") is None:
            # `layer.output` asks its first Sequential for the symbolic graph (Layer.output).
            layer.__dict__["_sequential_owner"] = weakref.ref(self)
        layer._maybe_build([tuple(shape)])
        out = layer.compute_output_shape(tuple(shape))
        layer._output_shape = out
        return out

    # -- the symbolic graph (built on first use) -------------------------------------------
    def _symbolic_graph(self):
        """`(input, output)` symbolic tensors of this built model, made once by calling its
        layers on its `keras.Input` (as Keras 3 does when a Sequential is built), so that
        `model.input`, `model.output` and each layer's `output` exist."""
        if not self.built:
            raise AttributeError(
                f"Sequential model '{self.name}' has no input or output yet: it is not built. "
                "Start it with keras.Input(shape=...), give the first layer `input_shape=`, "
                "or call build(input_shape) first.")
        key = tuple(id(layer) for layer in self._stack)
        graph = self.__dict__.get("_graph")
        if graph is None or graph[0] != key:
            inputs = self._input_layer.output
            x = inputs
            for layer in self._stack:
                x = layer(x)
            graph = (key, inputs, x)
            self.__dict__["_graph"] = graph
        return graph[1], graph[2]

    @property
    def input(self):
        return self._symbolic_graph()[0]

    @property
    def output(self):
        return self._symbolic_graph()[1]

    @property
    def inputs(self):
        return [self._symbolic_graph()[0]]

    @property
    def outputs(self):
        return [self._symbolic_graph()[1]]

    def _check_input(self, inputs):
        if self._stack and _applied_on_host(self._stack[0]):
            return                      # host layers made these inputs (training/host.py)
        expected = self._input_layer._batch_input_shape if self._input_layer else None
        shape = tuple(getattr(inputs, "shape", ()))
        if expected is None or not shape:
            return
        if len(shape) != len(expected) or any(
                e is not None and e != d for e, d in zip(expected[1:], shape[1:])):
            first = self._stack[0].name if self._stack else self._input_layer.name
            hint = ""
            if len(shape) == len(expected) - 1 and tuple(shape) == tuple(
                    d for d in expected[1:]):
                hint = (" It looks like one sample without its batch axis: use `x[None]` or "
                        "`np.expand_dims(x, 0)` (and `x[:1]` rather than `x[0]`).")
            raise ValueError(
                f"Input 0 of layer '{first}' is incompatible with model '{self.name}': "
                f"expected shape={expected}, found shape={shape}.{hint}")

    def call(self, inputs, training=None, mask=None):
        x = inputs
        for layer in self._stack:
            # A mask given to the model goes to the first layer; after that masks travel
            # attached to each layer's outputs (Layer.__call__, compute_mask).
            if mask is not None and _call_has_mask_arg(layer):
                x = layer(x, training=training, mask=mask)
            else:
                x = layer(x, training=training)
            mask = None
        return x

    def _maybe_build(self, input_shapes):
        if not self.built:
            shape = tuple(input_shapes[0])
            self.build((None,) + shape[1:])

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._stack:
            shape = layer.compute_output_shape(shape)
        return shape

    @property
    def output_shape(self):
        if not self._stack:
            return self._batch_input
        return self._stack[-1].output_shape

    def get_config(self):
        from gazelle.saving.model_config import serialize_layer
        return serialize_layer(self)["config"]

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from gazelle.saving.model_config import sequential_from_config
        return sequential_from_config(cls, config, custom_objects)
