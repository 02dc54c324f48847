"""gazelle.utils.numerical against keras.utils (Keras 3) as the oracle."""
import keras
import numpy as np
import pytest

from gazelle.utils.numerical import normalize, to_categorical


@pytest.mark.parametrize("labels, num_classes", [
    ([0, 2, 1, 3], None),
    ([0, 2, 1], 5),
    ([[0], [2], [1]], None),          # trailing 1 is squeezed: (3, 1) -> (3, 3)
    ([[0, 1], [2, 1]], 3),             # (2, 2) -> (2, 2, 3)
    ([[[1], [0]], [[2], [2]]], None),  # (2, 2, 1) -> (2, 2, 3)
    ([[1]], 2),                        # (1, 1) -> (1, 2)
    (np.array([1, 0], dtype="uint8"), None),
    (np.array([1.0, 0.0, 2.0]), None),  # integral floats are accepted
    (2, 4),                             # a scalar gives one row
])
def test_to_categorical_matches_keras(labels, num_classes):
    ours = to_categorical(labels, num_classes)
    theirs = keras.utils.to_categorical(labels, num_classes)
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


def test_to_categorical_is_float32_like_tf_keras_2_on_purpose():
    # Keras 3 returns float64 from numpy input; tf.keras 2 returned float32, as we do.
    assert keras.utils.to_categorical([0, 1]).dtype == np.float64
    assert to_categorical([0, 1]).dtype == np.float32
    assert to_categorical([0, 1], dtype="int32").dtype == np.int32


@pytest.mark.parametrize("labels", [[0, -1, 2], [[-3]]])
def test_negative_labels_are_an_error(labels):
    # Keras 3 silently wraps negative labels to the last classes; we refuse.
    with pytest.raises(ValueError, match=">= 0.*-"):
        to_categorical(labels, 3)


def test_labels_at_or_above_num_classes_are_an_error():
    with pytest.raises(ValueError, match="< num_classes=3.*label 3.*num_classes=4"):
        to_categorical([0, 3, 1], num_classes=3)


@pytest.mark.parametrize("labels", [[0.5, 1.0], [np.nan, 1.0]])
def test_non_integer_labels_are_an_error(labels):
    with pytest.raises(ValueError, match="integer class labels"):
        to_categorical(labels)


@pytest.mark.parametrize("num_classes, error", [
    (0, ValueError), (-2, ValueError), (2.5, TypeError), ("3", TypeError)])
def test_bad_num_classes_names_the_argument(num_classes, error):
    with pytest.raises(error, match="num_classes"):
        to_categorical([0, 1], num_classes=num_classes)


def test_string_labels_are_a_type_error():
    with pytest.raises(TypeError, match="integer class labels.*dtype"):
        to_categorical(["cat", "dog"])


def test_empty_labels_need_num_classes():
    with pytest.raises(ValueError, match="num_classes"):
        to_categorical([])
    assert to_categorical(np.zeros((0,), "int64"), 3).shape == (0, 3)


@pytest.mark.parametrize("order", [1, 2, np.inf])
@pytest.mark.parametrize("axis", [-1, 1])
def test_normalize_matches_keras(order, axis):
    x = np.random.default_rng(0).normal(size=(4, 5)).astype("float32")
    x[2] = 0.0  # a zero row stays zero
    ours = normalize(x, axis=axis, order=order)
    theirs = keras.utils.normalize(x, axis=axis, order=order)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
    assert ours.dtype == np.float32


def test_normalize_axis_0_divides_by_column_norms():
    # Keras 3's numpy path expands the norm on the last axis for axis=0 (a bug that
    # gives wrong values for square input); we normalize along the axis asked for.
    x = np.array([[3.0, 1.0], [4.0, 1.0]])
    np.testing.assert_allclose(normalize(x, axis=0),
                               [[0.6, 1 / np.sqrt(2)], [0.8, 1 / np.sqrt(2)]])
    np.testing.assert_allclose(np.linalg.norm(normalize(x, axis=0), axis=0), [1.0, 1.0])


def test_normalize_rejects_bad_axis():
    with pytest.raises(ValueError, match="axis.*out of range.*\\(2, 3\\)"):
        normalize(np.ones((2, 3)), axis=2)
    with pytest.raises(TypeError, match="axis.*None"):
        normalize(np.ones((2, 3)), axis=None)
