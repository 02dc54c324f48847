"""EfficientNetV2 B0-B3, S, M and L (Tan & Le, 2021), with Keras's layer names so that
Keras's published ImageNet weights load into them. [L5: layers, models, utils]

With `include_preprocessing=True` (the default) the model scales [0, 255] pixels itself
(B variants: to [0, 1] then ImageNet mean/std; S/M/L: to [-1, 1]), so `preprocess_input`
does nothing.
"""
import copy
import math

from gazelle import config, initializers, layers
from gazelle.applications import _common
from gazelle.applications.efficientnet import CONV_KERNEL_INITIALIZER, DENSE_KERNEL_INITIALIZER
from gazelle.models import Functional

WEIGHTS_ORIGIN = _common.KERAS_APPLICATIONS_ORIGIN + "efficientnet_v2/"

# Keras's file hashes: (with the top, without the top).
WEIGHTS_HASHES = {
    "b0": ("21ecbf6da12460d5c40bb2f29ceb2188", "893217f2bb855e2983157299931e43ff"),
    "b1": ("069f0534ff22adf035c89e2d9547a9dc", "0e80663031ca32d657f9caa404b6ec37"),
    "b2": ("424e49f28180edbde1e94797771950a7", "1dfe2e7a5d45b6632553a8961ea609eb"),
    "b3": ("1f1fc43bd98a6e4fd8fdfd551e02c7a0", "f6abf7b5849ac99a89b50dd3fd532856"),
    "-s": ("e1d88a8495beba45748fedd0cecbe016", "af0682fb74e8c54910f2d4393339c070"),
    "-m": ("a3bf6aa3276309f4fc6a34aa114c95cd", "1b8dc055df72dde80d614482840fe342"),
    "-l": ("27e6d408b53c7ebc868fefa357689935", "b0b66b5c863aef5b46e8608fe1711615"),
}


def _stages(*rows):
    """Stage dicts from rows of (conv_type (1: fused), repeats, filters in, filters out,
    expand ratio, se ratio, strides); every kernel is 3x3."""
    return [{"kernel_size": 3, "num_repeat": r, "input_filters": fi, "output_filters": fo,
             "expand_ratio": e, "se_ratio": se, "strides": s, "conv_type": c}
            for c, r, fi, fo, e, se, s in rows]


_B = _stages((1, 1, 32, 16, 1, 0, 1), (1, 2, 16, 32, 4, 0, 2), (1, 2, 32, 48, 4, 0, 2),
             (0, 3, 48, 96, 4, 0.25, 2), (0, 5, 96, 112, 6, 0.25, 1),
             (0, 8, 112, 192, 6, 0.25, 2))
DEFAULT_BLOCKS_ARGS = {
    "efficientnetv2-s": _stages(
        (1, 2, 24, 24, 1, 0, 1), (1, 4, 24, 48, 4, 0, 2), (1, 4, 48, 64, 4, 0, 2),
        (0, 6, 64, 128, 4, 0.25, 2), (0, 9, 128, 160, 6, 0.25, 1),
        (0, 15, 160, 256, 6, 0.25, 2)),
    "efficientnetv2-m": _stages(
        (1, 3, 24, 24, 1, 0, 1), (1, 5, 24, 48, 4, 0, 2), (1, 5, 48, 80, 4, 0, 2),
        (0, 7, 80, 160, 4, 0.25, 2), (0, 14, 160, 176, 6, 0.25, 1),
        (0, 18, 176, 304, 6, 0.25, 2), (0, 5, 304, 512, 6, 0.25, 1)),
    "efficientnetv2-l": _stages(
        (1, 4, 32, 32, 1, 0, 1), (1, 7, 32, 64, 4, 0, 2), (1, 7, 64, 96, 4, 0, 2),
        (0, 10, 96, 192, 4, 0.25, 2), (0, 19, 192, 224, 6, 0.25, 1),
        (0, 25, 224, 384, 6, 0.25, 2), (0, 7, 384, 640, 6, 0.25, 1)),
    "efficientnetv2-b0": _B,
    "efficientnetv2-b1": copy.deepcopy(_B),
    "efficientnetv2-b2": copy.deepcopy(_B),
    "efficientnetv2-b3": copy.deepcopy(_B),
}


def round_filters(filters, width_coefficient, min_depth, depth_divisor):
    """`filters * width_coefficient` rounded to a multiple of `depth_divisor` (at least
    `min_depth`)."""
    scaled = filters * width_coefficient
    return int(max(min_depth or depth_divisor,
                   int(scaled + depth_divisor / 2) // depth_divisor * depth_divisor))


def round_repeats(repeats, depth_coefficient):
    return int(math.ceil(depth_coefficient * repeats))


def _bn_axis():
    return 1 if config.image_data_format() == "channels_first" else 3


def _bn(x, momentum, name):
    return layers.BatchNormalization(axis=_bn_axis(), momentum=momentum, name=name)(x)


def _conv(x, filters, kernel_size, strides, name, **kwargs):
    return layers.Conv2D(filters, kernel_size=kernel_size, strides=strides,
                         kernel_initializer=CONV_KERNEL_INITIALIZER, padding="same",
                         use_bias=False, name=name, **kwargs)(x)


def _squeeze_excite(x, filters, input_filters, se_ratio, activation, name):
    squeezed = max(1, int(input_filters * se_ratio))
    se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
    se_shape = (filters, 1, 1) if _bn_axis() == 1 else (1, 1, filters)
    se = layers.Reshape(se_shape, name=f"{name}se_reshape")(se)
    se = layers.Conv2D(squeezed, 1, padding="same", activation=activation,
                       kernel_initializer=CONV_KERNEL_INITIALIZER, name=f"{name}se_reduce")(se)
    se = layers.Conv2D(filters, 1, padding="same", activation="sigmoid",
                       kernel_initializer=CONV_KERNEL_INITIALIZER, name=f"{name}se_expand")(se)
    return layers.multiply([x, se], name=f"{name}se_excite")


def _residual(x, inputs, drop_rate, name):
    # Keras calls the rate `survival_probability`, but uses it as Dropout's rate.
    if drop_rate:
        x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
    return layers.add([x, inputs], name=f"{name}add")


def MBConvBlock(input_filters, output_filters, expand_ratio=1, kernel_size=3, strides=1,
                se_ratio=0.0, bn_momentum=0.9, activation="swish", survival_probability=0.8,
                name=None):
    """Returns a function applying an MBConv block: 1x1 expansion, depthwise convolution,
    squeeze-and-excitation, 1x1 projection, residual when the shape is kept."""
    def apply(inputs):
        filters = input_filters * expand_ratio
        x = inputs
        if expand_ratio != 1:
            x = _conv(x, filters, 1, 1, f"{name}expand_conv")
            x = _bn(x, bn_momentum, f"{name}expand_bn")
            x = layers.Activation(activation, name=f"{name}expand_activation")(x)
        x = layers.DepthwiseConv2D(kernel_size=kernel_size, strides=strides,
                                   depthwise_initializer=CONV_KERNEL_INITIALIZER,
                                   padding="same", use_bias=False, name=f"{name}dwconv2")(x)
        x = _bn(x, bn_momentum, f"{name}bn")
        x = layers.Activation(activation, name=f"{name}activation")(x)
        if 0 < se_ratio <= 1:
            x = _squeeze_excite(x, filters, input_filters, se_ratio, activation, name)
        x = _conv(x, output_filters, 1, 1, f"{name}project_conv")
        x = _bn(x, bn_momentum, f"{name}project_bn")
        if strides == 1 and input_filters == output_filters:
            x = _residual(x, inputs, survival_probability, name)
        return x
    return apply


def FusedMBConvBlock(input_filters, output_filters, expand_ratio=1, kernel_size=3, strides=1,
                     se_ratio=0.0, bn_momentum=0.9, activation="swish",
                     survival_probability=0.8, name=None):
    """Returns a function applying a fused MBConv block: one full kxk convolution in place of
    expansion + depthwise, optional squeeze-and-excitation, 1x1 projection (kxk and
    activated when there is no expansion), residual when the shape is kept."""
    def apply(inputs):
        filters = input_filters * expand_ratio
        x = inputs
        if expand_ratio != 1:
            x = _conv(x, filters, kernel_size, strides, f"{name}expand_conv")
            x = _bn(x, bn_momentum, f"{name}expand_bn")
            x = layers.Activation(activation, name=f"{name}expand_activation")(x)
        if 0 < se_ratio <= 1:
            x = _squeeze_excite(x, filters, input_filters, se_ratio, activation, name)
        expanded = expand_ratio != 1
        x = _conv(x, output_filters, 1 if expanded else kernel_size,
                  1 if expanded else strides, f"{name}project_conv")
        x = _bn(x, bn_momentum, f"{name}project_bn")
        if not expanded:
            x = layers.Activation(activation, name=f"{name}project_activation")(x)
        if strides == 1 and input_filters == output_filters:
            x = _residual(x, inputs, survival_probability, name)
        return x
    return apply


def EfficientNetV2(width_coefficient, depth_coefficient, default_size, dropout_rate=0.2,
                   drop_connect_rate=0.2, depth_divisor=8, min_depth=8, bn_momentum=0.9,
                   activation="swish", blocks_args="default", name="efficientnetv2",
                   include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                   pooling=None, classes=1000, classifier_activation="softmax",
                   include_preprocessing=True, weights_name=None):
    """Builds an EfficientNetV2 (the B0-B3/S/M/L functions call this). `blocks_args`
    `"default"` takes the stages of `weights_name`'s variant; other arguments as for
    `EfficientNetV2B0`."""
    variant = f"efficientnetv2-{weights_name.lstrip('-')}" if weights_name else name
    if isinstance(blocks_args, str) and blocks_args == "default":
        if variant not in DEFAULT_BLOCKS_ARGS:
            raise ValueError("EfficientNetV2: `blocks_args='default'` needs a known variant; "
                             f"Received: name={name!r}, weights_name={weights_name!r}")
        blocks_args = DEFAULT_BLOCKS_ARGS[variant]
    _common.check_weights_args(weights, include_top, classes, name)
    imagenet = isinstance(weights, str) and weights == "imagenet"
    shape = _common.input_shape_for(input_shape, default_size=default_size, min_size=32,
                                    data_format=config.image_data_format(),
                                    require_flatten=include_top, weights=weights)
    x, model_inputs = _common.inputs_for(input_tensor, shape)
    bn_axis = _bn_axis()

    def filters_for(n):
        return round_filters(n, width_coefficient, min_depth, depth_divisor)

    if include_preprocessing:
        channels = shape[bn_axis - 1]
        if variant.split("-")[-1].startswith("b") and channels == 3:
            x = layers.Rescaling(scale=1.0 / 255)(x)
            x = layers.Normalization(mean=[0.485, 0.456, 0.406],
                                     variance=[0.229 ** 2, 0.224 ** 2, 0.225 ** 2],
                                     axis=bn_axis)(x)
        else:
            x = layers.Rescaling(scale=1.0 / 128.0, offset=-1)(x)

    x = _conv(x, filters_for(blocks_args[0]["input_filters"]), 3, 2, "stem_conv")
    x = _bn(x, bn_momentum, "stem_bn")
    x = layers.Activation(activation, name="stem_activation")(x)

    blocks_args = copy.deepcopy(blocks_args)
    total = float(sum(args["num_repeat"] for args in blocks_args))
    done = 0
    for i, args in enumerate(blocks_args):
        if args["num_repeat"] <= 0:
            raise ValueError("The number of repeats in `EfficientNetV2` must be > 0. "
                             f"Received: num_repeat={args['num_repeat']}")
        args["input_filters"] = filters_for(args["input_filters"])
        args["output_filters"] = filters_for(args["output_filters"])
        block = {0: MBConvBlock, 1: FusedMBConvBlock}[args.pop("conv_type")]
        for j in range(round_repeats(args.pop("num_repeat"), depth_coefficient)):
            if j > 0:
                args["strides"] = 1
                args["input_filters"] = args["output_filters"]
            x = block(activation=activation, bn_momentum=bn_momentum,
                      survival_probability=drop_connect_rate * done / total,
                      name=f"block{i + 1}{chr(j + 97)}_", **args)(x)
            done += 1

    x = _conv(x, filters_for(1280), 1, 1, "top_conv")
    x = _bn(x, bn_momentum, "top_bn")
    x = layers.Activation(activation=activation, name="top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        _common.check_classifier_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation,
                         kernel_initializer=DENSE_KERNEL_INITIALIZER,
                         bias_initializer=initializers.Constant(0.0), name="predictions")(x)
    else:
        x = _common.pooled_or_none(x, pooling, avg_name="avg_pool", max_name="max_pool")

    model = Functional(model_inputs, x, name=name)

    file_name = file_hash = None
    if imagenet:
        if weights_name not in WEIGHTS_HASHES:
            raise ValueError("EfficientNetV2: ImageNet weights are published for "
                             f"{sorted(WEIGHTS_HASHES)}; Received: weights_name={weights_name!r}")
        file_name = f"efficientnetv2-{weights_name.lstrip('-')}" + (
            ".h5" if include_top else "_notop.h5")
        file_hash = WEIGHTS_HASHES[weights_name][0 if include_top else 1]
    _common.load_weights(model, weights, file_name, file_hash, WEIGHTS_ORIGIN)
    return model


def _variant(label, weights_name, width, depth, size):
    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax",
              include_preprocessing=True,
              name=f"efficientnetv2-{weights_name.lstrip('-')}"):
        return EfficientNetV2(width_coefficient=width, depth_coefficient=depth,
                              default_size=size, name=name, include_top=include_top,
                              weights=weights, input_tensor=input_tensor,
                              input_shape=input_shape, pooling=pooling, classes=classes,
                              classifier_activation=classifier_activation,
                              include_preprocessing=include_preprocessing,
                              weights_name=weights_name)

    build.__name__ = build.__qualname__ = label
    build.__doc__ = f"""Instantiates the {label} architecture (default input {size}x{size}).

    Args:
        include_top: whether to end with global average pooling, dropout and the
            `predictions` Dense layer.
        weights: `None` (random initialization), `"imagenet"` (Keras's published weights,
            from the caches or downloaded) or the path of a weights file.
        input_tensor: optional symbolic tensor to build the model on.
        input_shape: optional `(H, W, C)` shape (H and W at least 32); with the top and
            ImageNet weights it must be `({size}, {size}, 3)`.
        pooling: without the top: `None` (4D output), `"avg"` or `"max"`.
        classes: number of classes (1000 with ImageNet weights and the top).
        classifier_activation: activation of `predictions` (`None` or `"softmax"` with
            pretrained weights).
        include_preprocessing: whether the model scales [0, 255] pixels itself.
        name: the model's name.

    Returns:
        A `keras.Model`.

    ```python
    model = keras.applications.{label}(weights=None, input_shape=(64, 64, 3), classes=10)
    ```
    """
    return build


EfficientNetV2B0 = _variant("EfficientNetV2B0", "b0", 1.0, 1.0, 224)
EfficientNetV2B1 = _variant("EfficientNetV2B1", "b1", 1.0, 1.1, 240)
EfficientNetV2B2 = _variant("EfficientNetV2B2", "b2", 1.1, 1.2, 260)
EfficientNetV2B3 = _variant("EfficientNetV2B3", "b3", 1.2, 1.4, 300)
EfficientNetV2S = _variant("EfficientNetV2S", "-s", 1.0, 1.0, 384)
EfficientNetV2M = _variant("EfficientNetV2M", "-m", 1.0, 1.0, 480)
EfficientNetV2L = _variant("EfficientNetV2L", "-l", 1.0, 1.0, 480)


def preprocess_input(x, data_format=None):
    """Returns `x` unchanged: EfficientNetV2 models scale their inputs themselves
    (`include_preprocessing=True`)."""
    return x


def decode_predictions(preds, top=5):
    """The `top` ImageNet classes of each prediction: lists of (class_id, name, score)."""
    from gazelle.applications import imagenet_utils
    return imagenet_utils.decode_predictions(preds, top=top)
