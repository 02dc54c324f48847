"""UpSampling3D, ZeroPadding3D, Cropping3D and SpatialDropout3D against Keras 3."""
import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle.testing import run_layer_test

L = keras.layers


def _volumes(shape=(2, 4, 5, 6, 4)):
    return np.random.default_rng(0).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("name, kwargs", [
    ("UpSampling3D", {}), ("UpSampling3D", {"size": (1, 2, 3)}),
    ("ZeroPadding3D", {}), ("ZeroPadding3D", {"padding": 2}),
    ("ZeroPadding3D", {"padding": (1, 0, 2)}),
    ("ZeroPadding3D", {"padding": ((0, 1), (2, 0), (1, 1))}),
    ("Cropping3D", {}), ("Cropping3D", {"cropping": (0, 1, 1)}),
    ("Cropping3D", {"cropping": ((1, 0), (0, 2), (1, 2))})])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_matches_keras(name, kwargs, data_format):
    x = _volumes()
    ours = getattr(L, name)(data_format=data_format, **kwargs)
    theirs = getattr(k3.layers, name)(data_format=data_format, **kwargs)
    expected = np.asarray(theirs(x))
    np.testing.assert_array_equal(ours(x), expected)
    assert ours.compute_output_shape((None,) + x.shape[1:]) == theirs.compute_output_shape(
        (None,) + x.shape[1:])
    config = ours.get_config()
    assert {k: v for k, v in config.items() if k not in ("name", "dtype")} == {
        k: v for k, v in theirs.get_config().items() if k not in ("name", "dtype")}


def test_contracts():
    run_layer_test(L.UpSampling3D, {"size": 2}, (2, 2, 3, 2, 4), (2, 4, 6, 4, 4))
    run_layer_test(L.ZeroPadding3D, {"padding": 1}, (2, 2, 3, 2, 4), (2, 4, 5, 4, 4))
    run_layer_test(L.Cropping3D, {"cropping": 1}, (2, 4, 3, 5, 4), (2, 2, 1, 3, 4))


def test_bad_arguments_and_inputs_raise_value_errors():
    with pytest.raises(ValueError, match="size"):
        L.UpSampling3D(size=(2, 2))
    with pytest.raises(ValueError, match="padding"):
        L.ZeroPadding3D(padding=((1, 1), (1, 1)))
    with pytest.raises(ValueError, match="cropping"):
        L.Cropping3D(cropping=-1)
    with pytest.raises(ValueError, match="ndim=5"):
        L.UpSampling3D()(np.zeros((2, 3, 3, 3), "float32"))
    with pytest.raises(ValueError, match="removes all"):
        L.Cropping3D(cropping=2)(np.zeros((1, 4, 8, 8, 1), "float32"))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_spatial_dropout3d_drops_whole_channels_and_is_identity_at_inference(data_format):
    x = np.ones((8, 3, 3, 3, 6), "float32")
    if data_format == "channels_first":
        x = np.moveaxis(x, -1, 1)
    layer = L.SpatialDropout3D(0.5, data_format=data_format, seed=0)
    out = np.asarray(layer(x, training=True))
    spatial = (1, 2, 3) if data_format == "channels_last" else (2, 3, 4)
    per_channel = out.min(axis=spatial)
    np.testing.assert_array_equal(per_channel, out.max(axis=spatial))  # whole maps
    assert set(np.unique(per_channel)) == {0.0, 2.0}
    np.testing.assert_array_equal(layer(x, training=False), x)
    theirs = k3.layers.SpatialDropout3D(0.5, data_format=data_format)
    assert layer.get_config().keys() == theirs.get_config().keys()
    with pytest.raises(ValueError, match="ndim=5"):
        layer(np.ones((2, 3, 3, 3), "float32"), training=True)


def test_round_trip_in_a_saved_model(tmp_path):
    model = keras.Sequential([
        keras.Input((4, 4, 4, 2)), L.ZeroPadding3D(1), L.Cropping3D(((1, 0), (0, 1), (1, 1))),
        L.UpSampling3D((1, 2, 1)), L.SpatialDropout3D(0.3), L.Flatten(), L.Dense(1)])
    x = _volumes((3, 4, 4, 4, 2))
    model.save(tmp_path / "v.keras")
    loaded = keras.models.load_model(tmp_path / "v.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
