"""Dropout-family layers: contract, Keras 3 as oracle for the deterministic parts and
the statistics of the random parts, validation, and training=True inside fit."""
import jax
import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle.layers.regularization import (AlphaDropout, Dropout, GaussianDropout,
                                           GaussianNoise, SpatialDropout1D, SpatialDropout2D)
from gazelle.testing import run_layer_test

CASES = [
    (Dropout, {"rate": 0.5}, (3, 4)),
    (Dropout, {"rate": 0.2, "noise_shape": (None, 1, None), "seed": 3}, (2, 3, 4)),
    (AlphaDropout, {"rate": 0.3}, (3, 4)),
    (GaussianNoise, {"stddev": 0.5}, (3, 4)),
    (GaussianDropout, {"rate": 0.4}, (3, 4)),
    (SpatialDropout1D, {"rate": 0.5}, (2, 3, 4)),
    (SpatialDropout2D, {"rate": 0.5, "data_format": "channels_first"}, (2, 3, 4, 5)),
]


@pytest.mark.parametrize("cls, kwargs, shape", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_contract_identity_at_inference(cls, kwargs, shape):
    layer = run_layer_test(cls, kwargs, shape, shape)
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    theirs = getattr(k3.layers, cls.__name__)(**kwargs)
    np.testing.assert_array_equal(np.asarray(theirs(x, training=False)), x)
    assert set(layer.get_config()) == set(theirs.get_config())


def test_dropout_zeroes_fraction_rate_and_scales_the_rest():
    x = np.random.default_rng(0).uniform(1, 2, (200, 100)).astype("float32")
    ours = np.asarray(Dropout(0.3, seed=1)(x, training=True))
    theirs = np.asarray(k3.layers.Dropout(0.3, seed=1)(x, training=True))
    for y in (ours, theirs):
        kept = y != 0
        assert abs(1 - kept.mean() - 0.3) < 0.02
        np.testing.assert_allclose(y[kept], x[kept] / 0.7, rtol=1e-6)


def test_dropout_noise_shape_shares_the_mask():
    x = np.ones((4, 6, 8), "float32")
    y = np.asarray(Dropout(0.5, noise_shape=(None, 1, None), seed=0)(x, training=True))
    assert np.all(y == y[:, :1, :])         # same mask at every timestep
    with pytest.raises(ValueError, match="noise_shape"):
        Dropout(0.5, noise_shape=(4, 2, 8))(x, training=True)
    with pytest.raises(ValueError, match="noise_shape"):
        Dropout(0.5, noise_shape="auto")


def test_seed_repeats_and_each_call_draws_a_new_mask():
    x = np.ones((10, 50), "float32")
    a, b = Dropout(0.5, seed=42), Dropout(0.5, seed=42)
    first = np.asarray(a(x, training=True))
    np.testing.assert_array_equal(first, np.asarray(b(x, training=True)))
    assert not np.array_equal(first, np.asarray(a(x, training=True)))


@pytest.mark.parametrize("rate", [-0.1, 1.5, "half", None])
def test_invalid_rate_is_value_error_naming_rate(rate):
    for cls in (Dropout, AlphaDropout, GaussianDropout, SpatialDropout1D):
        with pytest.raises(ValueError, match="rate"):
            cls(rate)


def test_rate_one_rejected_on_purpose():
    # Keras 3 accepts rate=1 (drop everything); gazelle refuses it, as a model that
    # drops all units cannot learn and 1/(1 - rate) is undefined.
    k3.layers.Dropout(1.0)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        Dropout(1.0)


def test_gaussian_noise_validation():
    with pytest.raises(ValueError, match="stddev"):
        GaussianNoise(-1.0)
    # Keras 3 rejects stddev > 1; tf.keras 2 accepted any stddev >= 0, and so does gazelle.
    assert GaussianNoise(2.0).stddev == 2.0


@pytest.mark.parametrize("cls, axes", [(SpatialDropout1D, (1,)), (SpatialDropout2D, (1, 2))])
def test_spatial_dropout_drops_whole_channels(cls, axes):
    shape = (4, 5, 6, 16)[:len(axes) + 2]
    x = np.ones(shape, "float32")
    y = np.asarray(cls(0.5, seed=0)(x, training=True))
    first = y[(slice(None),) + (slice(0, 1),) * len(axes)]
    assert np.all(y == first)               # constant over the spatial axes
    assert 0 < (first == 0).mean() < 1
    with pytest.raises(ValueError, match="ndim"):
        cls(0.5)(np.ones((2, 3), "float32"))


def test_spatial_dropout2d_channels_first():
    x = np.ones((4, 16, 3, 5), "float32")
    y = np.asarray(SpatialDropout2D(0.5, data_format="channels_first", seed=1)(x, training=True))
    assert np.all(y == y[:, :, :1, :1])


def _affine_parts(x, y):
    """For AlphaDropout outputs: the dropped constant c and the kept map y = a x + b."""
    values, counts = np.unique(y, return_counts=True)
    c = values[np.argmax(counts)]
    kept = y != c
    a, b = np.polyfit(x[kept], y[kept], 1)
    return np.array([a, b, c]), kept.mean()


def test_alpha_dropout_matches_keras_transformation():
    x = np.random.default_rng(0).uniform(1, 2, (100, 100)).astype("float32")
    ours, kept_ours = _affine_parts(x, np.asarray(AlphaDropout(0.2, seed=1)(x, training=True)))
    theirs, kept_theirs = _affine_parts(
        x, np.asarray(k3.layers.AlphaDropout(0.2, seed=1)(x, training=True)))
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)
    assert abs(kept_ours - 0.8) < 0.02 and abs(kept_theirs - 0.8) < 0.02


def test_gaussian_noise_and_dropout_statistics_match_keras():
    x = np.random.default_rng(0).uniform(1, 2, (300, 100)).astype("float32")
    noise = np.asarray(GaussianNoise(0.3, seed=0)(x, training=True)) - x
    k_noise = np.asarray(k3.layers.GaussianNoise(0.3, seed=0)(x, training=True)) - x
    assert abs(noise.mean()) < 0.01 and abs(noise.std() - k_noise.std()) < 0.01
    ratio = np.asarray(GaussianDropout(0.4, seed=0)(x, training=True)) / x
    k_ratio = np.asarray(k3.layers.GaussianDropout(0.4, seed=0)(x, training=True)) / x
    assert abs(ratio.mean() - 1) < 0.01 and abs(ratio.std() - k_ratio.std()) < 0.01


def test_stateless_call_in_training_advances_the_seed():
    layer = Dropout(0.5, seed=0)
    x = np.ones((8, 32), "float32")
    layer(x)
    step = jax.jit(lambda ntv: layer.stateless_call([], ntv, x, training=True))
    ntv = [v.value for v in layer.non_trainable_variables]
    y1, ntv = step(ntv)
    y2, _ = step(ntv)
    assert not np.array_equal(np.asarray(y1), np.asarray(y2))
    assert layer.weights == [] and len(layer.non_trainable_variables) == 1


def test_fit_runs_dropout_in_training_mode():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).standard_normal((32, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    drop = Dropout(0.5, seed=0)
    model = keras.Sequential([keras.layers.Dense(8, input_shape=(4,)), drop,
                              keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    state = np.asarray(drop.seed_generator.state.value)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert not np.array_equal(state, np.asarray(drop.seed_generator.state.value))
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))
