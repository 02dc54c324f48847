"""`keras.tree`: utilities for nested structures (lists, tuples, namedtuples, dicts, deques). [L0: stdlib]

The rules are Keras 3's: `None` is a leaf (unless `none_is_leaf=False`), dict values are
visited in sorted key order (insertion order when the keys cannot be sorted) while rebuilt
dicts keep their own key order, and only the built-in containers (list, tuple, namedtuple,
dict, OrderedDict, defaultdict, deque) are nested; arrays, strings and other objects are
leaves. Plain Python, no dependency.

```python
from gazelle import tree
tree.flatten({"b": 1, "a": [2, None]})                  # [2, None, 1]
tree.map_structure(lambda x: x * 2, (1, {"k": 3}))      # (2, {'k': 6})
```
"""
import collections


class MAP_TO_NONE:
    """Return this class from a `traverse` function to map a subtree to None."""


def _is_namedtuple(x):
    return isinstance(x, tuple) and type(x) is not tuple and hasattr(type(x), "_fields")


def _dict_keys(d):
    if type(d) is collections.OrderedDict:
        return list(d)
    try:
        return sorted(d)
    except TypeError:
        return list(d)


def _node(x, none_is_leaf=True):
    """(keys, children) of a container, or None for a leaf."""
    kind = type(x)
    if kind in (list, tuple, collections.deque) or _is_namedtuple(x):
        return list(range(len(x))), list(x)
    if kind in (dict, collections.OrderedDict, collections.defaultdict):
        keys = _dict_keys(x)
        return keys, [x[k] for k in keys]
    if x is None and not none_is_leaf:
        return [], []
    return None


def _rebuild(x, keys, children):
    kind = type(x)
    if kind is list:
        return list(children)
    if kind is tuple:
        return tuple(children)
    if kind is collections.deque:
        return collections.deque(children, maxlen=x.maxlen)
    if _is_namedtuple(x):
        return kind(*children)
    if x is None:
        return None
    values = dict(zip(keys, children))
    ordered = [(k, values[k]) for k in x]           # the structure's own key order
    if kind is collections.defaultdict:
        return collections.defaultdict(x.default_factory, ordered)
    return kind(ordered)


def is_nested(structure):
    """True if `structure` is a list, tuple, namedtuple, dict, OrderedDict, defaultdict or deque.

    ```python
    tree.is_nested([1]), tree.is_nested(None)          # (True, False)
    ```
    """
    return _node(structure) is not None


def _leaves(structure, none_is_leaf=True, is_leaf=None, path=()):
    if is_leaf is not None and is_leaf(structure):
        yield path, structure
        return
    node = _node(structure, none_is_leaf)
    if node is None:
        yield path, structure
        return
    for key, child in zip(*node):
        yield from _leaves(child, none_is_leaf, is_leaf, path + (key,))


def flatten(structure):
    """The leaves of `structure`, depth first (dict values by sorted key).

    ```python
    tree.flatten({"b": 1, "a": (2, 3)})                 # [2, 3, 1]
    ```
    """
    return [leaf for _, leaf in _leaves(structure)]


def flatten_with_path(structure):
    """`(path, leaf)` pairs; a path is the tuple of indices and keys leading to the leaf.

    ```python
    tree.flatten_with_path({"a": [5]})                  # [(('a', 0), 5)]
    ```
    """
    return list(_leaves(structure))


def _mismatch(a, b):
    return ValueError("Structures don't have the same nested structure: "
                      f"{_describe(a)} vs {_describe(b)}.")


def _describe(x):
    text = repr(x)
    return text if len(text) <= 80 else text[:77] + "..."


def _same_node(a, b, none_is_leaf=True):
    """Raises ValueError unless a and b are the same kind of container with the same keys."""
    na, nb = _node(a, none_is_leaf), _node(b, none_is_leaf)
    if na is None or nb is None:
        if (na is None) != (nb is None):
            raise _mismatch(a, b)
        return None
    if type(a) is not type(b) and not (isinstance(a, dict) and isinstance(b, dict)):
        raise ValueError(f"Structures don't have the same nested structure: expected an "
                         f"instance of {type(a).__name__}, got {_describe(b)}.")
    if sorted(map(repr, na[0])) != sorted(map(repr, nb[0])):
        raise ValueError(f"Structures don't have the same nested structure: keys "
                         f"{na[0]} vs {nb[0]}.")
    return na


def _map(func, structures, none_is_leaf):
    first = structures[0]
    for other in structures[1:]:
        _same_node(first, other, none_is_leaf)
    node = _node(first, none_is_leaf)
    if node is None:
        return func(*structures)
    keys = node[0]
    return _rebuild(first, keys, [_map(func, [s[k] for s in structures], none_is_leaf)
                                  for k in keys])


def _map_up_to(shallow, func, structures):
    node = _node(shallow)
    if node is None:
        return func(*structures)
    for s in structures:
        _same_node(shallow, s)
    keys = node[0]
    return _rebuild(shallow, keys, [_map_up_to(shallow[k], func, [s[k] for s in structures])
                                    for k in keys])


def map_structure(func, *structures, none_is_leaf=True):
    """Applies `func` to the leaves of one or more same-shaped structures.

    Args:
        func: called with one leaf from each structure.
        *structures: structures with the same nesting.
        none_is_leaf: when False, None is an empty container and stays None.

    ```python
    tree.map_structure(lambda a, b: a + b, [1, (2,)], [10, (20,)])   # [11, (22,)]
    ```
    """
    if not structures:
        raise ValueError("map_structure: pass at least one structure.")
    return _map(func, structures, none_is_leaf)


def map_structure_up_to(shallow_structure, func, *structures):
    """Like `map_structure`, but only down to the leaves of `shallow_structure`: `func`
    receives whatever subtrees of `structures` sit there.

    ```python
    tree.map_structure_up_to([0, 0], len, [[1, 2], (3,)])           # [2, 1]
    ```
    """
    if not structures:
        raise ValueError("map_structure_up_to: pass at least one structure.")
    return _map_up_to(shallow_structure, func, structures)


def assert_same_structure(a, b, check_types=None):
    """Raises ValueError unless `a` and `b` nest the same way (containers, keys, lengths).

    `check_types` is deprecated in Keras and has no effect.
    """
    _map(lambda x, y: None, (a, b), True)


def _paths(structure):
    return {path for path, _ in _leaves(structure)}


def assert_same_paths(a, b):
    """Raises ValueError unless `a` and `b` have the same leaf paths (list, tuple and
    namedtuple count as matching)."""
    pa, pb = _paths(a), _paths(b)
    if pa != pb:
        msg = "`a` and `b` don't have the same paths."
        if pa - pb:
            msg += f"\nPaths in `a` missing in `b`:\n{pa - pb}"
        if pb - pa:
            msg += f"\nPaths in `b` missing in `a`:\n{pb - pa}"
        raise ValueError(msg)


def pack_sequence_as(structure, flat_sequence):
    """Builds a structure like `structure` from the leaves in `flat_sequence`.

    ```python
    tree.pack_sequence_as({"b": 0, "a": [0, 0]}, [1, 2, 3])       # {'b': 3, 'a': [1, 2]}
    ```
    """
    flat = list(flat_sequence)
    expected = sum(1 for _ in _leaves(structure))
    if len(flat) != expected:
        raise ValueError(f"pack_sequence_as: the structure has {expected} leaves, but "
                         f"flat_sequence has {len(flat)} items.")
    it = iter(flat)

    def build(x):
        node = _node(x)
        if node is None:
            return next(it)
        return _rebuild(x, node[0], [build(c) for c in node[1]])

    return build(structure)


def traverse(func, structure, top_down=True):
    """Applies `func` to every node (containers and leaves).

    Top down, a result other than None replaces the node and its subtree is not visited; None
    means "keep going". Bottom up, `func` sees nodes whose children are already traversed.
    Returning `MAP_TO_NONE` maps a node to None.
    """
    def children(x):
        node = _node(x)
        if node is None:
            return x
        return _rebuild(x, node[0], [traverse(func, c, top_down) for c in node[1]])

    if top_down:
        result = func(structure)
        if result is None:
            return children(structure)
    else:
        structure = children(structure)
        result = func(structure)
        if result is None:
            return structure
    if isinstance(result, type) and result.__name__ == "MAP_TO_NONE":
        return None
    return result


def lists_to_tuples(structure):
    """`structure` with every list turned into a tuple, recursively."""
    return traverse(lambda x: tuple(x) if isinstance(x, list) else None, structure,
                    top_down=False)


def map_shape_structure(func, structure):
    """Like `map_structure`, but tuples/lists of ints and None (shapes) count as leaves.

    ```python
    tree.map_shape_structure(lambda s: s[-1], {"a": (None, 3)})     # {'a': 3}
    ```
    """
    def is_shape(x):
        return isinstance(x, (list, tuple)) and all(isinstance(e, (int, type(None))) for e in x)

    def walk(x):
        if is_shape(x):
            return func(x)
        node = _node(x)
        if node is None:
            return func(x)
        return _rebuild(x, node[0], [walk(c) for c in node[1]])

    return walk(structure)
