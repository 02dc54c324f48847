"""ONNX nodes for the recurrent layers and their wrappers. [top]

SimpleRNN, LSTM and GRU (also `RNN` over one of their cells) become ONNX's own `RNN`,
`LSTM` and `GRU` operators when those compute exactly what Keras does: no mask, and
activations the operators know (tanh, sigmoid, relu, softsign, softplus). The weights are
rearranged for them: ONNX's LSTM orders its gates input, output, forget, cell (Keras:
input, forget, cell, output), GRU keeps Keras's update, reset, candidate order with
`linear_before_reset` = `reset_after`, and ONNX takes the kernels transposed.

Otherwise (a mask from `Embedding(mask_zero=True)` or `Masking`, another activation) the
layer becomes a `Scan` whose body is the cell's step written out, with Keras's mask rule:
at a masked step the states stay, and the output repeats the previous one (or is zero
with `zero_output_for_mask`, as inside `Bidirectional` with `return_sequences`).

`Bidirectional` is its two layers and a merge; `TimeDistributed` folds the time axis into
the batch around the wrapped layer. Stateful layers, initial states given as inputs,
stacked or custom cells are refused with the layer's name.
"""
import numpy as np

from gazelle import activations
from gazelle.export.onnx import Value, _activation, _convert_layer, _unsupported, _weight

_CELLS = {"SimpleRNNCell": ("RNN", 1), "LSTMCell": ("LSTM", 4), "GRUCell": ("GRU", 3)}
_NATIVE_ACTIVATIONS = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu",
                       "softsign": "Softsign", "softplus": "Softplus"}
_INT64_MIN = np.iinfo(np.int64).min


def _act_name(fn):
    name = fn if isinstance(fn, str) else activations.serialize(fn)
    return "linear" if name is None else name


def flip_time(g, x, base):
    """`x` with its axis 1 (time) reversed."""
    return g.op("Slice", [x, g.const([-1], f"{base}/start", "int64"),
                          g.const([_INT64_MIN], f"{base}/end", "int64"),
                          g.const([1], f"{base}/axis", "int64"),
                          g.const([-1], f"{base}/step", "int64")], f"{base}/flip",
                dtype=g.dtypes.get(x, "float32"))


def _cell_kind(layer):
    if getattr(layer, "stateful", False):
        raise _unsupported(layer, "stateful=True: an ONNX graph keeps no states between "
                           "calls; rebuild the layer with stateful=False (same weights) to "
                           "export it")
    cell = getattr(layer, "cell", None)
    kind = _CELLS.get(type(cell).__name__)
    if kind is None:
        raise _unsupported(layer, f"its cell {type(cell).__name__} is not a SimpleRNN, LSTM "
                           "or GRU cell")
    return kind


def _bias_parts(cell, width):
    """(input bias, recurrent bias) in Keras's gate order, zeros where there is none."""
    bias = _weight(cell, "bias")
    zeros = np.zeros((width,), "float32")
    if bias is None:
        return zeros, zeros
    if bias.ndim == 2:                        # GRU(reset_after=True): (2, 3 * units)
        return bias[0], bias[1]
    return bias, zeros


def convert_rnn(g, layer, x, mask, base):
    """The outputs of a SimpleRNN/LSTM/GRU/RNN call: `[output, *states]` with
    `return_state`, else `[output]`."""
    op_type, gates = _cell_kind(layer)
    cell = layer.cell
    x = g.as_float(x, base)
    acts = [_act_name(cell.activation)]
    if op_type != "RNN":
        acts.insert(0, _act_name(cell.recurrent_activation))
    if mask is None and all(a in _NATIVE_ACTIVATIONS for a in acts):
        out, states = _native(g, layer, x, base, op_type, gates, acts)
    else:
        out, states = _scan(g, layer, x, mask, base, op_type, gates)
    return [out] + states if layer.return_state else [out]


def _native(g, layer, x, base, op_type, gates, acts):
    cell, units = layer.cell, layer.cell.units
    order = [0, 3, 1, 2] if op_type == "LSTM" else list(range(gates))   # ONNX LSTM: i, o, f, c
    columns = np.concatenate([np.arange(k * units, (k + 1) * units) for k in order])
    kernel = _weight(cell, "kernel")[:, columns].T[None]
    recurrent = _weight(cell, "recurrent_kernel")[:, columns].T[None]
    in_bias, rec_bias = _bias_parts(cell, gates * units)
    bias = np.concatenate([in_bias[columns], rec_bias[columns]])[None]
    if op_type == "LSTM":
        acts = [acts[0], acts[1], acts[1]]       # gates, candidate, output
    attrs = dict(hidden_size=units, activations=[_NATIVE_ACTIVATIONS[a] for a in acts],
                 direction="reverse" if layer.go_backwards else "forward")
    if op_type == "GRU":
        attrs["linear_before_reset"] = int(cell.reset_after)
    time_major = g.op("Transpose", [x], f"{base}/time_major", perm=[1, 0, 2])
    outs = g.op(op_type, [time_major, g.const(kernel, f"{base}/W"),
                          g.const(recurrent, f"{base}/R"), g.const(bias, f"{base}/B")],
                f"{base}/{op_type.lower()}", n_out=3 if op_type == "LSTM" else 2, **attrs)
    states = [g.squeeze(outs[1], [0], f"{base}/h")]
    if op_type == "LSTM":
        states.append(g.squeeze(outs[2], [0], f"{base}/c"))
    if not layer.return_sequences:
        return states[0], states
    seq = g.op("Transpose", [g.squeeze(outs[0], [1], f"{base}/y")], f"{base}/sequences",
               perm=[1, 0, 2])
    if layer.go_backwards:        # Keras lists the outputs in the order they were computed
        seq = flip_time(g, seq, f"{base}/sequences")
    return seq, states


def _zeros(g, x, units, base):
    """Zeros `(batch, units)` for the batch of `x`."""
    batch = g.op("Slice", [g.op("Shape", [x], f"{base}/shape", dtype="int64"),
                           g.const([0], f"{base}/zero", "int64"),
                           g.const([1], f"{base}/one", "int64")], f"{base}/batch",
                 dtype="int64")
    size = g.op("Concat", [batch, g.const([units], f"{base}/units", "int64")],
                f"{base}/size", dtype="int64", axis=0)
    return g.op("ConstantOfShape", [size], f"{base}/zeros",
                value=g.onnx.numpy_helper.from_array(np.zeros((1,), "float32")))


def _scan(g, layer, x, mask, base, op_type, gates):
    onnx = g.onnx
    cell, units = layer.cell, layer.cell.units
    kernel = _weight(cell, "kernel")
    recurrent = _weight(cell, "recurrent_kernel")
    in_bias, rec_bias = _bias_parts(cell, gates * units)
    # The input half of every step at once, as gazelle's RNN does before its scan.
    projected = g.op("Add", [g.op("MatMul", [x, g.const(kernel, f"{base}/kernel")],
                                  f"{base}/project"), g.const(in_bias, f"{base}/bias")],
                     f"{base}/projected")
    n_states = 2 if op_type == "LSTM" else 1
    body = g.subgraph()
    b = f"{base}/step"
    state_in = [body.name(f"{b}/h_in")] + ([body.name(f"{b}/c_in")] if n_states == 2 else [])
    last_in = body.name(f"{b}/last_in")
    x_t = body.name(f"{b}/x_t")
    m_t = body.name(f"{b}/m_t") if mask is not None else None
    for n in state_in + [last_in, x_t]:
        body.dtypes[n] = "float32"
    h_prev = state_in[0]
    act = lambda v, what: _activation(body, v, cell.activation, f"{b}/{what}", layer)  # noqa: E731
    rec = lambda v, what: _activation(body, v, cell.recurrent_activation,  # noqa: E731
                                      f"{b}/{what}", layer)

    def split(v, n, what):
        return body.op("Split", [v, body.const([units] * n, f"{b}/{what}_sizes", "int64")],
                       f"{b}/{what}", n_out=n, axis=-1)

    if op_type == "RNN":
        z = body.op("Add", [x_t, body.op("MatMul", [h_prev, body.const(recurrent, f"{base}/R")],
                                         f"{b}/rec")], f"{b}/z")
        new = [act(z, "h")]
    elif op_type == "LSTM":
        z = body.op("Add", [x_t, body.op("MatMul", [h_prev, body.const(recurrent, f"{base}/R")],
                                         f"{b}/rec")], f"{b}/z")
        z_i, z_f, z_c, z_o = split(z, 4, "gates")
        c = body.op("Add", [body.op("Mul", [rec(z_f, "f"), state_in[1]], f"{b}/keep"),
                            body.op("Mul", [rec(z_i, "i"), act(z_c, "candidate")], f"{b}/write")],
                    f"{b}/c")
        new = [body.op("Mul", [rec(z_o, "o"), act(c, "c_act")], f"{b}/h"), c]
    else:
        x_z, x_r, x_h = split(x_t, 3, "x_gates")
        if cell.reset_after:
            inner = body.op("Add", [body.op("MatMul", [h_prev, body.const(recurrent, f"{base}/R")],
                                            f"{b}/rec"), body.const(rec_bias, f"{base}/rec_bias")],
                            f"{b}/inner")
            i_z, i_r, i_h = split(inner, 3, "rec_gates")
            z = rec(body.op("Add", [x_z, i_z], f"{b}/z_in"), "z")
            r = rec(body.op("Add", [x_r, i_r], f"{b}/r_in"), "r")
            hh = act(body.op("Add", [x_h, body.op("Mul", [r, i_h], f"{b}/reset")],
                             f"{b}/hh_in"), "hh")
        else:
            inner = body.op("MatMul", [h_prev, body.const(recurrent[:, :2 * units],
                                                          f"{base}/R_zr")], f"{b}/rec")
            i_z, i_r = split(inner, 2, "rec_gates")
            z = rec(body.op("Add", [x_z, i_z], f"{b}/z_in"), "z")
            r = rec(body.op("Add", [x_r, i_r], f"{b}/r_in"), "r")
            reset = body.op("MatMul", [body.op("Mul", [r, h_prev], f"{b}/reset"),
                                       body.const(recurrent[:, 2 * units:], f"{base}/R_h")],
                            f"{b}/rec_h")
            hh = act(body.op("Add", [x_h, reset], f"{b}/hh_in"), "hh")
        one_minus = body.op("Sub", [body.const(1.0, f"{b}/one"), z], f"{b}/one_minus_z")
        new = [body.op("Add", [body.op("Mul", [z, h_prev], f"{b}/old"),
                               body.op("Mul", [one_minus, hh], f"{b}/fresh")], f"{b}/h")]
    out = new[0]
    if mask is not None:
        def keep(a, prev, what):      # per sample: `a` where the step is valid, else `prev`
            return body.op("Where", [m_t, a, prev], f"{b}/{what}")
        out = keep(out, body.const(0.0, f"{b}/zero") if layer.zero_output_for_mask
                   else h_prev, "out")
        new = [keep(n, s, f"state{i}") for i, (n, s) in enumerate(zip(new, state_in))]
    outs = [body.op("Identity", [t], f"{b}/{what}")
            for t, what in zip(new + [out, out], ["h_out", "c_out"][:n_states] + ["last", "y"])]
    f32 = onnx.TensorProto.FLOAT
    inputs = [onnx.helper.make_tensor_value_info(n, f32, [None, units])
              for n in state_in + [last_in]]
    inputs.append(onnx.helper.make_tensor_value_info(x_t, f32, [None, gates * units]))
    if m_t is not None:
        inputs.append(onnx.helper.make_tensor_value_info(m_t, onnx.TensorProto.BOOL, [None, 1]))
    graph = onnx.helper.make_graph(body.nodes, g.name(f"{base}/body"), inputs, [
        onnx.helper.make_tensor_value_info(n, f32, [None, units]) for n in outs])
    scan_inputs = [projected]
    if mask is not None:
        scan_inputs.append(g.unsqueeze(mask, [2], f"{base}/mask"))
    zeros = _zeros(g, x, units, base)
    directions = [1 if layer.go_backwards else 0] * len(scan_inputs)
    results = g.op("Scan", [zeros] * (n_states + 1) + scan_inputs, f"{base}/scan",
                   n_out=n_states + 2, body=graph, num_scan_inputs=len(scan_inputs),
                   scan_input_axes=[1] * len(scan_inputs), scan_input_directions=directions,
                   scan_output_axes=[1])
    states, last, seq = results[:n_states], results[n_states], results[n_states + 1]
    return (seq if layer.return_sequences else last), list(states)


def _first(call):
    x = call.args[0]
    if isinstance(x, (list, tuple)):
        raise _unsupported(call.layer, "initial states given in the input list")
    if call.kwargs.get("initial_state") is not None or len(call.args) > 1:
        raise _unsupported(call.layer, "initial_state: ONNX export starts from zero states")
    mask = call.kwargs.get("mask")
    if isinstance(mask, Value):
        mask = mask.name
    elif mask is not None:
        raise _unsupported(call.layer, "a mask= argument that is not a tensor")
    return x.name, mask if mask is not None else call.mask_of(x)


def _rnn(g, layer, call):
    x, mask = _first(call)
    if mask is not None and g.dtypes.get(mask) != "bool":
        mask = g.op("Cast", [mask], f"{layer.name}/mask_bool", dtype="bool",
                    to=g.onnx.TensorProto.BOOL)
    return convert_rnn(g, layer, x, mask, layer.name)


def _bidirectional(g, layer, call):
    x, mask = _first(call)
    base = layer.name
    fwd = convert_rnn(g, layer.forward_layer, x, mask, f"{base}/forward")
    bwd = convert_rnn(g, layer.backward_layer, x, mask, f"{base}/backward")
    y, y_rev = fwd[0], bwd[0]
    states = fwd[1:] + bwd[1:]
    if layer.return_sequences:
        y_rev = flip_time(g, y_rev, f"{base}/backward")
    mode = layer.merge_mode
    if mode is None:
        return [y, y_rev] + states
    if mode == "concat":
        out = g.op("Concat", [y, y_rev], f"{base}/concat", axis=-1)
    elif mode == "sum":
        out = g.op("Add", [y, y_rev], f"{base}/sum")
    elif mode == "mul":
        out = g.op("Mul", [y, y_rev], f"{base}/mul")
    else:
        out = g.op("Div", [g.op("Add", [y, y_rev], f"{base}/sum"),
                           g.const(2.0, f"{base}/two")], f"{base}/ave")
    return [out] + states


def _time_distributed(g, layer, call):
    x = call.args[0]
    inner, base = layer.layer, layer.name
    from gazelle.layers.layer import _mask_params
    if call.mask_of(x) is not None and _mask_params(inner)[0]:
        raise _unsupported(layer, f"a Keras mask for the wrapped {type(inner).__name__}, "
                           "which the ONNX export does not pass on")
    rest = tuple(x.shape[2:])
    if any(d is None for d in rest):
        raise _unsupported(layer, f"input shape {x.shape}: the sizes after the time axis "
                           "must be known")
    folded = g.op("Reshape", [x.name, g.const([-1, *rest], f"{base}/fold", "int64")],
                  f"{base}/folded", dtype=g.dtypes.get(x.name, "float32"))
    out_shape = tuple(inner.compute_output_shape((None, *rest)))
    if any(d is None for d in out_shape[1:]):
        raise _unsupported(layer, f"the wrapped layer's output shape {out_shape} is not known")
    y = _convert_layer(g, inner, [folded], [(None, *rest)], out_shape)
    y = y[0] if isinstance(y, list) else y
    lead = g.op("Slice", [g.op("Shape", [x.name], f"{base}/shape", dtype="int64"),
                          g.const([0], f"{base}/zero", "int64"),
                          g.const([2], f"{base}/two", "int64")], f"{base}/batch_time",
                dtype="int64")
    target = g.op("Concat", [lead, g.const(list(out_shape[1:]), f"{base}/rest", "int64")],
                  f"{base}/unfold", dtype="int64", axis=0)
    return g.op("Reshape", [y, target], f"{base}/unfolded", dtype=g.dtypes.get(y, "float32"))


def _masking(g, layer, call):
    x = g.as_float(call.args[0].name, layer.name)
    base = layer.name
    differs = g.op("Not", [g.op("Equal", [x, g.const(float(layer.mask_value), f"{base}/value")],
                                f"{base}/is_pad", dtype="bool")], f"{base}/differs", dtype="bool")
    any_kept = g.reduce("ReduceMax", g.op("Cast", [differs], f"{base}/as_float",
                                          to=g.onnx.TensorProto.FLOAT), [-1], f"{base}/any",
                        keepdims=True)
    keep = g.op("Greater", [any_kept, g.const(0.0, f"{base}/zero")], f"{base}/keep",
                dtype="bool")
    y = g.op("Where", [keep, x, g.const(0.0, f"{base}/zero_out")], f"{base}/masked")
    g.masks[y] = g.squeeze(keep, [-1], f"{base}/mask")
    return y


def _rnn_mask(g, call, ys):
    layer = call.layer
    mask = call.masks[0] if layer.return_sequences else None
    heads = 2 if type(layer).__name__ == "Bidirectional" and layer.merge_mode is None else 1
    return [mask] * heads + [None] * (len(ys) - heads)


CONVERTERS = {"SimpleRNN": _rnn, "LSTM": _rnn, "GRU": _rnn, "RNN": _rnn,
              "Bidirectional": _bidirectional, "TimeDistributed": _time_distributed,
              "Masking": _masking}
# Layers whose ONNX form applies the Keras mask they receive.
MASK_AWARE = ("SimpleRNN", "LSTM", "GRU", "RNN", "Bidirectional", "TimeDistributed")
# Layers with their own `compute_mask`: the masks of their outputs.
MASK_RULES = {"SimpleRNN": _rnn_mask, "LSTM": _rnn_mask, "GRU": _rnn_mask, "RNN": _rnn_mask,
              "Bidirectional": _rnn_mask}
