"""Utilities: seeds, label encoding, progress bar, file download. [leaf]

Names load on first use so `import gazelle` stays light.
"""
import importlib

_NAMES = {
    "set_random_seed": "gazelle.random",
    "to_categorical": "gazelle.utils.numerical",
    "normalize": "gazelle.utils.numerical",
    "get_file": "gazelle.utils.file_utils",
    "Progbar": "gazelle.utils.progbar",
    "print_summary": "gazelle.utils.summary",
    "plot_history": "gazelle.utils.plotting",
    "plot_images": "gazelle.utils.plotting",
    "plot_confusion_matrix": "gazelle.utils.plotting",
    "plot_predictions_vs_true": "gazelle.utils.plotting",
    "confusion_matrix": "gazelle.utils.plotting",
    "PyDataset": "gazelle.utils.dataset",
    "Sequence": "gazelle.utils.dataset",
    "pad_sequences": "gazelle.utils.sequence_utils",
    "timeseries_dataset_from_array": "gazelle.utils.timeseries_dataset",
    "text_dataset_from_directory": "gazelle.utils.text_dataset",
    "array_to_img": "gazelle.utils.image_utils",
    "image_dataset_from_directory": "gazelle.utils.image_dataset",
    "audio_dataset_from_directory": "gazelle.utils.audio_dataset",
    "img_to_array": "gazelle.utils.image_utils",
    "load_img": "gazelle.utils.image_utils",
    "save_img": "gazelle.utils.image_utils",
    "Config": "gazelle.utils.data_utils",
    "pack_x_y_sample_weight": "gazelle.utils.data_utils",
    "unpack_x_y_sample_weight": "gazelle.utils.data_utils",
    "disable_interactive_logging": "gazelle.config",
    "enable_interactive_logging": "gazelle.config",
    "is_interactive_logging_enabled": "gazelle.config",
    "clear_session": "gazelle.backend",
    "standardize_dtype": "gazelle.backend",
    "is_keras_tensor": "gazelle.backend",
    "get_source_inputs": "gazelle.core.symbolic",
    "CustomObjectScope": "gazelle.saving",
    "custom_object_scope": "gazelle.saving",
    "get_custom_objects": "gazelle.saving",
    "get_registered_name": "gazelle.saving",
    "get_registered_object": "gazelle.saving",
    "register_keras_serializable": "gazelle.saving",
    "serialize_keras_object": "gazelle.saving",
    "deserialize_keras_object": "gazelle.saving",
    "plot_model": "gazelle.utils.model_plot",
    "split_dataset": "gazelle.utils.dataset_split",
}

__all__ = sorted(_NAMES)


def __getattr__(name):
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gazelle.utils' has no attribute {name!r}")


def __dir__():
    return __all__
