"""The public training API carries type hints that resolve, and the package says so
(py.typed), so editors and type checkers can use them."""
import pathlib
import typing

import numpy as np

import gazelle
from gazelle.callbacks import Callback, History
from gazelle.models.model import Model

METHODS = ["compile", "fit", "evaluate", "predict", "train_on_batch", "test_on_batch",
           "predict_on_batch", "save", "save_weights", "load_weights", "summary"]


def test_py_typed_ships_with_the_package():
    assert (pathlib.Path(gazelle.__file__).parent / "py.typed").is_file()
    text = (pathlib.Path(gazelle.__file__).parents[1] / "pyproject.toml").read_text()
    assert '"gazelle" = ["py.typed"]' in text


def test_public_model_methods_are_annotated_and_resolve():
    names = {"Callback": Callback, "History": History, "np": np}
    for name in METHODS:
        hints = typing.get_type_hints(getattr(Model, name), localns=names)
        assert "return" in hints, name
        params = [p for p in __import__("inspect").signature(getattr(Model, name)).parameters
                  if p not in ("self", "kwargs")]
        assert all(p in hints for p in params), (name, [p for p in params if p not in hints])
    assert typing.get_type_hints(Model.fit, localns=names)["return"] is History
