"""keras.utils.plot_model drawn with matplotlib (no pydot, no Graphviz): files in each
format, what the boxes say, nested models expanded, the layout's ranks, and errors."""
import pytest

import gazelle as keras
from gazelle.utils import model_plot

pytest.importorskip("matplotlib")


def _two_input_model():
    img = keras.Input((8, 8, 1), name="img")
    x = keras.layers.Flatten()(keras.layers.Conv2D(2, 3, activation="relu")(img))
    meta = keras.Input((5,), name="meta")
    y = keras.layers.Dense(4, name="meta_dense")(meta)
    out = keras.layers.Dense(3, activation="softmax", name="head")(
        keras.layers.Concatenate()([x, y]))
    return keras.Model([img, meta], out)


@pytest.mark.parametrize("ext, magic", [("png", b"\x89PNG"), ("pdf", b"%PDF"),
                                        ("svg", b"<?xml"), ("jpg", b"\xff\xd8")])
def test_writes_each_format(tmp_path, ext, magic):
    path = tmp_path / f"model.{ext}"
    keras.utils.plot_model(_two_input_model(), to_file=path, show_shapes=True, dpi=50)
    assert path.read_bytes().startswith(magic)


def test_svg_shows_names_shapes_activations_and_trainability(tmp_path):
    model = _two_input_model()
    model.get_layer("meta_dense").trainable = False
    path = tmp_path / "model.svg"
    keras.utils.plot_model(model, to_file=str(path), show_shapes=True, show_dtype=True,
                           show_layer_names=True, show_layer_activations=True,
                           show_trainable=True)
    text = path.read_text()
    for expected in ["img (InputLayer)", "head (Dense)", "Activation: softmax",
                     "Output shape: (None, 3)", "Input shape: (None, 5)", "Output dtype: float32",
                     "Non-trainable", "Trainable"]:
        assert expected in text, expected
    plain = tmp_path / "plain.svg"
    keras.utils.plot_model(model, to_file=plain)
    text = plain.read_text()
    assert "Concatenate" in text and "head (Dense)" not in text and "Output shape" not in text


def test_graph_edges_and_ranks_follow_the_model():
    model = _two_input_model()
    boxes, edges = model_plot._graph(model, expand_nested=False)
    names = [layer.name for layer, _ in boxes]
    named = {(names[a], names[b]) for a, b in edges}
    assert ("meta", "meta_dense") in named and ("meta_dense", "concatenate") in named
    rank = dict(zip(names, model_plot._ranks(len(boxes), edges)))
    assert rank["img"] == rank["meta"] == 0
    assert rank["concatenate"] == 3 and rank["head"] == 4     # longest path: img-conv-flatten


def test_expand_nested_replaces_the_inner_model_by_its_layers(tmp_path):
    inner = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3, name="a"),
                              keras.layers.Dense(2, name="b")], name="inner")
    x = keras.Input((6,), name="x")
    model = keras.Model(x, keras.layers.Dense(1, name="out")(inner(x)))
    boxes, edges = model_plot._graph(model, expand_nested=False)
    assert [l.name for l, _ in boxes] == ["x", "inner", "out"]
    boxes, edges = model_plot._graph(model, expand_nested=True)
    names = [prefix + layer.name for layer, prefix in boxes]
    assert "inner" not in names and {"inner/a", "inner/b"} <= set(names)
    chain = {(names[a], names[b]) for a, b in edges}
    assert chain == {("x", "inner/a"), ("inner/a", "inner/b"), ("inner/b", "out")}
    keras.utils.plot_model(model, to_file=tmp_path / "n.png", expand_nested=True,
                           rankdir="LR", show_layer_names=True)


def test_sequential_without_input_layer_is_a_chain():
    model = keras.Sequential([keras.layers.Dense(4), keras.layers.Dense(1)])
    model.build((None, 3))
    boxes, edges = model_plot._graph(model, expand_nested=False)
    assert len(boxes) == 2 and edges == [(0, 1)]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"rankdir": "XY"}, ValueError, "rankdir"),
    ({"layer_range": ["a", "b"]}, ValueError, "layer_range"),
    ({"colour": "red"}, ValueError, "colour"),
    ({"to_file": "model.xyz"}, ValueError, "xyz"),
])
def test_errors(tmp_path, kwargs, error, match):
    kwargs.setdefault("to_file", tmp_path / "m.png")
    with pytest.raises(error, match=match):
        keras.utils.plot_model(_two_input_model(), **kwargs)


def test_unbuilt_model_is_refused(tmp_path):
    with pytest.raises(ValueError, match="keras.Input"):
        keras.utils.plot_model(keras.Sequential([keras.layers.Dense(1)]),
                               to_file=tmp_path / "m.png")
