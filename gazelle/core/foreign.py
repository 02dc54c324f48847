"""A gazelle layer called on TensorFlow tensors, as inside `tf.data.Dataset.map`. [L0]

Keras 3 lets preprocessing layers run inside a `tf.data` pipeline on any backend. gazelle
does the same for every layer without trainable weights (the image, text and categorical
preprocessing layers, and stateless layers): `Layer.__call__` hands a call whose inputs
are `tf.Tensor`s to `call_with_tf`, which runs the layer on NumPy arrays through
`tf.numpy_function` and gives the results the static shapes and dtypes the layer
produces (so later `map`s, `batch` and model building see known shapes).

TensorFlow is never imported here: a tensor is recognised by the module of its class, and
the `tensorflow` module is taken from `sys.modules`, where it is once the user has one.
"""
import sys

import jax
import numpy as np


def _from_tf(x):
    return (getattr(type(x), "__module__", "") or "").startswith("tensorflow") and \
        hasattr(x, "dtype") and hasattr(x, "shape") and not hasattr(x, "as_numpy_iterator")


def has_tf_tensor(args):
    """True when the first argument of a layer call holds a TensorFlow tensor."""
    if "tensorflow" not in sys.modules or not args:
        return False
    first = args[0]
    if isinstance(first, (list, tuple)):
        return any(_from_tf(a) for a in first)
    if isinstance(first, dict):
        return any(_from_tf(a) for a in first.values())
    return _from_tf(first)


def _to_numpy(x):
    """A numpy_function argument: strings as Python str objects (TextVectorization and the
    lookups take those), everything else unchanged."""
    if x.dtype.kind in "SO":
        return np.vectorize(lambda b: b.decode("utf-8") if isinstance(b, bytes) else b,
                            otypes=[object])(x) if x.size else x.astype(object)
    return x


def _dummy(shape, dtype, size):
    shape = tuple(size if d is None else d for d in shape)
    if dtype == "string":
        return np.full(shape, "a", dtype=object)
    return np.zeros(shape, dtype)


def _state(layer):
    return [(v, v.value) for v in layer.variables]


def _output_specs(layer, tf, specs, structure, kwargs):
    """Output structure, shapes (None where they vary) and NumPy dtypes of the layer, from
    two calls on small arrays of the input's static shape (None dimensions as 1 and 2).
    The layer's variables (a random layer's seed state) are put back afterwards."""
    saved = _state(layer)
    try:
        runs = []
        for size in (1, 2):
            arrays = [_dummy(shape, dtype, size) for shape, dtype in specs]
            out = layer(tf.nest.pack_sequence_as(structure, arrays), **kwargs)
            runs.append(jax.tree_util.tree_map(np.asarray, out))
    finally:
        for v, value in saved:
            v.assign(value)
    flat_a, tree = jax.tree_util.tree_flatten(runs[0])
    flat_b = jax.tree_util.tree_leaves(runs[1])
    shapes = [tuple(p if p == q else None for p, q in zip(a.shape, b.shape))
              for a, b in zip(flat_a, flat_b)]
    if len(flat_a) == 1:        # a layer's own answer, where it has one (text lengths)
        try:
            given = layer.compute_output_shape(
                specs[0][0] if len(specs) == 1 else [s for s, _ in specs])
            if isinstance(given, tuple) and len(given) == len(shapes[0]):
                shapes = [tuple(g if g is None or s is None or g == s else None
                                for g, s in zip(given, shapes[0]))]
        except Exception:       # noqa: BLE001 - fall back on the measured shapes
            pass
    return tree, shapes, [a.dtype for a in flat_a]


def call_with_tf(layer, args, kwargs):
    """Runs `layer(*args, **kwargs)` on TensorFlow tensors through `tf.numpy_function`."""
    tf = sys.modules["tensorflow"]
    if len(args) > 1:
        raise TypeError(f"Layer '{layer.name}' called on TensorFlow tensors takes one input "
                        "argument (a tensor, or a list/dict of tensors).")
    inputs = args[0]
    flat = tf.nest.flatten(inputs)
    specs = [(tuple(t.shape.as_list()) if t.shape.rank is not None else None,
              "string" if t.dtype == tf.string else t.dtype.as_numpy_dtype) for t in flat]
    if any(shape is None for shape, _ in specs):
        raise ValueError(f"Layer '{layer.name}' called on a TensorFlow tensor of unknown "
                         "rank; give the dataset's elements a known shape first.")
    tree, shapes, dtypes = _output_specs(layer, tf, specs, inputs, kwargs)   # builds it
    if layer.trainable_weights:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) has trainable weights, so it "
            "cannot run inside a tf.data pipeline (its weights would not train there). Call "
            "it inside the model instead; only layers without trainable weights "
            "(preprocessing and stateless layers) run on TensorFlow tensors.")

    def run(*arrays):
        out = layer(tf.nest.pack_sequence_as(inputs, [_to_numpy(a) for a in arrays]),
                    **kwargs)
        leaves = jax.tree_util.tree_leaves(out)
        return [_to_tf_ready(np.asarray(a), dtype) for a, dtype in zip(leaves, dtypes)]

    touts = [tf.string if d.kind in "USO" else tf.as_dtype(d) for d in dtypes]
    results = tf.numpy_function(run, flat, touts, stateful=True, name=f"gazelle_{layer.name}")
    if not isinstance(results, (list, tuple)):
        results = [results]
    for t, shape in zip(results, shapes):
        t.set_shape(shape)
    return jax.tree_util.tree_unflatten(tree, list(results))


def _to_tf_ready(a, dtype):
    if dtype.kind in "USO":
        return np.vectorize(lambda s: s.encode("utf-8") if isinstance(s, str) else s,
                            otypes=[object])(a) if a.size else a.astype(object)
    return a.astype(dtype, copy=False)
