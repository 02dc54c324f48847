"""Sequential: the two construction styles of the tutorial, building, pop, errors."""
import numpy as np
import pytest

import gazelle as keras


def tutorial_layers():
    return [keras.layers.Flatten(input_shape=[28, 28]),
            keras.layers.Dense(300, activation="relu"),
            keras.layers.Dense(100, activation="relu"),
            keras.layers.Dense(10, activation="softmax")]


def test_add_and_list_give_the_same_model():
    a = keras.models.Sequential()
    for layer in tutorial_layers():
        a.add(layer)
    b = keras.models.Sequential(tutorial_layers())
    assert a.built and b.built
    assert [type(l).__name__ for l in a.layers] == [type(l).__name__ for l in b.layers]
    assert a.count_params() == b.count_params() == 266610
    assert [l.output_shape for l in b.layers] == [(None, 784), (None, 300), (None, 100),
                                                 (None, 10)]


def test_names_follow_keras_counters():
    model = keras.models.Sequential(tutorial_layers())
    assert model.name == "sequential"
    assert [l.name for l in model.layers] == ["flatten", "dense", "dense_1", "dense_2"]
    assert keras.models.Sequential().name == "sequential_1"


def test_input_first_builds_the_model():
    model = keras.models.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(2)])
    assert model.built and len(model.layers) == 1
    assert model.layers[0].output_shape == (None, 2)


def test_lazy_build_on_first_call_and_predict():
    model = keras.models.Sequential([keras.layers.Dense(4), keras.layers.Dense(1)])
    assert not model.built
    out = model(np.ones((3, 5), "float32"))
    assert out.shape == (3, 1) and model.built
    assert model.predict(np.ones((70, 5), "float32")).shape == (70, 1)


def test_build_with_input_shape():
    model = keras.models.Sequential([keras.layers.Dense(4)])
    model.build((None, 6))
    assert model.count_params() == 28


def test_call_matches_keras_sequential():
    import keras as k3
    x = np.random.default_rng(0).standard_normal((5, 28, 28)).astype("float32")
    ours = keras.models.Sequential(tutorial_layers())
    theirs = k3.models.Sequential([k3.Input((28, 28)), k3.layers.Flatten(),
                                   k3.layers.Dense(300, activation="relu"),
                                   k3.layers.Dense(100, activation="relu"),
                                   k3.layers.Dense(10, activation="softmax")])
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours.predict(x), theirs.predict(x, verbose=0), rtol=1e-5,
                               atol=1e-6)


def test_pop_removes_last_layer():
    model = keras.models.Sequential(tutorial_layers())
    last = model.pop()
    assert last.name == "dense_2" and len(model.layers) == 3


def test_add_rejects_non_layers():
    with pytest.raises(TypeError, match="instance of class Layer"):
        keras.models.Sequential([np.zeros(3)])


def test_get_layer_by_name_and_index():
    model = keras.models.Sequential(tutorial_layers())
    assert model.get_layer("dense_1") is model.layers[2]
    assert model.get_layer(index=-1) is model.layers[-1]
    with pytest.raises(ValueError, match="No such layer"):
        model.get_layer("nope")


def test_subclassed_model_tracks_sublayers():
    class Wide(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = keras.layers.Dense(30, activation="relu")
            self.out = keras.layers.Dense(1)

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    model = Wide()
    model.build((None, 8))
    assert model.count_params() == 8 * 30 + 30 + 31
    assert [w.path for w in model.weights] == ["dense/kernel", "dense/bias",
                                               "dense_1/kernel", "dense_1/bias"]


def test_declared_input_shape_is_checked_with_layer_name():
    model = keras.models.Sequential(tutorial_layers())
    with pytest.raises(ValueError, match=r"flatten.*expected shape=\(None, 28, 28\), "
                                         r"found shape=\(2, 784\)"):
        model(np.zeros((2, 784), "float32"))


EXPECTED_SUMMARY = """\
Model: "sequential"
_________________________________________________________________
Layer (type)                 Output Shape              Param #
=================================================================
flatten (Flatten)            (None, 784)               0
_________________________________________________________________
dense (Dense)                (None, 300)               235500
_________________________________________________________________
dense_1 (Dense)              (None, 100)               30100
_________________________________________________________________
dense_2 (Dense)              (None, 10)                1010
=================================================================
Total params: 266,610
Trainable params: 266,610
Non-trainable params: 0
_________________________________________________________________"""


def test_summary_prints_the_tutorial_table_exactly():
    model = keras.models.Sequential(tutorial_layers())
    lines = []
    model.summary(print_fn=lines.append)
    assert [line.rstrip() for line in lines] == EXPECTED_SUMMARY.splitlines()
    assert all(len(line) == 65 for line in lines[1:] if line.startswith(("_", "=")))
    assert len(lines[3]) == 65     # rows are padded to the last column end


def test_summary_before_build_is_a_clear_error():
    model = keras.models.Sequential([keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="not yet been built"):
        model.summary()


def test_subclassed_summary_says_multiple_like_tf_keras():
    class Wide(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = keras.layers.Dense(30, activation="relu")
            self.out = keras.layers.Dense(1)

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    model = Wide()
    model.build((None, 8))
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[0] == 'Model: "wide"'
    assert lines[4].split() == ["dense", "(Dense)", "multiple", "270"]
    assert lines[-4] == "Total params: 301"
