"""More normalization layers: RMSNormalization, GroupNormalization, UnitNormalization,
and the SpectralNormalization wrapper. [L2: initializers, regularizers]

BatchNormalization and LayerNormalization live in `normalization.py`. The first three keep
no running statistics: each normalizes every sample on its own. SpectralNormalization
rescales the kernel of the layer it wraps by the kernel's largest singular value.
"""
import numbers

import jax
import jax.numpy as jnp

from gazelle import initializers
from gazelle.layers import input_spec
from gazelle.layers.layer import Layer


def _axes(layer, axis, ndim, shape):
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, int):
            raise TypeError(f"{layer}: `axis` must be an int or a list of ints. Received: "
                            f"axis={axis!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"{layer}: axis {a} is out of bounds for input shape "
                             f"{tuple(shape)}. Received: axis={axis!r}")
    return sorted(a % ndim for a in axes)


def _check_axis_arg(layer, axis):
    items = axis if isinstance(axis, (list, tuple)) else [axis]
    if not items or any(isinstance(a, bool) or not isinstance(a, int) for a in items):
        raise TypeError(f"Invalid value for `axis` argument of {layer}: expected an int or a "
                        f"list/tuple of ints. Received: axis={axis!r}")


class RMSNormalization(Layer):
    """Root-mean-square normalization (Zhang & Sennrich, 2019).

    `outputs = inputs * rsqrt(mean(inputs ** 2, axis) + epsilon) * scale`, with a learned
    `scale` over the normalized axes (initialized to ones). Unlike LayerNormalization
    it neither centers the inputs nor adds a bias.

    Args:
        axis: int or list of ints, the axes normalized over (default -1).
        epsilon: small float added to the mean square (default 1e-6).

    ```python
    layer = keras.layers.RMSNormalization()
    y = layer(np.random.rand(2, 4, 8).astype("float32"))    # each row has rms ~1
    ```
    """

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        _check_axis_arg("RMSNormalization", axis)
        self.axis = axis
        self.epsilon = epsilon

    def build(self, input_shape):
        axes = _axes(self.name, self.axis, len(input_shape), input_shape)
        shape = tuple(input_shape[a] for a in axes)
        if any(d is None for d in shape):
            raise ValueError(f"Layer '{self.name}' needs known sizes on the normalized axes "
                             f"{axes}; received shape {tuple(input_shape)}.")
        self._norm_axes = axes
        self.axis = sorted(self.axis) if isinstance(self.axis, (list, tuple)) else [self.axis]
        self.scale = self.add_weight(shape=shape, initializer="ones", name="scale")
        self.built = True

    def _check_input(self, inputs):
        shape = tuple(inputs.shape)
        input_spec.check_rank(self, shape, ndim=len(self._build_shapes[0]))
        for a, size in zip(self._norm_axes, self.scale.shape):
            if shape[a] != size:
                raise ValueError(f"Layer '{self.name}' expects size {size} on axis {a}; "
                                 f"received shape {shape}.")

    def call(self, inputs):
        axes = tuple(self._norm_axes)
        mean_square = jnp.mean(jnp.square(inputs), axis=axes, keepdims=True)
        outputs = inputs * jax.lax.rsqrt(mean_square + self.epsilon)
        shape = [1] * inputs.ndim
        for a, size in zip(axes, self.scale.shape):
            shape[a] = size
        return outputs * jnp.reshape(self.scale.value, shape)

    def compute_output_shape(self, input_shape):
        _axes(self.name, self.axis, len(input_shape), input_shape)
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}


class GroupNormalization(Layer):
    """Group normalization (Wu & He, 2018): channels split into `groups`, each normalized
    over its channels and the other non-batch axes, per sample.

    `groups=1` is LayerNormalization over all axes; `groups=-1` (one group per channel) is
    instance normalization.

    Args:
        groups: number of groups (a divisor of the channel count), or -1 for one group per
            channel (default 32).
        axis: the channels axis (default -1).
        epsilon: small float added to the variance (default 1e-3).
        center: whether to add the learned offset `beta` (default True).
        scale: whether to multiply by the learned `gamma` (default True).
        beta_initializer, gamma_initializer: initializers (defaults `"zeros"`, `"ones"`).
        beta_regularizer, gamma_regularizer: optional regularizers.
        beta_constraint, gamma_constraint: optional constraints.

    ```python
    layer = keras.layers.GroupNormalization(groups=4)
    y = layer(np.random.rand(2, 8, 8, 16).astype("float32"))
    ```
    """

    supports_masking = True

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        if isinstance(groups, bool) or not isinstance(groups, int) or (
                groups <= 0 and groups != -1):
            raise ValueError(
                "Received an invalid value for argument `groups`, expected a positive "
                f"integer (or `-1` for instance normalization). Received: groups={groups!r}")
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise TypeError(f"GroupNormalization: `axis` must be an int. Received: "
                            f"axis={axis!r}")
        self.groups = groups
        self.axis = axis
        self.epsilon = epsilon
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = _regularizer(beta_regularizer)
        self.gamma_regularizer = _regularizer(gamma_regularizer)
        self.beta_constraint = beta_constraint
        self.gamma_constraint = gamma_constraint

    def build(self, input_shape):
        axis = _axes(self.name, self.axis, len(input_shape), input_shape)[0]
        dim = input_shape[axis]
        if dim is None:
            raise ValueError(f"Axis {self.axis} of input tensor should have a defined "
                             f"dimension but the layer received an input with shape "
                             f"{tuple(input_shape)}.")
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups:
            raise ValueError(f"Number of groups ({self.groups}) cannot be more than the "
                             f"number of channels ({dim}).")
        if dim % self.groups:
            raise ValueError(f"Number of groups ({self.groups}) must be a divisor of the "
                             f"number of channels ({dim}).")
        self._channel_axis = axis
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight(
                shape=(dim,), initializer=self.gamma_initializer, name="gamma",
                regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight(
                shape=(dim,), initializer=self.beta_initializer, name="beta",
                regularizer=self.beta_regularizer, constraint=self.beta_constraint)
        self._channels = dim
        self._rank = len(input_shape)
        self.built = True

    def _check_input(self, inputs):
        shape = tuple(inputs.shape)
        input_spec.check_rank(self, shape, ndim=self._rank)
        if shape[self._channel_axis] != self._channels:
            raise ValueError(
                f"Layer '{self.name}' expects {self._channels} channels on axis "
                f"{self._channel_axis}; received shape {shape}.")

    def call(self, inputs):
        axis, groups = self._channel_axis, self.groups
        shape = inputs.shape
        grouped = list(shape)
        grouped[axis:axis + 1] = [groups, shape[axis] // groups]
        x = jnp.reshape(inputs, grouped)
        reduce = tuple(i for i in range(1, len(grouped)) if i != axis)
        mean = jnp.mean(x, axis=reduce, keepdims=True)
        variance = jnp.var(x, axis=reduce, keepdims=True)
        inv = jax.lax.rsqrt(variance + self.epsilon)
        params = [1] * len(grouped)
        params[axis:axis + 2] = [groups, shape[axis] // groups]
        if self.gamma is not None:
            inv = inv * jnp.reshape(self.gamma.value, params)
        offset = -mean * inv
        if self.beta is not None:
            offset = offset + jnp.reshape(self.beta.value, params)
        return jnp.reshape(x * inv + offset, shape)

    def compute_output_shape(self, input_shape):
        _axes(self.name, self.axis, len(input_shape), input_shape)
        return tuple(input_shape)

    def get_config(self):
        from gazelle.core.serialization import serialize_keras_object as ser
        return {**super().get_config(), "groups": self.groups, "axis": self.axis,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": ser(self.beta_regularizer),
                "gamma_regularizer": ser(self.gamma_regularizer),
                "beta_constraint": ser(self.beta_constraint),
                "gamma_constraint": ser(self.gamma_constraint)}


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm along `axis`: `x / max(||x||, 1e-12)`.

    Args:
        axis: int or list of ints, the axes the norm is taken over (default -1).

    ```python
    keras.layers.UnitNormalization()(np.array([[3.0, 4.0]]))     # [[0.6, 0.8]]
    ```
    """

    supports_masking = True

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        _check_axis_arg("UnitNormalization", axis)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis

    def call(self, inputs):
        axes = tuple(_axes(self.name, self.axis, inputs.ndim, inputs.shape))
        inv_norm = jax.lax.rsqrt(jnp.sum(jnp.square(inputs), axis=axes, keepdims=True))
        return inputs * jnp.minimum(inv_norm, 1e12)

    def compute_output_shape(self, input_shape):
        _axes(self.name, self.axis, len(input_shape), input_shape)
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _l2_normalize_all(x):
    inv_norm = jax.lax.rsqrt(jnp.sum(jnp.square(x)))
    return x * jnp.minimum(inv_norm, 1e7)


class SpectralNormalization(Layer):
    """Spectral normalization of a wrapped layer's kernel (Miyato et al., 2018).

    In training, a few power iterations estimate the kernel's largest singular value
    `sigma` (the vector `vector_u` carries the estimate from step to step), and the
    kernel is replaced by `kernel / sigma` before the wrapped layer runs. At inference
    the wrapped layer runs with its kernel as it is.

    Args:
        layer: a layer with a `kernel` (Dense, Conv2D, ...) or `embeddings` (Embedding)
            weight.
        power_iterations: number of power iterations per training call (default 1).

    ```python
    layer = keras.layers.SpectralNormalization(keras.layers.Conv2D(2, 2))
    y = layer(np.ones((1, 10, 10, 1), "float32"), training=True)    # (1, 9, 9, 2)
    ```
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ValueError("SpectralNormalization: `layer` must be a Layer instance, such "
                             f"as keras.layers.Dense(3). Received: layer={layer!r}")
        if isinstance(power_iterations, bool) or not isinstance(
                power_iterations, numbers.Integral) or power_iterations <= 0:
            raise ValueError("`power_iterations` should be greater than zero. Received: "
                             f"`power_iterations={power_iterations!r}`")
        self.layer = layer
        self.power_iterations = int(power_iterations)

    def build(self, input_shape):
        self.layer._maybe_build([tuple(input_shape)])
        if hasattr(self.layer, "kernel"):
            self.kernel = self.layer.kernel
        elif hasattr(self.layer, "embeddings"):
            self.kernel = self.layer.embeddings
        else:
            raise ValueError(f"{type(self.layer).__name__} object has no attribute 'kernel' "
                             "nor 'embeddings'")
        self.kernel_shape = tuple(self.kernel.shape)
        self.vector_u = self.add_weight(
            shape=(1, self.kernel_shape[-1]), trainable=False, name="vector_u",
            initializer=initializers.TruncatedNormal(stddev=0.02))
        self.built = True

    def normalized_weights(self):
        """`(vector_u, kernel / sigma)` after `power_iterations` power iterations."""
        kernel = self.kernel.value
        weights = jnp.reshape(kernel, (-1, self.kernel_shape[-1]))
        vector_u = self.vector_u.value
        for _ in range(self.power_iterations):
            vector_v = _l2_normalize_all(vector_u @ weights.T)
            vector_u = _l2_normalize_all(vector_v @ weights)
        vector_u = jax.lax.stop_gradient(vector_u)
        vector_v = jax.lax.stop_gradient(vector_v)
        sigma = (vector_v @ weights) @ vector_u.T
        return vector_u, jnp.reshape(kernel / sigma, self.kernel_shape)

    def call(self, inputs, training=False):
        if training:
            new_u, new_kernel = self.normalized_weights()
            zero = jnp.all(self.kernel.value == 0)      # an all-zero kernel stays as it is
            self.vector_u.assign(jnp.where(zero, self.vector_u.value, new_u))
            self.kernel.assign(jnp.where(zero, self.kernel.value, new_kernel))
        outputs = self.layer(inputs)
        # Keras 3 casts to the inputs' dtype, which turns an Embedding's vectors into the
        # ids' integers; float outputs stay float here.
        if jnp.issubdtype(jnp.asarray(inputs).dtype, jnp.floating):
            outputs = outputs.astype(jnp.asarray(inputs).dtype)
        return outputs

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        from gazelle.core.serialization import serialize_keras_object
        return {**super().get_config(), "layer": serialize_keras_object(self.layer),
                "power_iterations": self.power_iterations}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from gazelle.core.serialization import deserialize_keras_object
        config = dict(config)
        if not isinstance(config.get("layer"), Layer):
            config["layer"] = deserialize_keras_object(config["layer"],
                                                       custom_objects=custom_objects,
                                                       kind="layer")
        return cls(**config)


def _regularizer(identifier):
    if identifier is None:
        return None
    from gazelle import regularizers
    return regularizers.get(identifier)


__all__ = ["RMSNormalization", "GroupNormalization", "UnitNormalization",
           "SpectralNormalization"]
