"""CIFAR-10 small images, 10 classes (Keras's archive from its cache). [leaf: numpy, stdlib]

Not bundled (163 MB): `load_data` reads Keras's cached `cifar-10-python.tar.gz` (same
file and sha256 as Keras), or downloads it from the CIFAR site, or says where to put it.
"""
import numpy as np

from gazelle.datasets import _cifar


def load_data():
    """Loads CIFAR-10: 50,000 training and 10,000 test 32x32 colour images.

    Labels: 0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer, 5 dog, 6 frog, 7 horse,
    8 ship, 9 truck.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: uint8 images of shape (n, 32, 32, 3) (or
        (n, 3, 32, 32) with the "channels_first" image data format) and uint8 labels of
        shape (n, 1).

    ```python
    (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    ```
    """
    path = _cifar.find(_cifar.CIFAR10)
    members = [f"data_batch_{i}" for i in range(1, 6)]
    x_train, y_train = _cifar.read_batches(path, _cifar.CIFAR10, members, "labels")
    x_test, y_test = _cifar.read_batches(path, _cifar.CIFAR10, ["test_batch"], "labels")
    y_train = np.asarray(y_train, dtype=np.uint8).reshape(-1, 1)
    y_test = np.asarray(y_test, dtype=np.uint8).reshape(-1, 1)
    return (_cifar.channels(x_train), y_train), (_cifar.channels(x_test), y_test)
