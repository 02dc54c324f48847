"""ResNet50, ResNet101 and ResNet152 (He et al., 2015), with Keras's layer names, so that
Keras's ImageNet weight files load into them. [L5: layers, models, applications]

One builder (`ResNet`) makes both the original networks (post-activation bottleneck blocks,
this module) and the V2 ones (pre-activation blocks, `resnet_v2`). Inputs are expected
preprocessed with `preprocess_input` (caffe: BGR, ImageNet mean subtracted).
"""
from gazelle.applications import _common, imagenet_utils

ORIGIN = _common.KERAS_APPLICATIONS_ORIGIN + "resnet/"
# Keras's md5 of each published file: (with the classifier, without it).
WEIGHTS_HASHES = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
}
_BN_EPSILON = 1.001e-5


def weights_file_name(weights_name, include_top):
    """Keras's file name for a family member's ImageNet weights."""
    suffix = "" if include_top else "_notop"
    return f"{weights_name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5"


def _bn_axis():
    from gazelle import config
    return 3 if config.image_data_format() == "channels_last" else 1


def _bn(name):
    from gazelle import layers
    return layers.BatchNormalization(axis=_bn_axis(), epsilon=_BN_EPSILON, name=name)


def block_v1(x, filters, kernel_size=3, stride=1, conv_shortcut=True, name=None):
    """A post-activation bottleneck block: 1x1 -> kxk -> 1x1 (4*filters), BN after each,
    added to the shortcut (a strided 1x1 convolution + BN, or the input), then ReLU."""
    from gazelle import layers
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = _bn(f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = _bn(f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, kernel_size, padding="same", name=f"{name}_2_conv")(x)
    x = _bn(f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = _bn(f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def stack_v1(x, filters, blocks, stride1=2, name=None):
    """`blocks` V1 blocks; the first has a convolution shortcut and stride `stride1`."""
    x = block_v1(x, filters, stride=stride1, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = block_v1(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def block_v2(x, filters, kernel_size=3, stride=1, conv_shortcut=False, name=None):
    """A pre-activation bottleneck block (BN + ReLU first); the stride is on the kxk
    convolution, and an identity shortcut is subsampled by a 1x1 max pooling."""
    from gazelle import layers
    preact = _bn(f"{name}_preact_bn")(x)
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    elif stride > 1:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = _bn(f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, kernel_size, strides=stride, use_bias=False,
                      name=f"{name}_2_conv")(x)
    x = _bn(f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def stack_v2(x, filters, blocks, stride1=2, name=None):
    """`blocks` V2 blocks: the first with a convolution shortcut, the last with stride
    `stride1`."""
    x = block_v2(x, filters, conv_shortcut=True, name=f"{name}_block1")
    for i in range(2, blocks):
        x = block_v2(x, filters, name=f"{name}_block{i}")
    return block_v2(x, filters, stride=stride1, name=f"{name}_block{blocks}")


# Blocks per stage (conv2..conv5).
_DEPTHS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


def _stages(x, depth, preact):
    counts = _DEPTHS[depth]
    filters = (64, 128, 256, 512)
    for stage, (n, f) in enumerate(zip(counts, filters)):
        name = f"conv{stage + 2}"
        if preact:      # V2: the stride is on each stage's last block, none on conv5
            x = stack_v2(x, f, n, stride1=1 if stage == 3 else 2, name=name)
        else:           # V1: the stride is on each stage's first block, none on conv2
            x = stack_v1(x, f, n, stride1=1 if stage == 0 else 2, name=name)
    return x


def ResNet(depth, preact, include_top=True, weights="imagenet", input_tensor=None,
           input_shape=None, pooling=None, classes=1000, classifier_activation="softmax",
           name=None, weights_name=None):
    """Builds a ResNet (V1 when `preact` is False, V2 when True) of `depth` 50, 101 or 152.

    Args are those of `ResNet50`; `weights_name` (e.g. `"resnet50"`) picks Keras's
    ImageNet file.
    """
    from gazelle import layers, models
    if depth not in _DEPTHS:
        raise ValueError(f"ResNet depth must be one of {sorted(_DEPTHS)}. Received: {depth!r}")
    _common.check_weights_args(weights, include_top, classes, name)
    shape = _common.input_shape_for(input_shape, default_size=224, min_size=32,
                                    require_flatten=include_top, weights=weights)
    img_input, inputs = _common.inputs_for(input_tensor, shape)

    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=True, name="conv1_conv")(x)
    if not preact:
        x = _bn("conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = _stages(x, depth, preact)
    if preact:
        x = _bn("post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)

    x = _common.classifier_head(x, include_top, pooling, classes, classifier_activation,
                                weights, avg_name="avg_pool", max_name="max_pool")

    model = models.Model(inputs, x, name=name)
    file_name = file_hash = None
    if weights_name in WEIGHTS_HASHES:
        file_name = weights_file_name(weights_name, include_top)
        file_hash = WEIGHTS_HASHES[weights_name][0 if include_top else 1]
    _common.load_weights(model, weights, file_name, file_hash, ORIGIN)
    return model


_ARGS_DOC = """
    Args:
        include_top: whether to keep the classifier (global average pooling + Dense).
        weights: `None` (random initialization), `"imagenet"` (Keras's published
            weights, found in `$GAZELLE_HOME/models` or Keras's cache `~/.keras/models`, or
            downloaded) or the path of a weights file.
        input_tensor: optional symbolic tensor (`keras.Input(...)`) to build on.
        input_shape: optional `(H, W, 3)` shape (at least 32x32); only with
            `include_top=False` may it differ from `(224, 224, 3)` under ImageNet weights.
        pooling: without the top, `None` (4D feature map), `"avg"` or `"max"` (global
            pooling to a 2D tensor).
        classes: number of classes of the classifier (1000 with ImageNet weights).
        classifier_activation: activation of the classifier (`None` gives logits); with
            pretrained weights only `None` or `"softmax"`.
        name: the model's name.

    Returns:
        A `keras.Model`.
"""


def _family_member(depth, default_name):
    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax", name=default_name):
        return ResNet(depth, False, include_top=include_top, weights=weights,
                      input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                      classes=classes, classifier_activation=classifier_activation, name=name,
                      weights_name=default_name)
    build.__name__ = build.__qualname__ = f"ResNet{depth}"
    build.__doc__ = (f"Instantiates the ResNet{depth} architecture (Keras's layers and names).\n"
                     "\n    Inputs go through `keras.applications.resnet.preprocess_input` "
                     "first.\n" + _ARGS_DOC)
    build.__module__ = __name__
    return build


ResNet50 = _family_member(50, "resnet50")
ResNet101 = _family_member(101, "resnet101")
ResNet152 = _family_member(152, "resnet152")


def preprocess_input(x, data_format=None):
    """Preprocesses images for ResNet: RGB -> BGR and ImageNet's mean subtracted (caffe
    mode), as `keras.applications.resnet.preprocess_input`."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top=5):
    """`(class_id, class_name, score)` tuples for ImageNet predictions of shape (n, 1000)."""
    return imagenet_utils.decode_predictions(preds, top=top)
