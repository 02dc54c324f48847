"""Host layers at the front of a model: strings become ids before the compiled steps. [L4]

A model may start with layers that only run on the host (`_runs_on_host`:
TextVectorization, StringLookup, IntegerLookup, Hashing), as Keras's end-to-end text
models do (`keras.Input(shape=(1,), dtype="string")` -> TextVectorization -> ...). Strings
never reach the compiled core, so `fit`/`evaluate`/`predict` split such a model in two:

- `Front(model)` finds, for each model input, the chain of host layers that consumes it
  first (a Sequential's leading host layers; in a Functional graph, the host layers that
  are the only consumers of an input, one after the other);
- `Front.arrays(x)` runs those chains on the host over in-memory data once per call, and
  `Front.batch(x)` over each batch of a stream (a generator, PyDataset, tf.data,
  DataLoader) as the batch is read, before it is stacked into a block;
- under `Front.applied()` (core/host.py) the same layers pass their input through inside
  the compiled steps, and the model skips its shape check of the inputs they replaced.

Models whose host layers are not at the front (or subclassed models) are not split: their
host layers raise a clear error when traced, saying to apply them to the data first.
"""
import contextlib

import jax
import numpy as np

from gazelle.core import host as core_host
from gazelle.core import symbolic


def _is_host(layer):
    return bool(getattr(layer, "_runs_on_host", False))


def chains(model):
    """`{input position: [host layers in order]}` for the inputs that start with host
    layers, and the model inputs (SymbolicTensors, or the first layer of a Sequential)
    whose data those layers replace."""
    stack = model.__dict__.get("_stack")
    if stack is not None:                                        # Sequential
        chain = []
        for layer in stack:
            if not _is_host(layer):
                break
            chain.append(layer)
        return ({0: chain}, [chain[0]]) if chain else ({}, [])
    inputs, nodes = model.__dict__.get("_input_tensors"), model.__dict__.get("_nodes")
    if inputs is None or nodes is None:                          # subclassed: not split
        return {}, []
    consumers = {}
    for node in nodes:
        for t in node.input_tensors:
            consumers.setdefault(id(t), []).append(node)
    found, replaced = {}, []
    for i, tensor in enumerate(inputs):
        chain, t = [], tensor
        while True:
            users = consumers.get(id(t), [])
            if len(users) != 1 or not _is_host(users[0].layer) or \
                    len(users[0].input_tensors) != 1:
                break
            outs = jax.tree_util.tree_leaves(users[0].outputs, is_leaf=symbolic.is_symbolic)
            if len(outs) != 1:
                break
            chain.append(users[0].layer)
            t = outs[0]
        if chain:
            found[i] = chain
            replaced.append(tensor)
    return found, replaced


class Front:
    """The host part of one fit/evaluate/predict call (see the module docstring)."""

    def __init__(self, model):
        self.model = model
        self.chains, self._replaced = chains(model)
        self.texts = []         # (TextVectorization, a sample of its raw strings), for the doctor

    def __bool__(self):
        return bool(self.chains)

    def applied(self):
        """The context in which the compiled steps are traced and run."""
        if not self.chains:
            return contextlib.nullcontext()
        ids = [id(layer) for chain in self.chains.values() for layer in chain]
        ids += [id(t) for t in self._replaced]
        return core_host.host_layers_applied(ids)

    def _remember(self, chain, data, rows=2048):
        """Keeps a sample of the raw strings a TextVectorization at a chain's head reads."""
        head = chain[0]
        if type(head).__name__ == "TextVectorization" and \
                not any(layer is head for layer, _ in self.texts):
            self.texts.append((head, np.asarray(data)[:rows]))

    def _run(self, chain, data):
        if getattr(self, "_recording", False):
            self._remember(chain, data)
        with core_host.host_layers_applied(()):    # here the layers do run (also when a
            for layer in chain:                    # stream's first batch is read inside
                data = layer(data)                 # `applied()`)
        return np.asarray(data)

    def batch(self, x):
        """`x` (one batch, or all of the data) with each host-fed input replaced by what its
        host layers make of it; the structure of `x` is kept."""
        if not self.chains or x is None:
            return x
        if isinstance(x, dict):
            names = list(getattr(self.model, "input_names", []))
            out = dict(x)
            for i, chain in self.chains.items():
                if i < len(names) and names[i] in out:
                    out[names[i]] = self._run(chain, out[names[i]])
            return out
        if isinstance(x, (list, tuple)) and len(self._model_inputs()) > 1:
            out = list(x)
            for i, chain in self.chains.items():
                if i < len(out):
                    out[i] = self._run(chain, out[i])
            return type(x)(out) if isinstance(x, tuple) else out
        return self._run(self.chains[0], x) if 0 in self.chains else x

    def _model_inputs(self):
        return self.model.__dict__.get("_input_tensors") or [None]

    def arrays(self, x):
        """In-memory `x` transformed (streams are left for `batch`, per batch)."""
        from gazelle.training import adapters
        if x is None or adapters.is_stream(x):
            return x
        if not self.chains:
            self._check_no_text(x)
            return x
        self._recording = True
        try:
            return self.batch(x)
        finally:
            self._recording = False

    def _check_no_text(self, x):
        """Text for a model whose host layers are not at its front: say what to do."""
        leaves = jax.tree_util.tree_leaves(x)
        if not any(np.asarray(leaf).dtype.kind in "USO" for leaf in leaves[:8]
                   if isinstance(leaf, (np.ndarray, list))):
            return
        inner = next((layer for layer in self.model._flatten_layers()
                      if layer is not self.model and _is_host(layer)), None)
        if inner is not None:
            raise TypeError(
                f"Model '{self.model.name}' received text, and its layer '{inner.name}' "
                f"({type(inner).__name__}) runs on the host, but not at the front of a "
                "Sequential or Functional model (here it is called inside the model's own "
                "call()), so gazelle cannot run it before the compiled steps. Apply it to "
                f"the data first (`x = {inner.name}(x)`, or in a tf.data map), or build the "
                "model as keras.Input(shape=(), dtype='string') -> "
                f"{type(inner).__name__} -> the rest.")

    def validation(self, data):
        """`validation_data` with its inputs transformed: a tuple, or a stream (None)."""
        from gazelle.training import adapters
        if not self.chains or data is None or adapters.is_stream(data):
            return data
        if isinstance(data, (tuple, list)) and 2 <= len(data) <= 3:
            return (self.batch(data[0]),) + tuple(data[1:])
        return data

    def transform(self):
        """The per-batch transform for streamed input (None when there is nothing to do)."""
        return self.batch if self.chains else None
