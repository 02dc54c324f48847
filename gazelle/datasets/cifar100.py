"""CIFAR-100 small images, 100 classes in 20 superclasses (Keras's archive from its cache).
[leaf: numpy, stdlib]

Not bundled (161 MB): `load_data` reads Keras's cached `cifar-100-python.tar.gz` (same
file and sha256 as Keras), or downloads it from the CIFAR site, or says where to put it.
"""
import numpy as np

from gazelle.datasets import _cifar


def load_data(label_mode="fine"):
    """Loads CIFAR-100: 50,000 training and 10,000 test 32x32 colour images.

    Args:
        label_mode: "fine" (100 classes, default) or "coarse" (the 20 superclasses).

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shape (n, 32, 32, 3) (or
        channels first) and integer labels of shape (n, 1) (int64, as Keras returns them).

    ```python
    (x_train, y_train), (x_test, y_test) = keras.datasets.cifar100.load_data("coarse")
    ```
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError("cifar100.load_data: `label_mode` must be 'fine' or 'coarse'. "
                         f"Received: label_mode={label_mode!r}")
    path = _cifar.find(_cifar.CIFAR100)
    key = f"{label_mode}_labels"
    x_train, y_train = _cifar.read_batches(path, _cifar.CIFAR100, ["train"], key)
    x_test, y_test = _cifar.read_batches(path, _cifar.CIFAR100, ["test"], key)
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(y_test, (len(y_test), 1))
    return (_cifar.channels(x_train), y_train), (_cifar.channels(x_test), y_test)
