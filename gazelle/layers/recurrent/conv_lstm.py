"""ConvLSTM1D/2D/3D: LSTMs whose input and recurrent products are convolutions. [L2: core,
activations, initializers, regularizers, random]

The cell is an `LSTMCell` whose two products are convolutions: the input one has the
layer's strides, padding and dilation, the recurrent one keeps the state's size (stride 1,
"same"). It keeps LSTMCell's split into `_project`/`_recur`, so the `RNN` driver convolves
every frame of the sequence with the input kernel at once, before its `lax.scan`, and only
the recurrent convolution and the gates run inside the loop. States are `(batch, *spatial,
filters)` (channels_last) or `(batch, filters, *spatial)`. Weights have Keras 3's names,
shapes and order: `kernel` `(*kernel_size, channels, 4 * filters)`, `recurrent_kernel`
`(*kernel_size, filters, 4 * filters)`, `bias` `(4 * filters,)`, gates input, forget, cell,
output. Keras 3 keeps its ConvLSTMCell private, and so does gazelle.
"""
import jax
import jax.numpy as jnp
from jax import lax

from gazelle.layers.convolutional import (_SPATIAL_NAMES, _dimension_numbers, _patches_conv,
                                          conv_output_length, standardize_data_format,
                                          standardize_padding, standardize_tuple)
from gazelle.layers.layer import Layer
from gazelle.layers.recurrent.cells import LSTMCell
from gazelle.layers.recurrent.rnn import RNN


def _convolve(x, kernel, strides, padding, dilation, data_format):
    """One convolution in Keras's kernel layout; on CPUs as patches x kernel, as Conv2D does."""
    padding = padding.upper()
    if jax.default_backend() == "cpu":
        out = _patches_conv(x, kernel, strides, padding, dilation, data_format)
        if out is not None:
            return out
    return lax.conv_general_dilated(x, kernel, strides, padding, rhs_dilation=dilation,
                                    dimension_numbers=_dimension_numbers(len(strides),
                                                                         data_format))


class ConvLSTMCell(LSTMCell):
    """One ConvLSTM step (internal: Keras 3 does not export it either)."""

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid",
                 data_format=None, dilation_rate=1, activation="tanh",
                 recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, owner=None, **kwargs):
        owner = owner or type(self).__name__
        if isinstance(filters, bool) or not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"{owner}: `filters` must be a positive integer. Received: "
                             f"filters={filters!r}")
        super().__init__(
            filters, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.rank = rank
        self.filters = filters
        self.kernel_size = standardize_tuple(kernel_size, rank, "kernel_size", owner)
        self.strides = standardize_tuple(strides, rank, "strides", owner)
        self.padding = standardize_padding(padding, owner)
        self.data_format = standardize_data_format(data_format, owner)
        self.dilation_rate = standardize_tuple(dilation_rate, rank, "dilation_rate", owner)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"{owner}: `strides > 1` is not supported together with `dilation_rate > 1`. "
                f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}")
        self._owner = owner
        self._input_step_shape = None      # one frame without the batch axis, set by build
        self._state_step_shape = None      # one state without the batch axis

    @property
    def _gate_axis(self):
        return -1 if self.data_format == "channels_last" else 1

    # -- shapes --------------------------------------------------------------------
    def _split(self, shape):
        """(spatial sizes, channels) of one frame's shape without the batch axis."""
        if self.data_format == "channels_last":
            return tuple(shape[:-1]), shape[-1]
        return tuple(shape[1:]), shape[0]

    def state_shape(self, frame_shape):
        """A state's shape (no batch axis) for frames of `frame_shape` (no batch axis)."""
        spatial, _ = self._split(tuple(frame_shape))
        out = tuple(conv_output_length(n, k, s, self.padding, d) for n, k, s, d in zip(
            spatial, self.kernel_size, self.strides, self.dilation_rate))
        if self.data_format == "channels_last":
            return out + (self.filters,)
        return (self.filters,) + out

    def compute_output_shape(self, input_shape, states_shape=None):
        state = (input_shape[0],) + self.state_shape(tuple(input_shape)[1:])
        return state, [state, state]

    # -- weights -------------------------------------------------------------------
    def build(self, input_shape, states_shape=None):
        shape = tuple(input_shape)
        if len(shape) != self.rank + 2:
            raise ValueError(f"Cell '{self.name}' expects frames of rank {self.rank + 2} "
                             f"(batch, {self.rank} spatial axes, channels); received shape "
                             f"{shape}.")
        spatial, channels = self._split(shape[1:])
        if None in spatial:
            raise ValueError(
                f"{self._owner} needs static spatial dimensions, but the input's frames have "
                f"shape {shape[1:]}. Give every spatial size in the input shape.")
        if channels is None:
            raise ValueError(
                f"{self._owner} needs a known channel dimension to create its kernel; "
                f"received frames of shape {shape[1:]} (data_format='{self.data_format}').")
        state = self.state_shape(shape[1:])
        if any(n <= 0 for n in self._split(state)[0]):
            raise ValueError(
                f"{self._owner}: the frames' spatial shape {spatial} is too small for "
                f"kernel_size={self.kernel_size} with padding='{self.padding}', "
                f"strides={self.strides} and dilation_rate={self.dilation_rate}; the output "
                "would be empty. Use padding='same', a smaller kernel or larger inputs.")
        # in __dict__: a tuple attribute would count as a structure change (Layer.__setattr__)
        self.__dict__["_input_step_shape"] = shape[1:]
        self.__dict__["_state_step_shape"] = state
        width = 4 * self.filters
        self.kernel = self.add_weight(
            shape=self.kernel_size + (channels, width), initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
            name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=self.kernel_size + (self.filters, width),
            initializer=self.recurrent_initializer, regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint, name="recurrent_kernel")
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(width,), initializer=self._bias_init(),
                regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                name="bias")
        else:
            self.bias = None

    def get_initial_state(self, batch_size=None):
        shape = (batch_size,) + self._state_step_shape
        return [jnp.zeros(shape, self.compute_dtype), jnp.zeros(shape, self.compute_dtype)]

    # -- dropout: one full-size mask per gate, as Keras 3 draws them -----------------------
    def _mask_count(self):
        return 4

    def _make_masks(self, batch, dtype, training):
        if not training:
            return None, None
        in_masks = rec_masks = None
        if 0.0 < self.dropout < 1.0:
            in_masks = self._draw(self.dropout, (batch,) + self._input_step_shape, dtype)
        if 0.0 < self.recurrent_dropout < 1.0:
            rec_masks = self._draw(self.recurrent_dropout, (batch,) + self._state_step_shape,
                                   dtype)
        return in_masks, rec_masks

    # -- the step --------------------------------------------------------------------
    def _gate_blocks(self, x, kernel, masks, conv):
        """conv(x, kernel), or with dropout one masked input per gate's block of filters."""
        if masks is None:
            return conv(x, kernel)
        f = self.filters
        return jnp.concatenate([conv(x * m, kernel[..., g * f:(g + 1) * f])
                                for g, m in enumerate(masks)], axis=self._gate_axis)

    def _project(self, inputs, masks):
        """The input convolution (+ bias) of one frame `(batch, ...)` or of every frame of
        a sequence `(batch, time, ...)` at once."""
        lead = inputs.shape[:inputs.ndim - self.rank - 1]
        frames = inputs.reshape((-1,) + inputs.shape[len(lead):])
        if masks is not None and len(lead) == 2:
            t = lead[1]      # (batch, ...) masks, the same at every step of a sample
            masks = [jnp.repeat(m, t, axis=0) for m in masks]

        def conv(x, kernel):
            return _convolve(x, kernel, self.strides, self.padding, self.dilation_rate,
                             self.data_format)

        z = self._gate_blocks(frames, self.kernel.value, masks, conv)
        if self.bias is not None:
            shape = (-1,) if self.data_format == "channels_last" else (-1,) + (1,) * self.rank
            z = z + self.bias.value.reshape(shape)
        return z.reshape(lead + z.shape[1:])

    def _recurrent_product(self, h, masks, columns=None):
        ones = (1,) * self.rank

        def conv(x, kernel):
            return _convolve(x, kernel, ones, "same", ones, self.data_format)

        return self._gate_blocks(h, self.recurrent_kernel.value, masks, conv)

    def _check_input(self, inputs):
        if inputs.ndim != self.rank + 2:
            raise ValueError(f"Cell '{self.name}' expects frames of rank {self.rank + 2}; "
                             f"received shape {tuple(inputs.shape)}.")

    def get_config(self):
        from gazelle import activations, initializers
        from gazelle.core.serialization import serialize_keras_object as ser
        return {**Layer.get_config(self), "rank": self.rank, "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation),
                "recurrent_activation": activations.serialize(self.recurrent_activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "unit_forget_bias": self.unit_forget_bias,
                "kernel_regularizer": ser(self.kernel_regularizer),
                "recurrent_regularizer": ser(self.recurrent_regularizer),
                "bias_regularizer": ser(self.bias_regularizer),
                "kernel_constraint": ser(self.kernel_constraint),
                "recurrent_constraint": ser(self.recurrent_constraint),
                "bias_constraint": ser(self.bias_constraint),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
                "seed": self.seed}


_CELL_ATTRS = frozenset({
    "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
    "activation", "recurrent_activation", "use_bias", "kernel_initializer",
    "recurrent_initializer", "bias_initializer", "unit_forget_bias", "kernel_regularizer",
    "recurrent_regularizer", "bias_regularizer", "kernel_constraint", "recurrent_constraint",
    "bias_constraint", "dropout", "recurrent_dropout", "seed"})


class _ConvLSTM(RNN):
    """The ConvLSTM layers: the cell's arguments are the layer's, and so is its config."""

    _rank = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, **kwargs):
        from gazelle import regularizers
        cell = ConvLSTMCell(
            self._rank, filters, kernel_size, strides=strides, padding=padding,
            data_format=data_format, dilation_rate=dilation_rate, activation=activation,
            recurrent_activation=recurrent_activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
            owner=type(self).__name__, name="conv_lstm_cell", dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful,
                         activity_regularizer=regularizers.get(activity_regularizer), **kwargs)

    def __getattr__(self, name):
        # filters, kernel_size, padding, dropout, ...: the cell's.
        cell = self.__dict__.get("cell")
        if cell is not None and name in _CELL_ATTRS:
            return getattr(cell, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    # -- shapes and checks -----------------------------------------------------------------
    def _layout(self):
        frame = _SPATIAL_NAMES[self._rank]
        frame = frame + ("channels",) if self.cell.data_format == "channels_last" else (
            ("channels",) + frame)
        return "(batch, time, " + ", ".join(frame) + ")"

    def _check_rank(self, shape):
        expected = self._rank + 3
        if len(shape) == expected:
            return
        hint = ""
        if len(shape) == expected - 1:
            axis = -1 if self.cell.data_format == "channels_last" else 2
            hint = (" If each frame has a single channel, add a channel axis "
                    f"(`np.expand_dims(x, {axis})`); if this is one sequence without a batch "
                    "axis, add one (`x[None]`).")
        raise ValueError(
            f"Input 0 of layer '{self.name}' is incompatible with the layer: expected "
            f"ndim={expected}, i.e. {self._layout()}, found ndim={len(shape)}. Full shape "
            f"received: {tuple(shape)}.{hint}")

    def _check_input(self, inputs):
        shape = tuple(inputs.shape)
        self._check_rank(shape)
        frame = self.cell._input_step_shape
        if frame is not None and shape[2:] != frame:
            raise ValueError(
                f"Layer '{self.name}' was built for frames of shape {frame} but received "
                f"frames of shape {shape[2:]} (input shape {shape}, layout "
                f"{self._layout()}). A ConvLSTM keeps its frame size; build a new layer for "
                "other sizes.")
        super()._check_input(inputs)

    def _step_output_shape(self):
        return self.cell._state_step_shape

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        shape = tuple(sequences_shape)
        self._check_rank(shape)
        state = (shape[0],) + self.cell.state_shape(shape[2:])
        out = (shape[0], shape[1]) + state[1:] if self.return_sequences else state
        if self.return_state:
            return (out, state, state)
        return out

    # -- config ------------------------------------------------------------------------------
    def get_config(self):
        from gazelle.core.serialization import serialize_keras_object as ser
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype", "batch_input_shape", "rank"):
            cell_config.pop(key, None)
        return {**Layer.get_config(self), **self._rnn_config(), **cell_config,
                "activity_regularizer": ser(self.activity_regularizer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


_DOC = """
    Like an LSTM, but the products with the input and with the previous state are
    convolutions, so every state is a feature map. Inputs are sequences of frames:
    `{layout_last}` with `data_format="channels_last"` (default) or `{layout_first}` with
    `"channels_first"`. The output is the last state `h` (or every step's with
    `return_sequences=True`), shaped like a {rank}D convolution's output of one frame.

    Args:
        filters: int, the number of output channels (filters) of the convolutions.
        kernel_size: int or tuple of {rank} ints, the size of the convolution window.
        strides: int or tuple of {rank} ints, the stride of the input convolution
            (default 1); `strides > 1` cannot be combined with `dilation_rate > 1`.
        padding: `"valid"` (default, no padding) or `"same"` (pad evenly so that with
            stride 1 the output keeps the frame's size); for the input convolution.
        data_format: `"channels_last"` (default, from `image_data_format()`) or
            `"channels_first"`.
        dilation_rate: int or tuple of {rank} ints, the dilation of the input convolution
            (default 1).
        activation: activation of the candidate and of the output (default `"tanh"`).
        recurrent_activation: activation of the gates (default `"sigmoid"`).
        use_bias: whether the layer uses a bias vector (default True).
        kernel_initializer: initializer for `kernel` (default `"glorot_uniform"`).
        recurrent_initializer: initializer for `recurrent_kernel` (default `"orthogonal"`).
        bias_initializer: initializer for the bias (default `"zeros"`).
        unit_forget_bias: start the forget gate's bias at 1 (default True).
        kernel_regularizer, recurrent_regularizer, bias_regularizer: optional penalties.
        activity_regularizer: optional penalty on the layer's output.
        kernel_constraint, recurrent_constraint, bias_constraint: optional projections.
        dropout: float in [0, 1], fraction of the input units dropped in training (one
            mask per gate and per batch, the same at every step).
        recurrent_dropout: float in [0, 1], fraction of the state units dropped.
        seed: optional int, the random seed for dropout.
        return_sequences: return every step's output (default False: the last one).
        return_state: also return the last states `h` and `c` (default False).
        go_backwards: process the sequence backwards, return the reversed sequence.
        stateful: carry the last states of a batch into the next (fixed batch size).

    Weights: `kernel` `(*kernel_size, channels, 4 * filters)`, `recurrent_kernel`
    `(*kernel_size, filters, 4 * filters)`, `bias` `(4 * filters,)`; gates in the order
    input, forget, cell, output, as in Keras 3.
"""


class ConvLSTM1D(_ConvLSTM):
    __doc__ = "1D convolutional LSTM: an LSTM over sequences of 1D feature maps.\n" + \
        _DOC.format(rank=1, layout_last="(batch, time, steps, channels)",
                    layout_first="(batch, time, channels, steps)") + """
    ```python
    layer = keras.layers.ConvLSTM1D(8, 3, padding="same")
    y = layer(np.ones((4, 10, 16, 2), "float32"))      # (4, 16, 8)
    ```
    """
    _rank = 1


class ConvLSTM2D(_ConvLSTM):
    __doc__ = "2D convolutional LSTM: an LSTM over sequences of images.\n" + \
        _DOC.format(rank=2, layout_last="(batch, time, rows, cols, channels)",
                    layout_first="(batch, time, channels, rows, cols)") + """
    ```python
    model = keras.Sequential([
        keras.Input((10, 32, 32, 1)),                  # 10 frames of 32x32
        keras.layers.ConvLSTM2D(16, 3, padding="same", return_sequences=True),
        keras.layers.ConvLSTM2D(16, 3, padding="same"),
        keras.layers.Conv2D(1, 1, activation="sigmoid"),   # the next frame
    ])
    ```
    """
    _rank = 2


class ConvLSTM3D(_ConvLSTM):
    __doc__ = "3D convolutional LSTM: an LSTM over sequences of volumes.\n" + \
        _DOC.format(rank=3, layout_last="(batch, time, depth, rows, cols, channels)",
                    layout_first="(batch, time, channels, depth, rows, cols)") + """
    ```python
    layer = keras.layers.ConvLSTM3D(4, 3, padding="same")
    y = layer(np.ones((2, 5, 8, 8, 8, 1), "float32"))  # (2, 8, 8, 8, 4)
    ```
    """
    _rank = 3


__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]
