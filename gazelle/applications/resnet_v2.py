"""ResNet50V2, ResNet101V2 and ResNet152V2 (He et al., 2016: pre-activation blocks), with
Keras's layer names, so that Keras's ImageNet weight files load into them. [L5: layers,
models, applications]

Built by `resnet.ResNet` with `preact=True`. Inputs are expected scaled to [-1, 1] by
`preprocess_input` ("tf" mode).
"""
from gazelle.applications import imagenet_utils, resnet


def _family_member(depth, default_name):
    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax", name=default_name):
        return resnet.ResNet(depth, True, include_top=include_top, weights=weights,
                             input_tensor=input_tensor, input_shape=input_shape,
                             pooling=pooling, classes=classes,
                             classifier_activation=classifier_activation, name=name,
                             weights_name=default_name)
    build.__name__ = build.__qualname__ = f"ResNet{depth}V2"
    build.__doc__ = (f"Instantiates the ResNet{depth}V2 architecture (Keras's layers and "
                     "names).\n\n    Inputs go through "
                     "`keras.applications.resnet_v2.preprocess_input` first.\n"
                     + resnet._ARGS_DOC)
    build.__module__ = __name__
    return build


ResNet50V2 = _family_member(50, "resnet50v2")
ResNet101V2 = _family_member(101, "resnet101v2")
ResNet152V2 = _family_member(152, "resnet152v2")


def preprocess_input(x, data_format=None):
    """Preprocesses images for ResNet V2: scales pixels from [0, 255] to [-1, 1] ("tf"
    mode), as `keras.applications.resnet_v2.preprocess_input`."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """`(class_id, class_name, score)` tuples for ImageNet predictions of shape (n, 1000)."""
    return imagenet_utils.decode_predictions(preds, top=top)
