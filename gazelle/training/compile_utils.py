"""compile() arguments -> loss, metric and optimizer objects; log names. [L4]"""
from gazelle import losses as losses_mod
from gazelle import metrics as metrics_mod
from gazelle import optimizers as optimizers_mod

_SPARSE = {"sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"}
_CATEGORICAL = {"categorical_crossentropy", "CategoricalCrossentropy"}
_BINARY = {"binary_crossentropy", "BinaryCrossentropy"}


def loss_name(loss):
    """A loss's name for matching: the string, the function name or the class name."""
    if isinstance(loss, str):
        return loss
    return getattr(loss, "__name__", None) or type(loss).__name__


def get_loss(loss):
    """Turns compile()'s `loss` into a callable `(y_true, y_pred, sample_weight) -> scalar`."""
    if loss is None:
        raise ValueError(
            "compile() needs a loss to train the model, e.g. "
            "loss='sparse_categorical_crossentropy'.")
    obj = losses_mod.get(loss)
    if isinstance(obj, losses_mod.Loss):
        return obj
    name = loss if isinstance(loss, str) else getattr(obj, "__name__", "loss")
    return losses_mod.LossFunctionWrapper(obj, name=name)


def resolve_accuracy(name, loss, y_true_shape, y_pred_shape):
    """'accuracy'/'acc' -> the accuracy metric that fits the loss and shapes (as Keras)."""
    lname = loss_name(loss)
    if lname in _BINARY or (y_pred_shape and y_pred_shape[-1] == 1):
        return metrics_mod.BinaryAccuracy(name=name)
    if lname in _SPARSE:
        return metrics_mod.SparseCategoricalAccuracy(name=name)
    if lname in _CATEGORICAL:
        return metrics_mod.CategoricalAccuracy(name=name)
    if y_true_shape is not None and len(y_true_shape) == len(y_pred_shape) and \
            y_true_shape[-1] == y_pred_shape[-1]:
        return metrics_mod.CategoricalAccuracy(name=name)
    return metrics_mod.SparseCategoricalAccuracy(name=name)


def get_metrics(metrics, loss, y_true_shape, y_pred_shape):
    """compile()'s `metrics` list -> Metric objects named as the user spelled them."""
    if metrics is None:
        return []
    if isinstance(metrics, dict):
        raise NotImplementedError("Per-output metrics dicts need a multi-output model.")
    if not isinstance(metrics, (list, tuple)):
        metrics = [metrics]
    out = []
    for m in metrics:
        if isinstance(m, str) and m in ("accuracy", "acc"):
            out.append(resolve_accuracy(m, loss, y_true_shape, y_pred_shape))
            continue
        obj = metrics_mod.get(m)
        if isinstance(obj, metrics_mod.Metric):
            out.append(obj)
        else:
            name = m if isinstance(m, str) else getattr(obj, "__name__", "metric")
            out.append(metrics_mod.MeanMetricWrapper(obj, name=name))
    names = [m.name for m in out]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ValueError(f"compile(): metric names must be unique; repeated: {sorted(dupes)}.")
    return out


def get_optimizer(optimizer):
    return optimizers_mod.get(optimizer)
