"""Data, models and a warning recorder shared by the doctor's tests."""
import warnings

import numpy as np

import gazelle as keras
from gazelle.training.diagnostics import DoctorWarning


def blobs(n=1000, seed=0, classes=10, d=20, sep=2.0):
    """Standardized, learnable classification data: one Gaussian cluster per class."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n).astype("int32")
    centers = rng.normal(0.0, 1.0, (classes, d)) * 2 * sep / np.sqrt(d)
    x = (centers[y] + rng.normal(0.0, 1.0, (n, d))).astype("float32")
    return x, y


def linear_data(n=1000, d=8, seed=0, scale=1.0, offset=0.0):
    """Standardized features, targets a linear function of them (times `scale`)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype("float32")
    return x, (x @ rng.standard_normal(d) * scale + offset).astype("float32")


def mlp(units=10, activation="softmax", loss="sparse_categorical_crossentropy",
        optimizer="sgd", d=20, hidden=32, metrics=("accuracy",)):
    keras.utils.set_random_seed(0)
    model = keras.models.Sequential([
        keras.layers.Dense(hidden, activation="relu", input_shape=(d,)),
        keras.layers.Dense(units, activation=activation)])
    model.compile(loss=loss, optimizer=optimizer, metrics=list(metrics))
    return model


def doctor_warnings(fn):
    """Runs fn(); returns ({code: message} of its DoctorWarnings, fn's result)."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        result = fn()
    found = {}
    for w in record:
        if issubclass(w.category, DoctorWarning):
            code, message = str(w.message).split(": ", 1)
            assert code not in found, f"{code} reported twice"
            found[code] = message
    return found, result


def fit_codes(model, x, y, **kwargs):
    """({code: message} of the findings a verbose=0 fit reports, its History)."""
    found, history = doctor_warnings(lambda: model.fit(x, y, verbose=0, **kwargs))
    return found, history
