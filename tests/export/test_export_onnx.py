"""model.export(format="onnx"): the graph runs in ONNX Runtime and matches predict."""
import numpy as np
import pytest

import gazelle as keras

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from _export_models import FAMILIES, inputs_for, predict  # noqa: E402

L = keras.layers


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_onnx_matches_predict_at_two_batch_sizes(family, tmp_path):
    model = FAMILIES[family]()
    path = tmp_path / f"{family}.onnx"
    model.export(path, format="onnx", verbose=False)
    session = _session(path)
    names = [i.name for i in session.get_inputs()]
    expected_names = (model.input_names if hasattr(model, "input_names")
                      else [model._input_layer.name])
    assert names == expected_names
    # The batch dimension is dynamic (a named dimension, not a number).
    for i in session.get_inputs():
        assert isinstance(i.shape[0], str)
    for batch in (1, 7):
        xs = inputs_for(model, batch, seed=batch)
        (out,) = session.run(None, dict(zip(names, xs)))
        np.testing.assert_allclose(out, predict(model, xs), rtol=1e-5, atol=1e-5)


def test_onnx_output_names_are_the_models(tmp_path):
    model = FAMILIES["two_inputs"]()
    model.export(tmp_path / "m.onnx", format="onnx", verbose=False)
    session = _session(tmp_path / "m.onnx")
    assert [o.name for o in session.get_outputs()] == ["probs"]
    assert [i.name for i in session.get_inputs()] == ["numbers", "extra"]


def test_onnx_matches_keras3_with_the_same_weights(tmp_path):
    import keras as k3
    gz = FAMILIES["mlp"]()
    ref = k3.Sequential([k3.Input(shape=(28, 28)), k3.layers.Flatten(),
                         k3.layers.Dense(30, activation="relu"), k3.layers.Dropout(0.2),
                         k3.layers.Dense(20, activation="tanh"),
                         k3.layers.Dense(10, activation="softmax")])
    ref.set_weights(gz.get_weights())
    gz.export(tmp_path / "mlp.onnx", format="onnx", verbose=False)
    x = inputs_for(gz, 5)[0]
    (out,) = _session(tmp_path / "mlp.onnx").run(None, {"input_1": x})
    np.testing.assert_allclose(out, np.asarray(ref.predict(x, verbose=0)), rtol=1e-5,
                               atol=1e-5)


def test_more_layers_match_predict(tmp_path):
    inp = keras.Input(shape=(16, 3))
    h = L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="swish")(inp)
    h = L.ReLU(max_value=1.0, negative_slope=0.1)(h)
    h = L.MaxPooling1D(2)(h)
    h = L.LeakyReLU(negative_slope=0.3)(h)
    a = L.GlobalAveragePooling1D()(h)
    m = L.GlobalMaxPooling1D()(h)
    h = L.Average()([L.Multiply()([a, m]), L.Subtract()([a, m])])
    h = L.Maximum()([h, L.Minimum()([a, m])])
    h = L.Reshape((2, 2))(h)
    h = L.Permute((2, 1))(h)
    h = L.Flatten()(L.Activation("softplus")(h))
    norm = L.Normalization(mean=[0.5, 0.2, 0.1, 0.0], variance=[1.0, 2.0, 0.5, 4.0])
    out = L.Dense(3, activation="log_softmax")(L.GaussianNoise(0.1)(norm(h)))
    model = keras.Model(inp, out)
    model.export(tmp_path / "more.onnx", format="onnx", verbose=False)
    x = np.random.default_rng(0).standard_normal((7, 16, 3)).astype("float32")
    (got,) = _session(tmp_path / "more.onnx").run(None, {model.input_names[0]: x})
    np.testing.assert_allclose(got, predict(model, [x]), rtol=1e-5, atol=1e-5)


def test_unsupported_layer_is_named(tmp_path):
    model = keras.Sequential([keras.Input(shape=(5, 5, 3)),
                              L.Conv2DTranspose(4, 3, name="my_deconv")])
    with pytest.raises(ValueError, match=r"my_deconv.*Conv2DTranspose.*format='jax'"):
        model.export(tmp_path / "x.onnx", format="onnx", verbose=False)
    assert not (tmp_path / "x.onnx").exists()


def test_mask_a_layer_cannot_apply_is_refused(tmp_path):
    # Masks from Embedding(mask_zero=True) export (tests/export/test_onnx_sequence.py);
    # a layer whose ONNX form cannot apply one is refused by name.
    model = keras.Sequential([keras.Input(shape=(4,)), L.Embedding(9, 2, mask_zero=True),
                              L.Softmax(name="probs")])
    with pytest.raises(ValueError, match="probs.*Keras mask"):
        model.export(tmp_path / "x.onnx", format="onnx", verbose=False)


def test_subclassed_model_points_at_jax(tmp_path):
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = L.Dense(2)

        def call(self, x):
            return self.d(x)

    net = Net()
    net(np.zeros((1, 3), "float32"))
    with pytest.raises(ValueError, match="subclassed.*format='jax'"):
        net.export(tmp_path / "x.onnx", format="onnx", verbose=False)


@pytest.mark.parametrize("fmt, match", [("tf_saved_model", "TensorFlow.*onnx.*jax"),
                                        ("litert", "Unsupported export format")])
def test_other_formats_are_refused(fmt, match, tmp_path):
    model = FAMILIES["mlp"]()
    with pytest.raises(ValueError, match=match):
        model.export(tmp_path / "x", format=fmt)


def test_unbuilt_model_is_refused(tmp_path):
    model = keras.Sequential([L.Dense(2)])
    with pytest.raises(ValueError, match="not built"):
        model.export(tmp_path / "x.onnx", format="onnx")


def test_verbose_message_and_unknown_kwargs(tmp_path, capsys):
    model = FAMILIES["mlp"]()
    model.export(tmp_path / "m.onnx", format="onnx")
    assert "Saved ONNX artifact" in capsys.readouterr().out
    with pytest.raises(ValueError, match="unexpected arguments"):
        model.export(tmp_path / "m.onnx", format="onnx", bogus=1)


def test_nested_sequential_inside_functional(tmp_path):
    block = keras.Sequential([keras.Input(shape=(6,)), L.Dense(4, activation="relu"),
                              L.Dense(4)], name="block")
    inp = keras.Input(shape=(6,), name="features")
    out = L.Dense(2, name="head")(L.Add()([block(inp), L.Dense(4)(inp)]))
    model = keras.Model(inp, out)
    model.export(tmp_path / "nested.onnx", format="onnx", verbose=False)
    x = np.random.default_rng(0).standard_normal((7, 6)).astype("float32")
    (got,) = _session(tmp_path / "nested.onnx").run(None, {"features": x})
    np.testing.assert_allclose(got, predict(model, [x]), rtol=1e-5, atol=1e-5)


def _two_outputs():
    a = keras.Input(shape=(3,), name="a")
    h = L.Dense(4, activation="relu")(a)
    return keras.Model(a, [L.Dense(2, name="o1")(h), L.Dense(1, name="o2")(h)])


def test_two_outputs_and_variable_length(tmp_path):
    model = _two_outputs()
    model.export(tmp_path / "two.onnx", format="onnx", verbose=False)
    session = _session(tmp_path / "two.onnx")
    assert [o.name for o in session.get_outputs()] == ["o1", "o2"]
    x = np.random.default_rng(0).standard_normal((7, 3)).astype("float32")
    for got, ref in zip(session.run(None, {"a": x}), model.predict(x, verbose=0)):
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    seq = keras.Sequential([keras.Input(shape=(None,), dtype="int32"), L.Embedding(20, 4),
                            L.GlobalAveragePooling1D(), L.Dense(2)])
    seq.export(tmp_path / "seq.onnx", format="onnx", verbose=False)
    session = _session(tmp_path / "seq.onnx")
    assert all(isinstance(d, str) for d in session.get_inputs()[0].shape)
    for length in (3, 11):
        ids = np.random.default_rng(length).integers(0, 20, (5, length)).astype("int32")
        (got,) = session.run(None, {session.get_inputs()[0].name: ids})
        np.testing.assert_allclose(got, predict(seq, [ids]), rtol=1e-5, atol=1e-5)


def test_input_signature_fixes_the_declared_shape(tmp_path):
    model = FAMILIES["mlp"]()
    model.export(tmp_path / "fixed.onnx", format="onnx", verbose=False,
                 input_signature=[keras.Input(batch_shape=(4, 28, 28))])
    assert _session(tmp_path / "fixed.onnx").get_inputs()[0].shape == [4, 28, 28]
    with pytest.raises(ValueError, match="input_signature has 2 entries"):
        model.export(tmp_path / "bad.onnx", format="onnx",
                     input_signature=[keras.Input(shape=(28, 28)), keras.Input(shape=(2,))])
