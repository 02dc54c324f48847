"""Boston housing prices regression data (Keras's `boston_housing.npz`). [leaf: numpy]

Not bundled: `load_data` reads Keras's cache (`~/.keras/datasets/boston_housing.npz`,
same file and sha256 as Keras), or downloads it from Keras's URL, or says where to put
the file. The shuffle and split are Keras's, so a seed gives the same rows.
"""
import numpy as np

from gazelle.datasets import _keras_cache

_SHA256 = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """Loads the Boston housing dataset: 506 houses, 13 features, median price in k$.

    Args:
        path: the file name in the cache (`~/.keras/datasets/`), or a path to the file.
        test_split: fraction of the rows kept as the test set (0 <= test_split < 1).
        seed: seed of the shuffle before the split.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: float64 arrays of shapes (n, 13) and (n,).

    ```python
    (x_train, y_train), (x_test, y_test) = keras.datasets.boston_housing.load_data()
    ```
    """
    if not 0 <= test_split < 1:
        raise ValueError("boston_housing.load_data: `test_split` must be in [0, 1). "
                         f"Received: test_split={test_split}")
    file = _keras_cache.find("boston_housing.npz", _SHA256, path)
    with np.load(file, allow_pickle=False) as f:
        x, y = f["x"], f["y"]
    order = np.arange(len(x))
    np.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))
