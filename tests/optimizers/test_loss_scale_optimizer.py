"""Differential: LossScaleOptimizer against Keras 3 (dynamic scale, growth, skipped steps
on non-finite gradients, scale_loss inside the compiled training step), and its config."""
import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

import gazelle
import gazelle.optimizers as gopt
from gazelle.core.variables import Variable

RTOL, ATOL = 1e-5, 1e-6
SHAPES = [(3, 4), (5,)]


def _grads():
    rng = np.random.default_rng(0)
    grads = [[rng.normal(size=s).astype("float32") * 8.0 for s in SHAPES] for _ in range(7)]
    grads[2][1][3] = np.inf          # a skipped step, the scale halves
    grads[5][0][0, 0] = np.nan
    return grads


@pytest.mark.parametrize("inner", ["SGD", "Adam"])
def test_stateless_apply_matches_keras(inner):
    rng = np.random.default_rng(1)
    init = [rng.normal(size=s).astype("float32") for s in SHAPES]
    grads = _grads()
    kwargs = dict(learning_rate=0.1, momentum=0.5) if inner == "SGD" else dict(learning_rate=0.1)

    kvars = [keras.Variable(w, name=n) for w, n in zip(init, ("kernel", "bias"))]
    kopt = keras.optimizers.LossScaleOptimizer(
        getattr(keras.optimizers, inner)(name="inner", **kwargs), initial_scale=4.0,
        dynamic_growth_steps=2, name="lso")
    kopt.build(kvars)
    kstep = jax.jit(kopt.stateless_apply)
    kparams, kvalues = list(init), [v.value for v in kopt.variables]
    for g in grads:
        kparams, kvalues = kstep(kvalues, g, kparams)

    gvars = [Variable(w, name=n) for w, n in zip(init, ("kernel", "bias"))]
    ours = gopt.LossScaleOptimizer(getattr(gopt, inner)(name="inner", **kwargs),
                                   initial_scale=4.0, dynamic_growth_steps=2, name="lso")
    ours.build(gvars)
    stacked = [jnp.stack([g[i] for g in grads]) for i in range(len(SHAPES))]

    @jax.jit
    def run(params, values, stacked):             # inside a scan, as a fit chunk runs it
        (params, values), _ = jax.lax.scan(
            lambda c, g: (ours.stateless_apply(c[1], g, c[0]), None), (params, values),
            stacked)
        return params, values

    params, values = run(list(init), [v.value for v in ours.variables], stacked)
    assert [v.path for v in ours.variables] == [v.path for v in kopt.variables]
    for a, b in zip(params, kparams):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=RTOL, atol=ATOL)
    for a, b, v in zip(values, kvalues, ours.variables):
        np.testing.assert_allclose(np.asarray(a, "float64"), np.asarray(b, "float64"),
                                   rtol=RTOL, atol=ATOL, err_msg=v.path)
    assert int(values[4]) == 5              # two skipped steps: the inner optimizer counted 5


def test_eager_apply_skips_non_finite_steps():
    init = np.ones((3,), "float32")
    v = Variable(init, name="w")
    opt = gopt.LossScaleOptimizer(gopt.SGD(learning_rate=1.0), initial_scale=8.0,
                                  dynamic_growth_steps=3)
    opt.apply_gradients([(np.array([np.inf, 0, 0], "float32"), v)])
    np.testing.assert_array_equal(v.numpy(), init)
    assert float(opt.dynamic_scale.numpy()) == 4.0 and int(opt.iterations.numpy()) == 0
    opt.apply_gradients([(np.full((3,), 4.0, "float32"), v)])
    np.testing.assert_allclose(v.numpy(), init - 1.0)          # 4 / scale 4
    assert int(opt.iterations.numpy()) == 1 and int(opt.step_counter.numpy()) == 1
    assert float(opt.scale_loss(2.0)) == 8.0


@pytest.mark.parametrize("custom_step", [False, True], ids=["builtin_step", "keras_train_step"])
def test_fit_matches_keras_with_an_overflowing_batch(custom_step):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(48, 4)).astype("float32")
    y = rng.normal(size=(48, 1)).astype("float32")
    y[20] = 1e18            # loss * scale overflows to inf in that batch: the step is skipped

    def build(lib):
        inputs = lib.Input((4,))
        h = lib.layers.Dense(5, activation="tanh")(inputs)
        cls = lib.Model
        if custom_step:
            class Stepped(lib.Model):
                def train_step(self, state, data):
                    return super().train_step(state, data)
            cls = Stepped
        return cls(inputs, lib.layers.Dense(1)(h))

    keras.utils.set_random_seed(0)      # whether a batch overflows depends on the weights
    km, gm = build(keras), build(gazelle)
    gm.set_weights(km.get_weights())
    km.compile(keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.01, momentum=0.5),
                                                   dynamic_growth_steps=2), "mse")
    gm.compile(gopt.LossScaleOptimizer(gopt.SGD(0.01, momentum=0.5), dynamic_growth_steps=2),
               "mse", steps_per_execution=3)
    hk = km.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    hg = gm.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(hg.history["loss"], hk.history["loss"], rtol=RTOL)
    for a, b in zip(gm.get_weights(), km.get_weights()):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
    theirs = [np.asarray(v.numpy(), "float64") for v in km.optimizer.variables]
    ours = [np.asarray(v.numpy(), "float64") for v in gm.optimizer.variables]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
    # 12 batches, some skipped: the same count as Keras's.
    assert int(gm.optimizer.iterations.numpy()) == int(km.optimizer.iterations.numpy()) < 12


def test_config_round_trip_and_keras_reads_it():
    opt = gopt.LossScaleOptimizer(gopt.Adam(learning_rate=0.01), initial_scale=64.0,
                                  dynamic_growth_steps=10)
    config = gopt.serialize(opt)
    ref = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(learning_rate=0.01),
                                              initial_scale=64.0, dynamic_growth_steps=10)
    ours_inner = config["config"]["inner_optimizer"]["config"]
    ref_inner = keras.optimizers.serialize(ref)["config"]["inner_optimizer"]["config"]
    assert sorted(ours_inner) == sorted(ref_inner)
    for key, value in ref_inner.items():
        if key != "name":
            assert ours_inner[key] == (pytest.approx(value) if isinstance(value, float)
                                       else value), key
    assert {k: v for k, v in config["config"].items() if k not in ("inner_optimizer", "name")} \
        == {"initial_scale": 64.0, "dynamic_growth_steps": 10}
    again = gopt.deserialize(config)
    assert isinstance(again, gopt.LossScaleOptimizer) and isinstance(again.inner_optimizer,
                                                                      gopt.Adam)
    assert gopt.serialize(again) == config
    theirs = keras.optimizers.deserialize(config)
    assert theirs.initial_scale == 64.0 and theirs.dynamic_growth_steps == 10
    assert float(opt.learning_rate.numpy()) == pytest.approx(0.01)


def test_save_and_load_keeps_the_optimizer(tmp_path):
    model = gazelle.Sequential([gazelle.Input((3,)), gazelle.layers.Dense(2)])
    model.compile(gopt.LossScaleOptimizer(gopt.SGD(0.1), initial_scale=16.0), "mse")
    x = np.ones((8, 3), "float32")
    model.fit(x, np.zeros((8, 2), "float32"), verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = gazelle.models.load_model(path)
    assert isinstance(loaded.optimizer, gopt.LossScaleOptimizer)
    for a, b in zip(loaded.optimizer.variables, model.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("make, error, match", [
    (lambda: gopt.LossScaleOptimizer(gopt.SGD(), dynamic=False), ValueError, "dynamic"),
    (lambda: gopt.LossScaleOptimizer(gopt.SGD(), clipnorm=1.0), ValueError, "inner_optimizer"),
    (lambda: gopt.LossScaleOptimizer(gopt.SGD(), foo=1), ValueError, "foo"),
    (lambda: gopt.LossScaleOptimizer("sgd"), TypeError, "inner_optimizer"),
    (lambda: gopt.LossScaleOptimizer(gopt.SGD(), dynamic_growth_steps=0), ValueError,
     "dynamic_growth_steps"),
])
def test_bad_arguments_raise(make, error, match):
    with pytest.raises(error, match=match):
        make()
