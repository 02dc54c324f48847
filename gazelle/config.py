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


_INTERACTIVE_LOGGING = True


def enable_interactive_logging():
    """Turns interactive logging on: messages and progress bars go to standard output.

    This is the default. See `disable_interactive_logging`.
    """
    global _INTERACTIVE_LOGGING
    _INTERACTIVE_LOGGING = True


def disable_interactive_logging():
    """Turns interactive logging off: messages go to the `logging` module instead.

    With it off, training messages (epoch lines, callback notes, progress bars) are logged
    at INFO level on the `"gazelle"` logger rather than written to standard output, and
    progress bars log only their final line. Useful where standard output is not read,
    such as a batch job that collects logs.

    ```python
    keras.config.disable_interactive_logging()
    ```
    """
    global _INTERACTIVE_LOGGING
    _INTERACTIVE_LOGGING = False


def is_interactive_logging_enabled():
    """Returns whether interactive logging is on (`True` by default)."""
    return _INTERACTIVE_LOGGING


_FLASH_ATTENTION = None


def enable_flash_attention():
    """Asks attention layers to use fused ("flash") attention where the device has it.

    Layers built afterwards whose own `flash_attention` argument is None take this
    setting. On JAX, fused attention runs through `jax.nn.dot_product_attention` with
    cuDNN on GPUs; where it cannot apply (CPU, dropout on the weights, returned scores)
    the layer says so when called.
    """
    global _FLASH_ATTENTION
    _FLASH_ATTENTION = True


def disable_flash_attention():
    """Stops attention layers built afterwards from using fused ("flash") attention."""
    global _FLASH_ATTENTION
    _FLASH_ATTENTION = False


def is_flash_attention_enabled():
    """Returns the global flash-attention setting: None (the default: each layer decides),
    True after `enable_flash_attention()`, False after `disable_flash_attention()`."""
    return _FLASH_ATTENTION


_MAX_EPOCHS = None
_MAX_STEPS_PER_EPOCH = None


def _positive_int_or_none(value, what):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value <= 0):
        raise ValueError(f"{what}: expected a positive int or None; received {value!r}.")
    return value


def set_max_epochs(max_epochs):
    """Caps the number of epochs any `fit` call runs (None removes the cap).

    `fit(epochs=...)` above the cap runs `max_epochs` epochs and warns that it did. Handy
    for smoke-testing a long script quickly.

    Args:
        max_epochs: a positive int, or None for no cap.
    """
    global _MAX_EPOCHS
    _MAX_EPOCHS = _positive_int_or_none(max_epochs, "set_max_epochs")


def max_epochs():
    """Returns the epoch cap set by `set_max_epochs` (None: no cap)."""
    return _MAX_EPOCHS


def set_max_steps_per_epoch(max_steps_per_epoch):
    """Caps the number of steps per epoch of `fit`, `evaluate` and `predict` (None removes it).

    Args:
        max_steps_per_epoch: a positive int, or None for no cap.
    """
    global _MAX_STEPS_PER_EPOCH
    _MAX_STEPS_PER_EPOCH = _positive_int_or_none(max_steps_per_epoch,
                                                 "set_max_steps_per_epoch")


def max_steps_per_epoch():
    """Returns the steps-per-epoch cap set by `set_max_steps_per_epoch` (None: no cap)."""
    return _MAX_STEPS_PER_EPOCH


def enable_unsafe_deserialization():
    """Keras 3 uses this to let `load_model` run Python bytecode stored in a file (Lambda
    layers saved with their function). gazelle never runs code from a file, so it has no
    unsafe mode, and this raises `NotImplementedError` rather than pretend.

    To load a model with a Lambda layer, define its function in your code and pass it in
    `custom_objects={"name": fn}` (or register it with
    `keras.saving.register_keras_serializable`).
    """
    raise NotImplementedError(
        "enable_unsafe_deserialization(): gazelle never runs code stored in a model file, "
        "so there is no unsafe mode to enable. Define the Lambda's function in your code "
        "and pass it to load_model(..., custom_objects={'<name>': fn}), or decorate it "
        "with @keras.saving.register_keras_serializable().")


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


# ---- Keras 3's `keras.config` names that gazelle can honour -------------------------------
# Left out on purpose (gazelle cannot honour them yet, and a setter must never be a silent
# no-op): enable_unsafe_deserialization (the loaders take `safe_mode=` per call only),
# (enable|disable|is)_interactive_logging (progress output always goes to stdout),
# (enable|disable|is)_flash_attention (attention layers read only their own
# `flash_attention=` argument), and (set_)max_epochs / (set_)max_steps_per_epoch.


def backend():
    """Returns the name of the backend gazelle computes on: always `"jax"`.

    ```python
    keras.config.backend()  # "jax"
    ```
    """
    return "jax"


def set_backend(backend):
    """Checks the backend choice: gazelle computes on JAX only.

    Keras 3 reloads itself on another backend here; gazelle has one backend, so `"jax"`
    is accepted (nothing changes) and any other name raises.

    Args:
        backend: String, the backend name. Only `"jax"` is supported.

    ```python
    keras.config.set_backend("jax")
    ```
    """
    if backend != "jax":
        raise NotImplementedError(
            f"set_backend({backend!r}): gazelle computes on JAX only; the only backend it "
            "accepts is 'jax'. Use Keras 3 itself for the tensorflow, torch, numpy or "
            "openvino backends.")


def is_nnx_enabled():
    """Returns whether Flax NNX integration is on: always `False` (gazelle has none)."""
    return False


def is_traceback_filtering_enabled():
    """Returns whether tracebacks are filtered: always `False`.

    gazelle never removes its own frames from tracebacks, so errors show the full stack.
    """
    return False


def disable_traceback_filtering():
    """Turns traceback filtering off; in gazelle it is always off, so this only confirms it.

    ```python
    keras.config.disable_traceback_filtering()
    ```
    """
    return None


def enable_traceback_filtering():
    """Raises: gazelle does not filter tracebacks (every frame is always shown)."""
    raise NotImplementedError(
        "enable_traceback_filtering: gazelle does not filter tracebacks; errors always show "
        "the full stack. Leave it off (disable_traceback_filtering() is accepted).")


class _Float32Policy:
    """The one dtype policy gazelle runs: `"float32"` (variables and computations)."""

    name = "float32"
    compute_dtype = "float32"
    variable_dtype = "float32"
    quantization_mode = None

    def get_config(self):
        return {"name": self.name}

    def __eq__(self, other):
        return getattr(other, "name", other) == self.name

    def __hash__(self):
        return hash(self.name)

    def __repr__(self):
        return '<DTypePolicy "float32">'


_POLICY = _Float32Policy()


def dtype_policy():
    """Returns the global dtype policy; gazelle runs float32 only.

    The returned object has Keras's `name`, `compute_dtype`, `variable_dtype`,
    `quantization_mode` and `get_config()`.

    ```python
    keras.config.dtype_policy().name  # "float32"
    ```
    """
    return _POLICY


def set_dtype_policy(policy):
    """Sets the global dtype policy; only `"float32"` is supported.

    Args:
        policy: A policy name (`"float32"`) or a policy object whose `name` is
            `"float32"`. Mixed precision (`"mixed_float16"`, `"mixed_bfloat16"`) and other
            float dtypes raise `NotImplementedError`.

    ```python
    keras.config.set_dtype_policy("float32")
    ```
    """
    name = policy if isinstance(policy, str) else getattr(policy, "name", None)
    if not isinstance(name, str):
        raise ValueError(f"set_dtype_policy: expected a policy name (a string) or a "
                         f"DTypePolicy, received {policy!r} of type {type(policy).__name__}.")
    if name == "float32" and getattr(policy, "quantization_mode", None) is None:
        return
    known = {"mixed_float16", "mixed_bfloat16", "float16", "bfloat16", "float64"}
    if name in known or getattr(policy, "quantization_mode", None) is not None:
        raise NotImplementedError(
            f"set_dtype_policy({name!r}): gazelle computes in float32 only (no mixed "
            "precision or quantization yet); use 'float32', or Keras 3 for other policies.")
    raise ValueError(f"set_dtype_policy: cannot convert {name!r} to a dtype policy. Valid "
                     "policies are 'mixed_float16', 'mixed_bfloat16' and float dtype names "
                     "such as 'float32'; gazelle supports only 'float32'.")
