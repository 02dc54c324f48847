"""Course regression scripts, unchanged, on the bundled California housing data."""
import numpy as np
import pytest


@pytest.fixture(scope="module")
def housing():
    import gazelle as keras
    (x_train_full, y_train_full), (x_test, y_test) = \
        keras.datasets.california_housing.load_data(version="small")
    mean, std = x_train_full.mean(axis=0), x_train_full.std(axis=0)
    scale = lambda a: ((a - mean) / std).astype("float32")  # noqa: E731
    y_train_full, y_test = y_train_full / 100000.0, y_test / 100000.0
    return (scale(x_train_full[:400]), y_train_full[:400], scale(x_train_full[400:]),
            y_train_full[400:], scale(x_test), y_test)


def test_regression_mlp_with_early_stopping(housing):
    import gazelle as keras
    x_train, y_train, x_valid, y_valid, x_test, y_test = housing
    keras.utils.set_random_seed(42)
    model = keras.models.Sequential([
        keras.layers.Dense(30, activation="relu", input_shape=x_train.shape[1:]),
        keras.layers.Dense(1)])
    model.compile(loss="mean_squared_error", optimizer=keras.optimizers.SGD(learning_rate=1e-3))
    early_stopping_cb = keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)
    history = model.fit(x_train, y_train, epochs=200, validation_data=(x_valid, y_valid),
                        callbacks=[early_stopping_cb], verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    mse_test = model.evaluate(x_test, y_test, verbose=0)
    assert isinstance(mse_test, float) and mse_test < 1.0
    y_pred = model.predict(x_test[:3])
    assert y_pred.shape == (3, 1)


def test_deep_selu_net_trains(housing):
    import gazelle as keras
    x_train, y_train, x_valid, y_valid, _, _ = housing
    keras.utils.set_random_seed(0)
    model = keras.models.Sequential()
    model.add(keras.layers.Dense(30, activation="selu", kernel_initializer="lecun_normal",
                                 input_shape=x_train.shape[1:]))
    for _ in range(19):
        model.add(keras.layers.Dense(30, activation="selu", kernel_initializer="lecun_normal"))
    model.add(keras.layers.Dense(1))
    assert len(model.layers) == 21
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=1e-3), metrics=["mae"])
    history = model.fit(x_train, y_train, epochs=5, validation_data=(x_valid, y_valid), verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    assert history.history["loss"][-1] < history.history["loss"][0]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_randomized_search_over_build_fn_arguments(housing):
    import gazelle as keras
    from scipy.stats import reciprocal
    from sklearn.model_selection import RandomizedSearchCV
    x_train, y_train, x_valid, y_valid, _, _ = housing

    def build_model(n_hidden=1, n_neurons=30, learning_rate=3e-3, input_shape=[8]):
        model = keras.models.Sequential()
        model.add(keras.layers.InputLayer(input_shape=input_shape))
        for layer in range(n_hidden):
            model.add(keras.layers.Dense(n_neurons, activation="relu"))
        model.add(keras.layers.Dense(1))
        optimizer = keras.optimizers.SGD(lr=learning_rate)
        model.compile(loss="mse", optimizer=optimizer)
        return model

    keras_reg = keras.wrappers.scikit_learn.KerasRegressor(build_model)
    param_distribs = {"n_hidden": [0, 1, 2], "n_neurons": np.arange(1, 100),
                      "learning_rate": reciprocal(3e-4, 3e-2)}
    rnd_search_cv = RandomizedSearchCV(keras_reg, param_distribs, n_iter=3, cv=2,
                                       random_state=42)
    rnd_search_cv.fit(x_train, y_train, epochs=5, validation_data=(x_valid, y_valid),
                      callbacks=[keras.callbacks.EarlyStopping(patience=10)], verbose=0)
    assert set(rnd_search_cv.best_params_) == {"n_hidden", "n_neurons", "learning_rate"}
    assert np.isfinite(rnd_search_cv.best_score_)
    model = rnd_search_cv.best_estimator_.model
    assert model.predict(x_valid[:2]).shape == (2, 1)
