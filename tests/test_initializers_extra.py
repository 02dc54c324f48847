"""STFT, the public alias names and array identifiers of gazelle.initializers, vs Keras 3."""
import inspect

import jax.numpy as jnp
import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle import initializers

WINDOWS = ["hann", "hamming", "blackman", "bartlett", "boxcar", None]
SHAPES = [(25, 1, 33), (1, 1, 2)]


def _same(ours, theirs, atol=1e-6):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=atol)


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("side", ["real", "imag"])
def test_stft_values_equal_keras(window, side):
    for scaling in ("density", "spectrum", None):
        for periodic in (False, True):
            for shape in SHAPES:
                _same(initializers.STFT(side, window, scaling, periodic)(shape),
                      k3.initializers.STFT(side, window, scaling, periodic)(shape))


def test_stft_default_and_large_frame_equal_keras():
    _same(initializers.STFT()((128, 1, 65)), k3.initializers.STFT()((128, 1, 65)))
    _same(initializers.STFT("imag", periodic=True)((400, 1, 257)),
          k3.initializers.STFT("imag", periodic=True)((400, 1, 257)), atol=1e-5)


def test_stft_array_window_equals_keras_and_serializes_as_a_list():
    win = np.random.default_rng(0).uniform(size=12).astype("float32")
    _same(initializers.STFT("imag", win, "spectrum")((12, 1, 7)),
          k3.initializers.STFT("imag", win, "spectrum")((12, 1, 7)))
    config = initializers.STFT(window=win).get_config()
    assert isinstance(config["window"], list)
    _same(initializers.STFT.from_config(config)((12, 1, 7)),
          k3.initializers.STFT(window=win)((12, 1, 7)))


def test_stft_other_scipy_window_equals_keras():
    pytest.importorskip("scipy")
    _same(initializers.STFT(window="triang")((20, 1, 11)),
          k3.initializers.STFT(window="triang")((20, 1, 11)))


def test_stft_config_and_names_like_keras():
    for args in [(), ("imag", "hamming", None, True), ("real", None, "spectrum", False)]:
        ours, theirs = initializers.STFT(*args), k3.initializers.STFT(*args)
        assert initializers.serialize(ours) == k3.initializers.serialize(theirs)
        again = initializers.deserialize(initializers.serialize(ours))
        assert type(again) is initializers.STFT and again.get_config() == ours.get_config()
        # Keras reads gazelle's config back.
        back = k3.initializers.deserialize(initializers.serialize(ours))
        _same(back((8, 1, 5)), ours((8, 1, 5)))
    for name in ("STFT", "stft", "STFTInitializer"):
        assert type(initializers.get(name)) is initializers.STFT
        assert type(k3.initializers.get(name)).__name__ == "STFT"


def test_stft_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="side"):
        initializers.STFT(side="both")
    with pytest.raises(ValueError, match="scaling"):
        initializers.STFT(scaling="l2")
    with pytest.raises(ValueError, match="window"):
        initializers.STFT(window="no_such_window")
    with pytest.raises(ValueError, match="frame_length"):
        initializers.STFT(window=np.ones(5))((8, 1, 5))
    with pytest.raises(ValueError, match="shape"):
        initializers.STFT()((8, 5))


def test_stft_kernel_in_conv1d_matches_keras_and_round_trips(tmp_path):
    x = np.random.default_rng(1).normal(size=(2, 64, 1)).astype("float32")
    ours = keras.Sequential([keras.Input((64, 1)), keras.layers.Conv1D(
        17, 32, strides=8, use_bias=False, kernel_initializer=initializers.STFT("imag"))])
    theirs = k3.Sequential([k3.Input((64, 1)), k3.layers.Conv1D(
        17, 32, strides=8, use_bias=False, kernel_initializer=k3.initializers.STFT("imag"))])
    _same(ours.layers[0].kernel, theirs.layers[0].kernel)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)
    assert (ours.layers[0].get_config()["kernel_initializer"]
            == theirs.layers[0].get_config()["kernel_initializer"])
    ours.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.layers[0].kernel_initializer, initializers.STFT)
    _same(loaded(x), ours(x))


KERAS_NAMES = sorted(n for n, v in vars(k3.initializers).items()
                     if inspect.isclass(v) and not n.startswith("_"))


@pytest.mark.parametrize("name", KERAS_NAMES)
def test_every_keras_class_name_exists_and_is_the_same_class(name):
    ours = getattr(initializers, name)
    assert inspect.isclass(ours) and issubclass(ours, initializers.Initializer)
    assert ours.__name__ == getattr(k3.initializers, name).__name__
    assert getattr(initializers, ours.__name__) is ours


RANDOM_ALIASES = ["glorot_normal", "glorot_uniform", "he_normal", "he_uniform",
                  "lecun_normal", "lecun_uniform", "random_normal", "random_uniform",
                  "truncated_normal", "variance_scaling", "orthogonal"]
SHAPE = (300, 400)


@pytest.mark.parametrize("name", RANDOM_ALIASES)
def test_random_aliases_draw_float32_like_keras_and_seeds_repeat(name):
    ours = getattr(initializers, name)(seed=5)
    theirs = getattr(k3.initializers, name)(seed=5)
    a = np.asarray(ours(SHAPE))
    assert a.dtype == np.float32 and a.shape == SHAPE
    np.testing.assert_array_equal(np.asarray(ours(SHAPE)), a)        # a seed repeats
    assert not np.array_equal(np.asarray(getattr(initializers, name)(seed=6)(SHAPE)), a)
    b = np.asarray(theirs(SHAPE))
    # Same distribution as Keras's draw (a different stream): mean, std and bounds.
    assert abs(a.mean() - b.mean()) < 0.02 * b.std() + 1e-3
    assert abs(a.std() / b.std() - 1) < 0.02
    assert np.abs(a).max() <= np.abs(b).max() * 1.15 + 1e-6
    if name in ("glorot_uniform", "he_uniform", "lecun_uniform", "random_uniform"):
        assert a.min() >= b.min() - 0.01 * b.std() and a.max() <= b.max() + 0.01 * b.std()
    assert ours.get_config() == theirs.get_config()


@pytest.mark.parametrize("name, args", [("zeros", ()), ("ones", ()), ("constant", (2.5,)),
                                        ("identity", ()), ("identity", (3.0,))])
def test_deterministic_aliases_equal_keras(name, args):
    for shape in [(3, 3), (4, 6)]:
        _same(getattr(initializers, name)(*args)(shape),
              getattr(k3.initializers, name)(*args)(shape))


def test_dense_takes_alias_instances_and_names_like_keras():
    for init, k_init in [(initializers.he_uniform(seed=1), k3.initializers.he_uniform(seed=1)),
                         ("lecun_normal", "lecun_normal"), ("orthogonal", "orthogonal")]:
        ours = keras.layers.Dense(3, kernel_initializer=init)
        theirs = k3.layers.Dense(3, kernel_initializer=k_init)
        assert (ours.get_config()["kernel_initializer"]
                == theirs.get_config()["kernel_initializer"])


def test_get_accepts_an_array_like_keras():
    values = np.arange(6, dtype="float32").reshape(2, 3)
    ours, theirs = initializers.get(values), k3.initializers.get(values)
    _same(ours((2, 3)), theirs((2, 3)))
    assert np.asarray(ours((2, 3), dtype="float16")).dtype == np.float16
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        ours((3, 2))
    _same(initializers.get(jnp.ones((4,)))((4,)), k3.initializers.get(np.ones(4, "float32"))((4,)))
