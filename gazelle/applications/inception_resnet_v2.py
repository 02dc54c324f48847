"""Inception-ResNet V2 (Szegedy et al., 2017), with Keras's layer names so that Keras's
published ImageNet weights load into it. [L5: layers, models, saving, applications]

Each Inception-ResNet block adds its residual branch, scaled by a constant, to its input:
`x + scale * r`. Keras does this with a small weightless layer, `CustomScaleLayer`; gazelle
has its own layer of the same class name (so that Keras 3 weight files, which key layers
by class name, map the same), registered for `.keras` saving and loading. Inputs are
expected scaled to [-1, 1] by `preprocess_input` (Keras's "tf" mode).
"""
from gazelle import config, layers
from gazelle.applications import _common, imagenet_utils
from gazelle.core.registry import register_keras_serializable
from gazelle.models import Functional

ORIGIN = _common.KERAS_APPLICATIONS_ORIGIN + "inception_resnet_v2/"
FILE_NAME = "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5"
FILE_NAME_NO_TOP = "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5"
# Keras's md5 of each published file: (with the classifier, without it).
WEIGHTS_HASHES = ("e693bd0210a403b3192acc6073ad2e96", "d19885ff4a710c122648d3b5c3b684e4")
DEFAULT_SIZE = 299
MIN_SIZE = 75
BLOCK_TYPES = ("block35", "block17", "block8")


@register_keras_serializable(package="gazelle.applications", name="CustomScaleLayer")
class CustomScaleLayer(layers.Layer):
    """Adds a residual scaled by a constant: `[x, r] -> x + scale * r` (no weights).

    Args:
        scale: the constant factor applied to the second input.
        **kwargs: base layer arguments (`name`, `dtype`, ...).
    """

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)):
            raise TypeError("CustomScaleLayer: `scale` must be a number. Received: "
                            f"scale={scale!r} of type {type(scale).__name__}")
        self.scale = float(scale)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError("CustomScaleLayer expects a list of two tensors [x, residual]. "
                             f"Received: inputs={inputs!r:.200}")
        return inputs[0] + inputs[1] * self.scale

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        config_ = super().get_config()
        config_.update({"scale": self.scale})
        return config_


def _channel_axis():
    return 1 if config.image_data_format() == "channels_first" else 3


def conv2d_bn(x, filters, kernel_size, strides=1, padding="same", activation="relu",
              use_bias=False, name=None):
    """A convolution, batch normalization without scale (only when the convolution has
    no bias), then an activation (unless `activation` is None).

    Args:
        x: the input tensor.
        filters: the convolution's number of filters.
        kernel_size: the convolution's kernel size (an int or a pair).
        strides: the convolution's strides.
        padding: the convolution's padding, `"same"` or `"valid"`.
        activation: the final activation, or None for none.
        use_bias: whether the convolution has a bias (then there is no batch norm).
        name: optional; the layers are then named `name`, `{name}_bn` and `{name}_ac`.

    Returns:
        The output tensor.
    """
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding,
                      use_bias=use_bias, name=name)(x)
    if not use_bias:
        x = layers.BatchNormalization(axis=_channel_axis(), scale=False,
                                      name=None if name is None else f"{name}_bn")(x)
    if activation is not None:
        x = layers.Activation(activation, name=None if name is None else f"{name}_ac")(x)
    return x


def inception_resnet_block(x, scale, block_type, block_idx, activation="relu"):
    """One Inception-ResNet block: parallel branches, concatenated (`{block}_mixed`), a
    1x1 convolution with bias back to the input's width (`{block}_conv`), added to the
    input with factor `scale`, then `activation` (`{block}_ac`) unless it is None.

    Args:
        x: the input tensor.
        scale: the factor of the residual branch.
        block_type: `"block35"` (Inception-ResNet-A, 35x35), `"block17"` (B, 17x17) or
            `"block8"` (C, 8x8).
        block_idx: the block's number, for its layer names (`block35_1`, ...).
        activation: the activation at the end, or None.

    Returns:
        The output tensor.
    """
    if block_type == "block35":
        b0 = conv2d_bn(x, 32, 1)
        b1 = conv2d_bn(x, 32, 1)
        b1 = conv2d_bn(b1, 32, 3)
        b2 = conv2d_bn(x, 32, 1)
        b2 = conv2d_bn(b2, 48, 3)
        b2 = conv2d_bn(b2, 64, 3)
        branches = [b0, b1, b2]
    elif block_type == "block17":
        b0 = conv2d_bn(x, 192, 1)
        b1 = conv2d_bn(x, 128, 1)
        b1 = conv2d_bn(b1, 160, [1, 7])
        b1 = conv2d_bn(b1, 192, [7, 1])
        branches = [b0, b1]
    elif block_type == "block8":
        b0 = conv2d_bn(x, 192, 1)
        b1 = conv2d_bn(x, 192, 1)
        b1 = conv2d_bn(b1, 224, [1, 3])
        b1 = conv2d_bn(b1, 256, [3, 1])
        branches = [b0, b1]
    else:
        raise ValueError(f"Unknown Inception-ResNet block type; expected one of "
                         f"{list(BLOCK_TYPES)}. Received: block_type={block_type!r}")
    block_name = f"{block_type}_{block_idx}"
    axis = _channel_axis()
    mixed = layers.Concatenate(axis=axis, name=f"{block_name}_mixed")(branches)
    up = conv2d_bn(mixed, x.shape[axis], 1, activation=None, use_bias=True,
                   name=f"{block_name}_conv")
    x = CustomScaleLayer(scale)([x, up])
    if activation is not None:
        x = layers.Activation(activation, name=f"{block_name}_ac")(x)
    return x


def InceptionResNetV2(include_top=True, weights="imagenet", input_tensor=None,
                      input_shape=None, pooling=None, classes=1000,
                      classifier_activation="softmax", name="inception_resnet_v2"):
    """Instantiates the Inception-ResNet V2 architecture (Keras's layers and names).

    Inputs go through `keras.applications.inception_resnet_v2.preprocess_input` first
    (pixels scaled to [-1, 1]). The default input size is 299x299.

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
    model = keras.applications.InceptionResNetV2(weights=None, input_shape=(96, 96, 3),
                                                 classes=10)
    ```
    """
    _common.check_weights_args(weights, include_top, classes, name)
    shape = _common.input_shape_for(input_shape, default_size=DEFAULT_SIZE,
                                    min_size=MIN_SIZE, require_flatten=include_top,
                                    weights=weights)
    img_input, inputs = _common.inputs_for(input_tensor, shape)
    axis = _channel_axis()

    # Stem: 299x299x3 -> 35x35x192
    x = conv2d_bn(img_input, 32, 3, strides=2, padding="valid")
    x = conv2d_bn(x, 32, 3, padding="valid")
    x = conv2d_bn(x, 64, 3)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = conv2d_bn(x, 80, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, padding="valid")
    x = layers.MaxPooling2D(3, strides=2)(x)

    # Mixed 5b (Inception-A): 35x35x320
    b0 = conv2d_bn(x, 96, 1)
    b1 = conv2d_bn(x, 48, 1)
    b1 = conv2d_bn(b1, 64, 5)
    b2 = conv2d_bn(x, 64, 1)
    b2 = conv2d_bn(b2, 96, 3)
    b2 = conv2d_bn(b2, 96, 3)
    bp = layers.AveragePooling2D(3, strides=1, padding="same")(x)
    bp = conv2d_bn(bp, 64, 1)
    x = layers.Concatenate(axis=axis, name="mixed_5b")([b0, b1, b2, bp])

    for idx in range(1, 11):                 # 10 x Inception-ResNet-A
        x = inception_resnet_block(x, scale=0.17, block_type="block35", block_idx=idx)

    # Mixed 6a (Reduction-A): 17x17x1088
    b0 = conv2d_bn(x, 384, 3, strides=2, padding="valid")
    b1 = conv2d_bn(x, 256, 1)
    b1 = conv2d_bn(b1, 256, 3)
    b1 = conv2d_bn(b1, 384, 3, strides=2, padding="valid")
    bp = layers.MaxPooling2D(3, strides=2, padding="valid")(x)
    x = layers.Concatenate(axis=axis, name="mixed_6a")([b0, b1, bp])

    for idx in range(1, 21):                 # 20 x Inception-ResNet-B
        x = inception_resnet_block(x, scale=0.1, block_type="block17", block_idx=idx)

    # Mixed 7a (Reduction-B): 8x8x2080
    b0 = conv2d_bn(x, 256, 1)
    b0 = conv2d_bn(b0, 384, 3, strides=2, padding="valid")
    b1 = conv2d_bn(x, 256, 1)
    b1 = conv2d_bn(b1, 288, 3, strides=2, padding="valid")
    b2 = conv2d_bn(x, 256, 1)
    b2 = conv2d_bn(b2, 288, 3)
    b2 = conv2d_bn(b2, 320, 3, strides=2, padding="valid")
    bp = layers.MaxPooling2D(3, strides=2, padding="valid")(x)
    x = layers.Concatenate(axis=axis, name="mixed_7a")([b0, b1, b2, bp])

    for idx in range(1, 10):                 # 10 x Inception-ResNet-C, the last linear
        x = inception_resnet_block(x, scale=0.2, block_type="block8", block_idx=idx)
    x = inception_resnet_block(x, scale=1.0, activation=None, block_type="block8",
                               block_idx=10)

    x = conv2d_bn(x, 1536, 1, name="conv_7b")           # 8x8x1536

    x = _common.classifier_head(x, include_top, pooling, classes, classifier_activation,
                                weights)

    model = Functional(inputs, x, name=name)
    _common.load_weights(model, weights, FILE_NAME if include_top else FILE_NAME_NO_TOP,
                         WEIGHTS_HASHES[0 if include_top else 1], ORIGIN)
    return model


def preprocess_input(x, data_format=None):
    """Scales pixels from [0, 255] to [-1, 1] (Keras's "tf" mode), as
    `keras.applications.inception_resnet_v2.preprocess_input`."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """`(class_id, class_name, score)` tuples for ImageNet predictions of shape (n, 1000)."""
    return imagenet_utils.decode_predictions(preds, top=top)
