"""What `compile()` was given, as Keras 3's `compile_config` (and tf.keras 2's
`training_config`), and back. [side: stdlib; gazelle.losses/metrics/optimizers lazily]
"""
import warnings

from gazelle.saving.serialization import is_serialized_object, resolve_custom


def _serialize_items(value, module):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return [_serialize_items(v, module) for v in value]
    if isinstance(value, dict):
        return {k: _serialize_items(v, module) for k, v in value.items()}
    from gazelle.saving.serialization import serialize_keras_object
    try:
        return module.serialize(value)
    except TypeError:
        return serialize_keras_object(value)


def compile_config(model):
    """Keras 3's `compile_config` of a compiled model, or None (not compiled, or an
    optimizer that cannot be described, such as a raw optax transformation)."""
    from gazelle import losses, metrics, optimizers
    trainer = getattr(model, "_trainer", None)
    if trainer is None:
        return None
    try:
        optimizer = optimizers.serialize(trainer.optimizer)
    except NotImplementedError as e:
        warnings.warn(f"The model is saved without its compile configuration: {e}",
                      stacklevel=3)
        return None
    steps = trainer.steps_per_execution
    return {"optimizer": optimizer,
            "loss": _serialize_items(trainer.loss_spec, losses),
            "loss_weights": trainer.loss_weights,
            "metrics": _serialize_items(trainer.metrics_spec, metrics),
            "weighted_metrics": _serialize_items(
                getattr(trainer, "weighted_metrics_spec", None), metrics),
            "run_eagerly": bool(trainer.run_eagerly),
            "steps_per_execution": 1 if steps == "auto" else steps,
            "jit_compile": not trainer.run_eagerly}


def training_config(model):
    """tf.keras 2's `training_config` (legacy `.h5` files), or None."""
    config = compile_config(model)
    if config is None:
        return None
    optimizer = config.pop("optimizer")
    config["optimizer_config"] = {"class_name": optimizer["class_name"],
                                  "config": optimizer["config"]}
    return config


def _deserialize_items(value, module, custom_objects, kind):
    if value is None or isinstance(value, str):
        return value
    if is_serialized_object(value):
        custom = resolve_custom(value, custom_objects)
        if custom is not None:
            return custom
        inner = value.get("config")
        if kind == "metric" and value["class_name"] == "MeanMetricWrapper" and isinstance(
                inner, dict) and inner.get("name") in ("accuracy", "acc"):
            return inner["name"]        # tf.keras 2 spelled "accuracy" as a wrapper
        if kind == "loss" and isinstance(inner, dict) and inner.get("reduction") == "auto":
            value = {**value, "config": {**inner, "reduction": "sum_over_batch_size"}}
        return module.deserialize(value)
    if isinstance(value, list):
        return [_deserialize_items(v, module, custom_objects, kind) for v in value]
    if isinstance(value, dict):
        return {k: _deserialize_items(v, module, custom_objects, kind) for k, v in value.items()}
    raise ValueError(f"Saved {kind} configuration not understood: {value!r:.200}.")


def _optimizer(config, custom_objects):
    from gazelle import optimizers
    if config is None or isinstance(config, str):
        return config or "rmsprop"
    custom = resolve_custom(config, custom_objects)
    if custom is not None:
        return custom
    inner = dict(config.get("config") or {})
    for key in ("jit_compile", "is_legacy_optimizer"):      # tf.keras 2.11+ extras
        inner.pop(key, None)
    if not inner.get("decay"):
        inner.pop("decay", None)
    return optimizers.deserialize({**config, "config": inner}, custom_objects=custom_objects)


def compile_from_config(model, config, custom_objects=None):
    """Compiles `model` as Keras 3's `compile_config` (or tf.keras 2's training_config) says."""
    from gazelle import losses, metrics
    if not isinstance(config, dict) or not config:
        return
    optimizer = _optimizer(config.get("optimizer", config.get("optimizer_config")),
                           custom_objects)
    metrics_ = _deserialize_items(config.get("metrics"), metrics, custom_objects, "metric")
    if isinstance(metrics_, list) and len(metrics_) == 1 and isinstance(metrics_[0], list):
        metrics_ = metrics_[0]          # tf.keras 2: one list per output
    weighted = _deserialize_items(config.get("weighted_metrics"), metrics, custom_objects,
                                  "metric")
    if isinstance(weighted, list) and len(weighted) == 1 and isinstance(weighted[0], list):
        weighted = weighted[0]          # tf.keras 2: one list per output
    steps = config.get("steps_per_execution", 1)
    _compile(model, optimizer, config, custom_objects, metrics_, weighted or None, steps)


def _compile(model, optimizer, config, custom_objects, metrics_, weighted, steps):
    from gazelle import losses
    model.compile(optimizer=optimizer,
                  loss=_deserialize_items(config.get("loss"), losses, custom_objects, "loss"),
                  metrics=metrics_, loss_weights=config.get("loss_weights"),
                  weighted_metrics=weighted,
                  run_eagerly=bool(config.get("run_eagerly", False)),
                  steps_per_execution="auto" if steps in (None, 1, "auto") else int(steps))
