"""`keras.applications.resnet50`: Keras's module for ResNet50 alone (the same model and
preprocessing as `keras.applications.resnet`). [L5: applications]"""
from gazelle.applications.resnet import ResNet50, decode_predictions, preprocess_input

__all__ = ["ResNet50", "decode_predictions", "preprocess_input"]
