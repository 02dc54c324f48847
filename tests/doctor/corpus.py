"""The doctor's two corpora: healthy runs (each must get no finding) and broken runs (each
must get exactly its finding, or its clear error). `python tests/doctor/corpus.py` trains
them all and prints precision and recall; tests/doctor/test_corpora.py asserts them.

Each run is a function returning `(model, fit_kwargs)`; it builds its own data and model
with fixed seeds, small enough to train in a few seconds on 2 CPU cores.
"""
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

import gazelle as keras  # noqa: E402
from doctor_helpers import blobs, linear_data  # noqa: E402
from gazelle.training.diagnostics import DoctorWarning  # noqa: E402

L = keras.layers


def _seq(*layers):
    keras.utils.set_random_seed(0)
    return keras.Sequential(list(layers))


def _compile(model, loss, optimizer="adam", metrics=("accuracy",)):
    model.compile(loss=loss, optimizer=optimizer, metrics=list(metrics))
    return model


def _images(n=1200, size=12, classes=4, seed=0):
    """Class-dependent bright squares on noise, standardized: a learnable image task."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n).astype("int32")
    x = rng.normal(0, 0.3, (n, size, size, 1)).astype("float32")
    for c in range(classes):
        r, col = divmod(c, 2)
        x[y == c, r * 6:r * 6 + 5, col * 6:col * 6 + 5, 0] += 1.5
    return x, y


def _sequences(n=1500, length=12, vocab=20, seed=0, shortest=None):
    """Label: whether token 1 appears in the sequence (padded with 0 at the end)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(2, vocab, (n, length)).astype("int32")
    y = rng.integers(0, 2, n).astype("float32")
    shortest = length // 2 + 1 if shortest is None else shortest
    pos = rng.integers(0, shortest - 1, n)
    x[y == 1, pos[y == 1]] = 1
    lengths = rng.integers(shortest, length + 1, n)
    for i, k in enumerate(lengths):
        x[i, k:] = 0
    return x, y


# -- healthy runs ------------------------------------------------------------------------
def mlp_sgd_blobs():
    x, y = blobs(2000)
    m = _compile(_seq(L.Input((20,)), L.Dense(32, activation="relu"),
                      L.Dense(10, activation="softmax")), "sparse_categorical_crossentropy", "sgd")
    return m, dict(x=x, y=y, epochs=4, validation_split=0.1)


def mlp_adam_blobs():
    x, y = blobs(2000, seed=1)
    m = _compile(_seq(L.Input((20,)), L.Dense(64, activation="relu"),
                      L.Dense(10, activation="softmax")), "sparse_categorical_crossentropy")
    return m, dict(x=x, y=y, epochs=3, validation_split=0.2)


def mlp_one_hot_labels():
    x, y = blobs(1500, seed=2, classes=5)
    m = _compile(_seq(L.Input((20,)), L.Dense(32, activation="relu"),
                      L.Dense(5, activation="softmax")), "categorical_crossentropy")
    return m, dict(x=x, y=keras.utils.to_categorical(y, 5), epochs=3, validation_split=0.1)


def mlp_logits_from_logits():
    x, y = blobs(1500, seed=3)
    m = _compile(_seq(L.Input((20,)), L.Dense(32, activation="relu"), L.Dense(10)),
                 keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m, dict(x=x, y=y, epochs=3)


def mlp_dropout_batchnorm():
    x, y = blobs(2000, seed=4)
    m = _compile(_seq(L.Input((20,)), L.Dense(64), L.BatchNormalization(), L.Activation("relu"),
                      L.Dropout(0.3), L.Dense(10, activation="softmax")),
                 "sparse_categorical_crossentropy")
    return m, dict(x=x, y=y, epochs=4, validation_split=0.1)


def binary_logistic():
    x, y = blobs(2000, seed=5, classes=2)
    m = _compile(_seq(L.Input((20,)), L.Dense(1, activation="sigmoid")), "binary_crossentropy",
                 "sgd")
    return m, dict(x=x, y=y.astype("float32"), epochs=4, validation_split=0.1)


def binary_mlp_rmsprop():
    x, y = blobs(2000, seed=6, classes=2, sep=1.0)
    m = _compile(_seq(L.Input((20,)), L.Dense(16, activation="relu"),
                      L.Dense(1, activation="sigmoid")), "binary_crossentropy", "rmsprop")
    return m, dict(x=x, y=y.astype("float32"), epochs=4, validation_split=0.2)


def regression_linear_sgd():
    x, y = linear_data(2000, seed=7)
    y = y + 0.1 * np.random.default_rng(7).standard_normal(2000).astype("float32")
    m = _compile(_seq(L.Input((8,)), L.Dense(1)), "mse", keras.optimizers.SGD(0.01), ["mae"])
    return m, dict(x=x, y=y, epochs=4, validation_split=0.1)


def regression_mlp_adam():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2000, 6)).astype("float32")
    y = (np.sin(x[:, 0]) + x[:, 1] ** 2 - x[:, 2] * x[:, 3]).astype("float32")
    m = _compile(_seq(L.Input((6,)), L.Dense(64, activation="relu"),
                      L.Dense(64, activation="relu"), L.Dense(1)), "mse", "adam", ["mae"])
    return m, dict(x=x, y=y, epochs=6, validation_split=0.2)


def regression_with_normalization_layer():
    rng = np.random.default_rng(9)
    x = (rng.standard_normal((1500, 5)) * [1, 10, 100, 1000, 0.1] + 50).astype("float32")
    y = ((x - 50) / [1, 10, 100, 1000, 0.1] @ [1.0, -2.0, 0.5, 1.5, 0.3]).astype("float32")
    norm = L.Normalization()
    norm.adapt(x)
    m = _compile(_seq(L.Input((5,)), norm, L.Dense(16, activation="relu"), L.Dense(1)), "mse",
                 "adam", ["mae"])
    return m, dict(x=x, y=y, epochs=5)


def regression_huber_targets_offset():
    x, y = linear_data(1500, seed=10, offset=3.0)
    m = _compile(_seq(L.Input((8,)), L.Dense(16, activation="relu"), L.Dense(1)), "huber",
                 "adam", ["mae"])
    return m, dict(x=x, y=y, epochs=5)


def cnn_sgd_momentum():
    x, y = _images()
    m = _compile(_seq(L.Input((12, 12, 1)), L.Conv2D(8, 3, activation="relu"), L.MaxPooling2D(),
                      L.Flatten(), L.Dense(4, activation="softmax")),
                 "sparse_categorical_crossentropy", keras.optimizers.SGD(0.05, momentum=0.9))
    return m, dict(x=x, y=y, epochs=3, validation_split=0.1)


def cnn_adam_global_pool():
    x, y = _images(seed=1)
    m = _compile(_seq(L.Input((12, 12, 1)), L.Conv2D(8, 3, padding="same", activation="relu"),
                      L.Conv2D(8, 3, activation="relu"), L.GlobalAveragePooling2D(),
                      L.Dense(4, activation="softmax")), "sparse_categorical_crossentropy")
    return m, dict(x=x, y=y, epochs=4, validation_split=0.1)


def cnn_raw_pixels_with_rescaling():
    x, y = _images(seed=2)
    x = np.clip((x + 1) * 80, 0, 255).astype("uint8")
    m = _compile(_seq(L.Input((12, 12, 1)), L.Rescaling(1 / 255.0),
                      L.Conv2D(8, 3, activation="relu"), L.Flatten(),
                      L.Dense(4, activation="softmax")), "sparse_categorical_crossentropy")
    return m, dict(x=x, y=y, epochs=3)


def lstm_masked_sequences():
    x, y = _sequences()
    m = _compile(_seq(L.Input((12,), dtype="int32"), L.Embedding(20, 16, mask_zero=True),
                      L.LSTM(16), L.Dense(1, activation="sigmoid")), "binary_crossentropy")
    return m, dict(x=x, y=y, epochs=4, validation_split=0.1)


def gru_sequences():
    x, y = _sequences(seed=1)
    m = _compile(_seq(L.Input((12,), dtype="int32"), L.Embedding(20, 16), L.GRU(16),
                      L.Dense(1, activation="sigmoid")), "binary_crossentropy")
    return m, dict(x=x, y=y, epochs=4, validation_split=0.1)


def bidirectional_with_pooling():
    x, y = _sequences(seed=2)
    m = _compile(_seq(L.Input((12,), dtype="int32"), L.Embedding(20, 16, mask_zero=True),
                      L.Bidirectional(L.LSTM(8, return_sequences=True)),
                      L.GlobalMaxPooling1D(), L.Dense(1, activation="sigmoid")),
                 "binary_crossentropy")
    return m, dict(x=x, y=y, epochs=4)


def text_cnn_max_pooling():
    """Mostly padding and no mask, but max pooling over convolutions does not read it."""
    x, y = _sequences(length=30, shortest=6, seed=3)
    m = _compile(_seq(L.Input((30,), dtype="int32"), L.Embedding(20, 16),
                      L.Conv1D(16, 3, activation="relu"), L.GlobalMaxPooling1D(),
                      L.Dense(1, activation="sigmoid")), "binary_crossentropy")
    return m, dict(x=x, y=y, epochs=4, validation_split=0.1)


def imbalanced_with_class_weight():
    rng = np.random.default_rng(11)
    x, y = blobs(3000, seed=11, classes=2)
    keep = (y == 1) | (rng.random(3000) < 0.1)
    x, y = x[keep], y[keep]
    counts = np.bincount(y)
    weights = {c: len(y) / (2 * counts[c]) for c in range(2)}
    m = _compile(_seq(L.Input((20,)), L.Dense(16, activation="relu"),
                      L.Dense(1, activation="sigmoid")), "binary_crossentropy")
    return m, dict(x=x, y=y.astype("float32"), epochs=4, class_weight=weights)


def tiny_data():
    x, y = blobs(64, seed=12, classes=3)
    m = _compile(_seq(L.Input((20,)), L.Dense(8, activation="relu"),
                      L.Dense(3, activation="softmax")), "sparse_categorical_crossentropy")
    return m, dict(x=x, y=y, epochs=8, batch_size=16)


def many_steps_per_epoch():
    x, y = blobs(4000, seed=13)
    m = _compile(_seq(L.Input((20,)), L.Dense(32, activation="relu"),
                      L.Dense(10, activation="softmax")), "sparse_categorical_crossentropy", "sgd")
    return m, dict(x=x, y=y, epochs=2, batch_size=8)


def few_steps_per_epoch():
    x, y = blobs(2000, seed=14)
    m = _compile(_seq(L.Input((20,)), L.Dense(32, activation="relu"),
                      L.Dense(10, activation="softmax")), "sparse_categorical_crossentropy")
    return m, dict(x=x, y=y, epochs=8, batch_size=500)


def large_lr_that_converges():
    x, y = blobs(2000, seed=15)
    m = _compile(_seq(L.Input((20,)), L.Dense(32, activation="relu"),
                      L.Dense(10, activation="softmax")), "sparse_categorical_crossentropy",
                 keras.optimizers.SGD(0.5))
    return m, dict(x=x, y=y, epochs=3)


def adamw_with_schedule():
    x, y = blobs(2000, seed=16)
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-2, 50, 0.9)
    m = _compile(_seq(L.Input((20,)), L.Dense(32, activation="relu"),
                      L.Dense(10, activation="softmax")), "sparse_categorical_crossentropy",
                 keras.optimizers.AdamW(schedule))
    return m, dict(x=x, y=y, epochs=3, validation_split=0.1)


def functional_two_inputs():
    x, y = blobs(2000, seed=17)
    a, b = L.Input((10,)), L.Input((10,))
    h = L.Concatenate()([L.Dense(16, activation="relu")(a), L.Dense(16, activation="relu")(b)])
    keras.utils.set_random_seed(0)
    m = _compile(keras.Model([a, b], L.Dense(10, activation="softmax")(h)),
                 "sparse_categorical_crossentropy")
    return m, dict(x=[x[:, :10], x[:, 10:]], y=y, epochs=3, validation_split=0.1)


def functional_two_outputs():
    x, y = blobs(2000, seed=18, classes=3)
    inp = L.Input((20,))
    h = L.Dense(32, activation="relu")(inp)
    keras.utils.set_random_seed(0)
    m = keras.Model(inp, [L.Dense(3, activation="softmax", name="cls")(h),
                          L.Dense(1, name="reg")(h)])
    m.compile(optimizer="adam", loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
              loss_weights={"cls": 1.0, "reg": 0.5})
    return m, dict(x=x, y={"cls": y, "reg": x[:, :1] * 2}, epochs=3)


def autoencoder():
    x, _ = blobs(1500, seed=19)
    m = _compile(_seq(L.Input((20,)), L.Dense(8, activation="relu"), L.Dense(20)), "mse",
                 "adam", [])
    return m, dict(x=x, y=x, epochs=5)


def selu_deep_net():
    x, y = blobs(2000, seed=20)
    layers = [L.Input((20,))] + [L.Dense(32, activation="selu",
                                         kernel_initializer="lecun_normal")
                                 for _ in range(6)] + [L.Dense(10, activation="softmax")]
    m = _compile(_seq(*layers), "sparse_categorical_crossentropy", "sgd")
    return m, dict(x=x, y=y, epochs=3)


def standardized_pixels_mlp():
    x, y = _images(seed=3)
    m = _compile(_seq(L.Input((12, 12, 1)), L.Flatten(), L.Dense(32, activation="relu"),
                      L.Dense(4, activation="softmax")), "sparse_categorical_crossentropy", "sgd")
    return m, dict(x=x, y=y, epochs=4, validation_split=0.1)


HEALTHY = [mlp_sgd_blobs, mlp_adam_blobs, mlp_one_hot_labels, mlp_logits_from_logits,
           mlp_dropout_batchnorm, binary_logistic, binary_mlp_rmsprop, regression_linear_sgd,
           regression_mlp_adam, regression_with_normalization_layer,
           regression_huber_targets_offset, cnn_sgd_momentum, cnn_adam_global_pool,
           cnn_raw_pixels_with_rescaling, lstm_masked_sequences, gru_sequences,
           bidirectional_with_pooling, text_cnn_max_pooling, imbalanced_with_class_weight,
           tiny_data, many_steps_per_epoch, few_steps_per_epoch, large_lr_that_converges,
           adamw_with_schedule, functional_two_inputs, functional_two_outputs, autoencoder,
           selu_deep_net, standardized_pixels_mlp]


# -- broken runs: (run, the finding it must get, or the exception type it must raise) -----
def raw_pixels_sgd():
    x, y = _images(seed=4)
    x = np.clip((x + 1) * 80, 0, 255).astype("float32")
    m = _compile(_seq(L.Input((12, 12, 1)), L.Flatten(), L.Dense(32, activation="relu"),
                      L.Dense(4, activation="softmax")), "sparse_categorical_crossentropy", "sgd")
    return m, dict(x=x, y=y, epochs=2)


def bce_on_digit_labels():
    x, y = blobs(1000, seed=21)
    m = _compile(_seq(L.Input((20,)), L.Dense(1, activation="sigmoid")), "binary_crossentropy")
    return m, dict(x=x, y=y.astype("float32"), epochs=1)


def sigmoid_with_categorical_crossentropy():
    x, y = blobs(1500, seed=22, classes=5)
    m = _compile(_seq(L.Input((20,)), L.Dense(16, activation="relu"),
                      L.Dense(5, activation="sigmoid")), "categorical_crossentropy")
    return m, dict(x=x, y=keras.utils.to_categorical(y, 5), epochs=2)


def regression_target_1000x():
    x, y = linear_data(2000, seed=23, scale=1000.0)
    m = _compile(_seq(L.Input((8,)), L.Dense(16, activation="relu"), L.Dense(1)), "mse",
                 "sgd", [])
    return m, dict(x=x, y=y, epochs=3)


def frozen_model():
    x, y = blobs(1500, seed=24)
    m = _seq(L.Input((20,)), L.Dense(32, activation="relu"), L.Dense(10, activation="softmax"))
    for layer in m.layers:
        layer.trainable = False
    return _compile(m, "sparse_categorical_crossentropy"), dict(x=x, y=y, epochs=3)


def learning_rate_too_small():
    x, y = blobs(1500, seed=25)
    m = _compile(_seq(L.Input((20,)), L.Dense(32, activation="relu"),
                      L.Dense(10, activation="softmax")), "sparse_categorical_crossentropy",
                 keras.optimizers.SGD(1e-7))
    return m, dict(x=x, y=y, epochs=3)


def softmax_with_from_logits():
    x, y = blobs(1500, seed=26)
    m = _compile(_seq(L.Input((20,)), L.Dense(10, activation="softmax")),
                 keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m, dict(x=x, y=y, epochs=1)


def labels_unrelated_to_inputs():
    x, _ = blobs(2000, seed=27)
    y = np.random.default_rng(1027).integers(0, 10, 2000).astype("int32")   # not blobs' labels
    m = _compile(_seq(L.Input((20,)), L.Dense(32, activation="relu"),
                      L.Dense(10, activation="softmax")), "sparse_categorical_crossentropy", "sgd")
    return m, dict(x=x, y=y, epochs=3)


def diverging_learning_rate():
    x, y = linear_data(2000, seed=28)
    m = _compile(_seq(L.Input((8,)), L.Dense(1)), "mse", keras.optimizers.SGD(10.0), [])
    return m, dict(x=x, y=y, epochs=2)


def lstm_padding_without_mask():
    """Post-padded to 40 steps, about 70% padding, and no mask: the LSTM's last state comes
    after dozens of padding steps."""
    x, y = _sequences(length=40, shortest=6, seed=29)
    m = _compile(_seq(L.Input((40,), dtype="int32"), L.Embedding(20, 16), L.LSTM(16),
                      L.Dense(1, activation="sigmoid")), "binary_crossentropy")
    return m, dict(x=x, y=y, epochs=2)


def vocabulary_mostly_unknown():
    """Ids from a vocabulary adapted on other texts: 70% of the tokens are [UNK] (id 1)."""
    x, y = _sequences(seed=30)
    unknown = (np.random.default_rng(30).random(x.shape) < 0.7) & (x > 1)
    x[unknown] = 1
    m = _compile(_seq(L.Input((12,), dtype="int32"), L.Embedding(20, 16, mask_zero=True),
                      L.GRU(16), L.Dense(1, activation="sigmoid")), "binary_crossentropy")
    return m, dict(x=x, y=y, epochs=2)


def sequences_cut_short():
    """Texts of 8 to 30 tokens cut to 12 (pad_sequences' maxlen): 80% of rows are full."""
    x, y = _sequences(length=30, shortest=8, seed=32)
    x = x[:, :12]
    y = (x == 1).any(axis=1).astype("float32")
    m = _compile(_seq(L.Input((12,), dtype="int32"), L.Embedding(20, 16, mask_zero=True),
                      L.LSTM(16), L.Dense(1, activation="sigmoid")), "binary_crossentropy")
    return m, dict(x=x, y=y, epochs=2)


def rnn_exploding_gradients():
    """A linear SimpleRNN over 40 steps whose recurrent matrix has gain 1.3."""
    rng = np.random.default_rng(31)
    x = rng.normal(0, 1, (512, 40, 4)).astype("float32")
    y = (x[:, :, 0].sum(axis=1, keepdims=True) / 6).astype("float32")
    rnn = L.SimpleRNN(16, activation=None,
                      recurrent_initializer=keras.initializers.Orthogonal(gain=1.3))
    m = _compile(_seq(L.Input((40, 4)), rnn, L.Dense(1)), "mse", "adam", [])
    return m, dict(x=x, y=y, epochs=2)


# Each broken run: (run, the finding it must get or the error it must raise, findings it
# may add because they describe the same failure). Any other finding counts against
# precision.
_DIVERGING = {"nonfinite_loss", "loss_explosion", "exploding_gradients"}
BROKEN = [
    (raw_pixels_sgd, "unscaled_input", {"not_learning", "vanishing_gradients"} | _DIVERGING),
    (bce_on_digit_labels, ValueError, set()),
    (sigmoid_with_categorical_crossentropy, "sigmoid_with_categorical", set()),
    (regression_target_1000x, "target_scale", _DIVERGING),
    (frozen_model, "nothing_trainable", set()),
    (learning_rate_too_small, "not_learning", {"underfitting"}),
    (softmax_with_from_logits, "softmax_from_logits", set()),
    (labels_unrelated_to_inputs, "not_learning", {"overfitting"}),
    (diverging_learning_rate, "nonfinite_loss", {"loss_explosion", "exploding_gradients"}),
    (lstm_padding_without_mask, "padding_without_mask", set()),
    (vocabulary_mostly_unknown, "mostly_oov", {"not_learning", "underfitting"}),
    (sequences_cut_short, "truncated_sequences", set()),
    (rnn_exploding_gradients, "exploding_gradients", _DIVERGING),
]


def findings(run):
    """Trains one run; returns (set of finding codes, the exception it raised or None)."""
    keras.backend.clear_session()
    model, kwargs = run()
    kwargs = dict(kwargs)
    x, y = kwargs.pop("x"), kwargs.pop("y")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        try:
            model.fit(x, y, verbose=0, **kwargs)
        except (ValueError, TypeError) as e:
            return set(), e
    return {str(w.message).split(":", 1)[0] for w in record
            if issubclass(w.category, DoctorWarning)}, None


def score():
    """Precision and recall of the doctor over both corpora, with each run's result."""
    rows, true_pos, false_pos, false_neg = [], 0, 0, 0
    for run in HEALTHY:
        found, error = findings(run)
        false_pos += len(found) + (error is not None)
        rows.append((run.__name__, "healthy", sorted(found), error))
    for run, expected, companions in BROKEN:
        found, error = findings(run)
        if isinstance(expected, str):
            hit = expected in found
            false_pos += len(found - {expected} - companions)
        else:
            hit = isinstance(error, expected)
        true_pos += hit
        false_neg += not hit
        rows.append((run.__name__, expected if isinstance(expected, str) else expected.__name__,
                     sorted(found), error))
    precision = true_pos / max(true_pos + false_pos, 1)
    recall = true_pos / max(true_pos + false_neg, 1)
    return precision, recall, rows


if __name__ == "__main__":
    p, r, rows = score()
    for name, expected, found, error in rows:
        print(f"{name:40s} expected {expected!s:36s} found {found} "
              f"{'' if error is None else type(error).__name__}")
    print(f"\n{len(HEALTHY)} healthy runs, {len(BROKEN)} broken runs: "
          f"precision {p:.2f}, recall {r:.2f}")
