"""Errors for common beginner mistakes say what to do (issue 16): each message carries
its fix."""
import numpy as np
import pytest

import gazelle as keras
from gazelle.utils.hints import unexpected_kwargs


def _model():
    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    return model


X = np.random.default_rng(0).random((10, 28, 28)).astype("float32")


def test_string_labels_name_the_encoders():
    with pytest.raises(TypeError, match=r"must hold numbers.*LabelEncoder.*StringLookup"):
        _model().fit(X, np.array(["cat"] * 10), verbose=0)


def test_text_inputs_name_text_vectorization():
    with pytest.raises(TypeError, match=r"must hold numbers.*TextVectorization"):
        _model().predict(np.array(["a sentence"] * 3), verbose=0)


def test_did_you_mean_for_legacy_and_misspelled_keywords():
    error = unexpected_kwargs("fit", ["nb_epoch", "batchsize", "zzz"],
                              ["epochs", "batch_size", "verbose"])
    assert isinstance(error, TypeError)
    text = str(error)
    assert "'nb_epoch' (did you mean `epochs`?)" in text
    assert "'batchsize' (did you mean `batch_size`?)" in text
    assert "'zzz'" in text and "'zzz' (did" not in text


def test_predict_on_one_sample_suggests_the_batch_axis():
    with pytest.raises(ValueError, match=r"without its batch axis.*x\[None\]"):
        _model().predict(X[0], verbose=0)


def test_fit_keyword_errors_say_did_you_mean():
    with pytest.raises(TypeError, match=r"'nb_epoch' \(did you mean `epochs`\?\)"):
        _model().fit(X, np.zeros(10), nb_epoch=2, verbose=0)
    with pytest.raises(TypeError, match=r"'batchsize' \(did you mean `batch_size`\?\)"):
        _model().evaluate(X, np.zeros(10), batchsize=3, verbose=0)


def test_unbuilt_summary_suggests_an_input():
    with pytest.raises(ValueError, match=r"keras\.Input\(shape=\.\.\.\)"):
        keras.Sequential([keras.layers.Dense(3)]).summary()
