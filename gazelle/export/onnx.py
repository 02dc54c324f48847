"""`model.export(path, format="onnx")`: an ONNX graph built from the layer graph. [top]

Each supported layer becomes a few ONNX nodes over tensors kept in Keras's own layout
(channels last); convolutions and poolings transpose to ONNX's channels-first layout
around their node. The batch dimension (and any other `None` dimension) stays dynamic.
Inference behaviour only: dropout and noise layers are identities, BatchNormalization
uses its moving statistics. Needs the `onnx` package (`pip install gazelle[export]`).

Keras masks travel with the graph: `Embedding(mask_zero=True)` and `Masking` make a bool
`(batch, steps)` tensor, each layer passes it on by its own `supports_masking` and
`compute_mask` rules, and the layers that use it (recurrent layers, attention, masked
average pooling) apply it; a layer that would need a mask its ONNX form cannot apply is
refused by name. Recurrent layers and their wrappers are in `onnx_recurrent.py`;
attention, EinsumDense, RMSNormalization and `keras.ops` nodes in `onnx_attention.py`.
"""
import os

import numpy as np

from gazelle import activations
from gazelle.export.stablehlo import model_inputs, model_output_names

DEFAULT_OPSET = 17
_IDENTITY_LAYERS = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
                    "AlphaDropout", "GaussianNoise", "GaussianDropout",
                    "ActivityRegularization", "Identity")


def _require_onnx():
    try:
        import onnx
    except ImportError as e:
        raise ImportError("format='onnx' needs the `onnx` package: pip install "
                          "'gazelle[export]' (or pip install onnx onnxruntime).") from e
    return onnx


class _Graph:
    """Collects ONNX nodes and initializers with unique names."""

    def __init__(self, onnx, opset=DEFAULT_OPSET):
        self.onnx = onnx
        self.opset = int(opset)
        self.nodes, self.initializers, self.used = [], [], set()
        self.dtypes = {}            # tensor name -> numpy dtype name
        self.masks = {}             # tensor name -> its Keras mask: a bool (batch, steps) tensor

    def subgraph(self):
        """A graph for a loop body: its own nodes, constants and names shared with this one."""
        sub = _Graph.__new__(_Graph)
        sub.onnx, sub.opset, sub.nodes = self.onnx, self.opset, []
        sub.initializers, sub.used, sub.dtypes, sub.masks = (
            self.initializers, self.used, self.dtypes, {})
        return sub

    def name(self, base):
        base = "".join(c if c.isalnum() or c in "_./-" else "_" for c in base) or "t"
        name, i = base, 0
        while name in self.used:
            i += 1
            name = f"{base}_{i}"
        self.used.add(name)
        return name

    def const(self, value, base, dtype="float32"):
        value = np.asarray(value, dtype=dtype)
        name = self.name(base)
        self.initializers.append(self.onnx.numpy_helper.from_array(value, name))
        self.dtypes[name] = str(value.dtype)
        return name

    def op(self, op_type, inputs, base, dtype="float32", n_out=1, **attrs):
        outs = [self.name(base if n_out == 1 else f"{base}_{k}") for k in range(n_out)]
        self.nodes.append(self.onnx.helper.make_node(
            op_type, list(inputs), outs, name=self.name(f"{base}/{op_type}"), **attrs))
        for o in outs:
            self.dtypes[o] = dtype
        return outs[0] if n_out == 1 else outs

    def reduce(self, op_type, x, axes, base, keepdims=False, dtype="float32"):
        """`op_type` (ReduceMean, ReduceSum, ...) over `axes`, in the opset's form."""
        axes = [int(a) for a in axes]
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.op(op_type, [x, self.const(axes, f"{base}/axes", "int64")], base,
                           dtype=dtype, keepdims=int(bool(keepdims)))
        return self.op(op_type, [x], base, dtype=dtype, axes=axes, keepdims=int(bool(keepdims)))

    def squeeze(self, x, axes, base):
        return self.op("Squeeze", [x, self.const(list(axes), f"{base}/axes", "int64")], base,
                       dtype=self.dtypes.get(x, "float32"))

    def unsqueeze(self, x, axes, base):
        return self.op("Unsqueeze", [x, self.const(list(axes), f"{base}/axes", "int64")], base,
                       dtype=self.dtypes.get(x, "float32"))

    def as_float(self, x, base):
        if self.dtypes.get(x) == "float32":
            return x
        return self.op("Cast", [x], f"{base}/cast", to=self.onnx.TensorProto.FLOAT)


def _unsupported(layer, why=None):
    if why is None and not type(layer).__module__.startswith("gazelle."):
        why = "a custom layer: the ONNX export converts gazelle's built-in layers only"
    reason = f" ({why})" if why else ""
    return ValueError(
        f"Layer '{layer.name}' ({type(layer).__name__}) cannot be exported to ONNX{reason}. "
        "Export this model with format='jax' (serialized StableHLO, any layer), or replace "
        "the layer. format='onnx' supports Dense, EinsumDense, Conv1D/Conv2D, pooling, "
        "Flatten, Reshape, normalization, Embedding, merge, activation, dropout/noise, "
        "SimpleRNN/LSTM/GRU (and Bidirectional, TimeDistributed), attention layers and "
        "basic keras.ops calls.")


def _activation(g, x, fn, base, layer):
    name = fn if isinstance(fn, str) else activations.serialize(fn)
    if not isinstance(name, str):
        raise _unsupported(layer, f"custom activation {name!r}")
    if name in ("linear", None):
        return x
    simple = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softplus": "Softplus",
              "softsign": "Softsign", "exponential": "Exp", "selu": "Selu"}
    if name in simple:
        return g.op(simple[name], [x], f"{base}/{name}")
    if name == "softmax":
        return g.op("Softmax", [x], f"{base}/softmax", axis=-1)
    if name == "log_softmax":
        return g.op("LogSoftmax", [x], f"{base}/log_softmax", axis=-1)
    if name == "elu":
        return g.op("Elu", [x], f"{base}/elu", alpha=1.0)
    if name == "leaky_relu":
        return g.op("LeakyRelu", [x], f"{base}/leaky_relu", alpha=0.2)
    if name == "relu6":
        return g.op("Clip", [x, g.const(0.0, "zero"), g.const(6.0, "six")], f"{base}/relu6")
    if name == "hard_sigmoid":
        return g.op("HardSigmoid", [x], f"{base}/hard_sigmoid", alpha=1.0 / 6.0, beta=0.5)
    if name in ("hard_silu", "hard_swish"):
        h = g.op("HardSigmoid", [x], f"{base}/hard_sigmoid", alpha=1.0 / 6.0, beta=0.5)
        return g.op("Mul", [x, h], f"{base}/hard_silu")
    if name in ("silu", "swish"):
        return g.op("Mul", [x, g.op("Sigmoid", [x], f"{base}/sigmoid")], f"{base}/silu")
    if name == "mish":
        t = g.op("Tanh", [g.op("Softplus", [x], f"{base}/softplus")], f"{base}/tanh")
        return g.op("Mul", [x, t], f"{base}/mish")
    if name == "gelu":
        # x * (1 + erf(x / sqrt(2))) / 2: gelu's exact form, Keras's default.
        e = g.op("Erf", [g.op("Div", [x, g.const(np.sqrt(2.0), "sqrt2")], f"{base}/scaled")],
                 f"{base}/erf")
        half = g.op("Mul", [x, g.const(0.5, "half")], f"{base}/half_x")
        return g.op("Mul", [half, g.op("Add", [e, g.const(1.0, "one")], f"{base}/one_plus")],
                    f"{base}/gelu")
    raise _unsupported(layer, f"activation {name!r}")


def _weight(layer, attr):
    v = getattr(layer, attr, None)
    return None if v is None else np.asarray(v.value if hasattr(v, "value") else v,
                                             dtype="float32")


def _channels_last(layer, cfg):
    fmt = cfg.get("data_format")
    if fmt not in (None, "channels_last"):
        raise _unsupported(layer, f"data_format={fmt!r}; only channels_last is supported")


def _to_first(g, x, rank, base):
    return g.op("Transpose", [x], f"{base}/to_nchw", perm=[0, rank - 1] + list(range(1, rank - 1)))


def _to_last(g, x, rank, base):
    return g.op("Transpose", [x], f"{base}/to_nhwc", perm=[0] + list(range(2, rank)) + [1])


def _dense(g, layer, cfg, xs, base):
    x = g.op("MatMul", [g.as_float(xs[0], base), g.const(_weight(layer, "kernel"),
                                                         f"{base}/kernel")], f"{base}/matmul")
    if cfg.get("use_bias", True):
        x = g.op("Add", [x, g.const(_weight(layer, "bias"), f"{base}/bias")], f"{base}/bias_add")
    return _activation(g, x, layer.activation, base, layer)


def _conv(g, layer, cfg, xs, base, rank):
    _channels_last(layer, cfg)
    kernel = _weight(layer, "kernel")      # (*k, in/groups, out)
    n = rank - 2
    w = np.transpose(kernel, [n + 1, n] + list(range(n)))
    k = list(kernel.shape[:n])
    strides = list(cfg["strides"])
    dilations = list(cfg["dilation_rate"])
    attrs = dict(kernel_shape=k, strides=strides, dilations=dilations,
                 group=int(cfg.get("groups", 1)))
    padding = cfg["padding"]
    if padding == "same":
        attrs["auto_pad"] = "SAME_UPPER"
    elif padding == "causal":
        attrs["pads"] = [dilations[0] * (k[0] - 1), 0]
    else:
        attrs["pads"] = [0] * (2 * n)
    inputs = [_to_first(g, g.as_float(xs[0], base), rank, base), g.const(w, f"{base}/kernel")]
    if cfg.get("use_bias", True):
        inputs.append(g.const(_weight(layer, "bias"), f"{base}/bias"))
    y = _to_last(g, g.op("Conv", inputs, f"{base}/conv", **attrs), rank, base)
    return _activation(g, y, layer.activation, base, layer)


def _pool(g, layer, cfg, xs, base, rank, op):
    _channels_last(layer, cfg)
    n = rank - 2
    pool = list(cfg["pool_size"]) if isinstance(cfg["pool_size"], (list, tuple)) else [
        cfg["pool_size"]] * n
    strides = cfg.get("strides") or pool
    strides = list(strides) if isinstance(strides, (list, tuple)) else [strides] * n
    attrs = dict(kernel_shape=pool, strides=strides)
    if cfg["padding"] == "same":
        attrs["auto_pad"] = "SAME_UPPER"
    else:
        attrs["pads"] = [0] * (2 * n)
    y = g.op(op, [_to_first(g, g.as_float(xs[0], base), rank, base)], f"{base}/pool", **attrs)
    return _to_last(g, y, rank, base)


def _global_pool(g, layer, cfg, xs, base, rank, op):
    _channels_last(layer, cfg)
    return g.reduce(op, g.as_float(xs[0], base), range(1, rank - 1), f"{base}/pool",
                    keepdims=cfg.get("keepdims", False))


def _batch_norm(g, layer, cfg, xs, base, rank):
    axis = cfg["axis"]
    axis = (axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis)
    if not isinstance(axis, int):
        raise _unsupported(layer, f"axis={axis!r}")
    axis %= rank
    mean = _weight(layer, "moving_mean").astype("float64")
    var = _weight(layer, "moving_variance").astype("float64")
    shape = [1] * rank
    shape[axis] = mean.shape[0]
    x = g.as_float(xs[0], base)
    centered = g.op("Sub", [x, g.const(mean.reshape(shape), f"{base}/moving_mean")],
                    f"{base}/centered")
    scale = 1.0 / np.sqrt(var + cfg["epsilon"])
    gamma = _weight(layer, "gamma")
    if gamma is not None:
        scale = scale * gamma
    y = g.op("Mul", [centered, g.const(scale.reshape(shape), f"{base}/scale")], f"{base}/scaled")
    beta = _weight(layer, "beta")
    if beta is not None:
        y = g.op("Add", [y, g.const(beta.reshape(shape), f"{base}/beta")], f"{base}/shifted")
    return y


def _layer_norm(g, layer, cfg, xs, base, shape):
    rank = len(shape)
    axes = layer._axes(shape) if hasattr(layer, "_axes") else cfg["axis"]
    axes = sorted(a % rank for a in ([axes] if isinstance(axes, int) else axes))
    if cfg.get("rms_scaling"):
        raise _unsupported(layer, "rms_scaling=True")
    x = g.as_float(xs[0], base)
    mean = g.reduce("ReduceMean", x, axes, f"{base}/mean", keepdims=True)
    d = g.op("Sub", [x, mean], f"{base}/centered")
    var = g.reduce("ReduceMean", g.op("Mul", [d, d], f"{base}/sq"), axes, f"{base}/var",
                   keepdims=True)
    std = g.op("Sqrt", [g.op("Add", [var, g.const(cfg["epsilon"], f"{base}/epsilon")],
                             f"{base}/var_eps")], f"{base}/std")
    y = g.op("Div", [d, std], f"{base}/normalized")
    bshape = [shape[i] if i in axes else 1 for i in range(rank)]
    gamma = _weight(layer, "gamma")
    if gamma is not None:
        y = g.op("Mul", [y, g.const(gamma.reshape(bshape), f"{base}/gamma")], f"{base}/scaled")
    beta = _weight(layer, "beta")
    if beta is not None:
        y = g.op("Add", [y, g.const(beta.reshape(bshape), f"{base}/beta")], f"{base}/shifted")
    return y


def _embedding(g, layer, cfg, xs, base):
    table = _weight(layer, "embeddings")
    if table is None:
        raise _unsupported(layer, "no `embeddings` weight")
    ids = g.op("Cast", [xs[0]], f"{base}/ids", dtype="int64", to=g.onnx.TensorProto.INT64)
    y = g.op("Gather", [g.const(table, f"{base}/embeddings"), ids], f"{base}/gather", axis=0)
    if cfg.get("mask_zero"):         # Keras's mask: the ids that are not 0
        pad = g.op("Equal", [ids, g.const(0, f"{base}/zero", "int64")], f"{base}/is_pad",
                   dtype="bool")
        g.masks[y] = g.op("Not", [pad], f"{base}/mask", dtype="bool")
    return y


def _steps_layer(g, layer, cls, x, shape, base):
    """RepeatVector, UpSampling1D, ZeroPadding1D and Cropping1D: along the steps axis."""
    dtype = g.dtypes.get(x, "float32")
    if cls == "RepeatVector":
        x = g.unsqueeze(x, [1], f"{base}/steps")
        return g.op("Tile", [x, g.const([1, layer.n, 1], f"{base}/repeats", "int64")],
                    f"{base}/repeat", dtype=dtype)
    if cls == "UpSampling1D":
        if shape[2] is None:
            raise _unsupported(layer, f"input shape {shape}: the channels must be known")
        x = g.op("Tile", [g.unsqueeze(x, [2], f"{base}/split"),
                          g.const([1, 1, layer.size, 1], f"{base}/repeats", "int64")],
                 f"{base}/tiled", dtype=dtype)
        return g.op("Reshape", [x, g.const([0, -1, shape[2]], f"{base}/shape", "int64")],
                    f"{base}/upsampled", dtype=dtype)
    if cls == "ZeroPadding1D":
        axis = 2 if layer.data_format == "channels_first" else 1
        pads = [0, 0, 0, 0, 0, 0]
        pads[axis], pads[axis + 3] = layer.padding
        return g.op("Pad", [x, g.const(pads, f"{base}/pads", "int64")], f"{base}/pad",
                    dtype=dtype)
    start, end = layer.cropping
    return g.op("Slice", [x, g.const([start], f"{base}/start", "int64"),
                          g.const([-end if end else np.iinfo(np.int64).max], f"{base}/end",
                                  "int64"), g.const([1], f"{base}/axis", "int64")],
                f"{base}/crop", dtype=dtype)


def _merge(g, layer, cfg, xs, base, cls):
    xs = [g.as_float(x, base) for x in xs]
    if cls == "Concatenate":
        return g.op("Concat", xs, f"{base}/concat", axis=int(cfg.get("axis", -1)))
    if cls == "Subtract":
        if len(xs) != 2:
            raise _unsupported(layer, "Subtract takes exactly 2 inputs")
        return g.op("Sub", xs, f"{base}/sub")
    op = {"Add": "Sum", "Average": "Sum", "Maximum": "Max", "Minimum": "Min",
          "Multiply": None}[cls]
    if op is None:
        y = xs[0]
        for x in xs[1:]:
            y = g.op("Mul", [y, x], f"{base}/mul")
        return y
    y = g.op(op, xs, f"{base}/{op.lower()}")
    if cls == "Average":
        y = g.op("Div", [y, g.const(float(len(xs)), f"{base}/count")], f"{base}/average")
    return y


def _convert_layer(g, layer, xs, in_shapes, out_shape, call=None):
    """Adds the nodes of one layer call; returns the output tensor name(s)."""
    cls = type(layer).__name__
    base = layer.name
    if call is None:
        call = Call(layer, [Value(x, s, g.dtypes.get(x)) for x, s in zip(xs[:1], in_shapes)],
                    {}, xs, in_shapes, [g.masks.get(x) for x in xs])
    if cls in _IDENTITY_LAYERS:
        return g.op("Identity", [xs[0]], f"{base}/identity", dtype=g.dtypes.get(xs[0], "float32"))
    if hasattr(layer, "_stack") or hasattr(layer, "_input_tensors"):   # nested model
        return _convert_model(g, layer, xs)
    if getattr(layer, "_is_op_node", False):
        from gazelle.export.onnx_attention import convert_op
        return convert_op(g, layer, call)
    from gazelle.export import onnx_attention, onnx_recurrent
    extra = onnx_recurrent.CONVERTERS.get(cls) or onnx_attention.CONVERTERS.get(cls)
    if extra is not None:
        return extra(g, layer, call)
    cfg = layer.get_config()
    shape = in_shapes[0] if in_shapes else None
    rank = len(shape) if shape is not None else None
    if cls == "Dense":
        return _dense(g, layer, cfg, xs, base)
    if cls in ("Conv1D", "Conv2D"):
        return _conv(g, layer, cfg, xs, base, rank)
    if cls in ("MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D"):
        return _pool(g, layer, cfg, xs, base, rank,
                     "MaxPool" if cls.startswith("Max") else "AveragePool")
    if cls in ("GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
               "GlobalMaxPooling2D"):
        return _global_pool(g, layer, cfg, xs, base, rank,
                            "ReduceMax" if "Max" in cls else "ReduceMean")
    if cls == "Flatten":
        _channels_last(layer, cfg)
        return g.op("Flatten", [xs[0]], f"{base}/flatten",
                    dtype=g.dtypes.get(xs[0], "float32"), axis=1)
    if cls == "Reshape":
        target = [0] + [int(d) for d in cfg["target_shape"]]
        return g.op("Reshape", [xs[0], g.const(target, f"{base}/shape", "int64")],
                    f"{base}/reshape", dtype=g.dtypes.get(xs[0], "float32"))
    if cls == "Permute":
        return g.op("Transpose", [xs[0]], f"{base}/permute", dtype=g.dtypes.get(xs[0], "float32"),
                    perm=[0] + [int(d) for d in cfg["dims"]])
    if cls in ("RepeatVector", "UpSampling1D", "ZeroPadding1D", "Cropping1D"):
        return _steps_layer(g, layer, cls, xs[0], shape, base)
    if cls == "BatchNormalization":
        return _batch_norm(g, layer, cfg, xs, base, rank)
    if cls == "LayerNormalization":
        return _layer_norm(g, layer, cfg, xs, base, shape)
    if cls == "Embedding":
        return _embedding(g, layer, cfg, xs, base)
    if cls == "Rescaling":
        x = g.op("Mul", [g.as_float(xs[0], base), g.const(layer.scale, f"{base}/scale")],
                 f"{base}/scaled")
        return g.op("Add", [x, g.const(layer.offset, f"{base}/offset")], f"{base}/shifted")
    if cls == "Normalization":
        mean, variance = (np.asarray(a, "float32") for a in layer._statistics())
        std = np.maximum(np.sqrt(variance), 1e-7).astype("float32")
        x = g.as_float(xs[0], base)
        if cfg.get("invert"):
            y = g.op("Mul", [x, g.const(std, f"{base}/std")], f"{base}/scaled")
            return g.op("Add", [y, g.const(mean, f"{base}/mean")], f"{base}/shifted")
        y = g.op("Sub", [x, g.const(mean, f"{base}/mean")], f"{base}/centered")
        return g.op("Div", [y, g.const(std, f"{base}/std")], f"{base}/normalized")
    if cls in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate"):
        return _merge(g, layer, cfg, xs, base, cls)
    if cls == "Activation":
        return _activation(g, g.as_float(xs[0], base), layer.activation, base, layer)
    if cls == "ReLU":
        x = g.as_float(xs[0], base)
        if cfg.get("threshold", 0.0):
            raise _unsupported(layer, "threshold != 0")
        slope = cfg.get("negative_slope", 0.0) or 0.0
        y = (g.op("LeakyRelu", [x], f"{base}/leaky_relu", alpha=float(slope)) if slope
             else g.op("Relu", [x], f"{base}/relu"))
        if cfg.get("max_value") is not None:
            y = g.op("Min", [y, g.const(cfg["max_value"], f"{base}/max_value")], f"{base}/cap")
        return y
    if cls == "LeakyReLU":
        return g.op("LeakyRelu", [g.as_float(xs[0], base)], f"{base}/leaky_relu",
                    alpha=float(cfg["negative_slope"]))
    if cls == "ELU":
        return g.op("Elu", [g.as_float(xs[0], base)], f"{base}/elu", alpha=float(cfg["alpha"]))
    if cls == "Softmax":
        axis = cfg.get("axis", -1)
        if not isinstance(axis, int):
            raise _unsupported(layer, f"axis={axis!r}")
        return g.op("Softmax", [g.as_float(xs[0], base)], f"{base}/softmax", axis=axis)
    raise _unsupported(layer)


class Value:
    """A tensor of the ONNX graph standing where a layer call had a placeholder."""

    def __init__(self, name, shape, dtype):
        self.name, self.shape, self.dtype = name, tuple(shape), dtype

    def __repr__(self):
        return f"Value({self.name!r}, {self.shape})"


class Call:
    """One layer call being converted: its arguments (placeholders as `Value`s), the
    tensor names and shapes of its tensor inputs in order, and their masks."""

    def __init__(self, layer, args, kwargs, xs, shapes, masks):
        self.layer, self.args, self.kwargs = layer, tuple(args), dict(kwargs)
        self.xs, self.shapes, self.masks = list(xs), list(shapes), list(masks)

    def first_masks(self):
        """The masks of the first argument's tensors (a list; what Keras's `mask=` gets)."""
        first = self.args[0] if self.args else None
        leaves = first if isinstance(first, (list, tuple)) else [first]
        return [self.mask_of(v) for v in leaves]

    def mask_of(self, value):
        return self.masks[self.xs.index(value.name)] if isinstance(
            value, Value) and value.name in self.xs else None


def _values(tree, lookup):
    """`tree` with its placeholders replaced by `Value`s (via `lookup(placeholder)`)."""
    import jax
    from gazelle.core import symbolic
    return jax.tree_util.tree_map(lambda t: lookup(t) if symbolic.is_symbolic(t) else t,
                                  tree, is_leaf=symbolic.is_symbolic)


def _mask_aware():
    from gazelle.export import onnx_attention, onnx_recurrent
    return set(onnx_recurrent.MASK_AWARE) | set(onnx_attention.MASK_AWARE)


def _convert_call(g, call):
    """Converts one call (checking its masks first); sets the masks of its outputs."""
    from gazelle.layers.layer import _mask_params
    layer = call.layer
    cls = type(layer).__name__
    masked = any(m is not None for m in call.masks)
    if masked and not getattr(layer, "_is_op_node", False) and cls not in _IDENTITY_LAYERS:
        takes_mask, companions = _mask_params(layer)
        if (takes_mask or companions) and cls not in _mask_aware() and not hasattr(
                layer, "_stack") and not hasattr(layer, "_input_tensors"):
            raise _unsupported(layer, "it receives a Keras mask (from Embedding(mask_zero=True) "
                               "or Masking), which its ONNX form cannot apply; drop the mask "
                               "or export with format='jax'")
    ys = _convert_layer(g, layer, call.xs, call.shapes, None, call)
    ys = ys if isinstance(ys, list) else [ys]
    _output_masks(g, call, ys)
    return ys


def _output_masks(g, call, ys):
    """Keras's mask propagation (`supports_masking`, `compute_mask`) over ONNX tensors."""
    from gazelle.layers.layer import Layer
    layer = call.layer
    cls = type(layer).__name__
    if any(y in g.masks for y in ys):            # the converter set them (Embedding, RNNs)
        return
    if not any(m is not None for m in call.masks) or getattr(layer, "_is_op_node", False):
        return
    if hasattr(layer, "_stack") or hasattr(layer, "_input_tensors"):
        return                                   # a nested model: its layers set them
    if not layer.supports_masking:
        return
    elif type(layer).compute_mask is Layer.compute_mask:
        found = call.first_masks()
    elif cls in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"):
        found = [_merged_mask(g, call.masks, layer.name)]
    elif cls == "Concatenate":
        found = [_concatenated_mask(g, call, layer)]
    else:
        from gazelle.export import onnx_attention, onnx_recurrent
        rule = onnx_recurrent.MASK_RULES.get(cls) or onnx_attention.MASK_RULES.get(cls)
        if rule is None:
            raise _unsupported(layer, "it would compute the mask of its output from a Keras "
                               "mask, which the ONNX export does not follow for this layer")
        found = rule(g, call, ys)
    for y, m in zip(ys, found):
        if m is not None:
            g.masks[y] = m


def _merged_mask(g, masks, base):
    """A merge layer's mask: the OR of its inputs' masks when each has one (Keras 3)."""
    if any(m is None for m in masks):
        return None
    out = masks[0]
    for m in masks[1:]:
        out = g.op("Or", [out, m], f"{base}/mask_or", dtype="bool")
    return out


def _concatenated_mask(g, call, layer):
    """Concatenate's mask (Keras 3): the inputs' masks (all True for an unmasked input),
    each broadcast to its input, concatenated, then any() over the last axis."""
    base = f"{layer.name}/mask"
    full = []
    for i, (x, m) in enumerate(zip(call.xs, call.masks)):
        shape = g.op("Shape", [x], f"{base}/shape{i}", dtype="int64")
        if m is None:
            m = g.op("ConstantOfShape", [shape], f"{base}/ones{i}", dtype="bool",
                     value=g.onnx.numpy_helper.from_array(np.ones((1,), bool)))
        else:
            if len(call.shapes[i]) > 2:
                m = g.unsqueeze(m, [-1], f"{base}/expand{i}")
            m = g.op("Expand", [m, shape], f"{base}/broadcast{i}", dtype="bool")
        full.append(g.op("Cast", [m], f"{base}/float{i}", to=g.onnx.TensorProto.FLOAT))
    joined = g.op("Concat", full, f"{base}/concat", axis=int(layer.axis))
    return g.op("Greater", [g.reduce("ReduceMax", joined, [-1], f"{base}/any"),
                            g.const(0.0, f"{base}/zero")], f"{base}/mask", dtype="bool")


def _convert_model(g, model, inputs):
    """Adds the nodes of a Sequential or Functional `model` applied to `inputs`."""
    if hasattr(model, "_stack"):
        x = inputs[0]
        shape = tuple(model._batch_input)
        for layer in model._stack:
            out_shape = layer.compute_output_shape(shape)
            call = Call(layer, [Value(x, shape, g.dtypes.get(x))], {}, [x], [shape],
                        [g.masks.get(x)])
            ys = _convert_call(g, call)
            if len(ys) != 1:
                raise _unsupported(layer, "a layer of a Sequential model must have one output")
            x = ys[0]
            shape = out_shape
        return [x]
    if hasattr(model, "_input_tensors"):
        import jax
        values = {id(t): x for t, x in zip(model._input_tensors, inputs)}
        for node in model._nodes:
            xs = [values[id(t)] for t in node.input_tensors]
            shapes = [tuple(t.shape) for t in node.input_tensors]
            args, kwargs = _values((list(node.args), dict(node.kwargs)), lambda t: Value(
                values[id(t)], t.shape, str(t.dtype)))
            call = Call(node.layer, args, kwargs, xs, shapes, [g.masks.get(x) for x in xs])
            outs = jax.tree_util.tree_leaves(node.outputs, is_leaf=lambda t: hasattr(t, "node"))
            ys = _convert_call(g, call)
            if len(ys) != len(outs):
                raise _unsupported(node.layer, "unexpected number of outputs")
            for t, y in zip(outs, ys):
                values[id(t)] = y
        return [values[id(t)] for t in model._output_tensors]
    raise ValueError(
        f"Model '{model.name}' ({type(model).__name__}) is a subclassed model: format='onnx' "
        "reads the layer graph of Sequential and Functional models only. Use format='jax' "
        "(serialized StableHLO) for subclassed models.")


_ONNX_DTYPES = {"float32": 1, "uint8": 2, "int8": 3, "int32": 6, "int64": 7, "bool": 9,
                "float16": 10, "float64": 11}


def export_onnx(model, filepath, input_signature=None, verbose=True, opset=None):
    """Writes `model` as an ONNX graph (see module docstring)."""
    onnx = _require_onnx()
    if not (hasattr(model, "_stack") or hasattr(model, "_input_tensors")):
        _convert_model(None, model, [])          # raises the subclassed-model error
    infos = model_inputs(model, input_signature)
    g = _Graph(onnx, opset or DEFAULT_OPSET)
    graph_inputs, names = [], []
    for info in infos:
        if info.dtype not in _ONNX_DTYPES:
            raise ValueError(f"Input '{info.name}': dtype {info.dtype} cannot be an ONNX input.")
        name = g.name(info.name)
        g.dtypes[name] = info.dtype
        dims = ["batch" if (d is None and j == 0) else (f"{name}_dim{j}" if d is None else d)
                for j, d in enumerate(info.shape)]
        graph_inputs.append(onnx.helper.make_tensor_value_info(
            name, _ONNX_DTYPES[info.dtype], dims))
        names.append(name)
    outputs = _convert_model(g, model, names)
    out_names = model_output_names(model, len(outputs))
    if hasattr(model, "_output_tensors"):
        out_shapes = [tuple(t.shape) for t in model._output_tensors]
    else:
        out_shapes = [tuple(model.compute_output_shape(tuple(infos[0].shape)))]
    graph_outputs = []
    for t, want, shape in zip(outputs, out_names, out_shapes):
        final = g.name(want)
        g.nodes.append(onnx.helper.make_node("Identity", [t], [final],
                                             name=g.name(f"{want}/output")))
        graph_outputs.append(onnx.helper.make_tensor_value_info(
            final, _ONNX_DTYPES.get(g.dtypes.get(t, "float32"), 1),
            ["batch" if (d is None and j == 0) else (f"{final}_dim{j}" if d is None else d)
             for j, d in enumerate(shape)]))
    graph = onnx.helper.make_graph(g.nodes, model.name, graph_inputs, graph_outputs,
                                   initializer=g.initializers)
    proto = onnx.helper.make_model(
        graph, producer_name="gazelle",
        opset_imports=[onnx.helper.make_opsetid("", int(opset or DEFAULT_OPSET))])
    proto.ir_version = min(proto.ir_version, 9)
    try:
        onnx.checker.check_model(proto)
        proto = onnx.shape_inference.infer_shapes(proto)
    except Exception as e:  # noqa: BLE001
        raise ValueError(f"The ONNX graph built for model '{model.name}' is invalid: {e}") from e
    filepath = os.fspath(filepath)
    data = proto.SerializeToString()
    tmp = filepath + ".tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, filepath)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    if verbose:
        print(f"Saved ONNX artifact at '{filepath}' (inputs {[i.name for i in infos]}, outputs "
              f"{out_names}).")
    return filepath
