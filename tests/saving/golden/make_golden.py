"""Makes the golden files in this folder with Keras 3 (JAX backend). Run from the repo root:

    KERAS_BACKEND=jax python tests/saving/golden/make_golden.py

Each model is trained for a few Adam steps (so the files hold optimizer state), saved as
`<name>.keras`, and its predictions on `inputs_<name>.npy` are saved as `expected_<name>.npy`.
"""
import os
import pathlib

os.environ["KERAS_BACKEND"] = "jax"
import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = pathlib.Path(__file__).parent


def mlp():
    return keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(3, activation="softmax")]), (8,), 3


def cnn():
    return keras.Sequential([
        keras.Input((12, 12, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.BatchNormalization(), keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(), keras.layers.Dropout(0.5),
        keras.layers.Dense(3, activation="softmax")]), (12, 12, 1), 3


def wide_deep():
    inp = keras.Input((8,))
    hidden = keras.layers.Dense(10, activation="relu")(inp)
    hidden = keras.layers.Dense(10, activation="relu")(hidden)
    concat = keras.layers.concatenate([inp, hidden])
    return keras.Model(inp, keras.layers.Dense(1)(concat)), (8,), None


def main():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    for name, make in (("mlp", mlp), ("cnn", cnn), ("wide_deep", wide_deep)):
        model, shape, classes = make()
        x = rng.standard_normal((24,) + shape).astype("float32")
        if classes:
            y = rng.integers(0, classes, 24)
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                          metrics=["accuracy"])
        else:
            y = rng.standard_normal((24, 1)).astype("float32")
            model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        model.save(HERE / f"{name}.keras")
        np.save(HERE / f"inputs_{name}.npy", x[:5])
        np.save(HERE / f"expected_{name}.npy", model.predict(x[:5], verbose=0))


if __name__ == "__main__":
    main()
