"""Adadelta, Ftrl, Lion, Lamb and Adafactor: differential against Keras 3 (parameters after
each of three steps, eager and jitted; optimizer variables' paths, shapes, dtypes and
values at the end), configs and names, and a compiled fit."""
import re

import keras
import numpy as np
import pytest
from test_optimizer_updates import STEPS, _data, _run_eager, _run_jit, _run_keras

import gazelle
import gazelle.optimizers as gopt

RTOL, ATOL = 1e-5, 1e-6

CASES = {
    "adadelta": ("Adadelta", lambda m: {}),
    "adadelta_lr": ("Adadelta", lambda m: dict(learning_rate=1.0, rho=0.8, epsilon=1e-4)),
    "adadelta_clipnorm": ("Adadelta", lambda m: dict(learning_rate=0.5, clipnorm=0.5)),
    "ftrl": ("Ftrl", lambda m: {}),
    "ftrl_regularized": ("Ftrl", lambda m: dict(
        learning_rate=0.1, learning_rate_power=-0.3, initial_accumulator_value=0.5,
        l1_regularization_strength=0.05, l2_regularization_strength=0.1,
        l2_shrinkage_regularization_strength=0.02, beta=0.3)),
    "ftrl_fixed_rate_decay": ("Ftrl", lambda m: dict(
        learning_rate=0.2, learning_rate_power=0.0, weight_decay=0.1)),
    "lion": ("Lion", lambda m: {}),
    "lion_lr": ("Lion", lambda m: dict(learning_rate=0.05, beta_1=0.8, beta_2=0.95,
                                       weight_decay=0.1)),
    "lion_schedule": ("Lion", lambda m: dict(
        learning_rate=m.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5))),
    "lamb": ("Lamb", lambda m: {}),
    "lamb_lr": ("Lamb", lambda m: dict(learning_rate=0.1, beta_1=0.8, beta_2=0.99,
                                       epsilon=1e-4, global_clipnorm=1.0)),
    "adafactor": ("Adafactor", lambda m: {}),
    "adafactor_lr": ("Adafactor", lambda m: dict(
        learning_rate=0.5, beta_2_decay=-0.5, epsilon_2=1e-2, clip_threshold=0.5)),
    "adafactor_schedule": ("Adafactor", lambda m: dict(
        learning_rate=m.schedules.PolynomialDecay(0.3, decay_steps=2), relative_step=False)),
    "muon": ("Muon", lambda m: {}),
    "muon_lr_clip": ("Muon", lambda m: dict(learning_rate=0.05, global_clipnorm=1.0,
                                            adam_lr_ratio=0.5, momentum=0.9)),
    "muon_plain_momentum": ("Muon", lambda m: dict(
        learning_rate=0.05, nesterov=False, rms_rate=None, weight_decay=0.1,
        adam_weight_decay=None, ns_steps=3)),
    "muon_excluded": ("Muon", lambda m: dict(learning_rate=0.05, exclude_layers=["ker"])),
    "schedule_free_adamw": ("ScheduleFreeAdamW", lambda m: {}),
    "schedule_free_adamw_warmup": ("ScheduleFreeAdamW", lambda m: dict(
        learning_rate=0.1, beta_1=0.8, beta_2=0.99, epsilon=1e-6, warmup_steps=2,
        weight_decay=0.05)),
}


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
        for theirs, ours_eager, ours_jit, w0 in zip(ref[step], eager[step], jitted[step], init):
            np.testing.assert_allclose(ours_eager, theirs, rtol=RTOL, atol=ATOL,
                                       err_msg=f"eager, step {step + 1}")
            np.testing.assert_allclose(ours_jit, theirs, rtol=RTOL, atol=ATOL,
                                       err_msg=f"jit, step {step + 1}")
    if case != "adadelta":      # default Adadelta steps are ~1e-6: below the tolerance
        assert any(np.abs(a - b).max() > 1e-4 for a, b in zip(ref[-1], init))   # it moved
    ref_paths = [re.sub(r"/variable_\d+$", "/variable", v.path) for v in ref_opt.variables]
    assert [v.path for v in opt.variables] == ref_paths
    for ours, theirs in zip(opt.variables, ref_opt.variables):
        assert ours.shape == tuple(theirs.shape) and ours.dtype == str(theirs.dtype), ours.path
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=RTOL, atol=ATOL,
                                   err_msg=ours.path)


@pytest.mark.parametrize("cls_name", ["Adadelta", "Ftrl", "Lion", "Lamb", "Adafactor", "Muon",
                                      "ScheduleFreeAdamW"])
def test_config_and_names_match_keras(cls_name):
    ours, theirs = getattr(gopt, cls_name)(name="o"), getattr(keras.optimizers, cls_name)(
        name="o")
    _assert_configs_equal(ours.get_config(), theirs.get_config())
    assert list(ours.get_config()) == list(theirs.get_config())
    assert type(gopt.get(cls_name.lower())) is type(ours)
    again = gopt.deserialize(gopt.serialize(ours))
    assert type(again) is type(ours) and again.get_config() == ours.get_config()
    from_keras = gopt.deserialize(keras.optimizers.serialize(theirs))
    _assert_configs_equal(from_keras.get_config(), ours.get_config())


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="learning_rate_power"):
        gopt.Ftrl(learning_rate_power=0.5)
    with pytest.raises(ValueError, match="l1_regularization_strength"):
        gopt.Ftrl(l1_regularization_strength=-1.0)
    with pytest.raises(ValueError, match="beta_1"):
        gopt.Lion(beta_1=0.0)
    with pytest.raises(TypeError, match="unexpected keyword"):
        gopt.Lamb(beta=0.9)


@pytest.mark.parametrize("name", ["adadelta", "ftrl", "lion", "lamb", "adafactor", "muon",
                                  "schedulefreeadamw"])
def test_compiled_fit_with_new_optimizers(name, tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 5)).astype("float32")
    y = x @ rng.normal(size=(5, 2)).astype("float32")
    model = gazelle.Sequential([gazelle.layers.Input((5,)), gazelle.layers.Dense(2)])
    opt = gopt.get(name)
    opt.learning_rate = 1.0 if name == "adadelta" else 0.05
    model.compile(optimizer=opt, loss="mse")
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert int(model.optimizer.iterations.numpy()) == 12
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer).__name__ == type(opt).__name__
    for ours, theirs in zip(opt.variables, loaded.optimizer.variables):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=RTOL, atol=ATOL)


def test_muon_tall_matrix_and_weight_decay_exclusion_match_keras():
    # A tall (rows > cols) kernel takes the transposed Newton-Schulz path; the excluded
    # weight gets no decay; a rank-3 weight goes to AdamW.
    rng = np.random.default_rng(11)
    names, shapes = ["kernel", "bias", "conv"], [(6, 3), (3,), (2, 2, 3)]
    init = [rng.normal(size=s).astype("float32") for s in shapes]
    grads = [[rng.normal(size=s).astype("float32") for s in shapes] for _ in range(STEPS)]
    kvars = [keras.Variable(w, name=n) for w, n in zip(init, names)]
    from gazelle.core.variables import Variable
    gvars = [Variable(w, name=n) for w, n in zip(init, names)]
    kopt = keras.optimizers.Muon(learning_rate=0.1, weight_decay=0.2, adam_weight_decay=0.3)
    ours = gopt.Muon(learning_rate=0.1, weight_decay=0.2, adam_weight_decay=0.3)
    for opt, variables in ((kopt, kvars), (ours, gvars)):
        opt.exclude_from_weight_decay(var_names=["bias"])
        for g in grads:
            opt.apply_gradients(zip(g, variables))
    for a, b, w0 in zip(gvars, kvars, init):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=RTOL, atol=ATOL)
        assert np.abs(a.numpy() - w0).max() > 1e-3


def _assert_configs_equal(a, b):
    # pytest.approx refuses dicts with list values (Muon's exclude_layers) in newer pytest:
    # numbers compare approximately, everything else exactly.
    assert sorted(a) == sorted(b)
    for key in a:
        if isinstance(a[key], float) or isinstance(b[key], float):
            assert a[key] == pytest.approx(b[key]), key
        else:
            assert a[key] == b[key], key
