"""Top-level and keras.layers names Keras 3 has: version, device, StatelessScope,
layers.serialize/deserialize (both ways with Keras 3), Convolution1DTranspose."""
import keras as k3
import numpy as np
import pytest

import gazelle as keras


def test_version_is_the_package_version():
    assert keras.version() == keras.__version__


def test_device_scope_places_arrays():
    import jax
    with keras.device("cpu:0"):
        x = keras.ops.ones((2,))
    assert list(x.devices())[0] == jax.devices("cpu")[0]
    with keras.device(jax.devices("cpu")[0]):
        pass
    with pytest.raises(ValueError, match="does not exist"):
        keras.device("cpu:99")
    with pytest.raises(ValueError, match="expected a string"):
        keras.device(3)


def test_stateless_scope_matches_keras():
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    new_kernel = np.random.default_rng(1).normal(size=(3, 2)).astype("float32")
    ours, theirs = keras.layers.Dense(2), k3.layers.Dense(2)
    ours.build((None, 3))
    theirs.build((None, 3))
    with keras.StatelessScope(state_mapping=[(ours.kernel, new_kernel)]) as scope:
        y_ours = np.asarray(ours(x))
        ours.kernel.assign(new_kernel * 2)
        updated = scope.get_current_value(ours.kernel)
    with k3.StatelessScope(state_mapping=[(theirs.kernel, new_kernel)]):
        y_theirs = np.asarray(theirs(x))
    np.testing.assert_allclose(y_ours, y_theirs, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(updated), new_kernel * 2)
    assert not np.allclose(np.asarray(ours.kernel.numpy()), new_kernel * 2)   # left unchanged


def test_stateless_scope_errors():
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    with pytest.raises(ValueError, match="shape"):
        keras.StatelessScope(state_mapping=[(layer.kernel, np.ones((2, 2)))])
    with pytest.raises(ValueError, match="keras.Variable"):
        keras.StatelessScope(state_mapping=[("kernel", np.ones((3, 2)))])
    with pytest.raises(NotImplementedError, match="return_losses"):
        keras.StatelessScope(collect_losses=True)


@pytest.mark.parametrize("make", [
    lambda lib: lib.layers.Dense(3, activation="relu", use_bias=False),
    lambda lib: lib.layers.Conv2D(4, 3, padding="same"),
    lambda lib: lib.layers.Dropout(0.3),
])
def test_layers_serialize_round_trips_with_keras(make):
    ours = keras.layers.deserialize(k3.layers.serialize(make(k3)))
    theirs = k3.layers.deserialize(keras.layers.serialize(make(keras)))
    assert type(ours).__name__ == type(theirs).__name__
    a, b = ours.get_config(), theirs.get_config()
    for key in set(a) & set(b) - {"name", "dtype"}:
        assert a[key] == b[key], key


def test_layers_deserialize_errors():
    with pytest.raises(TypeError, match="keras.layers.Layer"):
        keras.layers.serialize(keras.losses.MeanSquaredError())
    with pytest.raises(ValueError, match="Unknown"):
        keras.layers.deserialize({"class_name": "NoSuchLayer", "config": {}})


def test_convolution1d_transpose_alias():
    assert keras.layers.Convolution1DTranspose is keras.layers.Conv1DTranspose
