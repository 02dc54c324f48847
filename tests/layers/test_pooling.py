"""Pooling layers: Keras 3 as oracle, the layer contract, aliases and clear errors."""
import numpy as np
import pytest

import gazelle as keras
from gazelle.layers import pooling
from gazelle.testing import run_layer_test

CASES = [
    ("MaxPooling1D", {}, (2, 9, 3)),
    ("MaxPooling1D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 10, 3)),
    ("AveragePooling1D", {"pool_size": 3, "padding": "same"}, (2, 10, 3)),
    ("AveragePooling1D", {"pool_size": 2, "data_format": "channels_first"}, (2, 3, 9)),
    ("MaxPooling2D", {}, (2, 9, 8, 3)),
    ("MaxPooling2D", {"pool_size": (3, 2), "strides": 1}, (2, 9, 8, 3)),
    ("MaxPooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 9, 8, 3)),
    ("MaxPooling2D", {"pool_size": 2, "data_format": "channels_first"}, (2, 3, 9, 8)),
    ("AveragePooling2D", {"pool_size": (2, 2)}, (2, 9, 8, 3)),
    ("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 9, 8, 3)),
    ("AveragePooling2D", {"pool_size": 3, "strides": 1, "padding": "same",
                          "data_format": "channels_first"}, (2, 3, 7, 6)),
    ("MaxPooling3D", {"padding": "same"}, (2, 5, 4, 3, 2)),
    ("AveragePooling3D", {"pool_size": 2, "strides": 1}, (2, 5, 4, 3, 2)),
    ("GlobalAveragePooling1D", {}, (2, 9, 3)),
    ("GlobalMaxPooling1D", {"keepdims": True}, (2, 9, 3)),
    ("GlobalAveragePooling2D", {}, (2, 5, 4, 3)),
    ("GlobalAveragePooling2D", {"data_format": "channels_first", "keepdims": True},
     (2, 3, 5, 4)),
    ("GlobalMaxPooling2D", {}, (2, 5, 4, 3)),
    ("GlobalMaxPooling2D", {"data_format": "channels_first"}, (2, 3, 5, 4)),
    ("GlobalAveragePooling3D", {}, (2, 4, 3, 2, 3)),
    ("GlobalMaxPooling3D", {"keepdims": True}, (2, 4, 3, 2, 3)),
]


@pytest.mark.parametrize("name, kwargs, shape", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_keras(name, kwargs, shape):
    import keras as k3
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    ours = getattr(pooling, name)(**kwargs)
    theirs = getattr(k3.layers, name)(**kwargs)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-6, atol=1e-6)
    symbolic = (None,) + shape[1:]
    assert ours.compute_output_shape(symbolic) == tuple(theirs.compute_output_shape(symbolic))
    config = ours.get_config()
    assert set(config) == set(theirs.get_config())
    assert {k: v for k, v in config.items() if k != "dtype" and k != "name"} == {
        k: v for k, v in theirs.get_config().items() if k != "dtype" and k != "name"}


@pytest.mark.parametrize("cls, kwargs, shape, out_shape", [
    (pooling.MaxPooling2D, {}, (2, 8, 8, 3), (2, 4, 4, 3)),
    (pooling.AveragePooling2D, {"pool_size": 3, "strides": 2, "padding": "same"},
     (2, 7, 7, 3), (2, 4, 4, 3)),
    (pooling.MaxPooling1D, {"pool_size": 3}, (2, 10, 3), (2, 3, 3)),
    (pooling.GlobalAveragePooling2D, {}, (2, 5, 5, 3), (2, 3)),
    (pooling.GlobalMaxPooling1D, {"keepdims": True}, (2, 5, 3), (2, 1, 3)),
])
def test_layer_contract(cls, kwargs, shape, out_shape):
    run_layer_test(cls, kwargs, shape, out_shape)


def test_gradients_flow_to_the_window_maximum_and_spread_for_average():
    import jax
    x = np.array([[[[1.0], [5.0]], [[2.0], [3.0]]]], "float32")   # (1, 2, 2, 1)
    g_max = jax.grad(lambda v: pooling.MaxPooling2D()(v).sum())(x)
    g_avg = jax.grad(lambda v: pooling.AveragePooling2D()(v).sum())(x)
    np.testing.assert_array_equal(g_max.ravel(), [0, 1, 0, 0])
    np.testing.assert_allclose(g_avg.ravel(), [0.25] * 4)


TILED = [
    ("MaxPooling2D", {}, (3, 7, 9, 4)),                      # valid: drops the odd row/column
    ("MaxPooling2D", {"pool_size": (2, 3), "padding": "same"}, (2, 4, 6, 3)),
    ("MaxPooling2D", {"data_format": "channels_first"}, (2, 3, 6, 5)),
    ("MaxPooling1D", {"pool_size": 3}, (2, 10, 3)),
    ("MaxPooling3D", {"pool_size": (2, 3, 2)}, (2, 5, 6, 7, 3)),
    ("AveragePooling2D", {"pool_size": 2}, (3, 7, 9, 4)),
    ("AveragePooling3D", {"pool_size": 2, "data_format": "channels_first"}, (2, 3, 4, 5, 4)),
]


@pytest.mark.sweep
@pytest.mark.parametrize("name, kwargs, shape", TILED, ids=[c[0] for c in TILED])
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
def test_tiled_windows_match_keras_values_and_gradients(name, kwargs, shape, ties):
    # Windows that tile the input take the reshape path; with ties (small integers), the
    # whole gradient of a window still goes to its first maximum, as in Keras 3.
    import jax
    import keras as k3
    rng = np.random.default_rng(1)
    x = (rng.integers(0, 3, shape) if ties else rng.standard_normal(shape)).astype("float32")
    ours = getattr(pooling, name)(**kwargs)
    assert (ours._tiled(shape) is not None) == (jax.default_backend() == "cpu")
    theirs = getattr(k3.layers, name)(**kwargs)
    w = rng.standard_normal(theirs.compute_output_shape(shape)).astype("float32")
    y, g = jax.value_and_grad(lambda v: (ours(v) * w).sum())(x)
    y_k, g_k = jax.value_and_grad(lambda v: (theirs(v) * w).sum())(x)
    np.testing.assert_allclose(float(y), float(y_k), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(g), np.asarray(g_k), rtol=1e-6, atol=1e-6)
    if ties and "Max" in name:
        # each window passes on exactly one gradient entry (not split between ties)
        assert np.count_nonzero(np.asarray(g)) == np.count_nonzero(w)


@pytest.mark.skipif(__import__("jax").default_backend() != "cpu", reason="CPU-only path")
def test_overlapping_or_padded_windows_use_reduce_window():
    assert pooling.MaxPooling2D(pool_size=3, strides=2)._tiled((1, 9, 9, 1)) is None
    assert pooling.MaxPooling2D(padding="same")._tiled((1, 9, 8, 1)) is None
    assert pooling.MaxPooling2D(padding="same")._tiled((1, 8, 8, 1)) == ((1, 2), (2, 2))


def test_average_same_padding_ignores_padded_entries():
    # A constant input must pool to the same constant, edges included (padding is not zeros).
    x = np.full((1, 5, 5, 1), 3.0, "float32")
    y = pooling.AveragePooling2D(pool_size=3, strides=2, padding="same")(x)
    np.testing.assert_allclose(np.asarray(y), np.full((1, 3, 3, 1), 3.0))


def test_aliases_are_the_same_classes():
    assert pooling.MaxPool2D is pooling.MaxPooling2D
    assert pooling.AvgPool2D is pooling.AveragePooling2D
    assert pooling.GlobalAvgPool2D is pooling.GlobalAveragePooling2D
    assert pooling.GlobalMaxPool2D is pooling.GlobalMaxPooling2D
    assert pooling.MaxPool1D is pooling.MaxPooling1D
    assert pooling.AvgPool3D is pooling.AveragePooling3D


def test_strides_default_to_pool_size_and_padding_is_case_insensitive():
    layer = pooling.MaxPooling2D(pool_size=3, padding="SAME")
    assert layer.strides == (3, 3) and layer.padding == "same"
    assert pooling.MaxPooling1D().pool_size == (2,)


def test_average_pooling_keeps_tf_keras_2_default_pool_size():
    # On purpose: Keras 3 made `pool_size` required for AveragePooling*; tf.keras 2 (and
    # the tutorials we run) default it to 2 per axis, like MaxPooling*.
    import keras as k3
    with pytest.raises(TypeError, match="pool_size"):
        k3.layers.AveragePooling2D()
    assert pooling.AveragePooling1D().pool_size == (2,)
    assert pooling.AveragePooling2D().pool_size == (2, 2)
    assert pooling.AveragePooling3D().pool_size == (2, 2, 2)


@pytest.mark.parametrize("kwargs, match", [
    ({"pool_size": 0}, "pool_size.*positive"),
    ({"pool_size": (2, 2, 2)}, "pool_size.*tuple of 2"),
    ({"strides": (1, -1)}, "strides"),
    ({"padding": "causal"}, r"padding.*\['valid', 'same'\].*causal"),
    ({"data_format": "channels_middle"}, "data_format"),
])
def test_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match="MaxPooling2D: .*" + match):
        pooling.MaxPooling2D(**kwargs)


def test_wrong_rank_and_too_small_inputs_name_the_layer():
    with pytest.raises(ValueError, match=r"'pool'.*expected ndim=4.*\(32, 28, 28\).*expand_dims"):
        pooling.MaxPooling2D(name="pool")(np.zeros((32, 28, 28), "float32"))
    with pytest.raises(ValueError, match="'gap'.*expected ndim=4"):
        pooling.GlobalAveragePooling2D(name="gap")(np.zeros((2, 5, 3), "float32"))
    with pytest.raises(ValueError, match="'p3'.*too small.*padding='same'"):
        pooling.MaxPooling2D(3, name="p3")(np.zeros((1, 2, 5, 1), "float32"))


def test_pooling_in_a_sequential_model_reports_shapes():
    from gazelle.layers.convolutional import Conv2D
    model = keras.models.Sequential([
        Conv2D(4, 3, padding="same", input_shape=(28, 28, 1)),
        pooling.MaxPooling2D(), pooling.AveragePooling2D(padding="same"),
        pooling.GlobalMaxPooling2D()])
    assert [layer.output_shape for layer in model.layers] == [
        (None, 28, 28, 4), (None, 14, 14, 4), (None, 7, 7, 4), (None, 4)]
