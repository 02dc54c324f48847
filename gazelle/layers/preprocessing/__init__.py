"""Preprocessing layers: numeric (Normalization, Rescaling) and image layers. [L2]

Explicit re-exports only; each family lives in its own module.
"""
from gazelle.layers.preprocessing.image import CenterCrop as CenterCrop
from gazelle.layers.preprocessing.image import RandomBrightness as RandomBrightness
from gazelle.layers.preprocessing.image import RandomContrast as RandomContrast
from gazelle.layers.preprocessing.image import RandomCrop as RandomCrop
from gazelle.layers.preprocessing.image import RandomFlip as RandomFlip
from gazelle.layers.preprocessing.image import RandomRotation as RandomRotation
from gazelle.layers.preprocessing.image import RandomShear as RandomShear
from gazelle.layers.preprocessing.image import RandomTranslation as RandomTranslation
from gazelle.layers.preprocessing.image import RandomZoom as RandomZoom
from gazelle.layers.preprocessing.image import Resizing as Resizing
from gazelle.layers.preprocessing.numeric import Normalization as Normalization
from gazelle.layers.preprocessing.numeric import Rescaling as Rescaling
