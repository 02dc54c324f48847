"""The activations Keras 3 added beyond the classic set, against keras.activations."""
import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle import activations

RNG = np.random.default_rng(1)
SHAPES = [(7,), (4, 6), (2, 3, 8)]
# Values near the kinks (-1, +-0.5, 0, 1) and large magnitudes, besides random ones.
EDGES = np.array([-1000.0, -50.0, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 50.0, 1000.0],
                 "float32")

def _sparsemax_reference(x, axis):
    # Martins & Astudillo (2016), Algorithm 1, row by row in float64.
    x = np.moveaxis(np.asarray(x, "float64"), axis, -1)
    out = np.empty_like(x)
    for idx in np.ndindex(x.shape[:-1]):
        z = np.sort(x[idx])[::-1]
        cums = np.cumsum(z)
        k = np.arange(1, z.size + 1)
        size = k[1 + k * z > cums].max()
        out[idx] = np.maximum(x[idx] - (cums[size - 1] - 1) / size, 0.0)
    return np.moveaxis(out, -1, axis)


UNARY = ["celu", "hard_shrink", "hard_tanh", "log_sigmoid", "soft_shrink", "sparse_plus",
         "sparse_sigmoid", "squareplus", "tanh_shrink"]
AXIS = ["glu", "sparsemax"]
AXIS_CASES = [((8,), -1), ((4, 6), -1), ((4, 6), 0), ((2, 4, 6), 1), ((2, 4, 6), -1),
              ((2, 4, 6), 0)]


def _close(ours, theirs, rtol=1e-5, atol=1e-6):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", UNARY)
def test_unary_matches_keras(name, shape):
    x = RNG.normal(scale=2.0, size=shape).astype("float32")
    _close(getattr(activations, name)(x), getattr(k3.activations, name)(x))


@pytest.mark.parametrize("name", UNARY)
def test_unary_matches_keras_at_kinks_and_extremes(name):
    ours = getattr(activations, name)(EDGES)
    _close(ours, getattr(k3.activations, name)(EDGES))
    assert np.isfinite(np.asarray(ours)).all()


@pytest.mark.parametrize("name, kwargs", [
    ("celu", {"alpha": 0.3}), ("celu", {"alpha": 2.0}),
    ("hard_shrink", {"threshold": 1.2}), ("soft_shrink", {"threshold": 0.1}),
    ("squareplus", {"b": 0}), ("squareplus", {"b": 9.0}),
])
def test_keyword_options_match_keras(name, kwargs):
    x = RNG.normal(scale=2.0, size=(5, 6)).astype("float32")
    _close(getattr(activations, name)(x, **kwargs), getattr(k3.activations, name)(x, **kwargs))


@pytest.mark.parametrize("thr, default", [(0.0, 0.0), (0.5, -3.0), (-1.0, 7.5)])
def test_threshold_matches_keras(thr, default):
    x = RNG.normal(scale=2.0, size=(3, 7)).astype("float32")
    _close(activations.threshold(x, thr, default), k3.activations.threshold(x, thr, default))
    _close(activations.threshold(x, threshold=thr, default_value=default),
           k3.activations.threshold(x, threshold=thr, default_value=default))


@pytest.mark.parametrize("shape, axis", AXIS_CASES)
def test_glu_matches_keras(shape, axis):
    x = RNG.normal(scale=2.0, size=shape).astype("float32")
    _close(activations.glu(x, axis=axis), k3.activations.glu(x, axis=axis))


@pytest.mark.sweep
@pytest.mark.parametrize("shape, axis", AXIS_CASES)
def test_sparsemax_matches_keras_where_the_support_is_one_entry(shape, axis):
    # One logit far above the rest along `axis`: a support of size one, where Keras 3.15's
    # threshold (keras-team/keras#23425) and the correct one agree.
    x = RNG.normal(size=shape).astype("float32")
    x = x + 10.0 * (np.arange(shape[axis]) == shape[axis] // 2).reshape(
        [-1 if a == axis % len(shape) else 1 for a in range(len(shape))])
    _close(activations.sparsemax(x, axis=axis), k3.activations.sparsemax(x, axis=axis))


@pytest.mark.parametrize("shape, axis", AXIS_CASES)
def test_sparsemax_matches_the_simplex_projection(shape, axis):
    # Keras 3.15 is wrong once two or more entries are in the support (#23425, fixed
    # upstream by #23469); gazelle follows the algorithm, checked here in float64.
    x = RNG.normal(scale=0.5, size=shape).astype("float32")
    p = np.asarray(activations.sparsemax(x, axis=axis))
    np.testing.assert_allclose(p, _sparsemax_reference(x, axis), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p.sum(axis), 1.0, rtol=1e-5)
    assert (p >= 0).all()


def test_sparsemax_known_values():
    np.testing.assert_allclose(np.asarray(activations.sparsemax([[0.0, 0.5, 1.0]])),
                               [[0.0, 0.25, 0.75]], atol=1e-6)
    np.testing.assert_allclose(np.asarray(activations.sparsemax([0.1, 0.2, 0.3, 0.4, 0.5])),
                               [0.0, 0.1, 0.2, 0.3, 0.4], atol=1e-6)


def test_sparsemax_is_a_sparse_distribution():
    x = RNG.normal(scale=3.0, size=(6, 10)).astype("float32")
    p = np.asarray(activations.sparsemax(x))
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-5)
    assert (p >= 0).all() and (p == 0).any()


def test_glu_rejects_odd_axis():
    with pytest.raises(ValueError, match="even"):
        activations.glu(np.ones((2, 5), "float32"))


def test_python_lists_and_ints_become_floats_like_keras():
    for name in UNARY:
        _close(getattr(activations, name)([-2, 0, 3]), getattr(k3.activations, name)([-2.0, 0.0, 3.0]))


@pytest.mark.parametrize("name", UNARY + AXIS + ["threshold"])
def test_names_resolve_and_serialize_like_keras(name):
    ours = activations.get(name)
    assert ours is getattr(activations, name)
    assert activations.serialize(ours) == k3.activations.serialize(k3.activations.get(name))
    assert activations.deserialize(name) is ours
    assert activations.deserialize({"config": name}) is ours


def test_dense_with_sparsemax_gives_a_distribution_and_round_trips(tmp_path):
    x = RNG.normal(size=(3, 5)).astype("float32")
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(6, activation="sparsemax")])
    assert model.layers[-1].get_config()["activation"] == "sparsemax"
    np.testing.assert_allclose(np.asarray(model(x)).sum(-1), 1.0, rtol=1e-5)
    model.save(tmp_path / "m.keras")
    _close(keras.models.load_model(tmp_path / "m.keras")(x), model(x))


@pytest.mark.parametrize("name", ["celu", "log_sigmoid", "sparse_plus", "squareplus", "glu",
                                  "tanh_shrink"])
def test_dense_with_string_activation_matches_keras_and_round_trips(name, tmp_path):
    x = RNG.normal(size=(3, 5)).astype("float32")
    ours = keras.layers.Dense(4, activation=name)
    theirs = k3.layers.Dense(4, activation=name)
    y = ours(x)
    theirs.build((None, 5))
    theirs.set_weights([np.asarray(w) for w in ours.get_weights()])
    _close(y, theirs(x), atol=1e-5)
    assert ours.get_config()["activation"] == theirs.get_config()["activation"] == name

    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4, activation=name)])
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.layers[-1].activation is getattr(activations, name)
    _close(loaded(x), model(x))


def test_keras3_file_with_new_activations_loads_in_gazelle(tmp_path):
    x = RNG.normal(size=(3, 6)).astype("float32")
    inputs = k3.Input((6,))
    h = k3.layers.Dense(8, activation="celu")(inputs)
    h = k3.layers.Activation("hard_tanh")(h)
    h = k3.layers.Dense(8, activation="squareplus")(h)
    h = k3.layers.Dense(5, activation="log_sigmoid")(h)
    # Keras 3 infers symbolic shapes from Activation's input, which is wrong for glu (it
    # halves an axis), so glu goes last here.
    out = k3.layers.Dense(6, activation="glu")(h)
    theirs = k3.Model(inputs, out)
    theirs.save(tmp_path / "k3.keras")
    ours = keras.models.load_model(tmp_path / "k3.keras")
    _close(ours(x), theirs(x), atol=1e-5)


def test_glu_halves_the_symbolic_shape_in_a_functional_model():
    # gazelle infers shapes by tracing, so a layer after glu sees the halved axis.
    inputs = keras.Input((6,))
    h = keras.layers.Activation("glu")(keras.layers.Dense(8)(inputs))
    assert tuple(h.shape) == (None, 4)
    model = keras.Model(inputs, keras.layers.Dense(3)(h))
    assert model.layers[-1].kernel.shape == (4, 3)
    assert model(RNG.normal(size=(2, 6)).astype("float32")).shape == (2, 3)
