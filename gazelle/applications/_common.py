"""What every `keras.applications` family shares: argument checks, the input shape and
tensor to build from, and finding/loading Keras's published ImageNet weights. [L5: layers,
models, utils]

Weights files are Keras's own (tf.keras 2 style `.h5`, layers matched in order); gazelle
cannot bundle them, so `weights="imagenet"` looks, in order, in `$GAZELLE_HOME/models/`
and Keras's cache `$KERAS_HOME/models/` (default `~/.keras/models`), checks Keras's hash,
then tries Keras's download URL; offline, a FileNotFoundError says which file to copy where.
"""
import os
import urllib.error
import warnings

from gazelle.utils import file_utils

# Keras's published application weights live under this prefix, one folder per family.
KERAS_APPLICATIONS_ORIGIN = "https://storage.googleapis.com/tensorflow/keras-applications/"


def _is_path(weights):
    return isinstance(weights, (str, os.PathLike)) and os.path.exists(os.fspath(weights))


def check_weights_args(weights, include_top, classes, name=None):
    """Raises Keras's ValueErrors for `weights` and `classes`.

    Args:
        weights: `None`, `"imagenet"` or the path of an existing weights file.
        include_top: whether the model keeps its classifier.
        classes: the number of classes asked for.
        name: the model's name, for the messages (optional).
    """
    where = f"{name}: " if name else ""
    if not (weights is None or (isinstance(weights, str) and weights == "imagenet")
            or _is_path(weights)):
        raise ValueError(
            f"{where}The `weights` argument should be either `None` (random initialization), "
            "'imagenet' (pre-training on ImageNet), or the path to the weights file to be "
            f"loaded. Received: weights={weights!r}" + (
                " (no such file)" if isinstance(weights, (str, os.PathLike)) else ""))
    if isinstance(weights, str) and weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(
            f"{where}If using `weights='imagenet'` with `include_top=True`, `classes` should "
            f"be 1000. Received classes={classes!r}")


def check_classifier_activation(classifier_activation, weights):
    """With pretrained weights the classifier's activation must be `None` or softmax (Keras)."""
    if weights is None:
        return
    from gazelle import activations
    chosen = activations.get(classifier_activation)
    if chosen not in (activations.get("softmax"), activations.get(None)):
        raise ValueError(
            "Only `None` and `softmax` activations are allowed for the "
            "`classifier_activation` argument when using pretrained weights, with "
            f"`include_top=True`; Received: classifier_activation={classifier_activation!r}")


def input_shape_for(input_shape, default_size, min_size, data_format=None, require_flatten=True,
                    weights=None):
    """The `(H, W, C)` (or `(C, H, W)`) shape to build an application with.

    Follows Keras's `obtain_input_shape`: with `require_flatten` (include_top) and
    `weights="imagenet"` the shape must be the default one (returned when `input_shape` is
    None); without a top, spatial dimensions may be None; given dimensions must be at least
    `min_size`; ImageNet weights need 3 channels.

    Args:
        input_shape: the user's shape, or None.
        default_size: the model's default height and width (e.g. 224).
        min_size: the smallest height/width the model accepts (e.g. 32).
        data_format: `"channels_last"` or `"channels_first"`; None means
            `keras.config.image_data_format()`.
        require_flatten: whether the model ends in a classifier that needs a static shape.
        weights: `None`, `"imagenet"` or a path.

    Returns:
        A tuple of 3 entries (ints, or None for free spatial dimensions).
    """
    if data_format is None:
        from gazelle import config
        data_format = config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("data_format must be 'channels_last' or 'channels_first'. "
                         f"Received: data_format={data_format!r}")
    first = data_format == "channels_first"
    imagenet = isinstance(weights, str) and weights == "imagenet"
    if input_shape is not None:
        try:
            input_shape = tuple(None if d is None else int(d) for d in input_shape)
        except TypeError:
            raise ValueError("`input_shape` must be a tuple of three integers. "
                             f"Received: input_shape={input_shape!r}") from None
    channels = 3
    if not imagenet and input_shape and len(input_shape) == 3:
        channels = input_shape[0] if first else input_shape[-1]
        if channels not in (1, 3):
            warnings.warn("This model usually expects 1 or 3 input channels. However, it was "
                          f"passed an input_shape with {channels} input channels.",
                          stacklevel=3)
    default = ((channels, default_size, default_size) if first
               else (default_size, default_size, channels))
    if imagenet and require_flatten:
        if input_shape is not None and input_shape != default:
            raise ValueError("When setting `include_top=True` and loading `imagenet` weights, "
                             f"`input_shape` should be {default}.  Received: "
                             f"input_shape={input_shape}")
        return default
    if input_shape:
        if len(input_shape) != 3:
            raise ValueError("`input_shape` must be a tuple of three integers. "
                             f"Received: input_shape={input_shape}")
        given_channels = input_shape[0] if first else input_shape[-1]
        if imagenet and given_channels != 3:
            raise ValueError("The input must have 3 channels (ImageNet weights); Received "
                             f"`input_shape={input_shape}`")
        spatial = input_shape[1:] if first else input_shape[:2]
        if any(d is not None and d < min_size for d in spatial):
            raise ValueError(f"Input size must be at least {min_size}x{min_size}; Received: "
                             f"input_shape={input_shape}")
    elif require_flatten:
        input_shape = default
    else:
        input_shape = (3, None, None) if first else (None, None, 3)
    if require_flatten and None in input_shape:
        raise ValueError("If `include_top` is True, you should specify a static "
                         f"`input_shape`. Received: input_shape={input_shape}")
    return input_shape


def inputs_for(input_tensor, shape):
    """The tensor to build the model from, and the model's inputs.

    Args:
        input_tensor: None, or a symbolic tensor (`keras.Input(...)` or a layer's output)
            to build the model on.
        shape: the shape from `input_shape_for`, used when `input_tensor` is None.

    Returns:
        `(x, model_inputs)`: `x` is what the first layer is called on; `model_inputs` is
        what to pass to `keras.Model(model_inputs, outputs)` (the `keras.Input` tensors
        that `input_tensor` was computed from, as Keras's `get_source_inputs`).
    """
    from gazelle import backend, layers
    from gazelle.utils import get_source_inputs
    if input_tensor is None:
        x = layers.Input(shape=shape)
        return x, x
    if not backend.is_keras_tensor(input_tensor):
        raise ValueError(
            "Argument `input_tensor` must be a symbolic tensor (a `keras.Input(...)` or a "
            f"layer's output). Received: input_tensor of type {type(input_tensor).__name__}")
    return input_tensor, get_source_inputs(input_tensor)


def _cache_candidates(file_name):
    return [os.path.join(file_utils.gazelle_home(), "models", file_name),
            os.path.join(file_utils.keras_home(), "models", file_name)]


def weights_file(file_name, file_hash, origin_prefix):
    """Returns the path of a verified copy of Keras's weights file `file_name`.

    Looks in `$GAZELLE_HOME/models/` then in Keras's cache `$KERAS_HOME/models/`; a copy
    whose hash (md5 or sha256) differs from `file_hash` is skipped. If none is found, it
    downloads `origin_prefix + file_name` into `$GAZELLE_HOME/models/`; when that fails
    (no network), raises FileNotFoundError naming the file, its URL and where to put it.
    """
    candidates = _cache_candidates(file_name)
    rejected = []
    for candidate in candidates:
        if os.path.isfile(candidate):
            if file_hash is None or file_utils.validate_file(candidate, file_hash):
                return candidate
            rejected.append(candidate)
    url = origin_prefix + file_name
    target = candidates[0]
    try:
        print(f"Downloading data from {url}")
        return file_utils.download(url, target, file_hash, progress=True)
    except (OSError, ValueError, urllib.error.URLError) as e:
        failure = f"{type(e).__name__}: {e}"
    lines = [f"Could not find Keras's ImageNet weights file {file_name} (hash {file_hash}) "
             f"and could not download it from {url} ({failure}).", "Looked in:"]
    lines += [f"  {c}" for c in candidates]
    lines += [f"Rejected (wrong hash): {r}" for r in rejected]
    lines.append(f"Download {url} elsewhere and copy it into {os.path.dirname(candidates[1])} "
                 f"(Keras's cache) or {os.path.dirname(candidates[0])}, or pass "
                 "weights=<path to the file>, or weights=None for random initialization.")
    raise FileNotFoundError("\n".join(lines))


def load_weights(model, weights, file_name=None, file_hash=None, origin_prefix=None):
    """Loads `weights` into a freshly built application `model`.

    Args:
        model: the model.
        weights: None (nothing to load), `"imagenet"` (Keras's file `file_name`, found by
            `weights_file`) or the path of a weights file (any layout `load_weights` reads).
        file_name, file_hash, origin_prefix: Keras's file for this model and its options
            (include_top or not); used only with `"imagenet"`.
    """
    if weights is None:
        return model
    if isinstance(weights, str) and weights == "imagenet":
        if file_name is None:
            raise ValueError(f"{model.name}: no ImageNet weights are published for this "
                             "configuration; use weights=None or a path.")
        path = weights_file(file_name, file_hash, origin_prefix)
    else:
        path = os.fspath(weights)
    model.load_weights(path)
    return model


def pooled_or_none(x, pooling, layers_module=None, avg_name=None, max_name=None):
    """Without a top: `pooling="avg"`/`"max"` adds the global pooling layer (named as the
    family names it), anything else leaves `x` as it is (as Keras)."""
    if layers_module is None:
        from gazelle import layers as layers_module
    if pooling == "avg":
        return layers_module.GlobalAveragePooling2D(name=avg_name)(x)
    if pooling == "max":
        return layers_module.GlobalMaxPooling2D(name=max_name)(x)
    return x


def classifier_head(x, include_top, pooling, classes, classifier_activation, weights,
                    pool_name="avg_pool", avg_name=None, max_name=None):
    """The end most families share: with the top, global average pooling (`pool_name`)
    and the `predictions` Dense layer (its activation checked against the weights);
    without it, `pooled_or_none` with the family's pooling names."""
    from gazelle import layers
    if not include_top:
        return pooled_or_none(x, pooling, avg_name=avg_name, max_name=max_name)
    x = layers.GlobalAveragePooling2D(name=pool_name)(x)
    check_classifier_activation(classifier_activation, weights)
    return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
