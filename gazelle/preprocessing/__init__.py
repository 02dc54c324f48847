"""tf.keras 2's `keras.preprocessing`: `text` (Tokenizer) and `sequence` (pad_sequences).

[leaf: stdlib, numpy; never jax.] Keras 3 moved these to `keras.utils.pad_sequences` and
`keras.layers.TextVectorization`; course code written for tf.keras 2 still imports them
from here.
"""
from gazelle.preprocessing import sequence as sequence
from gazelle.preprocessing import text as text

__all__ = ["sequence", "text"]
