"""The doctor's gradient and activation probes are never larger than the fit's batches:
a model that trains at batch 32 on large images must not be probed on 256 of them at once
(the Keras image_classification_from_scratch example ran out of memory that way)."""
import numpy as np

import gazelle as keras
from gazelle.doctor import probes


def _deep_model():
    model = keras.Sequential([keras.Input((8,))] + [
        keras.layers.Dense(8, activation="relu") for _ in range(12)] + [keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_gradient_probe_uses_at_most_the_batch_size(monkeypatch):
    sizes = []
    original = probes.gradient_norms

    def spy(trainer, x, ys, n=probes._PROBE):
        sizes.append(n)
        return original(trainer, x, ys, n=n)

    monkeypatch.setattr(probes, "gradient_norms", spy)
    x = np.random.default_rng(0).random((64, 8)).astype("float32")
    y = np.random.default_rng(1).random((64, 1)).astype("float32")
    _deep_model().fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert sizes == [8]
    sizes.clear()
    _deep_model().fit(x, y, batch_size=64, epochs=1, verbose=0)
    assert sizes == [64]
