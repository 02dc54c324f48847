"""compile/fit/evaluate/predict: Keras semantics, compiled chunks, clear errors."""
import warnings

import numpy as np
import pytest

import gazelle as keras
from gazelle.training.diagnostics import DoctorWarning


def blobs(n=400, seed=0, classes=10, shape=(28, 28)):
    """Learnable image-like data: each class lights up its own band of pixels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n).astype("uint8")
    x = rng.normal(0.0, 0.3, (n,) + shape).astype("float32")
    flat = x.reshape(n, -1)
    band = flat.shape[1] // classes
    for c in range(classes):
        flat[y == c, c * band:(c + 1) * band] += 1.5
    return flat.reshape((n,) + shape), y


def tutorial_model(optimizer="sgd"):
    model = keras.models.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        keras.layers.Dense(30, activation="relu"),
        keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer,
                  metrics=["accuracy"])
    return model


def test_fit_learns_and_history_has_keras_keys():
    # Seeded: over initial weights the final validation accuracy spreads from 0.78 to 0.95.
    keras.utils.set_random_seed(0)
    x, y = blobs()
    model = tutorial_model()
    history = model.fit(x[:300], y[:300], epochs=3, validation_data=(x[300:], y[300:]),
                        verbose=0)
    h = history.history
    assert list(h) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert all(isinstance(v, float) for vs in h.values() for v in vs)
    assert all(len(vs) == 3 for vs in h.values())
    assert h["loss"][-1] < h["loss"][0]
    assert h["val_accuracy"][-1] > 0.8
    assert history.epoch == [0, 1, 2]
    assert history.params["epochs"] == 3


def test_epoch_loss_is_mean_over_samples_with_partial_batch():
    # With a zero learning rate the weights never move, so the epoch's loss must equal the
    # per-sample mean over all 70 samples: batches 32, 32 and a real batch of 6.
    x, y = blobs(70)
    model = tutorial_model(keras.optimizers.SGD(learning_rate=0.0))
    h = model.fit(x, y, epochs=1, verbose=0, shuffle=False).history
    probs = model.predict(x)
    expected = float(np.mean(-np.log(np.clip(probs[np.arange(70), y], 1e-7, 1.0))))
    np.testing.assert_allclose(h["loss"][0], expected, rtol=1e-5)
    assert int(model.optimizer.iterations.value) == 3


def test_fit_matches_keras3_weights_after_two_epochs():
    import keras as k3
    x, y = blobs(100, seed=3)
    ours = tutorial_model()
    theirs = k3.models.Sequential([k3.Input((28, 28)), k3.layers.Flatten(),
                                   k3.layers.Dense(30, activation="relu"),
                                   k3.layers.Dense(10, activation="softmax")])
    theirs.compile(loss="sparse_categorical_crossentropy", optimizer="sgd",
                   metrics=["accuracy"])
    theirs.set_weights(ours.get_weights())
    h1 = ours.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0).history
    h2 = theirs.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0).history
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(h1["loss"], h2["loss"], rtol=1e-4)
    np.testing.assert_allclose(h1["accuracy"], h2["accuracy"], rtol=1e-6)
    ev1 = ours.evaluate(x, y, verbose=0)
    ev2 = theirs.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(ev1, ev2, rtol=1e-4)


def test_second_fit_compiles_nothing():
    x, y = blobs(90)
    model = tutorial_model()
    model.fit(x, y, epochs=1, validation_data=(x[:20], y[:20]), verbose=0)
    traces = model._trainer.steps.traces
    model.fit(x, y, epochs=2, validation_data=(x[:20], y[:20]), verbose=0)
    assert model._trainer.steps.traces == traces
    model.evaluate(x[:20], y[:20], verbose=0)
    assert model._trainer.steps.traces == traces


def test_epoch_one_compiles_short_batch_and_validation_before_it_starts():
    # 90 samples at batch 32: two full steps and a short batch of 26; validation is one
    # short batch of 20. Those two programs are traced (and compiled in the background)
    # before training starts, so the epoch itself only traces its first chunk.
    x, y = blobs(90)
    model = tutorial_model()
    seen = {}
    probe = keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: seen.setdefault("begin", model._trainer.steps.traces),
        on_epoch_end=lambda epoch, logs: seen.setdefault("end", model._trainer.steps.traces))
    model.fit(x, y, epochs=1, validation_data=(x[:20], y[:20]), verbose=0, callbacks=[probe])
    assert seen == {"begin": 2, "end": 3}
    assert not model._trainer.steps._pending


def test_seeded_runs_are_bit_identical():
    x, y = blobs(64)

    def run():
        keras.backend.clear_session()
        keras.utils.set_random_seed(7)
        model = tutorial_model()
        model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        return model.get_weights()

    for a, b in zip(run(), run()):
        np.testing.assert_array_equal(a, b)


def test_shuffle_changes_the_batch_order():
    x, y = blobs(64)
    weights = []
    for shuffle in (False, True):
        keras.utils.set_random_seed(3)
        model = tutorial_model()
        model.fit(x, y, epochs=1, batch_size=8, shuffle=shuffle, verbose=0)
        weights.append(model.get_weights()[0])
    assert not np.allclose(weights[0], weights[1])


def test_evaluate_returns_float_or_list_and_predict_numpy():
    x, y = blobs(50)
    model = tutorial_model()
    res = model.evaluate(x, y, verbose=0)
    assert isinstance(res, list) and len(res) == 2 and all(isinstance(v, float) for v in res)
    assert model.evaluate(x, y, verbose=0, return_dict=True).keys() == {"loss", "accuracy"}
    plain = keras.models.Sequential([keras.layers.Flatten(input_shape=[28, 28]),
                                     keras.layers.Dense(10, activation="softmax")])
    plain.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
    assert isinstance(plain.evaluate(x, y, verbose=0), float)
    out = model.predict(x)
    assert isinstance(out, np.ndarray) and out.shape == (50, 10)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_validation_split_takes_the_tail():
    x, y = blobs(100)
    model = tutorial_model()
    h = model.fit(x, y, epochs=1, validation_split=0.2, verbose=0)
    assert "val_loss" in h.history
    assert h.params["samples"] == 80


def test_initial_epoch_and_epoch_numbers():
    x, y = blobs(40)
    model = tutorial_model()
    h = model.fit(x, y, epochs=3, initial_epoch=1, verbose=0)
    assert h.epoch == [1, 2]


def test_stop_training_from_a_callback():
    class StopAfterOne(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    x, y = blobs(40)
    h = tutorial_model().fit(x, y, epochs=5, verbose=0, callbacks=[StopAfterOne()])
    assert h.epoch == [0]


def test_batch_hooks_see_every_step():
    seen = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append((batch, sorted(logs)))

    x, y = blobs(70)
    tutorial_model().fit(x, y, epochs=1, verbose=0, callbacks=[Count()])
    assert [b for b, _ in seen] == [0, 1, 2]
    assert seen[0][1] == ["accuracy", "loss"]


def test_callbacks_see_live_weights_at_epoch_end():
    snapshots = []

    class Snap(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(self.model.get_weights()[0].copy())

    x, y = blobs(64)
    model = tutorial_model()
    model.fit(x, y, epochs=2, verbose=0, callbacks=[Snap()])
    assert not np.array_equal(snapshots[0], snapshots[1])
    np.testing.assert_array_equal(snapshots[1], model.get_weights()[0])


def test_non_tty_output_is_one_line_per_epoch(capsys):
    x, y = blobs(100)
    model = tutorial_model()
    model.fit(x[:80], y[:80], epochs=2, validation_data=(x[80:], y[80:]))
    out = capsys.readouterr().out
    assert "\r" not in out and "\b" not in out
    lines = out.strip().splitlines()
    assert lines[0] == "Train on 80 samples, validate on 20 samples"
    assert lines[1] == "Epoch 1/2"
    assert lines[2].startswith("80/80 [==============================] - ")
    assert "us/sample - loss: " in lines[2] or "ms/sample - loss: " in lines[2]
    assert lines[2].index("loss:") < lines[2].index("accuracy:") < \
        lines[2].index("val_loss:") < lines[2].index("val_accuracy:")
    assert len(lines) == 5


def test_verbose_2_prints_no_bar(capsys):
    x, y = blobs(40)
    tutorial_model().fit(x, y, epochs=1, verbose=2)
    out = capsys.readouterr().out
    assert "[=" not in out and "40/40 - " in out and "loss:" in out


def test_unscaled_pixels_warn_and_train_as_asked():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 28, 28)).astype("uint8")
    y = rng.integers(0, 10, 64).astype("uint8")
    model = tutorial_model()
    with pytest.warns(DoctorWarning, match=r"x / 255\.0"):
        model.fit(x, y, epochs=1, verbose=0)


def test_scaled_inputs_do_not_warn():
    x, y = blobs(64)
    model = tutorial_model()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DoctorWarning)
        model.fit(x, y, epochs=1, verbose=0)


@pytest.mark.parametrize("case, match", [
    ("length", "x has 40 samples but y has 39"),
    ("labels", r"label value of 12 .* valid range of \[0, 9\]"),
    ("onehot", "one-hot"),
    ("nan", "NaN"),
    ("empty", "empty"),
    ("features", r"'dense_\d'.*expected shape=\(None, 784\), found shape=\(40, 756\)"),
])
def test_bad_input_is_a_clear_value_error(case, match):
    x, y = blobs(40)
    model = tutorial_model()
    if case == "length":
        y = y[:39]
    elif case == "labels":
        y = y.astype("int32")
        y[3] = 12
    elif case == "onehot":
        y = np.eye(10, dtype="float32")[y]
    elif case == "nan":
        x[0, 0, 0] = np.nan
    elif case == "empty":
        x, y = x[:0], y[:0]
    elif case == "features":
        model = keras.models.Sequential([keras.layers.Dense(10, input_shape=(784,),
                                                            activation="softmax")])
        model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
        x = x.reshape(40, 28, 28)[:, :, :27].reshape(40, -1)
    with pytest.raises(ValueError, match=match):
        model.fit(x, y, epochs=1, verbose=0)


def test_integer_labels_with_categorical_loss_are_rejected():
    x, y = blobs(40)
    model = tutorial_model()
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    with pytest.raises(ValueError, match="to_categorical"):
        model.fit(x, y, epochs=1, verbose=0)


def test_fit_before_compile():
    model = keras.models.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    with pytest.raises(ValueError, match="compile"):
        model.fit(np.zeros((4, 3)), np.zeros(4))


@pytest.mark.parametrize("kwargs, match", [
    ({"loss": "nope", "optimizer": "sgd"}, "nope"),
    ({"loss": "mse", "optimizer": "nope"}, "nope"),
    ({"loss": "mse", "optimizer": "sgd", "metrics": ["nope"]}, "nope"),
])
def test_unknown_names_list_valid_ones(kwargs, match):
    model = keras.models.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    with pytest.raises(ValueError, match=match):
        model.compile(**kwargs)
        model.fit(np.zeros((4, 3)), np.zeros(4), verbose=0)


def test_regression_with_mse_and_mae_metric():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((200, 8)).astype("float32")
    y = x @ rng.standard_normal(8).astype("float32") + 0.5
    model = keras.models.Sequential([keras.layers.Dense(30, activation="relu",
                                                        input_shape=(8,)),
                                     keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer="adam", metrics=["mae"])
    h = model.fit(x, y, epochs=5, verbose=0).history
    assert list(h) == ["loss", "mae"]
    assert h["loss"][-1] < h["loss"][0]


def test_sample_weight_and_class_weight_change_training():
    x, y = blobs(64)
    results = []
    for kwargs in ({}, {"class_weight": {0: 10.0}},
                   {"sample_weight": np.linspace(0, 2, 64).astype("float32")}):
        keras.utils.set_random_seed(1)
        model = tutorial_model()
        results.append(model.fit(x, y, epochs=1, verbose=0, shuffle=False,
                                 **kwargs).history["loss"][0])
    assert len(set(results)) == 3


def test_live_terminal_display_runs_about_twenty_chunks_per_epoch(monkeypatch):
    from gazelle.training import trainer as trainer_mod
    monkeypatch.setattr(trainer_mod, "_live_display", lambda verbose: verbose == 1)
    x, y = blobs(32 * 50 + 5)
    model = tutorial_model()
    model.fit(x, y, epochs=1, verbose=0)
    assert {k[1] for k in model._trainer.steps._cache if k[0] == "train"} == {50, 1}
    model.fit(x, y, epochs=1, verbose=1)
    keys = {k for k in model._trainer.steps._cache if k[0] == "train"}
    assert ("train", 3, 32, True, None) in keys  # ceil(50 / 20) = 3 steps, masked tail chunk


def test_steps_per_epoch_limits_the_batches():
    x, y = blobs(200)
    model = tutorial_model()
    h = model.fit(x, y, epochs=2, batch_size=10, steps_per_epoch=3, verbose=0)
    assert h.params["samples"] == 30
    assert int(model.optimizer.iterations.value) == 6
    with pytest.raises(ValueError, match="steps_per_epoch"):
        model.fit(x, y, steps_per_epoch=0, verbose=0)


def test_learning_rate_change_between_fits_needs_no_recompile():
    x, y = blobs(64)
    model = tutorial_model()
    model.fit(x, y, epochs=1, verbose=0)
    traces = model._trainer.steps.traces
    before = model.get_weights()[0].copy()
    model.optimizer.learning_rate = 0.0
    model.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(before, model.get_weights()[0])
    assert model._trainer.steps.traces == traces


def test_standardized_features_with_outliers_do_not_warn():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 8)).astype("float32")
    x[0, 3] = 12.0                      # a 12-sigma outlier is still scaled data
    model = keras.models.Sequential([keras.layers.Dense(1, input_shape=(8,))])
    model.compile(loss="mse", optimizer="sgd")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DoctorWarning)
        model.fit(x, x[:, 0], epochs=1, verbose=0)
