"""MNIST handwritten digits, loaded offline from the bundled IDX files. [leaf: numpy, stdlib]"""
import numpy as np

from gazelle.datasets import _files, _idx

_KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_IDX_FILES = _files.FileSet(
    files=(
        ("train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        ("train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        ("t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
        ("t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    ),
    mirrors=(
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
)
# Keras stores the same arrays as one `mnist.npz` in its cache.
_NPZ_FILE = _files.FileSet(
    files=(("mnist.npz", "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"),),
    mirrors=(_KERAS_ORIGIN,),
)
DATASET = _files.Dataset(name="mnist", file_sets=(_IDX_FILES, _NPZ_FILE), keras_subdir="")


def load_data(path="mnist.npz"):
    """Loads the MNIST dataset.

    Handwritten digits 0-9: 60,000 training and 10,000 test pictures, each 28x28 pixels
    in grayscale. The files ship with gazelle, so no download is needed; each one is
    checked against its published sha256 before use.

    Files are looked for in this order: `path`; `$GAZELLE_HOME/datasets/mnist/` (default
    `~/.gazelle/datasets/mnist/`); the copy bundled with gazelle; Keras's cache
    (`~/.keras/datasets/mnist.npz`); and only then the official mirrors, downloading into
    `$GAZELLE_HOME/datasets/mnist/`.

    Example:

    ```python
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    assert x_train.shape == (60000, 28, 28)
    assert y_test.shape == (10000,)
    ```

    Args:
        path: Where the data is: a folder holding the four official `.gz` IDX files, or a
            Keras `mnist.npz` file. Defaults to `"mnist.npz"`, which (as in Keras) names the
            cached file; when no such file exists the lookup order above is used.

    Returns:
        Tuple of NumPy arrays: `(x_train, y_train), (x_test, y_test)`.

        **x_train**: `uint8` array of grayscale images, shape `(60000, 28, 28)`, values 0-255.

        **y_train**: `uint8` array of digit labels (integers 0-9), shape `(60000,)`.

        **x_test**: `uint8` array of grayscale images, shape `(10000, 28, 28)`, values 0-255.

        **y_test**: `uint8` array of digit labels (integers 0-9), shape `(10000,)`.

    License:
        Copyright Yann LeCun and Corinna Cortes (derived from NIST data); offered under
        CC BY-SA 3.0 as Keras states. Cite LeCun, Cortes & Burges, "The MNIST database of
        handwritten digits".
    """
    file_set, paths = _files.find(DATASET, path)
    return read(file_set, paths)


def read(file_set, paths):
    """Returns `((x_train, y_train), (x_test, y_test))` from four IDX files or one npz."""
    if len(file_set.files) == 1:
        with np.load(paths[file_set.names[0]], allow_pickle=False) as f:
            return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    train_images, train_labels, test_images, test_labels = (paths[n] for n in file_set.names)
    train = _idx.read_images_and_labels(train_images, train_labels)
    test = _idx.read_images_and_labels(test_images, test_labels)
    return train, test
