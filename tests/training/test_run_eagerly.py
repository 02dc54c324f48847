"""compile(run_eagerly=True) / jit_compile=False: every step runs in plain Python on
concrete arrays, and gives the numbers of the compiled path."""
import jax
import numpy as np
import pytest

import gazelle as keras


class Recorder(keras.layers.Layer):
    """Passes its inputs through and records what type of array each call received."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, inputs):
        self.seen.append(type(inputs))
        return inputs


def data(n=64, seed=0):   # whole batches of 16: one set of shapes to dispatch
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = (x[:, :3] > 0).argmax(axis=1).astype("int32")
    return x, y


def model_pair(**compile_kwargs):
    models = []
    for eager in (False, True):
        recorder = Recorder()
        model = keras.Sequential([keras.Input(shape=(6,)), recorder,
                                  keras.layers.Dense(5, activation="relu"),
                                  keras.layers.Dropout(0.3, seed=1),
                                  keras.layers.Dense(3, activation="softmax")])
        model.compile(optimizer=keras.optimizers.SGD(0.1),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      **(compile_kwargs if eager else {}))
        models.append((model, recorder))
    models[1][0].set_weights(models[0][0].get_weights())
    return models


def concrete(types):
    return types and all(issubclass(t, (np.ndarray, jax.Array)) and
                         not issubclass(t, jax.core.Tracer) for t in types)


@pytest.mark.parametrize("compile_kwargs", [{"run_eagerly": True}, {"jit_compile": False}])
def test_eager_steps_see_concrete_arrays_and_match_the_compiled_path(compile_kwargs):
    x, y = data()
    (compiled, rec_c), (eager, rec_e) = model_pair(**compile_kwargs)
    assert eager.run_eagerly and not compiled.run_eagerly
    kw = dict(batch_size=16, epochs=2, shuffle=False, verbose=0)
    keras.utils.set_random_seed(3)
    h1 = compiled.fit(x, y, **kw).history
    rec_e.seen.clear()
    keras.utils.set_random_seed(3)
    h2 = eager.fit(x, y, **kw).history
    assert concrete(rec_e.seen) and len(rec_e.seen) >= 2 * 4      # 2 epochs of 4 steps
    assert not concrete(rec_c.seen)       # the compiled path traced it
    for a, b in zip(compiled.get_weights(), eager.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert list(h1) == list(h2)
    for key in h1:
        np.testing.assert_allclose(h1[key], h2[key], rtol=1e-5, atol=1e-5)
    rec_e.seen.clear()
    np.testing.assert_allclose(compiled.evaluate(x, y, batch_size=16, verbose=0),
                               eager.evaluate(x, y, batch_size=16, verbose=0),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(compiled.predict(x, batch_size=16),
                               eager.predict(x, batch_size=16), rtol=1e-5, atol=1e-6)
    assert concrete(rec_e.seen)


def test_eager_custom_train_step_runs_on_concrete_arrays():
    seen = []

    class Custom(keras.Model):
        def train_step(self, state, data):
            seen.append(type(data[0]))
            return super().train_step(state, data)

    inputs = keras.Input(shape=(6,))
    model = Custom(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", run_eagerly=True)
    x, y = data()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert len(seen) == 4 and concrete(seen)


def test_jit_compile_must_be_auto_or_bool():
    model = keras.Sequential([keras.Input(shape=(6,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="jit_compile"):
        model.compile(optimizer="sgd", loss="mse", jit_compile="xla")
