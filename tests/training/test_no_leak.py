"""No leaks across repeated fit(epochs=1) / predict / evaluate calls on one model (issue 6).

After a few warm-up rounds, more rounds of the same calls must compile nothing, trace
nothing, keep the same compiled-program caches, leave no extra gazelle objects or jax
arrays alive, and keep resident memory nearly flat. bench/leak.py runs the long version
(300 rounds on the tutorial MLP, with Keras 3 for comparison).

The two `*_sees_*` tests inject a leak and a retrace on purpose and check that the same
census reports them, so the main test can fail.
"""
import collections
import gc

import jax
import numpy as np
import pytest

import gazelle as keras
from gazelle.layers import layer as layer_mod

BACKEND_COMPILE = "/jax/core/compile/backend_compile_duration"
WARMUP, ROUNDS = 3, 60
N, FEATURES, CLASSES = 2048, 64, 4

# Resident memory may grow this much over the measured rounds. After warm-up the real
# figure is well under 1 MiB (allocator pools settling; bench/leak.py: about 0.1 MiB per
# 100 rounds on the tutorial MLP). x is N * FEATURES float32 = 512 KiB, so keeping one copy
# of the inputs per round (on the host or on the device) would add ~30 MiB over ROUNDS and
# fail, while allocator noise cannot reach 8 MiB.
RSS_BOUND_MIB = 8.0


class CompileCounter:
    """Counts XLA backend compilations (jit programs and eager ops) while active."""

    def __init__(self):
        self.names = collections.Counter()

    def _on_event(self, event, duration, **kwargs):
        if event == BACKEND_COMPILE:
            self.names[kwargs.get("fun_name", "?")] += 1

    def __enter__(self):
        jax.monitoring.register_event_duration_secs_listener(self._on_event)
        return self

    def __exit__(self, *exc):
        jax.monitoring.unregister_event_duration_listener(self._on_event)

    @property
    def total(self):
        return sum(self.names.values())


def rss_anon_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    return None                               # not Linux: no RSS check


def learnable_data(seed=0):
    """Noisy inputs where each class lights up its own band of features: the loss falls
    within the first epoch (so the training doctor stays quiet) and every round does real
    work."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, CLASSES, N).astype("int32")
    x = rng.normal(0.0, 0.3, (N, FEATURES)).astype("float32")
    band = FEATURES // CLASSES
    for c in range(CLASSES):
        x[y == c, c * band:(c + 1) * band] += 1.0
    return x, y


def small_model():
    model = keras.models.Sequential([
        keras.Input(shape=(FEATURES,)),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dropout(0.1),                 # a SeedGenerator: random state in the step
        keras.layers.Dense(CLASSES, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
                  metrics=["accuracy"])
    return model


def one_round(model, x, y):
    model.fit(x, y, epochs=1, verbose=0)
    model.predict(x, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x[:1], verbose=0)
    np.asarray(model(x[:1]))


def fit_once(model, x, y):
    model.fit(x, y, epochs=1, verbose=0)


def census(model, counter):
    """Everything that must not change from one round to the next, after gc."""
    gc.collect()
    # Hand freed heap back first, so RssAnon measures live memory rather than what the
    # allocator keeps from earlier tests in the same worker process.
    from gazelle.backend import _malloc_trim
    _malloc_trim()
    steps = [model._trainer.steps, getattr(model, "_predict_steps", None)]
    steps = [s for s in steps if s is not None]
    owned = collections.Counter(
        type(o).__qualname__ for o in gc.get_objects()
        if isinstance(getattr(type(o), "__module__", None), str)
        and type(o).__module__.partition(".")[0] == "gazelle")
    return {
        "compiles": counter.total,
        "traces": sum(s.traces for s in steps),
        "programs": sorted(repr(key) for s in steps for key in s._cache),
        "steps objects": [id(s) for s in steps],
        "variables": [id(v) for v in model.variables],
        "optimizer variables": [id(v) for v in model.optimizer.variables],
        "live jax arrays": len(jax.live_arrays()),
        "gazelle objects": owned,
        "layer structure version": layer_mod._STRUCTURE_VERSION[0],
        "rss": rss_anon_mib(),
    }


def problems(before, after):
    """What grew or changed between two censuses (empty: no leak)."""
    found = []
    for key in before:
        if key == "rss":
            continue
        if key == "gazelle objects":
            grew = {k: (before[key][k], n) for k, n in after[key].items() if n > before[key][k]}
            if grew:
                found.append(f"gazelle objects grew (type: before, after): {grew}")
        elif before[key] != after[key]:
            found.append(f"{key}: {before[key]!r} -> {after[key]!r}")
    if before["rss"] is not None and after["rss"] - before["rss"] > RSS_BOUND_MIB:
        found.append(f"RssAnon grew {after['rss'] - before['rss']:.1f} MiB "
                     f"(bound {RSS_BOUND_MIB} MiB)")
    return found


def run_rounds(model, x, y, rounds, warmup, calls=one_round):
    with CompileCounter() as counter:
        for _ in range(warmup):
            calls(model, x, y)
        before = census(model, counter)
        for _ in range(rounds):
            calls(model, x, y)
        after = census(model, counter)
    return counter, before, after


@pytest.fixture(scope="module")
def warm():
    """A small model after two rounds of every call (shared by the shorter tests below)."""
    x, y = learnable_data(seed=1)
    model = small_model()
    for _ in range(2):
        one_round(model, x, y)
    return model, x, y


@pytest.mark.slow          # heavy: runs in CI's slow pass
def test_repeated_fit_predict_evaluate_do_not_leak():
    x, y = learnable_data()
    model = small_model()
    counter, before, after = run_rounds(model, x, y, ROUNDS, WARMUP)
    assert before["compiles"] > 0 and before["traces"] > 0      # the counters do count
    assert problems(before, after) == [], dict(counter.names)
    assert model.history.history["loss"][-1] < np.log(CLASSES) * 0.5   # it did train


def test_each_call_alone_compiles_nothing_after_the_first(warm):
    """Per entry point, so a failure names the call that compiles again."""
    model, x, y = warm
    calls = {"fit": lambda: model.fit(x, y, epochs=1, verbose=0),
             "predict": lambda: model.predict(x, verbose=0),
             "evaluate": lambda: model.evaluate(x, y, verbose=0),
             "predict one": lambda: model.predict(x[:1], verbose=0),
             "call": lambda: np.asarray(model(x[:1]))}
    compiles = {}
    for what, call in calls.items():
        with CompileCounter() as counter:
            for _ in range(3):
                call()
        compiles[what] = dict(counter.names)
    assert compiles == {what: {} for what in calls}


def test_census_sees_a_leak(warm, monkeypatch):
    """Keeping every TrainState alive (a leak of weight copies) is reported."""
    from gazelle.training import state as state_mod
    model, x, y = warm
    kept, lift = [], state_mod.StateLayout.lift

    def leaky_lift(self):
        state = lift(self)
        kept.append(state)
        return state

    monkeypatch.setattr(state_mod.StateLayout, "lift", leaky_lift)
    _, before, after = run_rounds(model, x, y, 3, 1, calls=fit_once)
    found = problems(before, after)
    assert any(p.startswith("live jax arrays") for p in found), found
    assert any("TrainState" in p for p in found), found


def test_census_sees_a_retrace(warm, monkeypatch):
    """A program cache that forgets its entries (so each call compiles again) is reported."""
    from gazelle.training.steps import Steps
    model, x, y = warm
    chunk = Steps.chunk

    def forgetful_chunk(self, *args, **kwargs):
        self._cache.clear()
        return chunk(self, *args, **kwargs)

    monkeypatch.setattr(Steps, "chunk", forgetful_chunk)
    _, before, after = run_rounds(model, x, y, 1, 0, calls=fit_once)
    found = problems(before, after)
    assert any(p.startswith("compiles") for p in found), found
    assert any(p.startswith("traces") for p in found), found
