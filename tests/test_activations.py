"""gazelle.activations against keras.activations (Keras 3, JAX backend) as the oracle."""
import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from gazelle import activations

RNG = np.random.default_rng(0)
X = RNG.normal(scale=3.0, size=(4, 7)).astype("float32")
# Large magnitudes: a naive exp() overflows here, a stable implementation does not.
X_LARGE = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0],
                    [88.0, 89.0, 90.0, -88.0, -104.0]], dtype="float32")

UNARY = ["relu", "leaky_relu", "relu6", "softmax", "log_softmax", "elu", "selu", "gelu",
         "softplus", "softsign", "silu", "swish", "tanh", "sigmoid", "exponential",
         "hard_sigmoid", "hard_silu", "hard_swish", "mish", "linear"]


def _close(ours, theirs, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", UNARY)
def test_matches_keras_on_random_inputs(name):
    _close(getattr(activations, name)(X), getattr(keras.activations, name)(X))


@pytest.mark.parametrize("name", [n for n in UNARY if n != "exponential"])
def test_matches_keras_and_stays_finite_on_large_inputs(name):
    ours = np.asarray(getattr(activations, name)(X_LARGE))
    theirs = np.asarray(getattr(keras.activations, name)(X_LARGE))
    _close(ours, theirs)
    assert np.isfinite(ours).all()


def test_softmax_and_sigmoid_are_stable_for_huge_logits():
    p = np.asarray(activations.softmax(X_LARGE))
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-6)
    s = np.asarray(activations.sigmoid(X_LARGE))
    assert np.isfinite(s).all() and (s >= 0).all() and (s <= 1).all()
    assert np.isfinite(np.asarray(activations.log_softmax(X_LARGE))).all()


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_axis_matches_keras(axis):
    x = RNG.normal(size=(3, 4, 5)).astype("float32")
    _close(activations.softmax(x, axis=axis), keras.activations.softmax(x, axis=axis))
    _close(activations.log_softmax(x, axis=axis),
           keras.activations.log_softmax(x, axis=axis))


def test_softmax_over_size_one_axis_warns():
    with pytest.warns(UserWarning, match="size 1"):
        activations.softmax(np.zeros((3, 1), "float32"))


@pytest.mark.parametrize("kwargs", [
    {}, {"negative_slope": 0.1}, {"max_value": 6.0}, {"max_value": 2.5},
    {"threshold": 1.0}, {"threshold": -1.0}, {"negative_slope": 0.3, "max_value": 4.0},
    {"negative_slope": 0.2, "threshold": 0.5},
    {"negative_slope": 0.2, "threshold": 0.5, "max_value": 3.0},
])
def test_relu_options_match_keras(kwargs):
    _close(activations.relu(X, **kwargs), keras.activations.relu(X, **kwargs))


@pytest.mark.parametrize("name, kwargs", [
    ("elu", {"alpha": 0.5}), ("gelu", {"approximate": True}),
    ("leaky_relu", {"negative_slope": 0.01}),
])
def test_keyword_options_match_keras(name, kwargs):
    _close(getattr(activations, name)(X, **kwargs),
           getattr(keras.activations, name)(X, **kwargs))


def test_gelu_defaults_to_exact_form_like_keras_activations():
    exact = np.asarray(activations.gelu(X))
    _close(exact, keras.activations.gelu(X, approximate=False))
    assert not np.allclose(exact, np.asarray(activations.gelu(X, approximate=True)),
                           rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", UNARY)
def test_runs_under_jit(name):
    fn = getattr(activations, name)
    _close(jax.jit(fn)(jnp.asarray(X)), fn(X))


def test_lists_and_ints_become_float():
    out = activations.relu([-10, -5, 0, 5, 10])
    assert out.dtype == jnp.float32
    _close(out, [0, 0, 0, 5, 10])


@pytest.mark.parametrize("name", UNARY)
def test_get_serialize_deserialize_round_trip(name):
    fn = activations.get(name)
    assert callable(fn)
    serialized = activations.serialize(fn)
    assert serialized == keras.activations.serialize(keras.activations.get(name))
    assert activations.deserialize(serialized) is fn
    assert activations.get(serialized) is fn


def test_swish_and_hard_swish_are_aliases():
    assert activations.get("swish") is activations.silu
    assert activations.serialize(activations.swish) == "silu"
    assert activations.get("hard_swish") is activations.hard_silu


def test_get_none_returns_linear_and_callable_returns_itself():
    assert activations.get(None) is activations.linear

    def custom(x):
        return x * 2

    assert activations.get(custom) is custom


def test_serialize_custom_function_like_keras():
    def custom(x):
        return x

    assert activations.serialize(custom) == keras.activations.serialize(custom)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="activation.*'nope'.*relu"):
        activations.get("nope")
    with pytest.raises(ValueError, match="softmax"):
        activations.deserialize("nope")


def test_wrong_type_is_type_error():
    with pytest.raises(TypeError, match="activation.*int.*relu"):
        activations.get(3)
