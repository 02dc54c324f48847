"""ImageNet helpers shared by the applications: `preprocess_input` (Keras's "caffe", "tf"
and "torch" conventions) and `decode_predictions`. [L5: ops, config]

The ImageNet class index (`imagenet_class_index.json`, the file Keras downloads, same md5)
ships inside gazelle, so `decode_predictions` works offline.
"""
import json
import os

import numpy as np

CLASS_INDEX = None
CLASS_INDEX_HASH = "c2c37ea517e94d9795004a39431a14cb"
CLASS_INDEX_URL = ("https://storage.googleapis.com/download.tensorflow.org/data/"
                   "imagenet_class_index.json")
_MODES = ("caffe", "tf", "torch")
_CAFFE_MEAN = (103.939, 116.779, 123.68)     # BGR order
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


def _check(data_format, mode):
    if mode not in _MODES:
        raise ValueError("Expected mode to be one of `caffe`, `tf` or `torch`. "
                         f"Received: mode={mode!r}")
    if data_format is None:
        from gazelle import config
        return config.image_data_format()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError("Expected data_format to be one of `channels_first` or "
                         f"`channels_last`. Received: data_format={data_format!r}")
    return data_format


def _channel_index(ndim, data_format, c):
    """Index selecting channel `c` of an image (3D) or batch (4D+)."""
    if data_format == "channels_last":
        return (Ellipsis, c)
    return (c,) if ndim == 3 else (slice(None), c)


def _preprocess_numpy(x, data_format, mode):
    # Works in place on float arrays, as Keras does (the caller's array is overwritten).
    if not np.issubdtype(x.dtype, np.floating):
        from gazelle import config
        x = x.astype(config.floatx(), copy=False)
    if mode == "tf":
        x /= 127.5
        x -= 1.0
        return x
    if mode == "torch":
        x /= 255.0
        mean, std = _TORCH_MEAN, _TORCH_STD
    else:
        flip = (Ellipsis, slice(None, None, -1))
        if data_format == "channels_first":
            flip = (slice(None, None, -1),) if x.ndim == 3 else (slice(None), slice(None, None, -1))
        x = x[flip]      # RGB -> BGR, a view
        mean, std = _CAFFE_MEAN, None
    for c in range(3):
        idx = _channel_index(x.ndim, data_format, c)
        x[idx] -= mean[c]
        if std is not None:
            x[idx] /= std[c]
    return x


def _preprocess_tensor(x, data_format, mode):
    from gazelle import ops
    ndim = len(x.shape)
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "torch":
        x = x / 255.0
        mean, std = _TORCH_MEAN, _TORCH_STD
    else:
        axis = -1 if data_format == "channels_last" else (0 if ndim == 3 else 1)
        x = ops.flip(x, axis=axis)
        mean, std = _CAFFE_MEAN, None
    if data_format == "channels_last":
        shape = (1,) * (ndim - 1) + (3,)
    else:
        shape = (3, 1, 1) if ndim == 3 else (1, 3) + (1,) * (ndim - 2)
    x = x + ops.convert_to_tensor(-np.array(mean).reshape(shape), dtype=x.dtype)
    if std is not None:
        x = x / ops.convert_to_tensor(np.array(std).reshape(shape), dtype=x.dtype)
    return x


def preprocess_input(x, data_format=None, mode="caffe"):
    """Preprocesses a batch of images (or one image) for an ImageNet model.

    Args:
        x: a float NumPy array or a tensor, 3D or 4D with 3 color channels, values in
            [0, 255]. A float NumPy array is overwritten with the result (as in Keras; pass
            `np.copy(x)` to keep it); an integer one is converted to floatx first.
        data_format: `"channels_last"` or `"channels_first"`; None means
            `keras.config.image_data_format()`.
        mode: `"caffe"` (RGB -> BGR, then subtract ImageNet's per-channel BGR mean, no
            scaling), `"tf"` (scale to [-1, 1]) or `"torch"` (scale to [0, 1], then
            normalize each channel with ImageNet's mean and standard deviation).

    Returns:
        The preprocessed array or tensor.
    """
    data_format = _check(data_format, mode)
    if isinstance(x, np.ndarray):
        return _preprocess_numpy(x, data_format, mode)
    return _preprocess_tensor(x, data_format, mode)


def _class_index():
    global CLASS_INDEX
    if CLASS_INDEX is None:
        from gazelle.utils import file_utils
        here = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            "imagenet_class_index.json")
        candidates = [here, os.path.join(file_utils.gazelle_home(), "models",
                                         "imagenet_class_index.json"),
                      os.path.join(file_utils.keras_home(), "models", "imagenet_class_index.json")]
        for path in candidates:
            if os.path.isfile(path) and file_utils.validate_file(path, CLASS_INDEX_HASH):
                with open(path, encoding="utf8") as f:
                    CLASS_INDEX = json.load(f)
                break
        else:
            raise FileNotFoundError(
                "decode_predictions needs ImageNet's class index imagenet_class_index.json "
                f"(md5 {CLASS_INDEX_HASH}), which is missing from gazelle's installation. "
                f"Download {CLASS_INDEX_URL} and copy it into "
                f"{os.path.dirname(candidates[2])} (Keras's cache). Looked in: "
                + ", ".join(candidates))
    return CLASS_INDEX


def decode_predictions(preds, top=5):
    """Turns an ImageNet model's predictions into `(class_id, class_name, score)` tuples.

    Args:
        preds: array of shape `(samples, 1000)`.
        top: how many of the best guesses to return per sample. Defaults to 5.

    Returns:
        One list per sample of `top` tuples `(wordnet_id, name, score)`, best first.
    """
    shape = tuple(getattr(preds, "shape", np.shape(preds)))
    if len(shape) != 2 or shape[1] != 1000:
        raise ValueError("`decode_predictions` expects a batch of predictions (i.e. a 2D "
                         f"array of shape (samples, 1000)). Received array with shape: {shape}")
    index = _class_index()
    preds = np.asarray(preds)
    results = []
    for row in preds:
        best = row.argsort()[-top:][::-1]
        found = [tuple(index[str(i)]) + (row[i],) for i in best]
        found.sort(key=lambda t: t[2], reverse=True)
        results.append(found)
    return results
