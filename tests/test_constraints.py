"""Weight constraints: differential tests against keras.constraints, identifiers and
configs, and constraints given to layers as names, objects and Keras 3 config dicts
(applied by the compiled training step, kept through .keras files)."""
import jax
import keras
import numpy as np
import pytest

import gazelle
from gazelle import constraints

TOL = dict(rtol=1e-5, atol=1e-6)

CASES = [
    ("MaxNorm", {}), ("MaxNorm", {"max_value": 0.7, "axis": 1}),
    ("MaxNorm", {"max_value": 1.5, "axis": [0, 1, 2]}), ("NonNeg", {}),
    ("UnitNorm", {}), ("UnitNorm", {"axis": [0, 1]}),
    ("MinMaxNorm", {}), ("MinMaxNorm", {"min_value": 0.5, "max_value": 1.2, "rate": 0.3,
                                        "axis": 1}),
]


@pytest.mark.parametrize("name,kwargs", CASES)
def test_constraints_match_keras(name, kwargs):
    rng = np.random.default_rng(0)
    shape = (3, 3, 4, 5) if isinstance(kwargs.get("axis"), list) else (6, 4)
    w = (rng.normal(size=shape) * 2).astype("float32")
    ours, theirs = getattr(constraints, name)(**kwargs), getattr(keras.constraints, name)(
        **kwargs)
    np.testing.assert_allclose(ours(w), theirs(w), **TOL)
    np.testing.assert_allclose(jax.jit(ours)(w), theirs(w), **TOL)
    assert ours.get_config() == theirs.get_config()
    assert constraints.serialize(ours) == keras.constraints.serialize(theirs)
    again = constraints.deserialize(keras.constraints.serialize(theirs))
    assert type(again) is type(ours) and again.get_config() == ours.get_config()


@pytest.mark.parametrize("alias", ["max_norm", "MaxNorm", "non_neg", "NonNeg", "unit_norm",
                                   "min_max_norm", "MinMaxNorm", "UnitNorm"])
def test_names_resolve_like_keras(alias):
    assert type(constraints.get(alias)).__name__ == type(keras.constraints.get(alias)).__name__


def test_get_passes_objects_and_callables_and_rejects_junk():
    c = constraints.MaxNorm(3)
    assert constraints.get(c) is c
    assert constraints.get(None) is None
    fn = lambda w: w * 0  # noqa: E731
    assert constraints.get(fn) is fn
    assert isinstance(constraints.get(constraints.NonNeg), constraints.NonNeg)
    assert constraints.max_norm is constraints.MaxNorm
    with pytest.raises(ValueError, match="Unknown constraint identifier"):
        constraints.get("max_nrom")
    with pytest.raises(ValueError, match="constraint"):
        constraints.get(3)
    assert constraints.deserialize("Custom", custom_objects={"Custom": c}) is c


def test_keras_namespace_exposes_constraints():
    assert gazelle.constraints is constraints
    for name in dir(keras.constraints):
        if not name.startswith("_"):
            assert hasattr(constraints, name), name


@pytest.mark.parametrize("kernel_constraint", ["non_neg", constraints.NonNeg(),
                                               {"module": "keras.constraints",
                                                "class_name": "NonNeg", "config": {},
                                                "registered_name": None}])
def test_layers_accept_names_objects_and_configs(kernel_constraint):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = -x @ np.ones((4, 2), "float32")          # pushes the kernel negative
    model = gazelle.Sequential([
        gazelle.layers.Input((4,)),
        gazelle.layers.Dense(2, kernel_constraint=kernel_constraint,
                             bias_constraint=constraints.MaxNorm(0.1))])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    kernel, bias = (w.numpy() for w in model.layers[0].weights)
    assert kernel.min() >= 0.0
    assert np.linalg.norm(bias) <= 0.1 + 1e-6


def test_maxnorm_model_round_trips_and_loads_keras_files(tmp_path):
    k = keras.Sequential([keras.Input((3,)),
                          keras.layers.Dense(4, kernel_constraint=keras.constraints.MaxNorm(
                              0.5, axis=0))])
    k.save(tmp_path / "k3.keras")
    model = gazelle.models.load_model(tmp_path / "k3.keras")
    x = np.random.default_rng(2).normal(size=(32, 3)).astype("float32")
    model.compile(optimizer=gazelle.optimizers.SGD(0.5), loss="mse")
    model.fit(x, 10 * np.ones((32, 4), "float32"), batch_size=8, epochs=1, verbose=0)
    kernel = model.layers[0].kernel.numpy()
    assert np.all(np.linalg.norm(kernel, axis=0) <= 0.5 + 1e-5)
    model.save(tmp_path / "g.keras")
    again = keras.models.load_model(tmp_path / "g.keras")
    assert again.layers[0].kernel_constraint.get_config() == {"max_value": 0.5, "axis": 0}
    np.testing.assert_allclose(again.layers[0].kernel.numpy(), kernel, **TOL)


def test_tf_keras_2_config_without_module_resolves():
    # tf.keras 2 `.h5` files spell a constraint as {"class_name", "config"} only.
    c = constraints.get({"class_name": "MaxNorm", "config": {"max_value": 3, "axis": 0}})
    assert isinstance(c, constraints.MaxNorm) and c.get_config() == {"max_value": 3, "axis": 0}
    w = np.full((2, 2), 4.0, "float32")
    np.testing.assert_allclose(c(w), keras.constraints.MaxNorm(3, axis=0)(w), **TOL)
