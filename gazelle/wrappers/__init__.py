"""scikit-learn wrappers: Keras 3's `SKLearn*` classes and tf.keras 2's `scikit_learn` module.

`keras.wrappers.SKLearnClassifier` (Keras 3) and
`keras.wrappers.scikit_learn.KerasClassifier` (tf.keras 2) both work. [top]
"""
from gazelle.wrappers import scikit_learn as scikit_learn
from gazelle.wrappers.sklearn_keras3 import SKLearnClassifier as SKLearnClassifier
from gazelle.wrappers.sklearn_keras3 import SKLearnRegressor as SKLearnRegressor
from gazelle.wrappers.sklearn_keras3 import SKLearnTransformer as SKLearnTransformer

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer", "scikit_learn"]
