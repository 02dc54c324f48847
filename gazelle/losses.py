"""Loss functions and Loss classes. [L1: jax, gazelle.config, gazelle.core.naming]

Functions first: each loss is a pure per-sample function `fn(y_true, y_pred, **options)`
that maps `(batch, ..., d)` arrays to `(batch, ...)` values with Keras 3 math, and runs
under `jit`. Classes wrap them: a `Loss` adds the reduction over the batch (with sample
weights), a name and a config. `get`, `serialize` and `deserialize` resolve identifiers
by table lookup only; nothing is imported or evaluated.
"""
import inspect

import jax
import jax.numpy as jnp

from gazelle import config
from gazelle.core import masks, naming, tables

# -- shared helpers ---------------------------------------------------------------


def _as_float(x):
    x = jnp.asarray(x)
    return x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(config.floatx())


def _pair(y_true, y_pred, same_rank=True):
    """Float `y_pred`, `y_true` cast to its dtype, optionally brought to the same rank."""
    y_pred = _as_float(y_pred)
    y_true = jnp.asarray(y_true).astype(y_pred.dtype)
    if same_rank:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return y_true, y_pred


def _divide_no_nan(x, y):
    safe_y = jnp.where(y == 0, 1, y)
    return jnp.where(y == 0, 0, x / safe_y)


def _l2_normalize(x, axis):
    # rsqrt capped at 1/epsilon, so a zero vector stays zero (Keras's `normalize`).
    inv_norm = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
    return x * jnp.minimum(inv_norm, 1.0 / config.epsilon())


def _log_probs(y_pred, from_logits, axis):
    if from_logits:
        return jax.nn.log_softmax(y_pred, axis=axis)
    eps = config.epsilon()
    probs = y_pred / jnp.sum(y_pred, axis=axis, keepdims=True)
    return jnp.log(jnp.clip(probs, eps, 1.0 - eps))


def _check_same_shape(fn_name, y_true, y_pred):
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{fn_name}: `y_true` and `y_pred` must have the same shape, but received "
            f"y_true.shape={y_true.shape} and y_pred.shape={y_pred.shape}.")


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Makes two ranks equal when they differ by one trailing axis of size 1.

    Args:
        x1: first array.
        x2: second array.
        expand_rank_1: when the lower-rank array has rank 1, expand it instead of
            squeezing the other one. Defaults to `True`.
    """
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            return x1, jnp.expand_dims(x2, -1)
        return jnp.squeeze(x1, -1), x2
    if x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            return jnp.expand_dims(x1, -1), x2
        return x1, jnp.squeeze(x2, -1)
    return x1, x2


# -- per-sample loss functions -------------------------------------------------------


def mean_squared_error(y_true, y_pred):
    """Computes the mean squared error between labels and predictions.

    `loss = mean(square(y_true - y_pred), axis=-1)`

    Args:
        y_true: Ground truth values with shape `[batch_size, d0, .. dN]`.
        y_pred: The predicted values with shape `[batch_size, d0, .. dN]`.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return jnp.mean(jnp.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """Computes the mean absolute error between labels and predictions.

    `loss = mean(abs(y_true - y_pred), axis=-1)`

    Args:
        y_true: Ground truth values with shape `[batch_size, d0, .. dN]`.
        y_pred: The predicted values with shape `[batch_size, d0, .. dN]`.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """Computes the mean absolute percentage error between `y_true` and `y_pred`.

    `loss = 100 * mean(abs((y_true - y_pred) / y_true), axis=-1)`, where the divisor is
    at least `config.epsilon()` in absolute value.

    Args:
        y_true: Ground truth values with shape `[batch_size, d0, .. dN]`.
        y_pred: The predicted values with shape `[batch_size, d0, .. dN]`.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    denominator = jnp.maximum(jnp.abs(y_true), config.epsilon())
    return 100.0 * jnp.mean(jnp.abs((y_true - y_pred) / denominator), axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """Computes the mean squared logarithmic error between `y_true` and `y_pred`.

    `loss = mean(square(log(y_true + 1) - log(y_pred + 1)), axis=-1)`; values below
    `config.epsilon()` are raised to it first.

    Args:
        y_true: Ground truth values with shape `[batch_size, d0, .. dN]`.
        y_pred: The predicted values with shape `[batch_size, d0, .. dN]`.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    eps = config.epsilon()
    diff = jnp.log(jnp.maximum(y_pred, eps) + 1.0) - jnp.log(jnp.maximum(y_true, eps) + 1.0)
    return jnp.mean(jnp.square(diff), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    """Computes the Huber loss: quadratic for small errors, linear for large ones.

    Args:
        y_true: tensor of true targets.
        y_pred: tensor of predicted targets.
        delta: A float, the point where the Huber loss function changes from a
            quadratic to linear. Defaults to `1.0`.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    delta = jnp.asarray(delta, y_pred.dtype)
    error = y_pred - y_true
    abs_error = jnp.abs(error)
    quadratic = 0.5 * jnp.square(error)
    linear = delta * abs_error - 0.5 * jnp.square(delta)
    return jnp.mean(jnp.where(abs_error <= delta, quadratic, linear), axis=-1)


def log_cosh(y_true, y_pred):
    """Computes the logarithm of the hyperbolic cosine of the prediction error.

    `loss = mean(log(cosh(y_pred - y_true)), axis=-1)`, computed in a form that does
    not overflow for large errors.

    Args:
        y_true: Ground truth values with shape `[batch_size, d0, .. dN]`.
        y_pred: The predicted values with shape `[batch_size, d0, .. dN]`.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    log2 = jnp.asarray(jnp.log(2.0), y_pred.dtype)
    return jnp.mean(x + jax.nn.softplus(-2.0 * x) - log2, axis=-1)


def _binary_to_plus_minus_one(y_true):
    # Hinge losses expect -1/1 labels; 0/1 labels are mapped when every label is 0 or 1.
    is_binary = jnp.all((y_true == 0) | (y_true == 1))
    return jnp.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true, y_pred):
    """Computes the hinge loss between `y_true` and `y_pred`.

    `loss = mean(maximum(1 - y_true * y_pred, 0), axis=-1)`

    Args:
        y_true: The ground truth values. `y_true` values are expected to be -1
            or 1. If binary (0 or 1) labels are provided they will be converted
            to -1 or 1.
        y_pred: The predicted values with shape `[batch_size, d0, .. dN]`.
    """
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    y_true = _binary_to_plus_minus_one(y_true)
    return jnp.mean(jnp.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """Computes the squared hinge loss between `y_true` and `y_pred`.

    `loss = mean(square(maximum(1 - y_true * y_pred, 0)), axis=-1)`

    Args:
        y_true: The ground truth values. `y_true` values are expected to be -1
            or 1. If binary (0 or 1) labels are provided they will be converted
            to -1 or 1.
        y_pred: The predicted values with shape `[batch_size, d0, .. dN]`.
    """
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    y_true = _binary_to_plus_minus_one(y_true)
    return jnp.mean(jnp.square(jnp.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """Computes the categorical hinge loss between `y_true` and `y_pred`.

    `loss = maximum(neg - pos + 1, 0)` with `neg = max((1 - y_true) * y_pred)` and
    `pos = sum(y_true * y_pred)`.

    Args:
        y_true: The ground truth values, either `{-1, +1}` or `{0, 1}` (one-hot).
        y_pred: The predicted values with shape `[batch_size, d0, .. dN]`.
    """
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    pos = jnp.sum(y_true * y_pred, axis=-1)
    neg = jnp.max((1.0 - y_true) * y_pred, axis=-1)
    return jnp.maximum(neg - pos + 1.0, 0.0)


def kl_divergence(y_true, y_pred):
    """Computes the Kullback-Leibler divergence between `y_true` and `y_pred`.

    `loss = sum(y_true * log(y_true / y_pred), axis=-1)`, with both clipped to
    `[epsilon, 1]`.

    Args:
        y_true: Tensor of true targets.
        y_pred: Tensor of predicted targets.
    """
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    y_true = jnp.clip(y_true, config.epsilon(), 1.0)
    y_pred = jnp.clip(y_pred, config.epsilon(), 1.0)
    return jnp.sum(y_true * jnp.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """Computes the Poisson loss between `y_true` and `y_pred`.

    `loss = mean(y_pred - y_true * log(y_pred + epsilon), axis=-1)`

    Args:
        y_true: Ground truth values with shape `[batch_size, d0, .. dN]`.
        y_pred: The predicted values with shape `[batch_size, d0, .. dN]`.
    """
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    return jnp.mean(y_pred - y_true * jnp.log(y_pred + config.epsilon()), axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """Computes the negative cosine similarity between labels and predictions.

    `loss = -sum(l2_norm(y_true) * l2_norm(y_pred), axis=axis)`: -1 means the vectors
    point the same way, 0 orthogonal (or a zero vector).

    Args:
        y_true: Tensor of true targets.
        y_pred: Tensor of predicted targets.
        axis: Axis along which to determine similarity. Defaults to `-1`.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    return -jnp.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Computes the binary crossentropy loss.

    Args:
        y_true: Ground truth values, of shape `[batch_size, d0, .. dN]`.
        y_pred: The predicted values, of the same shape.
        from_logits: Whether `y_pred` is expected to be a logits tensor. By
            default, we assume that `y_pred` encodes a probability distribution.
        label_smoothing: Float in `[0, 1]`. If > `0` then smooth the labels by
            squeezing them towards 0.5. Defaults to `0.0`.
        axis: The axis along which the mean is computed. Defaults to `-1`.
    """
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    _check_same_shape("binary_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        bce = (-y_true * jax.nn.log_sigmoid(y_pred)
               - (1.0 - y_true) * jax.nn.log_sigmoid(-y_pred))
    else:
        eps = config.epsilon()
        p = jnp.clip(y_pred, eps, 1.0 - eps)
        bce = -(y_true * jnp.log(p) + (1.0 - y_true) * jnp.log(1.0 - p))
    return jnp.mean(bce, axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Computes the categorical crossentropy loss between one-hot labels and predictions.

    Args:
        y_true: Tensor of one-hot true targets.
        y_pred: Tensor of predicted targets.
        from_logits: Whether `y_pred` is expected to be a logits tensor. By
            default, we assume that `y_pred` encodes a probability distribution.
        label_smoothing: Float in `[0, 1]`. If > `0` then smooth the labels. For
            example, if `0.1`, use `0.1 / num_classes` for non-target labels
            and `0.9 + 0.1 / num_classes` for target labels. Defaults to `0.0`.
        axis: The dimension along which the entropy is computed. Defaults to `-1`.
    """
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TypeError(f"categorical_crossentropy: `axis` must be an int, received "
                        f"axis={axis!r} of type {type(axis).__name__}.")
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    _check_same_shape("categorical_crossentropy", y_true, y_pred)
    if label_smoothing:
        num_classes = y_true.shape[-1]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    return -jnp.sum(y_true * _log_probs(y_pred, from_logits, axis), axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    """Computes the crossentropy loss between integer labels and predictions.

    Args:
        y_true: Integer class ids (int or float dtype), of shape `[batch_size]` or
            `[batch_size, 1]` (more generally, `y_pred`'s shape without `axis`).
        y_pred: The predicted values, of shape `[batch_size, num_classes]`.
        from_logits: Whether `y_pred` is expected to be a logits tensor. By
            default, we assume that `y_pred` encodes a probability distribution.
        ignore_class: Optional integer. The ID of a class to be ignored during
            loss computation; its entries get loss 0. Defaults to `None`.
        axis: The dimension along which the entropy is computed. Defaults to `-1`.
    """
    y_pred = _as_float(y_pred)
    y_true = jnp.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[axis] == 1:
        y_true = jnp.squeeze(y_true, axis)
    class_axis = axis % y_pred.ndim
    expected = y_pred.shape[:class_axis] + y_pred.shape[class_axis + 1:]
    if y_true.shape != expected:
        raise ValueError(
            "sparse_categorical_crossentropy: `y_true` must hold one class id per "
            f"sample, of shape {expected} (or {expected + (1,)}) for "
            f"y_pred.shape={y_pred.shape}, but received y_true.shape={y_true.shape}.")
    if ignore_class is not None:
        valid = y_true != ignore_class
        y_true = jnp.where(valid, y_true, 0)
        # Ignored rows get a harmless uniform input; their loss is zeroed below.
        y_pred = jnp.where(jnp.expand_dims(valid, axis), y_pred, 1.0)
    one_hot = jax.nn.one_hot(y_true.astype(jnp.int32), y_pred.shape[axis], axis=axis,
                             dtype=y_pred.dtype)
    losses = -jnp.sum(one_hot * _log_probs(y_pred, from_logits, axis), axis=axis)
    if ignore_class is not None:
        losses = jnp.where(valid, losses, 0.0)
    return losses


# -- reduction -------------------------------------------------------------------------

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def standardize_reduction(reduction):
    """Checks a `reduction` argument and returns it.

    Args:
        reduction: one of `"sum_over_batch_size"`, `"sum"`, `"mean"`,
            `"mean_with_sample_weight"`, `"none"` or `None`.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"Invalid value for argument `reduction`. Expected one of "
                         f"{list(REDUCTIONS)}. Received: reduction={reduction!r}")
    return reduction


def _mask_to_weights(sample_weight, mask, dtype, reduction):
    """Folds a boolean mask into the sample weights, as Keras's `apply_mask` does."""
    if mask is None:
        return sample_weight
    if reduction in ("mean", "sum_over_batch_size"):
        # Valid entries weigh total/valid so the batch mean becomes a mean over valid ones.
        total = jnp.asarray(mask.size, dtype)
        valid = jnp.sum(mask.astype(dtype))
        float_mask = jnp.where(mask, _divide_no_nan(total, valid), 0.0).astype(dtype)
    else:
        float_mask = mask.astype(dtype)
    if sample_weight is None:
        return float_mask
    float_mask, sample_weight = squeeze_or_expand_to_same_rank(float_mask, sample_weight)
    return sample_weight * float_mask


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Reduces (already weighted) per-sample values to a scalar.

    Args:
        values: per-sample loss values.
        sample_weight: the weights used, for `"mean_with_sample_weight"`. Defaults to `None`.
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
    """
    if reduction in (None, "none") or values.shape in ((), (0,)):
        return values
    loss = jnp.sum(values)
    if reduction == "sum":
        return loss
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = jnp.sum(sample_weight).astype(loss.dtype)
    else:
        divisor = jnp.asarray(values.size, loss.dtype)
    return _divide_no_nan(loss, divisor)


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size", dtype=None):
    """Weights per-sample values by `sample_weight` (and `mask`), then reduces them.

    Args:
        values: per-sample loss values, e.g. of shape `(batch_size,)`.
        sample_weight: Optional weights, broadcastable to `values` after a trailing
            axis of size 1 is squeezed or added. Defaults to `None`.
        mask: Optional boolean array; `False` entries are left out. Defaults to `None`.
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        dtype: the computation dtype. Defaults to `None` (that of `values`).
    """
    reduction = standardize_reduction(reduction)
    values = jnp.asarray(values, dtype)
    if sample_weight is not None:
        sample_weight = jnp.asarray(sample_weight, values.dtype)
    sample_weight = _mask_to_weights(sample_weight, mask, values.dtype, reduction)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        values = values * sample_weight
    return reduce_values(values, sample_weight, reduction)


# -- classes ---------------------------------------------------------------------------


class Loss:
    """Loss base class: subclasses write `call(y_true, y_pred)` -> per-sample values.

    Args:
        name: Optional name for the loss instance. Defaults to the snake-case class name.
        reduction: Type of reduction to apply to the loss. Supported options are
            `"sum"`, `"sum_over_batch_size"`, `"mean"`, `"mean_with_sample_weight"`
            or `None`. `"sum"` sums the loss, `"sum_over_batch_size"` and `"mean"` sum
            the loss and divide by the sample size, and `"mean_with_sample_weight"`
            sums the loss and divides by the sum of the sample weights. `"none"` and
            `None` perform no aggregation. Defaults to `"sum_over_batch_size"`.
        dtype: The dtype of the loss's computations. Defaults to `None`, which means
            `config.floatx()` (`"float32"`).

    ```python
    class MyMSE(Loss):
        def call(self, y_true, y_pred):
            return jnp.mean(jnp.square(y_pred - y_true), axis=-1)

    MyMSE()(y_true, y_pred, sample_weight=w)   # a scalar
    ```
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or naming.uniquify(naming.to_snake_case(type(self).__name__))
        self.reduction = standardize_reduction(reduction)
        self._dtype = jnp.dtype(dtype or config.floatx()).name

    @property
    def dtype(self):
        return self._dtype

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Returns the reduced loss (a scalar unless `reduction` is `None`/`"none"`).

        A mask attached to `y_pred` (Keras 3's `_keras_mask`, e.g. from an Embedding with
        `mask_zero=True` through a `return_sequences` RNN) leaves its False entries out.
        """
        output_mask = masks.get_keras_mask(y_pred)
        y_true = jnp.asarray(y_true, self.dtype)
        y_pred = jnp.asarray(y_pred, self.dtype)
        values = self.call(y_true, y_pred)
        mask = self._mask(y_true, y_pred)
        if output_mask is not None:
            output_mask = jnp.asarray(output_mask, bool)
            mask = output_mask if mask is None else jnp.logical_and(mask, output_mask)
        return reduce_weighted_values(values, sample_weight, mask, self.reduction, self.dtype)

    def call(self, y_true, y_pred):
        """Returns per-sample loss values; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement `call`.")

    def _mask(self, y_true, y_pred):
        return None  # Entries to leave out of the reduction; None keeps all.

    def get_config(self):
        """Returns the loss configuration as a JSON-serializable dict."""
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        """Creates a loss from the dict returned by `get_config`."""
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class LossFunctionWrapper(Loss):
    """Wraps a per-sample loss function `fn(y_true, y_pred, **kwargs)` as a `Loss`.

    Args:
        fn: The loss function to wrap, with signature `fn(y_true, y_pred, **kwargs)`.
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance.
        dtype: see `Loss`. Defaults to `None`.
        **kwargs: Keyword arguments to pass on to `fn`.
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper: `fn` must be callable, received {fn!r}.")
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        return {**super().get_config(), "fn": serialize(self.fn), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("fn"), (dict, str)):
            config["fn"] = deserialize(config["fn"])
        return cls(**config)

    def __repr__(self):
        return f"<LossFunctionWrapper({self.fn}, kwargs={self._fn_kwargs})>"


class _Wrapped(LossFunctionWrapper):
    """A built-in loss class: its config is `Loss`'s plus the named function options."""

    _options = ()

    def __init__(self, fn, name, reduction, dtype, **options):
        super().__init__(fn, name=name, reduction=reduction, dtype=dtype, **options)
        for key in self._options:
            setattr(self, key, options[key])

    def get_config(self):
        return {**Loss.get_config(self), **{k: getattr(self, k) for k in self._options}}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MeanSquaredError(_Wrapped):
    """Computes the mean of squares of errors between labels and predictions.

    Args:
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to `"mean_squared_error"`.
        dtype: see `Loss`. Defaults to `None`.
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name, reduction, dtype)


class MeanAbsoluteError(_Wrapped):
    """Computes the mean of absolute difference between labels and predictions.

    Args:
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to `"mean_absolute_error"`.
        dtype: see `Loss`. Defaults to `None`.
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error",
                 dtype=None):
        super().__init__(mean_absolute_error, name, reduction, dtype)


class MeanAbsolutePercentageError(_Wrapped):
    """Computes the mean absolute percentage error between `y_true` and `y_pred`.

    Args:
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to
            `"mean_absolute_percentage_error"`.
        dtype: see `Loss`. Defaults to `None`.
    """

    def __init__(self, reduction="sum_over_batch_size",
                 name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name, reduction, dtype)


class MeanSquaredLogarithmicError(_Wrapped):
    """Computes the mean squared logarithmic error between `y_true` and `y_pred`.

    Args:
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to
            `"mean_squared_logarithmic_error"`.
        dtype: see `Loss`. Defaults to `None`.
    """

    def __init__(self, reduction="sum_over_batch_size",
                 name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name, reduction, dtype)


class CosineSimilarity(_Wrapped):
    """Computes the negative cosine similarity between `y_true` and `y_pred`.

    Args:
        axis: The axis along which the cosine similarity is computed. Defaults to `-1`.
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to `"cosine_similarity"`.
        dtype: see `Loss`. Defaults to `None`.
    """

    _options = ("axis",)

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity",
                 dtype=None):
        super().__init__(cosine_similarity, name, reduction, dtype, axis=axis)


class Huber(_Wrapped):
    """Computes the Huber loss between `y_true` and `y_pred`.

    Args:
        delta: A float, the point where the Huber loss function changes from a
            quadratic to linear. Defaults to `1.0`.
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to `"huber_loss"`.
        dtype: see `Loss`. Defaults to `None`.
    """

    _options = ("delta",)

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss",
                 dtype=None):
        super().__init__(huber, name, reduction, dtype, delta=delta)


class LogCosh(_Wrapped):
    """Computes the logarithm of the hyperbolic cosine of the prediction error.

    Args:
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to `"log_cosh"`.
        dtype: see `Loss`. Defaults to `None`.
    """

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(log_cosh, name, reduction, dtype)


class Hinge(_Wrapped):
    """Computes the hinge loss between `y_true` and `y_pred`.

    Args:
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to `"hinge"`.
        dtype: see `Loss`. Defaults to `None`.
    """

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(hinge, name, reduction, dtype)


class SquaredHinge(_Wrapped):
    """Computes the squared hinge loss between `y_true` and `y_pred`.

    Args:
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to `"squared_hinge"`.
        dtype: see `Loss`. Defaults to `None`.
    """

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, name, reduction, dtype)


class CategoricalHinge(_Wrapped):
    """Computes the categorical hinge loss between `y_true` and `y_pred`.

    Args:
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to `"categorical_hinge"`.
        dtype: see `Loss`. Defaults to `None`.
    """

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge",
                 dtype=None):
        super().__init__(categorical_hinge, name, reduction, dtype)


class KLDivergence(_Wrapped):
    """Computes the Kullback-Leibler divergence between `y_true` and `y_pred`.

    Args:
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to `"kl_divergence"`.
        dtype: see `Loss`. Defaults to `None`.
    """

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, name, reduction, dtype)


class Poisson(_Wrapped):
    """Computes the Poisson loss between `y_true` and `y_pred`.

    Args:
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to `"poisson"`.
        dtype: see `Loss`. Defaults to `None`.
    """

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(poisson, name, reduction, dtype)


class BinaryCrossentropy(_Wrapped):
    """Computes the cross-entropy loss between true labels (0 or 1) and predictions.

    Args:
        from_logits: Whether to interpret `y_pred` as a tensor of logit values. By
            default, we assume that `y_pred` is probabilities (i.e., values in [0, 1]).
        label_smoothing: Float in range [0, 1]. When > 0, the labels are squeezed
            towards 0.5. Defaults to `0.0`.
        axis: The axis along which to compute crossentropy (the features axis).
            Defaults to `-1`.
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to `"binary_crossentropy"`.
        dtype: see `Loss`. Defaults to `None`.

    ```python
    loss = BinaryCrossentropy(from_logits=True)
    loss(np.array([[0.], [1.]]), np.array([[-2.], [3.]]))
    ```
    """

    _options = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, name, reduction, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class CategoricalCrossentropy(_Wrapped):
    """Computes the crossentropy loss between one-hot labels and predictions.

    Args:
        from_logits: Whether `y_pred` is expected to be a logits tensor. By
            default, we assume that `y_pred` encodes a probability distribution.
        label_smoothing: Float in [0, 1]. When > 0, label values are smoothed,
            meaning the confidence on label values are relaxed. Defaults to `0.0`.
        axis: The axis along which to compute crossentropy (the features axis).
            Defaults to `-1`.
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to
            `"categorical_crossentropy"`.
        dtype: see `Loss`. Defaults to `None`.
    """

    _options = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy",
                 dtype=None):
        super().__init__(categorical_crossentropy, name, reduction, dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(_Wrapped):
    """Computes the crossentropy loss between integer labels and predictions.

    Args:
        from_logits: Whether `y_pred` is expected to be a logits tensor. By
            default, we assume that `y_pred` encodes a probability distribution.
        ignore_class: Optional integer. The ID of a class to be ignored during
            loss computation; the batch mean is then taken over the other entries.
            Defaults to `None`.
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        axis: The axis along which to compute crossentropy. Defaults to `-1`.
        name: Optional name for the loss instance. Defaults to
            `"sparse_categorical_crossentropy"`.
        dtype: see `Loss`. Defaults to `None`.

    ```python
    loss = SparseCategoricalCrossentropy(from_logits=True)
    loss(np.array([1, 0]), np.array([[0.1, 2.0], [1.5, -0.3]]))
    ```
    """

    _options = ("from_logits", "ignore_class")

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 axis=-1, name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, name, reduction, dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.axis = axis

    def _mask(self, y_true, y_pred):
        if self.ignore_class is None:
            return None
        y_true, _ = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if y_true.ndim == y_pred.ndim:
            y_true = jnp.squeeze(y_true, self.axis)
        return y_true != self.ignore_class


# -- identifiers -------------------------------------------------------------------------

_FUNCTIONS = {fn.__name__: fn for fn in (
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, huber, log_cosh, hinge, squared_hinge,
    categorical_hinge, kl_divergence, poisson, cosine_similarity, binary_crossentropy,
    categorical_crossentropy, sparse_categorical_crossentropy)}
# Short names from Keras 3 and the tf.keras 2 spellings that course code still uses.
_ALIASES = {
    "mse": mean_squared_error, "MSE": mean_squared_error,
    "mae": mean_absolute_error, "MAE": mean_absolute_error,
    "mape": mean_absolute_percentage_error, "MAPE": mean_absolute_percentage_error,
    "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error,
    "kld": kl_divergence, "KLD": kl_divergence, "kullback_leibler_divergence": kl_divergence,
    "bce": binary_crossentropy, "BCE": binary_crossentropy,
    "huber_loss": huber, "logcosh": log_cosh,
}
_CLASSES = {cls.__name__: cls for cls in (
    Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError,
    MeanAbsolutePercentageError, MeanSquaredLogarithmicError, CosineSimilarity, Huber,
    LogCosh, Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson,
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy)}


def _lookup(name, custom_objects=None):
    custom_objects = custom_objects or {}
    for table in (custom_objects, _FUNCTIONS, _ALIASES, _CLASSES):
        if name in table:
            return table[name]
    raise ValueError(
        f"Unknown loss identifier: {name!r}. Expected one of "
        f"{sorted(set(_FUNCTIONS) | set(_ALIASES) | set(_CLASSES))}, a `Loss` instance, "
        "a callable or a config dict.")


def serialize(loss):
    """Serializes a loss function or `Loss` instance to a Keras 3 config dict.

    Args:
        loss: A `Loss` instance or a loss function.
    """
    return tables.serialize_entry(loss, Loss, "keras.losses", "loss")


def deserialize(name, custom_objects=None):
    """Rebuilds a loss function or `Loss` instance from `serialize`'s output.

    Args:
        name: Loss configuration: a dict from `serialize`, or a loss name.
        custom_objects: Optional dictionary mapping names (strings) to custom
            objects (classes and functions) to be considered during
            deserialization.
    """
    return tables.deserialize_entry(name, lambda n: _lookup(n, custom_objects), "loss")


def get(identifier):
    """Retrieves a loss as a function or `Loss` instance.

    Strings name a function (`"mse"` -> `mean_squared_error`) or a class
    (`"MeanSquaredError"` -> an instance); dicts are configs from `serialize`.

    Args:
        identifier: A loss identifier. One of None or string name of a loss
            function/class or loss configuration dictionary or a loss function
            or a loss class instance.
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
        raise ValueError(f"Could not interpret loss identifier: {identifier!r}. Expected a "
                         "loss name, a config dict, a `Loss` instance or a callable.")
    return obj


# Aliases spelled as in Keras (`keras.losses.mse`, `keras.losses.huber_loss`, ...).
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
bce = BCE = binary_crossentropy
huber_loss = huber
logcosh = log_cosh


# -- focal, overlap, metric-learning and sequence losses ---------------------------------
# (Keras 3's newer losses; appended here with their own identifier-table updates.)


def _clipped_bce(y_true, y_pred):
    eps = config.epsilon()
    p = jnp.clip(y_pred, eps, 1.0 - eps)
    return -(y_true * jnp.log(p) + (1.0 - y_true) * jnp.log(1.0 - p))


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    """Computes the binary focal crossentropy loss.

    The crossentropy of each entry is scaled by `(1 - p_t) ** gamma`, where `p_t` is the
    predicted probability of the true label, so confident right answers count less.

    Args:
        y_true: Ground truth values, of shape `(batch_size, d0, .. dN)`.
        y_pred: The predicted values, of shape `(batch_size, d0, .. dN)`.
        apply_class_balancing: A bool, whether to apply weight balancing on the
            binary classes 0 and 1.
        alpha: A weight balancing factor for class 1, default is `0.25` as
            mentioned in the reference. The weight for class 0 is `1.0 - alpha`.
        gamma: A focusing parameter, default is `2.0` as mentioned in the
            reference.
        from_logits: Whether `y_pred` is expected to be a logits tensor. By
            default, we assume that `y_pred` encodes a probability distribution.
        label_smoothing: Float in `[0, 1]`. If > `0` then smooth the labels by
            squeezing them towards 0.5.
        axis: The axis along which the mean is computed. Defaults to `-1`.

    ```python
    binary_focal_crossentropy(np.array([[0, 1], [0, 0]]), np.array([[0.6, 0.4], [0.4, 0.6]]),
                              gamma=2.0)
    ```
    """
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = jax.nn.sigmoid(y_pred)
    p_t = y_true * y_pred + (1 - y_true) * (1 - y_pred)
    focal = jnp.power(1.0 - p_t, gamma) * _clipped_bce(y_true, y_pred)
    if apply_class_balancing:
        focal = (y_true * alpha + (1 - y_true) * (1 - alpha)) * focal
    return jnp.mean(focal, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """Computes the categorical focal crossentropy loss.

    Each class's crossentropy term is scaled by `alpha * (1 - p) ** gamma`.

    Args:
        y_true: Tensor of one-hot true targets.
        y_pred: Tensor of predicted targets.
        alpha: A weight balancing factor for all classes, default is `0.25` as
            mentioned in the reference.
        gamma: A focusing parameter, default is `2.0` as mentioned in the
            reference.
        from_logits: Whether `y_pred` is expected to be a logits tensor. By
            default, we assume that `y_pred` encodes a probability distribution.
        label_smoothing: Float in [0, 1]. If > `0` then smooth the labels towards
            the uniform distribution.
        axis: Defaults to `-1`. The dimension along which the entropy is computed.

    ```python
    categorical_focal_crossentropy(np.array([[0, 1, 0]]), np.array([[0.05, 0.9, 0.05]]))
    ```
    """
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis} of type "
                         f"{type(axis)}")
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    if from_logits:
        y_pred = jax.nn.softmax(y_pred, axis=axis)
    eps = config.epsilon()
    probs = jnp.clip(y_pred / jnp.sum(y_pred, axis=axis, keepdims=True), eps, 1.0 - eps)
    terms = alpha * jnp.power(1.0 - probs, gamma) * (-y_true * jnp.log(probs))
    return jnp.sum(terms, axis=axis)


def dice(y_true, y_pred, axis=None):
    """Computes the Dice loss value between `y_true` and `y_pred`.

    `loss = 1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred))`

    Args:
        y_true: tensor of true targets.
        y_pred: tensor of predicted targets.
        axis: tuple for which dimensions the loss is calculated. Defaults to
            `None` (everything: one value for the batch).

    ```python
    dice(np.array([[1., 0.], [0., 1.]]), np.array([[0.9, 0.2], [0.1, 0.7]]), axis=(1,))
    ```
    """
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    overlap = jnp.sum(y_true * y_pred, axis=axis)
    total = jnp.sum(y_true, axis=axis) + jnp.sum(y_pred, axis=axis)
    return 1 - 2.0 * overlap / (total + config.epsilon())


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """Computes the Tversky loss value between `y_true` and `y_pred`.

    A Dice loss whose false positives weigh `alpha` and false negatives `beta`.

    Args:
        y_true: tensor of true targets.
        y_pred: tensor of predicted targets.
        alpha: coefficient controlling incidence of false positives. Defaults to `0.5`.
        beta: coefficient controlling incidence of false negatives. Defaults to `0.5`.
        axis: tuple for which dimensions the loss is calculated. Defaults to `None`.

    ```python
    tversky(np.array([[1., 0.]]), np.array([[0.8, 0.3]]), alpha=0.3, beta=0.7)
    ```
    """
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    overlap = jnp.sum(y_true * y_pred, axis=axis)
    # Keras 3's naming: with `inputs=y_true`, `targets=y_pred`.
    fp = jnp.sum((1 - y_pred) * y_true, axis=axis)
    fn = jnp.sum(y_pred * (1 - y_true), axis=axis)
    return 1 - overlap / (overlap + fp * alpha + fn * beta + config.epsilon())


def _pos_neg_masks(query_labels, key_labels, remove_diagonal):
    query_labels = query_labels.reshape(-1, 1) if query_labels.ndim == 1 else query_labels
    key_labels = key_labels.reshape(-1, 1) if key_labels.ndim == 1 else key_labels
    positive = query_labels == key_labels.T
    negative = ~positive
    if remove_diagonal:
        positive = positive & ~jnp.eye(query_labels.size, key_labels.size, dtype=bool)
    return positive, negative


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True,
           gamma=80, margin=0.4):
    """Computes the Circle loss for metric learning.

    Pulls same-label embeddings together and pushes different-label ones apart, each
    pair weighted by how far it is from its optimum. Embeddings should be L2-normalized.

    Args:
        y_true: Tensor with ground truth labels in integer format, `(batch_size,)`.
        y_pred: Tensor with predicted L2 normalized embeddings, `(batch_size, dim)`.
        ref_labels: Optional integer tensor with labels for reference
            embeddings. If `None`, defaults to `y_true`.
        ref_embeddings: Optional tensor with L2 normalized reference embeddings.
            If `None`, defaults to `y_pred`.
        remove_diagonal: Boolean, whether to remove self-similarities from
            positive mask. Defaults to `True`.
        gamma: Float, scaling factor for the loss. Defaults to `80`.
        margin: Float, relaxation factor for the loss. Defaults to `0.4`.

    ```python
    emb = np.array([[0.6, 0.8], [0.8, 0.6], [-0.6, 0.8]])
    circle(np.array([0, 0, 1]), emb)
    ```
    """
    y_pred = _as_float(y_pred)
    y_true = jnp.asarray(y_true).astype(jnp.int32)
    ref_embeddings = y_pred if ref_embeddings is None else _as_float(ref_embeddings)
    ref_labels = y_true if ref_labels is None else jnp.asarray(ref_labels).astype(jnp.int32)
    distances = jnp.maximum(1 - y_pred @ ref_embeddings.T, 0.0)
    positive, negative = _pos_neg_masks(y_true, ref_labels, remove_diagonal)
    pos_weights = jnp.maximum((margin + distances) * positive.astype(distances.dtype), 0.0)
    neg_weights = jnp.maximum((1 + margin - distances) * negative.astype(distances.dtype),
                              0.0)
    pos_logits = -gamma * pos_weights * (margin - distances)
    neg_logits = gamma * neg_weights * ((1 - margin) - distances)
    p_loss = jax.nn.logsumexp(jnp.where(positive, pos_logits, -jnp.inf), axis=1)
    n_loss = jax.nn.logsumexp(jnp.where(negative, neg_logits, -jnp.inf), axis=1)
    return jax.nn.softplus(p_loss + n_loss)


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """Computes the Generalized Cross Entropy loss, robust to noisy labels.

    `loss = (1 - p_true ** q) / q`: crossentropy as `q -> 0`, MAE at `q = 1`.

    Args:
        y_true: Integer class labels, shape `(batch_size,)`.
        y_pred: Predicted class probabilities, shape `(batch_size, num_classes)`.
        q: Float in `(0, 1)`, the robustness parameter.

    ```python
    categorical_generalized_cross_entropy(np.array([0, 1]), np.array([[0.7, 0.3],
                                                                      [0.2, 0.8]]), q=0.5)
    ```
    """
    y_pred = _as_float(y_pred)
    labels = jnp.asarray(y_true).astype(jnp.int32)
    p = jnp.sum(y_pred * jax.nn.one_hot(labels, y_pred.shape[-1], dtype=y_pred.dtype),
                axis=-1)
    return (1 - jnp.power(p, q)) / q


def ctc(y_true, y_pred):
    """Computes the CTC (Connectionist Temporal Classification) loss.

    Label id 0 is the blank and also pads `y_true`; every sequence in `y_pred` is used
    at its full length.

    Args:
        y_true: A tensor of shape `(batch_size, max_length)` containing
            the true labels in integer format. `0` always represents
            the blank/mask index and should not be used for classes.
        y_pred: A tensor of shape `(batch_size, max_length, num_classes)`
            containing logits (the output of your model).
            They should *not* be normalized via softmax.

    ```python
    ctc(np.array([[1, 2, 0]]), np.random.normal(size=(1, 6, 4)))
    ```
    """
    import optax   # noqa: PLC0415 - only CTC needs it; keeps `import gazelle.losses` light

    y_true = jnp.asarray(y_true)
    y_pred = _as_float(y_pred)
    if y_true.ndim != 2:
        raise ValueError("Targets `y_true` are expected to be a tensor of shape "
                         "`(batch_size, max_length)` in integer format. "
                         f"Received: y_true.shape={y_true.shape}")
    if y_pred.ndim != 3:
        raise ValueError("Logits `y_pred` are expected to be a tensor of shape "
                         "`(batch_size, max_length, num_classes)`. "
                         f"Received: y_pred.shape={y_pred.shape}")
    labels = y_true.astype(jnp.int32)
    label_lengths = jnp.sum(labels != 0, axis=-1)
    label_paddings = (jnp.arange(labels.shape[1])[None] >= label_lengths[:, None])
    logit_paddings = jnp.zeros(y_pred.shape[:2], y_pred.dtype)
    return optax.ctc_loss(y_pred, logit_paddings, labels,
                          label_paddings.astype(y_pred.dtype), blank_id=0)


class BinaryFocalCrossentropy(_Wrapped):
    """Computes focal cross-entropy loss between true labels and predictions.

    Args:
        apply_class_balancing: A bool, whether to apply weight balancing on the
            binary classes 0 and 1.
        alpha: A weight balancing factor for class 1, default is `0.25` as
            mentioned in reference. The weight for class 0 is `1.0 - alpha`.
        gamma: A focusing parameter used to compute the focal factor, default is
            `2.0` as mentioned in the reference.
        from_logits: Whether to interpret `y_pred` as a tensor of logit values.
            By default, we assume that `y_pred` are probabilities (i.e., values in
            `[0, 1]`).
        label_smoothing: Float in `[0, 1]`. When `0`, no smoothing occurs. When >
            `0`, we compute the loss between the predicted labels and a smoothed
            version of the true labels, where the smoothing squeezes the labels
            towards `0.5`.
        axis: The axis along which to compute crossentropy (the features axis).
            Defaults to `-1`.
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to
            `"binary_focal_crossentropy"`.
        dtype: see `Loss`. Defaults to `None`.

    ```python
    loss = BinaryFocalCrossentropy(gamma=2.0, from_logits=True)
    loss(np.array([[0.], [1.]]), np.array([[-2.], [3.]]))
    ```
    """

    _options = ("from_logits", "label_smoothing", "axis", "apply_class_balancing", "alpha",
                "gamma")

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_focal_crossentropy", dtype=None):
        super().__init__(binary_focal_crossentropy, name, reduction, dtype,
                         apply_class_balancing=apply_class_balancing, alpha=alpha,
                         gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class CategoricalFocalCrossentropy(_Wrapped):
    """Computes the alpha-balanced focal crossentropy loss over one-hot labels.

    Args:
        alpha: A weight balancing factor for all classes, default is `0.25` as
            mentioned in the reference.
        gamma: A focusing parameter, default is `2.0` as mentioned in the
            reference.
        from_logits: Whether `y_pred` is expected to be a logits tensor. By
            default, we assume that `y_pred` encodes a probability distribution.
        label_smoothing: Float in [0, 1]. When > 0, label values are smoothed,
            meaning the confidence on label values are relaxed.
        axis: The axis along which to compute crossentropy (the features axis).
            Defaults to `-1`.
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to
            `"categorical_focal_crossentropy"`.
        dtype: see `Loss`. Defaults to `None`.

    ```python
    loss = CategoricalFocalCrossentropy(gamma=3.0)
    loss(np.array([[0., 1., 0.]]), np.array([[0.05, 0.9, 0.05]]))
    ```
    """

    _options = ("from_logits", "label_smoothing", "axis", "alpha", "gamma")

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
                 axis=-1, reduction="sum_over_batch_size",
                 name="categorical_focal_crossentropy", dtype=None):
        super().__init__(categorical_focal_crossentropy, name, reduction, dtype, alpha=alpha,
                         gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class Dice(_Wrapped):
    """Computes the Dice loss value between `y_true` and `y_pred`.

    Args:
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to `"dice"`.
        axis: Tuple for which dimensions the loss is calculated. Defaults to
            `None` (all of them).
        dtype: see `Loss`. Defaults to `None`.

    ```python
    Dice(axis=(1, 2))(masks, predicted_masks)
    ```
    """

    _options = ("axis",)

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(dice, name, reduction, dtype, axis=axis)


class Tversky(_Wrapped):
    """Computes the Tversky loss value between `y_true` and `y_pred`.

    Args:
        alpha: The coefficient controlling incidence of false positives.
            Defaults to `0.5`.
        beta: The coefficient controlling incidence of false negatives.
            Defaults to `0.5`.
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to `"tversky"`.
        axis: Tuple for which dimensions the loss is calculated. Defaults to `None`.
        dtype: see `Loss`. Defaults to `None`.

    ```python
    Tversky(alpha=0.3, beta=0.7)(masks, predicted_masks)
    ```
    """

    _options = ("alpha", "beta", "axis")

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky",
                 axis=None, dtype=None):
        super().__init__(tversky, name, reduction, dtype, alpha=alpha, beta=beta, axis=axis)


class Circle(_Wrapped):
    """Computes Circle Loss between integer labels and L2-normalized embeddings.

    The batch mean is taken over the samples whose loss is positive, as in Keras 3.

    Args:
        gamma: Scaling factor that determines the largest scale of each
            similarity score. Defaults to `80`.
        margin: The relaxation factor, below this distance, negatives are
            up weighted and positives are down weighted. Similarly, above this
            distance negatives are down weighted and positive are up weighted.
            Defaults to `0.4`.
        remove_diagonal: Boolean, whether to remove self-similarities from the
            positive mask. Defaults to `True`.
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to `"circle"`.
        dtype: see `Loss`. Defaults to `None`.

    ```python
    model.compile(loss=Circle(gamma=80.0, margin=0.4), optimizer="adam")
    ```
    """

    _options = ("gamma", "margin", "remove_diagonal")

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True,
                 reduction="sum_over_batch_size", name="circle", dtype=None):
        super().__init__(circle, name, reduction, dtype, gamma=gamma, margin=margin,
                         remove_diagonal=remove_diagonal)

    def _mask(self, y_true, y_pred):
        return self.call(y_true, y_pred) > 0


class CategoricalGeneralizedCrossEntropy(_Wrapped):
    """Computes the Generalized Cross Entropy loss between integer labels and
    probabilities (robust to noisy labels).

    Args:
        q: Float in range `(0, 1)`. The robustness parameter: near 0 behaves like
            crossentropy, near 1 like mean absolute error. Defaults to `0.5`.
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to
            `"categorical_generalized_cross_entropy"`.
        dtype: see `Loss`. Defaults to `None`.

    ```python
    CategoricalGeneralizedCrossEntropy(q=0.7)(np.array([0, 1]),
                                              np.array([[0.7, 0.3], [0.2, 0.8]]))
    ```
    """

    _options = ("q",)

    def __init__(self, q=0.5, reduction="sum_over_batch_size",
                 name="categorical_generalized_cross_entropy", dtype=None):
        if not 0 < q < 1:
            raise ValueError(f"CategoricalGeneralizedCrossEntropy: `q` must be in the "
                             f"interval (0, 1); received q={q}.")
        super().__init__(categorical_generalized_cross_entropy, name, reduction, dtype, q=q)


class CTC(_Wrapped):
    """CTC (Connectionist Temporal Classification) loss.

    Args:
        reduction: see `Loss`. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to `"ctc"`.
        dtype: see `Loss`. Defaults to `None`.

    ```python
    CTC()(np.array([[1, 2, 0]]), np.random.normal(size=(1, 6, 4)))
    ```
    """

    def __init__(self, reduction="sum_over_batch_size", name="ctc", dtype=None):
        super().__init__(ctc, name, reduction, dtype)


_FUNCTIONS.update({fn.__name__: fn for fn in (
    binary_focal_crossentropy, categorical_focal_crossentropy, dice, tversky, circle,
    categorical_generalized_cross_entropy, ctc)})
_CLASSES.update({cls.__name__: cls for cls in (
    BinaryFocalCrossentropy, CategoricalFocalCrossentropy, Dice, Tversky, Circle,
    CategoricalGeneralizedCrossEntropy, CTC)})
