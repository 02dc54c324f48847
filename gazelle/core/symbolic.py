"""SymbolicTensor and Node: the vocabulary of the Functional API. [L0]

Calling a layer on SymbolicTensors records a Node (layer, inputs, outputs) instead of
computing; a Functional model later replays the nodes in topological order.
"""
import jax


def _binary(op_name, reflected=False):
    """A dunder that applies `gazelle.ops.numpy.<op_name>` (which records a graph node)."""
    def method(self, other):
        from gazelle.ops import numpy as ops_numpy
        fn = getattr(ops_numpy, op_name)
        return fn(other, self) if reflected else fn(self, other)
    method.__name__ = f"__{'r' if reflected else ''}{op_name}__"
    return method


def _unary(op_name):
    def method(self):
        from gazelle.ops import numpy as ops_numpy
        return getattr(ops_numpy, op_name)(self)
    method.__name__ = f"__{op_name}__"
    return method


class SymbolicTensor:
    """A placeholder with a shape (batch dimension None) and a dtype."""

    def __init__(self, shape, dtype="float32", name=None, node=None, index=0):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.name = name
        self.node = node          # the Node that produced this tensor
        self.index = index        # which output of that node

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    # A placeholder has no value: converting it to an array, a number or a bool is an error.
    def __array__(self, *a, **k):
        raise TypeError(
            f"SymbolicTensor {self.name!r} has no value: it is a placeholder of the "
            "Functional API. Pass it to layers or to keras.ops functions, or build a Model "
            "and call it on data.")

    def __int__(self):
        self.__array__()

    def __float__(self):
        self.__array__()

    def __iter__(self):
        raise TypeError(f"Iterating over SymbolicTensor {self.name!r} is not supported; index "
                        "it (x[:, 0]) or use keras.ops.unstack.")

    # Arithmetic records an op node, as Keras 3's KerasTensor does (`==` stays identity).
    # NumPy operands on the left defer to the reflected method (Keras 3 raises there).
    __array_ufunc__ = None
    __add__ = _binary("add")
    __radd__ = _binary("add", reflected=True)
    __sub__ = _binary("subtract")
    __rsub__ = _binary("subtract", reflected=True)
    __mul__ = _binary("multiply")
    __rmul__ = _binary("multiply", reflected=True)
    __matmul__ = _binary("matmul")
    __rmatmul__ = _binary("matmul", reflected=True)
    __truediv__ = _binary("true_divide")
    __rtruediv__ = _binary("true_divide", reflected=True)
    __floordiv__ = _binary("floor_divide")
    __rfloordiv__ = _binary("floor_divide", reflected=True)
    __mod__ = _binary("mod")
    __rmod__ = _binary("mod", reflected=True)
    __pow__ = _binary("power")
    __rpow__ = _binary("power", reflected=True)
    __lt__ = _binary("less")
    __le__ = _binary("less_equal")
    __gt__ = _binary("greater")
    __ge__ = _binary("greater_equal")
    __ne__ = _binary("not_equal")
    __and__ = _binary("logical_and")
    __rand__ = _binary("logical_and", reflected=True)
    __or__ = _binary("logical_or")
    __ror__ = _binary("logical_or", reflected=True)
    __xor__ = _binary("logical_xor")
    __rxor__ = _binary("logical_xor", reflected=True)
    __neg__ = _unary("negative")
    __abs__ = _unary("absolute")
    __invert__ = _unary("logical_not")
    __getitem__ = _binary("get_item")

    def __round__(self, ndigits=None):
        from gazelle.ops import numpy as ops_numpy
        return ops_numpy.round(self, decimals=ndigits or 0)


# Keras 3's name for the placeholder class (`isinstance(keras.Input(...), keras.KerasTensor)`).
KerasTensor = SymbolicTensor


class Node:
    """One call of `layer` on symbolic inputs (a pytree of SymbolicTensors)."""

    def __init__(self, layer, args, kwargs, outputs):
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.outputs = outputs
        self.input_tensors = [t for t in jax.tree_util.tree_leaves(
            (args, kwargs), is_leaf=is_symbolic) if is_symbolic(t)]
        self.index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)


def is_symbolic(x):
    return isinstance(x, SymbolicTensor)


def any_symbolic(tree):
    return any(is_symbolic(t) for t in jax.tree_util.tree_leaves(tree, is_leaf=is_symbolic))


def postorder(roots, children, on_enter=None):
    """Nodes reachable from `roots`, each after the nodes it depends on (depth-first,
    children in order), without recursion: a graph 100,000 layers deep walks like a
    shallow one.

    Args:
        roots: the nodes to start from, in order.
        children: `children(node)` -> the nodes `node` depends on, in order.
        on_enter: optional `on_enter(node)`, called when a node is first reached
            (pre-order), before its children.

    Raises ValueError if a node depends on itself through a cycle.
    """
    order, done, active = [], set(), set()
    end = object()
    for root in roots:
        if id(root) in done:
            continue
        if on_enter is not None:
            on_enter(root)
        active.add(id(root))
        stack = [(root, iter(children(root)))]
        while stack:
            node, pending = stack[-1]
            child = next(pending, end)
            if child is end:
                stack.pop()
                active.discard(id(node))
                done.add(id(node))
                order.append(node)
            elif id(child) in active:
                raise ValueError("The layer graph has a cycle.")
            elif id(child) not in done:
                if on_enter is not None:
                    on_enter(child)
                active.add(id(child))
                stack.append((child, iter(children(child))))
    return order


def get_source_inputs(tensor):
    """The `keras.Input` tensors that `tensor` was computed from, in first-use order.

    Args:
        tensor: a symbolic tensor (what `keras.Input` and layers called on it return).

    Returns:
        A list of input tensors; `[tensor]` when it is itself an input. A value that is not
        symbolic is returned unchanged, as Keras does.

    ```python
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(2)(inputs)
    keras.utils.get_source_inputs(outputs)   # [inputs]
    ```
    """
    if not is_symbolic(tensor):
        return tensor

    def producers(t):
        node = t.node
        return [] if node is None else node.input_tensors

    sources = []
    for t in postorder([tensor], producers):
        if not producers(t) and all(t is not s for s in sources):
            sources.append(t)
    return sources
