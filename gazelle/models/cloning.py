"""clone_model: the same architecture with new layers and new weights. [L3]

Sequential models are rebuilt layer by layer; Functional models by replaying their graph
node by node on new inputs, each layer cloned once (a layer called twice stays shared).
"""
import jax

from gazelle.core import symbolic
from gazelle.layers.core import Input, InputLayer
from gazelle.models.functional import Functional
from gazelle.models.model import Model
from gazelle.models.sequential import Sequential


def _default_clone(layer):
    return layer.__class__.from_config(layer.get_config())


def _flatten(struct):
    return jax.tree_util.tree_leaves(struct, is_leaf=symbolic.is_symbolic)


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False, **kwargs):
    """Clones a Sequential or Functional model: same config, new layers, new weights.

    The weights are initialized afresh (copy them with `set_weights` if needed).

    Args:
        model: a `Sequential` or Functional model (a subclassed model is rebuilt from its
            config, with no other argument).
        input_tensors: optional `keras.Input` tensors (a list, one per model input) to
            build the clone on, instead of new inputs of the same shapes.
        clone_function: callable that takes each layer of the original model and returns
            the layer for the clone (default: `layer.__class__.from_config(layer.get_config())`).
            Return the layer itself to share it between both models.
        call_function: not supported in gazelle (raises NotImplementedError).
        recursive: not supported in gazelle (raises NotImplementedError).

    Returns:
        The new model (not compiled).

    ```python
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    ```
    """
    if kwargs:
        raise TypeError(f"clone_model(): unexpected keyword argument(s) {sorted(kwargs)}.")
    if call_function is not None or recursive:
        raise NotImplementedError(
            "clone_model(): `call_function` and `recursive=True` are not supported in "
            "gazelle; pass a `clone_function` that clones nested models itself.")
    if not isinstance(model, Model):
        raise TypeError("clone_model(): `model` must be a keras.Model; received "
                        f"{type(model).__name__}.")
    if clone_function is not None and not callable(clone_function):
        raise TypeError("clone_model(): `clone_function` must be callable; received "
                        f"{clone_function!r}.")
    clone_function = clone_function or _default_clone
    if isinstance(model, Sequential):
        return _clone_sequential(model, input_tensors, clone_function)
    if isinstance(model, Functional):
        return _clone_functional(model, input_tensors, clone_function)
    if input_tensors is not None or clone_function is not _default_clone:
        raise ValueError(
            "clone_model(): a subclassed model can only be cloned from its config; "
            "`input_tensors` and `clone_function` need a Sequential or Functional model. "
            f"Received a {type(model).__name__}.")
    return model.__class__.from_config(model.get_config())


def _checked(layer, new, clone_function):
    from gazelle.layers.layer import Layer
    if not isinstance(new, Layer):
        raise ValueError(f"clone_model(): `clone_function` must return a Layer; for layer "
                         f"'{layer.name}' it returned {type(new).__name__}.")
    return new


def _input_list(input_tensors, expected, what):
    tensors = list(input_tensors) if isinstance(input_tensors, (list, tuple)) else \
        [input_tensors]
    if len(tensors) != expected:
        raise ValueError(f"clone_model(): {what} takes {expected} input tensor(s); received "
                         f"{len(tensors)}.")
    for t in tensors:
        if not symbolic.is_symbolic(t):
            raise ValueError("clone_model(): `input_tensors` must be keras.Input() tensors; "
                             f"received {type(t).__name__}.")
    return tensors


def _clone_sequential(model, input_tensors, clone_function):
    layers = [_checked(layer, clone_function(layer), clone_function) for layer in model.layers]
    first = []
    if input_tensors is not None:
        first = _input_list(input_tensors, 1, f"Sequential model '{model.name}'")
    elif model._input_layer is not None:
        first = [_default_clone(model._input_layer)]
    return Sequential(first + layers, name=model.name, trainable=model.trainable)


def _clone_functional(model, input_tensors, clone_function):
    values = {}
    if input_tensors is not None:
        new_inputs = _input_list(input_tensors, len(model._input_tensors),
                                 f"model '{model.name}'")
    else:
        new_inputs = []
        for t in model._input_tensors:
            layer = t.node.layer
            new_inputs.append(Input(batch_shape=tuple(t.shape), dtype=layer.dtype,
                                    name=layer.name))
    for old, new in zip(model._input_tensors, new_inputs):
        values[id(old)] = new
    clones = {}
    for node in model._nodes:
        layer = node.layer
        if isinstance(layer, InputLayer):
            continue
        if id(layer) not in clones:
            clones[id(layer)] = _checked(layer, clone_function(layer), clone_function)
        args, kwargs = jax.tree_util.tree_map(
            lambda t: values[id(t)] if symbolic.is_symbolic(t) else t,
            (node.args, node.kwargs), is_leaf=symbolic.is_symbolic)
        out = clones[id(layer)](*args, **kwargs)
        for t, v in zip(_flatten(node.outputs), _flatten(out)):
            values[id(t)] = v
    inputs = jax.tree_util.tree_unflatten(
        jax.tree_util.tree_structure(model._inputs_struct, is_leaf=symbolic.is_symbolic),
        new_inputs)
    outputs = jax.tree_util.tree_map(lambda t: values[id(t)], model._outputs_struct,
                                     is_leaf=symbolic.is_symbolic)
    cls = type(model) if _functional_like(type(model)) else Functional
    return cls(inputs, outputs, name=model.name, trainable=model.trainable)


def _functional_like(cls):
    """Functional itself, or a Model subclass turned Functional by (inputs, outputs)."""
    from gazelle.models import model as model_mod
    return cls is Functional or cls in model_mod._FUNCTIONAL_SUBCLASSES.values()
