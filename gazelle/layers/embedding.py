"""Embedding: integer ids -> dense vectors. [L2: core, initializers, regularizers]

Inputs stay integers (`_cast_inputs = False`). A gather on an accelerator never fails
for a bad id (it returns NaN), so eager calls check the id range on the host and say
which ids are wrong.
"""
import numbers

import jax
import jax.numpy as jnp
import numpy as np

from gazelle import initializers, regularizers
from gazelle.layers.layer import Layer


def _positive_int(value, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"Embedding: `{what}` must be a positive integer. "
                         f"Received: {what}={value!r} (of type {type(value).__name__})")
    return int(value)


class Embedding(Layer):
    """Turns non-negative integer ids into dense vectors of fixed size.

    `[[4], [20]] -> [[[0.25, 0.1]], [[0.6, -0.2]]]`: row `i` of the `embeddings`
    matrix is the vector of id `i`.

    Args:
        input_dim: int > 0, size of the vocabulary (the largest id plus 1).
        output_dim: int > 0, dimension of the dense embedding.
        embeddings_initializer: initializer for the `embeddings` matrix
            (default `"uniform"`, i.e. uniform in [-0.05, 0.05]).
        embeddings_regularizer: optional regularizer for the `embeddings` matrix.
        embeddings_constraint: optional constraint for the `embeddings` matrix.
        mask_zero: whether id 0 is a padding value to be masked out (default False).
            If True, the output carries a mask `ids != 0` that the layers after it
            use (LSTM/GRU skip padded steps, GlobalAveragePooling1D leaves them out),
            and id 0 cannot be a real word (`input_dim` = vocabulary size + 1).
        weights: optional initial embeddings, an array of shape
            `(input_dim, output_dim)` (or a list holding one), e.g. pretrained vectors.
        input_length: length of the input sequences, as in tf.keras 2: it sets the
            layer's input shape to `(input_length,)` so that a Sequential model starting
            with this layer is built (and `summary()` works) right away.

    ```python
    model = keras.Sequential([
        keras.layers.Embedding(10000, 16, input_length=200),
        keras.layers.Flatten(),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    ```
    """

    _cast_inputs = False

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, activity_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, input_length=None,
                 **kwargs):
        self.input_dim = _positive_int(input_dim, "input_dim")
        self.output_dim = _positive_int(output_dim, "output_dim")
        if input_length is not None and not any(
                k in kwargs for k in ("input_shape", "batch_input_shape")):
            kwargs["input_shape"] = (input_length,)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.input_length = input_length
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = embeddings_constraint
        self.mask_zero = bool(mask_zero)
        self._initial_weights = None
        if weights is not None:
            if isinstance(weights, (list, tuple)) and len(weights) == 1:
                weights = weights[0]
            weights = np.asarray(weights)
            if weights.shape != (self.input_dim, self.output_dim):
                raise ValueError(
                    f"Embedding: `weights` must have shape (input_dim, output_dim) = "
                    f"{(self.input_dim, self.output_dim)}. Received shape {weights.shape}")
            self._initial_weights = weights

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim), initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer, constraint=self.embeddings_constraint,
            name="embeddings")
        if self._initial_weights is not None:
            self.embeddings.assign(self._initial_weights)
            self._initial_weights = None

    def _check_input(self, inputs):
        if isinstance(inputs, jax.core.Tracer):
            return          # inside jit: values are unknown here
        ids = np.asarray(inputs)
        if ids.dtype.kind not in "iub":
            if ids.dtype.kind != "f" or not np.all(np.isfinite(ids)):
                raise TypeError(f"Layer '{self.name}' expects integer ids; received an array "
                                f"of dtype {ids.dtype}.")
        if ids.size == 0:
            return
        low, high = ids.min(), ids.max()
        if low < 0 or high >= self.input_dim:
            raise ValueError(
                f"Layer '{self.name}' (Embedding with input_dim={self.input_dim}) received "
                f"ids outside [0, {self.input_dim}): min id {low}, max id {high}. Each id "
                f"must be smaller than input_dim; set input_dim to the vocabulary size "
                f"(largest id + 1).")

    def call(self, inputs):
        if not jnp.issubdtype(inputs.dtype, jnp.integer):
            inputs = jnp.asarray(inputs).astype("int32")
        return jnp.take(self.embeddings.value, inputs, axis=0)

    def compute_mask(self, inputs, mask=None):
        """Returns `inputs != 0` when `mask_zero` is True, else None."""
        if not self.mask_zero:
            return None
        return jnp.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self):
        from gazelle.core.serialization import serialize_keras_object as ser
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": ser(self.embeddings_regularizer),
                "activity_regularizer": ser(self.activity_regularizer),
                "embeddings_constraint": ser(self.embeddings_constraint),
                "mask_zero": self.mask_zero}


__all__ = ["Embedding"]
