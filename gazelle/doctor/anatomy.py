"""What the model and the loss are, read duck-typed (the doctor never imports layers/ or
models/): loss kinds, output activations, class labels, recurrent layers, and the
thresholds the doctor's families share. [doctor: numpy, gazelle.core, gazelle.training]
"""
import numpy as np

from gazelle.core.variables import Variable


_SPARSE = {"sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"}
_CATEGORICAL = {"categorical_crossentropy", "CategoricalCrossentropy"}
_BINARY_NAMES = {"binary_crossentropy", "BinaryCrossentropy", "binary_focal_crossentropy",
                 "BinaryFocalCrossentropy"}
_SAMPLE = 2048                  # rows of x/y the data checks look at
_MIN_STALL_STEPS = 10           # steps in an epoch before its loss curve can show a stall
_MIN_STEPS = 50                 # steps of training before "not learning" is judged
_DEEP = 6                       # layers with weights from which a model counts as deep
_PROBE = 256                    # samples in the extra gradient / dead-ReLU measurements
_REGRESSION = {"mean_squared_error", "mean_absolute_error", "huber", "log_cosh",
               "mean_squared_logarithmic_error"}
_PROBABILITY = {"sparse_categorical_crossentropy", "categorical_crossentropy",
                "binary_crossentropy"}
_SHAPE_ONLY = {"Dropout", "Flatten", "Reshape", "GaussianNoise", "GaussianDropout",
               "AlphaDropout", "Identity", "ActivityRegularization"}
# Setup mistakes found before fit (output/loss mismatches, padding read as data): their
# symptoms (not learning, underfitting) go unreported, since the setup finding names the cause.
_SETUP = {"softmax_from_logits", "logits_without_from_logits", "regression_loss_on_classifier",
          "sigmoid_with_categorical", "nothing_trainable", "target_scale",
          "padding_without_mask"}
_TARGET_SCALE = 100.0           # regression targets this large (RMS) swamp a fresh output

def _loss_kind(fn):
    """A compiled loss's function name and from_logits: ("mean_squared_error", False)."""
    inner = getattr(fn, "fn", fn)
    name = getattr(inner, "__name__", type(inner).__name__)
    options = getattr(fn, "_fn_kwargs", {})
    return name, bool(getattr(fn, "from_logits", options.get("from_logits", False)))


def _is_sequential(model):
    return any(c.__name__ == "Sequential" for c in type(model).__mro__)


def _activation_of(layer):
    """The name of the activation `layer` ends with ("linear" for none), "pass" for a
    layer that only reshapes or drops, None when unknown."""
    if _is_sequential(layer):
        return _chain_activation(list(layer.layers)) if layer.layers else None
    if type(layer).__name__ == "Softmax":
        return "softmax"
    activation = getattr(layer, "activation", None)
    if callable(activation):
        return getattr(activation, "__name__", None)
    return "pass" if type(layer).__name__ in _SHAPE_ONLY else None


def _chain_activation(layers):
    for layer in reversed(layers):
        name = _activation_of(layer)
        if name != "pass":
            return name
    return None


def _outputs(model):
    """(output layer, its final activation name or None) per output; [] when opaque."""
    tensors = getattr(model, "_output_tensors", None)
    if tensors is not None:                                     # Functional
        found = []
        for t in tensors:
            layer, name = t.node.layer, _activation_of(t.node.layer)
            while name == "pass" and len(t.node.input_tensors) == 1:
                t = t.node.input_tensors[0]
                name = _activation_of(t.node.layer)
            found.append((layer, None if name == "pass" else name))
        return found
    if _is_sequential(model) and model.layers:
        return [(model.layers[-1], _chain_activation(list(model.layers)))]
    return []


def _even_sample(y):
    """Every k-th row of a huge array (about 100k rows): cheap, and fair to sorted data."""
    return y[::max(1, len(y) // (50 * _SAMPLE))]


def _class_labels(name, y, units):
    """Integer class labels for a classification loss, or None (regression, multi-label)."""
    if not isinstance(y, np.ndarray) or y.size == 0:
        return None
    y = _even_sample(y)
    if name == "sparse_categorical_crossentropy":
        return y.reshape(-1).astype(np.int64)
    if name == "categorical_crossentropy" and y.ndim >= 2 and y.shape[-1] > 1:
        return y.reshape(-1, y.shape[-1]).argmax(axis=1)
    if name == "binary_crossentropy" and units == 1 and np.isin(y, (0, 1)).all():
        return y.reshape(-1).astype(np.int64)
    return None


def _learning_rate(optimizer):
    try:
        lr = optimizer.learning_rate
        return float(np.asarray(lr.value if isinstance(lr, Variable) else lr))
    except (TypeError, AttributeError, ValueError):
        return None


def _class_names(layer):
    return {c.__name__ for c in type(layer).__mro__}


def _is_rnn(layer):
    """A recurrent layer of gazelle (SimpleRNN, LSTM, GRU, RNN, ConvLSTM*, Bidirectional)."""
    return any(c.__module__.startswith("gazelle.layers.recurrent") and
               c.__name__ in ("RNN", "Bidirectional") for c in type(layer).__mro__)


def _sublayers(layer):
    """`layer` and every layer inside it."""
    flatten = getattr(layer, "_flatten_layers", None)
    return list(flatten()) if callable(flatten) else [layer]


def _has_rnn(layer):
    return any(_is_rnn(sub) for sub in _sublayers(layer))
