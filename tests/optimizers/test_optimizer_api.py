"""Optimizer contract: get/config/names like Keras 3, the settable learning rate, errors."""
import warnings

import jax
import keras
import numpy as np
import optax
import pytest

import gazelle.optimizers as gopt
from gazelle.core.variables import Variable

NAMES = ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adamax", "nadam"]


def _variables():
    return [Variable(np.ones((2, 3), "float32"), name="kernel"),
            Variable(np.zeros(3, "float32"), name="bias")]


def _grads():
    return [np.full((2, 3), 0.5, "float32"), np.full(3, -1.0, "float32")]


# -- get / config / names ------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_get_by_name_has_keras_defaults(name):
    ours = gopt.get(name.upper())
    theirs = keras.optimizers.get(name)
    assert type(ours).__name__ == type(theirs).__name__
    ours_cfg, theirs_cfg = ours.get_config(), theirs.get_config()
    ours_cfg.pop("name"), theirs_cfg.pop("name")
    assert ours_cfg == theirs_cfg


def test_auto_names_match_keras():
    keras.backend.clear_session()
    classes = ["SGD", "Adam", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "Nadam"]
    assert ([getattr(gopt, c)().name for c in classes]
            == [getattr(keras.optimizers, c)().name for c in classes])


@pytest.mark.parametrize("cls_name, kwargs", [
    ("SGD", dict(learning_rate=0.1, momentum=0.9, nesterov=True, clipnorm=1.0)),
    ("Adam", dict(learning_rate=0.02, beta_1=0.8, amsgrad=True, weight_decay=0.01)),
    ("AdamW", dict(weight_decay=0.1, global_clipnorm=2.0)),
    ("RMSprop", dict(rho=0.8, momentum=0.1, centered=True, clipvalue=0.5)),
    ("Adagrad", dict(initial_accumulator_value=0.2, epsilon=1e-6)),
    ("Adamax", dict(beta_2=0.99, loss_scale_factor=8.0)),
    ("Nadam", dict(learning_rate=0.003, epsilon=1e-5)),
])
def test_get_config_matches_keras_and_round_trips(cls_name, kwargs):
    ours = getattr(gopt, cls_name)(name="opt", **kwargs)
    theirs = getattr(keras.optimizers, cls_name)(name="opt", **kwargs)
    assert ours.get_config() == theirs.get_config()
    again = getattr(gopt, cls_name).from_config(theirs.get_config())
    assert again.get_config() == theirs.get_config()
    assert gopt.get(keras.optimizers.serialize(theirs)).get_config() == theirs.get_config()
    assert gopt.serialize(ours) == keras.optimizers.serialize(theirs)


def test_schedule_learning_rate_serializes_like_keras():
    ours = gopt.SGD(name="opt", learning_rate=gopt.schedules.ExponentialDecay(0.1, 10, 0.5))
    theirs = keras.optimizers.SGD(
        name="opt", learning_rate=keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5))
    assert ours.get_config() == theirs.get_config()
    restored = gopt.SGD.from_config(theirs.get_config())
    assert isinstance(restored._learning_rate, gopt.schedules.ExponentialDecay)
    # No learning-rate variable with a schedule, as in Keras.
    restored.build(_variables())
    assert [v.name for v in restored.variables] == ["iteration"]


def test_variables_before_build_match_keras():
    ours, theirs = gopt.Adam(name="opt"), keras.optimizers.Adam(name="opt")
    assert [v.path for v in ours.variables] == [v.path for v in theirs.variables]
    assert ours.iterations.dtype == str(theirs.iterations.dtype)
    assert ours.learning_rate.dtype == str(theirs.learning_rate.dtype)


def test_get_passes_instances_through_and_wraps_optax():
    opt = gopt.Adam()
    assert gopt.get(opt) is opt
    assert gopt.get(None) is None
    assert isinstance(gopt.get(optax.sgd(0.1)), gopt.OptaxOptimizer)


# -- the learning rate is state --------------------------------------------------------------
def test_setting_learning_rate_changes_jitted_update_without_retracing():
    opt = gopt.SGD(learning_rate=0.1)
    variables = _variables()
    opt.build(variables)
    traces = []

    @jax.jit
    def step(opt_values, grads, values):
        traces.append(1)
        return opt.stateless_apply(opt_values, grads, values)

    def run():
        values, opt_values = step([v.value for v in opt.variables], _grads(),
                                  [v.value for v in variables])
        for v, value in zip(variables + opt.variables, values + opt_values):
            v.assign(value)

    run()
    np.testing.assert_allclose(variables[0].numpy(), 1 - 0.1 * 0.5, rtol=1e-6)
    opt.learning_rate = 0.5
    run()
    np.testing.assert_allclose(variables[0].numpy(), 1 - 0.1 * 0.5 - 0.5 * 0.5, rtol=1e-6)
    assert len(traces) == 1
    assert int(opt.iterations.numpy()) == 2


def test_eager_apply_follows_learning_rate_changes():
    opt = gopt.SGD(learning_rate=1.0)
    variables = _variables()
    opt.apply_gradients(zip(_grads(), variables))
    opt.learning_rate = 0.0
    opt.apply_gradients(zip(_grads(), variables))
    np.testing.assert_allclose(variables[1].numpy(), 1.0)
    assert float(opt.learning_rate) == 0.0
    assert float(opt.lr) == 0.0  # tf.keras 2 alias


def test_learning_rate_of_a_schedule_follows_iterations():
    schedule = gopt.schedules.PiecewiseConstantDecay([0], [1.0, 0.25])
    opt = gopt.SGD(learning_rate=schedule)
    variables = _variables()
    assert float(opt.learning_rate) == 1.0
    opt.apply_gradients(zip(_grads(), variables))
    assert float(opt.learning_rate) == 0.25
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1


def test_lr_argument_warns_and_is_used():
    with pytest.warns(DeprecationWarning, match="`lr`"):
        opt = gopt.SGD(lr=0.5)
    assert float(opt.learning_rate) == 0.5


def test_decay_argument_warns_and_is_ignored_like_keras():
    with pytest.warns(UserWarning, match="decay"):
        opt = gopt.SGD(learning_rate=0.5, decay=1e-3)
    assert "decay" not in opt.get_config()


def test_gazelle_differs_from_keras_on_purpose():
    # tf.keras 2 accepted int learning rates and momentum; Keras 3 rejects them.
    with pytest.raises(ValueError):
        keras.optimizers.SGD(learning_rate=1)
    assert float(gopt.SGD(learning_rate=1, momentum=1).learning_rate) == 1.0
    # Keras 3 accepts a no-argument callable; here it would be frozen at trace time.
    with pytest.raises(TypeError, match="learning_rate"):
        gopt.SGD(learning_rate=lambda: 0.1)


# -- optax wrapper and saving hooks ----------------------------------------------------------
def test_optax_transformation_matches_optax():
    tx = optax.adam(0.1)
    opt = gopt.get(tx)
    variables = _variables()
    params = [v.value for v in variables]
    state = tx.init(params)
    for _ in range(3):
        opt.apply_gradients(zip(_grads(), variables))
        updates, state = tx.update(_grads(), state, params)
        params = optax.apply_updates(params, updates)
    for v, p in zip(variables, params):
        np.testing.assert_allclose(v.numpy(), p, rtol=1e-6, atol=1e-7)
    assert [v.name for v in opt.variables] == [
        "iteration", "count", "kernel_mu", "bias_mu", "kernel_nu", "bias_nu"]
    assert opt.learning_rate is None
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1
    with pytest.raises(NotImplementedError, match="optax"):
        opt.get_config()


def test_save_and_load_own_variables_round_trip():
    opt = gopt.Adam()
    variables = _variables()
    opt.apply_gradients(zip(_grads(), variables))
    store = {}
    opt.save_own_variables(store)
    fresh = gopt.Adam()
    fresh.build(_variables())
    fresh.load_own_variables(store)
    for a, b in zip(opt.variables, fresh.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.warns(UserWarning, match="Skipping"):
        gopt.Adam().load_own_variables(store)


# -- bad input -------------------------------------------------------------------------------
def test_unknown_keyword_argument_is_named():
    with pytest.raises(TypeError, match="betta_1"):
        gopt.Adam(betta_1=0.9)


def test_at_most_one_clip_argument():
    with pytest.raises(ValueError, match="clipnorm"):
        gopt.SGD(clipnorm=1.0, clipvalue=0.5)


@pytest.mark.parametrize("make, error, match", [
    (lambda: gopt.Adam(learning_rate="fast"), TypeError, "learning_rate"),
    (lambda: gopt.SGD(momentum=1.5), ValueError, "momentum"),
    (lambda: gopt.SGD(momentum="high"), TypeError, "momentum"),
    (lambda: gopt.SGD(clipnorm=-1.0), ValueError, "clipnorm"),
    (lambda: gopt.RMSprop(momentum=-0.1), ValueError, "momentum"),
    (lambda: gopt.AdamW(weight_decay=None), ValueError, "weight_decay"),
    (lambda: gopt.Adam(use_ema=True, ema_momentum=1.5), ValueError, "ema_momentum"),
    (lambda: gopt.Adam(use_ema=True, ema_overwrite_frequency=0), ValueError,
     "ema_overwrite_frequency"),
    (lambda: gopt.Adam(gradient_accumulation_steps=1), ValueError, "gradient_accum"),
    (lambda: gopt.Adam(gradient_accumulation_steps=2.5), ValueError, "gradient_accum"),
    (lambda: gopt.get("adamx"), ValueError, "Valid names.*rmsprop"),
    (lambda: gopt.get(42), TypeError, "optimizer identifier"),
    (lambda: gopt.get({"class_name": "Nope", "config": {}}), ValueError, "Nope"),
])
def test_bad_arguments_raise(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_stateless_apply_checks_build_and_lengths():
    opt = gopt.Adam()
    with pytest.raises(ValueError, match="build"):
        opt.stateless_apply([], _grads(), [])
    variables = _variables()
    opt.build(variables)
    values = [v.value for v in opt.variables]
    with pytest.raises(ValueError, match="`grads` must have 2"):
        opt.stateless_apply(values, _grads()[:1], [v.value for v in variables])
    with pytest.raises(ValueError, match="`optimizer_variables`"):
        opt.stateless_apply(values[:-1], _grads(), [v.value for v in variables])


def test_apply_rejects_unknown_variables_and_missing_gradients():
    opt = gopt.SGD()
    variables = _variables()
    opt.build(variables)
    with pytest.raises(ValueError, match="was built for"):
        opt.apply_gradients(zip(_grads(), _variables()))
    with pytest.raises(ValueError, match="'bias' is None"):
        opt.apply_gradients(zip([_grads()[0], None], variables))
    with pytest.raises(TypeError, match="list of Variables"):
        gopt.SGD().build([np.ones(3)])


def test_build_is_idempotent_and_apply_reorders_by_variable():
    opt = gopt.SGD(learning_rate=1.0)
    variables = _variables()
    opt.build(variables)
    before = opt.variables
    opt.build(variables)
    assert opt.variables == before
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.apply_gradients(reversed(list(zip(_grads(), variables))))
    np.testing.assert_allclose(variables[0].numpy(), 0.5)
    np.testing.assert_allclose(variables[1].numpy(), 1.0)


def test_loss_scale_factor_leaves_the_update_unchanged_as_in_keras3():
    import keras as k3
    import numpy as np

    import gazelle as keras

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=(16, 1)).astype("float32")
    weights = None
    results = []
    for lib, factor in ((keras, None), (keras, 64.0), (k3, 64.0)):
        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(1)])
        if weights is None:
            weights = model.get_weights()
        model.set_weights(weights)
        model.compile(optimizer=lib.optimizers.SGD(0.1, loss_scale_factor=factor), loss="mse")
        history = model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
        results.append((model.get_weights(), history.history["loss"]))
    for got, loss in results[1:]:
        for a, b in zip(got, results[0][0]):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(loss, results[0][1], rtol=1e-5)   # logs the unscaled loss
