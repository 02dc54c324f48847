"""VGG19 (Simonyan & Zisserman, 2014), with Keras's layer names, so that Keras's ImageNet
weight files load into it. [L5: layers, models, applications]

Built by `vgg16.VGG` (four convolutions in blocks 3-5). Inputs are expected preprocessed
with `preprocess_input` (caffe: BGR, ImageNet mean subtracted).
"""
from gazelle.applications import imagenet_utils, vgg16


def VGG19(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg19"):
    return vgg16.VGG("vgg19", include_top=include_top, weights=weights,
                     input_tensor=input_tensor, input_shape=input_shape, pooling=pooling,
                     classes=classes, classifier_activation=classifier_activation, name=name)


VGG19.__doc__ = ("Instantiates the VGG19 architecture (Keras's layers and names).\n\n"
                 "    Inputs go through `keras.applications.vgg19.preprocess_input` first.\n"
                 + vgg16._ARGS_DOC)


def preprocess_input(x, data_format=None):
    """Preprocesses images for VGG19: RGB -> BGR and ImageNet's mean subtracted (caffe
    mode), as `keras.applications.vgg19.preprocess_input`."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top=5):
    """`(class_id, class_name, score)` tuples for ImageNet predictions of shape (n, 1000)."""
    return imagenet_utils.decode_predictions(preds, top=top)
