"""HashedCrossing: the same bins as Keras 3 (whose layer needs TensorFlow; the differential
test runs where TensorFlow is installed, e.g. `pip install '.[interop]'`), Keras's documented
example everywhere, shapes, one_hot, errors and config round trips."""
import numpy as np
import pytest

import gazelle as keras


def _cases():
    rng = np.random.default_rng(0)
    words = np.array(["a", "bb", "ccc", "ünï", "", "x" * 40, "longer string " * 5])
    return [
        (rng.choice(words, 50), rng.integers(-2**40, 2**40, 50)),
        (rng.integers(0, 100, (20, 1)), rng.choice(words, (20, 1)), rng.integers(-5, 5, (20, 1))),
        (np.array("a"), np.array(7)),
    ]


def test_keras_documented_example():
    # keras.layers.HashedCrossing's docstring: these features in 5 bins give [1, 4, 1, 1, 3].
    layer = keras.layers.HashedCrossing(num_bins=5)
    out = layer((np.array(["A", "B", "A", "B", "A"]), np.array([101, 101, 101, 102, 102])))
    np.testing.assert_array_equal(out, [1, 4, 1, 1, 3])
    assert out.dtype == np.int64


@pytest.mark.parametrize("num_bins", [1, 5, 97, 2**20])
@pytest.mark.parametrize("output_mode", ["int", "one_hot"])
def test_matches_keras_with_tensorflow(num_bins, output_mode):
    pytest.importorskip("tensorflow")
    import keras as k3
    if output_mode == "one_hot" and num_bins > 100:
        pytest.skip("one_hot over a million bins is just memory")
    for features in _cases():
        theirs = np.asarray(k3.layers.HashedCrossing(num_bins, output_mode=output_mode)(features))
        ours = keras.layers.HashedCrossing(num_bins, output_mode=output_mode)(features)
        assert ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)


def test_shapes_and_one_hot():
    a, b = np.array([["x"], ["y"], ["x"]]), np.array([[1], [2], [1]])
    ids = keras.layers.HashedCrossing(7)((a, b))
    assert ids.shape == (3, 1) and ids[0, 0] == ids[2, 0]
    assert ((0 <= ids) & (ids < 7)).all()
    hot = keras.layers.HashedCrossing(7, output_mode="one_hot")((a, b))
    assert hot.shape == (3, 7) and hot.dtype == np.float32
    np.testing.assert_array_equal(hot.argmax(-1), ids[:, 0])
    layer = keras.layers.HashedCrossing(7, output_mode="one_hot")
    assert layer.compute_output_shape([(None, 1), (None, 1)]) == (None, 7)
    assert keras.layers.HashedCrossing(7).compute_output_shape([(None,), (None,)]) == (None,)
    # Three features cross too, and order matters.
    c = np.array([[5], [5], [5]])
    assert not np.array_equal(keras.layers.HashedCrossing(2**20)((a, b, c)),
                              keras.layers.HashedCrossing(2**20)((c, b, a)))


@pytest.mark.parametrize("call, match", [
    (lambda l: l(np.array(["a", "b"])), "list or tuple"),
    (lambda l: l((np.array(["a", "b"]),)), "at least two"),
    (lambda l: l((np.array(["a", "b"]), np.array([1, 2, 3]))), "same shape"),
    (lambda l: l((np.ones((2, 2), int), np.ones((2, 2), int))), r"\(batch_size, 1\)"),
    (lambda l: l((np.array([1.5, 2.5]), np.array([1, 2]))), "integers or strings"),
])
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call(keras.layers.HashedCrossing(5))


@pytest.mark.parametrize("kwargs, match", [
    ({"num_bins": 0}, "num_bins"), ({"num_bins": 3, "output_mode": "multi_hot"}, "output_mode"),
    ({"num_bins": 3, "sparse": True}, "sparse"),
])
def test_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras.layers.HashedCrossing(**kwargs)


def test_config_round_trip():
    layer = keras.layers.HashedCrossing(11, output_mode="one_hot", name="cross")
    config = keras.layers.serialize(layer)
    again = keras.layers.deserialize(config)
    assert again.get_config() == layer.get_config()
    features = (np.array(["a", "b"]), np.array([3, 4]))
    np.testing.assert_array_equal(again(features), layer(features))
