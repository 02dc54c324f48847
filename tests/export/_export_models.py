"""The model families the export tests run: builders and matching random inputs."""
import numpy as np

import gazelle as keras

L = keras.layers


def mlp():
    return keras.Sequential([keras.Input(shape=(28, 28)), L.Flatten(),
                             L.Dense(30, activation="relu"), L.Dropout(0.2),
                             L.Dense(20, activation="tanh"),
                             L.Dense(10, activation="softmax")])


def cnn():
    return keras.Sequential([
        keras.Input(shape=(12, 12, 3)), L.Rescaling(1 / 255.0),
        L.Conv2D(6, 3, padding="same", activation="relu"), L.MaxPooling2D(),
        L.Conv2D(4, 3, strides=2, activation="elu"), L.AveragePooling2D(padding="same"),
        L.Flatten(), L.Dense(5)])


def two_inputs():
    a = keras.Input(shape=(6,), name="numbers")
    b = keras.Input(shape=(4,), name="extra")
    h = L.Concatenate()([L.Dense(5, activation="gelu")(a), b])
    h = L.Add()([L.Dense(7)(h), L.Dense(7, activation="sigmoid")(h)])
    return keras.Model([a, b], L.Dense(3, activation="softmax", name="probs")(h))


def embedding():
    return keras.Sequential([keras.Input(shape=(9,), dtype="int32"), L.Embedding(50, 8),
                             L.GlobalAveragePooling1D(), L.LayerNormalization(),
                             L.Dense(2)])


def batchnorm():
    model = keras.Sequential([keras.Input(shape=(8, 8, 2)), L.Conv2D(4, 3),
                              L.BatchNormalization(), L.ReLU(),
                              L.GlobalMaxPooling2D(), L.Dense(6), L.BatchNormalization(),
                              L.Softmax()])
    rng = np.random.default_rng(3)
    for layer in model.layers:           # non-trivial moving statistics
        if type(layer).__name__ == "BatchNormalization":
            n = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.standard_normal(n).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, n).astype("float32"))
            layer.gamma.assign(rng.uniform(0.5, 1.5, n).astype("float32"))
            layer.beta.assign(rng.standard_normal(n).astype("float32"))
    return model


FAMILIES = {"mlp": mlp, "cnn": cnn, "two_inputs": two_inputs, "embedding": embedding,
            "batchnorm": batchnorm}


def inputs_for(model, batch, seed=0):
    """Random inputs (a list, one per model input) of the model's declared shapes/dtypes."""
    rng = np.random.default_rng(seed)
    out = []
    tensors = model.inputs if hasattr(model, "_input_tensors") else [model._input_layer.output]
    for t in tensors:
        shape = (batch,) + tuple(t.shape[1:])
        if "int" in str(t.dtype):
            out.append(rng.integers(0, 50, shape).astype(str(t.dtype)))
        else:
            scale = 255.0 if shape[1:] == (12, 12, 3) else 1.0
            out.append((rng.standard_normal(shape) * scale).astype("float32"))
    return out


def predict(model, xs):
    return np.asarray(model.predict(xs[0] if len(xs) == 1 else xs, verbose=0))
