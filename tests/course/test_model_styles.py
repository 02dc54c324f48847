"""The course's model-building styles, as written in the course, on real bundled data."""
import numpy as np
import pytest


@pytest.fixture(scope="module")
def housing():
    import gazelle as keras
    (x, y), (x_test, y_test) = keras.datasets.california_housing.load_data(version="small")
    mean, std = x.mean(axis=0), x.std(axis=0)
    x, x_test = ((x - mean) / std).astype("float32"), ((x_test - mean) / std).astype("float32")
    y, y_test = y / 100000.0, y_test / 100000.0
    return x[:400], y[:400], x[400:], y[400:], x_test, y_test


@pytest.fixture(scope="module")
def fashion_small():
    import gazelle as keras
    (x, y), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    x, x_test = x[:3000] / 255.0, x_test[:1000] / 255.0
    return x.astype("float32"), y[:3000], x_test.astype("float32"), y_test[:1000]


def test_wide_and_deep_functional(housing):
    import gazelle as keras
    x_train, y_train, x_valid, y_valid, x_test, y_test = housing
    input_ = keras.layers.Input(shape=x_train.shape[1:])
    hidden1 = keras.layers.Dense(30, activation="relu")(input_)
    hidden2 = keras.layers.Dense(30, activation="relu")(hidden1)
    concat = keras.layers.concatenate([input_, hidden2])
    output = keras.layers.Dense(1)(concat)
    model = keras.models.Model(inputs=[input_], outputs=[output])
    model.compile(loss="mean_squared_error", optimizer=keras.optimizers.SGD(learning_rate=1e-3))
    history = model.fit(x_train, y_train, epochs=20, validation_data=(x_valid, y_valid),
                        verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.evaluate(x_test, y_test, verbose=0) < 2.0
    assert model.predict(x_test[:3]).shape == (3, 1)


def test_multi_input_model(housing):
    import gazelle as keras
    x_train, y_train, x_valid, y_valid, x_test, y_test = housing
    input_A = keras.layers.Input(shape=[5], name="wide_input")
    input_B = keras.layers.Input(shape=[6], name="deep_input")
    hidden1 = keras.layers.Dense(30, activation="relu")(input_B)
    hidden2 = keras.layers.Dense(30, activation="relu")(hidden1)
    concat = keras.layers.concatenate([input_A, hidden2])
    output = keras.layers.Dense(1, name="output")(concat)
    model = keras.models.Model(inputs=[input_A, input_B], outputs=[output])
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=1e-3))
    X_train_A, X_train_B = x_train[:, :5], x_train[:, 2:]
    X_valid_A, X_valid_B = x_valid[:, :5], x_valid[:, 2:]
    history = model.fit((X_train_A, X_train_B), y_train, epochs=20,
                        validation_data=((X_valid_A, X_valid_B), y_valid), verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    y_pred = model.predict((x_test[:3, :5], x_test[:3, 2:]))
    assert y_pred.shape == (3, 1)


def test_multi_output_model(housing):
    import gazelle as keras
    x_train, y_train, x_valid, y_valid, x_test, y_test = housing
    input_A = keras.layers.Input(shape=[5], name="wide_input")
    input_B = keras.layers.Input(shape=[6], name="deep_input")
    hidden1 = keras.layers.Dense(30, activation="relu")(input_B)
    hidden2 = keras.layers.Dense(30, activation="relu")(hidden1)
    concat = keras.layers.concatenate([input_A, hidden2])
    output = keras.layers.Dense(1, name="main_output")(concat)
    aux_output = keras.layers.Dense(1, name="aux_output")(hidden2)
    model = keras.models.Model(inputs=[input_A, input_B], outputs=[output, aux_output])
    model.compile(loss=["mse", "mse"], loss_weights=[0.9, 0.1], optimizer="sgd")
    history = model.fit([x_train[:, :5], x_train[:, 2:]], [y_train, y_train], epochs=10,
                        validation_data=([x_valid[:, :5], x_valid[:, 2:]], [y_valid, y_valid]),
                        verbose=0)
    assert list(history.history)[:3] == ["loss", "main_output_loss", "aux_output_loss"]
    assert history.history["loss"][-1] < history.history["loss"][0]
    total_loss, main_loss, aux_loss = model.evaluate(
        [x_test[:, :5], x_test[:, 2:]], [y_test, y_test], verbose=0)
    np.testing.assert_allclose(total_loss, 0.9 * main_loss + 0.1 * aux_loss, rtol=1e-4)
    y_pred_main, y_pred_aux = model.predict([x_test[:3, :5], x_test[:3, 2:]])
    assert y_pred_main.shape == y_pred_aux.shape == (3, 1)


def test_subclassed_wide_and_deep(housing):
    import gazelle as keras
    x_train, y_train, *_ = housing

    class WideAndDeepModel(keras.models.Model):
        def __init__(self, units=30, activation="relu", **kwargs):
            super().__init__(**kwargs)
            self.hidden1 = keras.layers.Dense(units, activation=activation)
            self.hidden2 = keras.layers.Dense(units, activation=activation)
            self.main_output = keras.layers.Dense(1)
            self.aux_output = keras.layers.Dense(1)

        def call(self, inputs):
            input_A, input_B = inputs
            hidden1 = self.hidden1(input_B)
            hidden2 = self.hidden2(hidden1)
            concat = keras.layers.concatenate([input_A, hidden2])
            main_output = self.main_output(concat)
            aux_output = self.aux_output(hidden2)
            return main_output, aux_output

    model = WideAndDeepModel(30, activation="relu")
    model.compile(loss="mse", loss_weights=[0.9, 0.1], optimizer="sgd")
    history = model.fit((x_train[:, :5], x_train[:, 2:]), (y_train, y_train), epochs=10,
                        verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert model.count_params() == 6 * 30 + 30 + 30 * 30 + 30 + 36 + 31


@pytest.mark.slow
def test_batch_normalization_net(fashion_small):
    import gazelle as keras
    x, y, x_test, y_test = fashion_small
    keras.utils.set_random_seed(1)
    model = keras.models.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        keras.layers.BatchNormalization(),
        keras.layers.Dense(300, activation="elu", kernel_initializer="he_normal"),
        keras.layers.BatchNormalization(),
        keras.layers.Dense(100, activation="elu", kernel_initializer="he_normal"),
        keras.layers.BatchNormalization(),
        keras.layers.Dense(10, activation="softmax")])
    assert len(model.non_trainable_weights) == 6
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    bn = model.layers[1]
    before = bn.moving_mean.numpy().copy()
    history = model.fit(x, y, epochs=3, validation_data=(x_test, y_test), verbose=0)
    assert not np.allclose(before, bn.moving_mean.numpy())
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["val_accuracy"][-1] > 0.7


@pytest.mark.slow
def test_cnn_with_dropout(fashion_small):
    import gazelle as keras
    x, y, x_test, y_test = fashion_small
    x, x_test = x[..., np.newaxis], x_test[..., np.newaxis]
    keras.utils.set_random_seed(2)
    model = keras.models.Sequential([
        keras.layers.Conv2D(16, 3, activation="relu", padding="same", input_shape=[28, 28, 1]),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=64, validation_data=(x_test, y_test),
                        verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["val_accuracy"][-1] > 0.7
