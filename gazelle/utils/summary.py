"""`model.summary()`: the tf.keras 2.0 table of layers, shapes and parameter counts. [leaf: stdlib, numpy]

The model is duck-typed: `name`, `layers`, `built` (optional), `trainable_weights`,
`non_trainable_weights`; each layer gives `name`, `output_shape` and `count_params()`.
Building the lines is pure (`summary_lines`, `table_lines`); `print_summary` only prints them.
`table_lines` takes any header and rows, so the Functional layout (a fourth "Connected to"
column, 98 wide, positions `FUNCTIONAL_POSITIONS`) reuses it.
"""
import numpy as np

SEQUENTIAL_HEADER = ("Layer (type)", "Output Shape", "Param #")
SEQUENTIAL_LINE_LENGTH = 65
SEQUENTIAL_POSITIONS = (0.45, 0.85, 1.0)
FUNCTIONAL_HEADER = SEQUENTIAL_HEADER + ("Connected to",)
FUNCTIONAL_LINE_LENGTH = 98
FUNCTIONAL_POSITIONS = (0.33, 0.55, 0.67, 1.0)


def count_params(variables):
    """Returns the number of scalars in `variables`, counting each variable once."""
    unique = {id(v): v for v in variables}.values()
    return int(sum(int(np.prod(v.shape)) for v in unique))


def resolve_positions(line_length, positions):
    """Turns relative column ends (all <= 1) into character positions, as tf.keras does."""
    if positions[-1] <= 1:
        return [int(line_length * p) for p in positions]
    return [int(p) for p in positions]


def format_row(fields, positions):
    """Lays out one row: each field starts where the last column ended and is cut at its end."""
    line = ""
    for i, (field, end) in enumerate(zip(fields, positions)):
        if i > 0:
            line = line[:-1] + " "  # keep one space between a full column and the next
        line = (line + str(field))[:end]
        line += " " * (end - len(line))
    return line


def table_lines(title, header, layer_rows, trainable_count, non_trainable_count,
                line_length, positions):
    """Returns the summary lines for any column layout.

    Args:
        title: the model name, shown as `Model: "title"`.
        header: the column titles.
        layer_rows: one list of rows per layer; each row is a list of fields (a layer with
            several connections has several rows).
        trainable_count: number of trainable parameters.
        non_trainable_count: number of non-trainable parameters.
        line_length: total width of the table.
        positions: the character position where each column ends.
    """
    lines = ['Model: "{}"'.format(title), "_" * line_length, format_row(header, positions),
             "=" * line_length]
    for i, rows in enumerate(layer_rows):
        lines.extend(format_row(fields, positions) for fields in rows)
        lines.append(("=" if i == len(layer_rows) - 1 else "_") * line_length)
    lines += ["Total params: {:,}".format(trainable_count + non_trainable_count),
              "Trainable params: {:,}".format(trainable_count),
              "Non-trainable params: {:,}".format(non_trainable_count),
              "_" * line_length]
    return lines


def _layer_fields(layer):
    try:
        output_shape = layer.output_shape
    except AttributeError:
        output_shape = "multiple"
    except RuntimeError:
        output_shape = "?"
    return ["{} ({})".format(layer.name, type(layer).__name__), output_shape,
            layer.count_params()]


def _is_graph(model):
    return hasattr(model, "_nodes") and hasattr(model, "_input_tensors")


def _sequential_like(model):
    """tf.keras 2's rule: a chain of single-input nodes without shared layers prints as
    three columns; anything else gets the "Connected to" column."""
    if not _is_graph(model):
        return True
    layers = [node.layer for node in model._nodes]
    if len(model._input_tensors) != 1 or len({id(l) for l in layers}) != len(layers):
        return False
    consumed = set()
    for node in model._nodes:
        if len(node.input_tensors) != 1 or id(node.input_tensors[0]) in consumed:
            return False
        consumed.add(id(node.input_tensors[0]))
    return True


def _shape_text(layer):
    if type(layer).__name__ == "InputLayer":
        return "[{}]".format(tuple(layer.output_shape))   # tf.keras 2 lists Input shapes
    return _layer_fields(layer)[1]


def _graph_rows(model, with_connections):
    node_ids = {id(node) for node in model._nodes}
    rows = []
    for layer in model.layers:
        fields = ["{} ({})".format(layer.name, type(layer).__name__), _shape_text(layer),
                  layer.count_params()]
        if not with_connections:
            rows.append([fields])
            continue
        refs = ["{}[{}][{}]".format(t.node.layer.name, t.node.index, t.index)
                for node in layer._inbound_nodes if id(node) in node_ids
                for t in node.input_tensors]
        layer_rows = [fields + [refs[0] if refs else ""]]
        layer_rows += [["", "", "", ref] for ref in refs[1:]]
        rows.append(layer_rows)
    return rows


def summary_lines(model, line_length=None, positions=None):
    """Returns the lines of a model's summary (see `print_summary`)."""
    if getattr(model, "built", True) is False:
        raise ValueError(
            "This model has not yet been built. Build the model first by calling `build()` "
            "or calling `fit()` with some data, or specify an `input_shape` argument in the "
            "first layer(s) for automatic build. The usual fix: start the model with "
            "`keras.Input(shape=...)`, e.g. `keras.Sequential([keras.Input(shape=(28, 28)), "
            "...])`.")
    sequential = _sequential_like(model)
    header = SEQUENTIAL_HEADER if sequential else FUNCTIONAL_HEADER
    line_length = line_length or (SEQUENTIAL_LINE_LENGTH if sequential
                                  else FUNCTIONAL_LINE_LENGTH)
    if not isinstance(line_length, int) or line_length <= 0:
        raise ValueError(f"summary: `line_length` must be a positive integer, "
                         f"but received {line_length!r}.")
    positions = list(positions or (SEQUENTIAL_POSITIONS if sequential
                                   else FUNCTIONAL_POSITIONS))
    if len(positions) != len(header):
        raise ValueError(f"summary: `positions` must have {len(header)} entries "
                         f"(one per column), but received {positions!r}.")
    positions = resolve_positions(line_length, positions)
    if _is_graph(model):
        rows = _graph_rows(model, with_connections=not sequential)
    elif any(c.__name__ == "Sequential" for c in type(model).__mro__):
        rows = [[_layer_fields(layer)] for layer in model.layers]
    else:   # subclassed: tf.keras 2 cannot know each sublayer's output shape
        rows = [[[f[0], "multiple", f[2]]] for f in map(_layer_fields, model.layers)]
    return table_lines(model.name, header, rows, count_params(model.trainable_weights),
                       count_params(model.non_trainable_weights), line_length, positions)


def print_summary(model, line_length=None, positions=None, print_fn=None):
    """Prints a summary of a model.

    Args:
        model: Keras model instance.
        line_length: Total length of printed lines (e.g. set this to adapt the display to
            different terminal window sizes). Defaults to 65.
        positions: Relative or absolute positions of log elements in each line. If not
            provided, defaults to `[.45, .85, 1.]`.
        print_fn: Print function to use. It will be called on each line of the summary.
            You can set it to a custom function in order to capture the string summary.
            It defaults to `print` (prints to stdout).

    ```python
    lines = []
    print_summary(model, print_fn=lines.append)
    ```
    """
    print_fn = print_fn or print
    for line in summary_lines(model, line_length, positions):
        print_fn(line)
