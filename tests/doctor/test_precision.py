"""Doctor precision: a healthy run whose loss starts high gets no finding; binary
cross-entropy on labels outside [0, 1] is refused before training."""
import warnings

import numpy as np
import pytest

import gazelle as keras
from gazelle.doctor import DoctorWarning


def _binary_task(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 20)).astype("float32")
    w = rng.standard_normal(20)
    y = ((x @ w + rng.standard_normal(n) * 2.0) > 0).astype("float32")
    return x, y


def test_a_loss_that_starts_high_and_falls_is_not_called_not_learning():
    # The issue's false alarm: wide initial weights make epoch 1's mean loss (about 1.4)
    # sit above ln 2 while the loss falls through the epoch and validation improves.
    x, y = _binary_task()
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((20,)),
        keras.layers.Dense(16, activation="relu",
                           kernel_initializer=keras.initializers.RandomNormal(stddev=1.0)),
        keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, epochs=4, batch_size=32, validation_split=0.1, verbose=0)
    assert history.history["loss"][0] > np.log(2)          # the trap is really there
    assert history.history["loss"][-1] < history.history["loss"][0]
    doctor = [str(w.message) for w in caught if issubclass(w.category, DoctorWarning)]
    assert not [m for m in doctor if m.startswith("not_learning")], doctor


@pytest.mark.parametrize("labels", [np.arange(10), np.array([-1.0, 1.0])])
def test_binary_crossentropy_refuses_targets_outside_zero_one(labels):
    x, _ = _binary_task(200)
    y = np.resize(labels, 200).astype("float32")
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    with pytest.raises(ValueError, match=r"expects targets in \[0, 1\]"):
        model.fit(x, y, epochs=1, verbose=0)


def test_binary_crossentropy_accepts_soft_labels():
    x, y = _binary_task(200)
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(x, 0.1 + 0.8 * y, epochs=1, verbose=0)


def test_warning_names_its_code_once_and_points_at_the_users_fit_line():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (256, 8)).astype("float32")     # unscaled: a sure finding
    y = rng.integers(0, 2, 256).astype("float32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, epochs=1, verbose=0)
    doctor = [w for w in caught if issubclass(w.category, DoctorWarning)]
    assert doctor
    for w in doctor:
        code, _, rest = str(w.message).partition(": ")
        assert not rest.lower().startswith(code.replace("_", " ") + ":"), str(w.message)
        assert w.filename == __file__


def test_message_text_drops_a_repeated_code():
    from gazelle.training.diagnostics import Finding, message_text
    finding = Finding("underfitting", "warning", "Underfitting: the loss barely moved.", {})
    assert message_text(finding) == "underfitting: the loss barely moved."
    other = Finding("not_learning", "warning", "The network is not learning.", {})
    assert message_text(other) == "not_learning: The network is not learning."


@pytest.mark.parametrize("first", [
    [keras.layers.Rescaling(1 / 255)],
    [keras.layers.RandomFlip("horizontal"), keras.layers.Rescaling(1 / 255)],
    [keras.Sequential([keras.layers.RandomFlip("horizontal")]), keras.layers.Rescaling(1 / 255)],
])
def test_raw_pixels_into_a_rescaling_model_are_not_flagged(first):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (128, 8, 8, 1)).astype("uint8")
    y = rng.integers(0, 2, 128)
    model = keras.Sequential([keras.Input((8, 8, 1))] + first + [
        keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, epochs=1, verbose=0)
    codes = [str(w.message).split(":")[0] for w in caught if issubclass(w.category, DoctorWarning)]
    assert "unscaled_input" not in codes


def test_raw_pixels_without_rescaling_are_still_flagged():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (128, 8, 8, 1)).astype("uint8")
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, rng.integers(0, 2, 128), epochs=1, verbose=0)
    codes = [str(w.message).split(":")[0] for w in caught if issubclass(w.category, DoctorWarning)]
    assert "unscaled_input" in codes


def test_integer_ids_into_an_embedding_are_not_flagged():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 1000, (128, 12))
    model = keras.Sequential([keras.Input((12,), dtype="int32"), keras.layers.Embedding(1000, 4),
                              keras.layers.GlobalAveragePooling1D(),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, rng.integers(0, 2, 128), epochs=1, verbose=0)
    codes = [str(w.message).split(":")[0] for w in caught if issubclass(w.category, DoctorWarning)]
    assert "unscaled_input" not in codes


def test_ids_into_a_custom_embedding_layer_are_not_flagged():
    # The Keras Transformer example: a user's TokenAndPositionEmbedding wraps Embedding.
    class TokenEmbedding(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.emb = keras.layers.Embedding(1000, 8)

        def call(self, x):
            return self.emb(x)

    rng = np.random.default_rng(0)
    x = rng.integers(0, 1000, (256, 10)).astype("int32")
    y = rng.integers(0, 2, 256).astype("float32")
    model = keras.Sequential([keras.Input((10,), dtype="int32"), TokenEmbedding(),
                              keras.layers.GlobalAveragePooling1D(),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, epochs=1, verbose=0)
    assert not [w for w in caught if issubclass(w.category, DoctorWarning)
                and str(w.message).startswith("unscaled_input")]


def test_next_character_targets_are_not_called_imbalanced():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 20, (256, 12)).astype("int32")
    y = np.where(rng.random((256, 12)) < 0.9, 0, rng.integers(1, 20, (256, 12))).astype("int32")
    model = keras.Sequential([keras.Input((12,), dtype="int32"), keras.layers.Embedding(20, 8),
                              keras.layers.Dense(20, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, epochs=1, verbose=0)
    assert not [w for w in caught if issubclass(w.category, DoctorWarning)
                and str(w.message).startswith("class_imbalance")]


def test_the_depth_probe_runs_once_per_compiled_model(monkeypatch):
    from gazelle.training import diagnostics
    calls = []
    real = diagnostics.gradient_norms
    monkeypatch.setattr(diagnostics, "gradient_norms",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2048, 20)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")                      # learned within the first fit
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((20,))] + [keras.layers.Dense(16, activation="relu")
                                                     for _ in range(6)]
                             + [keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy")
    losses = [model.fit(x, y, epochs=1, verbose=0).history["loss"][0] for _ in range(3)]
    assert losses[-1] < 0.2                                  # healthy: no stall probes
    assert len(calls) == 1
