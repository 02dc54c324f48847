"""tf.keras 2's `keras.preprocessing`: `text` (Tokenizer), `sequence` (pad_sequences) and
`image` (ImageDataGenerator, load_img).

[leaf: stdlib, numpy; never jax.] Keras 3 moved these to `keras.utils.pad_sequences` and
`keras.layers.TextVectorization`; course code written for tf.keras 2 still imports them
from here.
"""
from gazelle.preprocessing import image as image
from gazelle.preprocessing import sequence as sequence
from gazelle.preprocessing import text as text
from gazelle.utils.image_dataset import \
    image_dataset_from_directory as image_dataset_from_directory
from gazelle.utils.text_dataset import \
    text_dataset_from_directory as text_dataset_from_directory
from gazelle.utils.timeseries_dataset import \
    timeseries_dataset_from_array as timeseries_dataset_from_array

__all__ = ["image", "image_dataset_from_directory", "sequence", "text",
           "text_dataset_from_directory", "timeseries_dataset_from_array"]
