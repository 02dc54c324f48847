"""Preprocessing layers: numeric (Normalization, Rescaling) and image layers. [L2]

Explicit re-exports only; each family lives in its own module.
"""
from gazelle.layers.preprocessing.numeric import Normalization as Normalization
from gazelle.layers.preprocessing.numeric import Rescaling as Rescaling
