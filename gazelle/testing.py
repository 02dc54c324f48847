"""Test helpers for layers (used by gazelle's tests and by users' custom layers).

`run_layer_test` checks in one call what every layer must do: build, output shape,
weight counts, the get_config round trip, jit(stateless_call) == eager call, and one
gradient step with finite gradients.
"""
import jax
import jax.numpy as jnp
import numpy as np


def run_layer_test(layer_cls, init_kwargs, input_shape, expected_output_shape,
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0,
                   input_dtype="float32", seed=0):
    """Builds `layer_cls(**init_kwargs)` on random inputs and checks its contract.

    Args:
        layer_cls: the layer class.
        init_kwargs: constructor arguments.
        input_shape: a concrete input shape, batch dimension included.
        expected_output_shape: the output shape for that input.
        expected_num_trainable_weights, expected_num_non_trainable_weights: counts.
    """
    rng = np.random.default_rng(seed)
    if np.issubdtype(np.dtype(input_dtype), np.integer):
        x = rng.integers(0, 10, size=input_shape).astype(input_dtype)
    else:
        x = rng.standard_normal(input_shape).astype(input_dtype)
    layer = layer_cls(**init_kwargs)
    y = layer(x)
    assert tuple(y.shape) == tuple(expected_output_shape), (y.shape, expected_output_shape)
    assert len(layer.trainable_weights) == expected_num_trainable_weights
    assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights
    sym = layer.compute_output_shape((None,) + tuple(input_shape[1:]))
    assert tuple(sym[1:]) == tuple(expected_output_shape[1:]), (sym, expected_output_shape)

    clone = layer_cls.from_config(layer.get_config())
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(clone(x)), np.asarray(y), rtol=1e-6, atol=1e-6)

    tv = [v.value for v in layer.trainable_variables]
    ntv = [v.value for v in layer.non_trainable_variables]
    jitted, _ = jax.jit(lambda t, n, x: layer.stateless_call(t, n, x))(tv, ntv, x)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(y), rtol=1e-5, atol=1e-5)
    if tv:
        grads = jax.grad(lambda t: jnp.sum(layer.stateless_call(t, ntv, x, training=True)[0]))(tv)
        assert all(bool(jnp.all(jnp.isfinite(g))) for g in grads)
    return layer
