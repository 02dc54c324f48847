"""Optimizers and learning-rate schedules (`keras.optimizers`). [L1: jax, optax,
gazelle.core, gazelle.config]

`get("adam")` returns `Adam()` with Keras's defaults; `get` also takes a config dict, an
optimizer instance, or a raw optax `GradientTransformation` (wrapped in `OptaxOptimizer`).
"""
import optax

from gazelle.optimizers import schedules
from gazelle.optimizers.adadelta import Adadelta
from gazelle.optimizers.adafactor import Adafactor
from gazelle.optimizers.adagrad import Adagrad
from gazelle.optimizers.adam import Adam
from gazelle.optimizers.adamax import Adamax
from gazelle.optimizers.adamw import AdamW
from gazelle.optimizers.ftrl import Ftrl
from gazelle.optimizers.lamb import Lamb
from gazelle.optimizers.lion import Lion
from gazelle.optimizers.loss_scale_optimizer import LossScaleOptimizer
from gazelle.optimizers.muon import Muon
from gazelle.optimizers.nadam import Nadam
from gazelle.optimizers.optimizer import OptaxOptimizer, Optimizer
from gazelle.optimizers.rmsprop import RMSprop
from gazelle.optimizers.schedule_free_adamw import ScheduleFreeAdamW
from gazelle.optimizers.sgd import SGD

__all__ = ["Optimizer", "OptaxOptimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad",
           "Adamax", "Nadam", "Adadelta", "Adafactor", "Ftrl", "Lamb", "Lion", "Muon",
           "ScheduleFreeAdamW", "LossScaleOptimizer", "schedules",
           "get", "serialize", "deserialize"]

ALL_OBJECTS_DICT = {cls.__name__.lower(): cls
                    for cls in (SGD, Adam, AdamW, RMSprop, Adagrad, Adamax, Nadam, Adadelta,
                                Adafactor, Ftrl, Lamb, Lion, Muon, ScheduleFreeAdamW)}


def serialize(optimizer):
    """Returns the optimizer's configuration in Keras 3's serialized form.

    Args:
        optimizer: An `Optimizer` instance to serialize.
    """
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """Returns an optimizer from its serialized form (class names are case-insensitive).

    Args:
        config: Optimizer configuration dictionary (`{"class_name": ..., "config": ...}`).
        custom_objects: Optional dictionary mapping names to custom optimizer classes.
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise TypeError("optimizers.deserialize: expected a dict with 'class_name' and "
                        f"'config', received {config!r}.")
    known = {**ALL_OBJECTS_DICT, "lossscaleoptimizer": LossScaleOptimizer,
             **{k.lower(): v for k, v in (custom_objects or {}).items()}}
    cls = known.get(str(config["class_name"]).lower())
    if cls is None:
        raise ValueError(f"Unknown optimizer: {config['class_name']!r}. Valid names: "
                         f"{sorted(known)}.")
    return cls.from_config(config.get("config", {}), custom_objects=custom_objects)


def get(identifier):
    """Retrieves an optimizer instance.

    Args:
        identifier: Optimizer identifier, one of: a string name of an optimizer
            (`"sgd"`, `"adam"`, `"rmsprop"`, `"adagrad"`, `"adamax"`, `"nadam"`, `"adamw"`,
            `"adadelta"`, `"adafactor"`, `"ftrl"`, `"lamb"`, `"lion"`, `"muon"`,
            `"schedulefreeadamw"`;
            case-insensitive; Keras's default arguments), a configuration dictionary, an
            optimizer instance (returned unchanged), or an optax `GradientTransformation`.

    ```python
    opt = keras.optimizers.get("adam")
    ```
    """
    if identifier is None or isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = ALL_OBJECTS_DICT.get(identifier.lower())
        if cls is None:
            raise ValueError(f"Unknown optimizer identifier: {identifier!r}. Valid names: "
                             f"{sorted(ALL_OBJECTS_DICT)}.")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, optax.GradientTransformation):
        return OptaxOptimizer(identifier)
    raise TypeError("Could not interpret optimizer identifier: expected a string, a config dict, "
                    f"an Optimizer or an optax GradientTransformation, received {identifier!r}.")
