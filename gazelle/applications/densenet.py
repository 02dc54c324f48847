"""DenseNet 121/169/201 (Huang et al., 2017), with Keras's layer names so that Keras's
published ImageNet weights load into them. [L5: layers, models, utils]

Channels-last only, as Keras."""
from gazelle import config, layers
from gazelle.applications import _common
from gazelle.models import Functional

WEIGHTS_ORIGIN = _common.KERAS_APPLICATIONS_ORIGIN + "densenet/"

# Blocks per dense stage -> (variant, hash with the top, hash without the top).
_PUBLISHED = {
    (6, 12, 24, 16): ("densenet121", "9d60b8095a5708f2dcce2bca79d332c7",
                      "30ee3e1110167f948a6b9946edeeb738"),
    (6, 12, 32, 32): ("densenet169", "d699b8f76981ab1b30698df4c175e90b",
                      "b8c4d4c20dd625c148057b9ff1c1176b"),
    (6, 12, 48, 32): ("densenet201", "1ceb130c1ea1b78c3bf6114dbdfd8807",
                      "c13680b51ded0fb44dff2d8f86ac8bb1"),
}
_EPSILON = 1.001e-5


def _bn_relu(x, name):
    x = layers.BatchNormalization(axis=3, epsilon=_EPSILON, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def conv_block(x, growth_rate, name):
    """BN-ReLU-1x1 conv (4 x growth) then BN-ReLU-3x3 conv (growth), concatenated to `x`."""
    y = _bn_relu(x, f"{name}_0")
    y = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=f"{name}_1_conv")(y)
    y = _bn_relu(y, f"{name}_1")
    y = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False,
                      name=f"{name}_2_conv")(y)
    return layers.Concatenate(axis=3, name=f"{name}_concat")([x, y])


def dense_block(x, blocks, name):
    for i in range(blocks):
        x = conv_block(x, 32, name=f"{name}_block{i + 1}")
    return x


def transition_block(x, reduction, name):
    """BN-ReLU, a 1x1 convolution keeping `reduction` of the channels, 2x2 average pool."""
    x = _bn_relu(x, name)
    x = layers.Conv2D(int(x.shape[3] * reduction), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def DenseNet(blocks, include_top=True, weights="imagenet", input_tensor=None,
             input_shape=None, pooling=None, classes=1000, classifier_activation="softmax",
             name="densenet"):
    """Builds a DenseNet with `blocks` conv blocks in each of its four dense stages (the
    121/169/201 functions call this); other arguments as for `DenseNet121`."""
    if config.image_data_format() == "channels_first":
        raise ValueError("DenseNet does not support the `channels_first` image data format; "
                         "use keras.config.set_image_data_format('channels_last').")
    _common.check_weights_args(weights, include_top, classes, name)
    imagenet = isinstance(weights, str) and weights == "imagenet"
    shape = _common.input_shape_for(input_shape, default_size=224, min_size=32,
                                    data_format="channels_last",
                                    require_flatten=include_top, weights=weights)
    x, model_inputs = _common.inputs_for(input_tensor, shape)

    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(x)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = _bn_relu(x, "conv1")
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for stage, count in enumerate(blocks):
        x = dense_block(x, count, name=f"conv{stage + 2}")
        if stage < len(blocks) - 1:
            x = transition_block(x, 0.5, name=f"pool{stage + 2}")
    x = layers.BatchNormalization(axis=3, epsilon=_EPSILON, name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)

    x = _common.classifier_head(x, include_top, pooling, classes, classifier_activation,
                                weights, avg_name="avg_pool", max_name="max_pool")

    model = Functional(model_inputs, x, name=name)

    file_name = file_hash = None
    if imagenet:
        if tuple(blocks) not in _PUBLISHED:
            raise ValueError("DenseNet: ImageNet weights are published for blocks "
                             f"{[list(b) for b in _PUBLISHED]} only; Received: "
                             f"blocks={list(blocks)}")
        variant, with_top, without_top = _PUBLISHED[tuple(blocks)]
        file_name = (f"{variant}_weights_tf_dim_ordering_tf_kernels"
                     + (".h5" if include_top else "_notop.h5"))
        file_hash = with_top if include_top else without_top
    _common.load_weights(model, weights, file_name, file_hash, WEIGHTS_ORIGIN)
    return model


def _variant(depth, blocks):
    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax",
              name=f"densenet{depth}"):
        return DenseNet(list(blocks), include_top, weights, input_tensor, input_shape,
                        pooling, classes, classifier_activation, name=name)

    label = f"DenseNet{depth}"
    build.__name__ = build.__qualname__ = label
    build.__doc__ = f"""Instantiates the {label} architecture (dense stages of {blocks} blocks).

    Args:
        include_top: whether to end with global average pooling and the `predictions`
            Dense layer.
        weights: `None` (random initialization), `"imagenet"` (Keras's published weights,
            from the caches or downloaded) or the path of a weights file.
        input_tensor: optional symbolic tensor to build the model on.
        input_shape: optional `(H, W, 3)` shape (channels-last only), H and W at least 32;
            with the top and ImageNet weights it must be `(224, 224, 3)`.
        pooling: without the top: `None` (4D output), `"avg"` or `"max"`.
        classes: number of classes (1000 with ImageNet weights and the top).
        classifier_activation: activation of `predictions` (`None` or `"softmax"` with
            pretrained weights).
        name: the model's name.

    Returns:
        A `keras.Model`. Inputs are expected as `densenet.preprocess_input` makes them
        (Keras's "torch" mode).

    ```python
    model = keras.applications.{label}(weights=None, input_shape=(64, 64, 3), classes=10)
    ```
    """
    return build


DenseNet121 = _variant(121, (6, 12, 24, 16))
DenseNet169 = _variant(169, (6, 12, 32, 32))
DenseNet201 = _variant(201, (6, 12, 48, 32))


def preprocess_input(x, data_format=None):
    """Scales pixels to [0, 1] then normalizes each channel with ImageNet's mean and std
    (Keras's "torch" mode)."""
    from gazelle.applications import imagenet_utils
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="torch")


def decode_predictions(preds, top=5):
    """The `top` ImageNet classes of each prediction: lists of (class_id, name, score)."""
    from gazelle.applications import imagenet_utils
    return imagenet_utils.decode_predictions(preds, top=top)
