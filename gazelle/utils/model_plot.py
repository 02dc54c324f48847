"""`keras.utils.plot_model`: a model's layer graph drawn with matplotlib, no Graphviz. [leaf]

Keras 3 draws through pydot and Graphviz, which many machines lack. gazelle lays the graph
out itself: each layer sits on the rank of its longest path from the inputs (rows for
`rankdir="TB"`, columns for `"LR"`), and matplotlib writes any format it knows (`.png`,
`.svg`, `.pdf`, `.jpg`). The boxes show what Keras's show the same options: the class (and
name), activation, input and output shapes, dtype and trainability.
"""
import io
import os
import sys

_FORMATS = ("png", "svg", "pdf", "jpg", "jpeg", "eps", "ps", "tif", "tiff", "webp")


def _is_graph(model):
    return hasattr(model, "_nodes") and hasattr(model, "_input_tensors")


def _is_model(layer):
    return hasattr(layer, "layers") and (_is_graph(layer) or any(
        c.__name__ == "Sequential" for c in type(layer).__mro__))


def _model_graph(model):
    """Layers of one model (no expansion) and the edges between them, as index pairs."""
    if _is_graph(model):
        layers, index = [], {}
        node_ids = {id(n) for n in model._nodes}
        for layer in model.layers:
            index[id(layer)] = len(layers)
            layers.append(layer)
        edges = []
        for layer in layers:
            for node in layer._inbound_nodes:
                if id(node) not in node_ids:
                    continue
                for t in node.input_tensors:
                    src = index.get(id(t.node.layer)) if t.node is not None else None
                    if src is not None and (src, index[id(layer)]) not in edges:
                        edges.append((src, index[id(layer)]))
        return layers, edges
    layers = list(model.layers)
    return layers, [(i, i + 1) for i in range(len(layers) - 1)]


def _graph(model, expand_nested):
    """Boxes `(layer, prefix)` and edges between box indices; with `expand_nested`, a nested
    model's box is replaced by its own layers (a worklist, no recursion)."""
    layers, edges = _model_graph(model)
    boxes = [(layer, "") for layer in layers]
    if not expand_nested:
        return boxes, edges
    pending = [i for i, (layer, _) in enumerate(boxes) if _is_model(layer)]
    while pending:
        i = pending.pop()
        inner_model, prefix = boxes[i]
        inner, inner_edges = _model_graph(inner_model)
        if not inner:
            continue
        start = len(boxes)
        name = prefix + inner_model.name + "/"
        boxes.extend((layer, name) for layer in inner)
        new = [(start + a, start + b) for a, b in inner_edges]
        has_in = {b for _, b in inner_edges}
        has_out = {a for a, _ in inner_edges}
        sources = [start + k for k in range(len(inner)) if k not in has_in]
        sinks = [start + k for k in range(len(inner)) if k not in has_out]
        for a, b in edges:
            if b == i:
                new += [(a, s) for s in sources]
            elif a == i:
                new += [(s, b) for s in sinks]
            else:
                new.append((a, b))
        edges = new
        boxes[i] = (None, "")          # removed (kept as a hole so indices stay valid)
        pending += [start + k for k, layer in enumerate(inner) if _is_model(layer)]
    keep = [i for i, (layer, _) in enumerate(boxes) if layer is not None]
    renumber = {old: new for new, old in enumerate(keep)}
    return ([boxes[i] for i in keep],
            [(renumber[a], renumber[b]) for a, b in edges if a in renumber and b in renumber])


def _ranks(n, edges):
    """Longest-path rank of each box from the sources (Kahn's order)."""
    incoming = [0] * n
    out = [[] for _ in range(n)]
    for a, b in edges:
        incoming[b] += 1
        out[a].append(b)
    rank = [0] * n
    ready = [i for i in range(n) if incoming[i] == 0]
    while ready:
        i = ready.pop(0)
        for j in out[i]:
            rank[j] = max(rank[j], rank[i] + 1)
            incoming[j] -= 1
            if incoming[j] == 0:
                ready.append(j)
    return rank


def _shape(layer, attr):
    try:
        value = getattr(layer, attr)
    except (AttributeError, RuntimeError, ValueError):
        return "?"
    return "?" if value is None else str(tuple(value) if isinstance(value, list) and value
                                           and not isinstance(value[0], (list, tuple))
                                           else value)


def _label(layer, prefix, show_shapes, show_dtype, show_layer_names, show_layer_activations,
           show_trainable):
    cls = type(layer).__name__
    lines = [f"{prefix}{layer.name} ({cls})" if show_layer_names else cls]
    activation = getattr(layer, "activation", None)
    if show_layer_activations and activation is not None:
        name = getattr(activation, "__name__", type(activation).__name__)
        lines.append(f"Activation: {name}")
    details = []
    if show_shapes:
        if cls != "InputLayer":
            details.append(f"Input shape: {_shape(layer, 'input_shape')}")
        details.append(f"Output shape: {_shape(layer, 'output_shape')}")
    if show_dtype:
        details.append(f"Output dtype: {getattr(layer, 'dtype', '?')}")
    trainable = None
    if show_trainable and getattr(layer, "weights", None):
        trainable = bool(layer.trainable)
        details.append("Trainable" if trainable else "Non-trainable")
    return lines, details, trainable


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=False, rankdir="TB", expand_nested=False, dpi=200,
               show_layer_activations=False, show_trainable=False, **kwargs):
    """Draws a model's layer graph to an image file.

    gazelle draws with matplotlib, so neither pydot nor Graphviz is needed.

    Args:
        model: a built Keras model.
        to_file: the file to write; its extension picks the format (`.png` by default,
            `.svg`, `.pdf`, `.jpg`...).
        show_shapes: whether to show each layer's input and output shapes.
        show_dtype: whether to show each layer's output dtype.
        show_layer_names: whether to show layer names next to their class.
        rankdir: `"TB"` (top to bottom, default), `"LR"` (left to right), `"BT"` or `"RL"`.
        expand_nested: whether to draw the layers of nested models instead of one box.
        dpi: dots per inch of raster formats.
        show_layer_activations: whether to show the activation of layers that have one.
        show_trainable: whether to mark layers with weights as trainable or not.

    Returns:
        An `IPython.display.Image` of the file when IPython is installed and the format is
        one it shows, else None.

    ```python
    keras.utils.plot_model(model, "model.png", show_shapes=True)
    ```
    """
    kwargs.pop("splines", None)             # a Graphviz drawing option; nothing to set here
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("plot_model: `layer_range` is no longer supported (Keras 3 removed "
                         "it).")
    if kwargs:
        raise ValueError(f"plot_model: unrecognized keyword arguments: {sorted(kwargs)}.")
    if not getattr(model, "built", True):
        raise ValueError("plot_model: this model has not yet been built. Build it first by "
                         "calling `build()` or the model on a batch of data, or start it with "
                         "`keras.Input(shape=...)`.")
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"plot_model: `rankdir` must be 'TB', 'LR', 'BT' or 'RL'; received "
                         f"{rankdir!r}.")
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:].lower() or "png"
    if extension not in _FORMATS:
        raise ValueError(f"plot_model: cannot write a '.{extension}' file; use one of "
                         f"{', '.join('.' + f for f in _FORMATS)}.")
    try:
        import matplotlib
        if "matplotlib.pyplot" not in sys.modules:
            matplotlib.use("Agg")           # files only; never open a window
        import matplotlib.pyplot as plt
        from matplotlib.patches import FancyBboxPatch
    except ImportError:
        raise ImportError("plot_model draws with matplotlib: `pip install matplotlib` "
                          "(or `pip install 'gazelle[plot]'`).") from None

    boxes, edges = _graph(model, expand_nested)
    rank = _ranks(len(boxes), edges)
    labels = [_label(layer, prefix, show_shapes, show_dtype, show_layer_names,
                     show_layer_activations, show_trainable) for layer, prefix in boxes]
    # Box sizes in inches, from the text they hold.
    char_w, line_h, pad = 0.085, 0.24, 0.15
    sizes = []
    for title, details, _ in labels:
        width = max(len(s) for s in title + details + [""]) * char_w + 2 * pad
        sizes.append((max(width, 1.2), (len(title) + len(details)) * line_h + 2 * pad))
    by_rank = {}
    for i, r in enumerate(rank):
        by_rank.setdefault(r, []).append(i)
    vertical = rankdir in ("TB", "BT")
    gap_along, gap_across = 0.5, 0.35
    # Rank extents along the flow, then place each rank's boxes side by side across it.
    n_ranks = max(by_rank) + 1 if by_rank else 1
    along = [max((sizes[i][1] if vertical else sizes[i][0]) for i in by_rank.get(r, [0]))
             if by_rank.get(r) else 0 for r in range(n_ranks)]
    across = {r: sum((sizes[i][0] if vertical else sizes[i][1]) for i in ids)
              + gap_across * (len(ids) - 1) for r, ids in by_rank.items()}
    total_across = max(across.values()) if across else 1
    total_along = sum(along) + gap_along * (n_ranks - 1)
    centers = [None] * len(boxes)
    offset = 0.0
    for r in range(n_ranks):
        ids = by_rank.get(r, [])
        pos = (total_across - across.get(r, 0)) / 2
        for i in ids:
            extent = sizes[i][0] if vertical else sizes[i][1]
            a, c = offset + along[r] / 2, pos + extent / 2
            if rankdir in ("BT", "RL"):
                a = total_along - a
            centers[i] = (c, total_along - a) if vertical else (a, total_across - c)
            pos += extent + gap_across
        offset += along[r] + gap_along
    fig_w = (total_across if vertical else total_along) + 0.4
    fig_h = (total_along if vertical else total_across) + 0.4
    fig = plt.figure(figsize=(fig_w, fig_h))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(-0.2, fig_w - 0.2)
    ax.set_ylim(-0.2, fig_h - 0.2)
    ax.axis("off")
    for a, b in edges:
        (xa, ya), (xb, yb) = centers[a], centers[b]
        (wa, ha), (wb, hb) = sizes[a], sizes[b]
        if vertical:
            sign = 1 if yb < ya else -1
            start, end = (xa, ya - sign * ha / 2), (xb, yb + sign * hb / 2)
        else:
            sign = 1 if xb > xa else -1
            start, end = (xa + sign * wa / 2, ya), (xb - sign * wb / 2, yb)
        ax.annotate("", xy=end, xytext=start,
                    arrowprops={"arrowstyle": "-|>", "color": "0.3", "lw": 1.0})
    for i, (title, details, trainable) in enumerate(labels):
        (x, y), (w, h) = centers[i], sizes[i]
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h,
                                    boxstyle="round,pad=0,rounding_size=0.05",
                                    facecolor="white", edgecolor="black", lw=1.0))
        head = len(title) * line_h + pad
        ax.add_patch(FancyBboxPatch((x - w / 2, y + h / 2 - head), w, head,
                                    boxstyle="round,pad=0,rounding_size=0.05",
                                    facecolor="black", edgecolor="black", lw=1.0))
        top = y + h / 2 - pad / 2 - line_h / 2
        for k, line in enumerate(title):
            ax.text(x, top - k * line_h, line, ha="center", va="center", color="white",
                    fontsize=9, fontweight="bold" if k == 0 else "normal", family="monospace")
        for k, line in enumerate(details):
            color = "black"
            if line in ("Trainable", "Non-trainable"):
                color = "forestgreen" if trainable else "firebrick"
            ax.text(x, top - (len(title) + k) * line_h - pad / 2, line, ha="center",
                    va="center", color=color, fontsize=8, family="monospace")
    from gazelle.utils.io import atomic_write
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):     # SVG text stays text
        fig.savefig(buffer, format=extension, dpi=dpi)
    plt.close(fig)
    atomic_write(to_file, buffer.getvalue())
    if extension in ("png", "jpg", "jpeg", "svg"):
        try:
            from IPython import display
        except ImportError:
            return None
        if extension == "svg":
            return display.SVG(filename=to_file)
        return display.Image(filename=to_file)
    return None
