"""Whether a Model subclass is a graph is decided by what reaches Model.__init__ (Keras 3),
not by the subclass's own constructor arguments."""
import numpy as np
import pytest

import gazelle as keras
from gazelle.models.functional import Functional


def test_two_positional_sublayers_are_not_a_graph():
    class Pair(keras.Model):            # the VAE example's VAE(encoder, decoder)
        def __init__(self, first, second, **kwargs):
            super().__init__(**kwargs)
            self.first, self.second = first, second

        def call(self, x):
            return self.second(self.first(x))

    model = Pair(keras.layers.Dense(2), keras.layers.Dense(1), name="pair")
    assert not isinstance(model, Functional) and model.name == "pair"
    assert model(np.ones((2, 3), "float32")).shape == (2, 1)
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"), verbose=0)


def test_inputs_and_outputs_passed_to_super_make_a_functional_subclass():
    inputs = keras.Input((3,))
    outputs = keras.layers.Dense(1)(inputs)

    class WithInit(keras.Model):
        def __init__(self, inputs, outputs, extra=1, **kwargs):
            super().__init__(inputs, outputs, **kwargs)
            self.extra = extra

        def custom(self):
            return self.extra

    model = WithInit(inputs, outputs, extra=5)
    assert isinstance(model, Functional) and isinstance(model, WithInit)
    assert model.custom() == 5 and model.output is outputs
    assert model.predict(np.ones((2, 3), "float32"), verbose=0).shape == (2, 1)

    class NoInit(keras.Model):
        def custom(self):
            return "kept"

    other = NoInit(inputs=inputs, outputs=outputs)
    assert isinstance(other, Functional) and other.custom() == "kept"


def test_other_positional_arguments_to_model_init_are_refused():
    class Bad(keras.Model):
        def __init__(self):
            super().__init__(1, 2, 3)

    with pytest.raises(TypeError, match="takes no inputs/outputs"):
        Bad()
