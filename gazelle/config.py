"""Global settings: float type, fuzz factor, image data format. [L0: stdlib only]"""

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"


def floatx():
    """Returns the default float type, as a string (`"float32"`)."""
    return _FLOATX


def set_floatx(value):
    """Sets the default float type. Only `"float32"` is supported for now."""
    global _FLOATX
    if value not in ("float32",):
        raise ValueError(f"set_floatx: expected 'float32', received {value!r}.")
    _FLOATX = value


def epsilon():
    """Returns the fuzz factor used in numeric expressions (default 1e-7)."""
    return _EPSILON


def set_epsilon(value):
    """Sets the fuzz factor used in numeric expressions."""
    global _EPSILON
    _EPSILON = float(value)


def image_data_format():
    """Returns the image data format convention (`"channels_last"`)."""
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format):
    """Sets the image data format convention."""
    global _IMAGE_DATA_FORMAT
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            "set_image_data_format: expected 'channels_last' or 'channels_first', "
            f"received {data_format!r}.")
    _IMAGE_DATA_FORMAT = data_format


_DATA_MEMORY_BUDGET = None


def data_memory_budget():
    """Bytes of training data `fit` keeps resident on the device (None: the default, 40%
    of the device's memory, or a quarter of RAM on a CPU). gazelle only."""
    return _DATA_MEMORY_BUDGET


def set_data_memory_budget(value):
    """Sets how many bytes of arrays `fit` keeps on the device; larger inputs stream from
    the host in blocks (memmaps always stream). None restores the default. gazelle only."""
    global _DATA_MEMORY_BUDGET
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value < 0):
        raise ValueError(f"set_data_memory_budget: expected a number of bytes (int >= 0) or "
                         f"None; received {value!r}.")
    _DATA_MEMORY_BUDGET = value


_MAX_WEIGHTS_BYTES = 2 * 2**30


def max_weights_bytes():
    """The most bytes of weights a loaded file may make gazelle allocate when it holds no
    weights of its own to size the budget by (`model_from_json`, `model_from_config`), and
    the cap for every file. Default 2 GiB. gazelle only."""
    return _MAX_WEIGHTS_BYTES


def set_max_weights_bytes(value):
    """Sets the loader's weights budget cap in bytes (see `max_weights_bytes`); None
    restores the default of 2 GiB. `load_model(..., max_weights_bytes=...)` sets it for one
    call. gazelle only."""
    global _MAX_WEIGHTS_BYTES
    if value is None:
        value = 2 * 2**30
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"set_max_weights_bytes: expected a positive number of bytes (int) "
                         f"or None; received {value!r}.")
    _MAX_WEIGHTS_BYTES = value


_PROGRESS_STYLE = "tf_keras2"
_PROGRESS_STYLES = {"tf_keras2": "tf_keras2", "bar": "tf_keras2", "samples": "tf_keras2",
                    "keras3": "keras3", "steps": "keras3"}


def progress_style():
    """The console style of fit/evaluate/predict: `"tf_keras2"` (default: tf.keras 2.0's
    `55000/55000 [=====] - 2s 36us/sample - loss: ...`) or `"keras3"` (Keras 3's step counter
    `1719/1719 ━━━━━━━━━━━━━━━━━━━━ 3s 2ms/step - loss: ...`). gazelle only."""
    return _PROGRESS_STYLE


def set_progress_style(style):
    """Sets the console style of fit/evaluate/predict: `"tf_keras2"` (alias `"bar"`) or
    `"keras3"` (alias `"steps"`), as learners see in current books. gazelle only.

    ```python
    keras.config.set_progress_style("steps")
    ```
    """
    global _PROGRESS_STYLE
    if style not in _PROGRESS_STYLES:
        raise ValueError(f"set_progress_style: expected one of {sorted(_PROGRESS_STYLES)}; "
                         f"received {style!r}.")
    _PROGRESS_STYLE = _PROGRESS_STYLES[style]
