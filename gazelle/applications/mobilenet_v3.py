"""MobileNetV3 Small and Large (Howard et al., 2019), with Keras's layer names so that
Keras's published ImageNet weights load into them. [L5: layers, models, utils]

With `include_preprocessing=True` (the default) the model scales [0, 255] pixels to [-1, 1]
itself, so `preprocess_input` does nothing.
"""
import warnings

from gazelle import config, layers
from gazelle.applications import _common
from gazelle.applications.mobilenet_v2 import _channel_axis, _correct_pad, _spatial
from gazelle.applications.mobilenet_v2 import _make_divisible as _depth
from gazelle.models import Functional

WEIGHTS_ORIGIN = _common.KERAS_APPLICATIONS_ORIGIN + "mobilenet_v3/"

# Keras's file hashes: (with the top, without the top).
WEIGHTS_HASHES = {
    "large_224_0.75_float": ("765b44a33ad4005b3ac83185abf1d0eb",
                             "40af19a13ebea4e2ee0c676887f69a2e"),
    "large_224_1.0_float": ("59e551e166be033d707958cf9e29a6a7",
                            "07fb09a5933dd0c8eaafa16978110389"),
    "large_minimalistic_224_1.0_float": ("675e7b876c45c57e9e63e6d90a36599c",
                                         "ec5221f64a2f6d1ef965a614bdae7973"),
    "small_224_0.75_float": ("cb65d4e5be93758266aa0a7f2c6708b7",
                             "ebdb5cc8e0b497cd13a7c275d475c819"),
    "small_224_1.0_float": ("8768d4c2e7dee89b9d02b2d03d65d862",
                            "d3e8ec802a04aa4fc771ee12a9a9b836"),
    "small_minimalistic_224_1.0_float": ("99cd97fb2fcdad2bf028eb838de69e37",
                                         "cde8136e733e811080d9fcd8a252f7e4"),
}


def relu(x):
    return layers.ReLU()(x)


def hard_sigmoid(x):
    """ReLU6(x + 3) / 6 (the ReLU6 is a layer, the arithmetic is symbolic ops, as Keras)."""
    return layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)


def hard_swish(x):
    return layers.Activation("hard_swish")(x)


def _bn(x, name):
    return layers.BatchNormalization(axis=_channel_axis(), epsilon=1e-3, momentum=0.999,
                                     name=name)(x)


def _se_block(inputs, filters, se_ratio, prefix):
    """Squeeze-and-excitation with a hard-sigmoid gate."""
    x = layers.GlobalAveragePooling2D(keepdims=True,
                                      name=f"{prefix}squeeze_excite_avg_pool")(inputs)
    x = layers.Conv2D(_depth(filters * se_ratio), kernel_size=1, padding="same",
                      name=f"{prefix}squeeze_excite_conv")(x)
    x = layers.ReLU(name=f"{prefix}squeeze_excite_relu")(x)
    x = layers.Conv2D(filters, kernel_size=1, padding="same",
                      name=f"{prefix}squeeze_excite_conv_1")(x)
    x = hard_sigmoid(x)
    return layers.Multiply(name=f"{prefix}squeeze_excite_mul")([inputs, x])


def _inverted_res_block(x, expansion, filters, kernel_size, stride, se_ratio, activation,
                        block_id):
    """Expand (1x1) -> depthwise -> optional squeeze-excite -> project (1x1), residual when
    the shape is kept. Block 0 has no expansion and is named `expanded_conv_*`."""
    shortcut = x
    in_filters = x.shape[_channel_axis()]
    prefix = "expanded_conv_"
    if block_id:
        prefix = f"expanded_conv_{block_id}_"
        x = layers.Conv2D(_depth(in_filters * expansion), kernel_size=1, padding="same",
                          use_bias=False, name=f"{prefix}expand")(x)
        x = _bn(x, f"{prefix}expand_bn")
        x = activation(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=_correct_pad(x, kernel_size),
                                 name=f"{prefix}depthwise_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=stride,
                               padding="same" if stride == 1 else "valid", use_bias=False,
                               name=f"{prefix}depthwise")(x)
    x = _bn(x, f"{prefix}depthwise_bn")
    x = activation(x)
    if se_ratio:
        x = _se_block(x, _depth(in_filters * expansion), se_ratio, prefix)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", use_bias=False,
                      name=f"{prefix}project")(x)
    x = _bn(x, f"{prefix}project_bn")
    if stride == 1 and in_filters == filters:
        x = layers.Add(name=f"{prefix}add")([shortcut, x])
    return x


# Blocks as (expansion, filters, kernel ("k": 5, or 3 when minimalistic), stride,
# squeeze-excite, activation ("hs": hard-swish, or ReLU when minimalistic)).
_SMALL = [
    (1, 16, 3, 2, True, "relu"),
    (72.0 / 16, 24, 3, 2, False, "relu"),
    (88.0 / 24, 24, 3, 1, False, "relu"),
    (4, 40, "k", 2, True, "hs"),
    (6, 40, "k", 1, True, "hs"),
    (6, 40, "k", 1, True, "hs"),
    (3, 48, "k", 1, True, "hs"),
    (3, 48, "k", 1, True, "hs"),
    (6, 96, "k", 2, True, "hs"),
    (6, 96, "k", 1, True, "hs"),
    (6, 96, "k", 1, True, "hs"),
]
_LARGE = [
    (1, 16, 3, 1, False, "relu"),
    (4, 24, 3, 2, False, "relu"),
    (3, 24, 3, 1, False, "relu"),
    (3, 40, "k", 2, True, "relu"),
    (3, 40, "k", 1, True, "relu"),
    (3, 40, "k", 1, True, "relu"),
    (6, 80, 3, 2, False, "hs"),
    (2.5, 80, 3, 1, False, "hs"),
    (2.3, 80, 3, 1, False, "hs"),
    (2.3, 80, 3, 1, False, "hs"),
    (6, 112, 3, 1, True, "hs"),
    (6, 112, 3, 1, True, "hs"),
    (6, 160, "k", 2, True, "hs"),
    (6, 160, "k", 1, True, "hs"),
    (6, 160, "k", 1, True, "hs"),
]


def _stack(table, alpha):
    def stack_fn(x, kernel, activation, se_ratio):
        for block_id, (expansion, filters, k, stride, se, act) in enumerate(table):
            x = _inverted_res_block(
                x, expansion, _depth(filters * alpha), kernel if k == "k" else k, stride,
                se_ratio if se else None, activation if act == "hs" else relu, block_id)
        return x
    return stack_fn


def MobileNetV3(stack_fn, last_point_ch, input_shape=None, alpha=1.0, model_type="large",
                minimalistic=False, include_top=True, weights="imagenet", input_tensor=None,
                classes=1000, pooling=None, dropout_rate=0.2,
                classifier_activation="softmax", include_preprocessing=True, name=None):
    """Builds a MobileNetV3 around `stack_fn(x, kernel, activation, se_ratio)` (the Small
    and Large functions call this); `last_point_ch` is the width of the top's `conv_2`."""
    _common.check_weights_args(weights, include_top, classes, name)
    imagenet = isinstance(weights, str) and weights == "imagenet"
    first = config.image_data_format() == "channels_first"

    if input_tensor is not None and not _is_symbolic(input_tensor):
        raise ValueError(f"{name}: `input_tensor` must be a symbolic tensor (a "
                         "`keras.Input(...)` or a layer's output). Received: input_tensor of "
                         f"type {type(input_tensor).__name__}")
    if input_shape is not None and input_tensor is not None:
        if (input_tensor.shape[1] if first else input_tensor.shape[2]) != input_shape[1]:
            raise ValueError(f"{name}: `input_shape` does not match `input_tensor`. "
                             f"Received: input_shape={tuple(input_shape)}, "
                             f"input_tensor.shape={input_tensor.shape}")
    if input_shape is None and input_tensor is not None:
        # Keras takes the (rows, cols) of the tensor, in swapped order.
        if first:
            input_shape = (3, input_tensor.shape[3], input_tensor.shape[2])
        else:
            input_shape = (input_tensor.shape[2], input_tensor.shape[1], 3)
    if input_shape is None:
        input_shape = (3, None, None) if first else (None, None, 3)
    rows, cols = _spatial(input_shape)
    if rows and cols and (rows < 32 or cols < 32):
        raise ValueError("Input size must be at least 32x32; Received `input_shape="
                         f"{tuple(input_shape)}`")
    if imagenet:
        if (not minimalistic and alpha not in (0.75, 1.0)) or (minimalistic and alpha != 1.0):
            raise ValueError("If imagenet weights are being loaded, alpha can be one of "
                             "`0.75`, `1.0` for non minimalistic or `1.0` for minimalistic "
                             f"only. Received: alpha={alpha!r}, minimalistic={minimalistic!r}")
        if rows != cols or rows != 224:
            warnings.warn("`input_shape` is undefined or non-square, or `rows` is not 224. "
                          "Weights for input shape (224, 224) will be loaded as the default.",
                          stacklevel=3)

    x, model_inputs = _common.inputs_for(input_tensor, tuple(input_shape))
    axis = _channel_axis()
    if minimalistic:
        kernel, activation, se_ratio = 3, relu, None
    else:
        kernel, activation, se_ratio = 5, hard_swish, 0.25

    if include_preprocessing:
        x = layers.Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)
    x = layers.Conv2D(16, kernel_size=3, strides=(2, 2), padding="same", use_bias=False,
                      name="conv")(x)
    x = _bn(x, "conv_bn")
    x = activation(x)
    x = stack_fn(x, kernel, activation, se_ratio)

    last_conv_ch = _depth(x.shape[axis] * 6)
    if alpha > 1.0:
        last_point_ch = _depth(last_point_ch * alpha)
    x = layers.Conv2D(last_conv_ch, kernel_size=1, padding="same", use_bias=False,
                      name="conv_1")(x)
    x = _bn(x, "conv_1_bn")
    x = activation(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Conv2D(last_point_ch, kernel_size=1, padding="same", use_bias=True,
                          name="conv_2")(x)
        x = activation(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate)(x)
        x = layers.Conv2D(classes, kernel_size=1, padding="same", name="logits")(x)
        x = layers.Flatten()(x)
        _common.check_classifier_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pooled_or_none(x, pooling, avg_name="avg_pool", max_name="max_pool")

    model = Functional(model_inputs, x, name=name)

    file_name = file_hash = None
    if imagenet:
        key = "{}{}_224_{}_float".format(model_type, "_minimalistic" if minimalistic else "",
                                         str(float(alpha)))
        if include_top:
            file_name = f"weights_mobilenet_v3_{key}.h5"
            file_hash = WEIGHTS_HASHES[key][0]
        else:
            file_name = f"weights_mobilenet_v3_{key}_no_top_v2.h5"
            file_hash = WEIGHTS_HASHES[key][1]
    _common.load_weights(model, weights, file_name, file_hash, WEIGHTS_ORIGIN)
    return model


def _is_symbolic(x):
    from gazelle import backend
    return backend.is_keras_tensor(x)


_DOC = """Instantiates the MobileNetV3{size} architecture.

    Args:
        input_shape: optional `(H, W, 3)` shape (`(3, H, W)` channels-first), H and W at
            least 32; default `(None, None, 3)` (any size).
        alpha: width multiplier (ImageNet weights exist for 0.75 and 1.0; 1.0 only when
            minimalistic).
        minimalistic: without squeeze-and-excitation, hard-swish and 5x5 convolutions.
        include_top: whether to end with the `conv_2`/`logits` classifier head.
        weights: `None` (random initialization), `"imagenet"` (Keras's published weights,
            from the caches or downloaded) or the path of a weights file.
        input_tensor: optional symbolic tensor to build the model on.
        classes: number of classes (1000 with ImageNet weights and the top).
        pooling: without the top: `None` (4D output), `"avg"` or `"max"`.
        dropout_rate: dropout before the `logits` layer.
        classifier_activation: activation of `predictions` (`None` or `"softmax"` with
            pretrained weights).
        include_preprocessing: whether the model starts by scaling [0, 255] pixels to
            [-1, 1] (a `Rescaling` layer).
        name: the model's name.

    Returns:
        A `keras.Model`.

    ```python
    model = keras.applications.MobileNetV3{size}(weights=None, input_shape=(96, 96, 3))
    ```
    """


def MobileNetV3Small(input_shape=None, alpha=1.0, minimalistic=False, include_top=True,
                     weights="imagenet", input_tensor=None, classes=1000, pooling=None,
                     dropout_rate=0.2, classifier_activation="softmax",
                     include_preprocessing=True, name="MobileNetV3Small"):
    return MobileNetV3(_stack(_SMALL, alpha), 1024, input_shape, alpha, "small",
                       minimalistic, include_top, weights, input_tensor, classes, pooling,
                       dropout_rate, classifier_activation, include_preprocessing, name=name)


def MobileNetV3Large(input_shape=None, alpha=1.0, minimalistic=False, include_top=True,
                     weights="imagenet", input_tensor=None, classes=1000, pooling=None,
                     dropout_rate=0.2, classifier_activation="softmax",
                     include_preprocessing=True, name="MobileNetV3Large"):
    return MobileNetV3(_stack(_LARGE, alpha), 1280, input_shape, alpha, "large",
                       minimalistic, include_top, weights, input_tensor, classes, pooling,
                       dropout_rate, classifier_activation, include_preprocessing, name=name)


MobileNetV3Small.__doc__ = _DOC.format(size="Small")
MobileNetV3Large.__doc__ = _DOC.format(size="Large")


def preprocess_input(x, data_format=None):
    """Returns `x` unchanged: the models scale their inputs themselves
    (`include_preprocessing=True`)."""
    return x


def decode_predictions(preds, top=5):
    """The `top` ImageNet classes of each prediction: lists of (class_id, name, score)."""
    from gazelle.applications import imagenet_utils
    return imagenet_utils.decode_predictions(preds, top=top)
