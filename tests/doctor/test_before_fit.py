"""The doctor's checks before the first compile: data scale, output/loss setup, labels.

gazelle-only behaviour (Keras has no doctor): each case triggers exactly its own finding
in a real epoch of training. Checks of what does NOT warn use `epochs=0`: the before-fit
checks still run, and nothing is compiled.
"""
import numpy as np
import pytest

import gazelle as keras
from doctor_helpers import blobs, fit_codes, linear_data, mlp


def test_unscaled_features_warn_and_nothing_else():
    x, y = linear_data(600)
    model = mlp(units=1, activation=None, loss="mse", optimizer="adam", d=8, metrics=())
    found, _ = fit_codes(model, x * 30.0, y, epochs=1)
    assert set(found) == {"unscaled_input"}
    assert "standardize features" in found["unscaled_input"]


def test_features_of_very_different_scales():
    x, y = blobs(600)
    x[:, 3] *= 0.001
    found, _ = fit_codes(mlp(), x, y, epochs=1)
    assert set(found) == {"feature_scales"}
    assert "column 3" in found["feature_scales"] and "StandardScaler" in found["feature_scales"]


def test_image_borders_and_one_hot_columns_are_not_badly_scaled_features():
    x, y = blobs(600)
    x[:, :4] = 0.0                                   # constant "border pixels"
    x[:, 4] = (np.arange(600) % 50 == 0)             # a rare one-hot flag
    found, _ = fit_codes(mlp(), x, y, epochs=0)
    assert found == {}


def test_softmax_output_with_from_logits_true():
    x, y = blobs(600)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    found, _ = fit_codes(mlp(loss=loss), x, y, epochs=1)
    assert set(found) == {"softmax_from_logits"}
    assert "'dense_1' applies softmax" in found["softmax_from_logits"]


def test_logits_output_with_a_probability_loss():
    x, y = blobs(600)
    found, _ = fit_codes(mlp(activation=None), x, y, epochs=1)
    assert set(found) == {"logits_without_from_logits"}
    assert "SparseCategoricalCrossentropy(from_logits=True)" in \
        found["logits_without_from_logits"]


def test_logits_with_from_logits_true_are_fine():
    x, y = blobs(600)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    found, _ = fit_codes(mlp(activation=None, loss=loss), x, y, epochs=0)
    assert found == {}


def test_functional_model_output_behind_a_dropout_is_inspected():
    x, y = blobs(600)
    inputs = keras.Input(shape=(20,))
    h = keras.layers.Dense(32, activation="relu")(inputs)
    out = keras.layers.Dropout(0.1)(keras.layers.Dense(10, activation="softmax")(h))
    model = keras.Model(inputs, out)
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer="sgd", metrics=["accuracy"])
    found, _ = fit_codes(model, x, y, epochs=0)
    assert set(found) == {"softmax_from_logits"}


@pytest.mark.parametrize("case", ["sigmoid", "softmax"])
def test_regression_loss_on_a_classifier(case):
    if case == "sigmoid":
        x, y = blobs(600, classes=2)
        model = mlp(units=1, activation="sigmoid", loss="mse", metrics=())
        better = "binary_crossentropy"
    else:
        x, y = blobs(600)
        y = y[:, None]                       # (n, 1) broadcasts silently against (n, 10)
        model = mlp(loss="mae", metrics=())
        better = "sparse_categorical_crossentropy"
    found, _ = fit_codes(model, x, y, epochs=1)
    assert set(found) == {"regression_loss_on_classifier"}
    assert f"loss='{better}'" in found["regression_loss_on_classifier"]


def test_mse_with_rank_1_labels_on_a_softmax_is_a_clear_error():
    x, y = blobs(100)
    with pytest.raises(ValueError, match=r"y has shape \(100,\).*10 values.*sparse_categorical"):
        mlp(loss="mse", metrics=()).fit(x, y, epochs=1, verbose=0)


def test_class_imbalance_names_classes_and_balanced_weights():
    x, _ = blobs(1000, classes=2)
    y = (np.random.default_rng(1).random(1000) < 0.05).astype("int32")
    x[y == 1] += 1.0
    model = mlp(units=1, activation="sigmoid", loss="binary_crossentropy")
    found, _ = fit_codes(model, x, y, epochs=1)
    assert set(found) == {"class_imbalance"}
    n1 = int(y.sum())
    assert f"class 1 has {n1} samples but class 0 has {1000 - n1}" in found["class_imbalance"]
    weight_1 = round(1000 / (2 * n1), 2)
    assert f"1: {weight_1}" in found["class_imbalance"]
    # Following the advice silences it.
    found, _ = fit_codes(model, x, y, epochs=0, class_weight={0: 0.5, 1: weight_1})
    assert found == {}


def test_validation_split_of_label_sorted_data():
    x, _ = blobs(1000)
    y = np.repeat(np.arange(10), 100).astype("int32")  # sorted: the last 20% = classes 8, 9
    found, _ = fit_codes(mlp(), x, y, epochs=1, validation_split=0.2)
    assert set(found) == {"validation_shift"}
    assert "total variation distance 1.00" in found["validation_shift"]
    perm = np.random.default_rng(0).permutation(1000)
    found, _ = fit_codes(mlp(), x[perm], y[perm], epochs=0, validation_split=0.2)
    assert found == {}


def test_small_random_splits_are_not_a_shift():
    x, y = blobs(160)
    found, _ = fit_codes(mlp(), x[:120], y[:120], epochs=0, validation_data=(x[120:], y[120:]))
    assert "validation_shift" not in found


@pytest.mark.parametrize("where", ["x", "y"])
def test_nan_in_data_stays_a_value_error(where):
    x, y = linear_data(50)
    (x if where == "x" else y)[3, ...] = np.nan
    model = mlp(units=1, activation=None, loss="mse", d=8, metrics=())
    with pytest.raises(ValueError, match=f"`{where}` contains {8 if where == 'x' else 1} NaN"):
        model.fit(x, y, epochs=1, verbose=0)


def test_label_errors_raise_even_with_the_doctor_off():
    x, y = blobs(100)
    y[0] = 12
    with pytest.raises(ValueError, match="valid range"):
        mlp().fit(x, y, epochs=1, verbose=0, doctor=False)


def test_label_errors_in_validation_data():
    x, y = blobs(100)
    y_val = y.copy()
    y_val[0] = 10
    with pytest.raises(ValueError, match="label value of 10"):
        mlp().fit(x, y, epochs=1, verbose=0, validation_data=(x, y_val))
