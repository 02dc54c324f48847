"""Dot: the batchwise dot product of two tensors, and its functional form `dot`. [L2: core]

For each sample, `Dot(axes)` contracts one axis of the first input with one axis of the
second (optionally after L2-normalizing both, which gives cosine similarity). The output
keeps the first input's other axes, then the second's, as Keras's `batch_dot` does.
"""
import string

import jax
import jax.numpy as jnp

from gazelle.layers.merging import Merge


def _l2_normalize(x, axis):
    inv_norm = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
    return x * jnp.minimum(inv_norm, 1.0 / 1e-7)


class Dot(Merge):
    """Dot product between samples of two tensors, along the given axes.

    With inputs of shapes `(batch, n)` and `(batch, n)` and `axes=1`, the output is
    `(batch, 1)`: each sample's dot product. In general the output holds the first
    input's remaining axes, then the second input's.

    Args:
        axes: int, or a pair of ints: the axis of each input to contract (axis 0, the
            batch, is not allowed).
        normalize: whether to L2-normalize both inputs along those axes first, so the
            result is the cosine similarity (default False).

    ```python
    x1 = np.arange(10, dtype="float32").reshape(1, 5, 2)
    x2 = np.arange(10, 20, dtype="float32").reshape(1, 2, 5)
    keras.layers.Dot(axes=(1, 2))([x1, x2])       # shape (1, 2, 2)
    ```
    """

    _min_inputs = _max_inputs = 2

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)):
                raise TypeError("Invalid type for argument `axes`: it should be a list or "
                                f"an int. Received: axes={axes!r}")
            if len(axes) != 2:
                raise ValueError("Invalid format for argument `axes`: it should contain two "
                                 f"elements. Received: axes={axes!r}")
            if not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
                raise ValueError("Invalid format for argument `axes`: list elements should "
                                 f"be integers. Received: axes={axes!r}")
        elif isinstance(axes, bool):
            raise TypeError(f"Invalid type for argument `axes`: received axes={axes!r}")
        self.axes = axes
        self.normalize = bool(normalize)

    def _resolve_axes(self, shapes):
        pair = [self.axes, self.axes] if isinstance(self.axes, int) else list(self.axes)
        out = []
        for axis, shape in zip(pair, shapes):
            if len(shape) < 2:
                raise ValueError(f"Layer '{self.name}' (Dot) needs inputs of rank >= 2 "
                                 f"(batch first); received shapes {shapes}.")
            if not -len(shape) <= axis < len(shape):
                raise ValueError(f"Layer '{self.name}' (Dot): axis {axis} is out of range "
                                 f"for an input of shape {shape}.")
            out.append(axis % len(shape))
        if 0 in out:
            raise ValueError(f"Layer '{self.name}' (Dot) cannot contract the batch axis 0; "
                             f"received axes={self.axes!r}.")
        return out

    def _check_shapes(self, shapes):
        a0, a1 = self._resolve_axes(shapes)
        d0, d1 = shapes[0][a0], shapes[1][a1]
        if d0 is not None and d1 is not None and d0 != d1:
            raise ValueError(
                f"Layer '{self.name}' (Dot): incompatible input shapes: axis values {d0} "
                f"(at axis {a0}) != {d1} (at axis {a1}). Full input shapes: {shapes[0]}, "
                f"{shapes[1]}")
        b0, b1 = shapes[0][0], shapes[1][0]
        if b0 is not None and b1 is not None and b0 != b1:
            raise ValueError(f"Layer '{self.name}' (Dot) cannot take inputs with different "
                             f"batch sizes. Received shapes: {shapes}.")

    def call(self, inputs):
        x, y = inputs
        a0, a1 = self._resolve_axes([tuple(x.shape), tuple(y.shape)])
        if self.normalize:
            x, y = _l2_normalize(x, a0), _l2_normalize(y, a1)
        letters = iter(string.ascii_letters)
        batch, shared = next(letters), next(letters)
        xs = [batch] + [shared if i == a0 else next(letters) for i in range(1, x.ndim)]
        ys = [batch] + [shared if i == a1 else next(letters) for i in range(1, y.ndim)]
        out = [batch] + [c for c in xs[1:] if c != shared] + [c for c in ys[1:] if c != shared]
        result = jnp.einsum(f"{''.join(xs)},{''.join(ys)}->{''.join(out)}", x, y)
        if result.ndim == 1:
            result = result[:, None]
        return result

    def compute_output_shape(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2:
            raise ValueError("A `Dot` layer should be called on a list of 2 inputs. "
                             f"Received: input_shape={input_shape}")
        shape1, shape2 = list(input_shape[0]), list(input_shape[1])
        a0, a1 = self._resolve_axes([tuple(shape1), tuple(shape2)])
        shape1.pop(a0)
        shape2.pop(a1)
        out = shape1 + shape2[1:]
        return tuple(out + [1] if len(out) == 1 else out)

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def dot(inputs, axes=-1, **kwargs):
    """Functional interface to the `Dot` layer.

    Args:
        inputs: a list of two input tensors.
        axes: int or pair of ints, the axes to contract (default -1).
        normalize: whether to L2-normalize along those axes first (default False).
        **kwargs: other layer arguments, e.g. `name`.

    ```python
    similarity = keras.layers.dot([a, b], axes=1, normalize=True)
    ```
    """
    return Dot(axes=axes, **kwargs)(inputs)


__all__ = ["Dot", "dot"]
