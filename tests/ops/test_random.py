"""keras.random in gazelle: int seeds draw exactly what Keras 3 draws; SeedGenerator and
global-stream draws have the right shapes, dtypes, ranges and moments, and repeat when seeded."""
import jax
import numpy as np
import pytest

import keras as k3
from gazelle import random as grandom

X = np.linspace(-1.0, 1.0, 24, dtype="float32").reshape(4, 6)
LOGITS = np.log(np.array([[0.2, 0.5, 0.3], [0.9, 0.05, 0.05]], "float32"))

CALLS = {
    "normal": [((3, 4), {}), ((5,), {"mean": 2.0, "stddev": 0.5, "dtype": "float16"})],
    "uniform": [((3, 4), {}), ((6,), {"minval": -2.0, "maxval": 5.0})],
    "truncated_normal": [((3, 4), {}), ((7,), {"mean": 1.0, "stddev": 3.0})],
    "randint": [((3, 4), {"minval": 0, "maxval": 10}), ((5,), {"minval": -3, "maxval": 3,
                                                                "dtype": "int16"})],
    "categorical": [((), {"logits": LOGITS, "num_samples": 6})],
    "gamma": [((5,), {"alpha": 2.0}), ((2, 3), {"alpha": 0.5, "dtype": "float32"})],
    "binomial": [((6,), {"counts": 10, "probabilities": 0.3})],
    "beta": [((6,), {"alpha": 2.0, "beta": 5.0})],
    "shuffle": [((), {"x": X}), ((), {"x": X, "axis": 1})],
    "dropout": [((), {"inputs": X, "rate": 0.5}),
                ((), {"inputs": X, "rate": 0.25, "noise_shape": (None, 1)})],
}


def _call(module, name, shape, kwargs, seed):
    fn = getattr(module, name)
    if shape == ():
        return fn(**kwargs, seed=seed)
    return fn(shape, **kwargs, seed=seed)


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("seed", [0, 1234])
def test_int_seed_draws_equal_keras(name, seed):
    for shape, kwargs in CALLS[name]:
        mine = _call(grandom, name, shape, kwargs, seed)
        theirs = _call(k3.random, name, shape, kwargs, seed)
        assert mine.shape == theirs.shape and str(mine.dtype) == str(theirs.dtype)
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))
        again = _call(grandom, name, shape, kwargs, seed)
        np.testing.assert_array_equal(np.asarray(mine), np.asarray(again))


@pytest.mark.parametrize("name", sorted(CALLS))
def test_seed_generator_draws_advance_and_repeat(name):
    shape, kwargs = CALLS[name][0]
    gen_a, gen_b = grandom.SeedGenerator(5), grandom.SeedGenerator(5)
    first = _call(grandom, name, shape, kwargs, gen_a)
    second = _call(grandom, name, shape, kwargs, gen_a)
    np.testing.assert_array_equal(first, _call(grandom, name, shape, kwargs, gen_b))
    np.testing.assert_array_equal(second, _call(grandom, name, shape, kwargs, gen_b))
    assert not np.array_equal(first, second)


def test_global_stream_repeats_after_set_random_seed():
    grandom.set_random_seed(11)
    a = [grandom.normal((4,)), grandom.uniform((3,))]
    grandom.set_random_seed(11)
    b = [grandom.normal((4,)), grandom.uniform((3,))]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(grandom.normal((4,)), a[0])


@pytest.mark.slow
def test_moments_and_ranges():
    gen = grandom.SeedGenerator(3)
    n = grandom.normal((20000,), mean=1.0, stddev=2.0, seed=gen)
    assert abs(float(n.mean()) - 1.0) < 0.05 and abs(float(n.std()) - 2.0) < 0.05
    u = grandom.uniform((20000,), minval=-1.0, maxval=3.0, seed=gen)
    assert float(u.min()) >= -1.0 and float(u.max()) < 3.0 and abs(float(u.mean()) - 1.0) < 0.05
    t = grandom.truncated_normal((20000,), mean=0.5, stddev=1.0, seed=gen)
    assert float(t.min()) >= -1.5 and float(t.max()) <= 2.5
    r = grandom.randint((20000,), 2, 7, seed=gen)
    assert set(np.unique(r)) == {2, 3, 4, 5, 6} and r.dtype == np.int32
    g = grandom.gamma((20000,), alpha=3.0, seed=gen)
    assert abs(float(g.mean()) - 3.0) < 0.1 and float(g.min()) > 0
    b = grandom.beta((20000,), alpha=2.0, beta=6.0, seed=gen)
    assert abs(float(b.mean()) - 0.25) < 0.01 and 0 <= float(b.min()) and float(b.max()) <= 1
    k = grandom.binomial((20000,), counts=8, probabilities=0.25, seed=gen)
    assert abs(float(k.mean()) - 2.0) < 0.05 and float(k.max()) <= 8
    c = grandom.categorical(np.log(np.array([[0.1, 0.6, 0.3]], "float32")), 20000, seed=gen)
    freq = np.bincount(np.asarray(c)[0], minlength=3) / 20000
    np.testing.assert_allclose(freq, [0.1, 0.6, 0.3], atol=0.02)
    d = grandom.dropout(np.ones((200, 100), "float32"), rate=0.3, seed=gen)
    np.testing.assert_allclose(np.unique(np.asarray(d)), [0.0, 1 / 0.7], rtol=1e-6)
    assert abs(float((d == 0).mean()) - 0.3) < 0.02
    s = grandom.shuffle(np.arange(50), seed=gen)
    assert sorted(np.asarray(s).tolist()) == list(range(50))


def test_dropout_edge_rates_and_noise_shape():
    np.testing.assert_array_equal(grandom.dropout(X, 0.0, seed=1), X)
    np.testing.assert_array_equal(grandom.dropout(X, 1.0, seed=1), np.zeros_like(X))
    d = np.asarray(grandom.dropout(np.ones((8, 5), "float32"), 0.5, noise_shape=(None, 1),
                                   seed=2))
    assert all(len(set(row)) == 1 for row in d)          # whole rows kept or dropped


def test_draws_work_under_jit_with_a_seed_generator_state():
    gen = grandom.SeedGenerator(0)
    key = gen.next()
    out = jax.jit(lambda k: grandom.normal((3,), seed=k))(key)
    assert out.shape == (3,)


def test_seed_and_dtype_errors():
    with pytest.raises(ValueError, match="seed"):
        grandom.normal((2,), seed="abc")
    with pytest.raises(ValueError, match="float"):
        grandom.normal((2,), dtype="int32")
    with pytest.raises(ValueError, match="integer"):
        grandom.randint((2,), 0, 3, dtype="float32")
    with pytest.raises(ValueError, match="rate"):
        grandom.dropout(X, 1.5)
    with pytest.raises(ValueError, match="2-D"):
        grandom.categorical(np.zeros(3), 2)
    with pytest.raises(TypeError, match="int"):
        grandom.set_random_seed(1.5)


def test_keras_random_names_all_present():
    names = [n for n in dir(k3.random) if not n.startswith("_")]
    assert [n for n in names if not hasattr(grandom, n)] == []
