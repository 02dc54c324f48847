"""VGG16 (Simonyan & Zisserman, 2014), with Keras's layer names, so that Keras's ImageNet
weight files load into it. [L5: layers, models, applications]

`vgg19` shares the builder (`VGG`). Inputs are expected preprocessed with
`preprocess_input` (caffe: BGR, ImageNet mean subtracted).
"""
from gazelle.applications import _common, imagenet_utils

ORIGIN = _common.KERAS_APPLICATIONS_ORIGIN + "{family}/"
# Keras's md5 of each published file: (with the classifier, without it).
WEIGHTS_HASHES = {
    "vgg16": ("64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc"),
    "vgg19": ("cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6"),
}
# Convolutions per block (64, 128, 256, 512, 512 filters).
_CONVS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
_FILTERS = (64, 128, 256, 512, 512)


def VGG(family, include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
        pooling=None, classes=1000, classifier_activation="softmax", name=None):
    """Builds `"vgg16"` or `"vgg19"`; the other arguments are those of `VGG16`."""
    from gazelle import layers, models
    _common.check_weights_args(weights, include_top, classes, name)
    shape = _common.input_shape_for(input_shape, default_size=224, min_size=32,
                                    require_flatten=include_top, weights=weights)
    x, inputs = _common.inputs_for(input_tensor, shape)
    for block, (n, filters) in enumerate(zip(_CONVS[family], _FILTERS), start=1):
        for i in range(1, n + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same",
                              name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        _common.check_classifier_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pooled_or_none(x, pooling)
    model = models.Model(inputs, x, name=name)
    suffix = "" if include_top else "_notop"
    _common.load_weights(model, weights,
                         f"{family}_weights_tf_dim_ordering_tf_kernels{suffix}.h5",
                         WEIGHTS_HASHES[family][0 if include_top else 1],
                         ORIGIN.format(family=family))
    return model


_ARGS_DOC = """
    Args:
        include_top: whether to keep the 3 fully-connected layers at the top.
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


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg16"):
    return VGG("vgg16", include_top=include_top, weights=weights, input_tensor=input_tensor,
               input_shape=input_shape, pooling=pooling, classes=classes,
               classifier_activation=classifier_activation, name=name)


VGG16.__doc__ = ("Instantiates the VGG16 architecture (Keras's layers and names).\n\n"
                 "    Inputs go through `keras.applications.vgg16.preprocess_input` first.\n"
                 + _ARGS_DOC)


def preprocess_input(x, data_format=None):
    """Preprocesses images for VGG: RGB -> BGR and ImageNet's mean subtracted (caffe mode),
    as `keras.applications.vgg16.preprocess_input`."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top=5):
    """`(class_id, class_name, score)` tuples for ImageNet predictions of shape (n, 1000)."""
    return imagenet_utils.decode_predictions(preds, top=top)
