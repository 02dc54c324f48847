"""Label and array helpers: one-hot encoding and norm scaling. [leaf: numpy only, never jax]"""
import numpy as np


def to_categorical(x, num_classes=None, dtype="float32"):
    """Converts a class vector (integers) to a binary class matrix (one-hot).

    The output has shape `x.shape + (num_classes,)`, except that a trailing dimension
    of size 1 is dropped first, so labels of shape `(n, 1)` give `(n, num_classes)`.
    Unlike Keras 3 (float64, and negative labels silently wrap around), the output is
    `float32` as in tf.keras 2, and labels outside `[0, num_classes)` are an error.

    Args:
        x: Array-like with class values to be converted into a matrix (integers from
            0 to `num_classes - 1`).
        num_classes: Total number of classes. If `None`, this is inferred as
            `max(x) + 1`. Defaults to `None`.
        dtype: The data type of the output. Defaults to `"float32"`.

    ```python
    to_categorical([0, 2, 1], num_classes=3)
    # array([[1., 0., 0.], [0., 0., 1.], [0., 1., 0.]], dtype=float32)
    ```
    """
    labels = np.asarray(x)
    if labels.dtype == object or not (np.issubdtype(labels.dtype, np.number)
                                      or labels.dtype == bool):
        raise TypeError(f"to_categorical: expected integer class labels, received an "
                        f"array of dtype {labels.dtype}.")
    if np.issubdtype(labels.dtype, np.floating):
        bad = labels[~np.isfinite(labels) | (labels != np.round(labels))]
        if bad.size:
            raise ValueError(f"to_categorical: expected integer class labels, received "
                             f"the non-integer value {bad.flat[0]}.")
    labels = labels.astype("int64")
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    labels = labels.reshape(-1)
    if labels.size and labels.min() < 0:
        raise ValueError(f"to_categorical: class labels must be >= 0, received the label "
                         f"{labels.min()}.")
    if num_classes is None:
        if labels.size == 0:
            raise ValueError("to_categorical: cannot infer `num_classes` from empty "
                             "labels; pass num_classes=.")
        num_classes = int(labels.max()) + 1
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"to_categorical: expected `num_classes` to be an int or None, "
                        f"received num_classes={num_classes!r}.")
    elif num_classes < 1:
        raise ValueError(f"to_categorical: expected `num_classes` to be positive, "
                         f"received num_classes={num_classes}.")
    elif labels.size and labels.max() >= num_classes:
        raise ValueError(f"to_categorical: class labels must be < num_classes="
                         f"{num_classes}, received the label {labels.max()}. Pass "
                         f"num_classes={labels.max() + 1} or check the labels.")
    one_hot = np.zeros((labels.size, int(num_classes)), dtype=dtype)
    one_hot[np.arange(labels.size), labels] = 1
    return one_hot.reshape(shape + (int(num_classes),))


def normalize(x, axis=-1, order=2):
    """Normalizes an array so that its `order`-norm along `axis` is 1.

    Slices whose norm is zero are left unchanged.

    Args:
        x: Array to normalize.
        axis: Integer, the axis along which to normalize. Defaults to `-1`.
        order: Normalization order (e.g. `order=2` for L2 norm). Defaults to `2`.

    ```python
    normalize(np.array([[3.0, 4.0]]))  # array([[0.6, 0.8]])
    ```
    """
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"normalize: expected `axis` to be an int, received "
                        f"axis={axis!r}.")
    x = np.asarray(x)
    if x.ndim == 0 or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"normalize: `axis`={axis} is out of range for an array of "
                         f"shape {x.shape}.")
    norm = np.linalg.norm(x, order, axis=int(axis), keepdims=True)
    norm[norm == 0] = 1
    return x / norm
