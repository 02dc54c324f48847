"""The doctor's before-fit family: input scale, the output activation against the loss,
frozen models, and all checks before training starts (`findings_before_fit`, which adds
the label and sequence findings). [doctor: jax, numpy]
"""
import jax
import numpy as np

from gazelle.doctor import labels, sequences
from gazelle.doctor.anatomy import (_PROBABILITY, _REGRESSION, _SAMPLE, _SHAPE_ONLY,
                                    _TARGET_SCALE, _even_sample, _loss_kind, _outputs)
from gazelle.doctor.findings import Finding


def input_scale_findings(x, optimizer_name=None):
    """Inputs far from unit scale: raw pixels, big features, columns of unequal scales."""
    for leaf in jax.tree_util.tree_leaves(x):
        if not isinstance(leaf, np.ndarray) or leaf.dtype.kind not in "uif" or leaf.size == 0:
            continue
        sample = leaf[:_SAMPLE].reshape(min(len(leaf), _SAMPLE), -1).astype(np.float32)
        std = sample.std(axis=0)
        # Per-feature spread, not the max: standardized data has outliers of 5-10 std.
        spread = float(std.max()) if len(sample) > 1 else 0.0
        peak = float(np.abs(sample).max())
        if spread > 10.0:
            kind = "image-like pixels" if leaf.dtype == np.uint8 or (
                leaf.ndim >= 3 and peak <= 255.0) else "features"
            return [Finding("unscaled_input", "warning",
                f"Inputs look unscaled: {kind} of shape {leaf.shape} range up to {peak:g} "
                f"(dtype {leaf.dtype}, largest per-feature std {spread:.3g}). Large inputs "
                f"make gradients huge, so training with {optimizer_name or 'SGD'} can diverge "
                "(loss explodes, accuracy stays near chance). Scale them first: x / 255.0 for "
                "pixels, or standardize features (x - mean) / std, e.g. with sklearn's "
                "StandardScaler.",
                {"shape": leaf.shape, "max": peak, "max_feature_std": spread})]
        if leaf.ndim == 2 and len(sample) > 1:
            # Mostly-constant columns (one-hot flags, image borders) have no scale to compare.
            varied = (std > 0) & ((sample == np.median(sample, axis=0)).mean(axis=0) <= 0.5)
            cols = np.flatnonzero(varied)
            if len(cols) >= 2:
                hi, lo = cols[std[cols].argmax()], cols[std[cols].argmin()]
                ratio = float(std[hi] / std[lo])
                if ratio > 100:
                    return [Finding("feature_scales", "warning",
                        f"Input features have very different scales: column {hi} has std "
                        f"{std[hi]:.3g} but column {lo} has std {std[lo]:.3g} (ratio "
                        f"{ratio:.0f}). Gradient descent then takes tiny steps along the "
                        "large features and huge ones along the small, so it learns slowly "
                        "or diverges. Standardize each column: (x - x.mean(axis=0)) / "
                        "x.std(axis=0), or sklearn's StandardScaler.",
                        {"column_high": int(hi), "column_low": int(lo), "ratio": ratio})]
    return []


def _output_findings(model, trainer, ys):
    """Output activation vs loss: softmax twice, logits into a probability loss,
    a regression loss on a classifier."""
    found = []
    outputs = _outputs(model)
    if len(outputs) != len(trainer.loss.fns):
        return found
    for (layer, activation), fn, y, shape in zip(outputs, trainer.loss.fns, ys,
                                                 trainer.y_pred_shapes):
        if fn is None:
            continue
        name, from_logits = _loss_kind(fn)
        units = shape[-1] if shape else 1
        where = f"The output layer '{layer.name}'"
        if activation in ("softmax", "sigmoid") and name in _PROBABILITY and from_logits:
            found.append(Finding("softmax_from_logits", "warning",
                f"{where} applies {activation}, but the loss '{name}' has from_logits=True, so "
                f"it applies {activation} a second time. Outputs squeezed into [0, 1] give "
                "nearly uniform probabilities and tiny gradients: the loss stays high. Either "
                f"drop the activation (e.g. Dense({units})) and keep from_logits=True, or keep "
                f"activation='{activation}' and use from_logits=False.",
                {"layer": layer.name, "activation": activation, "loss": name}))
        elif activation == "linear" and name in _PROBABILITY and not from_logits:
            found.append(Finding("logits_without_from_logits", "warning",
                f"{where} has no activation, so it outputs logits, but the loss '{name}' "
                "expects probabilities (from_logits=False): negative logits are clipped to "
                "~0 and the loss and its gradients are wrong. Add activation="
                f"'{'sigmoid' if units == 1 else 'softmax'}' to the last layer, or use e.g. "
                f"keras.losses.{_class_name(name)}(from_logits=True).",
                {"layer": layer.name, "activation": activation, "loss": name}))
        elif activation == "sigmoid" and units > 1 and name in (
                "categorical_crossentropy", "sparse_categorical_crossentropy"):
            found.append(Finding("sigmoid_with_categorical", "warning",
                f"{where} applies sigmoid to {units} units, but the loss '{name}' treats them "
                "as one probability distribution over the classes. Sigmoid outputs are "
                "independent and do not sum to 1, so the loss rescales them and the model "
                "learns a distorted problem. For one class per sample use "
                "activation='softmax'; for several labels per sample use "
                "loss='binary_crossentropy' with the sigmoid.",
                {"layer": layer.name, "activation": activation, "loss": name}))
        elif activation in ("linear", None) and name in _REGRESSION - {
                "mean_squared_logarithmic_error"} and isinstance(y, np.ndarray) and \
                y.size and np.issubdtype(y.dtype, np.number):
            sample = _even_sample(y).astype(np.float64)
            sample = sample[np.isfinite(sample)]
            rms = float(np.sqrt(np.mean(sample ** 2))) if sample.size else 0.0
            if rms >= _TARGET_SCALE:
                mean, std = float(sample.mean()), float(sample.std())
                found.append(Finding("target_scale", "warning",
                    f"The targets of '{layer.name}' are large: mean {mean:.4g}, standard "
                    f"deviation {std:.4g}, while a freshly initialized output layer gives "
                    f"values of order 1. The first losses are then about {rms ** 2:.3g} "
                    f"({name}), and the gradients that large make training diverge or crawl. "
                    "Standardize the targets: y_scaled = (y - mean) / std (compute mean and "
                    "std on the training set), train on y_scaled, and map predictions back "
                    "with pred * std + mean.",
                    {"layer": layer.name, "loss": name, "mean": mean, "std": std,
                     "rms": rms}))
        elif activation in ("softmax", "sigmoid") and name in _REGRESSION and \
                isinstance(y, np.ndarray) and y.size and _integer_labels(y, units):
            better = "binary_crossentropy" if units == 1 else (
                "sparse_categorical_crossentropy" if y.ndim == 1 or y.shape[-1] == 1
                else "categorical_crossentropy")
            found.append(Finding("regression_loss_on_classifier", "warning",
                f"{where} is a {activation} classifier and y holds integer class labels, but "
                f"the loss is '{name}', a regression loss: it compares class ids with "
                "probabilities, so the model cannot learn the classes. Use "
                f"loss='{better}'.", {"layer": layer.name, "loss": name, "suggested": better}))
    return found


def _class_name(fn_name):
    return "".join(part.capitalize() for part in fn_name.split("_"))


def _integer_labels(y, units):
    sample = y[:_SAMPLE]
    if not np.all(np.mod(sample, 1) == 0):
        return False
    return len(np.unique(sample)) <= max(2, units) if y.ndim == 1 or y.shape[-1] == 1 else False


# First layers that take raw values by design: scaling layers, and layers that read ids
# or categories (an Embedding's ids are not a feature scale).
_SCALING_LAYERS = {"Rescaling", "Normalization", "BatchNormalization", "LayerNormalization",
                   "Embedding", "IntegerLookup", "StringLookup", "TextVectorization",
                   "CategoryEncoding", "Hashing", "HashedCrossing", "Discretization"}
_GEOMETRY_LAYERS = {"InputLayer", "Resizing", "CenterCrop", "Pipeline"}


def _scales_its_inputs(model):
    """Whether the model's first computing layer rescales or normalizes its inputs (after
    shape-only and augmentation layers, inside nested Sequentials too): then raw pixels
    in x are what the model expects."""
    pending = list(getattr(model, "layers", []))
    while pending:
        layer = pending.pop(0)
        name = type(layer).__name__
        if name == "Sequential":
            pending = list(layer.layers) + pending
        elif not type(layer).__module__.startswith("gazelle.") and getattr(layer, "_layers", None):
            # A user's layer (e.g. token + position embedding): judge by its first sublayer.
            pending = list(layer._layers) + pending
        elif name in _SCALING_LAYERS:
            return True
        elif not (name in _SHAPE_ONLY or name in _GEOMETRY_LAYERS or name.startswith("Random")):
            return False
    return False


def _trainable_findings(model):
    """A model with weights but none of them trainable: fit can change nothing."""
    if model.weights and not model.trainable_weights:
        frozen = [layer.name for layer in model.layers if layer.weights][:5]
        return [Finding("nothing_trainable", "warning",
            f"The model '{model.name}' has no trainable weights: every layer with weights "
            f"is frozen (trainable=False: {', '.join(frozen)}), so fit cannot change the "
            "model and the loss will not move. Unfreeze what should learn (layer.trainable = "
            "True, then compile again), or add a trainable head on top of the frozen base.",
            {"frozen_layers": frozen})]
    return []


def findings_before_fit(model, trainer, x, ys, validation=None, weighted=False):
    """All checks that look at the data and the compiled model before training starts."""
    found = _trainable_findings(model)
    found += [] if _scales_its_inputs(model) else input_scale_findings(
        x, type(trainer.optimizer).__name__)
    found += _output_findings(model, trainer, ys)
    found += labels._label_findings(trainer, ys, validation[1] if validation else None,
                                    weighted)
    found += sequences.sequence_findings(model, x)
    return found
