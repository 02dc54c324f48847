"""Image preprocessing and augmentation layers. [L2]

Geometric layers share one transform kernel (`affine.affine_transform`); every layer
accepts one image or a batch, channels last or first, and uint8 or float pixels.
"""
from gazelle.layers.preprocessing.image.color import AutoContrast as AutoContrast
from gazelle.layers.preprocessing.image.color import Equalization as Equalization
from gazelle.layers.preprocessing.image.color import RandomBrightness as RandomBrightness
from gazelle.layers.preprocessing.image.color import RandomColorDegeneration as RandomColorDegeneration
from gazelle.layers.preprocessing.image.color import RandomColorJitter as RandomColorJitter
from gazelle.layers.preprocessing.image.color import RandomContrast as RandomContrast
from gazelle.layers.preprocessing.image.color import RandomGrayscale as RandomGrayscale
from gazelle.layers.preprocessing.image.color import RandomHue as RandomHue
from gazelle.layers.preprocessing.image.color import RandomInvert as RandomInvert
from gazelle.layers.preprocessing.image.color import RandomPosterization as RandomPosterization
from gazelle.layers.preprocessing.image.color import RandomSaturation as RandomSaturation
from gazelle.layers.preprocessing.image.color import RandomSharpness as RandomSharpness
from gazelle.layers.preprocessing.image.color import Solarization as Solarization
from gazelle.layers.preprocessing.image.composite import AugMix as AugMix
from gazelle.layers.preprocessing.image.composite import RandAugment as RandAugment
from gazelle.layers.preprocessing.image.geometric import RandomFlip as RandomFlip
from gazelle.layers.preprocessing.image.geometric import RandomPerspective as RandomPerspective
from gazelle.layers.preprocessing.image.geometric import RandomRotation as RandomRotation
from gazelle.layers.preprocessing.image.geometric import RandomShear as RandomShear
from gazelle.layers.preprocessing.image.geometric import RandomTranslation as RandomTranslation
from gazelle.layers.preprocessing.image.geometric import RandomZoom as RandomZoom
from gazelle.layers.preprocessing.image.regional import CutMix as CutMix
from gazelle.layers.preprocessing.image.regional import MixUp as MixUp
from gazelle.layers.preprocessing.image.regional import RandomErasing as RandomErasing
from gazelle.layers.preprocessing.image.regional import RandomGaussianBlur as RandomGaussianBlur
from gazelle.layers.preprocessing.image.resizing import CenterCrop as CenterCrop
from gazelle.layers.preprocessing.image.resizing import RandomCrop as RandomCrop
from gazelle.layers.preprocessing.image.resizing import Resizing as Resizing
