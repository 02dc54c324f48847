"""ONNX nodes for attention, EinsumDense, RMSNormalization, masked average pooling and
`keras.ops` calls on placeholders. [top]

MultiHeadAttention (and GroupedQueryAttention, whose key/value heads are repeated for
the query heads) follows gazelle's two paths: when XLA's fused attention runs (no
dropout, no scores returned, equal key and value head sizes) the scores are scaled after
the product and masked positions get a large negative number; otherwise the query is
scaled first and the masked softmax puts zeros at masked positions. Masks come from the
call's arguments, from `use_causal_mask` (built for the actual sequence lengths, so those
stay dynamic) and from the Keras masks of the query, value and key. Attention over more
than one axis is refused.

`keras.ops` calls recorded in a Functional model (OpLayer nodes) export when the op is
elementwise arithmetic, a reduction, a reshape/transpose/concatenation, a cast or a
basic slice (`x[:, 0]`); constants among the arguments become initializers.
"""
import inspect

import numpy as np

from gazelle.export.onnx import _ONNX_DTYPES, Value, _activation, _unsupported, _weight

_INT64_MAX = np.iinfo(np.int64).max


# -- EinsumDense, RMSNormalization, GlobalAveragePooling1D ------------------------------------
def einsum_dense(g, layer, x, base):
    y = g.op("Einsum", [g.as_float(x, base), g.const(_weight(layer, "_kernel"),
                                                      f"{base}/kernel")],
             f"{base}/einsum", equation=layer.equation)
    bias = _weight(layer, "bias")
    if bias is not None:
        y = g.op("Add", [y, g.const(bias, f"{base}/bias")], f"{base}/bias_add")
    return _activation(g, y, layer.activation, base, layer)


def _einsum_dense(g, layer, call):
    return einsum_dense(g, layer, call.args[0].name, layer.name)


def _rms_norm(g, layer, call):
    base, x = layer.name, g.as_float(call.args[0].name, layer.name)
    axes = list(layer._norm_axes)
    rank = len(call.args[0].shape)
    mean_square = g.reduce("ReduceMean", g.op("Mul", [x, x], f"{base}/square"), axes,
                           f"{base}/mean_square", keepdims=True)
    inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [
        mean_square, g.const(layer.epsilon, f"{base}/epsilon")], f"{base}/plus_eps")],
        f"{base}/rms")], f"{base}/inv_rms")
    shape = [1] * rank
    scale = _weight(layer, "scale")
    for a, size in zip(axes, scale.shape):
        shape[a] = size
    y = g.op("Mul", [x, inv], f"{base}/normalized")
    return g.op("Mul", [y, g.const(scale.reshape(shape), f"{base}/scale")], f"{base}/scaled")


def _global_average_1d(g, layer, call):
    base, value = layer.name, call.args[0]
    if layer.data_format != "channels_last":
        raise _unsupported(layer, f"data_format={layer.data_format!r}; only channels_last")
    x, mask = g.as_float(value.name, base), call.mask_of(value)
    if mask is None:
        return g.reduce("ReduceMean", x, [1], f"{base}/pool", keepdims=layer.keepdims)
    keep = g.unsqueeze(_as_bool(g, mask, base), [2], f"{base}/keep")
    total = g.reduce("ReduceSum", g.op("Where", [keep, x, g.const(0.0, f"{base}/zero")],
                                        f"{base}/kept"), [1], f"{base}/total",
                     keepdims=layer.keepdims)
    count = g.reduce("ReduceSum", g.op("Cast", [keep], f"{base}/ones",
                                       to=g.onnx.TensorProto.FLOAT), [1], f"{base}/count",
                     keepdims=layer.keepdims)
    return g.op("Div", [total, count], f"{base}/average")


# -- masks ----------------------------------------------------------------------------------
def _as_bool(g, x, base):
    if g.dtypes.get(x) == "bool":
        return x
    if g.dtypes.get(x) == "float32":      # Keras: a float mask keeps positions > 0.5
        return g.op("Greater", [x, g.const(0.5, f"{base}/half")], f"{base}/mask_bool",
                    dtype="bool")
    return g.op("Cast", [x], f"{base}/mask_bool", dtype="bool", to=g.onnx.TensorProto.BOOL)


def _mask_tensor(g, value, base):
    """A call's mask argument as a bool tensor name (None stays None)."""
    if value is None:
        return None
    if isinstance(value, Value):
        return _as_bool(g, value.name, base)
    return g.const(np.asarray(value).astype(bool), f"{base}/mask", "bool")


def _positions(g, x, axis, base):
    """`range(x.shape[axis])` (int64), for the size `x` has when the graph runs."""
    size = g.op("Gather", [g.op("Shape", [x], f"{base}/shape", dtype="int64"),
                           g.const(axis, f"{base}/axis", "int64")], f"{base}/size",
                dtype="int64", axis=0)
    return g.op("Range", [g.const(0, f"{base}/start", "int64"), size,
                          g.const(1, f"{base}/delta", "int64")], f"{base}/range",
                dtype="int64")


def _position_grid(g, query, key, base):
    rows = g.unsqueeze(_positions(g, query, 1, f"{base}/rows"), [1], f"{base}/rows")
    cols = g.unsqueeze(_positions(g, key, 1, f"{base}/cols"), [0], f"{base}/cols")
    return rows, cols


def _causal(g, query, key, base):
    """`(1, T, S)`: query position i sees key positions j <= i."""
    rows, cols = _position_grid(g, query, key, f"{base}/causal")
    return g.unsqueeze(g.op("GreaterOrEqual", [rows, cols], f"{base}/causal", dtype="bool"),
                       [0], f"{base}/causal_3d")


def _window(g, query, key, window, base):
    rows, cols = _position_grid(g, query, key, f"{base}/window")
    dist = g.op("Abs", [g.op("Sub", [rows, cols], f"{base}/offset", dtype="int64")],
                f"{base}/distance", dtype="int64")
    near = g.op("Less", [dist, g.const(window, f"{base}/window_size", "int64")],
                f"{base}/window", dtype="bool")
    return g.unsqueeze(near, [0], f"{base}/window_3d")


def _all(g, parts, base):
    parts = [(p, r) for p, r in parts if p is not None]
    if not parts:
        return None, 0
    mask, rank = parts[0]
    for p, r in parts[1:]:
        mask = g.op("And", [mask, p], f"{base}/and", dtype="bool")
        rank = max(rank, r)
    return mask, rank


# -- MultiHeadAttention, GroupedQueryAttention ---------------------------------------------
def _repeat_heads(g, x, repeats, heads, dim, base):
    """`jnp.repeat(x, repeats, axis=2)` for `(batch, steps, heads, dim)`."""
    if repeats == 1:
        return x
    x = g.unsqueeze(x, [3], f"{base}/split_heads")
    x = g.op("Tile", [x, g.const([1, 1, 1, repeats, 1], f"{base}/repeats", "int64")],
             f"{base}/tiled")
    return g.op("Reshape", [x, g.const([0, 0, heads * repeats, dim], f"{base}/heads", "int64")],
                f"{base}/repeated")


def _heads_attention(g, layer, call, spec):
    """The attention of MultiHeadAttention and GroupedQueryAttention over projected heads,
    mirroring gazelle's fused path (`jax.nn.dot_product_attention`) or its einsum path."""
    base = layer.name
    a = layer._bind(call.args, call.kwargs)
    query, value, key = a["query"], a["value"], a.get("key")
    if len(query.shape) != 3:
        raise _unsupported(layer, f"a query of shape {query.shape}; only (batch, steps, "
                           "features) inputs export")

    def given_or_attached(name, tensor):
        explicit = a.get(f"{name}_mask")
        if explicit is not None:
            return _mask_tensor(g, explicit, f"{base}/{name}")
        return None if tensor is None else call.mask_of(tensor)

    query_mask = given_or_attached("query", query)
    value_mask = given_or_attached("value", value)
    key_mask = given_or_attached("key", key)
    key = value if key is None else key
    attention_mask = _mask_tensor(g, a.get("attention_mask"), f"{base}/attention")
    parts = [(attention_mask, len(a["attention_mask"].shape) if isinstance(
        a.get("attention_mask"), Value) else np.ndim(a.get("attention_mask")))]
    if query_mask is not None:
        parts.append((g.unsqueeze(query_mask, [-1], f"{base}/query_mask"), 3))
    for name, m in (("value", value_mask), ("key", key_mask)):
        if m is not None:
            parts.append((g.unsqueeze(m, [-2], f"{base}/{name}_mask"), 3))
    if a.get("use_causal_mask", False):
        parts.append((_causal(g, query.name, value.name, base), 3))
    if spec["sliding_window"] is not None:
        parts.append((_window(g, query.name, value.name, spec["sliding_window"], base), 3))
    mask, rank = _all(g, parts, f"{base}/mask")
    while mask is not None and rank < 4:          # broadcast over the heads
        mask = g.unsqueeze(mask, [-3], f"{base}/mask_heads")
        rank += 1
    return_scores = bool(a.get("return_attention_scores", False))
    gate = (einsum_dense(g, spec["gate"], query.name, f"{base}/gate")
            if spec["gate"] is not None else None)
    q = einsum_dense(g, spec["query"], query.name, f"{base}/query")
    k = einsum_dense(g, spec["key"], key.name, f"{base}/key")
    v = einsum_dense(g, spec["value"], value.name, f"{base}/value")
    if spec["repeats"] > 1:
        heads, dim = spec["kv_heads"], spec["head_dim"]
        k = _repeat_heads(g, k, spec["repeats"], heads, dim, f"{base}/key")
        v = _repeat_heads(g, v, spec["repeats"], heads, dim, f"{base}/value")
    scale = g.const(spec["scale"], f"{base}/scale")
    if spec["fused"] and not return_scores:     # jax.nn.dot_product_attention's order
        logits = g.op("Mul", [g.op("Einsum", [q, k], f"{base}/logits_raw",
                                   equation="btnh,bsnh->bnts"), scale], f"{base}/logits")
        if mask is not None:
            large = float(np.float32(-0.7) * np.finfo(np.float32).max)
            logits = g.op("Where", [mask, logits, g.const(large, f"{base}/large_negative")],
                          f"{base}/masked")
        probs = g.op("Softmax", [logits], f"{base}/softmax", axis=-1)
        out = g.op("Einsum", [probs, v], f"{base}/attend", equation="bnts,bsnh->btnh")
    else:                                       # scaled query, einsum, masked Softmax layer
        q = g.op("Mul", [q, scale], f"{base}/query_scaled")
        scores = g.op("Einsum", [k, q] if spec["key_first"] else [q, k], f"{base}/scores",
                      equation=spec["dot"])
        if mask is not None:
            scores = g.op("Where", [mask, scores, g.const(-1e9, f"{base}/minus_1e9")],
                          f"{base}/masked")
        probs = g.op("Softmax", [scores], f"{base}/softmax", axis=-1)
        if mask is not None:
            probs = g.op("Where", [mask, probs, g.const(0.0, f"{base}/zero")],
                         f"{base}/probs")
        out = g.op("Einsum", [probs, v], f"{base}/attend", equation=spec["combine"])
    if gate is not None:
        out = g.op("Mul", [out, gate], f"{base}/gated")
    out = einsum_dense(g, spec["output"], out, f"{base}/attention_output")
    return [out, probs] if return_scores else out


def _mha(g, layer, call):
    from gazelle.layers.attention.multi_head_attention import MultiHeadAttention
    if type(layer)._compute_attention is not MultiHeadAttention._compute_attention:
        raise _unsupported(layer, "it overrides _compute_attention")
    if len(layer._attention_axes) != 1:
        raise _unsupported(layer, f"attention_axes={layer._attention_axes}; only attention "
                           "over one axis (the default for (batch, steps, features)) exports")
    return _heads_attention(g, layer, call, dict(
        query=layer.query_dense, key=layer.key_dense, value=layer.value_dense,
        gate=layer._gate_dense if layer._use_gate else None, output=layer.output_dense,
        scale=layer._inverse_sqrt_key_dim, sliding_window=layer._sliding_window,
        fused=not (layer._dropout > 0 or layer._key_dim != layer._value_dim),
        dot=layer._dot_product_equation, combine=layer._combine_equation, key_first=True,
        repeats=1, kv_heads=layer._num_heads, head_dim=layer._key_dim))


def _gqa(g, layer, call):
    return _heads_attention(g, layer, call, dict(
        query=layer._query_dense, key=layer._key_dense, value=layer._value_dense,
        gate=layer._gate_dense if layer.use_gate else None, output=layer._output_dense,
        scale=layer._inverse_sqrt_head_dim, sliding_window=layer.sliding_window,
        fused=not layer.dropout > 0, dot="bquh,bkuh->buqk", combine="buqk,bkuh->bquh",
        key_first=False, repeats=layer.num_repeats, kv_heads=layer.num_key_value_heads,
        head_dim=layer.head_dim))


# -- Attention, AdditiveAttention -------------------------------------------------------------
def _attention(g, layer, call):
    base = layer.name
    a = layer._bind(call.args, call.kwargs)
    inputs = a["inputs"]
    if not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3:
        raise _unsupported(layer, "inputs must be [query, value] or [query, value, key]")
    query, value = inputs[0].name, inputs[1].name
    key = inputs[2].name if len(inputs) > 2 else value
    given = a.get("mask")
    if given is not None:
        masks = [_mask_tensor(g, m, f"{base}/mask{i}") for i, m in enumerate(given)]
    else:
        masks = [call.mask_of(v) for v in inputs]
    query_mask, value_mask = masks[0], masks[1]
    query, key, value = (g.as_float(t, base) for t in (query, key, value))
    scale = _weight(layer, "scale")
    if type(layer).__name__ == "AdditiveAttention" or layer.score_mode == "concat":
        pairs = g.op("Add", [g.unsqueeze(query, [-2], f"{base}/query_rows"),
                             g.unsqueeze(key, [-3], f"{base}/key_cols")], f"{base}/pairs")
        if type(layer).__name__ == "AdditiveAttention":
            pairs = g.op("Tanh", [pairs], f"{base}/tanh")
            if scale is not None:
                pairs = g.op("Mul", [g.const(scale, f"{base}/scale"), pairs], f"{base}/scaled")
            scores = g.reduce("ReduceSum", pairs, [-1], f"{base}/scores")
        else:
            if scale is not None:
                pairs = g.op("Mul", [g.const(scale, f"{base}/scale"), pairs], f"{base}/scaled")
            summed = g.reduce("ReduceSum", g.op("Tanh", [pairs], f"{base}/tanh"), [-1],
                              f"{base}/summed")
            scores = g.op("Mul", [g.const(_weight(layer, "concat_score_weight"),
                                          f"{base}/concat_score_weight"), summed],
                          f"{base}/scores")
    else:
        scores = g.op("MatMul", [query, g.op("Transpose", [key], f"{base}/key_t",
                                             perm=[0, 2, 1])], f"{base}/scores")
        if scale is not None:
            scores = g.op("Mul", [scores, g.const(scale, f"{base}/scale")], f"{base}/scaled")
    parts = []
    if value_mask is not None:
        parts.append((g.unsqueeze(value_mask, [-2], f"{base}/value_mask"), 3))
    if a.get("use_causal_mask", False):
        parts.append((_causal(g, query, key, base), 3))
    mask, _ = _all(g, parts, f"{base}/mask")
    if mask is not None:
        lowered = g.op("Sub", [scores, g.const(1e9, f"{base}/1e9")], f"{base}/lowered")
        scores = g.op("Where", [mask, scores, lowered], f"{base}/masked")
    weights = g.op("Softmax", [scores], f"{base}/softmax", axis=-1)
    out = g.op("MatMul", [weights, value], f"{base}/attend")
    if query_mask is not None:
        out = g.op("Where", [g.unsqueeze(query_mask, [-1], f"{base}/query_mask"), out,
                             g.const(0.0, f"{base}/zero")], f"{base}/query_masked")
    return [out, weights] if a.get("return_attention_scores", False) else out


def _attention_mask(g, call, ys):
    explicit = call.kwargs.get("mask")
    first = (_mask_tensor(g, explicit[0], f"{call.layer.name}/out_mask")
             if explicit is not None else call.first_masks()[0])
    return [first] + [None] * (len(ys) - 1)


# -- keras.ops calls on placeholders (OpLayer nodes) ----------------------------------------
_BINARY = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "true_divide": "Div",
           "divide": "Div", "maximum": "Max", "minimum": "Min", "power": "Pow",
           "matmul": "MatMul", "equal": "Equal", "not_equal": "Equal", "less": "Less",
           "less_equal": "LessOrEqual", "greater": "Greater", "greater_equal": "GreaterOrEqual",
           "logical_and": "And", "logical_or": "Or"}
_UNARY = {"negative": "Neg", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "tanh": "Tanh",
          "sigmoid": "Sigmoid", "relu": "Relu", "absolute": "Abs", "abs": "Abs", "erf": "Erf",
          "floor": "Floor", "ceil": "Ceil", "sin": "Sin", "cos": "Cos", "softplus": "Softplus",
          "logical_not": "Not"}
_REDUCE = {"mean": "ReduceMean", "sum": "ReduceSum", "max": "ReduceMax", "min": "ReduceMin",
           "amax": "ReduceMax", "amin": "ReduceMin"}
_FLOAT = ("float16", "float32", "float64", "bfloat16")


def _dtype_of(g, v):
    if isinstance(v, Value):
        return g.dtypes.get(v.name, str(v.dtype))
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, np.integer)):
        return None                           # weakly typed: takes the other operand's type
    if isinstance(v, float):
        return "weak_float"
    return str(np.asarray(v).dtype)


def _operands(g, op, values, base, result=None):
    """Tensor names for `values` (Values or constants), all of one dtype (JAX's promotion,
    float32 for any floating input)."""
    kinds = [_dtype_of(g, v) for v in values]
    if result is None:
        strong = [k for k in kinds if k not in (None, "weak_float")]
        if any(k in _FLOAT or k == "weak_float" for k in kinds):
            result = "float32"
        elif strong:
            result = strong[0] if all(k == strong[0] for k in strong) else "int32"
        else:
            result = "int32"
    names = []
    for i, (v, k) in enumerate(zip(values, kinds)):
        if isinstance(v, Value):
            name = v.name
            if k != result:
                name = g.op("Cast", [name], f"{base}/cast{i}", dtype=result,
                            to=_ONNX_DTYPES[result])
        else:
            name = g.const(np.asarray(v).astype(result), f"{base}/const{i}", result)
        names.append(name)
    return names, result


def _axes_arg(axis, rank):
    if axis is None:
        return list(range(rank))
    return [int(a) % rank for a in (axis if isinstance(axis, (list, tuple)) else [axis])]


def _get_item(g, layer, x, key, base):
    if isinstance(key, list):
        key = tuple(key)
    key = key if isinstance(key, tuple) else (key,)
    if any(isinstance(k, Value) or hasattr(k, "shape") for k in key):
        raise _unsupported(layer, "indexing with a tensor; use ops.take")
    rank = len(x.shape)
    real = sum(1 for k in key if k is not None and k is not Ellipsis)
    if Ellipsis in key:
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (rank - real) + key[i + 1:]
    else:
        key = key + (slice(None),) * (rank - real)
    starts, ends, axes, steps, squeezed, added = [], [], [], [], [], []
    axis = out_pos = 0
    for k in key:
        if k is None:
            added.append(out_pos)
            out_pos += 1
        elif isinstance(k, (int, np.integer)) and not isinstance(k, bool):
            k = int(k)
            starts.append(k)
            ends.append(_INT64_MAX if k == -1 else k + 1)
            axes.append(axis)
            steps.append(1)
            squeezed.append(axis)
            axis += 1
        elif isinstance(k, slice):
            step = 1 if k.step is None else int(k.step)
            if step <= 0:
                raise _unsupported(layer, f"slice {k} with a step that is not positive")
            if k != slice(None):
                starts.append(0 if k.start is None else int(k.start))
                ends.append(_INT64_MAX if k.stop is None else int(k.stop))
                axes.append(axis)
                steps.append(step)
            axis += 1
            out_pos += 1
        else:
            raise _unsupported(layer, f"index {k!r}")
    dtype = g.dtypes.get(x.name, "float32")
    y = x.name
    if starts:
        y = g.op("Slice", [y, g.const(starts, f"{base}/starts", "int64"),
                           g.const(ends, f"{base}/ends", "int64"),
                           g.const(axes, f"{base}/axes", "int64"),
                           g.const(steps, f"{base}/steps", "int64")], f"{base}/slice",
                 dtype=dtype)
    if squeezed:
        y = g.squeeze(y, squeezed, f"{base}/squeeze")
    if added:
        y = g.unsqueeze(y, added, f"{base}/new_axes")
    return y if y != x.name else g.op("Identity", [y], f"{base}/identity", dtype=dtype)


def convert_op(g, layer, call):
    """The ONNX nodes of one `keras.ops` call recorded in a Functional model."""
    name, base = layer._fn_name, layer.name
    args, kwargs = layer._arguments(call.args, call.kwargs)
    try:
        bound = inspect.signature(layer._fn).bind(*args, **kwargs)
    except TypeError as e:
        raise _unsupported(layer, f"ops.{name}: {e}") from None
    bound.apply_defaults()
    a = bound.arguments
    unsupported = _unsupported(layer, f"ops.{name} on placeholders (ONNX export knows "
                               "arithmetic, reductions, reshape/transpose/concatenate, "
                               "cast and basic slicing)")
    if name in _BINARY:
        result = "float32" if name in ("true_divide", "divide") else None
        if name in ("logical_and", "logical_or"):
            result = "bool"
        (x1, x2), dtype = _operands(g, name, [a["x1"], a["x2"]], base, result)
        out_dtype = "bool" if name in ("equal", "not_equal", "less", "less_equal", "greater",
                                       "greater_equal", "logical_and", "logical_or") else dtype
        y = g.op(_BINARY[name], [x1, x2], f"{base}/{name}", dtype=out_dtype)
        if name == "not_equal":
            y = g.op("Not", [y], f"{base}/not", dtype="bool")
        return y
    if name in _UNARY or name in ("square", "rsqrt", "silu", "gelu", "softmax"):
        x = a["x"]
        if not isinstance(x, Value):
            raise unsupported
        if name == "logical_not":
            return g.op("Not", [_as_bool(g, x.name, base)], f"{base}/not", dtype="bool")
        if name in ("negative", "absolute", "abs", "square") and g.dtypes.get(x.name) not in (
                None, "float32"):
            dtype = g.dtypes[x.name]
            op = "Mul" if name == "square" else _UNARY[name]
            ins = [x.name, x.name] if name == "square" else [x.name]
            return g.op(op, ins, f"{base}/{name}", dtype=dtype)
        v = g.as_float(x.name, base)
        if name == "square":
            return g.op("Mul", [v, v], f"{base}/square")
        if name == "rsqrt":
            return g.op("Reciprocal", [g.op("Sqrt", [v], f"{base}/sqrt")], f"{base}/rsqrt")
        if name == "silu":
            return _activation(g, v, "silu", base, layer)
        if name == "softmax":
            axis = a.get("axis", -1)
            if not isinstance(axis, int):
                raise unsupported
            return g.op("Softmax", [v], f"{base}/softmax", axis=axis)
        if name == "gelu":
            if not a.get("approximate", True):
                return _activation(g, v, "gelu", base, layer)
            cube = g.op("Mul", [g.op("Mul", [v, v], f"{base}/sq"), v], f"{base}/cube")
            inner = g.op("Mul", [g.op("Add", [v, g.op("Mul", [cube, g.const(
                0.044715, f"{base}/c")], f"{base}/c_cube")], f"{base}/sum"),
                g.const(np.sqrt(2.0 / np.pi), f"{base}/sqrt_2_pi")], f"{base}/inner")
            t = g.op("Add", [g.op("Tanh", [inner], f"{base}/tanh"), g.const(1.0, f"{base}/one")],
                     f"{base}/one_plus")
            return g.op("Mul", [g.op("Mul", [v, g.const(0.5, f"{base}/half")], f"{base}/half_x"),
                                t], f"{base}/gelu")
        return g.op(_UNARY[name], [v], f"{base}/{name}")
    if name in _REDUCE:
        x = a["x"]
        if a.get("initial") is not None:
            raise unsupported
        v = x.name
        if name in ("mean",):
            v = g.as_float(v, base)
        return g.reduce(_REDUCE[name], v, _axes_arg(a.get("axis"), len(x.shape)),
                        f"{base}/{name}", keepdims=a.get("keepdims", False),
                        dtype=g.dtypes.get(v, "float32"))
    x = a.get("x")
    dtype = g.dtypes.get(x.name, "float32") if isinstance(x, Value) else None
    if name == "reshape":
        shape = [int(d) for d in a["newshape"]]
        if 0 in shape:
            raise unsupported
        return g.op("Reshape", [x.name, g.const(shape, f"{base}/shape", "int64")],
                    f"{base}/reshape", dtype=dtype)
    if name == "transpose":
        axes = a.get("axes")
        perm = list(range(len(x.shape)))[::-1] if axes is None else [
            int(p) % len(x.shape) for p in axes]
        return g.op("Transpose", [x.name], f"{base}/transpose", dtype=dtype, perm=perm)
    if name == "expand_dims":
        axis = a["axis"]
        return g.unsqueeze(x.name, list(axis) if isinstance(axis, (list, tuple)) else [axis],
                           f"{base}/expand_dims")
    if name == "squeeze":
        axis = a.get("axis")
        axes = ([i for i, d in enumerate(x.shape) if d == 1] if axis is None
                else _axes_arg(axis, len(x.shape)))
        return g.squeeze(x.name, axes, f"{base}/squeeze")
    if name == "concatenate":
        names, dtype = _operands(g, name, list(a["xs"]), base)
        return g.op("Concat", names, f"{base}/concat", dtype=dtype, axis=int(a.get("axis", 0)))
    if name == "cast":
        target = np.dtype(a["dtype"]).name if a["dtype"] != "bfloat16" else "bfloat16"
        if target not in _ONNX_DTYPES:
            raise unsupported
        return g.op("Cast", [x.name], f"{base}/cast", dtype=target, to=_ONNX_DTYPES[target])
    if name == "get_item":
        return _get_item(g, layer, x, a["key"], base)
    if name == "take":
        if a.get("axis") is None:
            raise unsupported
        indices = a["indices"]
        ids = (g.op("Cast", [indices.name], f"{base}/ids", dtype="int64",
                    to=_ONNX_DTYPES["int64"]) if isinstance(indices, Value)
               else g.const(np.asarray(indices), f"{base}/ids", "int64"))
        return g.op("Gather", [x.name, ids], f"{base}/take", dtype=dtype, axis=int(a["axis"]))
    if name == "einsum":
        operands = list(a["operands"])
        names, _ = _operands(g, name, operands, base, "float32")
        return g.op("Einsum", names, f"{base}/einsum", equation=a["subscripts"])
    if name == "where":
        if a.get("x1") is None or a.get("x2") is None:
            raise unsupported
        cond = a["condition"]
        cond = (_as_bool(g, cond.name, base) if isinstance(cond, Value)
                else g.const(np.asarray(cond, bool), f"{base}/condition", "bool"))
        (x1, x2), dtype = _operands(g, name, [a["x1"], a["x2"]], base)
        return g.op("Where", [cond, x1, x2], f"{base}/where", dtype=dtype)
    raise unsupported


CONVERTERS = {"MultiHeadAttention": _mha, "GroupedQueryAttention": _gqa, "Attention": _attention,
              "AdditiveAttention": _attention, "EinsumDense": _einsum_dense,
              "RMSNormalization": _rms_norm, "GlobalAveragePooling1D": _global_average_1d}
MASK_AWARE = ("MultiHeadAttention", "GroupedQueryAttention", "Attention", "AdditiveAttention",
              "GlobalAveragePooling1D")
MASK_RULES = {"Attention": _attention_mask, "AdditiveAttention": _attention_mask,
              "GlobalAveragePooling1D": lambda g, call, ys: [None] * len(ys)}
