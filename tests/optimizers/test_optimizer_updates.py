"""Differential: every optimizer variant updates like Keras 3, step by step.

The same initial weights (two shapes) and three steps of random gradients go through
Keras 3's `apply_gradients`, gazelle's `apply_gradients` run op by op (`jax.disable_jit`),
and gazelle's `jax.jit(stateless_apply)`; parameters must agree after each step, and the
optimizer variables (paths, shapes, dtypes, values) must agree at the end.
"""
import re

import jax
import keras
import numpy as np
import pytest

import gazelle.optimizers as gopt
from gazelle.core.variables import Variable

SHAPES = [(3, 4), (5,)]
STEPS = 3
RTOL, ATOL = 1e-5, 1e-6

# name -> (class name, kwargs factory taking the optimizers module: keras's or gazelle's)
CASES = {
    "sgd": ("SGD", lambda m: {}),
    "sgd_momentum": ("SGD", lambda m: dict(learning_rate=0.1, momentum=0.9)),
    "sgd_nesterov": ("SGD", lambda m: dict(learning_rate=0.1, momentum=0.8, nesterov=True)),
    "sgd_clipvalue": ("SGD", lambda m: dict(learning_rate=0.1, clipvalue=0.3)),
    "sgd_piecewise": ("SGD", lambda m: dict(
        momentum=0.5, learning_rate=m.schedules.PiecewiseConstantDecay([1], [0.1, 0.02]))),
    "adam": ("Adam", lambda m: {}),
    "adam_lr": ("Adam", lambda m: dict(learning_rate=0.1, beta_1=0.8, beta_2=0.99, epsilon=1e-3)),
    "adam_amsgrad": ("Adam", lambda m: dict(learning_rate=0.1, amsgrad=True)),
    "adam_clipnorm": ("Adam", lambda m: dict(learning_rate=0.1, clipnorm=0.5)),
    "adam_global_clipnorm": ("Adam", lambda m: dict(learning_rate=0.1, global_clipnorm=1.0)),
    "adam_weight_decay": ("Adam", lambda m: dict(learning_rate=0.1, weight_decay=0.05)),
    "adam_loss_scale": ("Adam", lambda m: dict(learning_rate=0.1, loss_scale_factor=4.0)),
    "adam_exponential_decay": ("Adam", lambda m: dict(
        learning_rate=m.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5))),
    "rmsprop": ("RMSprop", lambda m: {}),
    "rmsprop_momentum": ("RMSprop", lambda m: dict(learning_rate=0.1, momentum=0.5)),
    "rmsprop_centered": ("RMSprop", lambda m: dict(learning_rate=0.1, centered=True)),
    "rmsprop_centered_momentum": ("RMSprop", lambda m: dict(
        learning_rate=0.1, rho=0.8, momentum=0.3, centered=True)),
    "rmsprop_cosine_warmup": ("RMSprop", lambda m: dict(learning_rate=m.schedules.CosineDecay(
        0.01, decay_steps=3, warmup_target=0.1, warmup_steps=1))),
    "adagrad": ("Adagrad", lambda m: {}),
    "adagrad_lr": ("Adagrad", lambda m: dict(learning_rate=0.1, initial_accumulator_value=0.5)),
    "adagrad_inverse_time": ("Adagrad", lambda m: dict(
        learning_rate=m.schedules.InverseTimeDecay(0.1, decay_steps=1, decay_rate=0.5))),
    "adamax": ("Adamax", lambda m: {}),
    "adamax_lr": ("Adamax", lambda m: dict(learning_rate=0.1, beta_1=0.8, clipvalue=0.5)),
    "nadam": ("Nadam", lambda m: {}),
    "nadam_lr": ("Nadam", lambda m: dict(learning_rate=0.1, beta_2=0.99)),
    "nadam_polynomial": ("Nadam", lambda m: dict(
        learning_rate=m.schedules.PolynomialDecay(0.1, decay_steps=2, power=2.0))),
    "adamw": ("AdamW", lambda m: {}),
    "adamw_amsgrad_clipnorm": ("AdamW", lambda m: dict(
        learning_rate=0.1, amsgrad=True, global_clipnorm=0.8)),
}


def _data(seed):
    rng = np.random.default_rng(seed)
    init = [rng.normal(size=s).astype("float32") for s in SHAPES]
    grads = [[rng.normal(size=s).astype("float32") for s in SHAPES] for _ in range(STEPS)]
    return init, grads


def _run_keras(cls_name, kwargs, init, grads, names):
    variables = [keras.Variable(w, name=n) for w, n in zip(init, names)]
    opt = getattr(keras.optimizers, cls_name)(name="opt", **kwargs)
    history = []
    for g in grads:
        opt.apply_gradients(zip(g, variables))
        history.append([np.asarray(v.numpy()) for v in variables])
    return history, opt


def _run_eager(cls_name, kwargs, init, grads, names):
    variables = [Variable(w, name=n) for w, n in zip(init, names)]
    opt = getattr(gopt, cls_name)(name="opt", **kwargs)
    history = []
    with jax.disable_jit():
        for g in grads:
            opt.apply_gradients(zip(g, variables))
            history.append([np.asarray(v.numpy()) for v in variables])
    return history, opt


def _run_jit(cls_name, kwargs, init, grads, names):
    opt = getattr(gopt, cls_name)(name="opt", **kwargs)
    opt.build([Variable(w, name=n) for w, n in zip(init, names)])
    step = jax.jit(opt.stateless_apply)
    values, opt_values = list(init), [v.value for v in opt.variables]
    history = []
    for g in grads:
        values, opt_values = step(opt_values, g, values)
        history.append([np.asarray(v) for v in values])
    return history


@pytest.mark.sweep
@pytest.mark.parametrize("case", sorted(CASES))
def test_updates_match_keras(case):
    cls_name, make_kwargs = CASES[case]
    init, grads = _data(seed=sorted(CASES).index(case))
    names = ["kernel", "bias"]
    ref, ref_opt = _run_keras(cls_name, make_kwargs(keras.optimizers), init, grads, names)
    eager, opt = _run_eager(cls_name, make_kwargs(gopt), init, grads, names)
    jitted = _run_jit(cls_name, make_kwargs(gopt), init, grads, names)
    for step in range(STEPS):
        for theirs, ours_eager, ours_jit in zip(ref[step], eager[step], jitted[step]):
            np.testing.assert_allclose(ours_eager, theirs, rtol=RTOL, atol=ATOL,
                                       err_msg=f"eager, step {step + 1}")
            np.testing.assert_allclose(ours_jit, theirs, rtol=RTOL, atol=ATOL,
                                       err_msg=f"jit, step {step + 1}")
    # Keras auto-names Nadam's shared variable with a global counter ("variable_3").
    ref_paths = [re.sub(r"/variable_\d+$", "/variable", v.path) for v in ref_opt.variables]
    assert [v.path for v in opt.variables] == ref_paths
    for ours, theirs in zip(opt.variables, ref_opt.variables):
        assert ours.shape == tuple(theirs.shape) and ours.dtype == str(theirs.dtype), ours.path
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=RTOL, atol=ATOL,
                                   err_msg=ours.path)
    assert int(opt.iterations.numpy()) == STEPS


def test_updates_really_move_the_weights():
    # Guards the differential test against comparing two no-ops.
    init, grads = _data(seed=0)
    history, _ = _run_eager("Adam", {}, init, grads, ["a", "b"])
    for h, w in zip(history[-1], init):
        assert np.abs(h - w).mean() > 1e-3  # ~ learning_rate per step; tolerance is 1e-6


def test_weight_decay_exclusion_matches_keras():
    rng = np.random.default_rng(7)
    names, shapes = ["kernel", "bias", "gamma"], [(3, 4), (5,), (2,)]
    init = [rng.normal(size=s).astype("float32") for s in shapes]
    grads = [[rng.normal(size=s).astype("float32") for s in shapes] for _ in range(STEPS)]
    kvars = [keras.Variable(w, name=n) for w, n in zip(init, names)]
    gvars = [Variable(w, name=n) for w, n in zip(init, names)]
    kopt = keras.optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
    gopt_ = gopt.AdamW(learning_rate=0.1, weight_decay=0.5)
    for opt, variables in ((kopt, kvars), (gopt_, gvars)):
        opt.exclude_from_weight_decay(var_list=[variables[2]], var_names=["bias"])
        for g in grads:
            opt.apply_gradients(zip(g, variables))
    for ours, theirs in zip(gvars, kvars):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=RTOL, atol=ATOL)


def test_slot_names_use_layer_variable_paths_like_keras():
    layer = keras.layers.Dense(2)
    layer.build((None, 3))
    kopt = keras.optimizers.RMSprop(momentum=0.5, centered=True, name="opt")
    kopt.build(layer.trainable_variables)
    ours = []
    for kv in layer.trainable_variables:
        v = Variable(np.asarray(kv.numpy()), name=kv.name)
        v.path = kv.path
        ours.append(v)
    opt = gopt.RMSprop(momentum=0.5, centered=True, name="opt")
    opt.build(ours)
    assert [v.path for v in opt.variables] == [v.path for v in kopt.variables]
    assert [v.name for v in opt.variables] == [v.name for v in kopt.variables]
