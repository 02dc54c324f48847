"""Preprocessing layers: numeric (Normalization, Rescaling) and image layers. [L2]

Explicit re-exports only; each family lives in its own module.
"""
from gazelle.layers.preprocessing.categorical import CategoryEncoding as CategoryEncoding
from gazelle.layers.preprocessing.categorical import Discretization as Discretization
from gazelle.layers.preprocessing.categorical import Hashing as Hashing
from gazelle.layers.preprocessing.categorical import IntegerLookup as IntegerLookup
from gazelle.layers.preprocessing.categorical import StringLookup as StringLookup
from gazelle.layers.preprocessing.image import AugMix as AugMix
from gazelle.layers.preprocessing.image import AutoContrast as AutoContrast
from gazelle.layers.preprocessing.image import CenterCrop as CenterCrop
from gazelle.layers.preprocessing.image import CutMix as CutMix
from gazelle.layers.preprocessing.image import Equalization as Equalization
from gazelle.layers.preprocessing.image import MixUp as MixUp
from gazelle.layers.preprocessing.image import RandAugment as RandAugment
from gazelle.layers.preprocessing.image import RandomBrightness as RandomBrightness
from gazelle.layers.preprocessing.image import RandomColorDegeneration as RandomColorDegeneration
from gazelle.layers.preprocessing.image import RandomColorJitter as RandomColorJitter
from gazelle.layers.preprocessing.image import RandomContrast as RandomContrast
from gazelle.layers.preprocessing.image import RandomCrop as RandomCrop
from gazelle.layers.preprocessing.image import RandomErasing as RandomErasing
from gazelle.layers.preprocessing.image import RandomFlip as RandomFlip
from gazelle.layers.preprocessing.image import RandomGaussianBlur as RandomGaussianBlur
from gazelle.layers.preprocessing.image import RandomGrayscale as RandomGrayscale
from gazelle.layers.preprocessing.image import RandomHue as RandomHue
from gazelle.layers.preprocessing.image import RandomInvert as RandomInvert
from gazelle.layers.preprocessing.image import RandomPerspective as RandomPerspective
from gazelle.layers.preprocessing.image import RandomPosterization as RandomPosterization
from gazelle.layers.preprocessing.image import RandomRotation as RandomRotation
from gazelle.layers.preprocessing.image import RandomSaturation as RandomSaturation
from gazelle.layers.preprocessing.image import RandomSharpness as RandomSharpness
from gazelle.layers.preprocessing.image import RandomShear as RandomShear
from gazelle.layers.preprocessing.image import RandomTranslation as RandomTranslation
from gazelle.layers.preprocessing.image import RandomZoom as RandomZoom
from gazelle.layers.preprocessing.image import Resizing as Resizing
from gazelle.layers.preprocessing.image import Solarization as Solarization
from gazelle.layers.preprocessing.numeric import Normalization as Normalization
from gazelle.layers.preprocessing.numeric import Rescaling as Rescaling
from gazelle.layers.preprocessing.pipeline import Pipeline as Pipeline
from gazelle.layers.preprocessing.text import TextVectorization as TextVectorization
