"""Functional API: graphs of layers, several inputs and outputs, tf.keras 2 log names."""
import numpy as np
import pytest

import gazelle as keras


def housing_like(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 8)).astype("float32")
    y = (x @ rng.standard_normal(8) + 0.3 * np.sin(3 * x[:, 0])).astype("float32")
    return x, y



def wide_and_deep():
    input_ = keras.layers.Input(shape=[8])
    hidden1 = keras.layers.Dense(30, activation="relu")(input_)
    hidden2 = keras.layers.Dense(30, activation="relu")(hidden1)
    output = keras.layers.Dense(1)(hidden2)
    return keras.models.Model(inputs=[input_], outputs=[output]), input_


def test_keras_model_with_inputs_builds_functional():
    model, _ = wide_and_deep()
    assert type(model).__name__ == "Functional" and isinstance(model, keras.Model)
    assert [l.name for l in model.layers] == ["input_1", "dense", "dense_1", "dense_2"]
    assert model.count_params() == 8 * 30 + 30 + 30 * 30 + 30 + 31


def test_functional_forward_matches_keras3():
    import keras as k3
    model, _ = wide_and_deep()
    i = k3.Input((8,))
    h = k3.layers.Dense(30, activation="relu")(i)
    h = k3.layers.Dense(30, activation="relu")(h)
    theirs = k3.Model(i, k3.layers.Dense(1)(h))
    theirs.set_weights(model.get_weights())
    x, _ = housing_like(20)
    np.testing.assert_allclose(model.predict(x), theirs.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)


def test_single_output_list_predicts_an_array_and_trains():
    model, _ = wide_and_deep()
    model.compile(loss="mean_squared_error", optimizer="sgd")
    x, y = housing_like()
    h = model.fit(x, y, epochs=3, validation_split=0.25, verbose=0)
    assert list(h.history) == ["loss", "val_loss"]
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert isinstance(model.predict(x[:3]), np.ndarray) and model.predict(x[:3]).shape == (3, 1)


def test_multi_input_multi_output_names_and_returns():
    input_a = keras.layers.Input(shape=[5], name="wide_input")
    input_b = keras.layers.Input(shape=[6], name="deep_input")
    hidden = keras.layers.Dense(30, activation="relu")(input_b)
    hidden = keras.layers.Dense(30, activation="relu")(hidden)
    out_wide = keras.layers.Dense(1, name="wide_out")(input_a)
    out_main = keras.layers.Dense(1, name="main_output")(hidden)
    out_aux = keras.layers.Dense(1, name="aux_output")(hidden)
    model = keras.Model(inputs=[input_a, input_b], outputs=[out_main, out_aux])
    model.compile(loss=["mse", "mse"], loss_weights=[0.9, 0.1], optimizer="sgd",
                  metrics=["mae"])
    x, y = housing_like(200)
    xa, xb = x[:, :5], x[:, 2:]
    h = model.fit((xa, xb), [y, y], epochs=2, validation_data=((xa, xb), [y, y]),
                  verbose=0)
    assert list(h.history) == [
        "loss", "main_output_loss", "aux_output_loss", "main_output_mae", "aux_output_mae",
        "val_loss", "val_main_output_loss", "val_aux_output_loss", "val_main_output_mae",
        "val_aux_output_mae"]
    total, main, aux, *metrics = model.evaluate([xa, xb], [y, y], verbose=0)
    np.testing.assert_allclose(total, 0.9 * main + 0.1 * aux, rtol=1e-5)
    assert len(metrics) == 2
    preds = model.predict([xa, xb])
    assert isinstance(preds, list) and [p.shape for p in preds] == [(200, 1), (200, 1)]
    named = model.predict({"wide_input": xa, "deep_input": xb})
    np.testing.assert_allclose(named[0], preds[0], rtol=1e-6)
    assert out_wide is not None      # an unused branch is simply not part of the model


def test_dict_losses_and_targets_by_output_name():
    inp = keras.Input(shape=(8,))
    hidden = keras.layers.Dense(10, activation="relu")(inp)
    a = keras.layers.Dense(1, name="a")(hidden)
    b = keras.layers.Dense(3, activation="softmax", name="b")(hidden)
    model = keras.Model(inp, [a, b])
    model.compile(optimizer="adam", loss={"a": "mse", "b": "sparse_categorical_crossentropy"},
                  metrics={"b": ["accuracy"]})
    x, y = housing_like(64)
    labels = (y > 0).astype("int32") + (y > 1)
    h = model.fit(x, {"a": y, "b": labels}, epochs=1, verbose=0)
    assert list(h.history) == ["loss", "a_loss", "b_loss", "b_accuracy"]


def test_functional_input_shape_error_is_clear():
    model, _ = wide_and_deep()
    with pytest.raises(ValueError, match=r"input_1.*expects shape \(None, 8\)"):
        model.predict(np.zeros((2, 7), "float32"))


def test_graph_disconnected_is_reported():
    a = keras.Input(shape=(3,))
    b = keras.Input(shape=(3,))
    out = keras.layers.Dense(1)(b)
    with pytest.raises(ValueError, match="Graph disconnected"):
        keras.Model(inputs=a, outputs=out)


def test_subclassed_wide_and_deep_trains():
    class WideAndDeep(keras.models.Model):
        def __init__(self, units=30, activation="relu", **kwargs):
            super().__init__(**kwargs)
            self.hidden1 = keras.layers.Dense(units, activation=activation)
            self.hidden2 = keras.layers.Dense(units, activation=activation)
            self.main_output = keras.layers.Dense(1)
            self.aux_output = keras.layers.Dense(1)

        def call(self, inputs):
            input_a, input_b = inputs
            hidden1 = self.hidden1(input_b)
            hidden2 = self.hidden2(hidden1)
            concat = keras.ops.concatenate([input_a, hidden2], axis=-1)
            return self.main_output(concat), self.aux_output(hidden2)

    model = WideAndDeep()
    model.compile(loss=["mse", "mse"], loss_weights=[0.9, 0.1], optimizer="sgd")
    x, y = housing_like(128)
    h = model.fit((x[:, :5], x[:, 2:]), (y, y), epochs=3, verbose=0)
    assert list(h.history) == ["loss", "output_1_loss", "output_2_loss"]
    assert h.history["loss"][-1] < h.history["loss"][0]


WIDE_DEEP_SUMMARY = """\
Model: "model"
__________________________________________________________________________________________________
Layer (type)                    Output Shape         Param #     Connected to
==================================================================================================
input_1 (InputLayer)            [(None, 8)]          0
__________________________________________________________________________________________________
dense (Dense)                   (None, 30)           270         input_1[0][0]
__________________________________________________________________________________________________
dense_1 (Dense)                 (None, 30)           930         dense[0][0]
__________________________________________________________________________________________________
concatenate (Concatenate)       (None, 38)           0           input_1[0][0]
                                                                 dense_1[0][0]
__________________________________________________________________________________________________
dense_2 (Dense)                 (None, 1)            39          concatenate[0][0]
==================================================================================================
Total params: 1,239
Trainable params: 1,239
Non-trainable params: 0
__________________________________________________________________________________________________"""


def test_functional_summary_has_the_tf_keras_connected_to_layout():
    input_ = keras.layers.Input(shape=[8])
    hidden1 = keras.layers.Dense(30, activation="relu")(input_)
    hidden2 = keras.layers.Dense(30, activation="relu")(hidden1)
    concat = keras.layers.concatenate([input_, hidden2])
    output = keras.layers.Dense(1)(concat)
    model = keras.models.Model(inputs=[input_], outputs=[output])
    lines = []
    model.summary(print_fn=lines.append)
    assert [line.rstrip() for line in lines] == WIDE_DEEP_SUMMARY.splitlines()
    assert all(len(line) == 98 for line in lines[1:-4])
