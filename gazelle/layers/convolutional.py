"""Convolution layers: Conv1D/2D/3D, DepthwiseConv1D/2D, SeparableConv1D/2D, Conv*DTranspose. [L2]

Each layer is one convolution plus bias and activation. On CPUs: a shifted-patches matrix
product (`_patches_conv`), an overlap-add for transposed ones (`_overlap_add_transpose`)
and shifted elementwise products for depthwise ones (`_shifted_depthwise`); elsewhere
`jax.lax`. Kernels have Keras 3's
layout and names (`kernel` `(*kernel_size, in_channels, filters)`, `bias`), so weights
move between gazelle and Keras unchanged. The argument checks at the top are shared with
`pooling.py`. May import: jax, gazelle.config, activations, initializers, regularizers,
gazelle.layers.layer.
"""
import functools
import math

import jax

from gazelle import activations, config, initializers
from gazelle.layers.layer import Layer

_SPATIAL_NAMES = {1: ("steps",), 2: ("height", "width"), 3: ("depth", "height", "width")}


# -- argument checks (shared with pooling.py) -------------------------------------
def standardize_tuple(value, rank, arg, owner):
    """`value` (an int or `rank` ints) as a tuple of `rank` positive ints, else ValueError."""
    items = (value,) * rank if isinstance(value, int) and not isinstance(value, bool) else value
    try:
        items = tuple(items)
    except TypeError:
        items = ()
    ok = len(items) == rank and all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in items)
    if not ok:
        raise ValueError(
            f"{owner}: `{arg}` must be a positive int or a tuple of {rank} positive ints. "
            f"Received: {arg}={value!r}")
    return items


def standardize_padding(value, owner, allowed=("valid", "same")):
    """The lower-cased padding name, else ValueError listing the valid names."""
    padding = value.lower() if isinstance(value, str) else value
    if padding not in allowed:
        raise ValueError(
            f"{owner}: `padding` must be one of {list(allowed)}. Received: padding={value!r}")
    return padding


def standardize_data_format(value, owner):
    """`value` or the global `image_data_format()`, checked."""
    data_format = config.image_data_format() if value is None else value
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"{owner}: `data_format` must be 'channels_last' or 'channels_first'. "
            f"Received: data_format={value!r}")
    return data_format


def check_rank(layer, shape, rank):
    """Raises if `shape` is not a batch of `rank`-D inputs, suggesting a channel axis."""
    shape = tuple(shape)
    if len(shape) == rank + 2:
        return
    names = _SPATIAL_NAMES[rank]
    layout = (("batch",) + names + ("channels",) if layer.data_format == "channels_last"
              else ("batch", "channels") + names)
    hint = ""
    if len(shape) == rank + 1:
        if layer.data_format == "channels_last":
            hint = (" If the inputs have a single channel, add a channel axis: "
                    "`x = np.expand_dims(x, -1)` (or `x[..., np.newaxis]`), or put "
                    f"`keras.layers.Reshape({shape[1:] + (1,)})` before this layer.")
        else:
            hint = (" If the inputs have a single channel, add a channel axis: "
                    "`x = np.expand_dims(x, 1)`, or put "
                    f"`keras.layers.Reshape({(1,) + shape[1:]})` before this layer.")
    raise ValueError(
        f"Input 0 of layer '{layer.name}' is incompatible with the layer: expected "
        f"ndim={rank + 2}, i.e. ({', '.join(layout)}), found ndim={len(shape)}. "
        f"Full shape received: {shape}.{hint}")


def conv_output_length(size, window, stride, padding, dilation=1):
    """Output length of a convolution/pooling window along one axis (None stays None)."""
    if size is None:
        return None
    if padding == "valid":
        return (size - (window - 1) * dilation - 1) // stride + 1
    return (size - 1) // stride + 1   # "same" and "causal"


def _dimension_numbers(rank, data_format):
    spatial = "DHW"[3 - rank:]
    lhs = "N" + spatial + "C" if data_format == "channels_last" else "NC" + spatial
    return (lhs, spatial + "IO", lhs)


def _positive_int(value, arg, owner):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(
            f"{owner}: `{arg}` must be a positive integer. Received: {arg}={value!r}")
    return value


def _regularizer(identifier):
    if identifier is None:
        return None
    from gazelle import regularizers
    return regularizers.get(identifier)


def _ser(obj):
    from gazelle.core.serialization import serialize_keras_object
    return serialize_keras_object(obj)


# -- shared base ------------------------------------------------------------------
class _BaseConv(Layer):
    """Geometry, bias, activation and shape checks common to every convolution layer."""

    rank = 2
    # XLA:CPU runs its own convolutions (above all weight gradients) 7-50x slower inside a
    # loop (lax.scan, while) than in straight-line code; the trainer reads this and, on
    # CPUs, dispatches one compiled step at a time instead of scanning chunks of steps.
    # Conv1D/2D/3D with groups=1 avoid XLA's convolution on CPUs (_patches_conv).
    _slow_in_cpu_loops = True

    def __init__(self, kernel_size, strides, padding, data_format, dilation_rate, activation,
                 use_bias, bias_initializer, bias_regularizer, bias_constraint,
                 activity_regularizer=None, **kwargs):
        super().__init__(activity_regularizer=_regularizer(activity_regularizer), **kwargs)
        owner = type(self).__name__
        self.kernel_size = standardize_tuple(kernel_size, self.rank, "kernel_size", owner)
        self.strides = standardize_tuple(strides, self.rank, "strides", owner)
        self.dilation_rate = standardize_tuple(dilation_rate, self.rank, "dilation_rate", owner)
        allowed = ("valid", "same", "causal") if self._allows_causal() else ("valid", "same")
        self.padding = standardize_padding(padding, owner, allowed)
        self.data_format = standardize_data_format(data_format, owner)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{owner}: `strides > 1` is not supported together with `dilation_rate > 1`. "
                f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = _regularizer(bias_regularizer)
        self.bias_constraint = bias_constraint

    def _allows_causal(self):
        return False

    def _channels(self, shape):
        return shape[-1] if self.data_format == "channels_last" else shape[1]

    def _spatial(self, shape):
        return tuple(shape[1:-1] if self.data_format == "channels_last" else shape[2:])

    def _output_channels(self, in_channels):
        return self.filters

    def _output_spatial(self, sizes):
        return tuple(conv_output_length(n, k, s, self.padding, d) for n, k, s, d in zip(
            sizes, self.kernel_size, self.strides, self.dilation_rate))

    def _start_build(self, input_shape):
        """Checks rank, channels and output size at build time; returns the channel count."""
        check_rank(self, input_shape, self.rank)
        channels = self._channels(input_shape)
        if channels is None:
            raise ValueError(
                f"Layer '{self.name}' needs a known channel dimension to create its kernel; "
                f"received shape {tuple(input_shape)} (data_format='{self.data_format}').")
        self._check_output_size(input_shape)
        self._in_channels = channels
        return channels

    def _check_output_size(self, shape):
        out = self._output_spatial(self._spatial(shape))
        if any(n is not None and n <= 0 for n in out):
            raise ValueError(
                f"Layer '{self.name}': the input's spatial shape {self._spatial(shape)} is too "
                f"small for kernel_size={self.kernel_size} with padding='{self.padding}', "
                f"strides={self.strides} and dilation_rate={self.dilation_rate}; the output "
                f"would be empty. Full input shape: {tuple(shape)}. Use padding='same', a "
                "smaller kernel or larger inputs.")

    def _check_input(self, inputs):
        shape = tuple(inputs.shape)
        check_rank(self, shape, self.rank)
        if self._channels(shape) != self._in_channels:
            raise ValueError(
                f"Layer '{self.name}' expects inputs with {self._in_channels} channels "
                f"(axis {-1 if self.data_format == 'channels_last' else 1}), but received "
                f"shape {shape}.")
        self._check_output_size(shape)

    def _conv(self, x, kernel, groups=1):
        padding = self.padding.upper()
        if self.padding == "causal":   # pad the start only: no output sees a later step
            padding = [((self.kernel_size[0] - 1) * self.dilation_rate[0], 0)]
        if groups == 1 and jax.default_backend() == "cpu":
            if all(s == 1 for s in self.strides) and kernel.shape[-1] < kernel.shape[-2]:
                return _contract_first_conv(x, kernel, padding, self.dilation_rate,
                                            self.data_format)
            out = _patches_conv(x, kernel, self.strides, padding, self.dilation_rate,
                                self.data_format)
            if out is not None:
                return out
        return jax.lax.conv_general_dilated(
            x, kernel, self.strides, padding, rhs_dilation=self.dilation_rate,
            dimension_numbers=_dimension_numbers(self.rank, self.data_format),
            feature_group_count=groups)

    def _depthwise_conv(self, x, kernel):
        if jax.default_backend() == "cpu":
            padding = self.padding.upper()
            if self.padding == "causal":
                padding = [((self.kernel_size[0] - 1) * self.dilation_rate[0], 0)]
            return _shifted_depthwise(x, kernel, self.strides, padding, self.dilation_rate,
                                      self.data_format)
        # (*k, in, mult) -> (*k, 1, in * mult): one group per input channel.
        channels, mult = kernel.shape[-2:]
        return self._conv(x, kernel.reshape(kernel.shape[:-2] + (1, channels * mult)),
                          groups=channels)

    def _finish(self, x):
        if self.use_bias:
            shape = ((-1,) if self.data_format == "channels_last"
                     else (-1,) + (1,) * self.rank)
            x = x + self.bias.value.reshape(shape)
        return self.activation(x)

    def _add_bias(self, size):
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(size,), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint, name="bias")

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        check_rank(self, input_shape, self.rank)
        spatial = self._output_spatial(self._spatial(input_shape))
        channels = self._channels(input_shape)
        filters = None if channels is None else self._output_channels(channels)
        if self.data_format == "channels_last":
            return (input_shape[0],) + spatial + (filters,)
        return (input_shape[0], filters) + spatial

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "bias_regularizer": _ser(self.bias_regularizer),
                "activity_regularizer": _ser(self.activity_regularizer),
                "bias_constraint": _ser(self.bias_constraint)}


_PATCHES_LIMIT = 1 << 26          # elements of the patch matrix (256 MB of float32)


def _patches_conv(x, kernel, strides, padding, dilation, data_format):
    """The convolution as one matrix product: the input shifted once per kernel offset,
    concatenated along channels, times the kernel as a (window * in, out) matrix. On CPUs
    XLA runs this (and its gradients) about 1.5x faster than its own convolution kernels
    (bench/convnet.py: jax-im2col vs jax-step). None when the patch matrix would be too
    large; the caller then uses lax.conv_general_dilated."""
    import itertools

    import jax.numpy as jnp
    if data_format == "channels_first":
        x = jnp.moveaxis(x, 1, -1)
    spatial = x.shape[1:-1]
    window = kernel.shape[:-2]
    channels = x.shape[-1]
    dilated = [(k - 1) * d + 1 for k, d in zip(window, dilation)]
    pads = padding if not isinstance(padding, str) else jax.lax.padtype_to_pads(
        spatial, dilated, strides, padding)
    out = [(n + lo + hi - w) // s + 1 for n, (lo, hi), w, s in zip(spatial, pads, dilated,
                                                                     strides)]
    if x.shape[0] * math.prod(out) * math.prod(window) * channels > _PATCHES_LIMIT:
        return None
    x = jnp.pad(x, [(0, 0)] + [tuple(p) for p in pads] + [(0, 0)])
    columns = []
    for offsets in itertools.product(*[range(k) for k in window]):
        index = tuple(slice(o * d, o * d + s * (m - 1) + 1, s)
                      for o, d, s, m in zip(offsets, dilation, strides, out))
        columns.append(x[(slice(None),) + index + (slice(None),)])
    patches = columns[0] if len(columns) == 1 else jnp.concatenate(columns, axis=-1)
    rows = patches.reshape(-1, patches.shape[-1])
    y = (rows @ kernel.reshape(-1, kernel.shape[-1])).reshape(
        patches.shape[:-1] + (kernel.shape[-1],))
    return jnp.moveaxis(y, -1, 1) if data_format == "channels_first" else y


def _contract_first_conv(x, kernel, padding, dilation, data_format):
    """A stride-1 convolution with fewer output than input channels, channels first: every
    input pixel times the kernel as an `(in, window * out)` matrix, then each kernel
    offset's slice of that product shifted into place and summed. It moves
    `window * out` values per pixel where the patch matrix moves `window * in`: a
    Conv2D(1, 3) on 32 channels (an autoencoder's last layer) and its gradients run about
    10x faster on CPUs than as patches, and faster than XLA's own convolution."""
    import itertools

    import jax.numpy as jnp
    if data_format == "channels_first":
        x = jnp.moveaxis(x, 1, -1)
    spatial = x.shape[1:-1]
    window = kernel.shape[:-2]
    cin, cout = kernel.shape[-2:]
    dilated = [(k - 1) * d + 1 for k, d in zip(window, dilation)]
    pads = padding if not isinstance(padding, str) else jax.lax.padtype_to_pads(
        spatial, dilated, (1,) * len(spatial), padding)
    out = [n + lo + hi - w + 1 for n, (lo, hi), w in zip(spatial, pads, dilated)]
    taps = math.prod(window)
    matrix = jnp.moveaxis(kernel.reshape(taps, cin, cout), 0, 1).reshape(cin, taps * cout)
    z = (x.reshape(-1, cin) @ matrix).reshape(x.shape[:-1] + (taps, cout))
    z = jnp.pad(z, [(0, 0)] + [tuple(p) for p in pads] + [(0, 0), (0, 0)])
    y = None
    for tap, offsets in enumerate(itertools.product(*[range(k) for k in window])):
        index = tuple(slice(o * d, o * d + m) for o, d, m in zip(offsets, dilation, out))
        part = z[(slice(None),) + index + (tap, slice(None))]
        y = part if y is None else y + part
    return jnp.moveaxis(y, -1, 1) if data_format == "channels_first" else y


def _overlap_add_transpose(x, kernel, strides, dilation, pads, data_format):
    """The transposed convolution as one matrix product and an overlap-add: every input
    pixel times the kernel as an `(in, window * filters)` matrix, each kernel offset's
    slice then placed at `stride * position + offset * dilation` and summed (per phase
    of the stride, see below), and the sum cropped (or zero-extended) to `pads` of the
    stride-dilated input, as `lax.conv_transpose` with `transpose_kernel=True` pads it.
    XLA:CPU runs this and its gradients in loops about 10x faster than its own
    input-dilated convolution. None when the product would be too large."""
    import itertools

    import jax.numpy as jnp
    if data_format == "channels_first":
        x = jnp.moveaxis(x, 1, -1)
    window = kernel.shape[:-2]
    filters, channels = kernel.shape[-2:]
    spatial = x.shape[1:-1]
    if x.shape[0] * math.prod(spatial) * math.prod(window) * filters > _PATCHES_LIMIT:
        return None
    y = _transpose_core(tuple(strides), tuple(dilation), tuple(tuple(p) for p in pads),
                        x, kernel)
    return jnp.moveaxis(y, -1, 1) if data_format == "channels_first" else y


def _transpose_parts(strides, dilation, pads, x, kernel):
    """Shapes shared by the transposed convolution's forward and backward passes."""
    window = kernel.shape[:-2]
    spatial = x.shape[1:-1]
    spans = [(k - 1) * d + 1 for k, d in zip(window, dilation)]
    full = [(n - 1) * s + span for n, s, span in zip(spatial, strides, spans)]
    crop = [(0, 0, 0)] + [(lo - (span - 1), hi - (span - 1), 0)
                          for (lo, hi), span in zip(pads, spans)] + [(0, 0, 0)]
    return window, spatial, full, crop


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1, 2))
def _transpose_core(strides, dilation, pads, x, kernel):
    """`_overlap_add_transpose` for channels-last inputs, with a hand-written gradient."""
    import itertools

    import jax.numpy as jnp
    window, spatial, full, crop = _transpose_parts(strides, dilation, pads, x, kernel)
    filters, channels = kernel.shape[-2:]
    rank = len(spatial)
    z = (x.reshape(-1, channels) @ jnp.moveaxis(kernel, -1, 0).reshape(channels, -1))
    z = z.reshape(x.shape[:-1] + window + (filters,))
    # Offset o lands at stride * i + o * dilation = stride * (i + q) + r: each phase r (the
    # position modulo the stride) is a sum of plainly shifted slices, and the phases are
    # then interleaved. No interior padding, which XLA:CPU fuses poorly.
    lengths = [-(-f // s) for f, s in zip(full, strides)]
    phases = {}
    for offsets in itertools.product(*[range(k) for k in window]):
        piece = z[(slice(None),) * (1 + rank) + offsets]
        shifts = [(o * d) // s for o, d, s in zip(offsets, dilation, strides)]
        phase = tuple((o * d) % s for o, d, s in zip(offsets, dilation, strides))
        placed = jnp.pad(piece, [(0, 0)] + [(q, length - n - q) for q, length, n in zip(
            shifts, lengths, spatial)] + [(0, 0)])
        phases[phase] = placed if phase not in phases else phases[phase] + placed
    zeros = jnp.zeros((x.shape[0],) + tuple(lengths) + (filters,), z.dtype)
    stacked = jnp.stack([phases.get(phase, zeros) for phase in itertools.product(
        *[range(s) for s in strides])])
    stacked = stacked.reshape(tuple(strides) + stacked.shape[1:])   # (*strides, B, *lengths, F)
    order = [rank] + [a for i in range(rank) for a in (rank + 1 + i, i)] + [2 * rank + 1]
    y = stacked.transpose(order).reshape(
        (x.shape[0],) + tuple(n * s for n, s in zip(lengths, strides)) + (filters,))
    y = y[(slice(None),) + tuple(slice(0, f) for f in full)]
    return jax.lax.pad(y, jnp.zeros((), z.dtype), crop)     # negative amounts crop


def _transpose_core_fwd(strides, dilation, pads, x, kernel):
    return _transpose_core(strides, dilation, pads, x, kernel), (x, kernel)


def _transpose_core_bwd(strides, dilation, pads, saved, dy):
    """The adjoint of the overlap-add is a strided gather: each offset's slice of the
    (uncropped) output cotangent, stacked into `(pixels, window * filters)`, then two
    products, where XLA's own gradient of the forward's slices, pads and interleave is
    slow on CPUs (the conv autoencoder trains about 1.5x faster with this)."""
    import itertools

    import jax.numpy as jnp
    x, kernel = saved
    window, spatial, full, crop = _transpose_parts(strides, dilation, pads, x, kernel)
    filters, channels = kernel.shape[-2:]
    undo = [(-lo, -hi, 0) for lo, hi, _ in crop]
    dy_full = jax.lax.pad(dy, jnp.zeros((), dy.dtype), undo)
    columns = []
    for offsets in itertools.product(*[range(k) for k in window]):
        index = tuple(slice(o * d, o * d + s * (n - 1) + 1, s)
                      for o, d, s, n in zip(offsets, dilation, strides, spatial))
        columns.append(dy_full[(slice(None),) + index + (slice(None),)])
    dz = jnp.stack(columns, axis=-2).reshape(-1, len(columns) * filters)
    matrix = jnp.moveaxis(kernel, -1, 0).reshape(channels, -1)
    dx = (dz @ matrix.T).reshape(x.shape).astype(x.dtype)
    d_matrix = x.reshape(-1, channels).T @ dz
    d_kernel = jnp.moveaxis(d_matrix.reshape((channels,) + window + (filters,)), 0, -1)
    return dx, d_kernel.astype(kernel.dtype)


_transpose_core.defvjp(_transpose_core_fwd, _transpose_core_bwd)


def _shifted_depthwise(x, kernel, strides, padding, dilation, data_format):
    """The depthwise convolution as a sum over kernel offsets of the shifted input times
    that offset's per-channel weights (elementwise work XLA fuses into one loop). On CPUs
    it and its gradients run in loops far faster than XLA's grouped convolution."""
    import itertools

    import jax.numpy as jnp
    if data_format == "channels_first":
        x = jnp.moveaxis(x, 1, -1)
    spatial = x.shape[1:-1]
    window = kernel.shape[:-2]
    channels, mult = kernel.shape[-2:]
    dilated = [(k - 1) * d + 1 for k, d in zip(window, dilation)]
    pads = padding if not isinstance(padding, str) else jax.lax.padtype_to_pads(
        spatial, dilated, strides, padding)
    out = [(n + lo + hi - w) // s + 1 for n, (lo, hi), w, s in zip(spatial, pads, dilated,
                                                                     strides)]
    x = jnp.pad(x, [(0, 0)] + [tuple(p) for p in pads] + [(0, 0)])
    if mult > 1:
        x = x[..., None]
    y = None
    for offsets in itertools.product(*[range(k) for k in window]):
        index = tuple(slice(o * d, o * d + s * (m - 1) + 1, s)
                      for o, d, s, m in zip(offsets, dilation, strides, out))
        weights = kernel[offsets] if mult > 1 else kernel[offsets][:, 0]
        term = x[(slice(None),) + index] * weights
        y = term if y is None else y + term
    if mult > 1:
        y = y.reshape(y.shape[:-2] + (channels * mult,))
    return jnp.moveaxis(y, -1, 1) if data_format == "channels_first" else y


# -- regular convolution ----------------------------------------------------------
class _Conv(_BaseConv):
    """N-D convolution (cross-correlation) of the inputs with a learned kernel.

    Args:
        filters: int, the number of output channels (filters).
        kernel_size: int or tuple of ints, the size of the convolution window.
        strides: int or tuple of ints, the stride of the window (default 1).
            `strides > 1` cannot be combined with `dilation_rate > 1`.
        padding: `"valid"` (no padding, default) or `"same"` (pad evenly so that with
            stride 1 the output has the input's size); Conv1D also takes `"causal"`.
        data_format: `"channels_last"` (default, from `image_data_format()`) or
            `"channels_first"`.
        dilation_rate: int or tuple of ints, the dilation of the window (default 1).
        groups: positive int; input channels and `filters` are split into this many
            groups convolved separately (default 1).
        activation: activation name or function (default None: linear).
        use_bias: whether to add a bias vector (default True).
        kernel_initializer: initializer for the kernel (default `"glorot_uniform"`).
        bias_initializer: initializer for the bias (default `"zeros"`).
        kernel_regularizer, bias_regularizer: optional penalties added to the loss.
        activity_regularizer: accepted for compatibility.
        kernel_constraint, bias_constraint: optional projections after each update.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, bias_constraint,
                         activity_regularizer, **kwargs)
        owner = type(self).__name__
        self.filters = _positive_int(filters, "filters", owner)
        self.groups = _positive_int(groups, "groups", owner)
        if self.filters % self.groups:
            raise ValueError(
                f"{owner}: `filters` must be divisible by `groups`. Received: "
                f"filters={filters}, groups={groups}")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = _regularizer(kernel_regularizer)
        self.kernel_constraint = kernel_constraint

    def _allows_causal(self):
        return self.rank == 1

    @property
    def _slow_in_cpu_loops(self):
        # groups=1 runs as patches times a matrix on CPUs, which loops run at full speed.
        return self.groups != 1

    def build(self, input_shape):
        channels = self._start_build(input_shape)
        if channels % self.groups:
            raise ValueError(
                f"Layer '{self.name}': the number of input channels ({channels}) must be "
                f"divisible by groups={self.groups}. Full input shape: {tuple(input_shape)}.")
        self.kernel = self.add_weight(
            shape=self.kernel_size + (channels // self.groups, self.filters),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint, name="kernel")
        self._add_bias(self.filters)

    def call(self, inputs):
        x = self._conv(inputs, self.kernel.value, self.groups)
        return self._finish(x)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "groups": self.groups,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "kernel_regularizer": _ser(self.kernel_regularizer),
                "kernel_constraint": _ser(self.kernel_constraint)}


class Conv1D(_Conv):
    __doc__ = _Conv.__doc__.replace("N-D", "1D (temporal)") + """
    ```python
    keras.layers.Conv1D(32, 3, padding="causal", activation="relu")   # (N, steps, ch)
    ```
    """
    rank = 1


class Conv2D(_Conv):
    __doc__ = _Conv.__doc__.replace("N-D", "2D (spatial)") + """
    Kernel shape: `(*kernel_size, input_channels // groups, filters)`.

    ```python
    keras.layers.Conv2D(64, 7, activation="relu", padding="same", input_shape=[28, 28, 1])
    ```
    """
    rank = 2


class Conv3D(_Conv):
    __doc__ = _Conv.__doc__.replace("N-D", "3D (volumetric)")
    rank = 3


# -- depthwise and separable ------------------------------------------------------
class _DepthwiseConv(_BaseConv):
    """N-D depthwise convolution: each input channel gets its own `depth_multiplier` filters.

    Args:
        kernel_size: int or tuple of ints, the size of the convolution window.
        strides: int or tuple of ints, the stride of the window (default 1).
        padding: `"valid"` (default) or `"same"`.
        depth_multiplier: output channels per input channel (default 1).
        data_format: `"channels_last"` (default) or `"channels_first"`.
        dilation_rate: int or tuple of ints, the dilation of the window (default 1).
        activation: activation name or function (default None: linear).
        use_bias: whether to add a bias vector (default True).
        depthwise_initializer: initializer for the kernel (default `"glorot_uniform"`).
        bias_initializer: initializer for the bias (default `"zeros"`).
        depthwise_regularizer, bias_regularizer: optional penalties added to the loss.
        activity_regularizer: accepted for compatibility.
        depthwise_constraint, bias_constraint: optional projections after each update.

    The kernel is named `kernel` with shape `(*kernel_size, input_channels,
    depth_multiplier)`, as in Keras 3 (tf.keras 2 called it `depthwise_kernel`).
    """

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, bias_constraint,
                         activity_regularizer, **kwargs)
        self.depth_multiplier = _positive_int(depth_multiplier, "depth_multiplier",
                                              type(self).__name__)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = _regularizer(depthwise_regularizer)
        self.depthwise_constraint = depthwise_constraint

    _slow_in_cpu_loops = False    # shifted products on CPUs (_shifted_depthwise)

    def _output_channels(self, in_channels):
        return in_channels * self.depth_multiplier

    def build(self, input_shape):
        channels = self._start_build(input_shape)
        self.kernel = self.add_weight(
            shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint, name="kernel")
        self._add_bias(channels * self.depth_multiplier)

    def call(self, inputs):
        return self._finish(self._depthwise_conv(inputs, self.kernel.value))

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier,
                "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
                "depthwise_regularizer": _ser(self.depthwise_regularizer),
                "depthwise_constraint": _ser(self.depthwise_constraint)}


class DepthwiseConv1D(_DepthwiseConv):
    __doc__ = _DepthwiseConv.__doc__.replace("N-D", "1D")
    rank = 1


class DepthwiseConv2D(_DepthwiseConv):
    __doc__ = _DepthwiseConv.__doc__.replace("N-D", "2D") + """
    ```python
    keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)
    ```
    """
    rank = 2


class _SeparableConv(_BaseConv):
    """N-D separable convolution: a depthwise convolution, then a 1x1 (pointwise) one.

    Args:
        filters: int, the number of output channels.
        kernel_size: int or tuple of ints, the size of the depthwise window.
        strides: int or tuple of ints, the stride of the window (default 1).
        padding: `"valid"` (default) or `"same"`.
        data_format: `"channels_last"` (default) or `"channels_first"`.
        dilation_rate: int or tuple of ints, the dilation of the window (default 1).
        depth_multiplier: depthwise output channels per input channel (default 1).
        activation: activation name or function (default None: linear).
        use_bias: whether to add a bias vector (default True).
        depthwise_initializer, pointwise_initializer: kernel initializers (default
            `"glorot_uniform"`).
        bias_initializer: initializer for the bias (default `"zeros"`).
        depthwise_regularizer, pointwise_regularizer, bias_regularizer: optional penalties.
        activity_regularizer: accepted for compatibility.
        depthwise_constraint, pointwise_constraint, bias_constraint: optional projections.

    Weights, in order: `depthwise_kernel` `(*kernel_size, in, depth_multiplier)`,
    `pointwise_kernel` `(1, ..., in * depth_multiplier, filters)`, `bias`.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, bias_constraint,
                         activity_regularizer, **kwargs)
        owner = type(self).__name__
        self.filters = _positive_int(filters, "filters", owner)
        self.depth_multiplier = _positive_int(depth_multiplier, "depth_multiplier", owner)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = _regularizer(depthwise_regularizer)
        self.pointwise_regularizer = _regularizer(pointwise_regularizer)
        self.depthwise_constraint = depthwise_constraint
        self.pointwise_constraint = pointwise_constraint

    def build(self, input_shape):
        channels = self._start_build(input_shape)
        self.depthwise_kernel = self.add_weight(
            shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint, name="depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            shape=(1,) * self.rank + (channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, name="pointwise_kernel")
        self._add_bias(self.filters)

    _slow_in_cpu_loops = False    # on CPUs: shifted depthwise products, then a matmul

    def call(self, inputs):
        x = self._depthwise_conv(inputs, self.depthwise_kernel.value)
        pointwise = self.pointwise_kernel.value
        if jax.default_backend() == "cpu":
            matrix = pointwise.reshape(pointwise.shape[-2:])
            if self.data_format == "channels_first":
                x = jax.numpy.moveaxis(jax.numpy.moveaxis(x, 1, -1) @ matrix, -1, 1)
            else:
                x = x @ matrix
            return self._finish(x)
        x = jax.lax.conv_general_dilated(
            x, pointwise, (1,) * self.rank, "VALID",
            dimension_numbers=_dimension_numbers(self.rank, self.data_format))
        return self._finish(x)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "depth_multiplier": self.depth_multiplier,
                "depthwise_initializer": initializers.serialize(self.depthwise_initializer),
                "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
                "depthwise_regularizer": _ser(self.depthwise_regularizer),
                "pointwise_regularizer": _ser(self.pointwise_regularizer),
                "depthwise_constraint": _ser(self.depthwise_constraint),
                "pointwise_constraint": _ser(self.pointwise_constraint)}


class SeparableConv1D(_SeparableConv):
    __doc__ = _SeparableConv.__doc__.replace("N-D", "1D")
    rank = 1


class SeparableConv2D(_SeparableConv):
    __doc__ = _SeparableConv.__doc__.replace("N-D", "2D") + """
    ```python
    keras.layers.SeparableConv2D(64, 3, padding="same", activation="relu")
    ```
    """
    rank = 2


# -- transposed convolution -------------------------------------------------------
class _ConvTranspose(_Conv):
    """N-D transposed convolution (sometimes called deconvolution): upsamples by `strides`.

    Args:
        filters: int, the number of output channels.
        kernel_size: int or tuple of ints, the size of the convolution window.
        strides: int or tuple of ints, the upsampling factor (default 1).
        padding: `"valid"` (default) or `"same"` (output size `input * strides`).
        output_padding: optional int or tuple of ints added to one side of the output;
            each must be smaller than its stride (default None: inferred).
        data_format: `"channels_last"` (default) or `"channels_first"`.
        dilation_rate: int or tuple of ints, the dilation of the window (default 1).
        activation: activation name or function (default None: linear).
        use_bias: whether to add a bias vector (default True).
        kernel_initializer: initializer for the kernel (default `"glorot_uniform"`).
        bias_initializer: initializer for the bias (default `"zeros"`).
        kernel_regularizer, bias_regularizer: optional penalties added to the loss.
        activity_regularizer: accepted for compatibility.
        kernel_constraint, bias_constraint: optional projections after each update.

    Kernel shape: `(*kernel_size, filters, input_channels)` (output before input, as Keras).
    """

    # On CPUs an overlap-add (_overlap_add_transpose) replaces XLA's input-dilated
    # convolution, so loops run at full speed (unless the product is too large).
    _slow_in_cpu_loops = False

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, 1,
                         activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, bias_regularizer, activity_regularizer,
                         kernel_constraint, bias_constraint, **kwargs)
        owner = type(self).__name__
        self.output_padding = None
        if output_padding is not None:
            items = (output_padding,) * self.rank if isinstance(output_padding, int) \
                else output_padding
            ok = isinstance(items, (tuple, list)) and len(items) == self.rank and all(
                isinstance(p, int) and 0 <= p < s for p, s in zip(items, self.strides))
            if not ok:
                raise ValueError(
                    f"{owner}: `output_padding` must be None or {self.rank} non-negative ints, "
                    f"each smaller than its stride (strides={self.strides}). "
                    f"Received: output_padding={output_padding!r}")
            self.output_padding = tuple(items)

    def _allows_causal(self):
        return False

    def _pads(self, axis):
        """(left, right) padding of the stride-dilated input for one spatial axis."""
        span = (self.kernel_size[axis] - 1) * self.dilation_rate[axis] + 1
        stride = self.strides[axis]
        extra = None if self.output_padding is None else self.output_padding[axis]
        if self.padding == "valid":
            extra = max(span, stride) - span if extra is None else extra
            return span - 1, span - 1 + extra
        total = stride + span - 2 if extra is None else span + span % 2 - 2 + extra
        left = min((total + 1) // 2, span - 1)
        return left, total - left

    def _output_spatial(self, sizes):
        out = []
        for axis, n in enumerate(sizes):
            left, right = self._pads(axis)
            span = (self.kernel_size[axis] - 1) * self.dilation_rate[axis] + 1
            out.append(None if n is None else
                       (n - 1) * self.strides[axis] + 1 + left + right - span + 1)
        return tuple(out)

    def build(self, input_shape):
        channels = self._start_build(input_shape)
        self.kernel = self.add_weight(
            shape=self.kernel_size + (self.filters, channels),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint, name="kernel")
        self._add_bias(self.filters)

    def call(self, inputs):
        pads = [self._pads(axis) for axis in range(self.rank)]
        if jax.default_backend() == "cpu":
            x = _overlap_add_transpose(inputs, self.kernel.value, self.strides,
                                       self.dilation_rate, pads, self.data_format)
            if x is not None:
                return self._finish(x)
        x = jax.lax.conv_transpose(
            inputs, self.kernel.value, self.strides, pads, rhs_dilation=self.dilation_rate,
            dimension_numbers=_dimension_numbers(self.rank, self.data_format),
            transpose_kernel=True)
        return self._finish(x)

    def get_config(self):
        config_ = {**super().get_config(), "output_padding": self.output_padding}
        del config_["groups"]
        return config_


class Conv1DTranspose(_ConvTranspose):
    __doc__ = _ConvTranspose.__doc__.replace("N-D", "1D")
    rank = 1


class Conv2DTranspose(_ConvTranspose):
    __doc__ = _ConvTranspose.__doc__.replace("N-D", "2D") + """
    ```python
    keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same")  # (N,7,7,c) -> (N,14,14,32)
    ```
    """
    rank = 2


class Conv3DTranspose(_ConvTranspose):
    __doc__ = _ConvTranspose.__doc__.replace("N-D", "3D")
    rank = 3


# Keras's alternative names.
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution2DTranspose, Convolution3DTranspose = Conv2DTranspose, Conv3DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D

__all__ = ["Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D",
           "SeparableConv1D", "SeparableConv2D", "Conv1DTranspose", "Conv2DTranspose",
           "Conv3DTranspose", "Convolution1D", "Convolution2D", "Convolution3D",
           "Convolution2DTranspose", "Convolution3DTranspose", "SeparableConvolution1D",
           "SeparableConvolution2D"]
