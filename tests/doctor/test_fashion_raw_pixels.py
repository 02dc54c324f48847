"""The raw-pixel tutorial run (uint8 0..255, SGD) on real bundled Fashion-MNIST is
diagnosed in its first epoch; the same run on scaled pixels gets a clean bill."""
import pytest

import gazelle as keras
from doctor_helpers import fit_codes


@pytest.fixture(scope="module")
def subset():
    (x, y), _ = keras.datasets.fashion_mnist.load_data()
    return x[:6000], y[:6000]


def tutorial_model():
    keras.utils.set_random_seed(0)
    model = keras.models.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        keras.layers.Dense(300, activation="relu"),
        keras.layers.Dense(100, activation="relu"),
        keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd",
                  metrics=["accuracy"])
    return model


def test_raw_pixels_are_diagnosed_in_the_first_epoch(subset):
    x, y = subset
    found, history = fit_codes(tutorial_model(), x, y, epochs=1)
    assert history.history["accuracy"][0] < 0.2
    assert {"unscaled_input", "not_learning"} <= set(found)
    assert "x / 255.0" in found["unscaled_input"]
    assert "in epoch 1 the loss went from" in found["not_learning"]
    assert "saturated" in found["not_learning"] and "Dead ReLU units" in found["not_learning"]
    # What else it may add explains the same failure: the saturated softmax has no gradient.
    assert set(found) <= {"unscaled_input", "not_learning", "vanishing_gradients"}


def test_scaled_pixels_train_without_findings(subset):
    x, y = subset
    found, history = fit_codes(tutorial_model(), x / 255.0, y, epochs=1)
    assert found == {}
    assert history.history["accuracy"][0] > 0.5
