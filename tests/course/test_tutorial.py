"""The tf.keras Fashion-MNIST tutorial, unchanged, on the real bundled data."""
import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def fashion():
    import gazelle as keras
    return keras.datasets.fashion_mnist.load_data()


@pytest.mark.slow
def test_tutorial_runs_unchanged_and_reaches_086(fashion, capsys):
    import gazelle as keras
    keras.utils.set_random_seed(42)
    print(keras.__name__, keras.__version__)
    (x_train_all, y_train_all), (x_test, y_test) = fashion
    x_valid, x_train = x_train_all[:5000], x_train_all[5000:]
    y_valid, y_train = y_train_all[:5000], y_train_all[5000:]
    model = keras.models.Sequential()
    model.add(keras.layers.Flatten(input_shape=[28, 28]))
    model.add(keras.layers.Dense(300, activation='relu'))
    model.add(keras.layers.Dense(100, activation='relu'))
    model.add(keras.layers.Dense(10, activation='softmax'))
    model = keras.models.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        keras.layers.Dense(300, activation='relu'),
        keras.layers.Dense(100, activation='relu'),
        keras.layers.Dense(10, activation='softmax')])
    model.compile(loss='sparse_categorical_crossentropy', optimizer='sgd', metrics=['accuracy'])
    model.summary()
    mean, std = x_train.mean(), x_train.std()
    history = model.fit((x_train - mean) / std, y_train, epochs=10,
                        validation_data=((x_valid - mean) / std, y_valid))
    pd.DataFrame(history.history).plot(figsize=(8, 5))
    out = capsys.readouterr().out
    assert out.startswith("gazelle 0.1.0\nModel: \"sequential_1\"")
    assert "Train on 55000 samples, validate on 5000 samples" in out
    assert out.count("55000/55000 [==============================]") == 10
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    loss, accuracy = model.evaluate((x_test - mean) / std, y_test, verbose=0)
    assert accuracy >= 0.86, accuracy
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_raw_pixels_fail_as_in_tf_keras_and_are_explained(fashion):
    import gazelle as keras
    from gazelle.training.diagnostics import DoctorWarning
    (x_train_all, y_train_all), _ = fashion
    x, y = x_train_all[:20000], y_train_all[:20000]
    keras.utils.set_random_seed(0)
    model = keras.models.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        keras.layers.Dense(300, activation='relu'),
        keras.layers.Dense(100, activation='relu'),
        keras.layers.Dense(10, activation='softmax')])
    model.compile(loss='sparse_categorical_crossentropy', optimizer='sgd', metrics=['accuracy'])
    with pytest.warns(DoctorWarning, match="unscaled"):
        history = model.fit(x, y, epochs=1, verbose=0)
    assert history.history["accuracy"][0] < 0.2
    assert history.history["loss"][0] > 5 or not np.isfinite(history.history["loss"][0])
