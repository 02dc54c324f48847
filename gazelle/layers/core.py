"""Core layers: InputLayer/Input, Dense, Activation, Identity. [L2]"""
import types

import numpy as np

from gazelle import activations, initializers
from gazelle.core import naming, shapes, symbolic
from gazelle.layers import input_spec
from gazelle.layers.layer import Layer


class InputLayer(Layer):
    """The entry point of a model: holds the input shape and dtype.

    Args:
        shape: input shape without the batch dimension (Keras 3 spelling); tf.keras 2's
            `input_shape` is accepted too.
        batch_size: optional fixed batch size.
        dtype: input dtype (default `"float32"`).
        name: name (default `input_1`, `input_2`, ... as tf.keras 2 names them).
    """

    _is_input_layer = True      # its config entry has Keras's InputLayer form

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, input_shape=None,
                 batch_shape=None, batch_input_shape=None, sparse=None, ragged=None, **kwargs):
        shape = shape if shape is not None else input_shape
        batch_shape = batch_shape if batch_shape is not None else batch_input_shape
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer: pass `shape=` (the input shape without the batch "
                                 "dimension), e.g. shape=(28, 28).")
            batch_shape = (batch_size,) + shapes.standardize_shape(shape, "Input shape")
        batch_shape = shapes.standardize_shape(batch_shape, "Input batch_shape")
        super().__init__(name=name or naming.numbered("input"), dtype=dtype,
                         batch_input_shape=batch_shape, **kwargs)
        self.built = True
        if self._dtype == "string":     # text stays on the host: nothing to cast
            self._cast_inputs = False
        self._build_shapes = [batch_shape]
        self._output_shape = batch_shape
        tensor = symbolic.SymbolicTensor(batch_shape, self._dtype, name=self.name)
        tensor.node = symbolic.Node(self, (), {}, tensor)     # `self.output` reads it back

    def get_config(self):
        return {"batch_shape": self._batch_input_shape, "dtype": self._dtype,
                "sparse": False, "name": self.name}

    def count_params(self):
        return 0


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, **kwargs):
    """Creates a symbolic input for the Functional API (or the first item of a Sequential).

    Args:
        shape: shape without the batch dimension, e.g. `(28, 28)`.
        batch_size: optional fixed batch size.
        dtype: input dtype (default `"float32"`).
        name: optional name.

    ```python
    inputs = keras.Input(shape=(784,))
    ```
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                       batch_shape=batch_shape, **kwargs)
    return layer.output


def last_axis_product(x, kernel):
    """`x @ kernel` over the last axis of `x`. Inputs of rank 3 and more go through one
    2-D product (reshapes are free): XLA:CPU runs the 2-D form's gradient up to 2x faster
    than the batched form's (a (32, 64, 128) @ (128, 512) product: 4.3 to 2.5 ms)."""
    shape = getattr(x, "shape", None)
    if shape is None or len(shape) < 3 or any(not isinstance(d, int) for d in shape):
        return x @ kernel
    flat = x.reshape(-1, shape[-1]) @ kernel
    return flat.reshape(tuple(shape[:-1]) + (flat.shape[-1],))


class Dense(Layer):
    """Densely-connected layer: `output = activation(inputs @ kernel + bias)`.

    Args:
        units: positive int, dimensionality of the output space.
        activation: activation name or function (default None: linear).
        use_bias: whether to add a bias vector (default True).
        kernel_initializer: initializer for the kernel (default `"glorot_uniform"`).
        bias_initializer: initializer for the bias (default `"zeros"`).
        kernel_regularizer, bias_regularizer: optional penalties added to the loss.
        kernel_constraint, bias_constraint: optional projections after each update.

    ```python
    layer = keras.layers.Dense(300, activation="relu")
    y = layer(np.ones((2, 784), "float32"))      # (2, 300)
    ```
    """

    supports_masking = True     # passes its input's mask on, as in Keras 3

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=_get_regularizer(activity_regularizer), **kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            # ints from numpy and whole floats (tf.keras 2 took int(units)) pass; strings,
            # bools and fractions do not: a config field that sizes a weight is a number.
            ok = (isinstance(units, (np.integer, float)) and not isinstance(units, bool)
                  and float(units).is_integer() and units > 0)
            if not ok:
                raise ValueError(
                    "Received an invalid value for `units`, expected a positive integer. "
                    f"Received: units={units!r}")
            units = int(units)
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = _get_regularizer(kernel_regularizer)
        self.bias_regularizer = _get_regularizer(bias_regularizer)
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint

    def build(self, input_shape):
        input_spec.check_rank(self, input_shape, min_ndim=2)
        if input_shape[-1] is None:
            raise ValueError(
                f"Layer '{self.name}' needs a known last input dimension to create its "
                f"kernel; received shape {tuple(input_shape)}.")
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.units), initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint, name="kernel")
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint, name="bias")

    def _check_input(self, inputs):
        shape = tuple(inputs.shape)
        input_spec.check_rank(self, shape, min_ndim=2)
        hint = " Add a Flatten layer before it." if len(shape) > 2 else ""
        input_spec.check_last_dim(self, shape, self.kernel.shape[0], hint)

    def call(self, inputs):
        x = last_axis_product(inputs, self.kernel)
        if self.use_bias:
            x = x + self.bias
        return self.activation(x)

    def compute_output_shape(self, input_shape):
        if type(self).call is not Dense.call:       # a subclass's call decides its shape
            return super().compute_output_shape(input_shape)
        shape = tuple(input_shape)
        self._maybe_build([shape])
        self._check_input(types.SimpleNamespace(shape=shape))
        return shape[:-1] + (self.units,)

    def get_config(self):
        from gazelle.core.serialization import serialize_keras_object as ser
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": ser(self.kernel_regularizer),
                "bias_regularizer": ser(self.bias_regularizer),
                "kernel_constraint": ser(self.kernel_constraint),
                "bias_constraint": ser(self.bias_constraint)}


class Activation(Layer):
    """Applies an activation function to its input.

    Args:
        activation: activation name (`"relu"`) or function.

    ```python
    keras.layers.Activation("softmax")
    ```
    """

    supports_masking = True     # passes its input's mask on, as in Keras 3

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Identity(Layer):
    """Returns its input unchanged."""

    supports_masking = True     # passes its input's mask on, as in Keras 3

    def call(self, inputs):
        return inputs


def _get_regularizer(identifier):
    if identifier is None:
        return None
    from gazelle import regularizers
    return regularizers.get(identifier)


__all__ = ["InputLayer", "Input", "Dense", "Activation", "Identity"]
