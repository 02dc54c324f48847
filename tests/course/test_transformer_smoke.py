"""A course-style Transformer encoder (token + position embeddings, MultiHeadAttention,
LayerNormalization, a Dense feed-forward block) learns a small synthetic sequence task."""
import jax.numpy as jnp
import numpy as np
import pytest

import gazelle as keras

VOCAB, MAXLEN, EMBED, HEADS, FF = 12, 10, 16, 2, 32


class TokenAndPositionEmbedding(keras.layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim, **kwargs):
        super().__init__(**kwargs)
        self.token_emb = keras.layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = keras.layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        positions = self.pos_emb(jnp.arange(x.shape[-1]))
        return self.token_emb(x) + positions


class TransformerBlock(keras.layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1, **kwargs):
        super().__init__(**kwargs)
        self.att = keras.layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential([keras.layers.Dense(ff_dim, activation="relu"),
                                     keras.layers.Dense(embed_dim)])
        self.layernorm1 = keras.layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = keras.layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = keras.layers.Dropout(rate)
        self.dropout2 = keras.layers.Dropout(rate)

    def call(self, inputs, training=None):
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output, training=training)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.dropout2(self.ffn(out1), training=training)
        return self.layernorm2(out1 + ffn_output)


def _task(n, seed):
    """Label: does token 1 come before token 2 in the sequence (both appear once)?"""
    rng = np.random.default_rng(seed)
    x = rng.integers(3, VOCAB, size=(n, MAXLEN))
    for row in x:
        i, j = rng.choice(MAXLEN, 2, replace=False)
        row[i], row[j] = 1, 2
    y = (np.argmax(x == 1, axis=1) < np.argmax(x == 2, axis=1)).astype("int32")
    return x.astype("int32"), y


@pytest.mark.slow
def test_transformer_encoder_learns_a_sequence_task():
    keras.utils.set_random_seed(0)
    x, y = _task(512, 0)
    inputs = keras.layers.Input(shape=(MAXLEN,), dtype="int32")
    h = TokenAndPositionEmbedding(MAXLEN, VOCAB, EMBED)(inputs)
    h = TransformerBlock(EMBED, HEADS, FF)(h)
    h = keras.layers.GlobalAveragePooling1D()(h)
    outputs = keras.layers.Dense(2, activation="softmax")(h)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=8, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.8 * losses[0], losses
    assert history.history["accuracy"][-1] > 0.7
    assert model.predict(x[:3], verbose=0).shape == (3, 2)


def test_custom_layer_with_lazily_built_sublayers_on_symbolic_inputs():
    """Sublayers that build inside the first shape trace must not shift weight values."""
    class TwoDense(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.first = keras.layers.Dense(7)
            self.second = keras.layers.Dense(3)

        def call(self, x):
            return self.second(self.first(x))

    inputs = keras.Input((None, 5))
    outputs = TwoDense()(inputs)
    assert outputs.shape == (None, None, 3)
