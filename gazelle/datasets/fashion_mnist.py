"""Fashion-MNIST, loaded offline from the bundled IDX files. [leaf: numpy, stdlib]"""
from gazelle.datasets import _files, _idx

FILES = _files.FileSet(
    files=(
        ("train-images-idx3-ubyte.gz", "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
        ("train-labels-idx1-ubyte.gz", "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
        ("t10k-images-idx3-ubyte.gz", "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
        ("t10k-labels-idx1-ubyte.gz", "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
    ),
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    ),
)
DATASET = _files.Dataset(name="fashion-mnist", file_sets=(FILES,), keras_subdir="fashion-mnist")


def load_data(path=None):
    """Loads the Fashion-MNIST dataset.

    Zalando's article images: 60,000 training and 10,000 test pictures, each 28x28 pixels
    in grayscale, in 10 clothing classes. Same shapes as MNIST, so it can stand in for it.
    The files ship with gazelle, so no download is needed; each one is checked against its
    published sha256 before use.

    Labels: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt,
    7 Sneaker, 8 Bag, 9 Ankle boot.

    Files are looked for in this order: `path`; `$GAZELLE_HOME/datasets/fashion-mnist/`
    (default `~/.gazelle/datasets/fashion-mnist/`); the copy bundled with gazelle; Keras's
    cache (`~/.keras/datasets/fashion-mnist/`); and only then the official mirrors,
    downloading into `$GAZELLE_HOME/datasets/fashion-mnist/`.

    Example:

    ```python
    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    assert x_train.shape == (60000, 28, 28)
    assert y_test.shape == (10000,)
    ```

    Args:
        path: A folder holding the four official `.gz` IDX files. Not in Keras, whose
            `load_data()` takes no arguments. Defaults to `None` (the lookup order above).

    Returns:
        Tuple of NumPy arrays: `(x_train, y_train), (x_test, y_test)`.

        **x_train**: `uint8` array of grayscale images, shape `(60000, 28, 28)`, values 0-255.

        **y_train**: `uint8` array of labels (integers 0-9), shape `(60000,)`.

        **x_test**: `uint8` array of grayscale images, shape `(10000, 28, 28)`, values 0-255.

        **y_test**: `uint8` array of labels (integers 0-9), shape `(10000,)`.

    License:
        Copyright (c) 2017 Zalando SE; MIT license.
    """
    file_set, paths = _files.find(DATASET, path)
    train_images, train_labels, test_images, test_labels = (paths[n] for n in file_set.names)
    train = _idx.read_images_and_labels(train_images, train_labels)
    test = _idx.read_images_and_labels(test_images, test_labels)
    return train, test
