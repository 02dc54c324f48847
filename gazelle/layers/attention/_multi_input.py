"""Calling layers whose `call` takes several tensors as separate arguments. [L2: core]

`Layer.__call__` builds from the shapes of its first argument and infers symbolic outputs
from that argument alone. `MultiHeadAttention(query, value, key=...)` needs every tensor
argument for both: `build(query_shape, value_shape, key_shape)`, and outputs (one tensor,
or two with `return_attention_scores=True`) that depend on the call's keyword arguments.
This base class does those two steps and then hands over to `Layer.__call__`.
"""
import inspect

import jax
import jax.numpy as jnp

from gazelle.core import symbolic
from gazelle.core.variables import StatelessScope
from gazelle.layers.layer import Layer


_SIGNATURES = {}     # class -> signature of its bound `call` (read on every call)


class MultiInputLayer(Layer):
    """A layer whose `build` takes one `<name>_shape` argument per tensor argument.

    Subclasses list the call arguments that build depends on in `_build_args`, in the
    order of `build`'s parameters (e.g. `("query", "value", "key")`).
    """

    _build_args = ()

    def _signature(self):
        signature = _SIGNATURES.get(type(self))
        if signature is None:
            signature = _SIGNATURES[type(self)] = inspect.signature(self.call)
        return signature

    def _bind(self, args, kwargs):
        try:
            bound = self._signature().bind(*args, **kwargs)
        except TypeError as e:
            raise TypeError(f"Layer '{self.name}' ({type(self).__name__}): {e}.") from None
        return bound.arguments

    def __call__(self, *args, **kwargs):
        first = next(iter(self._signature().parameters))
        if not args and first in kwargs:        # layer(query=q, value=v)
            args = (kwargs.pop(first),)
        if not args:
            raise TypeError(f"Layer '{self.name}' was called without inputs.")
        arguments = self._bind(args, kwargs)
        if not self.built:
            self._build_from(arguments)
        if symbolic.any_symbolic((args, kwargs)):
            return self._symbolic_call(args, kwargs)
        # Layer.__call__ casts only the first argument; cast the other tensors alike.
        args = (args[0],) + tuple(self._cast_tensor(a) for a in args[1:])
        kwargs = {k: (self._cast_tensor(v) if k in self._build_args else v)
                  for k, v in kwargs.items()}
        return super().__call__(*args, **kwargs)

    def _build_from(self, arguments):
        """Builds from the call's bound arguments (`build(query_shape=..., ...)`)."""
        shapes = {f"{name}_shape": tuple(arguments[name].shape)
                  for name in self._build_args if arguments.get(name) is not None}
        with jax.ensure_compile_time_eval():
            self.build(**shapes)
        self._record_build_shapes(shapes)

    def _cast_tensor(self, x):
        if x is None or not hasattr(x, "shape"):
            return x
        return self._cast(x)

    def get_build_config(self):
        """Keras 3's build config: `{"shapes_dict": {"query_shape": ...}}` for layers built
        from several arguments, `{"input_shape": ...}` for one built from a list."""
        if not self.built or not self._build_shapes:
            return None
        shapes = getattr(self, "_build_shapes_dict", None)
        if shapes:
            return {"shapes_dict": dict(shapes)}
        listed = [list(s) for s in self._build_shapes]
        return {"input_shape": listed[0] if len(listed) == 1 else listed}

    def build_from_config(self, config):
        """Builds the layer from `get_build_config()`'s dict (Keras 3's `shapes_dict`)."""
        shapes = (config or {}).get("shapes_dict")
        if shapes and not self.built:
            shapes = {k: tuple(v) for k, v in shapes.items() if v is not None}
            with jax.ensure_compile_time_eval():
                self.build(**shapes)
            self._record_build_shapes(shapes)

    def _record_build_shapes(self, shapes):
        """Marks the layer built from `{"query_shape": ..., ...}` (None entries dropped)."""
        shapes = {k: tuple(v) for k, v in shapes.items() if v is not None}
        self._build_shapes = list(shapes.values())
        self._build_shapes_dict = {k: list(v) for k, v in shapes.items()}
        self.built = True

    def _check_built_query(self, query):
        """The query's rank and last dimension must be those the layer was built for
        (MultiHeadAttention and GroupQueryAttention use this as their `_check_input`)."""
        built = self._build_shapes[0]
        shape = tuple(query.shape)
        if len(shape) != len(built) or shape[-1] != built[-1]:
            raise ValueError(f"Layer '{self.name}' was built for queries of shape {built}; "
                             f"received shape {shape}.")

    def _symbolic_call(self, args, kwargs):
        leaves, treedef = jax.tree_util.tree_flatten((args, kwargs), is_leaf=symbolic.is_symbolic)
        where = [i for i, leaf in enumerate(leaves) if symbolic.is_symbolic(leaf)]
        variables = self.variables
        values = [v.value for v in variables]

        def run(*tensors):
            filled = list(leaves)
            for i, x in zip(where, tensors):
                filled[i] = x
            call_args, call_kwargs = jax.tree_util.tree_unflatten(treedef, filled)
            with StatelessScope(zip(variables, values)):
                return self(*call_args, **{**call_kwargs, "training": False})

        def traced(size):
            specs = [jax.ShapeDtypeStruct(tuple(size if d is None else d for d in leaves[i].shape),
                                          jnp.dtype(leaves[i].dtype)) for i in where]
            return jax.eval_shape(run, *specs)

        # Unknown (None) sizes are traced at two values; output sizes that follow them
        # are unknown too.
        small, large = traced(2), traced(3)
        outputs = jax.tree_util.tree_map(
            lambda a, b: symbolic.SymbolicTensor(
                tuple(None if p != q else p for p, q in zip(a.shape, b.shape)),
                jnp.dtype(a.dtype).name, name=self.name), small, large)
        node = symbolic.Node(self, args, kwargs, outputs)
        for i, t in enumerate(jax.tree_util.tree_leaves(outputs, is_leaf=symbolic.is_symbolic)):
            t.node, t.index = node, i
        return outputs
