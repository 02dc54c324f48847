"""Inception V3 (Szegedy et al., 2016), with Keras's layer names so that Keras's published
ImageNet weights load into it. [L5: layers, models, applications]

Most of the network's layers carry no name in Keras (they are auto-named `conv2d_7`,
`batch_normalization_7`, ...); the eleven Inception modules' concatenations are named
`mixed0` ... `mixed10`. Weight files map by order, so only the order of the layers matters
for loading them. Inputs are expected scaled to [-1, 1] by `preprocess_input` (Keras's
"tf" mode).
"""
from gazelle import config, layers
from gazelle.applications import _common, imagenet_utils
from gazelle.models import Functional

ORIGIN = _common.KERAS_APPLICATIONS_ORIGIN + "inception_v3/"
FILE_NAME = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
FILE_NAME_NO_TOP = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
# Keras's md5 of each published file: (with the classifier, without it).
WEIGHTS_HASHES = ("9a0d58056eeedaa3f26cb7ebd46da564", "bcbd6486424b2319ff4ef7d526e38f63")
DEFAULT_SIZE = 299
MIN_SIZE = 75


def _channel_axis():
    return 1 if config.image_data_format() == "channels_first" else 3


def conv2d_bn(x, filters, num_row, num_col, padding="same", strides=(1, 1), name=None):
    """A `num_row` x `num_col` convolution without bias, batch normalization without
    scale, then ReLU.

    Args:
        x: the input tensor.
        filters: the convolution's number of filters.
        num_row, num_col: the kernel's height and width.
        padding: the convolution's padding, `"same"` or `"valid"`.
        strides: the convolution's strides.
        name: optional; the layers are then named `{name}_conv`, `{name}_bn` and `name`.

    Returns:
        The output tensor.
    """
    x = layers.Conv2D(filters, (num_row, num_col), strides=strides, padding=padding,
                      use_bias=False, name=None if name is None else f"{name}_conv")(x)
    x = layers.BatchNormalization(axis=_channel_axis(), scale=False,
                                  name=None if name is None else f"{name}_bn")(x)
    return layers.Activation("relu", name=name)(x)


def _avg_pool_branch(x, filters):
    y = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x)
    return conv2d_bn(y, filters, 1, 1)


def _module_a(x, pool_filters, name):
    """35x35 module: 1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | avg pool -> 1x1."""
    b1 = conv2d_bn(x, 64, 1, 1)
    b5 = conv2d_bn(x, 48, 1, 1)
    b5 = conv2d_bn(b5, 64, 5, 5)
    b3 = conv2d_bn(x, 64, 1, 1)
    b3 = conv2d_bn(b3, 96, 3, 3)
    b3 = conv2d_bn(b3, 96, 3, 3)
    bp = _avg_pool_branch(x, pool_filters)
    return layers.concatenate([b1, b5, b3, bp], axis=_channel_axis(), name=name)


def _reduction_a(x):
    """35x35 -> 17x17: strided 3x3 | 1x1 -> 3x3 -> strided 3x3 | strided max pool."""
    b3 = conv2d_bn(x, 384, 3, 3, strides=(2, 2), padding="valid")
    bd = conv2d_bn(x, 64, 1, 1)
    bd = conv2d_bn(bd, 96, 3, 3)
    bd = conv2d_bn(bd, 96, 3, 3, strides=(2, 2), padding="valid")
    bp = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    return layers.concatenate([b3, bd, bp], axis=_channel_axis(), name="mixed3")


def _module_b(x, width, name):
    """17x17 module with factorized 7x7 convolutions of `width` inner filters."""
    b1 = conv2d_bn(x, 192, 1, 1)
    b7 = conv2d_bn(x, width, 1, 1)
    b7 = conv2d_bn(b7, width, 1, 7)
    b7 = conv2d_bn(b7, 192, 7, 1)
    bd = conv2d_bn(x, width, 1, 1)
    bd = conv2d_bn(bd, width, 7, 1)
    bd = conv2d_bn(bd, width, 1, 7)
    bd = conv2d_bn(bd, width, 7, 1)
    bd = conv2d_bn(bd, 192, 1, 7)
    bp = _avg_pool_branch(x, 192)
    return layers.concatenate([b1, b7, bd, bp], axis=_channel_axis(), name=name)


def _reduction_b(x):
    """17x17 -> 8x8: 1x1 -> strided 3x3 | 1x1 -> 1x7 -> 7x1 -> strided 3x3 | max pool."""
    b3 = conv2d_bn(x, 192, 1, 1)
    b3 = conv2d_bn(b3, 320, 3, 3, strides=(2, 2), padding="valid")
    b7 = conv2d_bn(x, 192, 1, 1)
    b7 = conv2d_bn(b7, 192, 1, 7)
    b7 = conv2d_bn(b7, 192, 7, 1)
    b7 = conv2d_bn(b7, 192, 3, 3, strides=(2, 2), padding="valid")
    bp = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    return layers.concatenate([b3, b7, bp], axis=_channel_axis(), name="mixed8")


def _module_c(x, index):
    """8x8 module with expanded filter banks (1x3 and 3x1 side by side)."""
    axis = _channel_axis()
    b1 = conv2d_bn(x, 320, 1, 1)
    b3 = conv2d_bn(x, 384, 1, 1)
    b3 = layers.concatenate([conv2d_bn(b3, 384, 1, 3), conv2d_bn(b3, 384, 3, 1)],
                            axis=axis, name=f"mixed9_{index}")
    bd = conv2d_bn(x, 448, 1, 1)
    bd = conv2d_bn(bd, 384, 3, 3)
    bd = layers.concatenate([conv2d_bn(bd, 384, 1, 3), conv2d_bn(bd, 384, 3, 1)], axis=axis)
    bp = _avg_pool_branch(x, 192)
    return layers.concatenate([b1, b3, bd, bp], axis=axis, name=f"mixed{9 + index}")


def InceptionV3(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="inception_v3"):
    """Instantiates the Inception V3 architecture (Keras's layers and names).

    Inputs go through `keras.applications.inception_v3.preprocess_input` first (pixels
    scaled to [-1, 1]). The default input size is 299x299.

    Args:
        include_top: whether to end with global average pooling and the `predictions`
            Dense layer.
        weights: `None` (random initialization), `"imagenet"` (Keras's published
            weights, found in `$GAZELLE_HOME/models` or Keras's cache `~/.keras/models`,
            or downloaded) or the path of a weights file.
        input_tensor: optional symbolic tensor (`keras.Input(...)`) to build on.
        input_shape: optional `(H, W, 3)` shape (`(3, H, W)` channels-first), H and W at
            least 75; with the top and ImageNet weights it must be `(299, 299, 3)`.
        pooling: without the top, `None` (4D feature map), `"avg"` or `"max"` (global
            pooling to a 2D tensor).
        classes: number of classes of the classifier (1000 with ImageNet weights).
        classifier_activation: activation of the classifier (`None` gives logits); with
            pretrained weights only `None` or `"softmax"`.
        name: the model's name.

    Returns:
        A `keras.Model`.

    ```python
    model = keras.applications.InceptionV3(weights=None, input_shape=(96, 96, 3),
                                           classes=10)
    ```
    """
    _common.check_weights_args(weights, include_top, classes, name)
    shape = _common.input_shape_for(input_shape, default_size=DEFAULT_SIZE,
                                    min_size=MIN_SIZE, require_flatten=include_top,
                                    weights=weights)
    img_input, inputs = _common.inputs_for(input_tensor, shape)

    # Stem: 299x299x3 -> 35x35x192
    x = conv2d_bn(img_input, 32, 3, 3, strides=(2, 2), padding="valid")
    x = conv2d_bn(x, 32, 3, 3, padding="valid")
    x = conv2d_bn(x, 64, 3, 3)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = conv2d_bn(x, 80, 1, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, 3, padding="valid")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)

    x = _module_a(x, 32, "mixed0")                       # 35x35x256
    x = _module_a(x, 64, "mixed1")                       # 35x35x288
    x = _module_a(x, 64, "mixed2")                       # 35x35x288
    x = _reduction_a(x)                                  # 17x17x768
    x = _module_b(x, 128, "mixed4")
    x = _module_b(x, 160, "mixed5")
    x = _module_b(x, 160, "mixed6")
    x = _module_b(x, 192, "mixed7")
    x = _reduction_b(x)                                  # 8x8x1280
    x = _module_c(x, 0)                                  # 8x8x2048
    x = _module_c(x, 1)

    x = _common.classifier_head(x, include_top, pooling, classes, classifier_activation,
                                weights)

    model = Functional(inputs, x, name=name)
    _common.load_weights(model, weights, FILE_NAME if include_top else FILE_NAME_NO_TOP,
                         WEIGHTS_HASHES[0 if include_top else 1], ORIGIN)
    return model


def preprocess_input(x, data_format=None):
    """Scales pixels from [0, 255] to [-1, 1] (Keras's "tf" mode), as
    `keras.applications.inception_v3.preprocess_input`."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """`(class_id, class_name, score)` tuples for ImageNet predictions of shape (n, 1000)."""
    return imagenet_utils.decode_predictions(preds, top=top)
