"""`pad_sequences`: lists of sequences -> one padded NumPy array. [leaf: numpy]"""
import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Pads (or cuts) sequences to one length and stacks them into a NumPy array.

    Sequences longer than `maxlen` lose values at the start (`truncating="pre"`) or at
    the end (`"post"`); shorter ones get `value` added before (`padding="pre"`) or
    after (`"post"`) them. Each element may itself be an array (all of one shape).

    Args:
        sequences: a list of sequences (lists or arrays).
        maxlen: the output length (default: the longest sequence's length).
        dtype: dtype of the output (default "int32"; use `object` for strings).
        padding: "pre" (default) or "post": where to add padding.
        truncating: "pre" (default) or "post": where to remove values.
        value: the padding value (default 0.0).

    Returns:
        A NumPy array of shape `(len(sequences), maxlen) + element_shape`.

    ```python
    keras.utils.pad_sequences([[1], [2, 3], [4, 5, 6]])
    # array([[0, 0, 1], [0, 2, 3], [4, 5, 6]], dtype=int32)
    ```
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("pad_sequences: `sequences` must be a list of sequences. "
                         f"Received: {type(sequences).__name__}")
    if padding not in ("pre", "post"):
        raise ValueError(f'pad_sequences: `padding` must be "pre" or "post". '
                         f"Received: padding={padding!r}")
    if truncating not in ("pre", "post"):
        raise ValueError(f'pad_sequences: `truncating` must be "pre" or "post". '
                         f"Received: truncating={truncating!r}")
    lengths = []
    element_shape = None
    for i, seq in enumerate(sequences):
        try:
            lengths.append(len(seq))
        except TypeError:
            raise ValueError("pad_sequences: `sequences` must be a list of iterables; "
                             f"element {i} is {seq!r}") from None
        if element_shape is None and len(seq):
            element_shape = np.asarray(seq).shape[1:]
    element_shape = element_shape or ()
    if maxlen is None:
        maxlen = max(lengths, default=0)
    maxlen = int(maxlen)
    text_dtype = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not text_dtype:
        raise ValueError(f"pad_sequences: dtype={dtype!r} cannot hold the string padding "
                         f"value {value!r}; pass dtype=object for strings.")
    out = np.full((len(lengths), maxlen) + tuple(element_shape), value, dtype=dtype)
    if maxlen == 0:
        return out
    for i, seq in enumerate(sequences):
        if not len(seq):
            continue
        kept = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != tuple(element_shape):
            raise ValueError(f"pad_sequences: sequence {i} has elements of shape "
                             f"{kept.shape[1:]}, expected {tuple(element_shape)} (the shape "
                             "of the first non-empty sequence's elements).")
        if padding == "post":
            out[i, :len(kept)] = kept
        else:
            out[i, maxlen - len(kept):] = kept
    return out
