"""tf.keras 2's `keras.preprocessing.sequence`. [leaf: numpy]"""
from gazelle.utils.sequence_utils import pad_sequences as pad_sequences

__all__ = ["pad_sequences"]
