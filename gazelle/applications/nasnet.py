"""NASNet-A Mobile and Large (Zoph et al., 2018, "Learning Transferable Architectures for
Scalable Image Recognition"), with Keras's layer names so that Keras's published ImageNet
weights and weights Keras saved load into them. [L5: layers, models, applications]

The network stacks the two cells found by architecture search: normal cells (which keep
the spatial size) and reduction cells (which halve it), each combining the previous two
cells' outputs through separable convolutions and poolings. Inputs are expected in [-1, 1]
(`preprocess_input`, Keras's "tf" mode). Only the `channels_last` data format is
supported, as in Keras.
"""
import os
import urllib.error

from gazelle import config, layers
from gazelle.applications import _common, imagenet_utils
from gazelle.applications.mobilenet_v2 import _correct_pad

ORIGIN = _common.KERAS_APPLICATIONS_ORIGIN + "nasnet/"
BASE_WEIGHTS_PATH = ORIGIN
NASNET_MOBILE_WEIGHT_PATH = ORIGIN + "NASNet-mobile.h5"
NASNET_MOBILE_WEIGHT_PATH_NO_TOP = ORIGIN + "NASNet-mobile-no-top.h5"
NASNET_LARGE_WEIGHT_PATH = ORIGIN + "NASNet-large.h5"
NASNET_LARGE_WEIGHT_PATH_NO_TOP = ORIGIN + "NASNet-large-no-top.h5"

# (default size, include_top) -> (Keras's cached file name, its md5, its URL). Keras caches
# each file under another name than the one it downloads.
WEIGHTS_FILES = {
    (224, True): ("nasnet_mobile.h5", "020fb642bf7360b370c678b08e0adf61",
                  NASNET_MOBILE_WEIGHT_PATH),
    (224, False): ("nasnet_mobile_no_top.h5", "1ed92395b5b598bdda52abe5c0dbfd63",
                   NASNET_MOBILE_WEIGHT_PATH_NO_TOP),
    (331, True): ("nasnet_large.h5", "11577c9a518f0070763c2b964a382f17",
                  NASNET_LARGE_WEIGHT_PATH),
    (331, False): ("nasnet_large_no_top.h5", "d81d89dc07e6e56530c4e77faddd61b5",
                   NASNET_LARGE_WEIGHT_PATH_NO_TOP),
}
_BN = dict(axis=-1, momentum=0.9997, epsilon=1e-3)


def weights_file(file_name, file_hash, url):
    """The path of a verified copy of Keras's NASNet weights: `file_name` in
    `$GAZELLE_HOME/models/` or Keras's cache `$KERAS_HOME/models/`, else downloaded from
    `url` (whose last part differs from `file_name`); offline, a FileNotFoundError says
    which file to copy where."""
    from gazelle.utils import file_utils
    candidates = _common._cache_candidates(file_name)
    rejected = []
    for candidate in candidates:
        if os.path.isfile(candidate):
            if file_utils.validate_file(candidate, file_hash):
                return candidate
            rejected.append(candidate)
    try:
        print(f"Downloading data from {url}")
        return file_utils.download(url, candidates[0], file_hash, progress=True)
    except (OSError, ValueError, urllib.error.URLError) as e:
        failure = f"{type(e).__name__}: {e}"
    lines = [f"Could not find Keras's ImageNet weights file {file_name} (hash {file_hash}) "
             f"and could not download it from {url} ({failure}).", "Looked in:"]
    lines += [f"  {c}" for c in candidates]
    lines += [f"Rejected (wrong hash): {r}" for r in rejected]
    lines.append(f"Download {url} elsewhere and save it as "
                 f"{os.path.join(os.path.dirname(candidates[1]), file_name)} (Keras's cache) "
                 f"or {candidates[0]}, or pass weights=<path to the file>, or weights=None "
                 "for random initialization.")
    raise FileNotFoundError("\n".join(lines))


def _bn(x, name):
    return layers.BatchNormalization(name=name, **_BN)(x)


def _conv1x1(x, filters, name, strides=1):
    return layers.Conv2D(filters, (1, 1), strides=strides, padding="same", use_bias=False,
                         kernel_initializer="he_normal", name=name)(x)


def _separable_conv_block(ip, filters, kernel_size=(3, 3), strides=(1, 1), block_id=None):
    """Two [ReLU -> separable convolution -> batch norm] in a row; the first one strided
    (zero padding first, so that it lines up with "same" padding)."""
    x = layers.Activation("relu")(ip)
    if tuple(strides) == (2, 2):
        x = layers.ZeroPadding2D(padding=_correct_pad(x, kernel_size),
                                 name=f"separable_conv_1_pad_{block_id}")(x)
        padding = "valid"
    else:
        padding = "same"
    x = layers.SeparableConv2D(filters, kernel_size, strides=strides, padding=padding,
                               use_bias=False, name=f"separable_conv_1_{block_id}")(x)
    x = _bn(x, f"separable_conv_1_bn_{block_id}")
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(filters, kernel_size, padding="same", use_bias=False,
                               name=f"separable_conv_2_{block_id}")(x)
    return _bn(x, f"separable_conv_2_bn_{block_id}")


def _adjust_block(p, ip, filters, block_id=None):
    """The previous cell's output `p` made to match `ip`: halved spatially (two offset
    1x1 paths, concatenated) when its size differs, projected to `filters` channels when
    only its width does; the first cell uses `ip` itself."""
    if p is None:
        return ip
    if p.shape[-2] != ip.shape[-2]:
        p = layers.Activation("relu", name=f"adjust_relu_1_{block_id}")(p)
        p1 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid",
                                     name=f"adjust_avg_pool_1_{block_id}")(p)
        p1 = _conv1x1(p1, filters // 2, f"adjust_conv_1_{block_id}")
        # The second path looks at the pixels one step down and right of the first's.
        p2 = layers.ZeroPadding2D(padding=((0, 1), (0, 1)))(p)
        p2 = layers.Cropping2D(cropping=((1, 0), (1, 0)))(p2)
        p2 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid",
                                     name=f"adjust_avg_pool_2_{block_id}")(p2)
        p2 = _conv1x1(p2, filters // 2, f"adjust_conv_2_{block_id}")
        p = layers.concatenate([p1, p2], axis=-1)
        return _bn(p, f"adjust_bn_{block_id}")
    if p.shape[-1] != filters:
        p = layers.Activation("relu")(p)
        p = _conv1x1(p, filters, f"adjust_conv_projection_{block_id}")
        return _bn(p, f"adjust_bn_{block_id}")
    return p


def _squeeze(ip, filters, kind, block_id):
    """ReLU -> 1x1 convolution -> batch norm: the cell's input brought to `filters`."""
    h = layers.Activation("relu")(ip)
    h = _conv1x1(h, filters, f"{kind}_conv_1_{block_id}")
    return _bn(h, f"{kind}_bn_1_{block_id}")


def _avg3(x, strides, padding, name):
    return layers.AveragePooling2D((3, 3), strides=strides, padding=padding, name=name)(x)


def _normal_a_cell(ip, p, filters, block_id=None):
    """NASNet-A's normal cell; returns `(output, ip)` (the next cell's two inputs)."""
    p = _adjust_block(p, ip, filters, block_id)
    h = _squeeze(ip, filters, "normal", block_id)
    b = block_id

    x1 = layers.add([_separable_conv_block(h, filters, (5, 5), block_id=f"normal_left1_{b}"),
                     _separable_conv_block(p, filters, block_id=f"normal_right1_{b}")],
                    name=f"normal_add_1_{b}")
    x2 = layers.add([_separable_conv_block(p, filters, (5, 5), block_id=f"normal_left2_{b}"),
                     _separable_conv_block(p, filters, (3, 3), block_id=f"normal_right2_{b}")],
                    name=f"normal_add_2_{b}")
    x3 = layers.add([_avg3(h, (1, 1), "same", f"normal_left3_{b}"), p],
                    name=f"normal_add_3_{b}")
    x4 = layers.add([_avg3(p, (1, 1), "same", f"normal_left4_{b}"),
                     _avg3(p, (1, 1), "same", f"normal_right4_{b}")],
                    name=f"normal_add_4_{b}")
    x5 = layers.add([_separable_conv_block(h, filters, block_id=f"normal_left5_{b}"), h],
                    name=f"normal_add_5_{b}")
    x = layers.concatenate([p, x1, x2, x3, x4, x5], axis=-1, name=f"normal_concat_{b}")
    return x, ip


def _reduction_a_cell(ip, p, filters, block_id=None):
    """NASNet-A's reduction cell (halves height and width); returns `(output, ip)`."""
    p = _adjust_block(p, ip, filters, block_id)
    h = _squeeze(ip, filters, "reduction", block_id)
    b = block_id
    h3 = layers.ZeroPadding2D(padding=_correct_pad(h, 3), name=f"reduction_pad_1_{b}")(h)

    x1 = layers.add([
        _separable_conv_block(h, filters, (5, 5), strides=(2, 2),
                              block_id=f"reduction_left1_{b}"),
        _separable_conv_block(p, filters, (7, 7), strides=(2, 2),
                              block_id=f"reduction_right1_{b}")], name=f"reduction_add_1_{b}")
    x2 = layers.add([
        layers.MaxPooling2D((3, 3), strides=(2, 2), padding="valid",
                            name=f"reduction_left2_{b}")(h3),
        _separable_conv_block(p, filters, (7, 7), strides=(2, 2),
                              block_id=f"reduction_right2_{b}")], name=f"reduction_add_2_{b}")
    x3 = layers.add([
        _avg3(h3, (2, 2), "valid", f"reduction_left3_{b}"),
        _separable_conv_block(p, filters, (5, 5), strides=(2, 2),
                              block_id=f"reduction_right3_{b}")], name=f"reduction_add3_{b}")
    x4 = layers.add([x2, _avg3(x1, (1, 1), "same", f"reduction_left4_{b}")])
    # Keras reuses the "reduction_left4" prefix for this separable block.
    x5 = layers.add([
        _separable_conv_block(x1, filters, (3, 3), block_id=f"reduction_left4_{b}"),
        layers.MaxPooling2D((3, 3), strides=(2, 2), padding="valid",
                            name=f"reduction_right5_{b}")(h3)], name=f"reduction_add4_{b}")
    x = layers.concatenate([x2, x3, x4, x5], axis=-1, name=f"reduction_concat_{b}")
    return x, ip


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def NASNet(input_shape=None, penultimate_filters=4032, num_blocks=6, stem_block_filters=96,
           skip_reduction=True, filter_multiplier=2, include_top=True, weights="imagenet",
           input_tensor=None, pooling=None, classes=1000, default_size=None,
           classifier_activation="softmax", name="NASNet"):
    """Builds a NASNet-A (`NASNetMobile` and `NASNetLarge` call this).

    Args:
        input_shape: optional `(H, W, 3)` shape (at least 32x32); the default is
            `(default_size, default_size, 3)`.
        penultimate_filters: channels of the last cells ("P" in "NASNet (N @ P)"); a
            multiple of `24 * filter_multiplier ** 2`.
        num_blocks: normal cells between reductions ("N").
        stem_block_filters: filters of the first (3x3, stride 2) convolution.
        skip_reduction: which second input the first normal cell after each reduction
            gets: with True (NASNetLarge) the one the reduction cell itself got, skipping
            over it; with False (NASNetMobile) the reduction cell's first input.
        filter_multiplier: how much wider each stage is than the one before.
        include_top: whether to end with global average pooling and the `predictions`
            Dense layer.
        weights: `None`, `"imagenet"` (only for the Mobile (224) and Large (331)
            configurations) or the path of a weights file.
        input_tensor: optional symbolic tensor to build the model on.
        pooling: without the top: `None` (4D features), `"avg"` or `"max"`.
        classes: number of classes (1000 with ImageNet weights and the top).
        default_size: default input height and width; None means 331.
        classifier_activation: activation of `predictions` (`None` or `"softmax"` with
            pretrained weights).
        name: the model's name.

    Returns:
        A `keras.Model`.
    """
    from gazelle import models
    if config.image_data_format() == "channels_first":
        raise ValueError("NASNet does not support the `channels_first` image data format. "
                         "Use `keras.config.set_image_data_format('channels_last')`.")
    _common.check_weights_args(weights, include_top, classes, name)
    imagenet = isinstance(weights, str) and weights == "imagenet"
    if isinstance(input_shape, tuple) and None in input_shape and imagenet:
        raise ValueError("When specifying the input shape of a NASNet and loading `ImageNet` "
                         "weights, the input_shape argument must be static (no None "
                         f"entries). Got: `input_shape={input_shape}`.")
    for arg, value in (("penultimate_filters", penultimate_filters),
                       ("num_blocks", num_blocks), ("stem_block_filters", stem_block_filters),
                       ("filter_multiplier", filter_multiplier)):
        if not _is_int(value) or value <= 0:
            raise ValueError(f"NASNet: `{arg}` must be a positive integer. Received: "
                             f"{arg}={value!r}")
    if penultimate_filters % (24 * filter_multiplier ** 2) != 0:
        raise ValueError("For NASNet-A models, the `penultimate_filters` must be a multiple of "
                         "24 * (`filter_multiplier` ** 2). Current value: "
                         f"{penultimate_filters}")
    if default_size is None:
        default_size = 331
    if imagenet and (default_size, include_top) not in WEIGHTS_FILES:
        raise ValueError("ImageNet weights can only be loaded with NASNetLarge or NASNetMobile "
                         f"(default_size 331 or 224). Received: default_size={default_size}")
    if include_top:
        _common.check_classifier_activation(classifier_activation, weights)
    shape = _common.input_shape_for(input_shape, default_size=default_size, min_size=32,
                                    data_format="channels_last", require_flatten=include_top,
                                    weights=weights)
    img_input, model_inputs = _common.inputs_for(input_tensor, shape)

    filters = penultimate_filters // 24
    x = layers.Conv2D(stem_block_filters, (3, 3), strides=(2, 2), padding="valid",
                      use_bias=False, kernel_initializer="he_normal",
                      name="stem_conv1")(img_input)
    x = _bn(x, "stem_bn1")

    p = None
    x, p = _reduction_a_cell(x, p, filters // filter_multiplier ** 2, block_id="stem_1")
    x, p = _reduction_a_cell(x, p, filters // filter_multiplier, block_id="stem_2")
    for stage in range(3):
        width = filters * filter_multiplier ** stage
        if stage:
            x, reduced_input = _reduction_a_cell(x, p, width,
                                                 block_id=f"reduce_{stage * num_blocks}")
            # Mobile's next cell takes the reduction's input; Large's keeps its own p.
            p = p if skip_reduction else reduced_input
        for i in range(num_blocks):
            block_id = i if stage == 0 else stage * num_blocks + i + 1
            x, p = _normal_a_cell(x, p, width, block_id=f"{block_id}")

    x = layers.Activation("relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D()(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pooled_or_none(x, pooling)

    model = models.Functional(model_inputs, x, name=name)
    if imagenet:
        file_name, file_hash, url = WEIGHTS_FILES[(default_size, include_top)]
        model.load_weights(weights_file(file_name, file_hash, url))
    elif weights is not None:
        model.load_weights(os.fspath(weights))
    return model


_ARGS_DOC = """
    Inputs go through `keras.applications.nasnet.preprocess_input` first (scaling to
    [-1, 1]).

    Args:
        input_shape: optional `(H, W, 3)` shape (at least 32x32); with the top and ImageNet
            weights it must be `({size}, {size}, 3)`.{notop}
        include_top: whether to end with global average pooling and the `predictions`
            Dense layer.
        weights: `None` (random initialization), `"imagenet"` (Keras's published weights,
            found in `$GAZELLE_HOME/models` or Keras's cache `~/.keras/models`, or
            downloaded) or the path of a weights file.
        input_tensor: optional symbolic tensor (`keras.Input(...)`) to build the model on.
        pooling: without the top: `None` (4D features), `"avg"` or `"max"` (global pooling
            to a 2D tensor).
        classes: number of classes of the classifier (1000 with ImageNet weights).
        classifier_activation: activation of the classifier (`None` gives logits); with
            pretrained weights only `None` or `"softmax"`.
        name: the model's name.

    Returns:
        A `keras.Model`.
"""


def NASNetMobile(input_shape=None, include_top=True, weights="imagenet", input_tensor=None,
                 pooling=None, classes=1000, classifier_activation="softmax",
                 name="nasnet_mobile"):
    if not include_top and input_shape is None:
        input_shape = (224, 224, 3)
    return NASNet(input_shape, penultimate_filters=1056, num_blocks=4, stem_block_filters=32,
                  skip_reduction=False, filter_multiplier=2, include_top=include_top,
                  weights=weights, input_tensor=input_tensor, pooling=pooling, classes=classes,
                  default_size=224, classifier_activation=classifier_activation, name=name)


def NASNetLarge(input_shape=None, include_top=True, weights="imagenet", input_tensor=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="nasnet_large"):
    return NASNet(input_shape, penultimate_filters=4032, num_blocks=6, stem_block_filters=96,
                  skip_reduction=True, filter_multiplier=2, include_top=include_top,
                  weights=weights, input_tensor=input_tensor, pooling=pooling, classes=classes,
                  default_size=331, classifier_activation=classifier_activation, name=name)


NASNetMobile.__doc__ = ("Instantiates NASNet-A Mobile (4 @ 1056, 224x224 inputs), with "
                        "Keras's layer names.\n" + _ARGS_DOC.format(
                            size=224, notop=" Without the top it defaults to (224, 224, 3)."))
NASNetLarge.__doc__ = ("Instantiates NASNet-A Large (6 @ 4032, 331x331 inputs), with Keras's "
                       "layer names.\n" + _ARGS_DOC.format(size=331, notop=""))


def preprocess_input(x, data_format=None):
    """Scales [0, 255] pixels to [-1, 1] (Keras's "tf" mode), as
    `keras.applications.nasnet.preprocess_input`. A float NumPy array is overwritten.

    Args:
        x: a NumPy array or a tensor, 3D or 4D, with 3 color channels.
        data_format: `"channels_last"` or `"channels_first"`; None means
            `keras.config.image_data_format()`.
    """
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    """The `top` ImageNet classes of each prediction: lists of `(class_id, name, score)`
    tuples, best first, for predictions of shape `(samples, 1000)`."""
    return imagenet_utils.decode_predictions(preds, top=top)
