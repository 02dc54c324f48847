"""Metrics: the public surface, plus `get`, `serialize` and `deserialize`.
[L1: gazelle.losses, gazelle.metrics.*]

`get("mse")` returns the function `mean_squared_error` (tf.keras 2 behaviour; Keras 3
returns a `MeanSquaredError` instance), and class names return instances. `"accuracy"`
maps to the plain `accuracy` function here: choosing binary/categorical/sparse accuracy
from the loss is the compile code's job. Names are resolved by table lookup only.
"""
import inspect

from gazelle import losses as _losses
from gazelle.core import naming, tables
from gazelle.losses import binary_crossentropy as binary_crossentropy
from gazelle.losses import binary_focal_crossentropy as binary_focal_crossentropy
from gazelle.losses import categorical_crossentropy as categorical_crossentropy
from gazelle.losses import categorical_focal_crossentropy as categorical_focal_crossentropy
from gazelle.losses import categorical_hinge as categorical_hinge
from gazelle.losses import hinge as hinge
from gazelle.losses import huber as huber
from gazelle.losses import kl_divergence as kl_divergence
from gazelle.losses import log_cosh as log_cosh
from gazelle.losses import mean_absolute_error as mean_absolute_error
from gazelle.losses import mean_absolute_percentage_error as mean_absolute_percentage_error
from gazelle.losses import mean_squared_error as mean_squared_error
from gazelle.losses import mean_squared_logarithmic_error as mean_squared_logarithmic_error
from gazelle.losses import poisson as poisson
from gazelle.losses import sparse_categorical_crossentropy as sparse_categorical_crossentropy
from gazelle.losses import squared_hinge as squared_hinge
from gazelle.metrics.accuracy import Accuracy as Accuracy
from gazelle.metrics.accuracy import BinaryAccuracy as BinaryAccuracy
from gazelle.metrics.accuracy import CategoricalAccuracy as CategoricalAccuracy
from gazelle.metrics.accuracy import SparseCategoricalAccuracy as SparseCategoricalAccuracy
from gazelle.metrics.accuracy import SparseTopKCategoricalAccuracy as SparseTopKCategoricalAccuracy
from gazelle.metrics.accuracy import TopKCategoricalAccuracy as TopKCategoricalAccuracy
from gazelle.metrics.accuracy import accuracy as accuracy
from gazelle.metrics.accuracy import binary_accuracy as binary_accuracy
from gazelle.metrics.accuracy import categorical_accuracy as categorical_accuracy
from gazelle.metrics.accuracy import sparse_categorical_accuracy as sparse_categorical_accuracy
from gazelle.metrics.accuracy import sparse_top_k_categorical_accuracy as sparse_top_k_categorical_accuracy
from gazelle.metrics.accuracy import top_k_categorical_accuracy as top_k_categorical_accuracy
from gazelle.metrics.confusion_metrics import AUC as AUC
from gazelle.metrics.confusion_metrics import FalseNegatives as FalseNegatives
from gazelle.metrics.confusion_metrics import FalsePositives as FalsePositives
from gazelle.metrics.confusion_metrics import Precision as Precision
from gazelle.metrics.confusion_metrics import PrecisionAtRecall as PrecisionAtRecall
from gazelle.metrics.confusion_metrics import Recall as Recall
from gazelle.metrics.confusion_metrics import RecallAtPrecision as RecallAtPrecision
from gazelle.metrics.confusion_metrics import SensitivityAtSpecificity as SensitivityAtSpecificity
from gazelle.metrics.confusion_metrics import SpecificityAtSensitivity as SpecificityAtSensitivity
from gazelle.metrics.confusion_metrics import TrueNegatives as TrueNegatives
from gazelle.metrics.confusion_metrics import TruePositives as TruePositives
from gazelle.metrics.correlation import ConcordanceCorrelation as ConcordanceCorrelation
from gazelle.metrics.correlation import PearsonCorrelation as PearsonCorrelation
from gazelle.metrics.correlation import R2Score as R2Score
from gazelle.metrics.correlation import concordance_correlation as concordance_correlation
from gazelle.metrics.correlation import pearson_correlation as pearson_correlation
from gazelle.metrics.f_score import F1Score as F1Score
from gazelle.metrics.f_score import FBetaScore as FBetaScore
from gazelle.metrics.iou import BinaryIoU as BinaryIoU
from gazelle.metrics.iou import IoU as IoU
from gazelle.metrics.iou import MeanIoU as MeanIoU
from gazelle.metrics.iou import OneHotIoU as OneHotIoU
from gazelle.metrics.iou import OneHotMeanIoU as OneHotMeanIoU
from gazelle.metrics.metric import Mean as Mean
from gazelle.metrics.metric import MeanMetricWrapper as MeanMetricWrapper
from gazelle.metrics.metric import Metric as Metric
from gazelle.metrics.metric import Sum as Sum
from gazelle.metrics.probabilistic import BinaryCrossentropy as BinaryCrossentropy
from gazelle.metrics.probabilistic import CategoricalCrossentropy as CategoricalCrossentropy
from gazelle.metrics.probabilistic import CategoricalHinge as CategoricalHinge
from gazelle.metrics.probabilistic import Hinge as Hinge
from gazelle.metrics.probabilistic import KLDivergence as KLDivergence
from gazelle.metrics.probabilistic import Poisson as Poisson
from gazelle.metrics.probabilistic import SparseCategoricalCrossentropy as SparseCategoricalCrossentropy
from gazelle.metrics.probabilistic import SquaredHinge as SquaredHinge
from gazelle.metrics.regression import CosineSimilarity as CosineSimilarity
from gazelle.metrics.regression import LogCoshError as LogCoshError
from gazelle.metrics.regression import MeanAbsoluteError as MeanAbsoluteError
from gazelle.metrics.regression import MeanAbsolutePercentageError as MeanAbsolutePercentageError
from gazelle.metrics.regression import MeanSquaredError as MeanSquaredError
from gazelle.metrics.regression import MeanSquaredLogarithmicError as MeanSquaredLogarithmicError
from gazelle.metrics.regression import RootMeanSquaredError as RootMeanSquaredError

# tf.keras 2 short names (`keras.metrics.mse`, ...).
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence
logcosh = log_cosh

_FUNCTIONS = {fn.__name__: fn for fn in (
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    top_k_categorical_accuracy, sparse_top_k_categorical_accuracy,
    binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy,
    hinge, squared_hinge, categorical_hinge, kl_divergence, poisson, huber, log_cosh,
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, pearson_correlation, concordance_correlation,
    binary_focal_crossentropy, categorical_focal_crossentropy)}
_FUNCTIONS.update({
    "mse": mse, "MSE": mse, "mae": mae, "MAE": mae, "mape": mape, "MAPE": mape,
    "msle": msle, "MSLE": msle, "kld": kld, "KLD": kld, "logcosh": logcosh,
    "bce": binary_crossentropy, "BCE": binary_crossentropy,
})
_CLASSES = {cls.__name__: cls for cls in (
    Metric, Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
    SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, RootMeanSquaredError, LogCoshError, CosineSimilarity,
    TruePositives, FalsePositives, TrueNegatives, FalseNegatives, Precision, Recall, AUC,
    PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity,
    F1Score, FBetaScore, R2Score, IoU, MeanIoU, BinaryIoU, OneHotIoU, OneHotMeanIoU,
    PearsonCorrelation, ConcordanceCorrelation, Hinge, SquaredHinge, CategoricalHinge,
    KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy)}
# Snake-case names of classes that have no function of the same name ("mean", ...).
_SNAKE = {"mean": Mean, "sum": Sum, "root_mean_squared_error": RootMeanSquaredError,
          "log_cosh_error": LogCoshError, "cosine_similarity": CosineSimilarity}
# Keras 3 also resolves every class's snake-case name ("precision", "auc", "f1_score",
# "mean_io_u"); a function of the same name ("hinge", "poisson") keeps precedence.
_SNAKE.update({naming.to_snake_case(name): cls for name, cls in _CLASSES.items()
               if naming.to_snake_case(name) not in _FUNCTIONS})


def _lookup(name, custom_objects=None):
    for table in (custom_objects or {}, _FUNCTIONS, _CLASSES, _SNAKE):
        if name in table:
            return table[name]
    raise ValueError(
        f"Unknown metric identifier: {name!r}. Expected one of "
        f"{sorted(set(_FUNCTIONS) | set(_CLASSES) | set(_SNAKE))}, a `Metric` instance, "
        "a callable or a config dict.")


def serialize(metric):
    """Serializes a metric function or `Metric` instance to a Keras 3 config dict.

    Args:
        metric: A `Metric` instance or a metric function.
    """
    return tables.serialize_entry(metric, Metric, "keras.metrics", "metric")


def deserialize(config, custom_objects=None):
    """Rebuilds a metric function or `Metric` instance from `serialize`'s output.

    Args:
        config: Metric configuration: a dict from `serialize`, or a metric name.
        custom_objects: Optional dictionary mapping names (strings) to custom
            objects (classes and functions) to be considered during
            deserialization.
    """
    if isinstance(config, dict) and config.get("module") == "keras.losses" and \
            "class_name" in config and config["class_name"] != "function":
        return _losses.deserialize(config, custom_objects)
    return tables.deserialize_entry(config, lambda n: _lookup(n, custom_objects), "metric")


def get(identifier):
    """Retrieves a metric as a function or `Metric` instance.

    Args:
        identifier: A metric identifier. One of None or string name of a metric
            function/class or metric configuration dictionary or a metric
            function or a metric class instance.
    """
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        obj = deserialize(identifier)
    else:
        obj = identifier
    if inspect.isclass(obj):
        obj = obj()
    if not callable(obj):
        raise ValueError(f"Could not interpret metric identifier: {identifier!r}. Expected "
                         "a metric name, a config dict, a `Metric` instance or a callable.")
    return obj
