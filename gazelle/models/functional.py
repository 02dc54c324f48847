"""Functional: a model defined by calling layers on `keras.Input` tensors. [L3]

Calling a layer on SymbolicTensors records a Node; `Functional` walks back from the
outputs to the inputs, keeps the nodes in topological order, and replays them on data.
"""
import jax

from gazelle.core import masks, naming, symbolic
from gazelle.layers.core import InputLayer
from gazelle.core.host import applied_on_host as _applied_on_host
from gazelle.layers.layer import Layer
from gazelle.models.model import Model


def _flatten(struct):
    return jax.tree_util.tree_leaves(struct, is_leaf=symbolic.is_symbolic)


class Functional(Model):
    """A model from inputs to outputs through a graph of layers.

    Created by `keras.Model(inputs=..., outputs=...)`:

    ```python
    inputs = keras.Input(shape=(8,))
    hidden = keras.layers.Dense(30, activation="relu")(inputs)
    concat = keras.layers.concatenate([inputs, hidden])
    model = keras.Model(inputs=[inputs], outputs=[keras.layers.Dense(1)(concat)])
    ```
    """

    _keras_entry_names = ("keras.src.models.functional", "Functional")

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        # tf.keras 2 names Functional models "model", "model_1", ...
        Layer.__init__(self, name=name or naming.uniquify("model"), trainable=trainable,
                       **kwargs)
        self._init_model_state()
        # tf.keras 2 treats one-element lists as the tensor itself (predict returns an array).
        if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
            inputs = inputs[0]
        if isinstance(outputs, (list, tuple)) and len(outputs) == 1:
            outputs = outputs[0]
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self._input_tensors = _flatten(inputs)
        self._output_tensors = _flatten(outputs)
        for t in self._input_tensors + self._output_tensors:
            if not symbolic.is_symbolic(t):
                raise TypeError(
                    "Model(inputs=..., outputs=...) expects tensors returned by keras.Input() "
                    f"and by layers called on them; received {type(t).__name__}.")
        for t in self._input_tensors:
            if not isinstance(t.node.layer, InputLayer):
                raise ValueError(
                    f"Model inputs must come from keras.Input(); {t.name!r} was produced by "
                    f"layer '{t.node.layer.name}'.")
        self._nodes = self._topological_nodes()
        layers, seen = [], set()
        for layer in [t.node.layer for t in self._input_tensors] + [n.layer for n in self._nodes]:
            if id(layer) not in seen:
                seen.add(id(layer))
                layers.append(layer)
        self._operations = layers
        from gazelle.saving.model_config import layer_order
        self._operations = layer_order(self)     # Keras's order: by depth in the graph
        self._build_shapes = [t.shape for t in self._input_tensors]
        self.built = True

    def _topological_nodes(self):
        input_ids = {id(t) for t in self._input_tensors}

        def check(node):
            if isinstance(node.layer, InputLayer):
                raise ValueError(
                    f"Graph disconnected: output depends on input '{node.layer.name}', which "
                    "is not in the model's `inputs`.")

        def children(node):
            return [t.node for t in node.input_tensors if id(t) not in input_ids]

        roots = [t.node for t in self._output_tensors if id(t) not in input_ids]
        return symbolic.postorder(roots, children, on_enter=check)

    # -- structure -------------------------------------------------------------------
    @property
    def layers(self):
        """All layers, InputLayers first, in the order the graph runs them (ops called on
        placeholders are graph nodes but not layers, as in Keras 3)."""
        return [op for op in self._operations if not getattr(op, "_is_op_node", False)]

    @property
    def inputs(self):
        return list(self._input_tensors)

    @property
    def outputs(self):
        return list(self._output_tensors)

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_names(self):
        return [t.node.layer.name for t in self._input_tensors]

    @property
    def output_names(self):
        return [t.node.layer.name for t in self._output_tensors]

    # -- running -----------------------------------------------------------------------
    def _standardize_inputs(self, inputs):
        if isinstance(inputs, dict):
            missing = [n for n in self.input_names if n not in inputs]
            if missing:
                raise ValueError(f"Model '{self.name}' expects inputs named "
                                 f"{self.input_names}; missing {missing}.")
            return [inputs[n] for n in self.input_names]
        flat = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(flat) != len(self._input_tensors):
            raise ValueError(
                f"Model '{self.name}' expects {len(self._input_tensors)} input(s), but it "
                f"received {len(flat)} input tensors.")
        return flat

    def _maybe_build(self, input_shapes):
        self.built = True

    def __call__(self, *args, **kwargs):
        if args and isinstance(args[0], (list, tuple, dict)) and not symbolic.any_symbolic(args):
            args = (self._standardize_inputs(args[0]),) + args[1:]
        return super().__call__(*args, **kwargs)

    def _check_input(self, inputs):
        for t, x in zip(self._input_tensors, self._standardize_inputs(inputs)):
            if _applied_on_host(t):
                continue                # host layers made this input (training/host.py)
            shape = tuple(getattr(x, "shape", ()))
            expected = t.shape
            if len(shape) != len(expected) or any(
                    e is not None and e != d for e, d in zip(expected[1:], shape[1:])):
                raise ValueError(
                    f"Input '{t.node.layer.name}' of model '{self.name}' expects shape "
                    f"{expected}, but received shape {shape}.")

    def call(self, inputs, training=None, mask=None):
        flat = self._standardize_inputs(inputs)
        input_masks = [None] * len(flat) if mask is None else self._standardize_inputs(mask)
        values = {}
        for t, x, m in zip(self._input_tensors, flat, input_masks):
            values[id(t)] = t.node.layer._cast(x)
            if m is not None:       # Keras 3 attaches a mask given to the model to its input
                masks.set_keras_mask(values[id(t)], m)
        for node in self._nodes:
            args, kwargs = jax.tree_util.tree_map(
                lambda t: values[id(t)] if symbolic.is_symbolic(t) else t,
                (node.args, node.kwargs), is_leaf=symbolic.is_symbolic)
            out = node.layer(*args, **{"training": training, **kwargs})
            for t, v in zip(_flatten(node.outputs), jax.tree_util.tree_leaves(out)):
                values[id(t)] = v
        return jax.tree_util.tree_map(lambda t: values[id(t)], self._outputs_struct,
                                      is_leaf=symbolic.is_symbolic)

    def compute_output_shape(self, input_shape):
        return jax.tree_util.tree_map(lambda t: t.shape, self._outputs_struct,
                                      is_leaf=symbolic.is_symbolic)

    def get_config(self):
        from gazelle.saving.model_config import serialize_layer
        return serialize_layer(self)["config"]

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from gazelle.saving.model_config import functional_from_config
        return functional_from_config(config, custom_objects)
