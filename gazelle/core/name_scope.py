"""`keras.name_scope`: a named scope, as Keras 3's context manager. [L1]

Keras prefixes the paths of variables created inside a scope with the scope names. Gazelle
names a weight by its layer (`"dense/kernel"`) and has no scope prefixes, so here a scope
only keeps Keras's stack (`current_path()`) and names the JAX operations traced inside it
(`jax.named_scope`, which profiler traces show); variable names do not change.
"""
import threading

_STATE = threading.local()


def _stack():
    stack = getattr(_STATE, "stack", None)
    if stack is None:
        stack = _STATE.stack = []
    return stack


class name_scope:  # noqa: N801 (Keras's name)
    """Opens a sub-namespace named `name` (a context manager).

    Args:
        name: the scope's name, a string without `/`.
        caller: optional object that opens the scope (e.g. a layer); with `deduplicate`,
            re-entering the same name from the same caller opens no new level.
        deduplicate: see `caller` (default True).
        override_parent: optional absolute path that replaces the enclosing scopes.

    ```python
    with keras.name_scope("encoder"):
        x = keras.layers.Dense(4)(x)
    ```
    """

    def __init__(self, name, caller=None, deduplicate=True, override_parent=None):
        if not isinstance(name, str) or "/" in name:
            raise ValueError("Argument `name` must be a string and cannot contain character "
                             f"`/`. Received: name={name}")
        self.name = name
        self.caller = caller
        self.deduplicate = deduplicate
        self.override_parent = override_parent
        if override_parent is None and deduplicate and \
                getattr(caller, "_parent_path", None) is not None:
            self.override_parent = caller._parent_path
        self._pop_on_exit = False
        self._jax_scope = None

    def __enter__(self):
        stack = _stack()
        if self.deduplicate and stack and self.caller is not None and \
                stack[-1].caller is self.caller and stack[-1].name == self.name:
            return self
        import jax
        stack.append(self)
        self._pop_on_exit = True
        self._jax_scope = jax.named_scope(self.name)
        self._jax_scope.__enter__()
        return self

    def __exit__(self, *exc):
        if self._pop_on_exit:
            self._pop_on_exit = False
            scope, self._jax_scope = self._jax_scope, None
            stack = _stack()
            if stack:
                stack.pop()
            if scope is not None:
                scope.__exit__(*exc)
        return False


def current_path():
    """The `/`-joined names of the open scopes (`""` outside any), as Keras computes it."""
    parts = []
    for scope in _stack():
        if scope.override_parent is not None:
            parts = [p for p in scope.override_parent.split("/") if p]
        parts.append(scope.name)
    return "/".join(parts)
