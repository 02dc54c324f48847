"""Small datasets that load offline, with Keras's `load_data()` layout. [leaf: numpy, stdlib]

`mnist`, `fashion_mnist` and `california_housing` ship inside the package and are checked
by sha256 before use; see `gazelle/datasets/_files.py` for the lookup order. `imdb`,
`reuters`, `boston_housing`, `cifar10` and `cifar100` read Keras's cache folder (same file
names and hashes), download when the network allows, and otherwise say where to put the file.
"""
from gazelle.datasets import boston_housing as boston_housing
from gazelle.datasets import california_housing as california_housing
from gazelle.datasets import cifar10 as cifar10
from gazelle.datasets import cifar100 as cifar100
from gazelle.datasets import fashion_mnist as fashion_mnist
from gazelle.datasets import imdb as imdb
from gazelle.datasets import mnist as mnist
from gazelle.datasets import reuters as reuters
from gazelle.datasets import rt_polarity as rt_polarity
from gazelle.datasets import shakespeare as shakespeare

__all__ = ["boston_housing", "california_housing", "cifar10", "cifar100", "fashion_mnist", "imdb",
           "mnist", "reuters", "rt_polarity", "shakespeare"]
