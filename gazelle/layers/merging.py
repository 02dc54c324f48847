"""Merge layers: Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum, and
their functional forms (`concatenate(inputs)`, `add(inputs)`, ...). [L2: core]

Each takes a list of tensors. Shapes are checked when the layer is called (for
symbolic inputs too, since output shapes are found by tracing the call), and a
mismatch raises a ValueError that names the layer and lists the shapes it received.
"""
import functools

import jax.numpy as jnp

from gazelle.core import masks
from gazelle.layers.layer import Layer


class Merge(Layer):
    """Base class of the elementwise merge layers.

    Subclasses define `_merge_function(inputs)` on a list of arrays of equal rank.
    Inputs of lower rank are expanded on axis 1 and all inputs broadcast together,
    as in Keras.
    """

    _min_inputs = 1
    _max_inputs = None

    def _check_input(self, inputs):
        kind = type(self).__name__
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"Layer '{self.name}' ({kind}) should be called on a list of inputs. "
                f"Received: a single input of shape {tuple(getattr(inputs, 'shape', ()))}.")
        n = len(inputs)
        if n < self._min_inputs or (self._max_inputs is not None and n > self._max_inputs):
            expected = (f"exactly {self._max_inputs}" if self._min_inputs == self._max_inputs
                        else f"at least {self._min_inputs}")
            raise ValueError(f"Layer '{self.name}' ({kind}) should be called on {expected} "
                             f"inputs. Received: {n} inputs.")
        self._check_shapes([tuple(x.shape) for x in inputs])

    def _check_shapes(self, shapes):
        batch_sizes = {s[0] for s in shapes if s} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(
                f"Layer '{self.name}' cannot merge tensors with different batch sizes. "
                f"Received shapes: {shapes}.")
        rest = [s[1:] for s in shapes]
        width = max(len(s) for s in rest)
        for axis in range(1, width + 1):
            sizes = {s[-axis] for s in rest if len(s) >= axis} - {None, 1}
            if len(sizes) > 1:
                raise ValueError(
                    f"Layer '{self.name}' ({type(self).__name__}) received inputs with "
                    f"incompatible shapes {shapes}: sizes {sorted(sizes)} on axis {-axis} "
                    "must be equal (or 1, to broadcast).")

    def call(self, inputs):
        ndim = max(x.ndim for x in inputs)
        aligned = []
        for x in inputs:
            while x.ndim < ndim:
                x = jnp.expand_dims(x, 1)
            aligned.append(x)
        return self._merge_function(aligned)

    def _merge_function(self, inputs):
        raise NotImplementedError

    def compute_mask(self, inputs, mask=None):
        """The OR of the inputs' masks when every input has one, else None (Keras 3)."""
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or len(mask) != len(inputs):
            raise ValueError(f"Layer '{self.name}': `mask` should be a list with one entry "
                             f"per input ({len(inputs)}). Received: mask={mask!r}")
        if any(m is None for m in mask):
            return None
        return functools.reduce(jnp.logical_or, [jnp.asarray(m, bool) for m in mask])

    def compute_output_shape(self, input_shape):
        # A one-input list arrives as a bare shape; keep it a list for the traced call.
        if not isinstance(input_shape, list):
            input_shape = [input_shape]
        return super().compute_output_shape(input_shape)


def _expand_mask(mask, x):
    return jnp.broadcast_to(jnp.expand_dims(jnp.asarray(mask, bool), -1), x.shape)


def _masked_reduce(op, inputs):
    """`op` over inputs where a masked entry never wins: it takes the other side's value
    (Keras 3's Maximum/Minimum); the output mask is the OR when every input has one."""
    output, output_mask = None, None
    for x in inputs:
        m = masks.get_keras_mask(x)
        m = None if m is None else _expand_mask(m, x)
        if output is None:
            output, output_mask = x, m
            continue
        if m is not None:
            x = jnp.where(m, x, output)
        if output_mask is not None:
            output = jnp.where(output_mask, output, x)
        output_mask = None if m is None or output_mask is None else jnp.logical_or(
            output_mask, m)
        output = op(output, x)
    if output_mask is not None:
        masks.set_keras_mask(output, jnp.any(output_mask, axis=-1))
    return output


class Add(Merge):
    """Adds a list of inputs elementwise (all of the same shape, or broadcastable).

    ```python
    added = keras.layers.Add()([x1, x2])      # same as keras.layers.add([x1, x2])
    ```
    """

    def _merge_function(self, inputs):
        return functools.reduce(jnp.add, inputs)


class Subtract(Merge):
    """Subtracts two inputs: `inputs[0] - inputs[1]`.

    ```python
    diff = keras.layers.Subtract()([x1, x2])
    ```
    """

    _min_inputs = _max_inputs = 2

    def _merge_function(self, inputs):
        return inputs[0] - inputs[1]


class Multiply(Merge):
    """Multiplies a list of inputs elementwise.

    ```python
    product = keras.layers.Multiply()([x1, x2])
    ```
    """

    def _merge_function(self, inputs):
        found = [masks.get_keras_mask(x) for x in inputs]
        if all(m is None for m in found):
            return functools.reduce(jnp.multiply, inputs)
        # Masked entries count as 1 (Keras 3); where no input is valid the product is 0.
        output, any_valid = None, None
        for x, m in zip(inputs, found):
            if m is not None:
                m = _expand_mask(m, x)
                x = jnp.where(m, x, jnp.ones_like(x))
                any_valid = m if any_valid is None else jnp.logical_or(any_valid, m)
            output = x if output is None else output * x
        if all(m is not None for m in found):
            output = jnp.where(any_valid, output, jnp.zeros_like(output))
            masks.set_keras_mask(output, jnp.any(any_valid, axis=-1))
        return output


class Average(Merge):
    """Averages a list of inputs elementwise.

    ```python
    mean = keras.layers.Average()([x1, x2])
    ```
    """

    def _merge_function(self, inputs):
        return functools.reduce(jnp.add, inputs) / len(inputs)


class Maximum(Merge):
    """Elementwise maximum of a list of inputs.

    ```python
    biggest = keras.layers.Maximum()([x1, x2])
    ```
    """

    def _merge_function(self, inputs):
        return _masked_reduce(jnp.maximum, inputs)


class Minimum(Merge):
    """Elementwise minimum of a list of inputs.

    ```python
    smallest = keras.layers.Minimum()([x1, x2])
    ```
    """

    def _merge_function(self, inputs):
        return _masked_reduce(jnp.minimum, inputs)


class Concatenate(Merge):
    """Concatenates a list of inputs along `axis`.

    All inputs must have the same rank and the same sizes on every other axis.

    Args:
        axis: the concatenation axis (default -1).

    ```python
    concat = keras.layers.Concatenate()([input_a, hidden2])  # (None, 5) + (None, 30) -> (None, 35)
    ```
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"Concatenate: `axis` must be an int. Received: axis={axis!r}")
        self.axis = axis

    def _check_shapes(self, shapes):
        ranks = {len(s) for s in shapes}
        rank = ranks.pop()
        if ranks or not -rank <= self.axis < rank:
            raise ValueError(
                f"Layer '{self.name}' (Concatenate, axis={self.axis}) requires inputs of the "
                f"same rank that includes the concatenation axis. Received shapes: {shapes}.")
        axis = self.axis % rank
        for d in range(rank):
            sizes = {s[d] for s in shapes} - {None}
            if d != axis and len(sizes) > 1:
                raise ValueError(
                    f"Layer '{self.name}' (Concatenate, axis={self.axis}) requires inputs with "
                    f"matching shapes except for the concatenation axis. Received shapes: "
                    f"{shapes} (they differ on axis {d}).")

    def call(self, inputs):
        return jnp.concatenate(inputs, axis=self.axis)

    def compute_mask(self, inputs, mask=None):
        """Concatenated masks (unmasked inputs count as all True), reduced over the last axis."""
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or len(mask) != len(inputs):
            raise ValueError(f"Layer '{self.name}': `mask` should be a list with one entry "
                             f"per input ({len(inputs)}). Received: mask={mask!r}")
        if all(m is None for m in mask):
            return None
        full = []
        for x, m in zip(inputs, mask):
            if m is None:
                full.append(jnp.ones(x.shape, bool))
            else:
                m = jnp.asarray(m, bool)
                if m.ndim < x.ndim:
                    m = jnp.broadcast_to(jnp.expand_dims(m, -1), x.shape)
                full.append(m)
        return jnp.any(jnp.concatenate(full, axis=self.axis), axis=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of `Concatenate`: `Concatenate(axis=axis, **kwargs)(inputs)`.

    Args:
        inputs: a list of tensors.
        axis: the concatenation axis (default -1).
        **kwargs: other layer arguments, e.g. `name`.
    """
    return Concatenate(axis=axis, **kwargs)(inputs)


def add(inputs, **kwargs):
    """Functional form of `Add`: `Add(**kwargs)(inputs)`.

    Args:
        inputs: a list of tensors.
        **kwargs: layer arguments, e.g. `name`.
    """
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional form of `Subtract`: `Subtract(**kwargs)(inputs)`.

    Args:
        inputs: a list of exactly two tensors.
        **kwargs: layer arguments, e.g. `name`.
    """
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of `Multiply`: `Multiply(**kwargs)(inputs)`.

    Args:
        inputs: a list of tensors.
        **kwargs: layer arguments, e.g. `name`.
    """
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional form of `Average`: `Average(**kwargs)(inputs)`.

    Args:
        inputs: a list of tensors.
        **kwargs: layer arguments, e.g. `name`.
    """
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional form of `Maximum`: `Maximum(**kwargs)(inputs)`.

    Args:
        inputs: a list of tensors.
        **kwargs: layer arguments, e.g. `name`.
    """
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional form of `Minimum`: `Minimum(**kwargs)(inputs)`.

    Args:
        inputs: a list of tensors.
        **kwargs: layer arguments, e.g. `name`.
    """
    return Minimum(**kwargs)(inputs)


__all__ = ["Merge", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
           "Concatenate", "concatenate", "add", "subtract", "multiply", "average", "maximum",
           "minimum"]
