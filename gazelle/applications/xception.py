"""Xception (Chollet, 2017): depthwise separable convolutions with residual connections,
with Keras's layer names so that Keras's published ImageNet weights load into it.
[L5: layers, models, applications]

Inputs are expected scaled to [-1, 1] by `preprocess_input` (Keras's "tf" mode).
"""
from gazelle import config, layers
from gazelle.applications import _common, imagenet_utils
from gazelle.models import Functional

ORIGIN = _common.KERAS_APPLICATIONS_ORIGIN + "xception/"
FILE_NAME = "xception_weights_tf_dim_ordering_tf_kernels.h5"
FILE_NAME_NO_TOP = "xception_weights_tf_dim_ordering_tf_kernels_notop.h5"
# Keras's md5 of each published file: (with the classifier, without it).
WEIGHTS_HASHES = ("0a58e3b7378bc2990ea3b43d5981f1f6", "b0042744bf5b25fce3cb969f33bebb97")
DEFAULT_SIZE = 299
MIN_SIZE = 71


def _channel_axis():
    return 1 if config.image_data_format() == "channels_first" else -1


def _sep_bn(x, filters, name):
    """A 3x3 separable convolution (no bias, "same" padding) then batch normalization."""
    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
    return layers.BatchNormalization(axis=_channel_axis(), name=f"{name}_bn")(x)


def _shortcut(x, filters):
    """The strided 1x1 convolution + batch normalization of a downsampling block's
    shortcut (both unnamed in Keras, so auto-named)."""
    y = layers.Conv2D(filters, (1, 1), strides=(2, 2), padding="same", use_bias=False)(x)
    return layers.BatchNormalization(axis=_channel_axis())(y)


def _entry_block(x, filters, block, first_relu=True):
    """Entry/exit flow block: [ReLU] sep-BN, ReLU, sep-BN, strided 3x3 max pool, added to
    a strided 1x1 projection of the input. `filters` is (first, second) separable widths."""
    residual = _shortcut(x, filters[1])
    if first_relu:
        x = layers.Activation("relu", name=f"{block}_sepconv1_act")(x)
    x = _sep_bn(x, filters[0], f"{block}_sepconv1")
    x = layers.Activation("relu", name=f"{block}_sepconv2_act")(x)
    x = _sep_bn(x, filters[1], f"{block}_sepconv2")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=f"{block}_pool")(x)
    return layers.add([x, residual])


def _middle_block(x, block):
    """Middle flow: three ReLU + separable conv (728) + BN, added to the input."""
    residual = x
    for i in (1, 2, 3):
        x = layers.Activation("relu", name=f"{block}_sepconv{i}_act")(x)
        x = _sep_bn(x, 728, f"{block}_sepconv{i}")
    return layers.add([x, residual])


def Xception(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax", name="xception"):
    """Instantiates the Xception architecture (Keras's layers and names).

    Inputs go through `keras.applications.xception.preprocess_input` first (pixels
    scaled to [-1, 1]). The default input size is 299x299.

    Args:
        include_top: whether to end with global average pooling and the `predictions`
            Dense layer.
        weights: `None` (random initialization), `"imagenet"` (Keras's published
            weights, found in `$GAZELLE_HOME/models` or Keras's cache `~/.keras/models`,
            or downloaded) or the path of a weights file.
        input_tensor: optional symbolic tensor (`keras.Input(...)`) to build on.
        input_shape: optional `(H, W, 3)` shape (`(3, H, W)` channels-first), H and W at
            least 71; with the top and ImageNet weights it must be `(299, 299, 3)`.
        pooling: without the top, `None` (4D feature map), `"avg"` or `"max"` (global
            pooling to a 2D tensor).
        classes: number of classes of the classifier (1000 with ImageNet weights).
        classifier_activation: activation of the classifier (`None` gives logits); with
            pretrained weights only `None` or `"softmax"`.
        name: the model's name.

    Returns:
        A `keras.Model`.

    ```python
    model = keras.applications.Xception(weights=None, input_shape=(96, 96, 3), classes=10)
    ```
    """
    _common.check_weights_args(weights, include_top, classes, name)
    shape = _common.input_shape_for(input_shape, default_size=DEFAULT_SIZE,
                                    min_size=MIN_SIZE, require_flatten=include_top,
                                    weights=weights)
    img_input, inputs = _common.inputs_for(input_tensor, shape)
    axis = _channel_axis()

    # Entry flow
    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(img_input)
    x = layers.BatchNormalization(axis=axis, name="block1_conv1_bn")(x)
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = layers.BatchNormalization(axis=axis, name="block1_conv2_bn")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(x)

    # Keras's block 2 has no leading ReLU (the stem's activation precedes it).
    x = _entry_block(x, (128, 128), "block2", first_relu=False)
    x = _entry_block(x, (256, 256), "block3")
    x = _entry_block(x, (728, 728), "block4")

    # Middle flow: 8 identity blocks
    for i in range(8):
        x = _middle_block(x, f"block{i + 5}")

    # Exit flow
    x = _entry_block(x, (728, 1024), "block13")
    x = layers.SeparableConv2D(1536, (3, 3), padding="same", use_bias=False,
                               name="block14_sepconv1")(x)
    x = layers.BatchNormalization(axis=axis, name="block14_sepconv1_bn")(x)
    x = layers.Activation("relu", name="block14_sepconv1_act")(x)
    x = layers.SeparableConv2D(2048, (3, 3), padding="same", use_bias=False,
                               name="block14_sepconv2")(x)
    x = layers.BatchNormalization(axis=axis, name="block14_sepconv2_bn")(x)
    x = layers.Activation("relu", name="block14_sepconv2_act")(x)

    x = _common.classifier_head(x, include_top, pooling, classes, classifier_activation,
                                weights)

    model = Functional(inputs, x, name=name)
    _common.load_weights(model, weights, FILE_NAME if include_top else FILE_NAME_NO_TOP,
                         WEIGHTS_HASHES[0 if include_top else 1], ORIGIN)
    return model


def preprocess_input(x, data_format=None):
    """Scales pixels from [0, 255] to [-1, 1] (Keras's "tf" mode), as
    `keras.applications.xception.preprocess_input`."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """`(class_id, class_name, score)` tuples for ImageNet predictions of shape (n, 1000)."""
    return imagenet_utils.decode_predictions(preds, top=top)
