"""EinsumDense: a dense layer whose product is any einsum equation. [L2: activations,
initializers]

The projections inside the attention layers are EinsumDense layers, so their kernels
keep Keras 3's multi-dimensional shapes (`(dim, heads, key_dim)`) and `.keras` files
line up. The equation is analysed once, at build, into the kernel and bias shapes.
"""
import re

import jax.numpy as jnp

from gazelle import activations, initializers
from gazelle.layers import input_spec
from gazelle.layers.layer import Layer

_PATTERNS = (
    (re.compile(r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)"), False),
    (re.compile(r"0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)"), True),
    (re.compile(r"([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0"), False),
)


def analyze_einsum(equation, bias_axes, input_shape, output_shape):
    """Kernel shape, bias shape, full output shape and the kernel's input/output axes.

    Args:
        equation: `"ab,bc->ac"`, `"...b,bc->...c"` or `"ab...,bc->ac..."`.
        bias_axes: letters of the output spec that get a bias, or None.
        input_shape: the input's shape (batch first; None for unknown sizes).
        output_shape: the layer's partial output shape (without the batch dimension
            and the dimensions under the ellipsis).
    """
    text = equation.replace("...", "0")
    for pattern, left_elided in _PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            break
    else:
        raise ValueError(
            f"Invalid einsum equation '{equation}'. Equations must be in the form "
            "[X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")
    in_spec, kernel_spec, out_spec = match.groups()
    input_shape = tuple(input_shape)
    elided = len(input_shape) - len(in_spec)
    full = [input_shape[0]] + list(output_shape)
    if elided > 0 and left_elided:
        full[1:1] = list(input_shape[1:elided])
    elif elided > 0:
        full.extend(input_shape[len(input_shape) - elided:])
    if left_elided:
        in_index = {c: i + elided - len(input_shape) for i, c in enumerate(in_spec)}
        out_index = {c: i + elided for i, c in enumerate(out_spec)}
    else:
        in_index = {c: i for i, c in enumerate(in_spec)}
        out_index = {c: i for i, c in enumerate(out_spec)}
    if len(full) != len(out_spec) + max(elided, 0):
        raise ValueError(
            f"EinsumDense: `output_shape`={tuple(output_shape)} does not fit the output "
            f"spec '{out_spec}' of equation '{equation}' for inputs of shape {input_shape}: "
            "give one size (or None) per output letter, without the batch dimension.")
    for c in in_spec:
        if c in out_index:
            size_in, size_out = input_shape[in_index[c]], full[out_index[c]]
            if size_out is not None and size_out != size_in:
                raise ValueError(
                    "Input shape and output shape do not match at shared dimension "
                    f"'{c}'. Input shape is {size_in}, and output shape is {size_out}.")
    for c in out_spec:
        if c not in in_spec and c not in kernel_spec:
            raise ValueError(
                f"Dimension '{c}' was specified in the output '{out_spec}' but has no "
                f"corresponding dim in the input spec '{in_spec}' or weight spec "
                f"'{kernel_spec}'.")
    kernel_shape, input_axes, output_axes = [], [], []
    for i, c in enumerate(kernel_spec):
        if c in out_index:
            kernel_shape.append(full[out_index[c]])
            output_axes.append(i)
        elif c in in_index:
            kernel_shape.append(input_shape[in_index[c]])
            input_axes.append(i)
        else:
            raise ValueError(
                f"Weight dimension '{c}' did not have a match in either the input spec "
                f"'{in_spec}' or the output spec '{out_spec}'. For this layer, the weight "
                "must be fully specified.")
    bias_shape = None
    if bias_axes is not None:
        for c in bias_axes:
            if c not in out_spec:
                raise ValueError(f"Bias dimension '{c}' was requested, but is not part of "
                                 f"the output spec '{out_spec}'.")
        offset = elided if left_elided else 0
        first = min(out_spec.find(c) for c in bias_axes)
        bias_shape = [full[i + offset] if c in bias_axes else 1
                      for i, c in enumerate(out_spec) if i >= first]
        if not left_elided:
            bias_shape.extend([1] * max(elided, 0))
    return kernel_shape, bias_shape, tuple(full), input_axes, output_axes


class EinsumDense(Layer):
    """A dense layer whose computation is an `einsum` of the input and a kernel.

    Args:
        equation: the einsum to perform, e.g. `"ab,bc->ac"` (a Dense layer),
            `"abc,cd->abd"` or `"...b,bc->...c"` (ellipsis for free leading axes).
        output_shape: the output's expected shape without the batch dimension and
            without the axes under an ellipsis; `None` for sizes taken from the input.
            An int means a 1-tuple.
        activation: activation function (default None: linear).
        bias_axes: letters of the output spec that get a bias (default None: no bias).
        kernel_initializer: initializer for the kernel (default `"glorot_uniform"`; its
            fans are counted over the kernel's input and output axes).
        bias_initializer: initializer for the bias (default `"zeros"`).
        kernel_regularizer, bias_regularizer: optional penalties added to the loss.
        kernel_constraint, bias_constraint: optional projections after each update.
        lora_rank, lora_alpha, gptq_unpacked_column_size, quantization_config: Keras 3's
            LoRA and quantization options; gazelle supports none of them and refuses
            values other than None.

    ```python
    layer = keras.layers.EinsumDense("abc,cd->abd", output_shape=(None, 64), bias_axes="d")
    y = layer(np.ones((2, 10, 32), "float32"))      # (2, 10, 64)
    ```
    """

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None,
                 gptq_unpacked_column_size=None, quantization_config=None,
                 activity_regularizer=None, **kwargs):
        super().__init__(activity_regularizer=_regularizer(activity_regularizer), **kwargs)
        for arg, value in (("lora_rank", lora_rank), ("lora_alpha", lora_alpha),
                           ("gptq_unpacked_column_size", gptq_unpacked_column_size),
                           ("quantization_config", quantization_config)):
            if value is not None:
                raise NotImplementedError(
                    f"EinsumDense: `{arg}` (LoRA / quantization) is not supported by "
                    f"gazelle; received {arg}={value!r}. Leave it as None.")
        if not isinstance(equation, str):
            raise TypeError(f"EinsumDense: `equation` must be a string such as 'ab,bc->ac'; "
                            f"received {equation!r}.")
        self.equation = equation
        if isinstance(output_shape, int):
            output_shape = (output_shape,)
        try:
            self.partial_output_shape = tuple(output_shape)
        except TypeError:
            raise TypeError(f"EinsumDense: `output_shape` must be an int or a tuple of ints/"
                            f"None; received {output_shape!r}.") from None
        if bias_axes is not None and not isinstance(bias_axes, str):
            raise TypeError(f"EinsumDense: `bias_axes` must be a string of output letters or "
                            f"None; received {bias_axes!r}.")
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizer(kernel_regularizer)
        self.bias_regularizer = _regularizer(bias_regularizer)
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint
        self.lora_rank = None
        self.lora_alpha = None
        self.lora_enabled = False
        self.quantization_config = None

    def build(self, input_shape):
        kernel_shape, bias_shape, _, input_axes, output_axes = analyze_einsum(
            self.equation, self.bias_axes, input_shape, self.partial_output_shape)
        if any(d is None for d in kernel_shape):
            raise ValueError(
                f"Layer '{self.name}' cannot size its kernel {tuple(kernel_shape)} from "
                f"inputs of shape {tuple(input_shape)}: the contracted input dimensions and "
                "the output_shape entries on kernel axes must be known.")
        init = self.kernel_initializer
        if isinstance(init, initializers.VarianceScaling) and (
                init.input_axes is None or init.output_axes is None):
            # Fans over the kernel's own input/output axes, as Keras counts them.
            init = type(init).from_config({**init.get_config(), "input_axes": input_axes,
                                           "output_axes": output_axes})
        self._input_rank = len(input_shape)
        self._kernel = self.add_weight(
            shape=tuple(kernel_shape), initializer=init, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint, name="kernel")
        self.bias = None
        if bias_shape is not None:
            self.bias = self.add_weight(
                shape=tuple(bias_shape), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                name="bias")
        self.built = True       # also when build() is called directly (as the attention layers do)

    @property
    def kernel(self):
        if not self.built:
            raise AttributeError(f"Layer '{self.name}': build the layer before accessing "
                                 "`kernel`.")
        return self._kernel

    def _check_input(self, inputs):
        input_spec.check_rank(self, tuple(inputs.shape), ndim=self._input_rank)

    def call(self, inputs, training=None):
        x = jnp.einsum(self.equation, inputs, self._kernel.value)
        if self.bias is not None:
            x = x + self.bias
        if self.activation is not None:
            x = self.activation(x)
        return x

    def compute_output_shape(self, input_shape):
        # Keras 3 reports None for every `output_shape` entry given as None; sizes that
        # the einsum carries over from the input are filled in here.
        full = analyze_einsum(self.equation, self.bias_axes, input_shape,
                              self.partial_output_shape)[2]
        in_spec, _, out_spec = self.equation.replace("...", "").replace("->", ",").split(",")
        input_shape = tuple(input_shape)
        out = list(full)
        if self.equation.startswith("..."):
            in_axes = {c: len(input_shape) - len(in_spec) + i for i, c in enumerate(in_spec)}
            out_axes = {c: len(full) - len(out_spec) + i for i, c in enumerate(out_spec)}
        else:
            in_axes = {c: i for i, c in enumerate(in_spec)}
            out_axes = {c: i for i, c in enumerate(out_spec)}
        for c, i in out_axes.items():
            if out[i] is None and c in in_axes:
                out[i] = input_shape[in_axes[c]]
        return tuple(out)

    def get_config(self):
        from gazelle.core.serialization import serialize_keras_object as ser
        return {**super().get_config(), "output_shape": self.partial_output_shape,
                "equation": self.equation,
                "activation": activations.serialize(self.activation),
                "bias_axes": self.bias_axes,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": ser(self.kernel_regularizer),
                "bias_regularizer": ser(self.bias_regularizer),
                "activity_regularizer": ser(self.activity_regularizer),
                "kernel_constraint": ser(self.kernel_constraint),
                "bias_constraint": ser(self.bias_constraint),
                "quantization_config": None}


def _regularizer(identifier):
    if identifier is None:
        return None
    from gazelle import regularizers
    return regularizers.get(identifier)


__all__ = ["EinsumDense"]
