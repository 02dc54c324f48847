"""Recurrent cells: SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells. [L2: core, activations,
initializers, regularizers, random]

A cell computes one time step: `call(inputs, states) -> (output, new_states)`, and says
how big its states are (`state_size`). The built-in cells split that step in two, so that
an `RNN` layer can run the input half for every time step as one matrix product before
its `lax.scan`: `_project(inputs, masks)` (inputs @ kernel + input bias; works on
`(batch, features)` and `(batch, timesteps, features)`) and `_recur(projected, states,
recurrent_masks)` (the recurrent product and the gates). `call` is the two in a row.

Dropout masks are drawn once per batch and reused at every step (Keras's rule): an RNN
draws them before its scan (`_prepare_dropout`) and the cells read the cached masks.
"""
import jax
import jax.numpy as jnp

from gazelle import activations, initializers, regularizers
from gazelle.layers.core import last_axis_product
from gazelle.layers.layer import Layer
from gazelle.random import SeedGenerator


def _check_units(cls_name, units):
    if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
        raise ValueError(f"{cls_name}: received an invalid value for argument `units`, "
                         f"expected a positive integer, got {units!r}.")
    return units


def _rate(value, what, cls_name):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{cls_name}: `{what}` must be a float in [0, 1]; received "
                        f"{value!r}.") from None
    return min(1.0, max(0.0, value))


class _GatedCell(Layer):
    """Shared parts of the built-in cells: arguments, weights, dropout masks."""

    _gates = 1                # how many blocks of `units` columns the kernel has

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        # Keras's `implementation` (1: per-gate products, 2: fused) computes the same values.
        kwargs.pop("implementation", None)
        super().__init__(**kwargs)
        name = type(self).__name__
        self.units = _check_units(name, units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = kernel_constraint
        self.recurrent_constraint = recurrent_constraint
        self.bias_constraint = bias_constraint
        self.dropout = _rate(dropout, "dropout", name)
        self.recurrent_dropout = _rate(recurrent_dropout, "recurrent_dropout", name)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)
        self._cached_masks = None          # (input masks, recurrent masks) during an RNN call

    # -- weights -------------------------------------------------------------------
    def _bias_shape(self):
        return (self._gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Cell '{self.name}' needs a known last input dimension; "
                             f"received shape {tuple(input_shape)}.")
        width = self._gates * self.units
        self.kernel = self.add_weight(
            shape=(input_dim, width), initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
            name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width), initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint,
            name="recurrent_kernel")
        if self.use_bias:
            self.bias = self.add_weight(
                shape=self._bias_shape(), initializer=self._bias_init(),
                regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                name="bias")
        else:
            self.bias = None

    # -- dropout -------------------------------------------------------------------
    def _mask_count(self):
        # Keras draws one mask per gate when recurrent dropout is on (its implementation 1).
        return self._gates if self.recurrent_dropout > 0 else 1

    def _draw(self, rate, shape, dtype):
        keep = 1.0 - rate
        return [jnp.where(jax.random.bernoulli(self.seed_generator.next(), keep, shape),
                          jnp.asarray(1.0 / keep, dtype), jnp.asarray(0.0, dtype))
                for _ in range(self._mask_count())]

    def _make_masks(self, batch, dtype, training):
        """(input masks or None, recurrent masks or None) for a batch, drawn now."""
        if not training:
            return None, None
        in_masks = rec_masks = None
        if 0.0 < self.dropout < 1.0:
            in_masks = self._draw(self.dropout, (batch, self.kernel.shape[0]), dtype)
        if 0.0 < self.recurrent_dropout < 1.0:
            rec_masks = self._draw(self.recurrent_dropout, (batch, self.units), dtype)
        return in_masks, rec_masks

    def _masks_for(self, inputs, training):
        if self._cached_masks is not None:
            return self._cached_masks
        return self._make_masks(inputs.shape[0], inputs.dtype, training)

    # -- the step ----------------------------------------------------------------------
    def _input_bias(self):
        return None if self.bias is None else self.bias.value

    def _project(self, inputs, masks):
        """inputs @ kernel (+ input bias), for `(batch, features)` or `(batch, time, features)`."""
        kernel = self.kernel.value
        if masks is None:
            z = last_axis_product(inputs, kernel)
        else:
            if inputs.ndim == 3:
                masks = [m[:, None, :] for m in masks]
            if len(masks) == 1:
                z = last_axis_product(inputs * masks[0], kernel)
            else:
                u = self.units
                z = jnp.concatenate([(inputs * m) @ kernel[:, g * u:(g + 1) * u]
                                     for g, m in enumerate(masks)], axis=-1)
        bias = self._input_bias()
        return z if bias is None else z + bias

    def _recurrent_product(self, h, masks, columns=None):
        """h @ recurrent_kernel[:, columns], with one recurrent-dropout mask per gate block."""
        kernel = self.recurrent_kernel.value
        if columns is not None:
            kernel = kernel[:, columns]
        if masks is None:
            return h @ kernel
        if len(masks) == 1:
            return (h * masks[0]) @ kernel
        u = self.units
        blocks = kernel.shape[1] // u
        return jnp.concatenate([(h * masks[g]) @ kernel[:, g * u:(g + 1) * u]
                                for g in range(blocks)], axis=-1)

    def call(self, inputs, states, training=False):
        in_masks, rec_masks = self._masks_for(inputs, training)
        nested = isinstance(states, (list, tuple))
        state_list = list(states) if nested else [states]
        output, new_states = self._recur(self._project(inputs, in_masks), state_list,
                                         rec_masks)
        if not nested and len(new_states) == 1:
            return output, new_states[0]
        return output, new_states

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        return [jnp.zeros((batch_size, d), self.compute_dtype) for d in sizes]

    def get_config(self):
        from gazelle.core.serialization import serialize_keras_object as ser
        config = {"units": self.units, "activation": activations.serialize(self.activation)}
        if hasattr(self, "recurrent_activation"):
            config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config.update({
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            **self._extra_config(),
            "kernel_regularizer": ser(self.kernel_regularizer),
            "recurrent_regularizer": ser(self.recurrent_regularizer),
            "bias_regularizer": ser(self.bias_regularizer),
            "kernel_constraint": ser(self.kernel_constraint),
            "recurrent_constraint": ser(self.recurrent_constraint),
            "bias_constraint": ser(self.bias_constraint),
            "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed})
        return {**super().get_config(), **config}

    def _extra_config(self):
        return {}


class SimpleRNNCell(_GatedCell):
    """Cell class for SimpleRNN: `h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`.

    Args:
        units: positive int, dimensionality of the output space.
        activation: activation function (default `"tanh"`; None means linear).
        use_bias: whether the layer uses a bias vector (default True).
        kernel_initializer: initializer for the input `kernel` (default `"glorot_uniform"`).
        recurrent_initializer: initializer for `recurrent_kernel` (default `"orthogonal"`).
        bias_initializer: initializer for the bias (default `"zeros"`).
        kernel_regularizer, recurrent_regularizer, bias_regularizer: optional penalties.
        kernel_constraint, recurrent_constraint, bias_constraint: optional projections.
        dropout: float in [0, 1], fraction of the input units dropped in training.
        recurrent_dropout: float in [0, 1], fraction of the recurrent units dropped.
        seed: optional int, the random seed for dropout.

    ```python
    layer = keras.layers.RNN(keras.layers.SimpleRNNCell(4))
    y = layer(np.ones((2, 10, 8), "float32"))      # (2, 4)
    ```
    """

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, **kwargs):
        super().__init__(
            units, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.state_size = self.units
        self.output_size = self.units

    def _mask_count(self):
        return 1

    def _recur(self, projected, states, rec_masks):
        h = self.activation(projected + self._recurrent_product(states[0], rec_masks))
        return h, [h]


class LSTMCell(_GatedCell):
    """Cell class for the LSTM layer (Hochreiter & Schmidhuber, 1997).

    The kernels hold the gates in the order input, forget, cell, output.

    Args:
        units: positive int, dimensionality of the output space.
        activation: activation of the cell candidate and output (default `"tanh"`).
        recurrent_activation: activation of the gates (default `"sigmoid"`).
        use_bias: whether the layer uses a bias vector (default True).
        kernel_initializer: initializer for `kernel` (default `"glorot_uniform"`).
        recurrent_initializer: initializer for `recurrent_kernel` (default `"orthogonal"`).
        bias_initializer: initializer for the bias (default `"zeros"`).
        unit_forget_bias: if True (default), the forget gate's bias starts at 1 (and the
            rest of the bias from `bias_initializer`).
        kernel_regularizer, recurrent_regularizer, bias_regularizer: optional penalties.
        kernel_constraint, recurrent_constraint, bias_constraint: optional projections.
        dropout: float in [0, 1], fraction of the input units dropped in training.
        recurrent_dropout: float in [0, 1], fraction of the recurrent units dropped.
        seed: optional int, the random seed for dropout.

    ```python
    layer = keras.layers.RNN(keras.layers.LSTMCell(4))
    y = layer(np.ones((2, 10, 8), "float32"))      # (2, 4)
    ```
    """

    _gates = 4
    _gate_axis = -1           # the axis that holds the four gates (ConvLSTM: the channel axis)

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        super().__init__(
            units, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [self.units, self.units]
        self.output_size = self.units

    def _bias_init(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, u = self.bias_initializer, self.units

        def forget_one(shape, dtype=None):
            return jnp.concatenate([jnp.asarray(base((u,), dtype)), jnp.ones((u,), dtype),
                                    jnp.asarray(base((2 * u,), dtype))])
        return forget_one

    def _recur(self, projected, states, rec_masks):
        h_prev, c_prev = states[0], states[1]
        z = projected + self._recurrent_product(h_prev, rec_masks)
        z_i, z_f, z_c, z_o = jnp.split(z, 4, axis=self._gate_axis)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = f * c_prev + i * self.activation(z_c)
        o = self.recurrent_activation(z_o)
        h = o * self.activation(c)
        return h, [h, c]

    def _extra_config(self):
        return {"unit_forget_bias": self.unit_forget_bias}


class GRUCell(_GatedCell):
    """Cell class for the GRU layer (Cho et al., 2014).

    The kernels hold the gates in the order update (z), reset (r), candidate (h).

    Args:
        units: positive int, dimensionality of the output space.
        activation: activation of the candidate (default `"tanh"`).
        recurrent_activation: activation of the gates (default `"sigmoid"`).
        use_bias: whether the layer uses a bias vector (default True).
        kernel_initializer: initializer for `kernel` (default `"glorot_uniform"`).
        recurrent_initializer: initializer for `recurrent_kernel` (default `"orthogonal"`).
        bias_initializer: initializer for the bias (default `"zeros"`).
        kernel_regularizer, recurrent_regularizer, bias_regularizer: optional penalties.
        kernel_constraint, recurrent_constraint, bias_constraint: optional projections.
        dropout: float in [0, 1], fraction of the input units dropped in training.
        recurrent_dropout: float in [0, 1], fraction of the recurrent units dropped.
        reset_after: apply the reset gate after the recurrent matrix product (default
            True, the cuDNN convention; the bias then has shape `(2, 3 * units)`: input
            bias and recurrent bias). False applies it before (bias `(3 * units,)`).
        seed: optional int, the random seed for dropout.

    ```python
    layer = keras.layers.RNN(keras.layers.GRUCell(4))
    y = layer(np.ones((2, 10, 8), "float32"))      # (2, 4)
    ```
    """

    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, reset_after=True, seed=None, **kwargs):
        super().__init__(
            units, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)
        self.state_size = self.units
        self.output_size = self.units

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self):
        if self.bias is None:
            return None
        bias = self.bias.value
        return bias[0] if self.reset_after else bias

    def _recur(self, projected, states, rec_masks):
        h_prev = states[0]
        u = self.units
        x_z, x_r, x_h = projected[..., :u], projected[..., u:2 * u], projected[..., 2 * u:]
        if self.reset_after:
            inner = self._recurrent_product(h_prev, rec_masks)
            if self.bias is not None:
                inner = inner + self.bias.value[1]
            z = self.recurrent_activation(x_z + inner[..., :u])
            r = self.recurrent_activation(x_r + inner[..., u:2 * u])
            hh = self.activation(x_h + r * inner[..., 2 * u:])
        else:
            gate_masks = None if rec_masks is None else rec_masks[:2] if len(
                rec_masks) > 1 else rec_masks
            inner = self._recurrent_product(h_prev, gate_masks, slice(0, 2 * u))
            z = self.recurrent_activation(x_z + inner[..., :u])
            r = self.recurrent_activation(x_r + inner[..., u:])
            h_masked = h_prev if rec_masks is None else h_prev * rec_masks[-1]
            hh = self.activation(
                x_h + (r * h_masked) @ self.recurrent_kernel.value[:, 2 * u:])
        h = z * h_prev + (1.0 - z) * hh
        return h, [h]

    def _extra_config(self):
        return {"reset_after": self.reset_after}


class StackedRNNCells(Layer):
    """Wraps a list of cells so that they run as one cell, each feeding the next.

    Args:
        cells: a list of cells (layers with `call(inputs, states)` and `state_size`).

    ```python
    cells = [keras.layers.LSTMCell(8), keras.layers.LSTMCell(4)]
    layer = keras.layers.RNN(keras.layers.StackedRNNCells(cells))
    y = layer(np.ones((2, 10, 3), "float32"))      # (2, 4)
    ```
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        for cell in cells:
            if not callable(getattr(cell, "call", None)):
                raise ValueError("StackedRNNCells: all cells must have a `call` method. "
                                 f"Received a cell without one: {cell!r}")
            if getattr(cell, "state_size", None) is None:
                raise ValueError("StackedRNNCells: all cells must have a `state_size` "
                                 f"attribute. Received a cell without one: {cell!r}")
        self.cells = list(cells)

    @property
    def state_size(self):
        return [c.state_size for c in self.cells]

    @property
    def output_size(self):
        last = self.cells[-1]
        if getattr(last, "output_size", None) is not None:
            return last.output_size
        size = last.state_size
        return size[0] if isinstance(size, (list, tuple)) else size

    def get_initial_state(self, batch_size=None):
        out = []
        for cell in self.cells:
            fn = getattr(cell, "get_initial_state", None)
            if fn is not None:
                out.append(fn(batch_size=batch_size))
            elif isinstance(cell.state_size, int):
                out.append(jnp.zeros((batch_size, cell.state_size), self.compute_dtype))
            else:
                out.append([jnp.zeros((batch_size, d), self.compute_dtype)
                            for d in cell.state_size])
        return out

    def build(self, input_shape):
        shape = tuple(input_shape)
        for cell in self.cells:
            if isinstance(cell, Layer):
                cell._maybe_build([shape])
            size = getattr(cell, "output_size", None)
            if size is None:
                size = cell.state_size[0] if isinstance(cell.state_size, (list, tuple)) \
                    else cell.state_size
            shape = (shape[0], size)

    def call(self, inputs, states, training=False):
        new_states = []
        for cell, cell_states in zip(self.cells, states):
            nested = isinstance(cell_states, (list, tuple))
            cell_states = list(cell_states) if nested else [cell_states]
            inputs, out_states = cell(inputs, cell_states, training=training)
            if not isinstance(out_states, (list, tuple)):
                out_states = [out_states]
            out_states = list(out_states)
            new_states.append(out_states if nested or len(out_states) != 1 else out_states[0])
        return inputs, new_states

    def get_config(self):
        from gazelle.core.serialization import serialize_keras_object as ser
        return {**super().get_config(), "cells": [ser(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from gazelle.core.serialization import deserialize_keras_object
        config = dict(config)
        cells = [c if isinstance(c, Layer) else deserialize_keras_object(
            c, custom_objects=custom_objects) for c in config.pop("cells")]
        return cls(cells, **config)


__all__ = ["SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells"]
