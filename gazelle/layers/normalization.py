"""Normalization layers: BatchNormalization, LayerNormalization. [L2: core, initializers,
regularizers]

BatchNormalization is the anchor for mutable state: its moving statistics are
non-trainable weights updated with `assign` in `call`; run through `stateless_call`
(as the trainer does) the updates come back as new values instead of mutations.
"""
import jax
import jax.numpy as jnp

from gazelle import initializers, regularizers
from gazelle.layers import input_spec
from gazelle.layers.layer import Layer


def _ser(obj):
    from gazelle.core.serialization import serialize_keras_object
    return serialize_keras_object(obj)


def _normalize(x, mean, variance, gamma, beta, epsilon):
    """`gamma * (x - mean) / sqrt(variance + epsilon) + beta`, in Keras's operation order."""
    inv = jax.lax.rsqrt(variance + epsilon)
    if gamma is not None:
        inv = inv * gamma
    offset = -mean * inv
    if beta is not None:
        offset = offset + beta
    return x * inv + offset


def _check_axes(layer, axes, ndim, shape):
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(
                f"Layer '{layer.name}': axis {a} is out of bounds for inputs of rank {ndim} "
                f"(shape {tuple(shape)}). Received: axis={layer.axis}")
    return sorted(a % ndim for a in axes)


class BatchNormalization(Layer):
    """Normalizes its inputs with batch statistics in training, moving ones at inference.

    With `training=True` (as in `fit`) the output is
    `gamma * (x - mean(x)) / sqrt(var(x) + epsilon) + beta` over the batch, and the
    moving statistics are updated:
    `moving_mean = moving_mean * momentum + mean(x) * (1 - momentum)` (same for the
    variance). With `training=False` (`evaluate`, `predict`, plain calls) the moving
    statistics are used instead. Setting `layer.trainable = False` freezes the layer
    *and* makes it run in inference mode (Keras 3 behaviour).

    Args:
        axis: int, the features axis to normalize (default -1; use 1 after a
            `Conv2D` with `data_format="channels_first"`).
        momentum: momentum for the moving averages (default 0.99).
        epsilon: small float added to the variance to avoid dividing by zero
            (default 1e-3).
        center: if True (default), add the learned offset `beta`.
        scale: if True (default), multiply by the learned factor `gamma`.
        beta_initializer: initializer for beta (default `"zeros"`).
        gamma_initializer: initializer for gamma (default `"ones"`).
        moving_mean_initializer: initializer for the moving mean (default `"zeros"`).
        moving_variance_initializer: initializer for the moving variance
            (default `"ones"`).
        beta_regularizer, gamma_regularizer: optional weight regularizers.
        beta_constraint, gamma_constraint: optional weight constraints.

    ```python
    model = keras.Sequential([
        keras.layers.Flatten(input_shape=[28, 28]),
        keras.layers.BatchNormalization(),
        keras.layers.Dense(300, activation="relu"),
    ])
    ```
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            if isinstance(axis, (list, tuple)) and len(axis) == 1:
                axis = axis[0]
            else:
                raise TypeError(
                    "BatchNormalization: `axis` must be an int (the features axis). "
                    f"Received: axis={axis!r}")
        if synchronized or renorm:
            raise ValueError(
                "BatchNormalization: `synchronized=True` and `renorm=True` are not supported "
                f"by gazelle. Received: synchronized={synchronized}, renorm={renorm}")
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = beta_constraint
        self.gamma_constraint = gamma_constraint
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = renorm_momentum
        self.gamma = self.beta = None

    def build(self, input_shape):
        ndim = len(input_shape)
        (axis,) = _check_axes(self, [self.axis], ndim, input_shape)
        if input_shape[axis] is None:
            raise ValueError(
                f"Layer '{self.name}' needs a known size on axis {self.axis} to create its "
                f"weights; received shape {tuple(input_shape)}.")
        shape = (input_shape[axis],)
        if self.scale:
            self.gamma = self.add_weight(
                shape=shape, initializer=self.gamma_initializer, name="gamma",
                regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight(
                shape=shape, initializer=self.beta_initializer, name="beta",
                regularizer=self.beta_regularizer, constraint=self.beta_constraint)
        self.moving_mean = self.add_weight(
            shape=shape, initializer=self.moving_mean_initializer, name="moving_mean",
            trainable=False)
        self.moving_variance = self.add_weight(
            shape=shape, initializer=self.moving_variance_initializer,
            name="moving_variance", trainable=False)
        self._ndim = ndim

    def _check_input(self, inputs):
        shape = tuple(inputs.shape)
        input_spec.check_rank(self, shape, ndim=self._ndim)
        size = self.moving_mean.shape[0]
        if shape[self.axis] != size:
            raise ValueError(
                f"Layer '{self.name}' expects inputs with size {size} on axis {self.axis}, "
                f"but received shape {shape}.")

    def call(self, inputs, training=None):
        ndim = inputs.ndim
        axis = self.axis % ndim
        reduce_axes = tuple(i for i in range(ndim) if i != axis)
        bshape = [1] * ndim
        bshape[axis] = inputs.shape[axis]
        if training and self.trainable:
            mean = jnp.mean(inputs, axis=reduce_axes)
            variance = jnp.var(inputs, axis=reduce_axes)
            m = self.momentum
            self.moving_mean.assign(self.moving_mean.value * m + mean * (1.0 - m))
            self.moving_variance.assign(self.moving_variance.value * m + variance * (1.0 - m))
        else:
            mean, variance = self.moving_mean.value, self.moving_variance.value
        gamma = None if self.gamma is None else self.gamma.value.reshape(bshape)
        beta = None if self.beta is None else self.beta.value.reshape(bshape)
        return _normalize(inputs, mean.reshape(bshape), variance.reshape(bshape), gamma, beta,
                          self.epsilon)

    def compute_output_shape(self, input_shape):
        _check_axes(self, [self.axis], len(input_shape), input_shape)
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": initializers.serialize(
                    self.moving_variance_initializer),
                "beta_regularizer": _ser(self.beta_regularizer),
                "gamma_regularizer": _ser(self.gamma_regularizer),
                "beta_constraint": _ser(self.beta_constraint),
                "gamma_constraint": _ser(self.gamma_constraint),
                "synchronized": False, "renorm": False,
                "renorm_clipping": self.renorm_clipping,
                "renorm_momentum": self.renorm_momentum}


class LayerNormalization(Layer):
    """Normalizes each sample over its last axis (or `axis`), independently of the batch.

    Output: `gamma * (x - mean) / sqrt(var + epsilon) + beta`, with mean and variance
    taken over `axis` for each sample. Same behaviour in training and inference.

    Args:
        axis: int or list of ints, the axes to normalize over (default -1).
        epsilon: small float added to the variance (default 1e-3).
        center: if True (default), add the learned offset `beta`.
        scale: if True (default), multiply by the learned factor `gamma`.
        beta_initializer: initializer for beta (default `"zeros"`).
        gamma_initializer: initializer for gamma (default `"ones"`).
        beta_regularizer, gamma_regularizer: optional weight regularizers.
        beta_constraint, gamma_constraint: optional weight constraints.

    ```python
    keras.layers.LayerNormalization(epsilon=1e-6)
    ```
    """

    supports_masking = True     # passes its input's mask on, as in Keras 3

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 rms_scaling=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)) and all(
                isinstance(a, int) and not isinstance(a, bool) for a in axis):
            axis = list(axis)
        elif isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError("LayerNormalization: `axis` must be an int or a list of ints. "
                            f"Received: axis={axis!r}")
        if rms_scaling:
            raise ValueError("LayerNormalization: `rms_scaling=True` is deprecated in Keras "
                             "and not supported by gazelle. Received: rms_scaling=True")
        self.axis = axis
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = beta_constraint
        self.gamma_constraint = gamma_constraint
        self.gamma = self.beta = None

    def _axes(self, shape):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        return _check_axes(self, axes, len(shape), shape)

    def build(self, input_shape):
        axes = self._axes(input_shape)
        shape = tuple(input_shape[a] for a in axes)
        if None in shape:
            raise ValueError(
                f"Layer '{self.name}' needs known sizes on axis {self.axis} to create its "
                f"weights; received shape {tuple(input_shape)}.")
        if self.scale:
            self.gamma = self.add_weight(
                shape=shape, initializer=self.gamma_initializer, name="gamma",
                regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight(
                shape=shape, initializer=self.beta_initializer, name="beta",
                regularizer=self.beta_regularizer, constraint=self.beta_constraint)
        self._ndim = len(input_shape)
        self._param_shape = shape

    def _check_input(self, inputs):
        shape = tuple(inputs.shape)
        input_spec.check_rank(self, shape, ndim=self._ndim)
        got = tuple(shape[a] for a in self._axes(shape))
        if got != self._param_shape:
            raise ValueError(
                f"Layer '{self.name}' expects inputs with sizes {self._param_shape} on axis "
                f"{self.axis}, but received shape {shape}.")

    def call(self, inputs):
        axes = tuple(self._axes(inputs.shape))
        bshape = [inputs.shape[i] if i in axes else 1 for i in range(inputs.ndim)]
        mean = jnp.mean(inputs, axis=axes, keepdims=True)
        variance = jnp.var(inputs, axis=axes, keepdims=True)
        gamma = None if self.gamma is None else self.gamma.value.reshape(bshape)
        beta = None if self.beta is None else self.beta.value.reshape(bshape)
        return _normalize(inputs, mean, variance, gamma, beta, self.epsilon)

    def compute_output_shape(self, input_shape):
        self._axes(input_shape)
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "rms_scaling": False,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": _ser(self.beta_regularizer),
                "gamma_regularizer": _ser(self.gamma_regularizer),
                "beta_constraint": _ser(self.beta_constraint),
                "gamma_constraint": _ser(self.gamma_constraint)}


__all__ = ["BatchNormalization", "LayerNormalization"]
