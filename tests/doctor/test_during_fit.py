"""The doctor during fit: at chunk boundaries, from the per-step losses the compiled chunk
already returns, plus gradient norms / dead ReLUs measured only when a finding needs them.

gazelle-only behaviour (Keras has no doctor): each case triggers exactly its own finding.
"""
import math
import re

import numpy as np
import pytest

import gazelle as keras
from doctor_helpers import blobs, fit_codes, linear_data, mlp


def linear_model(lr):
    keras.utils.set_random_seed(0)
    model = keras.models.Sequential([keras.layers.Dense(1, input_shape=(8,))])
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=lr))
    return model


def test_nonfinite_loss_names_the_step_and_stops_training():
    x, y = linear_data(2000)
    model = linear_model(10.0)
    found, history = fit_codes(model, x, y, epochs=3)
    assert set(found) == {"nonfinite_loss"}
    assert len(history.history["loss"]) == 1                  # stopped in epoch 1
    assert model.stop_training
    message = found["nonfinite_loss"]
    assert "at epoch 1, step " in message and "/63" in message
    assert "learning rate (now 10; try 1)" in message

    # The step is exact although the whole epoch ran as one compiled chunk: a per-batch
    # callback (chunks of 1 step) sees the running loss turn non-finite at that same step.
    class FirstBad(keras.callbacks.Callback):
        step = None

        def on_train_batch_end(self, batch, logs=None):
            if self.step is None and not math.isfinite(logs["loss"]):
                self.step = batch + 1

    probe = FirstBad()
    found_per_batch, _ = fit_codes(linear_model(10.0), x, y, epochs=1, callbacks=[probe])
    assert probe.step is not None
    assert f"step {probe.step}/63" in message
    assert found_per_batch["nonfinite_loss"] == message


def test_loss_explosion_versus_the_first_steps():
    x, y = linear_data(2000)
    found, history = fit_codes(linear_model(0.9), x, y, epochs=2)
    assert set(found) == {"loss_explosion"}
    assert len(history.history["loss"]) == 2                  # finite: training goes on
    assert "try 0.09" in found["loss_explosion"]


def test_not_learning_at_chance_with_labels_that_do_not_match_inputs():
    x, _ = blobs(2000)
    y = np.random.default_rng(5).integers(0, 10, 2000).astype("int32")
    found, _ = fit_codes(mlp(), x, y, epochs=1)
    assert set(found) == {"not_learning"}
    message = found["not_learning"]
    assert "ln(10) = 2.303" in message and "accuracy at chance" in message
    assert "Dead ReLU units" in message and "(dense: " in message


def test_vanishing_gradients_in_a_deep_sigmoid_stack():
    x, _ = linear_data(1000)
    y = np.tanh(x[:, 0] * x[:, 1])
    keras.utils.set_random_seed(0)
    model = keras.models.Sequential(
        [keras.Input((8,))] + [keras.layers.Dense(16, activation="sigmoid") for _ in range(10)]
        + [keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    found, _ = fit_codes(model, x, y, epochs=1)
    assert set(found) == {"vanishing_gradients"}
    assert re.search(r"layer 'dense(_\d)?' gets gradient norm \S+ while layer 'dense_10'",
                     found["vanishing_gradients"])


def test_exploding_gradients_from_unscaled_targets():
    x, y = linear_data(1000, scale=1e4, offset=5e4)
    keras.utils.set_random_seed(0)
    model = keras.models.Sequential([keras.layers.Dense(16, activation="relu", input_shape=(8,)),
                                     keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="adam")
    found, _ = fit_codes(model, x, y, epochs=1)
    # The cause is said before training (target_scale); the measured gradients follow.
    assert set(found) == {"target_scale", "exploding_gradients"}
    assert "clipnorm=1.0" in found["exploding_gradients"]
    assert "(y - mean) / std" in found["target_scale"]


def test_gradient_norms_match_a_direct_computation():
    import jax
    from gazelle.training import diagnostics
    x, y = blobs(300)
    model = mlp()
    model.fit(x, y, epochs=0, verbose=0)                     # compiles nothing
    loss, rows = diagnostics.gradient_norms(model._trainer, x, [y], n=64)

    @jax.jit
    def loss_fn(weights):
        probs = model.stateless_call(weights, [], x[:64])[0]
        return keras.losses.SparseCategoricalCrossentropy()(y[:64], probs)

    weights = [v.value for v in model.trainable_variables]
    value, grads = jax.value_and_grad(loss_fn)(weights)
    np.testing.assert_allclose(loss, value, rtol=1e-5)
    expected = [np.sqrt(sum(float(np.sum(np.square(g))) for g in grads[i:i + 2]))
                for i in (0, 2)]
    np.testing.assert_allclose([r["grad_norm"] for r in rows], expected, rtol=1e-4)
    assert [r["layer"] for r in rows] == ["dense", "dense_1"]
    np.testing.assert_allclose(rows[0]["weight_norm"], np.sqrt(
        sum(float(np.sum(np.square(w))) for w in weights[:2])), rtol=1e-5)


def test_dead_relus_are_counted_per_layer_and_the_model_is_left_intact():
    from gazelle.training import diagnostics
    x, y = blobs(300)
    model = mlp()
    model.build((None, 20))
    kernel, bias = (w.copy() for w in model.layers[0].get_weights())
    bias[:8] = -100.0                                         # 8 of 32 units never fire
    model.layers[0].set_weights([kernel, bias])
    before = model.predict(x[:10])
    fraction, per_layer = diagnostics.dead_relus(model, x)
    assert per_layer == {"dense": 0.25} and fraction == 0.25
    np.testing.assert_array_equal(model.predict(x[:10]), before)
    assert model.layers[0].activation is keras.activations.relu


def test_the_doctor_adds_nothing_to_the_steps():
    """Same weights and the same compiled programs with and without the doctor."""
    x, _ = blobs(2000)
    y = np.random.default_rng(5).integers(0, 10, 2000).astype("int32")  # measures fire
    runs = []
    for doctor in (True, False):
        model = mlp()
        found, _ = fit_codes(model, x, y, epochs=1, doctor=doctor)
        runs.append((found, model.get_weights(), model._trainer.steps.traces))
    assert runs[0][0] and not runs[1][0]
    for a, b in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(a, b)
    assert runs[0][2] == runs[1][2]


@pytest.mark.parametrize("how", ["fit", "disable"])
def test_switching_the_doctor_off(how):
    import gazelle
    x, y = linear_data(2000)
    if how == "fit":
        found, _ = fit_codes(linear_model(10.0), x, y, epochs=1, doctor=False)
    else:
        gazelle.doctor.disable()
        try:
            assert not gazelle.doctor.is_enabled()
            found, _ = fit_codes(linear_model(10.0), x, y, epochs=1)
            found_forced, _ = fit_codes(linear_model(10.0), x, y, epochs=1, doctor=True)
            assert set(found_forced) == {"nonfinite_loss"}
        finally:
            gazelle.doctor.enable()
        assert gazelle.doctor.is_enabled()
    assert found == {}
