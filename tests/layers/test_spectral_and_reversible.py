"""SpectralNormalization and ReversibleEmbedding: Keras 3 as oracle (weights, training-time
updates, reverse logits), Functional models, `.keras` files both ways, errors."""
import jax
import keras as k3
import numpy as np
import pytest

import gazelle as keras
from gazelle import layers


def _random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def _share(ours, theirs, seed=1):
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    weights = [_random(w.shape, seed + i) for i, w in enumerate(ours.get_weights())]
    ours.set_weights(weights)
    theirs.set_weights(weights)


@pytest.mark.parametrize("make, shape, iterations", [
    (lambda lib: lib.layers.Dense(3), (4, 5), 1),
    (lambda lib: lib.layers.Conv2D(2, 2), (2, 4, 4, 3), 3),
    (lambda lib: lib.layers.Embedding(6, 3), (2, 4), 1),
])
def test_spectral_normalization_matches_keras(make, shape, iterations):
    ids = len(shape) == 2 and shape[1] == 4
    x = (np.arange(8).reshape(shape) % 6).astype("int32") if ids else _random(shape)
    ours = layers.SpectralNormalization(make(keras), power_iterations=iterations)
    theirs = k3.layers.SpectralNormalization(make(k3), power_iterations=iterations)
    ours(x)
    theirs(x)
    _share(ours, theirs)
    got, want = ours(x, training=True), theirs(x, training=True)
    if ids:     # Keras 3 casts the vectors to the ids' dtype (int32); gazelle keeps floats
        np.testing.assert_array_equal(np.asarray(want), np.asarray(got).astype("int32"))
    else:
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5,
                                   atol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):   # kernel / sigma, vector_u
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert set(ours.get_config()) == set(theirs.get_config())


def test_spectral_normalization_bounds_the_spectral_norm_and_trains():
    layer = layers.SpectralNormalization(layers.Dense(4), power_iterations=5)
    x = _random((8, 6))
    layer(x)
    layer.layer.kernel.assign(_random((6, 4), 3) * 10)
    for _ in range(3):
        layer(x, training=True)
    sigma = np.linalg.svd(np.asarray(layer.layer.kernel.value), compute_uv=False)[0]
    assert sigma == pytest.approx(1.0, rel=1e-2)
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 1
    model = keras.Sequential([keras.Input((6,)), layers.SpectralNormalization(layers.Dense(8)),
                              layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    history = model.fit(x, _random((8, 1), 4), epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_reversible_embedding_matches_keras():
    ids = np.array([[1, 2, 3], [4, 0, 9]])
    for kwargs in ({}, {"tie_weights": False, "logit_soft_cap": 2.0}):
        ours = layers.ReversibleEmbedding(10, 4, **kwargs)
        theirs = k3.layers.ReversibleEmbedding(10, 4, **kwargs)
        ours(ids)
        theirs(ids)
        _share(ours, theirs)
        vectors = ours(ids)
        np.testing.assert_allclose(np.asarray(vectors), np.asarray(theirs(ids)), rtol=1e-6)
        np.testing.assert_allclose(np.asarray(ours(vectors, reverse=True)),
                                   np.asarray(theirs(np.asarray(vectors), reverse=True)),
                                   rtol=1e-5, atol=1e-5)
        assert set(ours.get_config()) == set(theirs.get_config())
    tied = layers.ReversibleEmbedding(10, 4)
    vectors = tied(ids)
    np.testing.assert_allclose(np.asarray(tied(vectors, reverse=True)),
                               np.asarray(vectors) @ np.asarray(tied.embeddings.value).T,
                               rtol=1e-5, atol=1e-6)


def _language_model(lib, layer_cls):
    ids = lib.Input((5,), dtype="int32")
    embedding = layer_cls(12, 6, name="tokens")
    hidden = lib.layers.Dense(6, activation="tanh")(embedding(ids))
    return lib.Model(ids, embedding(hidden, reverse=True))


def test_reversible_embedding_in_models_and_files(tmp_path):
    ours = _language_model(keras, layers.ReversibleEmbedding)
    assert ours.output.shape == (None, 5, 12)
    ids = np.arange(10).reshape(2, 5) % 12
    expected = ours.predict(ids, verbose=0)
    tv = [v.value for v in ours.trainable_variables]
    jitted = jax.jit(lambda t, x: ours.stateless_call(t, [], x)[0])(tv, ids)
    np.testing.assert_allclose(np.asarray(jitted), expected, rtol=1e-5, atol=1e-6)
    ours.save(tmp_path / "g.keras")
    theirs = k3.saving.load_model(tmp_path / "g.keras")
    np.testing.assert_allclose(theirs.predict(ids, verbose=0), expected, rtol=1e-5, atol=1e-6)
    theirs.save(tmp_path / "k.keras")
    back = keras.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(back.predict(ids, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_spectral_normalization_files_cross_over(tmp_path):
    def build(lib):
        return lib.Sequential([lib.Input((6,)),
                               lib.layers.SpectralNormalization(lib.layers.Dense(4)),
                               lib.layers.Dense(2)])

    x = _random((3, 6))
    ours = build(keras)
    expected = ours.predict(x, verbose=0)
    ours.save(tmp_path / "g.keras")
    theirs = k3.saving.load_model(tmp_path / "g.keras")
    np.testing.assert_allclose(theirs.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    theirs.save(tmp_path / "k.keras")
    back = keras.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(back.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_errors():
    with pytest.raises(ValueError, match="power_iterations"):
        layers.SpectralNormalization(layers.Dense(2), power_iterations=0)
    with pytest.raises(ValueError, match="Layer instance"):
        layers.SpectralNormalization("dense")
    with pytest.raises(ValueError, match="kernel' nor 'embeddings'"):
        layers.SpectralNormalization(layers.Flatten())(_random((2, 3)))
    layer = layers.ReversibleEmbedding(10, 4, name="rev")
    with pytest.raises(ValueError, match="rev.*output_dim=4"):
        layer(_random((2, 3)), reverse=True)
    with pytest.raises(NotImplementedError, match="quantization_config"):
        layers.ReversibleEmbedding(10, 4, quantization_config={"mode": "int8"})


def test_embedding_inside_a_model_keeps_input_dim_in_its_saved_config(tmp_path):
    model = keras.Sequential([keras.Input((3,), dtype="int32"), layers.Embedding(10, 4)])
    model.save(tmp_path / "e.keras")
    loaded = keras.models.load_model(tmp_path / "e.keras")
    assert loaded.layers[0].input_dim == 10
    ids = np.array([[1, 2, 9]])
    np.testing.assert_array_equal(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0))
