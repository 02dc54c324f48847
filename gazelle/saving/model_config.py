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
import inspect
import weakref

from gazelle.saving import registry
from gazelle.saving.serialization import (
    decode_special, resolve_custom_in, serialize_keras_object)

# Keras-only arguments a config may carry; dropped when they hold these (default) values.
_FALSY = (None, False, 0, "", (), [], {})
_INPUT_SHAPE_ARGS = ("batch_input_shape", "input_shape", "input_dim", "batch_size")


def _models():
    from gazelle import models
    return models


def _input_layer_cls():
    from gazelle.layers.core import InputLayer
    return InputLayer


def _policy(name):
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name},
            "registered_name": None}


# -- writing ---------------------------------------------------------------------------
def _class_entry(layer):
    cls = type(layer)
    models = _models()
    builtin = cls.__module__.startswith("gazelle.")
    if builtin and registry.get_registered_name(cls) == cls.__name__:
        if cls is models.Functional:
            return "keras.src.models.functional", "Functional"
        module = "keras" if issubclass(cls, models.Model) else "keras.layers"
        return module, None
    module = cls.__module__
    return (None if module == "__main__" else module), registry.get_registered_name(cls)


def _build_config(layer):
    if hasattr(layer, "get_build_config"):      # Keras 3's hook (e.g. attention's shapes_dict)
        return layer.get_build_config()
    shapes = getattr(layer, "_build_shapes", None)
    if not layer.built or not shapes:
        return None
    return {"input_shape": list(shapes[0]) if len(shapes) == 1 else [list(s) for s in shapes]}


def serialize_layer(layer, in_model=False):
    """Keras 3's config entry for `layer` (a model's entry holds its layers' entries).

    Args:
        layer: a Layer, Sequential or Functional model.
        in_model: whether the entry goes inside a model with an InputLayer (then
            `batch_input_shape` & co. are left out, as Keras 3 does).
    """
    models = _models()
    input_layer = _input_layer_cls()
    if isinstance(layer, models.Sequential):
        config = _sequential_config(layer)
    elif isinstance(layer, models.Functional):
        config = _functional_config(layer)
    else:
        config = dict(layer.get_config())
        if isinstance(layer, input_layer):
            config = {"batch_shape": config.get("batch_shape"), "dtype": config.get("dtype"),
                      "sparse": False, "ragged": False, "name": layer.name, "optional": False}
        else:
            if isinstance(config.get("dtype"), str):
                config["dtype"] = _policy(config["dtype"])
            if in_model:
                for key in _INPUT_SHAPE_ARGS:
                    # Layer.get_config never writes `input_dim`: where it is present it is
                    # the layer's own argument (Embedding's vocabulary size), kept.
                    if key != "input_dim":
                        config.pop(key, None)
    module, registered = _class_entry(layer)
    # A class may be exported under another name than its own (Keras 3's
    # GroupedQueryAttention is keras.layers.GroupQueryAttention); configs use the export.
    class_name = type(layer).__dict__.get("_keras_class_name", type(layer).__name__)
    entry = {"module": module, "class_name": class_name,
             "config": serialize_keras_object(config), "registered_name": registered}
    if isinstance(layer, models.Functional):
        entry["build_config"] = {"input_shape": None}
    elif not isinstance(layer, input_layer):
        build = _build_config(layer)
        if build is not None:
            entry["build_config"] = build
    if isinstance(layer, models.Model):
        from gazelle.saving.compile_config import compile_config
        entry["compile_config"] = compile_config(layer) or {}
    return entry


def _sequential_config(model):
    layers = []
    if model._input_layer is not None:
        layers.append(serialize_layer(model._input_layer))
    layers.extend(serialize_layer(layer, in_model=model._input_layer is not None)
                  for layer in model.layers)
    config = {"name": model.name, "trainable": model.trainable, "dtype": _policy(model.dtype),
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
_ACCEPTED = weakref.WeakKeyDictionary()     # class -> its accepted arguments (per load: once)


def _accepted_args(cls):
    """Keyword arguments `cls(...)` accepts, following `**kwargs` up to Layer; None: any."""
    if cls not in _ACCEPTED:
        _ACCEPTED[cls] = _find_accepted_args(cls)
    return _ACCEPTED[cls]


def _find_accepted_args(cls):
    from gazelle.layers.layer import Layer
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if klass is Layer or not any(p.kind == p.VAR_KEYWORD for p in params):
            return frozenset(names - {"self"})
    return None


def clean_config(cls, config, what):
    """Drops Keras-only arguments that hold default values; refuses others gazelle lacks.

    A class with its own `from_config` may consume extra keys, so for it unknown keys
    with non-default values are passed on instead of refused.
    """
    from gazelle.layers.layer import Layer
    accepted = _accepted_args(cls)
    if accepted is None:
        return config
    own_from_config = cls.from_config.__func__ is not Layer.from_config.__func__
    out = {}
    for key, value in config.items():
        default = any(value is v or (type(value) is type(v) and value == v) for v in _FALSY)
        if key in accepted or (own_from_config and not default):
            out[key] = value
        elif not default:
            raise ValueError(
                f"{what}: argument {key!r}={value!r} is not supported by gazelle's "
                f"{cls.__name__}. Supported arguments: {sorted(accepted)}.")
    return out


def _prepare(config, custom_objects, safe_mode, what):
    config = decode_special(dict(config), safe_mode, where=what)
    dtype = config.get("dtype")
    if isinstance(dtype, dict):      # Keras 3 DTypePolicy
        config["dtype"] = (dtype.get("config") or {}).get("name", "float32")
    return resolve_custom_in(config, custom_objects, safe_mode)


def lookup_layer_class(config, custom_objects=None):
    """The class a layer entry names: user objects first, then the built-in table."""
    class_name = config.get("class_name")
    if not isinstance(class_name, str):
        raise ValueError(f"A layer entry needs a string 'class_name'; received {config!r:.200}.")
    cls = registry.custom_lookup([config.get("registered_name"), class_name], custom_objects)
    if cls is None:
        builtins = registry.builtin_layers()
        cls = builtins.get(class_name)
        if cls is None:
            raise ValueError(
                f"Unknown layer: {class_name!r}. Pass custom layers with "
                "`custom_objects={'" + class_name + "': " + class_name + "}` or register them "
                f"with `@keras.saving.register_keras_serializable()`. Built-in layers: "
                f"{sorted(builtins)}.")
    from gazelle.layers.layer import Layer
    if not (inspect.isclass(cls) and issubclass(cls, Layer)):
        raise ValueError(f"{class_name!r} names {cls!r}, which is not a Layer class.")
    return cls


def deserialize_layer(config, custom_objects=None, safe_mode=True, build=True):
    """Builds a layer or model from its Keras 3 (or tf.keras 2) config entry.

    Args:
        config: `{"class_name", "config", ...}` as written by `serialize_layer`.
        custom_objects: optional dict of user classes and functions.
        safe_mode: refuse Python lambdas in the config. Defaults to `True`.
        build: build the layer from the entry's `build_config` (not needed inside a
            model, which builds its layers). Defaults to `True`.
    """
    if not isinstance(config, dict):
        raise TypeError(f"A layer entry must be a dict; received {type(config).__name__}.")
    cls = lookup_layer_class(config, custom_objects)
    raw = config.get("config")
    name = raw.get("name") if isinstance(raw, dict) else None
    what = f"Layer {name!r} ({config['class_name']})"
    if not isinstance(raw, (dict, list)):
        raise ValueError(f"{what}: 'config' must be a dict; received {raw!r:.200}.")
    models = _models()
    if isinstance(raw, list):                       # Keras 2.2: a Sequential is a list
        raw = {"layers": raw}
    if issubclass(cls, models.Sequential):
        layer = sequential_from_config(cls, raw, custom_objects, safe_mode)
    elif issubclass(cls, models.Functional) or "input_layers" in raw and issubclass(
            cls, models.Model):
        layer = functional_from_config(raw, custom_objects, safe_mode)
    else:
        inner = clean_config(cls, _prepare(raw, custom_objects, safe_mode, what), what)
        if "custom_objects" in inspect.signature(cls.from_config).parameters:
            layer = cls.from_config(inner, custom_objects=registry.all_custom_objects(
                custom_objects))
        else:
            layer = cls.from_config(inner)
    build_config = config.get("build_config")
    if build and isinstance(build_config, dict) and not layer.built:
        shape = build_config.get("input_shape")
        if shape is not None:
            _build(layer, shape)
    return layer


def _list_field(config, key, what):
    """`config[key]` (a list; missing or null is empty), else a ValueError naming it."""
    value = config.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{what}: {key!r} must be a list, received {type(value).__name__} "
                         f"{value!r:.100}.")
    return value


def _is_shape(s):
    return isinstance(s, (list, tuple)) and all(d is None or isinstance(d, int) for d in s)


def _build(layer, shape):
    if isinstance(layer, _models().Model):
        layer.build(tuple(shape) if _is_shape(shape) else [tuple(s) for s in shape])
    else:
        layer._maybe_build([tuple(shape)] if _is_shape(shape) else [tuple(s) for s in shape])


def sequential_from_config(cls, config, custom_objects=None, safe_mode=True):
    """A `cls` (Sequential) model from Keras 3's Sequential config (or tf.keras 2's)."""
    model = cls(name=config.get("name"), trainable=config.get("trainable", True))
    entries = _list_field(config, "layers", "Sequential config")
    for entry in entries:
        model.add(deserialize_layer(entry, custom_objects, safe_mode, build=False))
    shape = config.get("build_input_shape")
    if not model.built and _is_shape(shape) and model.layers:
        model.build(tuple(shape))
    return model


def functional_from_config(config, custom_objects=None, safe_mode=True):
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
        if not value:
            raise ValueError(f"The functional config's {key!r} is empty: a model needs at "
                             "least one input and one output.")
    return _models().Functional(inputs, outputs_, name=config.get("name"),
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
