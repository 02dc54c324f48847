"""Differential: the options every optimizer shares (gradient accumulation, EMA, clipping,
weight decay) against Keras 3.

Each case applies the same gradients to the same weights with Keras 3's `stateless_apply`
(jitted, as its JAX trainer runs it) and with gazelle's `stateless_apply` run inside one `lax.scan` (as a compiled fit chunk
runs it); weights, every optimizer variable (paths, values) and `iterations` must agree.
Then `fit()` itself: Keras 3 and gazelle train the same model with the options on.
"""
import re

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
STEPS = 5

OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "Nadam", "Adadelta",
              "Adafactor", "Ftrl", "Lamb", "Lion", "Muon", "ScheduleFreeAdamW"]
# Three option sets per optimizer cover each option on every optimizer: accumulation with
# EMA, weight decay and per-weight clipping; EMA alone with global clipping and weight
# decay; value clipping.
OPTIONS = {
    "accumulate_ema_decay_clipnorm": dict(gradient_accumulation_steps=2, use_ema=True,
                                          ema_overwrite_frequency=2, weight_decay=0.05,
                                          clipnorm=0.5),
    "ema_global_clipnorm_decay": dict(use_ema=True, ema_momentum=0.8, ema_overwrite_frequency=2,
                                      global_clipnorm=0.7, weight_decay=0.1),
    "clipvalue": dict(clipvalue=0.2),
}


def _data(seed):
    rng = np.random.default_rng(seed)
    init = [rng.normal(size=s).astype("float32") for s in SHAPES]
    grads = [[rng.normal(size=s).astype("float32") for s in SHAPES] for _ in range(STEPS)]
    return init, grads


def _keras_run(cls_name, kwargs, init, grads):
    # Keras's own stateless_apply under jit, as its JAX trainer runs it (its eager
    # `apply_gradients` traces a lax.cond per call: slow).
    variables = [keras.Variable(w, name=n) for w, n in zip(init, ("kernel", "bias"))]
    opt = getattr(keras.optimizers, cls_name)(name="opt", learning_rate=0.1, **kwargs)
    with keras.name_scope(opt.name, caller=opt):      # as `apply` builds it
        opt.build(variables)
    step = jax.jit(opt.stateless_apply)
    params, values = list(init), [v.value for v in opt.variables]
    for g in grads:
        params, values = step(values, g, params)
    for variable, value in zip(opt.variables, values):
        variable.assign(value)
    return [np.asarray(p) for p in params], opt


def _gazelle_scan(cls_name, kwargs, init, grads):
    variables = [Variable(w, name=n) for w, n in zip(init, ("kernel", "bias"))]
    opt = getattr(gopt, cls_name)(name="opt", learning_rate=0.1, **kwargs)
    opt.build(variables)
    stacked = [jnp.stack([g[i] for g in grads]) for i in range(len(SHAPES))]

    @jax.jit
    def run(params, opt_values, stacked):
        def body(carry, g):
            return opt.stateless_apply(carry[1], g, carry[0]), None
        (params, opt_values), _ = jax.lax.scan(body, (params, opt_values), stacked)
        return params, opt_values

    params, values = run(list(init), [v.value for v in opt.variables], stacked)
    for variable, value in zip(opt.variables, values):
        variable.assign(value)
    return [np.asarray(p) for p in params], opt


@pytest.mark.sweep
@pytest.mark.parametrize("option", sorted(OPTIONS))
@pytest.mark.parametrize("cls_name", OPTIMIZERS)
def test_options_match_keras(cls_name, option):
    kwargs = OPTIONS[option]
    init, grads = _data(seed=OPTIMIZERS.index(cls_name))
    ref, ref_opt = _keras_run(cls_name, kwargs, init, grads)
    ours, opt = _gazelle_scan(cls_name, kwargs, init, grads)
    for a, b, w0 in zip(ours, ref, init):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
        assert np.abs(a - w0).max() > 1e-4            # the steps did move the weights
    # Keras names Nadam's shared variable with a global counter ("variable_3").
    ref_paths = [re.sub(r"/variable_\d+$", "/variable", v.path) for v in ref_opt.variables]
    assert [v.path for v in opt.variables] == ref_paths
    for ours_v, theirs in zip(opt.variables, ref_opt.variables):
        np.testing.assert_allclose(np.asarray(ours_v.numpy(), "float64"),
                                   np.asarray(theirs.numpy(), "float64"),
                                   rtol=RTOL, atol=ATOL, err_msg=ours_v.path)
    assert int(np.asarray(opt.iterations)) == int(np.asarray(ref_opt.iterations))


def test_accumulation_holds_weights_between_updates():
    init, grads = _data(seed=7)
    variables = [Variable(w, name=n) for w, n in zip(init, ("kernel", "bias"))]
    opt = gopt.SGD(learning_rate=0.1, gradient_accumulation_steps=3)
    for step, g in enumerate(grads[:3]):
        opt.apply_gradients(zip(g, variables))
        if step < 2:
            np.testing.assert_array_equal(variables[0].numpy(), init[0])
    mean = (grads[0][0] + grads[1][0] + grads[2][0]) / 3
    np.testing.assert_allclose(variables[0].numpy(), init[0] - 0.1 * mean, rtol=RTOL, atol=ATOL)
    assert int(opt.iterations) == 1 and int(opt._iterations.numpy()) == 3
    np.testing.assert_array_equal(opt._accumulators[0].numpy(), 0)


def test_finalize_variable_values_writes_the_averages():
    init, grads = _data(seed=3)
    kvars = [keras.Variable(w, name=n) for w, n in zip(init, ("kernel", "bias"))]
    gvars = [Variable(w, name=n) for w, n in zip(init, ("kernel", "bias"))]
    kopt = keras.optimizers.Adam(learning_rate=0.1, use_ema=True, ema_momentum=0.5)
    ours = gopt.Adam(learning_rate=0.1, use_ema=True, ema_momentum=0.5)
    for g in grads:
        kopt.apply_gradients(zip(g, kvars))
        ours.apply_gradients(zip(g, gvars))
    kopt.finalize_variable_values(kvars)
    ours.finalize_variable_values(gvars)
    for a, b in zip(gvars, kvars):
        np.testing.assert_allclose(a.numpy(), np.asarray(b.numpy()), rtol=RTOL, atol=ATOL)
    with pytest.raises(ValueError, match="moving averages for 2"):
        ours.finalize_variable_values(gvars[:1])
    gopt.SGD().finalize_variable_values([])          # no EMA: nothing to do


def test_config_round_trip_with_options():
    opt = gopt.Adam(learning_rate=0.01, use_ema=True, ema_momentum=0.9,
                    ema_overwrite_frequency=5, gradient_accumulation_steps=4, global_clipnorm=1.0)
    config = opt.get_config()
    ref = keras.optimizers.Adam.from_config(dict(config)).get_config()
    assert {k: config[k] for k in ref} == pytest.approx(ref)
    again = gopt.Adam.from_config(config)
    assert again.get_config() == config


@pytest.mark.parametrize("kwargs", [
    dict(gradient_accumulation_steps=3),
    dict(use_ema=True, ema_momentum=0.9),
    dict(use_ema=True, ema_momentum=0.7, ema_overwrite_frequency=3, gradient_accumulation_steps=2),
], ids=["accumulate", "ema_finalized", "ema_overwrite_accumulate"])
def test_fit_matches_keras(kwargs):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(70, 6)).astype("float32")
    y = rng.integers(0, 3, size=(70,))

    def build(lib):
        return lib.Sequential([lib.Input((6,)), lib.layers.Dense(8, activation="relu"),
                               lib.layers.Dense(3, activation="softmax")])

    km, gm = build(keras), build(gazelle)
    gm.set_weights(km.get_weights())
    km.compile(keras.optimizers.Adam(0.05, **kwargs), "sparse_categorical_crossentropy")
    gm.compile(gazelle.optimizers.Adam(0.05, **kwargs), "sparse_categorical_crossentropy",
               steps_per_execution=4)
    hk = km.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    hg = gm.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(hg.history["loss"], hk.history["loss"], rtol=RTOL)
    for a, b in zip(gm.get_weights(), km.get_weights()):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
    for a, b in zip(gm.optimizer.variables, km.optimizer.variables):
        np.testing.assert_allclose(np.asarray(a.numpy(), "float64"),
                                   np.asarray(b.numpy(), "float64"), rtol=RTOL, atol=ATOL)


def test_saved_optimizer_state_loads_in_keras(tmp_path):
    """The `.keras` file keeps the EMA and accumulator variables in Keras 3's order."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 4)).astype("float32")
    y = rng.normal(size=(40, 1)).astype("float32")
    model = gazelle.Sequential([gazelle.Input((4,)), gazelle.layers.Dense(1)])
    model.compile(gopt.Adam(0.01, use_ema=True, gradient_accumulation_steps=2), "mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    path = str(tmp_path / "m.keras")
    model.save(path)
    theirs = keras.models.load_model(path)
    ours = gazelle.models.load_model(path)
    expected = [np.asarray(v.numpy()) for v in model.optimizer.variables]
    for loaded in (theirs, ours):
        got = [np.asarray(v.numpy()) for v in loaded.optimizer.variables]
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
    assert theirs.optimizer.use_ema and theirs.optimizer.gradient_accumulation_steps == 2


def test_ema_finalized_before_early_stopping_restores():
    """Keras 3 writes the EMA weights before `on_train_end`, so EarlyStopping's restored
    best weights are what the model ends with."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = rng.normal(size=(64, 1)).astype("float32")

    def build(lib):
        return lib.Sequential([lib.Input((6,)), lib.layers.Dense(8, activation="relu"),
                               lib.layers.Dense(1)])

    km, gm = build(keras), build(gazelle)
    gm.set_weights(km.get_weights())
    for model, lib in ((km, keras), (gm, gazelle)):
        model.compile(lib.optimizers.SGD(0.5, use_ema=True, ema_momentum=0.5), "mse")
        model.fit(x, y, batch_size=16, epochs=6, shuffle=False, verbose=0,
                  validation_data=(x[:16], y[:16]),
                  callbacks=[lib.callbacks.EarlyStopping(monitor="val_loss", patience=1,
                                                         restore_best_weights=True)])
    for a, b in zip(gm.get_weights(), km.get_weights()):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
