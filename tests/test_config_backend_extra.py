"""keras.config and keras.backend names beyond tf.keras's, against Keras 3 (JAX backend)."""
import itertools

import jax.numpy as jnp
import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle import backend as K
from gazelle import config

DTYPES = ["bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
          "bfloat16", "float16", "float32", "float64", "complex64", "complex128", int, float,
          None]


def _outcome(fn, *args):
    try:
        return fn(*args)
    except ValueError:
        return ValueError


def test_backend_and_nnx_like_keras():
    assert config.backend() == k3.config.backend() == "jax"
    assert keras.backend.backend() == "jax"
    assert config.is_nnx_enabled() is k3.config.is_nnx_enabled() is False
    config.set_backend("jax")
    with pytest.raises(NotImplementedError, match="JAX only"):
        config.set_backend("torch")


def test_traceback_filtering_is_honestly_off():
    assert config.is_traceback_filtering_enabled() is False
    config.disable_traceback_filtering()
    assert config.is_traceback_filtering_enabled() is False
    with pytest.raises(NotImplementedError, match="traceback"):
        config.enable_traceback_filtering()
    assert config.is_traceback_filtering_enabled() is False


def test_dtype_policy_is_float32_like_keras_default():
    ours, theirs = config.dtype_policy(), k3.config.dtype_policy()
    for attr in ("name", "compute_dtype", "variable_dtype", "quantization_mode"):
        assert getattr(ours, attr) == getattr(theirs, attr)
    assert ours.get_config() == theirs.get_config()
    assert ours == "float32" and ours == theirs
    config.set_dtype_policy("float32")
    config.set_dtype_policy(theirs)           # a Keras float32 policy object is accepted
    assert config.dtype_policy().name == "float32"


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16", "bfloat16", "float16"])
def test_other_dtype_policies_raise_not_implemented(policy):
    with pytest.raises(NotImplementedError, match="float32 only"):
        config.set_dtype_policy(policy)
    assert config.dtype_policy().name == "float32"


def test_invalid_dtype_policy_raises_value_error_like_keras():
    with pytest.raises(ValueError, match="nope"):
        config.set_dtype_policy("nope")
    with pytest.raises(ValueError):
        k3.config.set_dtype_policy("nope")
    with pytest.raises(ValueError, match="policy"):
        config.set_dtype_policy(3)


def test_result_type_pairs_equal_keras():
    for a, b in itertools.product(DTYPES, DTYPES):
        assert _outcome(K.result_type, a, b) == _outcome(k3.backend.result_type, a, b), (a, b)


@pytest.mark.parametrize("args", [(), ("int8",), (int,), (float,), (int, float),
                                  ("uint8", "int8", "float16"), ("bool", int, "bfloat16"),
                                  ("int32", "int32", float), ("uint64", "int64"),
                                  ("complex64", int)])
def test_result_type_other_arities_equal_keras(args):
    assert _outcome(K.result_type, *args) == _outcome(k3.backend.result_type, *args)


def test_result_type_rejects_float8_like_keras():
    with pytest.raises(ValueError, match="float8"):
        K.result_type("float8_e4m3fn", "float32")
    with pytest.raises(ValueError):
        k3.backend.result_type("float8_e4m3fn", "float32")


@pytest.mark.parametrize("dtype", [None, int, float, bool, str, complex, "int", "float32",
                                   "uint64", "bfloat16", np.float32, np.int8,
                                   np.dtype("float16"), jnp.bfloat16, jnp.int32,
                                   jnp.zeros(2).dtype])
def test_standardize_dtype_and_kind_checks_equal_keras(dtype):
    assert K.standardize_dtype(dtype) == k3.backend.standardize_dtype(dtype)
    if dtype is not str:
        assert K.is_float_dtype(dtype) == k3.backend.is_float_dtype(dtype)
        assert K.is_int_dtype(dtype) == k3.backend.is_int_dtype(dtype)


@pytest.mark.parametrize("bad", ["float31", "complex32", 3.5, object()])
def test_standardize_dtype_rejects_unknown_dtypes(bad):
    with pytest.raises(ValueError, match="Invalid dtype"):
        K.standardize_dtype(bad)
    with pytest.raises(ValueError):
        k3.backend.standardize_dtype(bad)


def test_is_keras_tensor_like_keras():
    x = keras.Input((3,))
    assert K.is_keras_tensor(x) and K.is_keras_tensor(keras.layers.Dense(2)(x))
    assert not K.is_keras_tensor(np.ones(3)) and not K.is_keras_tensor(jnp.ones(3))
    assert k3.backend.is_keras_tensor(k3.Input((3,)))
    assert not k3.backend.is_keras_tensor(np.ones(3))


def test_get_uid_counts_per_prefix_and_shares_layer_names_like_keras():
    k3.backend.clear_session()
    K.clear_session()
    assert [K.get_uid("block") for _ in range(3)] == [1, 2, 3]
    assert K.get_uid("other") == 1
    assert K.get_uid() == 1 and K.get_uid() == 2
    # A layer named "dense" used the first number, in both libraries.
    keras.layers.Dense(2)
    k3.layers.Dense(2)
    assert K.get_uid("dense") == k3.backend.get_uid("dense") == 2
    assert keras.layers.Dense(2).name == k3.layers.Dense(2).name == "dense_2"
    K.clear_session()
    assert K.get_uid("block") == 1
