"""Models: Model (compile/fit/evaluate/predict) and Sequential."""
from gazelle.models.functional import Functional as Functional
from gazelle.models.model import Model as Model
from gazelle.models.sequential import Sequential as Sequential
