"""ConvNeXt Tiny, Small, Base, Large and XLarge (Liu et al., 2022, "A ConvNet for the
2020s"), with Keras's layer names so that Keras's published ImageNet weights and weights
Keras saved load into them. [L5: layers, models, applications]

A ConvNeXt block is a 7x7 depthwise convolution, layer normalization, two pointwise
(Dense) layers around a GELU, a learned per-channel scale (`LayerScale`) and a residual
connection, optionally dropped per sample while training (`StochasticDepth`). The stem
and the three downsampling steps are small `Sequential` models, as in Keras.

With `include_preprocessing=True` (the default) the model normalizes [0, 255] pixels
itself with ImageNet's mean and standard deviation, so `preprocess_input` does nothing.
Only the `channels_last` data format is supported, as in Keras.
"""
import jax
import jax.numpy as jnp
import numpy as np

from gazelle import config, initializers, layers
from gazelle.applications import _common, imagenet_utils
from gazelle.core import registry
from gazelle.layers.layer import Layer
from gazelle.random import SeedGenerator

ORIGIN = _common.KERAS_APPLICATIONS_ORIGIN + "convnext/"
BASE_WEIGHTS_PATH = ORIGIN

# Keras's sha256 of each published file: (with the classifier, without it).
WEIGHTS_HASHES = {
    "convnext_tiny": (
        "8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
        "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1"),
    "convnext_small": (
        "ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
        "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab"),
    "convnext_base": (
        "52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
        "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45"),
    "convnext_large": (
        "070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
        "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd"),
    "convnext_xlarge": (
        "c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
        "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05"),
}

# Blocks per stage and channels per stage of each variant; all take 224x224 by default.
MODEL_CONFIGS = {
    "tiny": {"depths": [3, 3, 9, 3], "projection_dims": [96, 192, 384, 768],
             "default_size": 224},
    "small": {"depths": [3, 3, 27, 3], "projection_dims": [96, 192, 384, 768],
              "default_size": 224},
    "base": {"depths": [3, 3, 27, 3], "projection_dims": [128, 256, 512, 1024],
             "default_size": 224},
    "large": {"depths": [3, 3, 27, 3], "projection_dims": [192, 384, 768, 1536],
              "default_size": 224},
    "xlarge": {"depths": [3, 3, 27, 3], "projection_dims": [256, 512, 1024, 2048],
               "default_size": 224},
}
_LN_EPSILON = 1e-6
# ImageNet's per-channel mean and standard deviation, on the [0, 255] scale.
_MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255]
_VARIANCE = [(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2]


def _register_as_keras_does(cls):
    """Saved configs name these layers as Keras 3 does (module
    `keras.src.applications.convnext`, registered name = class name), so `.keras` files
    move between Keras and gazelle both ways; gazelle resolves the bare class name."""
    cls._keras_entry_names = ("keras.src.applications.convnext", cls.__name__)
    registry.get_custom_objects()[cls.__name__] = cls
    return cls


@_register_as_keras_does
class StochasticDepth(Layer):
    """Drops the whole residual branch of some samples while training ("drop path").

    With `training=True` each sample's input is zeroed with probability `drop_path_rate`
    and otherwise scaled by `1 / (1 - drop_path_rate)`, so that the expectation is
    unchanged; at inference the layer is the identity.

    Args:
        drop_path_rate: float in [0, 1), the probability of dropping a sample's branch.
        seed: optional int, the seed of the layer's random generator.
    """

    def __init__(self, drop_path_rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        try:
            rate = float(drop_path_rate)
        except (TypeError, ValueError):
            raise TypeError("StochasticDepth: `drop_path_rate` must be a float in [0, 1). "
                            f"Received: drop_path_rate={drop_path_rate!r}") from None
        if not 0.0 <= rate < 1.0:
            raise ValueError("StochasticDepth: `drop_path_rate` must be in [0, 1). "
                             f"Received: drop_path_rate={drop_path_rate!r}")
        self.drop_path_rate = drop_path_rate
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)

    def call(self, x, training=None):
        if not training or not self.drop_path_rate:
            return x
        keep = 1.0 - float(self.drop_path_rate)
        shape = (x.shape[0],) + (1,) * (len(x.shape) - 1)
        kept = jax.random.bernoulli(self.seed_generator.next(), keep, shape)
        return jnp.where(kept, x / keep, jnp.zeros_like(x))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        out = {**super().get_config(), "drop_path_rate": self.drop_path_rate}
        if self.seed is not None:
            out["seed"] = self.seed
        return out


@_register_as_keras_does
class LayerScale(Layer):
    """Multiplies its input by a learned per-channel scale (Touvron et al., 2021).

    Args:
        init_values: float, the scale's initial value (ConvNeXt: 1e-6).
        projection_dim: int, the number of channels (the input's last dimension).
    """

    def __init__(self, init_values, projection_dim, **kwargs):
        super().__init__(**kwargs)
        if isinstance(projection_dim, bool) or not isinstance(projection_dim, (int, np.integer)) \
                or projection_dim <= 0:
            raise ValueError("LayerScale: `projection_dim` must be a positive integer. "
                             f"Received: projection_dim={projection_dim!r}")
        self.init_values = init_values
        self.projection_dim = int(projection_dim)

    def build(self, input_shape):
        last = tuple(input_shape)[-1]
        if last is not None and last != self.projection_dim:
            raise ValueError(f"Layer '{self.name}': the input's last dimension ({last}) must "
                             f"equal projection_dim={self.projection_dim}.")
        self.gamma = self.add_weight(shape=(self.projection_dim,),
                                     initializer=initializers.Constant(self.init_values),
                                     trainable=True, name="gamma")

    def call(self, x):
        return x * self.gamma

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "init_values": self.init_values,
                "projection_dim": self.projection_dim}


def ConvNeXtBlock(projection_dim, drop_path_rate=0.0, layer_scale_init_value=1e-6, name=None):
    """Returns a function applying one ConvNeXt block to a `channels_last` tensor.

    Args:
        projection_dim: the block's channels (its input's and output's).
        drop_path_rate: probability of dropping the residual branch while training
            (`StochasticDepth`); 0 puts a linear `Activation` (`<name>_identity`) there.
        layer_scale_init_value: initial value of `LayerScale`; None leaves it out.
        name: prefix of the block's layer names.
    """
    if name is None:
        from gazelle import backend
        name = f"prestem{backend.get_uid('prestem')}"      # Keras's default prefix

    def apply(inputs):
        x = layers.Conv2D(projection_dim, kernel_size=7, padding="same", groups=projection_dim,
                          name=f"{name}_depthwise_conv")(inputs)
        x = layers.LayerNormalization(epsilon=_LN_EPSILON, name=f"{name}_layernorm")(x)
        x = layers.Dense(4 * projection_dim, name=f"{name}_pointwise_conv_1")(x)
        x = layers.Activation("gelu", name=f"{name}_gelu")(x)
        x = layers.Dense(projection_dim, name=f"{name}_pointwise_conv_2")(x)
        if layer_scale_init_value is not None:
            x = LayerScale(layer_scale_init_value, projection_dim,
                           name=f"{name}_layer_scale")(x)
        if drop_path_rate:
            x = StochasticDepth(drop_path_rate, name=f"{name}_stochastic_depth")(x)
        else:
            x = layers.Activation("linear", name=f"{name}_identity")(x)
        return inputs + x

    return apply


def PreStem(name=None):
    """Returns a function normalizing [0, 255] RGB pixels with ImageNet's mean and std
    (a `Normalization` layer named `<name>_prestem_normalization`)."""
    if name is None:
        from gazelle import backend
        name = f"prestem{backend.get_uid('prestem')}"

    def apply(x):
        return layers.Normalization(mean=_MEAN, variance=_VARIANCE,
                                    name=f"{name}_prestem_normalization")(x)
    return apply


def Head(num_classes=1000, classifier_activation=None, name=None):
    """Returns a function applying the classifier: global average pooling, layer
    normalization and the `<name>_head_dense` Dense layer."""
    if name is None:
        from gazelle import backend
        name = str(backend.get_uid("head"))

    def apply(x):
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=_LN_EPSILON, name=f"{name}_head_layernorm")(x)
        return layers.Dense(num_classes, activation=classifier_activation,
                            name=f"{name}_head_dense")(x)
    return apply


def _check_imagenet_variant(depths, projection_dims, name, weights_name):
    if weights_name not in WEIGHTS_HASHES:
        raise ValueError("ConvNeXt: ImageNet weights are published for "
                         f"{sorted(WEIGHTS_HASHES)}; Received: weights_name={weights_name!r}")
    expected = MODEL_CONFIGS[weights_name.split("convnext_")[-1]]
    if list(depths) != expected["depths"] or \
            list(projection_dims) != expected["projection_dims"]:
        raise ValueError(
            f"Architecture configuration does not match {weights_name} variant. When using "
            "pre-trained weights, the model architecture must match the pre-trained "
            f"configuration exactly. Expected depths: {expected['depths']}, got: "
            f"{list(depths)}. Expected projection_dims: {expected['projection_dims']}, got: "
            f"{list(projection_dims)}.")
    if weights_name not in str(name):
        raise ValueError(
            f'Model name "{name}" does not match weights variant "{weights_name}". When '
            "using imagenet weights, the model name must contain the weights variant (e.g. "
            f'"{weights_name}"); Keras names the weights file after the model.')


def ConvNeXt(depths, projection_dims, drop_path_rate=0.0, layer_scale_init_value=1e-6,
             default_size=224, name="convnext", include_preprocessing=True, include_top=True,
             weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
             classifier_activation="softmax", weights_name=None):
    """Builds a ConvNeXt from its stage depths and widths (the variants call this).

    Args:
        depths: four ints, the number of blocks in each stage.
        projection_dims: four ints, the channels of each stage.
        drop_path_rate: the largest stochastic-depth rate, reached by the last block (rates
            grow linearly from 0 over the blocks); 0 disables stochastic depth.
        layer_scale_init_value: initial value of each block's `LayerScale`; None leaves
            the scales out.
        default_size: the default input height and width.
        name: the model's name, also the prefix of its layer names (and, with ImageNet
            weights, of the weights file's name).
        weights_name: Keras's variant name (`"convnext_tiny"`, ...) for ImageNet weights.
        Other arguments are those of `ConvNeXtTiny`.

    Returns:
        A `keras.Model`.
    """
    from gazelle import models
    if config.image_data_format() == "channels_first":
        raise ValueError("ConvNeXt does not support the `channels_first` image data format. "
                         "Use `keras.config.set_image_data_format('channels_last')`.")
    if len(depths) != 4 or len(projection_dims) != 4:
        raise ValueError("ConvNeXt: `depths` and `projection_dims` must each have 4 entries "
                         f"(one per stage). Received: depths={depths!r}, "
                         f"projection_dims={projection_dims!r}")
    _common.check_weights_args(weights, include_top, classes, name)
    imagenet = isinstance(weights, str) and weights == "imagenet"
    if imagenet:
        _check_imagenet_variant(depths, projection_dims, name, weights_name)
    if include_top:
        _common.check_classifier_activation(classifier_activation, weights)
    shape = _common.input_shape_for(input_shape, default_size=default_size, min_size=32,
                                    data_format="channels_last", require_flatten=include_top,
                                    weights=weights)
    x, model_inputs = _common.inputs_for(input_tensor, shape)

    if include_preprocessing and shape[-1] == 3:
        x = PreStem(name=name)(x)

    from gazelle.models import Sequential
    stem = Sequential([
        layers.Conv2D(projection_dims[0], kernel_size=4, strides=4, name=f"{name}_stem_conv"),
        layers.LayerNormalization(epsilon=_LN_EPSILON, name=f"{name}_stem_layernorm"),
    ], name=f"{name}_stem")
    downsampling = [stem] + [
        Sequential([
            layers.LayerNormalization(epsilon=_LN_EPSILON,
                                      name=f"{name}_downsampling_layernorm_{i}"),
            layers.Conv2D(projection_dims[i + 1], kernel_size=2, strides=2,
                          name=f"{name}_downsampling_conv_{i}"),
        ], name=f"{name}_downsampling_block_{i}")
        for i in range(3)]

    # Stochastic depth: rates grow linearly from 0 to drop_path_rate over all blocks.
    rates = [float(r) for r in np.linspace(0.0, drop_path_rate, sum(depths))]
    done = 0
    for stage in range(4):
        x = downsampling[stage](x)
        for j in range(depths[stage]):
            x = ConvNeXtBlock(projection_dims[stage], drop_path_rate=rates[done + j],
                              layer_scale_init_value=layer_scale_init_value,
                              name=f"{name}_stage_{stage}_block_{j}")(x)
        done += depths[stage]

    if include_top:
        x = Head(num_classes=classes, classifier_activation=classifier_activation,
                 name=name)(x)
    else:
        x = _common.pooled_or_none(x, pooling)
        # Keras normalizes the features without the top too, pooled or not.
        x = layers.LayerNormalization(epsilon=_LN_EPSILON)(x)

    model = models.Functional(model_inputs, x, name=name)

    file_name = file_hash = None
    if imagenet:
        file_name = f"{name}.h5" if include_top else f"{name}_notop.h5"
        file_hash = WEIGHTS_HASHES[weights_name][0 if include_top else 1]
    _common.load_weights(model, weights, file_name, file_hash, ORIGIN)
    return model


def _variant(label, size):
    weights_name = f"convnext_{size}"
    spec = MODEL_CONFIGS[size]

    def build(include_top=True, include_preprocessing=True, weights="imagenet",
              input_tensor=None, input_shape=None, pooling=None, classes=1000,
              classifier_activation="softmax", name=weights_name):
        return ConvNeXt(depths=spec["depths"], projection_dims=spec["projection_dims"],
                        drop_path_rate=0.0, layer_scale_init_value=1e-6,
                        default_size=spec["default_size"], name=name,
                        include_preprocessing=include_preprocessing, include_top=include_top,
                        weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                        pooling=pooling, classes=classes,
                        classifier_activation=classifier_activation, weights_name=weights_name)

    build.__name__ = build.__qualname__ = label
    build.__module__ = __name__
    build.__doc__ = f"""Instantiates the {label} architecture ({sum(spec['depths'])} blocks,
    {spec['projection_dims'][0]}-{spec['projection_dims'][-1]} channels), with Keras's layer names.

    The model takes float or uint8 RGB pixels in [0, 255] and (with
    `include_preprocessing=True`) normalizes them itself.

    Args:
        include_top: whether to end with global average pooling, layer normalization and
            the `{weights_name}_head_dense` classifier. Without it the features still go
            through a final layer normalization (after the optional pooling), as in Keras.
        include_preprocessing: whether the model normalizes its inputs with ImageNet's mean
            and standard deviation (a `Normalization` layer; only for 3-channel inputs).
        weights: `None` (random initialization), `"imagenet"` (Keras's published weights,
            found in `$GAZELLE_HOME/models` or Keras's cache `~/.keras/models`, or
            downloaded) or the path of a weights file.
        input_tensor: optional symbolic tensor (`keras.Input(...)`) to build the model on.
        input_shape: optional `(H, W, 3)` shape (at least 32x32); with the top and ImageNet
            weights it must be `(224, 224, 3)`.
        pooling: without the top: `None` (4D features), `"avg"` or `"max"` (global pooling
            to a 2D tensor).
        classes: number of classes of the classifier (1000 with ImageNet weights).
        classifier_activation: activation of the classifier (`None` gives logits); with
            pretrained weights only `None` or `"softmax"`.
        name: the model's name, also the prefix of its layers' names (with ImageNet weights
            it must contain `"{weights_name}"`).

    Returns:
        A `keras.Model`.

    ```python
    model = keras.applications.{label}(weights=None, input_shape=(64, 64, 3), classes=10)
    ```
    """
    return build


ConvNeXtTiny = _variant("ConvNeXtTiny", "tiny")
ConvNeXtSmall = _variant("ConvNeXtSmall", "small")
ConvNeXtBase = _variant("ConvNeXtBase", "base")
ConvNeXtLarge = _variant("ConvNeXtLarge", "large")
ConvNeXtXLarge = _variant("ConvNeXtXLarge", "xlarge")


def preprocess_input(x, data_format=None):
    """Returns `x` unchanged: ConvNeXt models normalize their inputs themselves
    (`include_preprocessing=True`). Kept for compatibility with older code.

    Args:
        x: a float NumPy array or a tensor.
        data_format: ignored (accepted for compatibility).
    """
    return x


def decode_predictions(preds, top=5):
    """The `top` ImageNet classes of each prediction: lists of `(class_id, name, score)`
    tuples, best first, for predictions of shape `(samples, 1000)`."""
    return imagenet_utils.decode_predictions(preds, top=top)
