"""Models that override Keras 3's step hooks (train_step, test_step, predict_step,
compute_loss, ...): gazelle runs the override inside its compiled chunks, with Keras 3's JAX
contract, and gets the numbers Keras 3 gets from the same weights."""
import jax
import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle.training.steps import KerasSteps, Steps


def data(n=96, d=8, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    y = (x[:, :1] * 0.5 - x[:, 1:2] + 0.1 * rng.normal(size=(n, 1))).astype("float32")
    return x, y


def twins(make, lib_args=(), compile_kwargs=None, d=8):
    """The same model class built with gazelle and with Keras 3, with equal weights."""
    compile_kwargs = compile_kwargs or {}
    models = []
    for lib in (keras, k3):
        inputs = lib.Input(shape=(d,))
        hidden = lib.layers.Dense(4, activation="tanh")(inputs)
        outputs = lib.layers.Dense(1)(hidden)
        model = make(lib)(inputs, outputs, *lib_args)
        model.compile(optimizer=lib.optimizers.SGD(0.05), **compile_kwargs)
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    return models


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# -- Keras's guide "Customizing what happens in fit() with JAX", written out ---------------
def loss_tracker_model(lib):
    """The guide's first example: its own loss function, loss tracker and MAE metric."""

    class CustomModel(lib.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = lib.metrics.Mean(name="loss")
            self.mae_metric = lib.metrics.MeanAbsoluteError(name="mae")
            self.loss_fn = lib.losses.MeanSquaredError()
            self.traced = 0

        def compute_loss_and_updates(self, trainable_variables, non_trainable_variables, x, y,
                                     training=False):
            y_pred, non_trainable_variables = self.stateless_call(
                trainable_variables, non_trainable_variables, x, training=training)
            loss = self.loss_fn(y, y_pred)
            return loss, (y_pred, non_trainable_variables)

        def train_step(self, state, data):
            self.traced += 1
            (trainable_variables, non_trainable_variables, optimizer_variables,
             metrics_variables) = state
            x, y = data
            grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
            (loss, (y_pred, non_trainable_variables)), grads = grad_fn(
                trainable_variables, non_trainable_variables, x, y, training=True)
            trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
                optimizer_variables, grads, trainable_variables)
            n = len(self.loss_tracker.variables)
            loss_vars = self.loss_tracker.stateless_update_state(metrics_variables[:n], loss)
            mae_vars = self.mae_metric.stateless_update_state(metrics_variables[n:], y, y_pred)
            logs = {self.loss_tracker.name: self.loss_tracker.stateless_result(loss_vars),
                    self.mae_metric.name: self.mae_metric.stateless_result(mae_vars)}
            state = (trainable_variables, non_trainable_variables, optimizer_variables,
                     loss_vars + mae_vars)
            return logs, state

        def test_step(self, state, data):
            x, y = data
            trainable_variables, non_trainable_variables, metrics_variables = state
            y_pred, non_trainable_variables = self.stateless_call(
                trainable_variables, non_trainable_variables, x, training=False)
            loss = self.loss_fn(y, y_pred)
            n = len(self.loss_tracker.variables)
            loss_vars = self.loss_tracker.stateless_update_state(metrics_variables[:n], loss)
            mae_vars = self.mae_metric.stateless_update_state(metrics_variables[n:], y, y_pred)
            logs = {self.loss_tracker.name: self.loss_tracker.stateless_result(loss_vars),
                    self.mae_metric.name: self.mae_metric.stateless_result(mae_vars)}
            return logs, (trainable_variables, non_trainable_variables, loss_vars + mae_vars)

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae_metric]

    return CustomModel


def test_guide_loss_tracker_train_step_matches_keras_and_traces_once_per_shape():
    x, y = data(100)                      # 3 full batches of 32 and one of 4: two programs
    ours, theirs = twins(loss_tracker_model)
    h1 = ours.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0).history
    h2 = theirs.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0).history
    assert list(h1) == ["loss", "mae"] == list(h2)
    for key in h2:
        close(h1[key], h2[key])
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        close(a, b)
    assert isinstance(ours._trainer.steps, KerasSteps)
    traced = ours.traced
    assert traced == 2                    # the 32-row chunk and the 4-row last batch
    ours.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    assert ours.traced == traced          # same shapes: nothing traced again
    theirs.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    # the custom test_step drives evaluate (and validation)
    close(ours.evaluate(x, y, verbose=0, return_dict=True)["mae"],
          theirs.evaluate(x, y, verbose=0, return_dict=True)["mae"])
    # the trackers' Variables hold the results, as in Keras
    close(float(ours.mae_metric.result()), float(theirs.mae_metric.result()))


def test_guide_loss_tracker_validation_runs_custom_test_step():
    x, y = data(96)
    ours, theirs = twins(loss_tracker_model)
    kw = dict(batch_size=16, epochs=2, shuffle=False, verbose=0, validation_split=0.25)
    h1, h2 = ours.fit(x, y, **kw).history, theirs.fit(x, y, **kw).history
    assert sorted(h1) == sorted(h2)
    for key in h2:
        close(h1[key], h2[key])


def compiled_loss_model(lib):
    """The guide's lower-level example: compiled loss and metrics through
    `stateless_compute_loss`, every metric in `self.metrics` updated statelessly."""

    class CustomModel(lib.Model):
        def compute_loss_and_updates(self, trainable_variables, non_trainable_variables,
                                     metrics_variables, x, y, sample_weight, training=False):
            y_pred, non_trainable_variables = self.stateless_call(
                trainable_variables, non_trainable_variables, x, training=training)
            loss, (trainable_variables, non_trainable_variables, metrics_variables) = \
                self.stateless_compute_loss(
                    trainable_variables, non_trainable_variables, metrics_variables, x=x, y=y,
                    y_pred=y_pred, sample_weight=sample_weight, training=training)
            return loss, (y_pred, non_trainable_variables, metrics_variables)

        def train_step(self, state, data):
            (trainable_variables, non_trainable_variables, optimizer_variables,
             metrics_variables) = state
            x, y = data
            grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
            (loss, (y_pred, non_trainable_variables, metrics_variables)), grads = grad_fn(
                trainable_variables, non_trainable_variables, metrics_variables, x, y, None,
                training=True)
            trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
                optimizer_variables, grads, trainable_variables)
            new_metrics_vars, logs = [], {}
            for metric in self.metrics:
                start = len(new_metrics_vars)
                these = metrics_variables[start:start + len(metric.variables)]
                if metric.name == "loss":
                    these = metric.stateless_update_state(these, loss)
                else:
                    these = metric.stateless_update_state(these, y, y_pred)
                logs[metric.name] = metric.stateless_result(these)
                new_metrics_vars += these
            return logs, (trainable_variables, non_trainable_variables, optimizer_variables,
                          new_metrics_vars)

    return CustomModel


def test_guide_compiled_loss_and_metrics_through_stateless_compute_loss():
    x, y = data(64)
    ours, theirs = twins(compiled_loss_model, compile_kwargs=dict(loss="mse", metrics=["mae"]))
    h1 = ours.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    h2 = theirs.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    assert sorted(h1) == sorted(h2) == ["loss", "mae"]
    for key in h2:
        close(h1[key], h2[key])


def direct_compute_loss_model(lib):
    """The guide's variant that calls `self.compute_loss` inside its own loss function, with
    compiled metrics and a multi-output model (per-output loss trackers included)."""

    class CustomModel(lib.Model):
        def compute_loss_and_updates(self, trainable_variables, non_trainable_variables, x, y,
                                     training=False):
            y_pred, non_trainable_variables = self.stateless_call(
                trainable_variables, non_trainable_variables, x, training=training)
            loss = self.compute_loss(x, y, y_pred)
            return loss, (y_pred, non_trainable_variables)

        def train_step(self, state, data):
            (trainable_variables, non_trainable_variables, optimizer_variables,
             metrics_variables) = state
            x, y = data
            grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
            (loss, (y_pred, non_trainable_variables)), grads = grad_fn(
                trainable_variables, non_trainable_variables, x, y, training=True)
            trainable_variables, optimizer_variables = self.optimizer.stateless_apply(
                optimizer_variables, grads, trainable_variables)
            new_metrics_vars, logs = [], {}
            for metric in self.metrics:
                start = len(new_metrics_vars)
                these = metrics_variables[start:start + len(metric.variables)]
                if metric.name == "loss":
                    these = metric.stateless_update_state(these, loss)
                    logs[metric.name] = metric.stateless_result(these)
                elif metric.name == "compile_metrics" or not metric.name.endswith("_loss"):
                    these = metric.stateless_update_state(these, y, y_pred)
                    logs[metric.name] = metric.stateless_result(these)
                new_metrics_vars += these
            return logs, (trainable_variables, non_trainable_variables, optimizer_variables,
                          new_metrics_vars)

    return CustomModel


def test_guide_compute_loss_called_directly_with_compiled_metrics():
    x, y = data(64)
    ours, theirs = twins(direct_compute_loss_model,
                         compile_kwargs=dict(loss="mse", metrics=["mae"]))
    kw = dict(batch_size=16, epochs=2, shuffle=False, verbose=0)
    h1, h2 = ours.fit(x, y, **kw).history, theirs.fit(x, y, **kw).history
    assert sorted(h1) == sorted(h2) == ["loss", "mae"]
    for key in h2:
        close(h1[key], h2[key])


def test_custom_train_step_over_a_generator():
    x, y = data(64)

    def batches():
        while True:
            for i in range(0, 64, 16):
                yield x[i:i + 16], y[i:i + 16]

    ours, theirs = twins(loss_tracker_model)
    h1 = ours.fit(batches(), steps_per_epoch=4, epochs=2, verbose=0).history
    h2 = theirs.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    for key in h2:
        close(h1[key], h2[key])


def test_multi_output_default_steps_through_the_keras_contract():
    x, y = data(64)
    models = []
    for lib in (keras, k3):
        inputs = lib.Input(shape=(8,))
        hidden = lib.layers.Dense(4, activation="tanh")(inputs)
        a = lib.layers.Dense(1, name="a")(hidden)
        b = lib.layers.Dense(1, name="b")(hidden)
        model = super_step_model(lib)(inputs, [a, b])
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss=["mse", "mae"],
                      loss_weights=[1.0, 0.5])
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    kw = dict(batch_size=16, epochs=2, shuffle=False, verbose=0)
    h1 = models[0].fit(x, [y, 2 * y], **kw).history
    h2 = models[1].fit(x, [y, 2 * y], **kw).history
    assert sorted(h1) == sorted(h2)
    for key in h2:
        close(h1[key], h2[key])


# -- hooks the default train_step calls ----------------------------------------------------
def compute_loss_model(lib):
    """Overrides only compute_loss (an extra penalty on the predictions) and counts traces."""

    class CustomModel(lib.Model):
        traced = 0

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None,
                         training=True):
            type(self).traced += 1
            loss = super().compute_loss(x, y, y_pred, sample_weight, training=training)
            return loss + 0.1 * lib.ops.mean(lib.ops.square(y_pred))

    return CustomModel


def test_compute_loss_override_is_used_by_the_default_train_step():
    x, y = data(64)
    ours, theirs = twins(compute_loss_model, compile_kwargs=dict(loss="mse", metrics=["mae"]))
    kw = dict(batch_size=16, epochs=2, shuffle=False, verbose=0)
    h1, h2 = ours.fit(x, y, **kw).history, theirs.fit(x, y, **kw).history
    assert type(ours).traced >= 1
    assert list(h1) == ["loss", "mae"]
    for key in h2:
        close(h1[key], h2[key])
    close(ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0))


def super_step_model(lib):
    """train_step and test_step that count their traces and defer to Keras's defaults."""

    class CustomModel(lib.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.traced = {"train": 0, "test": 0}

        def train_step(self, state, data):
            self.traced["train"] += 1
            return super().train_step(state, data)

        def test_step(self, state, data):
            self.traced["test"] += 1
            return super().test_step(state, data)

    return CustomModel


def test_super_train_step_matches_keras_default():
    x, y = data(80)
    sw = np.linspace(0.5, 1.5, 80).astype("float32")
    ours, theirs = twins(super_step_model, compile_kwargs=dict(loss="mse", metrics=["mae"]))
    kw = dict(batch_size=16, epochs=2, shuffle=False, verbose=0, sample_weight=sw)
    h1, h2 = ours.fit(x, y, **kw).history, theirs.fit(x, y, **kw).history
    for key in h2:
        close(h1[key], h2[key])
    assert ours.traced["train"] == 1
    r1 = ours.evaluate(x, y, verbose=0, return_dict=True)
    r2 = theirs.evaluate(x, y, verbose=0, return_dict=True)
    assert ours.traced["test"] >= 1
    for key in r2:
        close(r1[key], r2[key])


class AddLossLayer(keras.layers.Layer):
    def call(self, inputs):
        self.add_loss(0.01 * keras.ops.sum(keras.ops.square(inputs)))
        return inputs


class K3AddLossLayer(k3.layers.Layer):
    def call(self, inputs):
        self.add_loss(0.01 * k3.ops.sum(k3.ops.square(inputs)))
        return inputs


def test_add_loss_in_call_reaches_compute_loss():
    x, y = data(64)
    models = []
    for lib, layer in ((keras, AddLossLayer), (k3, K3AddLossLayer)):
        inputs = lib.Input(shape=(8,))
        outputs = lib.layers.Dense(1)(layer()(lib.layers.Dense(4)(inputs)))
        model = super_step_model(lib)(inputs, outputs)
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse")
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    kw = dict(batch_size=16, epochs=2, shuffle=False, verbose=0)
    h1, h2 = models[0].fit(x, y, **kw).history, models[1].fit(x, y, **kw).history
    close(h1["loss"], h2["loss"])


def test_metrics_property_and_trackers_stored_on_the_model():
    inputs = keras.Input(shape=(8,))
    model = super_step_model(keras)(inputs, keras.layers.Dense(1)(inputs))
    model.extra = keras.metrics.Mean(name="extra")
    assert model.metrics == [model.extra]
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x, y = data(32)
    model.fit(x, y, epochs=1, verbose=0)
    assert [m.name for m in model.metrics] == ["loss", "mae", "extra"]
    assert len(model.metrics_variables) == sum(len(m.variables) for m in model.metrics)
    assert set(model.get_metrics_result()) == {"loss", "mae", "extra"}


def test_predict_step_override_is_called():
    class Doubling(keras.Model):
        def predict_step(self, state, data):
            trainable, non_trainable = state
            y, non_trainable = self.stateless_call(trainable, non_trainable, data)
            return 2.0 * y, non_trainable

    inputs = keras.Input(shape=(8,))
    model = Doubling(inputs=inputs, outputs=keras.layers.Dense(1)(inputs))
    x, _ = data(40)
    close(model.predict(x, verbose=0), 2.0 * np.asarray(model(x)))
    close(model.predict_on_batch(x[:5]), 2.0 * np.asarray(model(x[:5])))


def test_default_models_keep_the_fused_step():
    model = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = data(32)
    model.fit(x, y, verbose=0)
    assert type(model._trainer.steps) is Steps
    assert model._overridden_steps() == ()


# -- steps gazelle cannot honour: clear errors -----------------------------------------------
def _functional(cls):
    inputs = keras.Input(shape=(8,))
    return cls(inputs, keras.layers.Dense(1)(inputs))


def test_tensorflow_style_train_step_is_refused():
    class TFStyle(keras.Model):
        def train_step(self, data):
            return {}

    with pytest.raises(NotImplementedError, match=r"train_step\(self, state, data\)"):
        _functional(TFStyle).compile(optimizer="sgd", loss="mse")


def test_gradient_tape_is_refused_with_the_jax_equivalent():
    class Tape(keras.Model):
        def train_step(self, state, data):
            with tf.GradientTape() as tape:  # noqa: F821 (never runs)
                pass
            return {}, state

    with pytest.raises(NotImplementedError, match="jax.value_and_grad"):
        _functional(Tape).compile(optimizer="sgd", loss="mse")


def test_step_returning_only_logs_is_refused():
    class LogsOnly(keras.Model):
        def train_step(self, state, data):
            return {"loss": 0.0}

    model = _functional(LogsOnly)
    model.compile(optimizer="sgd", loss="mse")
    x, y = data(32)
    with pytest.raises(NotImplementedError, match=r"\(logs, state\)"):
        model.fit(x, y, verbose=0)


def test_wrong_number_of_metric_variables_is_an_error():
    class Dropping(keras.Model):
        def train_step(self, state, data):
            logs, (t, nt, o, m) = super().train_step(state, data)
            return logs, (t, nt, o, m[:-1])

    model = _functional(Dropping)
    model.compile(optimizer="sgd", loss="mse")
    x, y = data(32)
    with pytest.raises(ValueError, match="metrics variables"):
        model.fit(x, y, verbose=0)


def test_custom_train_step_without_targets_or_compiled_loss():
    class AutoEncoderish(keras.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.tracker = keras.metrics.Mean(name="recon")

        def train_step(self, state, data):
            trainable, non_trainable, opt, metric_vars = state
            x = data

            def loss_fn(tv):
                y_pred, nt = self.stateless_call(tv, non_trainable, x, training=True)
                return keras.ops.mean(keras.ops.square(y_pred - x)), nt

            (loss, non_trainable), grads = jax.value_and_grad(loss_fn, has_aux=True)(trainable)
            trainable, opt = self.optimizer.stateless_apply(opt, grads, trainable)
            metric_vars = self.tracker.stateless_update_state(metric_vars, loss)
            return ({"recon": self.tracker.stateless_result(metric_vars)},
                    (trainable, non_trainable, opt, metric_vars))

        @property
        def metrics(self):
            return [self.tracker]

    inputs = keras.Input(shape=(8,))
    model = AutoEncoderish(inputs, keras.layers.Dense(8)(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    x, _ = data(64)
    h = model.fit(x, epochs=3, batch_size=16, verbose=0).history
    assert list(h) == ["recon"] and h["recon"][-1] < h["recon"][0]


def test_learning_rate_finder_refuses_a_custom_step():
    model = _functional(super_step_model(keras))
    model.compile(optimizer="sgd", loss="mse")
    x, y = data(64)
    with pytest.raises(NotImplementedError, match="train_step"):
        model.find_learning_rate(x, y, num_steps=4)


def subclassed_model(lib):
    """A subclassed model with its own `call` and a train_step that clips the gradients."""

    class Clipped(lib.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = lib.layers.Dense(4, activation="relu")
            self.out = lib.layers.Dense(1)

        def call(self, inputs):
            return self.out(self.hidden(inputs))

        def train_step(self, state, data):
            trainable, non_trainable, optimizer_vars, metrics_vars = state
            x, y = data

            def loss_fn(tv):
                loss, aux = self.compute_loss_and_updates(
                    tv, non_trainable, metrics_vars, x, y, None, training=True,
                    optimizer_variables=optimizer_vars)
                return loss, aux

            (_, (loss, y_pred, nt, mv)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
                trainable)
            grads = [lib.ops.clip(g, -0.05, 0.05) for g in grads]
            trainable, optimizer_vars = self.optimizer.stateless_apply(
                optimizer_vars, grads, trainable)
            logs, mv = self._update_metrics_variables(mv, loss, x, y, y_pred, None)
            return logs, (trainable, nt, optimizer_vars, mv)

    return Clipped


def test_subclassed_model_with_call_and_its_own_train_step():
    x, y = data(64)
    models = []
    for lib in (keras, k3):
        model = subclassed_model(lib)()
        model(x[:1])
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    kw = dict(batch_size=16, epochs=2, shuffle=False, verbose=0)
    h1, h2 = models[0].fit(x, y, **kw).history, models[1].fit(x, y, **kw).history
    for key in h2:
        close(h1[key], h2[key])


def test_sequential_subclass_override():
    class CountingSequential(keras.Sequential):
        traced = 0

        def test_step(self, state, data):
            type(self).traced += 1
            return super().test_step(state, data)

    model = CountingSequential([keras.Input(shape=(8,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = data(64)
    reference = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(1)])
    reference.compile(optimizer="sgd", loss="mse")
    reference.set_weights(model.get_weights())
    close(model.evaluate(x, y, verbose=0), reference.evaluate(x, y, verbose=0))
    assert CountingSequential.traced >= 1


def test_own_tracker_updated_in_compute_metrics_is_logged_like_keras():
    """A tracker stored on the model joins `self.metrics` after the compiled ones; an
    overridden compute_metrics updates it and the default steps log it."""

    def make(lib):
        class Tracked(lib.Model):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.pred_mean = lib.metrics.Mean(name="pred_mean")

            def compute_metrics(self, x, y, y_pred, sample_weight=None):
                self.pred_mean.update_state(y_pred)
                return super().compute_metrics(x, y, y_pred, sample_weight)

        return Tracked

    x, y = data(64)
    ours, theirs = twins(make, compile_kwargs=dict(loss="mse", metrics=["mae"]))
    kw = dict(batch_size=16, epochs=2, shuffle=False, verbose=0)
    h1, h2 = ours.fit(x, y, **kw).history, theirs.fit(x, y, **kw).history
    assert sorted(h1) == sorted(h2) == ["loss", "mae", "pred_mean"]
    for key in h2:
        close(h1[key], h2[key])


def gan_like_model(lib):
    """A GAN-like step: a generator and a discriminator in one model, each updated from its
    own loss (gradients split by variable), one optimizer, two trackers."""

    class GANLike(lib.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.generator = lib.Sequential([lib.Input(shape=(4,)), lib.layers.Dense(8)])
            self.discriminator = lib.Sequential([lib.Input(shape=(8,)),
                                                 lib.layers.Dense(4, activation="tanh"),
                                                 lib.layers.Dense(1)])
            self.d_tracker = lib.metrics.Mean(name="d_loss")
            self.g_tracker = lib.metrics.Mean(name="g_loss")
            self.bce = lib.losses.BinaryCrossentropy(from_logits=True)

        def call(self, latent):
            return self.discriminator(self.generator(latent))

        @property
        def metrics(self):
            return [self.d_tracker, self.g_tracker]

        def train_step(self, state, data):
            trainable, non_trainable, opt_vars, metric_vars = state
            real = data
            latent = real[:, :4] * 0.5
            n_gen = len(self.generator.trainable_variables)
            gen_nt = non_trainable[:len(self.generator.non_trainable_variables)]
            disc_nt = non_trainable[len(gen_nt):]

            def losses(tv):
                fake, _ = self.generator.stateless_call(tv[:n_gen], gen_nt, latent)
                fake_logits, _ = self.discriminator.stateless_call(
                    tv[n_gen:], disc_nt, jax.lax.stop_gradient(fake))
                real_logits, _ = self.discriminator.stateless_call(tv[n_gen:], disc_nt, real)
                d_loss = self.bce(lib.ops.ones_like(real_logits), real_logits) + \
                    self.bce(lib.ops.zeros_like(fake_logits), fake_logits)
                g_logits, _ = self.discriminator.stateless_call(
                    [jax.lax.stop_gradient(v) for v in tv[n_gen:]], disc_nt, fake)
                g_loss = self.bce(lib.ops.ones_like(g_logits), g_logits)
                return d_loss, g_loss

            d_loss, d_grads = jax.value_and_grad(lambda tv: losses(tv)[0])(trainable)
            g_loss, g_grads = jax.value_and_grad(lambda tv: losses(tv)[1])(trainable)
            grads = list(g_grads[:n_gen]) + list(d_grads[n_gen:])
            trainable, opt_vars = self.optimizer.stateless_apply(opt_vars, grads, trainable)
            n = len(self.d_tracker.variables)
            d_vars = self.d_tracker.stateless_update_state(metric_vars[:n], d_loss)
            g_vars = self.g_tracker.stateless_update_state(metric_vars[n:], g_loss)
            logs = {"d_loss": self.d_tracker.stateless_result(d_vars),
                    "g_loss": self.g_tracker.stateless_result(g_vars)}
            return logs, (trainable, non_trainable, opt_vars, d_vars + g_vars)

    return GANLike


def test_gan_like_step_matches_keras():
    real, _ = data(64)
    models = []
    for lib in (keras, k3):
        model = gan_like_model(lib)()
        model(real[:1, :4])
        model.compile(optimizer=lib.optimizers.SGD(0.05))
        models.append(model)
    models[1].set_weights(models[0].get_weights())
    kw = dict(batch_size=16, epochs=2, shuffle=False, verbose=0)
    h1, h2 = models[0].fit(real, **kw).history, models[1].fit(real, **kw).history
    assert list(h1) == ["d_loss", "g_loss"]
    for key in h2:
        close(h1[key], h2[key])
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        close(a, b)
