"""AdaptiveAveragePooling1D/2D/3D and AdaptiveMaxPooling1D/2D/3D against Keras 3."""
import jax
import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle.testing import run_layer_test

L = keras.layers
_SHAPES = {1: (2, 11, 3), 2: (2, 9, 7, 3), 3: (2, 5, 7, 6, 2)}


@pytest.mark.sweep
@pytest.mark.parametrize("rank", [1, 2, 3])
@pytest.mark.parametrize("kind", ["Average", "Max"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_matches_keras(rank, kind, data_format):
    x = np.random.default_rng(rank).standard_normal(_SHAPES[rank]).astype("float32")
    name = f"Adaptive{kind}Pooling{rank}D"
    for output_size in (3, (2, 5, 4)[:rank]):
        ours = getattr(L, name)(output_size, data_format=data_format)
        theirs = getattr(k3.layers, name)(output_size, data_format=data_format)
        np.testing.assert_allclose(ours(x), theirs(x), rtol=1e-6, atol=1e-6)
        assert ours.compute_output_shape((None,) + x.shape[1:]) == theirs.compute_output_shape(
            (None,) + x.shape[1:])
        assert ours.get_config()["output_size"] == tuple(theirs.get_config()["output_size"])


def test_gradients_match_keras():
    x = np.random.default_rng(0).standard_normal((2, 9, 7, 3)).astype("float32")
    for kind in ("Average", "Max"):
        ours = getattr(L, f"Adaptive{kind}Pooling2D")((4, 3))
        theirs = getattr(k3.layers, f"Adaptive{kind}Pooling2D")((4, 3))
        g_ours = jax.grad(lambda v: (ours(v) ** 2).sum())(x)
        g_theirs = jax.grad(lambda v: (theirs(v) ** 2).sum())(x)
        np.testing.assert_allclose(g_ours, g_theirs, rtol=1e-5, atol=1e-6)


def test_contract_and_bad_arguments():
    run_layer_test(L.AdaptiveAveragePooling2D, {"output_size": 2}, (2, 5, 6, 3), (2, 2, 2, 3))
    run_layer_test(L.AdaptiveMaxPooling1D, {"output_size": 4}, (2, 9, 3), (2, 4, 3))
    with pytest.raises(TypeError, match="output_size"):
        L.AdaptiveMaxPooling2D((2, 2, 2))
    with pytest.raises(TypeError, match="output_size"):
        L.AdaptiveAveragePooling1D(0)
    with pytest.raises(ValueError, match="data_format"):
        L.AdaptiveAveragePooling3D(2, data_format="ndhwc")
    with pytest.raises(ValueError, match="ndim=4"):
        L.AdaptiveAveragePooling2D(2)(np.zeros((2, 5, 3), "float32"))


def test_round_trip_in_a_saved_model(tmp_path):
    model = keras.Sequential([keras.Input((10, 12, 3)), L.Conv2D(4, 3),
                              L.AdaptiveAveragePooling2D((3, 3)), L.AdaptiveMaxPooling2D(2),
                              L.Flatten(), L.Dense(2)])
    x = np.random.default_rng(0).standard_normal((2, 10, 12, 3)).astype("float32")
    model.save(tmp_path / "a.keras")
    loaded = keras.models.load_model(tmp_path / "a.keras")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
