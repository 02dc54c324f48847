"""GroupQueryAttention (Ainslie et al., 2023): query heads share fewer key/value heads.
[L2: core, initializers, regularizers]

Keras 3 exports the class `GroupedQueryAttention` as `keras.layers.GroupQueryAttention`
and writes the exported name into configs; gazelle does the same (`_keras_class_name`),
while layer names and weight paths follow the class name (`grouped_query_attention`).
"""
import math
import numbers

import jax
import jax.numpy as jnp

from gazelle import config, initializers
from gazelle.layers.activations import Softmax
from gazelle.layers.attention._multi_input import MultiInputLayer
from gazelle.layers.attention.multi_head_attention import (
    _clone, _positive_int, _regularizer, causal_mask, combine_masks)
from gazelle.layers.einsum_dense import EinsumDense
from gazelle.layers.regularization import Dropout


class GroupedQueryAttention(MultiInputLayer):
    """Grouped-query attention: `num_query_heads` query heads over `num_key_value_heads`
    key/value heads, each key/value head serving `num_query_heads // num_key_value_heads`
    query heads.

    Args:
        head_dim: size of each attention head.
        num_query_heads: number of query heads.
        num_key_value_heads: number of key and value heads; must divide
            `num_query_heads`.
        dropout: dropout rate on the attention weights, in training (default 0.0).
        use_bias: whether the projections use biases (default True).
        sliding_window: optional positive int; each query position attends only to key
            positions less than `sliding_window` away (default None).
        flash_attention: `True` asks for cuDNN's fused attention (GPU only); False uses
            XLA's attention; None (default) follows `keras.config.enable_flash_attention()`
            / `disable_flash_attention()`, and XLA's attention when neither was called.
        kernel_initializer, bias_initializer: initializers of the projections (defaults
            `"glorot_uniform"` and `"zeros"`).
        kernel_regularizer, bias_regularizer, activity_regularizer: optional penalties.
        kernel_constraint, bias_constraint: optional constraints on the projections.
        use_gate: whether to gate the attention output with `sigmoid(query projection)`.
        seed: optional int, seed of the attention dropout.

    Call arguments:
        query: `(B, T, dim)`; value: `(B, S, dim)`; key: optional `(B, S, dim)`.
        query_mask, value_mask, key_mask, attention_mask, return_attention_scores,
        training, use_causal_mask: as for `MultiHeadAttention`.

    ```python
    layer = keras.layers.GroupQueryAttention(head_dim=16, num_query_heads=8,
                                             num_key_value_heads=2)
    y = layer(np.ones((2, 10, 32), "float32"), np.ones((2, 12, 32), "float32"))  # (2, 10, 32)
    ```
    """

    _build_args = ("query", "value", "key")
    _keras_class_name = "GroupQueryAttention"
    supports_masking = True     # the output carries the query's mask, as in Keras

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0,
                 use_bias=True, sliding_window=None, flash_attention=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None,
                 **kwargs):
        kind = "GroupQueryAttention"
        head_dim = _positive_int(kind, "head_dim", head_dim)
        num_query_heads = _positive_int(kind, "num_query_heads", num_query_heads)
        num_key_value_heads = _positive_int(kind, "num_key_value_heads", num_key_value_heads)
        if num_query_heads % num_key_value_heads:
            raise ValueError(
                f"{kind}: `num_query_heads` must be divisible by `num_key_value_heads`. "
                f"Received: num_query_heads={num_query_heads}, "
                f"num_key_value_heads={num_key_value_heads}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not (
                0 <= dropout < 1):
            raise ValueError(f"{kind}: `dropout` must be a float in [0, 1). Received: "
                             f"dropout={dropout!r}")
        super().__init__(activity_regularizer=_regularizer(activity_regularizer), **kwargs)
        self.head_dim = head_dim
        self.num_query_heads = num_query_heads
        self.num_key_value_heads = num_key_value_heads
        self.num_repeats = num_query_heads // num_key_value_heads
        self.dropout = float(dropout)
        self.use_bias = bool(use_bias)
        self.use_gate = bool(use_gate)
        self.sliding_window = _positive_int(kind, "sliding_window", sliding_window,
                                            allow_none=True)
        if flash_attention is None:
            flash_attention = config.is_flash_attention_enabled()
        self._flash_attention = flash_attention
        if flash_attention and self.dropout > 0:
            raise ValueError("Dropout is not supported when flash attention is enabled. "
                             "Please set dropout to 0.0 to use flash attention.")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizer(kernel_regularizer)
        self.bias_regularizer = _regularizer(bias_regularizer)
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint
        self.seed = seed
        self._inverse_sqrt_head_dim = 1.0 / math.sqrt(float(head_dim))

    def _dense(self, equation, output_shape, bias_axes, name, activation=None):
        return EinsumDense(
            equation, output_shape=output_shape, bias_axes=bias_axes if self.use_bias else None,
            name=name, activation=activation, kernel_initializer=_clone(self.kernel_initializer),
            bias_initializer=_clone(self.bias_initializer),
            kernel_regularizer=self.kernel_regularizer, bias_regularizer=self.bias_regularizer,
            activity_regularizer=self.activity_regularizer,
            kernel_constraint=self.kernel_constraint, bias_constraint=self.bias_constraint,
            dtype=self.dtype)

    def build(self, query_shape, value_shape, key_shape=None):
        """Creates the projections for inputs of these shapes (batch dimension first)."""
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        for name, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) != 3:
                raise ValueError(f"Layer '{self.name}' expects {name} of shape (batch, "
                                 f"length, features); received {name}_shape={shape}.")
        self.feature_dim = query_shape[-1]
        heads_q, heads_kv, dim = self.num_query_heads, self.num_key_value_heads, self.head_dim
        # Attribute names give Keras 3's weight paths; creation order its weight order.
        self._query_dense = self._dense("bqm,muh->bquh", (None, heads_q, dim), "uh", "query")
        self._query_dense.build(query_shape)
        self._key_dense = self._dense("bkm,mvh->bkvh", (None, heads_kv, dim), "vh", "key")
        self._key_dense.build(key_shape)
        if self.use_gate:
            self._gate_dense = self._dense("bqm,muh->bquh", (None, heads_q, dim), "uh", "gate",
                                           "sigmoid")
            self._gate_dense.build(query_shape)
        self._value_dense = self._dense("bkm,mvh->bkvh", (None, heads_kv, dim), "vh", "value")
        self._value_dense.build(value_shape)
        self._softmax = Softmax(axis=-1, dtype=self.dtype)
        self._dropout_layer = Dropout(rate=self.dropout, seed=self.seed, dtype=self.dtype)
        self._output_dense = self._dense("bquh,uhm->bqm", (None, self.feature_dim), "m",
                                         "attention_output")
        self._output_dense.build((None, None, heads_q, dim))
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
        causal_only = (use_causal_mask and query_mask is None and value_mask is None
                       and key_mask is None and attention_mask is None
                       and self.sliding_window is None)
        mask = None if causal_only else combine_masks(
            query, value, query_mask, value_mask, key_mask, attention_mask,
            use_causal_mask, self.sliding_window)
        gate = self._gate_dense(query) if self.use_gate else None
        query = self._query_dense(query)
        key = jnp.repeat(self._key_dense(key), self.num_repeats, axis=2)
        value = jnp.repeat(self._value_dense(value), self.num_repeats, axis=2)
        if not (self.dropout > 0 or return_attention_scores):
            if mask is not None:
                while mask.ndim < 4:
                    mask = jnp.expand_dims(mask, -3)
            output = jax.nn.dot_product_attention(
                query, key, value, mask=mask, scale=self._inverse_sqrt_head_dim,
                is_causal=causal_only,
                implementation="cudnn" if self._flash_attention else None)
            scores = None
        else:
            if causal_only:
                mask = causal_mask(query.shape[1], value.shape[1])
            query = query * jnp.asarray(self._inverse_sqrt_head_dim, query.dtype)
            scores = jnp.einsum("bquh,bkuh->buqk", query, key)
            if mask is not None:
                while mask.ndim < scores.ndim:
                    mask = jnp.expand_dims(mask, -3)
            scores = self._softmax(scores, mask=mask)
            weights = self._dropout_layer(scores, training=training) if self.dropout else scores
            output = jnp.einsum("buqk,bkuh->bquh", weights, value)
        if gate is not None:
            output = output * gate
        output = self._output_dense(output)
        if return_attention_scores:
            return output, scores
        return output

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        if value_shape is None and isinstance(query_shape, list) and query_shape and \
                isinstance(query_shape[0], (list, tuple)):
            query_shape, value_shape, *rest = query_shape
            key_shape = rest[0] if rest else None
        query_shape = tuple(query_shape)
        if value_shape is not None:
            value_shape = tuple(value_shape)
            key_shape = value_shape if key_shape is None else tuple(key_shape)
            if query_shape[-1] != value_shape[-1]:
                raise ValueError(
                    "The last dimension of `query_shape` and `value_shape` must be equal, "
                    f"but are {query_shape[-1]}, {value_shape[-1]}. Received: "
                    f"query_shape={query_shape}, value_shape={value_shape}")
            if value_shape[1:-1] != key_shape[1:-1]:
                raise ValueError(
                    "All dimensions of `value` and `key`, except the last one, must be "
                    f"equal. Received: value_shape={value_shape} and key_shape={key_shape}")
        return query_shape

    def get_config(self):
        from gazelle.core.serialization import serialize_keras_object as ser
        return {**super().get_config(), "head_dim": self.head_dim,
                "num_query_heads": self.num_query_heads,
                "num_key_value_heads": self.num_key_value_heads,
                "use_bias": self.use_bias, "use_gate": self.use_gate,
                "sliding_window": self.sliding_window, "dropout": self.dropout,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": ser(self.kernel_regularizer),
                "bias_regularizer": ser(self.bias_regularizer),
                "activity_regularizer": ser(self.activity_regularizer),
                "kernel_constraint": ser(self.kernel_constraint),
                "bias_constraint": ser(self.bias_constraint), "seed": self.seed}


GroupQueryAttention = GroupedQueryAttention

__all__ = ["GroupQueryAttention", "GroupedQueryAttention"]
