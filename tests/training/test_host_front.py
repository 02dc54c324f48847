"""Models that start with host layers (TextVectorization, StringLookup, Hashing) train on
strings: fit/evaluate/predict run the host layers on the host and the rest compiled, and
give exactly what the same model without its host layers gives on the ids (gazelle-only
plumbing; the layers themselves are checked against Keras 3 in tests/layers)."""
import warnings

import numpy as np
import pytest

import gazelle as keras

TEXTS = np.array(["a good movie", "a bad movie", "great film , great cast", "awful film",
                  "not bad at all", "not good", "the best", "the worst"] * 12)
LABELS = np.array([1, 0, 1, 0, 1, 0, 1, 0] * 12, "float32")


def _vectorizer(length=6):
    tv = keras.layers.TextVectorization(max_tokens=30, output_sequence_length=length)
    tv.adapt(TEXTS)
    return tv


def _tail(seed=0):
    keras.utils.set_random_seed(seed)
    return [keras.layers.Embedding(30, 8, mask_zero=True), keras.layers.LSTM(4),
            keras.layers.Dense(1, activation="sigmoid")]


def _pair():
    """A string-first Sequential and the same layers' weights in an ids-first copy."""
    tv = _vectorizer()
    text_model = keras.Sequential([keras.Input(shape=(), dtype="string"), tv, *_tail()])
    id_model = keras.Sequential([keras.Input(shape=(6,), dtype="int32"), *_tail(1)])
    id_model.set_weights(text_model.get_weights())
    for m in (text_model, id_model):
        m.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return tv, text_model, id_model


def test_fit_on_strings_equals_fit_on_ids():
    tv, text_model, id_model = _pair()
    ids = np.asarray(tv(TEXTS))
    h1 = text_model.fit(TEXTS, LABELS, batch_size=16, epochs=3, shuffle=False, verbose=0,
                        validation_data=(TEXTS[:16], LABELS[:16]))
    h2 = id_model.fit(ids, LABELS, batch_size=16, epochs=3, shuffle=False, verbose=0,
                      validation_data=(ids[:16], LABELS[:16]))
    for key in ("loss", "accuracy", "val_loss"):
        np.testing.assert_allclose(h1.history[key], h2.history[key], rtol=1e-5)
    for a, b in zip(text_model.get_weights(), id_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(text_model.predict(TEXTS, verbose=0),
                               id_model.predict(ids, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(text_model.evaluate(TEXTS, LABELS, verbose=0),
                               id_model.evaluate(ids, LABELS, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(text_model.predict_on_batch(TEXTS[:5]),
                               id_model.predict_on_batch(ids[:5]), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(text_model(TEXTS[:5])),
                               id_model.predict(ids[:5], verbose=0), rtol=1e-5)


def test_second_fit_compiles_nothing_new():
    _, text_model, _ = _pair()
    text_model.fit(TEXTS, LABELS, batch_size=16, epochs=1, verbose=0)
    traces = text_model._trainer.steps.traces
    text_model.fit(TEXTS, LABELS, batch_size=16, epochs=2, verbose=0)
    assert text_model._trainer.steps.traces == traces


def test_functional_string_and_numeric_inputs_by_name_and_from_a_generator():
    tv = _vectorizer()
    text = keras.Input(shape=(1,), dtype="string", name="text")
    extra = keras.Input(shape=(2,), name="extra")
    hidden = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(30, 4)(tv(text)))
    merged = keras.layers.concatenate([hidden, extra])
    model = keras.Model([text, extra], keras.layers.Dense(1, activation="sigmoid")(merged))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    extras = np.random.default_rng(0).standard_normal((len(TEXTS), 2)).astype("float32")
    x = {"text": TEXTS[:, None], "extra": extras}
    model.fit(x, LABELS, batch_size=16, epochs=1, verbose=0)
    by_name = model.predict(x, verbose=0)
    by_position = model.predict([TEXTS[:, None], extras], verbose=0)
    np.testing.assert_allclose(by_name, by_position, rtol=1e-6)

    def batches():
        for i in range(0, len(TEXTS), 16):
            yield {"text": TEXTS[i:i + 16, None], "extra": extras[i:i + 16]}, LABELS[i:i + 16]
    loss_stream = model.evaluate(batches(), verbose=0)
    np.testing.assert_allclose(loss_stream, model.evaluate(x, LABELS, verbose=0), rtol=1e-5)
    model.fit(batches(), epochs=1, verbose=0)


def test_string_lookup_front_and_validation_split():
    colours = np.array(["red", "green", "blue", "green"] * 20)
    lookup = keras.layers.StringLookup(vocabulary=["red", "green", "blue"])
    model = keras.Sequential([keras.Input(shape=(), dtype="string"), lookup,
                              keras.layers.Embedding(4, 3), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    y = (colours == "green").astype("float32")
    history = model.fit(colours, y, validation_split=0.25, epochs=2, verbose=0)
    assert len(history.history["val_loss"]) == 2
    assert model.predict(np.array(["green", "purple"]), verbose=0).shape == (2, 1)


def test_saved_string_model_predicts_the_same(tmp_path):
    _, text_model, _ = _pair()
    text_model.fit(TEXTS, LABELS, batch_size=16, epochs=1, verbose=0)
    path = str(tmp_path / "text.keras")
    text_model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.layers[0].get_vocabulary() == text_model.layers[0].get_vocabulary()
    np.testing.assert_allclose(loaded.predict(TEXTS[:8], verbose=0),
                               text_model.predict(TEXTS[:8], verbose=0), rtol=1e-6)


def test_string_input_to_a_model_without_host_layers_is_a_clear_error():
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match="TextVectorization"):
        model.fit(np.array([["a", "b", "c"]] * 4), np.zeros(4), verbose=0)


class _Subclassed(keras.Model):
    def __init__(self, tv):
        super().__init__()
        self.tv = tv
        self.embed = keras.layers.Embedding(30, 4)
        self.out = keras.layers.Dense(1)

    def call(self, x):
        return self.out(keras.ops.mean(self.embed(self.tv(x)), axis=1))


def test_host_layer_inside_a_subclassed_call_says_to_apply_it_first():
    model = _Subclassed(_vectorizer())
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match="text_vectorization.*runs on the host.*Apply it"):
        model.fit(TEXTS, LABELS, verbose=0)


def test_the_doctor_sees_ids_not_unscaled_inputs():
    tv = keras.layers.TextVectorization(max_tokens=5000, output_sequence_length=6)
    tv.adapt(np.array([f"w{i} w{i + 1}" for i in range(4000)]))
    texts = np.array([f"w{i} w{(i * 7) % 4000}" for i in range(256)])
    model = keras.Sequential([keras.Input(shape=(), dtype="string"), tv,
                              keras.layers.Embedding(5000, 4),
                              keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model.fit(texts, np.zeros(256, "float32"), epochs=0, verbose=0, doctor=True)
    assert not [w for w in record if "unscaled" in str(w.message).lower()]


def test_the_doctor_reads_the_raw_texts_of_a_string_first_model():
    tv = keras.layers.TextVectorization(max_tokens=50, output_sequence_length=3)
    tv.adapt(np.array(["a b c"] * 10))
    long_texts = np.array([" ".join(f"w{i}" for i in range(12))] * 64)
    model = keras.Sequential([keras.Input(shape=(), dtype="string"), tv,
                              keras.layers.Embedding(50, 4, mask_zero=True),
                              keras.layers.LSTM(2), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model.fit(long_texts, np.zeros(64, "float32"), epochs=0, verbose=0, doctor=True)
    messages = " ".join(str(w.message) for w in record)
    assert "mostly_oov" in messages and "truncated_sequences" in messages
    assert "w0" in messages          # measured on the strings: it names unknown tokens
