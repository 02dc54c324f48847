"""Building a model compiles nothing: weights, optimizer slots and metric variables are
made on the host and placed (core.variables.to_device), where jnp.asarray/jnp.zeros would
compile a small XLA program for every new shape. And placing never lets a NumPy array the
caller still holds become the variable's memory."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gazelle as keras
from gazelle.core.variables import Variable, to_device


class CompileCounter:
    """Counts XLA backend compilations (jit programs and eager ops) while active."""

    def __init__(self):
        self.names = []

    def _on_event(self, event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            self.names.append(kwargs.get("fun_name", "?"))

    def __enter__(self):
        jax.monitoring.register_event_duration_secs_listener(self._on_event)
        return self

    def __exit__(self, *exc):
        jax.monitoring.unregister_event_duration_listener(self._on_event)


def _aligned(n):
    """A float32 NumPy array whose data is 64-byte aligned (what the CPU device may use
    in place)."""
    raw = np.empty(4 * n + 64, np.uint8)
    start = (-raw.ctypes.data) % 64
    return raw[start:start + 4 * n].view(np.float32)


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "rmsprop", "nadam", "adamw", "lion"])
def test_build_and_compile_compile_no_program(optimizer):
    # Shapes no other test uses, so nothing is in jax's caches already.
    with CompileCounter() as counter:
        model = keras.Sequential([keras.Input((13,)),
                                  keras.layers.Dense(29, activation="relu"),
                                  keras.layers.BatchNormalization(),
                                  keras.layers.Dense(7, activation="softmax")])
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                      metrics=["accuracy", keras.metrics.AUC(num_thresholds=37)])
        model.optimizer.build(model.trainable_variables)
    assert counter.names == []


def test_to_device_equals_jnp_asarray():
    cases = [(np.arange(6, dtype=np.float64).reshape(2, 3) / 7, None),
             (np.arange(6, dtype=np.int64), None),
             (np.array([True, False]), None),
             (np.float32(2.5), None),
             (np.arange(5, dtype=np.float32), "int32"),
             (np.linspace(-3, 3, 7), "bfloat16"),
             (np.asfortranarray(np.arange(12.0).reshape(3, 4)), "float32"),
             (0.1, "float32"), (3, "float32"), (True, "int32")]
    for value, dtype in cases:
        got, want = to_device(value, dtype), jnp.asarray(value, dtype=dtype)
        assert isinstance(got, jax.Array)
        assert got.dtype == want.dtype and got.shape == want.shape, (value, dtype)
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    # Anything else goes to jnp.asarray, errors included.
    assert to_device([1.0, 2.0]).dtype == jnp.asarray([1.0, 2.0]).dtype
    with pytest.raises(ValueError):
        to_device(np.array(["a", "b"]), "float32")


def test_a_numpy_array_changed_later_does_not_change_the_variable():
    value = _aligned(1024)
    value[:] = 1.0
    variable = Variable(value, name="v")
    value[:] = 5.0
    assert float(variable.value[0]) == 1.0

    layer = keras.layers.Dense(4)
    layer.build((None, 256))
    kernel = _aligned(1024).reshape(256, 4)
    kernel[:] = 2.0
    layer.set_weights([kernel, np.zeros(4, np.float32)])
    kernel[:] = 7.0
    np.testing.assert_array_equal(np.asarray(layer.kernel.value), 2.0)

    # A layer called on NumPy input that returns its input as it is.
    x = _aligned(1024).reshape(32, 32)
    x[:] = 3.0
    y = keras.layers.Identity()(x)
    x[:] = 9.0
    np.testing.assert_array_equal(np.asarray(y), 3.0)


def test_an_array_initializer_gives_each_variable_its_own_values():
    values = _aligned(64).reshape(8, 8)
    values[:] = 0.5
    init = keras.initializers.Constant(values)
    a, b = Variable(init, shape=(8, 8), name="a"), Variable(init, shape=(8, 8), name="b")
    values[:] = 4.0
    a.assign(a.value + 1.0)
    np.testing.assert_array_equal(np.asarray(a.value), 1.5)
    np.testing.assert_array_equal(np.asarray(b.value), 0.5)
