"""SymbolicTensor and Node: the vocabulary of the Functional API. [L0]

Calling a layer on SymbolicTensors records a Node (layer, inputs, outputs) instead of
computing; a Functional model later replays the nodes in topological order.
"""
import jax


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

    # Arithmetic on symbolic tensors is not supported yet: say so clearly.
    def __array__(self, *a, **k):
        raise TypeError(
            f"SymbolicTensor {self.name!r} has no value: it is a placeholder of the "
            "Functional API. Pass it to layers, or build a Model and call it on data.")


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
