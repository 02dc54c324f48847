"""gazelle.tree against keras.tree on the same structures: same results, same errors."""
import collections

import numpy as np
import pytest

import gazelle
import keras as k3
from gazelle import tree

Point = collections.namedtuple("Point", "x y")

STRUCTURES = [
    1, None, "text", np.ones(2), [], (), {}, [1], (None,), [1, [2, (3, None)]],
    {"b": 1, "a": [2, None], "c": {"z": 3, "y": (4,)}},
    Point(1, [2, 3]), collections.OrderedDict([("b", 1), ("a", 2)]),
    collections.defaultdict(list, {"b": [1], "a": 2}), collections.deque([1, (2, 3)]),
    {1: "int key", "x": "str key"}, [Point((1, 2), None), {"k": collections.deque([4])}],
]


def same(a, b):
    assert type(a) is type(b), (a, b)
    if isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, (list, tuple, collections.deque)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            same(a[k], b[k])
    else:
        assert a == b


@pytest.mark.parametrize("s", STRUCTURES, ids=lambda s: type(s).__name__)
def test_structure_functions_match_keras(s):
    assert tree.is_nested(s) == k3.tree.is_nested(s)
    same(tree.flatten(s), k3.tree.flatten(s))
    same(tree.flatten_with_path(s), k3.tree.flatten_with_path(s))
    double = lambda x: None if x is None else x * 2  # noqa: E731
    same(tree.map_structure(double, s), k3.tree.map_structure(double, s))
    same(tree.map_structure(lambda a, b: (a, b), s, s), k3.tree.map_structure(lambda a, b: (a, b), s, s))
    flat = list(range(len(k3.tree.flatten(s))))
    same(tree.pack_sequence_as(s, flat), k3.tree.pack_sequence_as(s, flat))
    same(tree.lists_to_tuples(s), k3.tree.lists_to_tuples(s))
    tree.assert_same_structure(s, s)
    tree.assert_same_paths(s, s)


def test_traverse_matches_keras():
    s = [1, (2, {"a": 3, "b": [4]})]
    pairs = [
        (lambda x: x * 10 if isinstance(x, int) else None,) * 2,
        (lambda x: tree.MAP_TO_NONE if x == 2 else None,
         lambda x: k3.tree.MAP_TO_NONE if x == 2 else None),
        (lambda x: "one" if isinstance(x, list) and len(x) == 1 else None,) * 2,
        (lambda x: len(x) if isinstance(x, (list, tuple)) else None,) * 2,
    ]
    for mine, theirs in pairs:
        same(tree.traverse(mine, s), k3.tree.traverse(theirs, s))
        same(tree.traverse(mine, s, top_down=False), k3.tree.traverse(theirs, s, top_down=False))


def test_map_structure_up_to_and_shapes_and_none():
    args = ({"a": 0, "b": 0}, lambda x, y: (x, y), {"a": [1, 2], "b": 3}, {"a": 5, "b": 6})
    same(tree.map_structure_up_to(*args), k3.tree.map_structure_up_to(*args))
    same(tree.map_structure_up_to([0, 0], len, [[1, 2], (3,)]),
         k3.tree.map_structure_up_to([0, 0], len, [[1, 2], (3,)]))
    shapes = {"a": (None, 3), "b": [(2,), (4, 5)], "c": ()}
    same(tree.map_shape_structure(lambda s: s, shapes), k3.tree.map_shape_structure(lambda s: s, shapes))
    same(tree.map_structure(lambda x: x, [1, None], none_is_leaf=False),
         k3.tree.map_structure(lambda x: x, [1, None], none_is_leaf=False))


@pytest.mark.parametrize("call", [
    lambda t: t.map_structure(lambda a, b: a, [1, 2], (1, 2)),
    lambda t: t.map_structure(lambda a, b: a, {"a": 1}, {"b": 1}),
    lambda t: t.map_structure(lambda a, b: a, [1, 2], [1, [2]]),
    lambda t: t.assert_same_structure([1, 2], [1, [2]]),
    lambda t: t.assert_same_structure([1, 2], [1, 2, 3]),
    lambda t: t.pack_sequence_as([0, 0], [1]),
    lambda t: t.assert_same_paths([1, 2], [1]),
    lambda t: t.map_structure_up_to([0, 0], len, [1]),
])
def test_mismatches_raise_value_error_like_keras(call):
    with pytest.raises(ValueError):
        call(k3.tree)
    with pytest.raises(ValueError):
        call(tree)


def test_assert_same_paths_accepts_list_vs_tuple():
    tree.assert_same_paths([1, 2], (3, 4))
    k3.tree.assert_same_paths([1, 2], (3, 4))


def test_tree_is_a_gazelle_submodule_and_has_every_keras_name():
    assert gazelle.tree is tree
    names = [n for n in dir(k3.tree) if not n.startswith("_")]
    assert [n for n in names if not hasattr(tree, n)] == []
