"""model.summary(): the tf.keras 2.0 table, exactly, on duck-typed models.

The expected table is the one tf.keras 2.0 prints for the course's MNIST MLP; row lines are
padded to the column ends 29/55/65 (positions [.45, .85, 1.] of 65 characters).
"""
import numpy as np
import pytest

from gazelle.utils.summary import (FUNCTIONAL_HEADER, FUNCTIONAL_LINE_LENGTH,
                                   FUNCTIONAL_POSITIONS, format_row, print_summary,
                                   resolve_positions, summary_lines, table_lines)


class FakeVariable:
    def __init__(self, *shape):
        self.shape = shape


class FakeLayer:
    def __init__(self, name, output_shape, variables=()):
        self.name = name
        self.output_shape = output_shape
        self.variables = list(variables)

    def count_params(self):
        return sum(int(np.prod(v.shape)) for v in self.variables)


class Flatten(FakeLayer):
    pass


class Dense(FakeLayer):
    pass


class BatchNormalization(FakeLayer):
    pass


class Sequential:  # duck-typed; the name selects the layout, as for the real class
    def __init__(self, layers, name="sequential", non_trainable=()):
        self.name = name
        self.layers = layers
        self.built = True
        variables = [v for layer in layers for v in layer.variables]
        self.non_trainable_weights = list(non_trainable)
        self.trainable_weights = [v for v in variables
                                  if all(v is not n for n in non_trainable)]


def dense(name, n_in, n_out):
    return Dense(name, (None, n_out), [FakeVariable(n_in, n_out), FakeVariable(n_out)])


def mlp():
    return Sequential([Flatten("flatten", (None, 784)), dense("dense", 784, 300),
                      dense("dense_1", 300, 100), dense("dense_2", 100, 10)])


def row(name, shape, params):
    return name.ljust(29) + shape.ljust(26) + params.ljust(10)


COURSE_SUMMARY = [
    'Model: "sequential"',
    "_" * 65,
    row("Layer (type)", "Output Shape", "Param #"),
    "=" * 65,
    row("flatten (Flatten)", "(None, 784)", "0"),
    "_" * 65,
    row("dense (Dense)", "(None, 300)", "235500"),
    "_" * 65,
    row("dense_1 (Dense)", "(None, 100)", "30100"),
    "_" * 65,
    row("dense_2 (Dense)", "(None, 10)", "1010"),
    "=" * 65,
    "Total params: 266,610",
    "Trainable params: 266,610",
    "Non-trainable params: 0",
    "_" * 65,
]


def test_course_mlp_summary_is_exact():
    assert summary_lines(mlp()) == COURSE_SUMMARY


def test_print_fn_is_called_once_per_line():
    lines = []
    print_summary(mlp(), print_fn=lines.append)
    assert lines == COURSE_SUMMARY


def test_default_print_fn_prints(capsys):
    print_summary(mlp())
    assert capsys.readouterr().out == "\n".join(COURSE_SUMMARY) + "\n"


def test_shared_and_non_trainable_variables_are_counted_once():
    gamma, beta, mean, var = (FakeVariable(4) for _ in range(4))
    bn = BatchNormalization("batch_normalization", (None, 4), [gamma, beta, mean, var])
    shared = FakeVariable(4, 4)
    a = Dense("a", (None, 4), [shared])
    b = Dense("b", (None, 4), [shared])
    model = Sequential([bn, a, b], non_trainable=[mean, var])
    model.trainable_weights.append(shared)  # listed twice on purpose
    lines = summary_lines(model)
    assert lines[-4:-1] == ["Total params: 32", "Trainable params: 24",
                            "Non-trainable params: 8"]


def test_thousands_separators():
    model = Sequential([dense("big", 1000, 1000)])
    assert summary_lines(model)[-4] == "Total params: 1,001,000"


def test_long_fields_are_cut_at_the_column_end_with_one_space():
    name = "a_layer_name_that_is_far_too_long"
    model = Sequential([Dense(name, (None, 3), [])])
    line = summary_lines(model)[4]
    assert line == (name + " (Dense)")[:28] + " " + "(None, 3)".ljust(26) + "0".ljust(10)


def test_missing_output_shape_shows_multiple():
    layer = Dense("d", None, [])
    del layer.output_shape
    model = Sequential([layer])
    assert summary_lines(model)[4] == row("d (Dense)", "multiple", "0")


def test_line_length_and_absolute_positions():
    lines = summary_lines(mlp(), line_length=80, positions=[30, 60, 80])
    assert lines[1] == "_" * 80
    assert lines[2] == "Layer (type)".ljust(30) + "Output Shape".ljust(30) + "Param #".ljust(20)


def test_unbuilt_model_raises():
    model = mlp()
    model.built = False
    with pytest.raises(ValueError, match="not yet been built"):
        summary_lines(model)


@pytest.mark.parametrize("kwargs, match", [
    ({"positions": [0.5, 1.0]}, "positions.*3 entries"),
    ({"line_length": -5}, "line_length.*positive integer.*-5"),
])
def test_bad_arguments_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        summary_lines(mlp(), **kwargs)


def test_table_lines_serve_a_four_column_layout():
    positions = resolve_positions(FUNCTIONAL_LINE_LENGTH, FUNCTIONAL_POSITIONS)
    assert positions == [32, 53, 65, 98]
    rows = [[["input_1 (InputLayer)", [(None, 8)], 0, ""]],
            [["add (Add)", (None, 8), 0, "input_1[0][0]"], ["", "", "", "input_1[0][0]"]]]
    lines = table_lines("model", FUNCTIONAL_HEADER, rows, 0, 0, 98, positions)
    assert lines[2] == format_row(FUNCTIONAL_HEADER, positions)
    assert lines[2].rstrip() == ("Layer (type)".ljust(32) + "Output Shape".ljust(21)
                                 + "Param #".ljust(12) + "Connected to")
    assert lines[4].rstrip() == "input_1 (InputLayer)".ljust(32) + "[(None, 8)]".ljust(21) + "0"
    assert lines[5] == "_" * 98
    assert lines[7].rstrip() == " " * 65 + "input_1[0][0]"
    assert lines[8] == "=" * 98
