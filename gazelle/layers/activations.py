"""Activation layers: ReLU, LeakyReLU, PReLU, ELU, Softmax. [L2: activations, initializers]

Each applies one of the functions of `gazelle.activations` with the layer's settings
(PReLU learns its negative slope). The functions themselves live in
`gazelle/activations.py`; `keras.layers.Activation("relu")` is in `layers/core.py`.
"""
import numbers
import warnings

import jax
import jax.numpy as jnp

from gazelle import activations, initializers
from gazelle.layers import input_spec
from gazelle.layers.layer import Layer


def _non_negative(layer, arg, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
        raise ValueError(
            f"{layer}: `{arg}` must be a float >= 0{' or None' if allow_none else ''}. "
            f"Received: {arg}={value!r}")
    return value


class ReLU(Layer):
    """Rectified Linear Unit activation layer, with an optional cap, slope and threshold.

    `f(x) = max_value` for `x >= max_value`, `x` for `threshold <= x < max_value`, and
    `negative_slope * (x - threshold)` otherwise.

    Args:
        max_value: float >= 0, the largest output (default None: unbounded).
        negative_slope: float >= 0, the slope below the threshold (default 0.0).
        threshold: float >= 0, the value below which the output is damped (default 0.0).

    ```python
    layer = keras.layers.ReLU(max_value=6.0)
    layer(np.array([-1.0, 3.0, 9.0]))     # [0., 3., 6.]
    ```
    """

    supports_masking = True

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _non_negative("ReLU", "max_value", max_value, allow_none=True)
        self.negative_slope = _non_negative("ReLU", "negative_slope", negative_slope)
        self.threshold = _non_negative("ReLU", "threshold", threshold)

    def call(self, inputs):
        return activations.relu(inputs, negative_slope=self.negative_slope,
                                max_value=self.max_value, threshold=self.threshold)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(Layer):
    """Leaky ReLU layer: `f(x) = x` for `x >= 0`, `negative_slope * x` otherwise.

    Args:
        negative_slope: float >= 0, the slope for negative inputs (default 0.3).
            tf.keras 2's name `alpha` is accepted too (with a warning, as in Keras 3).

    ```python
    keras.layers.LeakyReLU(negative_slope=0.1)(np.array([-10.0, 5.0]))   # [-1., 5.]
    ```
    """

    supports_masking = True

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: argument `alpha` is deprecated. Use `negative_slope` "
                          "instead.", stacklevel=2)
        super().__init__(**kwargs)
        self.negative_slope = _non_negative("LeakyReLU", "negative_slope", negative_slope)

    def call(self, inputs):
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class PReLU(Layer):
    """Parametric ReLU: `f(x) = x` for `x >= 0`, `alpha * x` otherwise, `alpha` learned.

    `alpha` has the input's shape without the batch dimension, except along
    `shared_axes`, where one value is shared.

    Args:
        alpha_initializer: initializer for `alpha` (default `"Zeros"`).
        alpha_regularizer: optional regularizer for `alpha`.
        alpha_constraint: optional constraint for `alpha`.
        shared_axes: axes (1-based, the batch axis is 0) along which `alpha` is shared,
            e.g. `[1, 2]` for one slope per channel of `(batch, height, width, channels)`
            feature maps (default None: nothing shared).

    ```python
    layer = keras.layers.PReLU(shared_axes=[1, 2])
    y = layer(np.ones((2, 8, 8, 3), "float32"))      # alpha has shape (1, 1, 3)
    ```
    """

    supports_masking = True

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = None
        if alpha_regularizer is not None:
            from gazelle import regularizers
            self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = alpha_constraint
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (list, tuple)):
            self.shared_axes = list(shared_axes)
        else:
            self.shared_axes = [shared_axes]
        for axis in self.shared_axes or []:
            if isinstance(axis, bool) or not isinstance(axis, int) or axis < 1:
                raise ValueError(
                    "PReLU: `shared_axes` must hold axes >= 1 (axis 0 is the batch). "
                    f"Received: shared_axes={shared_axes!r}")

    def build(self, input_shape):
        param_shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if axis >= len(input_shape):
                raise ValueError(
                    f"Layer '{self.name}': shared axis {axis} is out of range for inputs of "
                    f"shape {tuple(input_shape)}.")
            param_shape[axis - 1] = 1
        if any(d is None for d in param_shape):
            raise ValueError(
                f"Layer '{self.name}' needs known sizes on the axes that are not shared to "
                f"create `alpha`; received shape {tuple(input_shape)}. Share those axes "
                "with `shared_axes`.")
        self.alpha = self.add_weight(
            shape=tuple(param_shape), initializer=self.alpha_initializer, name="alpha",
            regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        self.built = True

    def _check_input(self, inputs):
        shape = tuple(inputs.shape)
        input_spec.check_rank(self, shape, ndim=len(self.alpha.shape) + 1)
        for axis, size in enumerate(self.alpha.shape, start=1):
            if size != 1 and shape[axis] != size:
                raise ValueError(
                    f"Layer '{self.name}' expects size {size} on axis {axis}, but received "
                    f"shape {shape}.")

    def call(self, inputs):
        return jax.nn.relu(inputs) - self.alpha * jax.nn.relu(-inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        from gazelle.core.serialization import serialize_keras_object as ser
        return {**super().get_config(),
                "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": ser(self.alpha_regularizer),
                "alpha_constraint": ser(self.alpha_constraint),
                "shared_axes": self.shared_axes}


class ELU(Layer):
    """Exponential Linear Unit layer: `alpha * (exp(x) - 1)` for `x < 0`, `x` otherwise.

    Args:
        alpha: float, the scale of the negative part (default 1.0).

    ```python
    keras.layers.ELU(alpha=0.5)(np.array([-1.0, 2.0]))    # [-0.316, 2.]
    ```
    """

    supports_masking = True

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
            raise ValueError(f"ELU: `alpha` must be a float. Received: alpha={alpha!r}")
        self.alpha = alpha

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Layer):
    """Softmax activation layer, over one axis or several, with an optional mask.

    Args:
        axis: int or list of ints, the axis (axes) normalized over (default -1).

    Call arguments:
        inputs: the logits.
        mask: optional boolean mask broadcastable to `inputs` (each dimension 1 or the
            input's size; True keeps a position). Masked positions get probability 0.

    ```python
    layer = keras.layers.Softmax()
    layer(np.array([1.0, 2.0, 1.0]))        # [0.2119, 0.5761, 0.2119]
    ```
    """

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            bad = [a for a in axis if isinstance(a, bool) or not isinstance(a, int)]
        else:
            bad = [] if isinstance(axis, int) and not isinstance(axis, bool) else [axis]
        if bad:
            raise TypeError(f"Softmax: `axis` must be an int or a list of ints. Received: "
                            f"axis={axis!r}")
        self.axis = axis

    def call(self, inputs, mask=None):
        if mask is not None:
            mask = jnp.asarray(mask)
            if mask.ndim > inputs.ndim or any(
                    m != 1 and m != i for m, i in zip(mask.shape[::-1], inputs.shape[::-1])):
                raise ValueError(
                    f"Layer '{self.name}': the `mask` must be broadcastable to `inputs` "
                    "(each mask dimension 1 or equal to the input's, and no more "
                    f"dimensions). Received: inputs.shape={tuple(inputs.shape)}, "
                    f"mask.shape={tuple(mask.shape)}")
            if mask.dtype != jnp.bool_:
                mask = mask > 0.5
            inputs = jnp.where(mask, inputs, jnp.asarray(-1e9, inputs.dtype))
        axis = tuple(self.axis) if isinstance(self.axis, (list, tuple)) else self.axis
        if isinstance(axis, tuple) and len(axis) > 1:
            outputs = jnp.exp(inputs - jax.scipy.special.logsumexp(inputs, axis=axis,
                                                                     keepdims=True))
        else:
            outputs = jax.nn.softmax(inputs, axis=axis[0] if isinstance(axis, tuple) else axis)
        if mask is not None:
            outputs = jnp.where(mask, outputs, jnp.zeros((), outputs.dtype))
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


__all__ = ["ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax"]
