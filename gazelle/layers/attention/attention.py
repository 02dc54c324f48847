"""Attention (Luong-style dot-product) and AdditiveAttention (Bahdanau-style).
[L2: core, random]

Both take `[query, value]` or `[query, value, key]` and return the values weighted by
`softmax(scores(query, key))`. Masked positions are pushed down by 1e9 before the
softmax, exactly as Keras 3 does, so results match it with the same masks.
"""
import numbers

import jax
import jax.numpy as jnp

from gazelle.layers.attention._multi_input import MultiInputLayer
from gazelle.layers.attention.multi_head_attention import causal_mask
from gazelle.random import SeedGenerator


class Attention(MultiInputLayer):
    """Dot-product attention layer, a.k.a. Luong-style attention.

    For `query` `(batch, Tq, dim)`, `value` `(batch, Tv, dim)` and `key` (default
    `value`), the scores are `query @ key^T` (`score_mode="dot"`) or
    `sum(tanh(query + key))` (`score_mode="concat"`); the output is
    `softmax(scores) @ value`, of shape `(batch, Tq, dim)`.

    Args:
        use_scale: whether to learn a scalar that scales the scores (default False).
        score_mode: `"dot"` or `"concat"` (default `"dot"`).
        dropout: rate of dropout on the attention weights, in training (default 0.0).
        seed: optional int, seed of that dropout.

    Call arguments:
        inputs: `[query, value]` or `[query, value, key]`.
        mask: optional `[query_mask, value_mask]` booleans `(batch, Tq)` / `(batch, Tv)`;
            masked values are not attended to, masked query rows output zeros.
        return_attention_scores: also return the attention weights (default False).
        training: whether dropout is active.
        use_causal_mask: whether query position i may only attend to positions <= i.

    ```python
    query = keras.Input(shape=(4, 8))
    value = keras.Input(shape=(6, 8))
    context = keras.layers.Attention()([query, value])     # (None, 4, 8)
    ```
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError("Invalid value for argument score_mode. Expected one of "
                             f"{{'dot', 'concat'}}. Received: score_mode={score_mode!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not (
                0 <= dropout < 1):
            raise ValueError(f"{type(self).__name__}: `dropout` must be a float in [0, 1). "
                             f"Received: dropout={dropout!r}")
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = dropout
        self.seed = seed
        if dropout > 0:
            self.seed_generator = SeedGenerator(seed)

    def _validate(self, inputs, mask=None):
        kind = type(self).__name__
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"{kind} layer must be called on a list of inputs, namely [query, value] "
                f"or [query, value, key]. Received: a single input of shape "
                f"{tuple(getattr(inputs, 'shape', ()))}.")
        if not 2 <= len(inputs) <= 3:
            raise ValueError(
                f"{kind} layer accepts inputs list of length 2 or 3, namely [query, value] "
                f"or [query, value, key]. Received length: {len(inputs)}.")
        if mask is not None:
            if not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3:
                raise ValueError(
                    f"{kind} layer mask must be a list of length 2 or 3, namely "
                    f"[query_mask, value_mask]. Received: mask={mask!r:.200}.")

    def _build_from(self, arguments):
        inputs = arguments["inputs"]
        self._validate(inputs, arguments.get("mask"))
        self._maybe_build([tuple(x.shape) for x in inputs])

    def build(self, input_shape):
        self._validate(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(
                shape=(), initializer="ones", name="concat_score_weight")
        self._built_for(input_shape)

    def _built_for(self, input_shape):
        # Also when build() is called directly: the first call must not build again.
        self._build_shapes = [tuple(s) for s in input_shape]
        self.built = True

    def _scores(self, query, key):
        if self.score_mode == "dot":
            scores = query @ jnp.swapaxes(key, -2, -1)
            if self.scale is not None:
                scores = scores * self.scale.value
            return scores
        pairs = query[..., :, None, :] + key[..., None, :, :]
        if self.scale is not None:
            pairs = self.scale.value * pairs
        return self.concat_score_weight.value * jnp.sum(jnp.tanh(pairs), axis=-1)

    def call(self, inputs, mask=None, training=False, return_attention_scores=False,
             use_causal_mask=False):
        self._validate(inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask = None if not mask or mask[0] is None else jnp.asarray(mask[0]).astype(bool)
        value_mask = None if not mask or mask[1] is None else jnp.asarray(mask[1]).astype(bool)
        scores = self._scores(query, key)
        scores_mask = value_mask
        if scores_mask is not None and scores_mask.ndim == 2:
            scores_mask = scores_mask[:, None, :]
        if use_causal_mask:
            causal = causal_mask(scores.shape[-2], scores.shape[-1])
            scores_mask = causal if scores_mask is None else scores_mask & causal
        if scores_mask is not None:
            scores = jnp.where(scores_mask, scores, scores - 1e9)
        weights = jax.nn.softmax(scores, axis=-1)
        dropped = weights
        if training and self.dropout > 0:
            keep = 1.0 - self.dropout
            kept = jax.random.bernoulli(self.seed_generator.next(), keep, weights.shape)
            dropped = jnp.where(kept, weights / keep, jnp.zeros_like(weights))
        output = dropped @ value
        if query_mask is not None:
            output = jnp.where(query_mask[..., None], output, jnp.zeros((), output.dtype))
        if return_attention_scores:
            return output, weights
        return output

    def compute_mask(self, inputs, mask=None):
        """The output's mask: the query's mask (None without one)."""
        if mask is None or mask[0] is None:
            return None
        return jnp.asarray(mask[0])

    def compute_output_shape(self, input_shape):
        query_shape, value_shape = input_shape[0], input_shape[1]
        return (*tuple(query_shape)[:-1], tuple(value_shape)[-1])

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale,
                "score_mode": self.score_mode, "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Additive attention layer, a.k.a. Bahdanau-style attention.

    The scores are `sum(scale * tanh(query + key), axis=-1)` over every query/key pair,
    with a learned `scale` vector of the feature size; the output is
    `softmax(scores) @ value`.

    Args:
        use_scale: whether to learn the `scale` vector (default True); without it the
            scores are plain sums.
        dropout: rate of dropout on the attention weights, in training (default 0.0).
        seed: optional int, seed of that dropout.

    Call arguments: as for `Attention`.

    ```python
    query = keras.Input(shape=(4, 8))
    value = keras.Input(shape=(6, 8))
    context = keras.layers.AdditiveAttention()([query, value])     # (None, 4, 8)
    ```
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._validate(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(shape=(input_shape[0][-1],),
                                         initializer="glorot_uniform", name="scale")
        self._built_for(input_shape)

    def _scores(self, query, key):
        pairs = jnp.tanh(query[..., :, None, :] + key[..., None, :, :])
        if self.scale is not None:
            pairs = self.scale.value * pairs
        return jnp.sum(pairs, axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config


__all__ = ["Attention", "AdditiveAttention"]
