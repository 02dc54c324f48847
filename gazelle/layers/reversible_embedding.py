"""ReversibleEmbedding: an Embedding that also maps vectors back to vocabulary logits.
[L2: core, initializers]

`layer(ids)` embeds as `Embedding` does; `layer(vectors, reverse=True)` multiplies by the
transposed embedding matrix (tied weights, the usual language-model head) or by a
separate `reverse_embeddings` matrix.
"""
import contextvars

import jax.numpy as jnp

from gazelle.layers.embedding import Embedding

# Whether the call in progress is a reverse one: `Layer.__call__` checks inputs and infers
# symbolic shapes before `call` sees the `reverse` argument.
_REVERSE = contextvars.ContextVar("gazelle_reverse_embedding", default=False)


class ReversibleEmbedding(Embedding):
    """An embedding layer that can also project back to the vocabulary.

    Args:
        input_dim: int > 0, size of the vocabulary.
        output_dim: int > 0, dimension of the embedding vectors.
        tie_weights: whether the reverse projection uses the transposed `embeddings`
            (default True) or its own `reverse_embeddings` weight `(output_dim, input_dim)`.
        embeddings_initializer: initializer of the embedding weights (default `"uniform"`).
        embeddings_regularizer, embeddings_constraint: optional regularizer / constraint.
        mask_zero: whether id 0 is padding (stored, as in `Embedding`).
        reverse_dtype: optional dtype of the reverse matrix product (default None: the
            layer's dtype).
        logit_soft_cap: optional float; reverse logits become
            `tanh(logits / logit_soft_cap) * logit_soft_cap`.
        quantization_config: Keras 3's quantization option; gazelle refuses values other
            than None.

    Call arguments:
        inputs: ids (forward) or vectors whose last dimension is `output_dim` (reverse).
        reverse: whether to project vectors to logits (default False).

    ```python
    layer = keras.layers.ReversibleEmbedding(100, 16)
    vectors = layer(np.array([[1, 2, 3]]))            # (1, 3, 16)
    logits = layer(vectors, reverse=True)             # (1, 3, 100)
    ```
    """

    def __init__(self, input_dim, output_dim, tie_weights=True,
                 embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, reverse_dtype=None,
                 logit_soft_cap=None, quantization_config=None, **kwargs):
        if quantization_config is not None:
            raise NotImplementedError(
                "ReversibleEmbedding: `quantization_config` is not supported by gazelle; "
                f"received {quantization_config!r}. Leave it as None.")
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer,
                         embeddings_constraint=embeddings_constraint, mask_zero=mask_zero,
                         **kwargs)
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = None if reverse_dtype is None else jnp.dtype(reverse_dtype).name
        self.logit_soft_cap = logit_soft_cap

    def build(self, input_shape=None):
        super().build(input_shape)
        if not self.tie_weights:
            self.reverse_embeddings = self.add_weight(
                shape=(self.output_dim, self.input_dim), name="reverse_embeddings",
                initializer=self.embeddings_initializer)

    def __call__(self, *args, **kwargs):
        reverse = kwargs.get("reverse", args[1] if len(args) > 1 else False)
        token = _REVERSE.set(bool(reverse))
        try:
            return super().__call__(*args, **kwargs)
        finally:
            _REVERSE.reset(token)

    def _check_input(self, inputs):
        if not _REVERSE.get():
            return super()._check_input(inputs)
        if inputs.shape[-1] != self.output_dim:
            raise ValueError(
                f"Layer '{self.name}' (reverse=True) expects vectors with last dimension "
                f"output_dim={self.output_dim}; received shape {tuple(inputs.shape)}.")

    def call(self, inputs, reverse=False):
        if not reverse:
            return super().call(inputs)
        kernel = (self.embeddings.value.T if self.tie_weights
                  else self.reverse_embeddings.value)
        inputs = jnp.asarray(inputs)
        if not jnp.issubdtype(inputs.dtype, jnp.floating):
            inputs = inputs.astype(self.dtype)
        if self.reverse_dtype is not None:
            inputs, kernel = inputs.astype(self.reverse_dtype), kernel.astype(self.reverse_dtype)
        logits = inputs @ kernel
        if self.logit_soft_cap is not None:
            logits = jnp.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
        return logits

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape, reverse=None):
        reverse = _REVERSE.get() if reverse is None else reverse
        if reverse:
            return (*tuple(input_shape)[:-1], self.input_dim)
        return (*tuple(input_shape), self.output_dim)

    def get_config(self):
        return {**super().get_config(), "tie_weights": self.tie_weights,
                "reverse_dtype": self.reverse_dtype, "logit_soft_cap": self.logit_soft_cap,
                "quantization_config": None}


__all__ = ["ReversibleEmbedding"]
