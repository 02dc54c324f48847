"""OrthogonalRegularizer and regularizers.deserialize against keras.regularizers."""
import jax.numpy as jnp
import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle import regularizers

RNG = np.random.default_rng(3)


@pytest.mark.sweep
@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (2, 9)])
@pytest.mark.parametrize("mode", ["rows", "columns"])
@pytest.mark.parametrize("factor", [0.01, 0.5, 0])
def test_orthogonal_penalty_equals_keras(shape, mode, factor):
    w = RNG.normal(size=shape).astype("float32")
    w[1] = 0.0                                      # a zero row must not give NaN
    w = jnp.asarray(w)
    ours = regularizers.OrthogonalRegularizer(factor, mode)(w)
    theirs = k3.regularizers.OrthogonalRegularizer(factor, mode)(w)
    assert np.isfinite(float(ours))
    np.testing.assert_allclose(float(ours), float(theirs), rtol=1e-6, atol=1e-8)


def test_orthogonal_penalty_is_zero_for_orthogonal_rows():
    q = np.linalg.qr(RNG.normal(size=(6, 6)))[0].astype("float32")
    assert float(regularizers.OrthogonalRegularizer(1.0)(q[:4])) < 1e-6
    assert float(regularizers.OrthogonalRegularizer(1.0, "columns")(q[:, :3])) < 1e-6


def test_orthogonal_config_names_and_serialization_like_keras():
    ours = regularizers.OrthogonalRegularizer(0.1, "columns")
    theirs = k3.regularizers.OrthogonalRegularizer(0.1, "columns")
    assert ours.get_config() == theirs.get_config()
    assert regularizers.serialize(ours) == k3.regularizers.serialize(theirs)
    again = regularizers.deserialize(regularizers.serialize(ours))
    assert type(again) is regularizers.OrthogonalRegularizer
    assert again.get_config() == ours.get_config()
    assert k3.regularizers.deserialize(regularizers.serialize(ours)).get_config() == \
        theirs.get_config()
    assert regularizers.orthogonal_regularizer is regularizers.OrthogonalRegularizer
    for name in ("OrthogonalRegularizer", "orthogonal_regularizer"):
        got = regularizers.get(name)
        assert type(got) is regularizers.OrthogonalRegularizer
        assert got.get_config() == k3.regularizers.get(name).get_config()


def test_orthogonal_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="factor"):
        regularizers.OrthogonalRegularizer(-1.0)
    with pytest.raises(ValueError, match="factor"):
        regularizers.OrthogonalRegularizer(float("nan"))
    with pytest.raises(ValueError, match="mode"):
        regularizers.OrthogonalRegularizer(mode="diagonal")
    with pytest.raises(ValueError, match="rank-2"):
        regularizers.OrthogonalRegularizer()(jnp.ones((2, 3, 4)))


@pytest.mark.parametrize("config", [
    {"module": "keras.regularizers", "class_name": "L1", "config": {"l1": 0.3},
     "registered_name": None},
    {"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.2},
     "registered_name": None},
    {"class_name": "L2", "config": {"l2": 0.05}},
    "l2", "L1",
])
def test_deserialize_matches_keras(config):
    ours, theirs = regularizers.deserialize(config), k3.regularizers.deserialize(config)
    assert type(ours).__name__ == type(theirs).__name__
    w = RNG.normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(float(ours(w)), float(theirs(w)), rtol=1e-6)


def test_deserialize_unknown_name_and_custom_objects():
    with pytest.raises(ValueError, match="NoSuchRegularizer"):
        regularizers.deserialize({"class_name": "NoSuchRegularizer", "config": {}})

    class Doubling(regularizers.Regularizer):
        def __call__(self, x):
            return 2.0 * jnp.sum(x)

    got = regularizers.deserialize({"class_name": "Doubling", "config": {}},
                                   custom_objects={"Doubling": Doubling})
    assert isinstance(got, Doubling)


def test_dense_with_orthogonal_regularizer_loss_matches_keras_and_round_trips(tmp_path):
    x = RNG.normal(size=(4, 6)).astype("float32")
    ours = keras.Sequential([keras.Input((6,)), keras.layers.Dense(
        5, kernel_regularizer=regularizers.OrthogonalRegularizer(0.2, "columns"))])
    theirs = k3.Sequential([k3.Input((6,)), k3.layers.Dense(
        5, kernel_regularizer=k3.regularizers.OrthogonalRegularizer(0.2, "columns"))])
    theirs.set_weights([np.asarray(w) for w in ours.get_weights()])
    ours(x)
    theirs(x)
    np.testing.assert_allclose(float(sum(ours.losses)), float(sum(theirs.losses)), rtol=1e-6)
    assert (ours.layers[0].get_config()["kernel_regularizer"]
            == theirs.layers[0].get_config()["kernel_regularizer"])
    ours.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    reg = loaded.layers[0].kernel_regularizer
    assert isinstance(reg, regularizers.OrthogonalRegularizer)
    assert reg.get_config() == {"factor": float(np.float32(0.2)), "mode": "columns"}


def test_orthogonal_penalty_counts_in_evaluate_and_fit_like_keras():
    x = RNG.normal(size=(16, 6)).astype("float32")
    y = RNG.normal(size=(16, 5)).astype("float32")
    ours = keras.Sequential([keras.Input((6,)), keras.layers.Dense(
        5, kernel_regularizer=regularizers.OrthogonalRegularizer(0.5))])
    theirs = k3.Sequential([k3.Input((6,)), k3.layers.Dense(
        5, kernel_regularizer=k3.regularizers.OrthogonalRegularizer(0.5))])
    theirs.set_weights([np.asarray(w) for w in ours.get_weights()])
    ours.compile("sgd", "mse")
    theirs.compile("sgd", "mse")
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0),
                               rtol=1e-5)
    h1 = ours.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history["loss"]
    h2 = theirs.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h1, h2, rtol=1e-4)


def test_keras3_file_with_orthogonal_regularizer_and_sgdr_loads_in_gazelle(tmp_path):
    theirs = k3.Sequential([k3.Input((6,)), k3.layers.Dense(
        5, kernel_regularizer=k3.regularizers.OrthogonalRegularizer(0.3, "columns"),
        kernel_initializer=k3.initializers.orthogonal(seed=1))])
    theirs.compile(k3.optimizers.SGD(k3.optimizers.schedules.CosineDecayRestarts(0.1, 4)),
                   "mse")
    theirs.save(tmp_path / "k3.keras")
    ours = keras.models.load_model(tmp_path / "k3.keras")
    layer = ours.layers[0]
    assert layer.kernel_regularizer.get_config() == \
        theirs.layers[0].kernel_regularizer.get_config()
    assert (ours.optimizer.get_config()["learning_rate"]
            == theirs.optimizer.get_config()["learning_rate"])
    x = RNG.normal(size=(3, 6)).astype("float32")
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(float(sum(ours.losses)), float(sum(theirs.losses)), rtol=1e-5)
