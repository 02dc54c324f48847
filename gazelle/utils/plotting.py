"""Plots of a training run: learning curves, image grids, confusion matrix, regression fit.

[leaf: stdlib, numpy, gazelle.utils.io; matplotlib is imported lazily, inside each function]

Each function returns the matplotlib `Figure` and, when given `path`, also saves it (the
format follows the file extension; the file is written atomically). matplotlib is the
optional `plot` extra: without it these functions raise an ImportError that says how to
install it. On a machine without a display the Agg backend is chosen, so saving works on
servers and in CI.
"""
import os
import sys

import numpy as np

from gazelle.utils.io import atomic_write

_INSTALL_HINT = 'pip install "gazelle[plot]"'


def get_pyplot():
    """Returns `matplotlib.pyplot`, choosing the Agg backend first when there is no display.

    Raises an ImportError that says how to install matplotlib when it is missing.
    """
    try:
        import matplotlib
    except ImportError as e:
        raise ImportError(
            "Plotting needs matplotlib, which is not installed. Install it with "
            f"`{_INSTALL_HINT}` (or `pip install matplotlib`).") from e
    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    # Switching backends after pyplot is loaded would close the user's open figures.
    if headless and "matplotlib.pyplot" not in sys.modules and "MPLBACKEND" not in os.environ:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path, dpi=100):
    """Saves a matplotlib figure atomically; the format follows the file extension.

    Args:
        fig: the `matplotlib.figure.Figure` to save.
        path: the file to write, e.g. `"curves.png"`. Without an extension, PNG is written.
        dpi: resolution in dots per inch. Defaults to `100`.
    """
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1][1:].lower() or "png"
    atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=dpi))


def _finish(fig, path):
    if path is not None:
        save_figure(fig, path)
    return fig


def _labels(y, name):
    """Integer labels from labels, one-hot rows or class probabilities."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1)
    y = y.reshape(len(y)) if y.ndim == 2 else y
    if y.ndim != 1:
        raise ValueError(f"`{name}` must hold class labels of shape (n,) or one-hot/probability "
                         f"rows of shape (n, classes); received shape {y.shape}.")
    if y.size and y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
        raise ValueError(f"`{name}` must hold integer class labels; received non-integer "
                         f"values such as {y[np.mod(y, 1) != 0][0]}.")
    return y.astype(np.int64)


def _class_name(class_names, label):
    if class_names is None:
        return str(label)
    if not 0 <= label < len(class_names):
        raise ValueError(f"Label {label} has no entry in `class_names` "
                         f"({len(class_names)} names).")
    return str(class_names[label])


def plot_history(history, figsize=(8, 5), ylim=(0, 1), path=None):
    """Plots the learning curves of `fit()`, one line per metric, against the epoch.

    It looks like the tutorial's `pd.DataFrame(history.history).plot(figsize=(8, 5))`
    followed by `plt.grid(True)` and `plt.gca().set_ylim(0, 1)`, without needing pandas.

    Args:
        history: the `History` object returned by `fit()`, or its `history` dict (metric
            name -> list of per-epoch values).
        figsize: figure size in inches, `(width, height)`. Defaults to `(8, 5)`.
        ylim: the y-axis range `(bottom, top)`, or `None` to fit the data. Defaults to
            `(0, 1)`.
        path: if given, the figure is also saved to this file. Defaults to `None`.

    Returns:
        The matplotlib `Figure`.
    """
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict):
        raise TypeError("plot_history: `history` must be a History object or a dict of "
                        f"per-epoch lists; received {type(history).__name__}.")
    if not logs:
        raise ValueError("plot_history: `history` is empty; there is nothing to plot. "
                         "Was `fit()` run for at least one epoch?")
    plt = get_pyplot()
    fig, ax = plt.subplots(figsize=figsize)
    for name, values in logs.items():
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        ax.plot(np.arange(len(values)), values, label=name)
    ax.legend()
    ax.grid(True)
    if ylim is not None:
        ax.set_ylim(*ylim)
    return _finish(fig, path)


def plot_images(x, y, class_names, n_rows=3, n_cols=5, y_pred=None, path=None):
    """Shows a grid of images titled with their class (the tutorial's image grid).

    With `y_pred`, each title shows the predicted class, and a wrong prediction is drawn in
    red with the true class below it.

    Args:
        x: images, shaped `(n, height, width)`, `(n, height, width, 1)` or
            `(n, height, width, 3)`. Grayscale images are drawn with the `"binary"` colormap.
        y: the true labels: integers of shape `(n,)`, or one-hot rows.
        class_names: the name of each class, indexed by label; `None` shows the label number.
        n_rows: number of rows of the grid. Defaults to `3`.
        n_cols: number of columns of the grid. Defaults to `5`.
        y_pred: optional predicted labels or class probabilities, one per image. Defaults
            to `None`.
        path: if given, the figure is also saved to this file. Defaults to `None`.

    Returns:
        The matplotlib `Figure`.
    """
    x = np.asarray(x)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[-1] not in (3, 4)):
        raise ValueError("plot_images: `x` must be images of shape (n, height, width), "
                         f"(n, height, width, 1) or (n, height, width, 3); received {x.shape}.")
    for arg, value in (("n_rows", n_rows), ("n_cols", n_cols)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"plot_images: `{arg}` must be a positive integer; received "
                             f"{value!r}.")
    y = _labels(y, "y")
    if len(y) != len(x):
        raise ValueError(f"plot_images: `x` holds {len(x)} images but `y` holds {len(y)} labels.")
    if y_pred is not None:
        y_pred = _labels(y_pred, "y_pred")
        if len(y_pred) != len(x):
            raise ValueError(f"plot_images: `x` holds {len(x)} images but `y_pred` holds "
                             f"{len(y_pred)} predictions.")
    plt = get_pyplot()
    cell_w, cell_h = (1.2, 1.2) if y_pred is None else (1.5, 1.6)
    fig = plt.figure(figsize=(n_cols * cell_w, n_rows * cell_h))
    for index in range(min(len(x), n_rows * n_cols)):
        ax = fig.add_subplot(n_rows, n_cols, index + 1)
        ax.imshow(x[index], cmap="binary", interpolation="nearest")
        ax.axis("off")
        true_name = _class_name(class_names, int(y[index]))
        if y_pred is None:
            ax.set_title(true_name, fontsize=12)
        elif y_pred[index] == y[index]:
            ax.set_title(true_name, fontsize=9)
        else:
            pred_name = _class_name(class_names, int(y_pred[index]))
            ax.set_title(f"{pred_name}\n(true: {true_name})", fontsize=9, color="red")
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.9, wspace=0.2,
                        hspace=0.5 if y_pred is None else 0.7)
    return _finish(fig, path)


def confusion_matrix(y_true, y_pred, num_classes=None):
    """Returns the confusion matrix: entry `[i, j]` counts samples of class `i` predicted as `j`.

    Args:
        y_true: the true labels, integers of shape `(n,)` or one-hot rows.
        y_pred: the predicted labels, integers of shape `(n,)` or class probabilities.
        num_classes: the number of classes; `None` uses the largest label + 1.
            Defaults to `None`.

    Returns:
        An integer numpy array of shape `(num_classes, num_classes)`.
    """
    y_true, y_pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if len(y_true) != len(y_pred):
        raise ValueError(f"confusion_matrix: `y_true` holds {len(y_true)} labels but `y_pred` "
                         f"holds {len(y_pred)}.")
    if y_true.size and min(y_true.min(), y_pred.min()) < 0:
        raise ValueError("confusion_matrix: labels must be non-negative integers.")
    seen = int(max(y_true.max(), y_pred.max())) + 1 if y_true.size else 0
    if num_classes is None:
        num_classes = seen
    elif seen > num_classes:
        raise ValueError(f"confusion_matrix: `num_classes` is {num_classes} but a label is "
                         f"{seen - 1}.")
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def plot_confusion_matrix(y_true, y_pred, class_names, normalize=False, path=None):
    """Plots the confusion matrix: rows are true classes, columns predicted classes.

    Args:
        y_true: the true labels, integers of shape `(n,)` or one-hot rows.
        y_pred: the predicted labels, integers of shape `(n,)` or class probabilities.
        class_names: the name of each class, indexed by label; `None` numbers them.
        normalize: if `True`, each row is divided by its total, so cells show the fraction
            of each true class. Defaults to `False` (counts).
        path: if given, the figure is also saved to this file. Defaults to `None`.

    Returns:
        The matplotlib `Figure`.
    """
    num_classes = len(class_names) if class_names is not None else None
    matrix = confusion_matrix(y_true, y_pred, num_classes)
    names = [str(n) for n in class_names] if class_names is not None else [
        str(i) for i in range(len(matrix))]
    if normalize:
        totals = matrix.sum(axis=1, keepdims=True)
        values = matrix / np.maximum(totals, 1)
    else:
        values = matrix
    plt = get_pyplot()
    size = max(5.0, 0.6 * len(names) + 2.5)
    fig, ax = plt.subplots(figsize=(size, size))
    image = ax.imshow(values, cmap="Blues", interpolation="nearest")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("Predicted")
    ax.set_ylabel("True")
    ax.set_title("Confusion matrix" + (" (normalized by true class)" if normalize else ""))
    threshold = values.max() / 2 if values.size else 0
    for i in range(len(names)):
        for j in range(len(names)):
            text = f"{values[i, j]:.2f}" if normalize else str(values[i, j])
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if values[i, j] > threshold else "black")
    fig.tight_layout()
    return _finish(fig, path)


def plot_predictions_vs_true(y_true, y_pred, figsize=(6, 6), path=None):
    """Scatter plot of predictions against true values for a regression, with the ideal line.

    Args:
        y_true: the true targets, shape `(n,)` or `(n, 1)`.
        y_pred: the predicted targets, same number of values as `y_true`.
        figsize: figure size in inches, `(width, height)`. Defaults to `(6, 6)`.
        path: if given, the figure is also saved to this file. Defaults to `None`.

    Returns:
        The matplotlib `Figure`.
    """
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"plot_predictions_vs_true: `y_true` holds {y_true.size} values but "
                         f"`y_pred` holds {y_pred.size}.")
    plt = get_pyplot()
    fig, ax = plt.subplots(figsize=figsize)
    ax.scatter(y_true, y_pred, s=6, alpha=0.4)
    finite = np.concatenate([y_true[np.isfinite(y_true)], y_pred[np.isfinite(y_pred)]])
    if finite.size:
        lo, hi = float(finite.min()), float(finite.max())
        ax.plot([lo, hi], [lo, hi], color="red", linewidth=1, label="ideal (prediction = true)")
        ax.legend(loc="upper left")
    ax.set_xlabel("True value")
    ax.set_ylabel("Predicted value")
    ax.grid(True)
    return _finish(fig, path)
