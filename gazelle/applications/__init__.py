"""keras.applications: Keras's ImageNet architectures, with Keras's layer names so that
Keras's published weight files load into them. [L5: layers, models, utils]

Each family lives in its own module (`resnet`, `vgg16`, `mobilenet_v2`, ...), which is also
importable as `keras.applications.<module>` with its `preprocess_input` and
`decode_predictions`. Models and modules load on first use.
"""
import importlib

_MODELS = {
    "ResNet50": "resnet",
    "ResNet101": "resnet",
    "ResNet152": "resnet",
    "ResNet50V2": "resnet_v2",
    "ResNet101V2": "resnet_v2",
    "ResNet152V2": "resnet_v2",
    "VGG16": "vgg16",
    "VGG19": "vgg19",
    "MobileNet": "mobilenet",
    "MobileNetV2": "mobilenet_v2",
    "MobileNetV3Small": "mobilenet_v3",
    "MobileNetV3Large": "mobilenet_v3",
    "EfficientNetB0": "efficientnet",
    "EfficientNetB1": "efficientnet",
    "EfficientNetB2": "efficientnet",
    "EfficientNetB3": "efficientnet",
    "EfficientNetB4": "efficientnet",
    "EfficientNetB5": "efficientnet",
    "EfficientNetB6": "efficientnet",
    "EfficientNetB7": "efficientnet",
    "EfficientNetV2B0": "efficientnet_v2",
    "EfficientNetV2B1": "efficientnet_v2",
    "EfficientNetV2B2": "efficientnet_v2",
    "EfficientNetV2B3": "efficientnet_v2",
    "EfficientNetV2S": "efficientnet_v2",
    "EfficientNetV2M": "efficientnet_v2",
    "EfficientNetV2L": "efficientnet_v2",
    "DenseNet121": "densenet",
    "DenseNet169": "densenet",
    "DenseNet201": "densenet",
    "Xception": "xception",
    "InceptionV3": "inception_v3",
    "InceptionResNetV2": "inception_resnet_v2",
    "ConvNeXtTiny": "convnext",
    "ConvNeXtSmall": "convnext",
    "ConvNeXtBase": "convnext",
    "ConvNeXtLarge": "convnext",
    "ConvNeXtXLarge": "convnext",
    "NASNetMobile": "nasnet",
    "NASNetLarge": "nasnet",
}
# Modules Keras also has that hold no model of their own.
_MODULES = sorted(set(_MODELS.values()) | {"imagenet_utils", "resnet50"})


def __getattr__(name):
    if name in _MODELS:
        try:
            module = importlib.import_module(f"gazelle.applications.{_MODELS[name]}")
        except ModuleNotFoundError as e:
            if e.name != f"gazelle.applications.{_MODELS[name]}":
                raise
            # An AttributeError (hasattr() is False), with what to use instead.
            raise AttributeError(
                f"keras.applications.{name} is not available in gazelle yet. Build the "
                "model from layers, or use one of: " + ", ".join(available()) + ".") from None
        value = getattr(module, name)
        globals()[name] = value
        return value
    if name in _MODULES:
        try:
            module = importlib.import_module(f"gazelle.applications.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"gazelle.applications.{name}":
                raise
            raise AttributeError(
                f"keras.applications.{name} is not available in gazelle yet; available "
                "models: " + ", ".join(available()) + ".") from None
        globals()[name] = module
        return module
    raise AttributeError(f"module 'gazelle.applications' has no attribute {name!r}")


def available():
    """The model names whose modules exist."""
    import importlib.util
    return [name for name, module in _MODELS.items()
            if importlib.util.find_spec(f"gazelle.applications.{module}") is not None]


def __dir__():
    return sorted(set(_MODELS) | set(_MODULES))
