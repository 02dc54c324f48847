"""MultiHeadAttention (Vaswani et al., 2017) with Keras 3's weights, config and masks.
[L2: core, initializers, regularizers]

Query, key and value are projected by EinsumDense layers to `(batch, <index dims>, heads,
dim)`, attended over `attention_axes`, and projected back. When Keras 3 itself takes its
fused path (attention over one axis, no dropout, no scores returned) the attention is
`jax.nn.dot_product_attention`; otherwise it is an einsum, a masked softmax and an einsum,
which also returns the scores and applies dropout to the attention weights.
"""
import math
import numbers
import string

import jax
import jax.numpy as jnp

from gazelle import initializers
from gazelle.layers.activations import Softmax
from gazelle.layers.attention._multi_input import MultiInputLayer
from gazelle.layers.einsum_dense import EinsumDense
from gazelle.layers.regularization import Dropout

_LETTERS = string.ascii_lowercase


def _positive_int(layer, arg, value, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(
            f"{layer}: received an invalid value for argument `{arg}`, expected a positive "
            f"integer{' or None' if allow_none else ''}. Received: {arg}={value!r}")
    return int(value)


def projection_equation(free_dims, bound_dims, output_dims):
    """`(equation, bias_axes, output rank)` of a projection that keeps `free_dims` axes,
    contracts `bound_dims` axes with the kernel and adds `output_dims` kernel axes."""
    free = _LETTERS[:free_dims]
    bound = _LETTERS[free_dims:free_dims + bound_dims]
    out = _LETTERS[free_dims + bound_dims:free_dims + bound_dims + output_dims]
    return f"{free}{bound},{bound}{out}->{free}{out}", out, free_dims + output_dims


def attention_equations(rank, attention_axes):
    """Einsum equations for scores and for the weighted sum, over projected tensors of
    `rank` dims laid out `(batch, <index dims>, heads, channels)`.

    Scores are `(<batch dims incl. heads>, <query attention dims>, <key attention dims>)`.
    Returns `(dot_product_equation, combine_equation, scores_rank)`; the dot product
    takes `(key, query)`.
    """
    target = _LETTERS[:rank]
    batch_dims = [i for i in range(rank) if i not in attention_axes and i != rank - 1]
    source, extra = list(target), rank
    for i in attention_axes:
        source[i] = _LETTERS[extra]
        extra += 1
    source = "".join(source)
    product = ("".join(target[i] for i in batch_dims)
               + "".join(target[i] for i in attention_axes)
               + "".join(source[i] for i in attention_axes))
    return (f"{source},{target}->{product}", f"{product},{source}->{target}", len(product))


def causal_mask(query_length, key_length):
    """`(1, T, S)` booleans: query position i may attend to key positions j <= i."""
    rows = jnp.arange(query_length)[:, None]
    cols = jnp.arange(key_length)[None, :]
    return (rows >= cols)[None]


def sliding_window_mask(query_length, key_length, window):
    """`(1, T, S)` booleans: key positions within `window - 1` of the query position."""
    rows = jnp.arange(query_length)[:, None]
    cols = jnp.arange(key_length)[None, :]
    return (jnp.abs(rows - cols) < window)[None]


def combine_masks(query, value, query_mask=None, value_mask=None, key_mask=None,
                  attention_mask=None, use_causal_mask=False, sliding_window=None):
    """One boolean `(B, T, S)`-broadcastable mask from every mask source, or None."""
    parts = []
    if query_mask is not None:
        parts.append(jnp.asarray(query_mask).astype(bool)[..., :, None])
    if value_mask is not None:
        parts.append(jnp.asarray(value_mask).astype(bool)[..., None, :])
    if key_mask is not None:
        parts.append(jnp.asarray(key_mask).astype(bool)[..., None, :])
    if use_causal_mask:
        parts.append(causal_mask(query.shape[1], value.shape[1]))
    if sliding_window is not None:
        parts.append(sliding_window_mask(query.shape[1], value.shape[1], sliding_window))
    if attention_mask is not None:
        parts.insert(0, jnp.asarray(attention_mask).astype(bool))
    if not parts:
        return None
    mask = parts[0]
    for part in parts[1:]:
        mask = mask & part
    return mask


def _clone(initializer):
    # Each projection gets its own initializer object (random ones draw fresh values).
    return type(initializer).from_config(initializer.get_config())


class MultiHeadAttention(MultiInputLayer):
    """Multi-head attention: `query` attends to `value` (and `key`) with `num_heads` heads.

    With `query`, `key` and `value` the same tensor this is self-attention. Each head
    projects the inputs to `key_dim` (query, key) and `value_dim` (value) features,
    computes `softmax(q k^T / sqrt(key_dim))` over the attention axes and weighs the
    values with it; the heads are then projected back to the query's last dimension
    (or to `output_shape`).

    Args:
        num_heads: number of attention heads.
        key_dim: size of each attention head for query and key.
        value_dim: size of each attention head for value (default None: `key_dim`).
        dropout: dropout rate on the attention weights, in training (default 0.0).
        use_bias: whether the projections use biases (default True).
        output_shape: the output's shape besides the batch and index dimensions, an int
            or tuple (default None: the query's last dimension).
        attention_axes: the axes attention runs over (default None: all axes but the
            batch, heads and features axes).
        sliding_window: optional positive int; each query position attends only to key
            positions less than `sliding_window` away (default None: all of them).
        flash_attention: `True` asks for cuDNN's fused attention (GPU only, no dropout,
            no scores); None or False use XLA's attention.
        kernel_initializer: initializer of the projection kernels (default
            `"glorot_uniform"`).
        bias_initializer: initializer of the projection biases (default `"zeros"`).
        kernel_regularizer, bias_regularizer: optional penalties on the projections.
        activity_regularizer: optional penalty on each projection's output.
        kernel_constraint, bias_constraint: optional constraints on the projections.
        use_gate: whether to gate the attention output with `sigmoid(query projection)`
            (gated attention, default False).
        seed: optional int, seed of the attention dropout.

    Call arguments:
        query: `(B, T, dim)` (or `(B, <index dims>, dim)`).
        value: `(B, S, dim)`.
        key: optional `(B, S, dim)`; default `value`.
        query_mask, value_mask, key_mask: optional boolean `(B, T)` / `(B, S)` masks of
            valid positions.
        attention_mask: optional boolean `(B, T, S)` mask, True where attention is
            allowed; broadcast over the batch and heads when smaller.
        return_attention_scores: also return the attention weights `(B, heads, T, S)`
            (default False).
        training: whether dropout is active.
        use_causal_mask: whether query position i may only attend to positions <= i.

    ```python
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=2)
    target = keras.Input(shape=[8, 16])
    source = keras.Input(shape=[4, 16])
    output, weights = layer(target, source, return_attention_scores=True)
    # output: (None, 8, 16), weights: (None, 2, 8, 4)
    ```
    """

    _build_args = ("query", "value", "key")
    supports_masking = True     # the output carries the query's mask, as in Keras

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, sliding_window=None,
                 flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate=False, seed=None, **kwargs):
        kind = type(self).__name__
        num_heads = _positive_int(kind, "num_heads", num_heads)
        key_dim = _positive_int(kind, "key_dim", key_dim)
        value_dim = _positive_int(kind, "value_dim", value_dim, allow_none=True)
        super().__init__(**kwargs)
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not (
                0 <= dropout < 1):
            raise ValueError(f"{kind}: `dropout` must be a float in [0, 1). Received: "
                             f"dropout={dropout!r}")
        self._num_heads = num_heads
        self._key_dim = key_dim
        self._value_dim = value_dim or key_dim
        self._dropout = float(dropout)
        self._use_bias = bool(use_bias)
        self._use_gate = bool(use_gate)
        if output_shape:
            if isinstance(output_shape, int):
                output_shape = (output_shape,)
            try:
                output_shape = tuple(output_shape)
            except TypeError:
                raise ValueError(
                    f"{kind}: invalid `output_shape`: {output_shape!r}. When specified, it "
                    "should be an int, a tuple or a list.") from None
        # Not `_output_shape`: Layer.output_shape reads that name.
        self._projection_shape = output_shape or None
        self._flash_attention = flash_attention
        if flash_attention and self._dropout > 0:
            raise ValueError("Dropout is not supported when flash attention is enabled. "
                             "Please set dropout to 0.0 to use flash attention.")
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = _regularizer(kernel_regularizer)
        self._bias_regularizer = _regularizer(bias_regularizer)
        self._activity_regularizer = _regularizer(activity_regularizer)
        self._kernel_constraint = kernel_constraint
        self._bias_constraint = bias_constraint
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            raise ValueError(f"{kind}: `attention_axes` must be an int, list, or tuple. "
                             f"Received: attention_axes={attention_axes!r}")
        self._attention_axes = None if attention_axes is None else tuple(attention_axes)
        self._sliding_window = _positive_int(kind, "sliding_window", sliding_window,
                                             allow_none=True)
        self.seed = seed
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self._key_dim))

    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)
    attention_axes = property(lambda self: self._attention_axes)
    # Keras 3's private names of the projections, for code written against them.
    _query_dense = property(lambda self: self.query_dense)
    _key_dense = property(lambda self: self.key_dense)
    _value_dense = property(lambda self: self.value_dense)
    _output_dense = property(lambda self: self.output_dense)

    def _sublayer_kwargs(self):
        return dict(kernel_initializer=_clone(self._kernel_initializer),
                    bias_initializer=_clone(self._bias_initializer),
                    kernel_regularizer=self._kernel_regularizer,
                    bias_regularizer=self._bias_regularizer,
                    activity_regularizer=self._activity_regularizer,
                    kernel_constraint=self._kernel_constraint,
                    bias_constraint=self._bias_constraint, dtype=self.dtype)

    def _projection(self, input_rank, heads, dim, name, activation=None):
        equation, bias_axes, output_rank = projection_equation(input_rank - 1, 1, 2)
        return EinsumDense(equation, output_shape=[None] * (output_rank - 3) + [heads, dim],
                           bias_axes=bias_axes if self._use_bias else None, name=name,
                           activation=activation, **self._sublayer_kwargs())

    def build(self, query_shape, value_shape, key_shape=None):
        """Creates the projections for inputs of these shapes (batch dimension first)."""
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ValueError(
                f"Layer '{self.name}': all dimensions of `value` and `key`, except the last "
                f"one, must be equal. Received: value_shape={value_shape} and "
                f"key_shape={key_shape}")
        if len(query_shape) < 3 or len(value_shape) < 3:
            raise ValueError(
                f"Layer '{self.name}' expects query and value of rank >= 3 "
                "(batch, <index dims>, features); received query_shape="
                f"{query_shape}, value_shape={value_shape}.")
        # Attribute names give Keras 3's weight paths (`query_dense`, ..., `_gate_dense`);
        # creation order gives its weight order.
        self.query_dense = self._projection(len(query_shape), self._num_heads,
                                            self._key_dim, "query")
        self.query_dense.build(query_shape)
        self.key_dense = self._projection(len(key_shape), self._num_heads, self._key_dim,
                                          "key")
        self.key_dense.build(key_shape)
        if self._use_gate:
            self._gate_dense = self._projection(len(query_shape), self._num_heads,
                                                self._value_dim, "gate", "sigmoid")
            self._gate_dense.build(query_shape)
        self.value_dense = self._projection(len(value_shape), self._num_heads,
                                            self._value_dim, "value")
        self.value_dense.build(value_shape)
        rank = len(query_shape) + 1            # projected: (batch, <index>, heads, dim)
        if self._attention_axes is None:
            axes = tuple(range(1, rank - 2))
        else:
            axes = tuple(a if a >= 0 else rank - 1 + a for a in self._attention_axes)
            if any(not 0 < a < rank - 2 for a in axes):
                raise ValueError(
                    f"Layer '{self.name}': attention_axes={self._attention_axes} must name "
                    f"index axes of the query (1 to {rank - 3}, or negative) for query_shape "
                    f"{query_shape}.")
        self._attention_axes = axes
        self._dot_product_equation, self._combine_equation, scores_rank = (
            attention_equations(rank, axes))
        self._softmax = Softmax(axis=tuple(range(scores_rank - len(axes), scores_rank)),
                                dtype=self.dtype)
        self._dropout_layer = Dropout(rate=self._dropout, seed=self.seed, dtype=self.dtype)
        projected = self._projection_shape or (query_shape[-1],)
        equation, bias_axes, output_rank = projection_equation(
            len(query_shape) - 1, 2, len(projected))
        self.output_dense = EinsumDense(
            equation, output_shape=[None] * (output_rank - 1 - len(projected)) + list(projected),
            bias_axes=bias_axes if self._use_bias else None, name="attention_output",
            **self._sublayer_kwargs())
        self.output_dense.build(query_shape[:-1] + (self._num_heads, self._value_dim))
        shapes = {"query_shape": query_shape, "value_shape": value_shape}
        if key_shape is not value_shape:
            shapes["key_shape"] = key_shape
        self._record_build_shapes(shapes)

    def _check_input(self, query):
        self._check_built_query(query)

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False):
        if key is None:
            key = value
        if self._flash_attention and return_attention_scores:
            raise ValueError("Returning attention scores is not supported when flash "
                             "attention is enabled. Please disable flash attention to access "
                             "attention scores.")
        built_shapes = self._build_shapes_dict
        for name, tensor in (("value", value), ("key", key)):
            built = built_shapes.get(f"{name}_shape", built_shapes["value_shape"])
            if tensor.ndim != len(built) or tensor.shape[-1] != built[-1]:
                raise ValueError(f"Layer '{self.name}' was built for {name} of shape "
                                 f"{tuple(built)}; received shape {tuple(tensor.shape)}.")
        # A causal mask alone goes to the fused kernel as `is_causal` (not materialized),
        # unless a subclass overrides `_compute_attention` (Keras 3 does the same).
        causal_only = (use_causal_mask and query_mask is None and value_mask is None
                       and key_mask is None and attention_mask is None
                       and self._sliding_window is None
                       and type(self)._compute_attention
                       is MultiHeadAttention._compute_attention)
        mask = None if causal_only else combine_masks(
            query, value, query_mask, value_mask, key_mask, attention_mask,
            use_causal_mask, self._sliding_window)
        gate = self._gate_dense(query) if self._use_gate else None
        query = self.query_dense(query)
        key = self.key_dense(key)
        value = self.value_dense(value)
        extra = {"use_causal_mask": True} if causal_only else {}
        output, scores = self._compute_attention(query, key, value, mask, training,
                                                 return_attention_scores, **extra)
        if gate is not None:
            output = output * gate
        output = self.output_dense(output)
        if return_attention_scores:
            return output, scores
        return output

    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           return_attention_scores=False, use_causal_mask=False):
        """Attention over the projected `(B, <index dims>, heads, dim)` tensors.

        Keras 3's hook, with its signature: subclasses may override it. Returns
        `(output, scores)`; the scores are None on the fused path. `use_causal_mask`
        arrives True only when causality is the only mask (`attention_mask` is None).
        """
        # jax's fused attention needs one head size for keys and values.
        fused = not (self._dropout > 0 or return_attention_scores or query.ndim != 4
                     or self._key_dim != self._value_dim)
        if fused:
            mask = attention_mask
            if mask is not None:
                while mask.ndim < 4:            # broadcast over the heads (and batch)
                    mask = jnp.expand_dims(mask, -3)
            output = jax.nn.dot_product_attention(
                query, key, value, mask=mask, scale=self._inverse_sqrt_key_dim,
                is_causal=bool(use_causal_mask and attention_mask is None),
                implementation="cudnn" if self._flash_attention else None)
            return output, None
        if use_causal_mask:
            causal = causal_mask(query.shape[1], value.shape[1])
            attention_mask = causal if attention_mask is None else (
                jnp.asarray(attention_mask).astype(bool) & causal)
        query = query * jnp.asarray(self._inverse_sqrt_key_dim, query.dtype)
        scores = self._masked_softmax(jnp.einsum(self._dot_product_equation, key, query),
                                      attention_mask)
        weights = self._dropout_layer(scores, training=training) if self._dropout else scores
        return jnp.einsum(self._combine_equation, weights, value), scores

    def _masked_softmax(self, attention_scores, attention_mask=None):
        """Softmax over the key axes; the mask is broadcast over the heads (and batch)."""
        if attention_mask is not None:
            expand_at = -2 * len(self._attention_axes) - 1
            while attention_mask.ndim < attention_scores.ndim:
                attention_mask = jnp.expand_dims(attention_mask, expand_at)
        return self._softmax(attention_scores, mask=attention_mask)

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        if value_shape is None and isinstance(query_shape, list) and query_shape and \
                isinstance(query_shape[0], (list, tuple)):
            query_shape, value_shape, *rest = query_shape
            key_shape = rest[0] if rest else None
        query_shape = tuple(query_shape)
        if value_shape is not None:
            value_shape = tuple(value_shape)
            key_shape = value_shape if key_shape is None else tuple(key_shape)
            if value_shape[1:-1] != key_shape[1:-1]:
                raise ValueError(
                    "All dimensions of `value` and `key`, except the last one, must be "
                    f"equal. Received: value_shape={value_shape} and key_shape={key_shape}")
        if self._projection_shape:
            return query_shape[:-1] + tuple(self._projection_shape)
        return query_shape

    def get_config(self):
        from gazelle.core.serialization import serialize_keras_object as ser
        return {**super().get_config(), "num_heads": self._num_heads,
                "key_dim": self._key_dim, "value_dim": self._value_dim,
                "dropout": self._dropout, "use_bias": self._use_bias,
                "use_gate": self._use_gate, "output_shape": self._projection_shape,
                "attention_axes": self._attention_axes,
                "sliding_window": self._sliding_window,
                "kernel_initializer": initializers.serialize(self._kernel_initializer),
                "bias_initializer": initializers.serialize(self._bias_initializer),
                "kernel_regularizer": ser(self._kernel_regularizer),
                "bias_regularizer": ser(self._bias_regularizer),
                "activity_regularizer": ser(self._activity_regularizer),
                "kernel_constraint": ser(self._kernel_constraint),
                "bias_constraint": ser(self._bias_constraint), "seed": self.seed}


def _regularizer(identifier):
    if identifier is None:
        return None
    from gazelle import regularizers
    return regularizers.get(identifier)


__all__ = ["MultiHeadAttention"]
