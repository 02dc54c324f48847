"""keras.doctor: the switch, diagnose() and its report, and healthy runs that stay quiet.

gazelle-only behaviour: Keras has no training doctor. The findings themselves are tested
one by one under tests/doctor/.
"""
import warnings

import numpy as np
import pytest

import gazelle as keras
from gazelle.training.diagnostics import DoctorWarning


def image_blobs(n=1200, seed=0, classes=10):
    """Standardized image-like data (the tutorial after scaling): class bands of pixels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n).astype("uint8")
    x = rng.normal(0.0, 0.3, (n, 28 * 28)).astype("float32")
    band = x.shape[1] // classes
    for c in range(classes):
        x[y == c, c * band:(c + 1) * band] += 1.5
    return x.reshape(n, 28, 28), y


def tutorial_model():
    keras.utils.set_random_seed(0)
    model = keras.models.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        keras.layers.Dense(30, activation="relu"),
        keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd",
                  metrics=["accuracy"])
    return model


def housing_like(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 8)).astype("float32")
    y = (np.sin(x[:, 0]) + x[:, 1] * x[:, 2] + 0.1 * rng.standard_normal(n)).astype("float32")
    return x, y


def test_public_names():
    assert keras.doctor.DoctorWarning is DoctorWarning
    assert issubclass(DoctorWarning, UserWarning)
    for name in ("diagnose", "enable", "disable", "is_enabled", "Finding", "Report"):
        assert hasattr(keras.doctor, name)


def test_healthy_runs_trigger_nothing():
    x, y = image_blobs()
    xr, yr = housing_like()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DoctorWarning)
        history = tutorial_model().fit(x[:1000], y[:1000], epochs=4, verbose=0,
                                       validation_data=(x[1000:], y[1000:]))
        keras.utils.set_random_seed(0)
        model = keras.models.Sequential([
            keras.layers.Dense(30, activation="relu", input_shape=(8,)),
            keras.layers.Dense(1)])
        model.compile(loss="mse", optimizer="sgd")
        model.fit(xr, yr, epochs=4, verbose=0, validation_split=0.2)
    assert history.history["val_accuracy"][-1] > 0.9


def test_warnings_can_be_filtered_by_code():
    x, y = image_blobs(600)
    y = np.where(np.arange(600) % 20 == 0, 1, 0).astype("uint8")  # 1:19 imbalance
    model = tutorial_model()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", message="class_imbalance", category=DoctorWarning)
        model.fit(x * 100, y, epochs=0, verbose=0)
    shown = [str(w.message) for w in record if w.category is DoctorWarning]
    assert len(shown) == 1 and shown[0].startswith("unscaled_input: ")
    assert record[0].filename == __file__                  # points at the fit() call


def test_diagnose_returns_a_printable_report():
    x, y = image_blobs(600)
    y = np.where(np.arange(600) % 20 == 0, 1, 0).astype("uint8")
    model = tutorial_model()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DoctorWarning)         # diagnose() warns nothing
        report = keras.doctor.diagnose(model, x * 100, y)
    assert report.codes == ["unscaled_input", "class_imbalance"]
    finding = report[1]
    assert finding.severity == "warning" and finding.details["counts"] == {0: 570, 1: 30}
    text = str(report)
    assert text.splitlines()[0] == "Doctor's report: 2 findings"
    assert "[warning] class_imbalance: The classes are strongly imbalanced" in text


def test_diagnose_a_healthy_model_and_its_history():
    x, y = image_blobs(600)
    model = tutorial_model()
    history = model.fit(x[:500], y[:500], epochs=2, verbose=0,
                        validation_data=(x[500:], y[500:]))
    report = keras.doctor.diagnose(model, x[:500], y[:500], validation_data=(x[500:], y[500:]))
    assert list(report) == [] and str(report) == "Doctor's report: no problems found."
    assert model.history is history
    overfit = {"loss": [1.0, 0.6, 0.4, 0.3, 0.25, 0.2],
               "val_loss": [1.0, 0.7, 0.6, 0.65, 0.7, 0.8]}
    report = keras.doctor.diagnose(model, x[:500], y[:500], history=overfit)
    assert report.codes == ["overfitting"] and report[0].details["best_epoch"] == 3


def test_diagnose_measures_gradients_and_dead_relus():
    x, y = image_blobs(300)
    model = tutorial_model()
    model.build((None, 28, 28))
    kernel, bias = (w.copy() for w in model.layers[1].get_weights())
    model.layers[1].set_weights([kernel, bias - 1e3])          # every ReLU dead
    report = keras.doctor.diagnose(model, x, y)
    assert report.codes == ["vanishing_gradients", "dead_relus"]
    assert report[1].details["dead_relu_by_layer"] == {"dense": 1.0}
    assert "layer 'dense' gets gradient norm 0" in report[0].message


def test_diagnose_bad_data_and_uncompiled_models():
    x, y = image_blobs(100)
    x[0, 0, 0] = np.nan
    report = keras.doctor.diagnose(tutorial_model(), x, y)
    assert report.codes == ["invalid_data"] and report[0].severity == "error"
    assert "NaN" in report[0].message
    y_bad = y.astype("int32")
    y_bad[0] = 10
    report = keras.doctor.diagnose(tutorial_model(), np.nan_to_num(x), y_bad)
    assert report.codes == ["invalid_data"] and "valid range" in report[0].message
    model = keras.models.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    with pytest.raises(ValueError, match="diagnose\\(\\): `model` must be compiled"):
        keras.doctor.diagnose(model, np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(TypeError, match="`history` must be a History"):
        keras.doctor.diagnose(tutorial_model(), np.nan_to_num(x), y, history=[1.0])
