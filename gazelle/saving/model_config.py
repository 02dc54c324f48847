"""Model configs in Keras 3's layout, and layers/models rebuilt from them. [side: stdlib,
numpy, gazelle.saving; gazelle.layers/models lazily]

`serialize_layer` writes what Keras 3 writes into `config.json`: a Sequential as its
`layers` list (InputLayer first) plus `build_input_shape`; a Functional model as its
`layers`, each with `inbound_nodes` whose tensors are `__keras_tensor__` references
`[layer name, node index, tensor index]`, plus `input_layers`/`output_layers`.
`deserialize_layer` reads that (and tf.keras 2's older node format) back. `layer_order`
is Keras's order of a Functional model's layers (by depth, then by first visit), which
names the weight groups of a `.keras` file.
"""
import collections

from gazelle.core import serialization
from gazelle.core.serialization import (  # noqa: F401 - the reading side's public names
    clean_config, decode_special, deserialize_layer, is_shape, lookup_layer_class,
    resolve_custom_in, serialize_keras_object)


def _models():
    from gazelle import models
    return models


def _input_layer_cls():
    from gazelle.layers.core import InputLayer
    return InputLayer


def serialize_layer(layer, in_model=False):
    """Keras 3's config entry for `layer` (a model's entry holds its layers' entries).

    Args:
        layer: a Layer, Sequential or Functional model.
        in_model: whether the entry goes inside a model with an InputLayer (then
            `batch_input_shape` & co. are left out, as Keras 3 does).
    """
    models = _models()
    if not isinstance(layer, models.Model):
        return serialization.layer_entry(layer, in_model)
    config = None
    if isinstance(layer, models.Sequential):
        config = _sequential_config(layer)
    elif isinstance(layer, models.Functional):
        config = _functional_config(layer)
    else:
        config = dict(layer.get_config())
        if isinstance(config.get("dtype"), str):
            config["dtype"] = serialization.dtype_policy(config["dtype"])
        if in_model:
            for key in serialization._INPUT_SHAPE_ARGS:
                config.pop(key, None)
    entry = serialization.layer_entry(layer, in_model, config=config)
    if isinstance(layer, models.Functional):
        entry["build_config"] = {"input_shape": None}
    from gazelle.saving.compile_config import compile_config
    entry["compile_config"] = compile_config(layer) or {}
    return entry


def model_from_entry(cls, config, custom_objects=None, safe_mode=True):
    """A `cls` model from Keras 3's Sequential or Functional config; None when `cls` is a
    subclassed model whose config is its own (`from_config` builds it)."""
    models = _models()
    if issubclass(cls, models.Sequential):
        return sequential_from_config(cls, config, custom_objects, safe_mode)
    if issubclass(cls, models.Functional) or "input_layers" in config:
        # A user's Model subclass built the Functional way comes back as that class (its
        # train_step and other methods kept), as Keras 3 does.
        user = cls if cls.__module__.split(".")[0] != "gazelle" else None
        return functional_from_config(config, custom_objects, safe_mode, cls=user)
    return None


def _sequential_config(model):
    layers = []
    if model._input_layer is not None:
        layers.append(serialize_layer(model._input_layer))
    layers.extend(serialize_layer(layer, in_model=model._input_layer is not None)
                  for layer in model.layers)
    config = {"name": model.name, "trainable": model.trainable, "dtype": serialization.dtype_policy(model.dtype),
              "layers": layers}
    if model.built:
        config["build_input_shape"] = list(model._batch_input)
    return config


def _graph(model):
    """Keras's traversal of a Functional graph: nodes, layer order and node re-indexing."""
    from gazelle.core import symbolic
    input_layer = _input_layer_cls()
    first_visit = {}

    def enter(node):
        first_visit.setdefault(id(node.layer), (len(first_visit), node.layer))

    def children(node):
        if isinstance(node.layer, input_layer):
            return []
        return [t.node for t in node.input_tensors]

    nodes = symbolic.postorder([t.node for t in model._output_tensors], children, enter)
    node_depth, layer_depth = {}, {}
    in_graph = {id(n) for n in nodes}
    for node in reversed(nodes):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = node_depth[id(node)] = depth
        for t in node.input_tensors:
            if id(t.node) in in_graph:
                node_depth[id(t.node)] = max(depth + 1, node_depth.get(id(t.node), 0))
    for t in model._input_tensors:          # inputs the outputs do not use
        if id(t.node.layer) not in layer_depth:
            layer_depth[id(t.node.layer)] = 0
            first_visit[id(t.node.layer)] = (-1, t.node.layer)
            nodes.append(t.node)
            in_graph.add(id(t.node))
    layers = sorted((layer for _, layer in first_visit.values()),
                    key=lambda layer: (-layer_depth[id(layer)], first_visit[id(layer)][0]))
    node_index = {}
    for layer in layers:
        kept = 0
        for node in layer._inbound_nodes:
            if id(node) in in_graph:
                node_index[id(node)] = kept
                kept += 1
    return layers, node_index


def layer_order(model):
    """A model's layers in Keras 3's `model.layers` order (Functional: by graph depth)."""
    if isinstance(model, _models().Functional):
        return _graph(model)[0]
    return list(model.layers)


def _functional_config(model):
    from gazelle.core import symbolic
    layers, node_index = _graph(model)

    def history(t):
        return [t.node.layer.name, node_index[id(t.node)], t.index]

    def tensor_ref(x):
        if symbolic.is_symbolic(x):
            return {"class_name": "__keras_tensor__",
                    "config": {"shape": list(x.shape), "dtype": x.dtype,
                               "keras_history": history(x)}}
        if isinstance(x, (list, tuple)):
            return [tensor_ref(v) for v in x]
        if isinstance(x, dict):
            return {k: tensor_ref(v) for k, v in x.items()}
        return serialize_keras_object(x)

    entries = []
    for layer in layers:
        entry = serialize_layer(layer, in_model=True)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [
            {"args": tensor_ref(list(node.args)), "kwargs": tensor_ref(dict(node.kwargs))}
            for node in layer._inbound_nodes
            if id(node) in node_index and not isinstance(layer, _input_layer_cls())]
        entries.append(entry)

    def structure(struct):
        if symbolic.is_symbolic(struct):
            return history(struct)
        if isinstance(struct, dict):
            return {k: structure(v) for k, v in struct.items()}
        return [structure(v) for v in struct]

    return {"name": model.name, "trainable": model.trainable, "layers": entries,
            "input_layers": structure(model._inputs_struct),
            "output_layers": structure(model._outputs_struct)}


# -- reading ---------------------------------------------------------------------------
def _list_field(config, key, what):
    """`config[key]` (a list; missing or null is empty), else a ValueError naming it."""
    value = config.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{what}: {key!r} must be a list, received {type(value).__name__} "
                         f"{value!r:.100}.")
    return value


def sequential_from_config(cls, config, custom_objects=None, safe_mode=True):
    """A `cls` (Sequential) model from Keras 3's Sequential config (or tf.keras 2's)."""
    model = cls(name=config.get("name"), trainable=config.get("trainable", True))
    entries = _list_field(config, "layers", "Sequential config")
    for entry in entries:
        model.add(deserialize_layer(entry, custom_objects, safe_mode, build=False))
    shape = config.get("build_input_shape")
    if not model.built and is_shape(shape) and model.layers:
        model.build(tuple(shape))
    return model


def functional_from_config(config, custom_objects=None, safe_mode=True, cls=None):
    """A Functional model from Keras 3's functional config (or tf.keras 2's node format)."""
    import jax

    from gazelle.core import symbolic
    input_layer = _input_layer_cls()
    created, outputs, pending = {}, {}, []
    for entry in _list_field(config, "layers", "Functional config"):
        layer = deserialize_layer(entry, custom_objects, safe_mode, build=False)
        name = entry.get("name", layer.name)
        if name in created:
            raise ValueError(f"Two layers are named {name!r} in the functional config.")
        created[name] = layer
        outputs[name] = [[layer.output]] if isinstance(layer, input_layer) else []
        pending.append((name, layer, list(_list_field(entry, "inbound_nodes",
                                                      f"Layer {name!r}"))))

    def ref(history):
        if not (isinstance(history, list) and len(history) >= 3 and isinstance(history[0], str)
                and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0
                        for i in history[1:3])):
            raise ValueError(f"A tensor reference must be [layer name, node index, tensor "
                             f"index]; received {history!r:.200}.")
        name, node_index, tensor_index = history[0], history[1], history[2]
        if name not in outputs:
            raise ValueError(f"A node refers to layer {name!r}, which is not in the config.")
        if node_index >= len(outputs[name]) or tensor_index >= len(outputs[name][node_index]):
            raise ValueError(f"A tensor reference {history[:3]!r} points past the outputs of "
                             f"layer {name!r}.")
        return outputs[name][node_index][tensor_index]

    def missing(value):
        """The name of a layer whose output `value` needs and that is not made yet."""
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            history = value["config"]["keras_history"]
            ok = isinstance(history, list) and len(history) >= 3 and isinstance(
                history[1], int) and history[0] in outputs and len(outputs[history[0]]) > history[1]
            return None if ok else (history[0] if isinstance(history, list) and history
                                    and isinstance(history[0], str) else "")
        items = value if isinstance(value, list) else (
            value.values() if isinstance(value, dict) else ())
        for item in items:
            found = missing(item)
            if found is not None:
                return found
        return None

    def tensors(value):
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            return ref(value["config"]["keras_history"])
        if isinstance(value, list):
            return [tensors(v) for v in value]
        if isinstance(value, dict):
            return {k: tensors(v) for k, v in value.items()}
        return value

    def as_call(node):
        if isinstance(node, dict):                  # Keras 3
            return node.get("args") or [], node.get("kwargs") or {}
        refs = [{"class_name": "__keras_tensor__", "config": {"keras_history": h[:3]}}
                for h in node]                      # tf.keras 2: [[name, node, tensor, kwargs]]
        kwargs = node[0][3] if node and len(node[0]) > 3 else {}
        return [refs[0] if len(refs) == 1 else refs], kwargs or {}

    # Each layer replays its nodes in order; a node whose inputs are not made yet waits on
    # the layer that makes them and is tried again when that layer makes an output, so the
    # work is linear in the number of nodes whatever order the config lists layers in.
    done_count = [0] * len(pending)
    waiting = {}
    queue = collections.deque(range(len(pending)))
    while queue:
        i = queue.popleft()
        name, layer, nodes = pending[i]
        made = False
        while done_count[i] < len(nodes):
            args, kwargs = as_call(nodes[done_count[i]])
            blocker = missing([args, kwargs])
            if blocker is not None:
                waiting.setdefault(blocker, []).append(i)
                break
            args, kwargs = tensors([args, kwargs])
            kwargs = {k: v for k, v in kwargs.items()
                      if not (k == "mask" and v is None) and not (k == "training" and not v)}
            kwargs = resolve_custom_in(decode_special(kwargs, safe_mode), custom_objects,
                                       safe_mode)
            out = layer(*args, **kwargs)
            outputs[name].append(jax.tree_util.tree_leaves(out, is_leaf=symbolic.is_symbolic))
            done_count[i] += 1
            made = True
        if made:
            queue.extend(waiting.pop(name, ()))
    stuck = [name for i, (name, _, nodes) in enumerate(pending) if done_count[i] < len(nodes)]
    if stuck:
        raise ValueError(f"Cannot rebuild the functional model: the inputs of layers {stuck} "
                         "are never produced.")

    def structure(spec):
        if isinstance(spec, list) and len(spec) >= 3 and isinstance(spec[0], str):
            return ref(spec)
        if isinstance(spec, dict):
            return {k: structure(v) for k, v in spec.items()}
        if isinstance(spec, list):
            return [structure(v) for v in spec]
        raise ValueError(f"Invalid input_layers/output_layers entry: {spec!r:.200}.")

    inputs = structure(config.get("input_layers") or [])
    outputs_ = structure(config.get("output_layers") or [])
    for key, value in (("input_layers", inputs), ("output_layers", outputs_)):
        if isinstance(value, (list, tuple, dict)) and len(value) == 0:
            raise ValueError(f"The functional config's {key!r} is empty: a model needs at "
                             "least one input and one output.")
    return (cls or _models().Functional)(inputs, outputs_, name=config.get("name"),
                                         trainable=config.get("trainable", True))


def model_from_config(config, custom_objects=None, safe_mode=True):
    """Instantiates a Keras model from its config (Keras 3's or tf.keras 2's layout).

    Args:
        config: Configuration dictionary: `{"class_name": ..., "config": ...}`.
        custom_objects: Optional dictionary mapping names (strings) to custom classes or
            functions to be considered during deserialization.
        safe_mode: refuse Python lambdas (bytecode) in the config. Defaults to `True`.

    ```python
    config = model.get_config()   # or json.loads(model.to_json())
    clone = keras.models.model_from_config({"class_name": "Sequential", "config": config})
    ```
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise TypeError("model_from_config: `config` must be a dict with 'class_name' and "
                        f"'config' keys; received {type(config).__name__}. If you have a "
                        "model.get_config() dict, wrap it: {'class_name': 'Sequential', "
                        "'config': config}.")
    return deserialize_layer(config, custom_objects, safe_mode)
