"""MobileNetV2 (Sandler et al., 2018), with Keras's layer names so that Keras's published
ImageNet weights load into it. [L5: layers, models, utils]

Also home of two helpers the mobile/efficient families share: `_make_divisible` (round a
channel count to a multiple of 8 without losing more than 10%) and `_correct_pad` (the
asymmetric zero padding that makes a stride-2 "valid" convolution match TensorFlow's "same").
"""
import warnings

from gazelle import backend, config, layers
from gazelle.applications import _common
from gazelle.models import Functional

WEIGHTS_ORIGIN = _common.KERAS_APPLICATIONS_ORIGIN + "mobilenet_v2/"
_WEIGHTS_SIZES = (96, 128, 160, 192, 224)
_WEIGHTS_ALPHAS = (0.35, 0.50, 0.75, 1.0, 1.3, 1.4)


def _make_divisible(v, divisor=8, min_value=None):
    """`v` rounded to the nearest multiple of `divisor` (at least `min_value`), bumped up one
    step when rounding down would lose more than 10%."""
    if min_value is None:
        min_value = divisor
    rounded = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * v:
        rounded += divisor
    return rounded


def _correct_pad(x, kernel_size):
    """((top, bottom), (left, right)) zero padding before a stride-2 "valid" convolution of
    `kernel_size` on `x`, so that the result lines up with TensorFlow's "same" padding."""
    first = config.image_data_format() == "channels_first"
    spatial = tuple(x.shape[2:4] if first else x.shape[1:3])
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    if spatial[0] is None:
        adjust = (1, 1)
    else:
        adjust = (1 - spatial[0] % 2, 1 - spatial[1] % 2)
    half = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((half[0] - adjust[0], half[0]), (half[1] - adjust[1], half[1]))


def _channel_axis():
    return 1 if config.image_data_format() == "channels_first" else -1


def _spatial(shape):
    """(rows, cols) of a 3-entry image shape in the current data format."""
    if config.image_data_format() == "channels_first":
        return shape[1], shape[2]
    return shape[0], shape[1]


def _bn(x, name):
    return layers.BatchNormalization(axis=_channel_axis(), epsilon=1e-3, momentum=0.999,
                                     name=name)(x)


def _inverted_res_block(x, expansion, stride, alpha, filters, block_id):
    """Expand (1x1) -> depthwise 3x3 -> project (1x1, linear), with a residual connection when
    the shape is kept. Block 0 has no expansion and is named `expanded_conv_*`."""
    inputs = x
    in_channels = x.shape[_channel_axis()]
    out_channels = _make_divisible(int(filters * alpha), 8)
    if block_id:
        prefix = f"block_{block_id}_"
        x = layers.Conv2D(expansion * in_channels, kernel_size=1, padding="same",
                          use_bias=False, activation=None, name=prefix + "expand")(x)
        x = _bn(x, prefix + "expand_BN")
        x = layers.ReLU(6.0, name=prefix + "expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = layers.ZeroPadding2D(padding=_correct_pad(x, 3), name=prefix + "pad")(x)
    x = layers.DepthwiseConv2D(kernel_size=3, strides=stride, activation=None, use_bias=False,
                               padding="same" if stride == 1 else "valid",
                               name=prefix + "depthwise")(x)
    x = _bn(x, prefix + "depthwise_BN")
    x = layers.ReLU(6.0, name=prefix + "depthwise_relu")(x)
    x = layers.Conv2D(out_channels, kernel_size=1, padding="same", use_bias=False,
                      activation=None, name=prefix + "project")(x)
    x = _bn(x, prefix + "project_BN")
    if stride == 1 and in_channels == out_channels:
        x = layers.Add(name=prefix + "add")([inputs, x])
    return x


# (filters, stride, expansion) of blocks 0..16.
_BLOCKS = ([(16, 1, 1)]
           + [(24, 2, 6), (24, 1, 6)]
           + [(32, 2, 6)] + [(32, 1, 6)] * 2
           + [(64, 2, 6)] + [(64, 1, 6)] * 3
           + [(96, 1, 6)] * 3
           + [(160, 2, 6)] + [(160, 1, 6)] * 2
           + [(320, 1, 6)])


def MobileNetV2(input_shape=None, alpha=1.0, include_top=True, weights="imagenet",
                input_tensor=None, pooling=None, classes=1000,
                classifier_activation="softmax", name=None):
    """Instantiates the MobileNetV2 architecture (inverted residual blocks with linear
    bottlenecks).

    Args:
        input_shape: optional `(H, W, 3)` shape (`(3, H, W)` channels-first); H and W at
            least 32. With `include_top=True` and ImageNet weights it must be the default
            `(224, 224, 3)`. Ignored when `input_tensor` is given.
        alpha: width multiplier: scales the number of filters of every layer (ImageNet
            weights exist for 0.35, 0.5, 0.75, 1.0, 1.3 and 1.4).
        include_top: whether to end with global average pooling and the `predictions`
            Dense layer.
        weights: `None` (random initialization), `"imagenet"` (Keras's published weights,
            from the caches or downloaded) or the path of a weights file.
        input_tensor: optional symbolic tensor to build the model on.
        pooling: without the top: `None` (4D output), `"avg"` or `"max"` (global pooling).
        classes: number of classes (1000 with ImageNet weights and the top).
        classifier_activation: activation of the `predictions` layer (`None` or `"softmax"`
            with pretrained weights).
        name: the model's name; default `"mobilenetv2_{alpha:.2f}_{rows}"`.

    Returns:
        A `keras.Model`. Inputs are expected in [-1, 1] (see `preprocess_input`).

    ```python
    model = keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3), classes=10)
    ```
    """
    _common.check_weights_args(weights, include_top, classes, "MobileNetV2")
    imagenet = isinstance(weights, str) and weights == "imagenet"

    # The default size follows the given shape when it is one of the published sizes.
    given = input_shape
    if given is None and input_tensor is not None and backend.is_keras_tensor(input_tensor):
        given = tuple(input_tensor.shape[1:])
    if input_shape is not None and input_tensor is not None \
            and backend.is_keras_tensor(input_tensor):
        if tuple(input_tensor.shape[1:]) != tuple(input_shape):
            raise ValueError(
                "MobileNetV2: `input_shape` must match the shape of `input_tensor`. Received: "
                f"input_shape={tuple(input_shape)}, input_tensor.shape={input_tensor.shape}")
    default_size = 224
    if given is not None and len(given) == 3:
        rows, cols = _spatial(given)
        if rows == cols and rows in _WEIGHTS_SIZES:
            default_size = rows

    shape = _common.input_shape_for(input_shape, default_size=default_size, min_size=32,
                                    data_format=config.image_data_format(),
                                    require_flatten=include_top, weights=weights)
    rows, cols = _spatial(shape)
    if imagenet:
        if alpha not in _WEIGHTS_ALPHAS:
            raise ValueError(
                "If imagenet weights are being loaded, alpha must be one of `0.35`, `0.50`, "
                f"`0.75`, `1.0`, `1.3` or `1.4` only; Received: alpha={alpha!r}")
        if rows != cols or rows not in _WEIGHTS_SIZES:
            rows = 224
            warnings.warn("`input_shape` is undefined or non-square, or `rows` is not in "
                          "[96, 128, 160, 192, 224]. Weights for input shape (224, 224) "
                          "will be loaded as the default.", stacklevel=2)

    x, model_inputs = _common.inputs_for(input_tensor, shape)

    x = layers.Conv2D(_make_divisible(32 * alpha, 8), kernel_size=3, strides=(2, 2),
                      padding="same", use_bias=False, name="Conv1")(x)
    x = _bn(x, "bn_Conv1")
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(_BLOCKS):
        x = _inverted_res_block(x, expansion=expansion, stride=stride, alpha=alpha,
                                filters=filters, block_id=block_id)

    # The width multiplier widens, but never narrows, the last convolution.
    last = _make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last, kernel_size=1, use_bias=False, name="Conv_1")(x)
    x = _bn(x, "Conv_1_bn")
    x = layers.ReLU(6.0, name="out_relu")(x)

    x = _common.classifier_head(x, include_top, pooling, classes, classifier_activation,
                                weights, pool_name=None)

    if name is None:
        name = f"mobilenetv2_{alpha:0.2f}_{rows}"
    model = Functional(model_inputs, x, name=name)

    file_name = None
    if imagenet:
        file_name = (f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}"
                     + (".h5" if include_top else "_no_top.h5"))
    _common.load_weights(model, weights, file_name, None, WEIGHTS_ORIGIN)
    return model


def preprocess_input(x, data_format=None):
    """Scales pixels from [0, 255] to [-1, 1] (Keras's "tf" mode), sample-wise."""
    from gazelle.applications import imagenet_utils
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """The `top` ImageNet classes of each prediction: lists of (class_id, name, score)."""
    from gazelle.applications import imagenet_utils
    return imagenet_utils.decode_predictions(preds, top=top)
