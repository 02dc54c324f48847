"""California housing regression data, with Keras 3's arrays and split. [leaf: numpy, stdlib]

Keras 3 downloads `california_housing.npz`: `x` is float32 (20640, 8) and `y` float32
(20640,), both taken unchanged from the StatLib file `cal_housing.data` (its first eight
columns and its last column). gazelle ships that raw file and builds the same arrays, so
`load_data()` returns what Keras returns for every `version`, `test_split` and `seed`.
"""
import gzip

import numpy as np

from gazelle.datasets import _files

_RAW_GZ = _files.FileSet(
    files=(("cal_housing.data.gz", "cdbc6f084852c03a4a55e6752938bb7d64c54b89813cbb8a21b0d25d1ade3e3c"),))
_RAW = _files.FileSet(
    files=(("cal_housing.data", "a2b44dcc7e1c9091b43c4f458b25cbd1f7e8068d08edd26bc4703108d3fa6214"),))
_KERAS_NPZ = _files.FileSet(
    files=(("california_housing.npz", "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"),),
    mirrors=("https://storage.googleapis.com/tensorflow/tf-keras-datasets/",),
)
DATASET = _files.Dataset(name="california-housing", file_sets=(_RAW_GZ, _RAW, _KERAS_NPZ))

FEATURES = ("longitude", "latitude", "housing_median_age", "total_rooms", "total_bedrooms",
            "population", "households", "median_income")
_SMALL = 600


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """Loads the California Housing dataset.

    One row per census block group of the 1990 US census (Pace & Barry, 1997, from the
    StatLib repository): 20,640 samples with 8 features. The target is the median house
    value of the block group, in dollars (about 15,000 to 500,001).

    The features are the raw StatLib columns, in this order (also in `FEATURES`):
    longitude, latitude, housing_median_age, total_rooms, total_bedrooms, population,
    households, median_income (in tens of thousands of dollars). The arrays and the
    train/test split equal Keras 3's. Keras's docstring lists scikit-learn's derived
    features (MedInc, HouseAge, AveRooms, ...) instead, but its file holds these raw
    columns (see keras-team/keras#21886); scikit-learn's `fetch_california_housing`
    returns a different, derived table.

    Files are looked for in this order: `path`; `$GAZELLE_HOME/datasets/california-housing/`;
    the copy bundled with gazelle; Keras's cache (`~/.keras/datasets/california_housing.npz`);
    and only then Keras's download URL. Every file is checked by sha256 before use.

    Example:

    ```python
    (x_train, y_train), (x_test, y_test) = keras.datasets.california_housing.load_data(
        version="small")
    assert x_train.shape == (480, 8)
    ```

    Args:
        version: `"small"` or `"large"`. The small version contains 600 samples (the first
            600 rows), the large version contains 20,640 samples. The small version serves
            as an approximate replacement for the deprecated `boston_housing` dataset.
            Defaults to `"large"`.
        path: Where the data is: Keras's `california_housing.npz`, the StatLib
            `cal_housing.data` (or `.gz`), or a folder holding one of them. Defaults to
            `"california_housing.npz"`, which (as in Keras) names the cached file; when no
            such file exists the lookup order above is used.
        test_split: Fraction of the data to reserve as test set, in `[0, 1)`. Defaults to
            `0.2`.
        seed: Random seed for shuffling the data before computing the test split. Defaults
            to `113`.

    Returns:
        Tuple of NumPy arrays: `(x_train, y_train), (x_test, y_test)`.

        **x_train, x_test**: `float32` arrays of shape `(num_samples, 8)`.

        **y_train, y_test**: `float32` arrays of shape `(num_samples,)`: house values in
        dollars.
    """
    if not 0 <= test_split < 1:
        raise ValueError(f"test_split must be in [0, 1) (a fraction of the samples), "
                         f"received test_split={test_split!r}.")
    if version not in ("small", "large"):
        raise ValueError(
            f"version must be one of ['small', 'large'], received version={version!r}.")
    file_set, paths = _files.find(DATASET, path)
    x, y = read(file_set, paths)
    if version == "small":
        x, y = x[:_SMALL], y[:_SMALL]
    # Same permutation as Keras: a legacy RandomState shuffle of the row indices.
    indices = np.arange(len(x))
    np.random.RandomState(seed).shuffle(indices)
    x, y = x[indices], y[indices]
    n_train = int(len(x) * (1 - test_split))
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def read(file_set, paths):
    """Returns the full `(x, y)` float32 arrays from the raw StatLib file or Keras's npz."""
    (name,) = file_set.names
    if name.endswith(".npz"):
        with np.load(paths[name], allow_pickle=False) as f:
            return f["x"], f["y"]
    opener = gzip.open if name.endswith(".gz") else open
    with opener(paths[name], "rt") as f:
        raw = np.loadtxt(f, delimiter=",", dtype=np.float64)
    # Parse as float64, then round once to float32, like Keras's file.
    return raw[:, :8].astype(np.float32), raw[:, 8].astype(np.float32)
