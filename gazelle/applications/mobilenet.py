"""MobileNet v1 (Howard et al., 2017), with Keras's layer names so that Keras's published
ImageNet weights load into it. [L5: layers, models, utils]"""
import warnings

from gazelle import config, layers
from gazelle.applications import _common
from gazelle.applications.mobilenet_v2 import _channel_axis, _spatial
from gazelle.models import Functional

WEIGHTS_ORIGIN = _common.KERAS_APPLICATIONS_ORIGIN + "mobilenet/"
_WEIGHTS_SIZES = (128, 160, 192, 224)
_ALPHA_TEXT = {1.0: "1_0", 0.75: "7_5", 0.50: "5_0", 0.25: "2_5"}


def _conv_block(inputs, filters, alpha, kernel=(3, 3), strides=(1, 1)):
    """The first full convolution, batch norm and ReLU6 (`conv1*`)."""
    x = layers.Conv2D(int(filters * alpha), kernel, padding="same", use_bias=False,
                      strides=strides, name="conv1")(inputs)
    x = layers.BatchNormalization(axis=_channel_axis(), name="conv1_bn")(x)
    return layers.ReLU(6.0, name="conv1_relu")(x)


def _depthwise_conv_block(inputs, pointwise_conv_filters, alpha, depth_multiplier=1,
                          strides=(1, 1), block_id=1):
    """Depthwise 3x3 (+BN+ReLU6) then pointwise 1x1 (+BN+ReLU6); a stride-2 block pads the
    bottom/right by one and convolves "valid"."""
    axis = _channel_axis()
    if strides == (1, 1):
        x = inputs
    else:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(inputs)
    x = layers.DepthwiseConv2D((3, 3), padding="same" if strides == (1, 1) else "valid",
                               depth_multiplier=depth_multiplier, strides=strides,
                               use_bias=False, name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(int(pointwise_conv_filters * alpha), (1, 1), padding="same",
                      use_bias=False, strides=(1, 1), name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=axis, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


# (pointwise filters, strides) of depthwise blocks 1..13.
_BLOCKS = ([(64, (1, 1)), (128, (2, 2)), (128, (1, 1)), (256, (2, 2)), (256, (1, 1)),
            (512, (2, 2))] + [(512, (1, 1))] * 5 + [(1024, (2, 2)), (1024, (1, 1))])


def MobileNet(input_shape=None, alpha=1.0, depth_multiplier=1, dropout=1e-3,
              include_top=True, weights="imagenet", input_tensor=None, pooling=None,
              classes=1000, classifier_activation="softmax", name=None):
    """Instantiates the MobileNet (v1) architecture: depthwise separable convolutions.

    Args:
        input_shape: optional `(H, W, 3)` shape (`(3, H, W)` channels-first); H and W at
            least 32. With `include_top=True` and ImageNet weights it must be the default
            `(224, 224, 3)`.
        alpha: width multiplier (ImageNet weights exist for 0.25, 0.5, 0.75 and 1.0).
        depth_multiplier: depthwise channel multiplier (1 with ImageNet weights).
        dropout: dropout rate before the classifier.
        include_top: whether to end with global pooling, dropout, the `conv_preds` 1x1
            convolution and the `predictions` activation.
        weights: `None` (random initialization), `"imagenet"` (Keras's published weights,
            from the caches or downloaded) or the path of a weights file.
        input_tensor: optional symbolic tensor to build the model on.
        pooling: without the top: `None` (4D output), `"avg"` or `"max"`.
        classes: number of classes (1000 with ImageNet weights and the top).
        classifier_activation: activation of `predictions` (`None` or `"softmax"` with
            pretrained weights).
        name: the model's name; default `"mobilenet_{alpha:.2f}_{rows}"`.

    Returns:
        A `keras.Model`. Inputs are expected in [-1, 1] (see `preprocess_input`).

    ```python
    model = keras.applications.MobileNet(weights=None, input_shape=(128, 128, 3), alpha=0.5)
    ```
    """
    _common.check_weights_args(weights, include_top, classes, "MobileNet")
    imagenet = isinstance(weights, str) and weights == "imagenet"
    default_size = 224
    if input_shape is not None and len(input_shape) == 3:
        rows, cols = _spatial(input_shape)
        if rows == cols and rows in _WEIGHTS_SIZES:
            default_size = rows
    shape = _common.input_shape_for(input_shape, default_size=default_size, min_size=32,
                                    data_format=config.image_data_format(),
                                    require_flatten=include_top, weights=weights)
    rows, cols = _spatial(shape)
    if imagenet:
        if depth_multiplier != 1:
            raise ValueError("If imagenet weights are being loaded, depth multiplier must be "
                             f"1.  Received: depth_multiplier={depth_multiplier!r}")
        if alpha not in _ALPHA_TEXT:
            raise ValueError("If imagenet weights are being loaded, alpha can be one of "
                             "`0.25`, `0.50`, `0.75` or `1.0` only.  "
                             f"Received: alpha={alpha!r}")
        if rows != cols or rows not in _WEIGHTS_SIZES:
            rows = 224
            warnings.warn("`input_shape` is undefined or non-square, or `rows` is not in "
                          "[128, 160, 192, 224]. Weights for input shape (224, 224) will be "
                          "loaded as the default.", stacklevel=2)

    x, model_inputs = _common.inputs_for(input_tensor, shape)
    x = _conv_block(x, 32, alpha, strides=(2, 2))
    for block_id, (filters, strides) in enumerate(_BLOCKS, start=1):
        x = _depthwise_conv_block(x, filters, alpha, depth_multiplier, strides=strides,
                                  block_id=block_id)

    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        _common.check_classifier_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pooled_or_none(x, pooling)

    if name is None:
        name = f"mobilenet_{alpha:0.2f}_{rows}"
    model = Functional(model_inputs, x, name=name)

    file_name = None
    if imagenet:
        file_name = (f"mobilenet_{_ALPHA_TEXT[alpha]}_{rows}_tf"
                     + (".h5" if include_top else "_no_top.h5"))
    _common.load_weights(model, weights, file_name, None, WEIGHTS_ORIGIN)
    return model


def preprocess_input(x, data_format=None):
    """Scales pixels from [0, 255] to [-1, 1] (Keras's "tf" mode)."""
    from gazelle.applications import imagenet_utils
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """The `top` ImageNet classes of each prediction: lists of (class_id, name, score)."""
    from gazelle.applications import imagenet_utils
    return imagenet_utils.decode_predictions(preds, top=top)
