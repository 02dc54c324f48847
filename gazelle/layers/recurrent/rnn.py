"""RNN (any cell over a sequence) and the SimpleRNN, LSTM and GRU layers. [L2: core,
activations, initializers, regularizers]

One `lax.scan` runs the time steps. For the built-in cells the input half of each step
(`inputs @ kernel + bias`, for all time steps at once) is one matrix product before the
scan, so only the recurrent product `h @ recurrent_kernel` and the gates run inside it.
`unroll=True` is the same scan fully unrolled by XLA (`lax.scan(unroll=True)`): same
values, a longer program, no loop. A mask `(batch, timesteps)` freezes the states of the
masked samples at masked steps; their outputs repeat the previous output (or are zero
with `zero_output_for_mask=True`), as in Keras 3.

A stateful RNN keeps its last states in non-trainable Variables (never saved as
weights, as in Keras 3); `fit`/`predict` carry them through compiled steps like the
random-seed state of dropout layers.
"""
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from gazelle import activations
from gazelle.layers import input_spec
from gazelle.layers.core import last_axis_product
from gazelle.layers.layer import Layer
from gazelle.layers.recurrent import fused
from gazelle.layers.recurrent.cells import (GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells,
                                            _GatedCell)


class _StateHolder:
    """Holds a stateful RNN's state Variables out of sight of the weight walk."""

    def __init__(self):
        self.variables = None


def _prepare_dropout(cell, batch, dtype, training):
    """Draws the dropout masks of `cell` (and of stacked cells) for this batch, before the scan."""
    if isinstance(cell, StackedRNNCells):
        for c in cell.cells:
            _prepare_dropout(c, batch, dtype, training)
    elif isinstance(cell, _GatedCell):
        # set in __dict__: a tuple attribute would count as a structure change (Layer.__setattr__)
        cell.__dict__["_cached_masks"] = cell._make_masks(batch, dtype, training)


def _clear_dropout(cell):
    if isinstance(cell, StackedRNNCells):
        for c in cell.cells:
            _clear_dropout(c)
    elif isinstance(cell, _GatedCell):
        cell.__dict__["_cached_masks"] = None


def _first_leaf(tree):
    return jax.tree_util.tree_leaves(tree)[0]


class RNN(Layer):
    """Base class for recurrent layers: runs a cell over the time axis of a sequence.

    Args:
        cell: a cell (a layer with `call(inputs, states) -> (output, new_states)` and a
            `state_size` attribute: an int or a list of ints, one per state), or a list
            of cells (stacked with `StackedRNNCells`).
        return_sequences: return the output of every step `(batch, timesteps, units)`
            instead of the last one (default False).
        return_state: also return the last states (default False).
        go_backwards: process the sequence backwards and return the reversed sequence
            (default False).
        stateful: use the last states of each batch as the initial states of the next
            (sample i continues sample i); needs a fixed batch size (default False).
        unroll: unroll the loop (default False); here the same `lax.scan`, fully unrolled.
        zero_output_for_mask: masked steps output zeros instead of the previous output
            (default False).

    Call arguments: `inputs` `(batch, timesteps, features)`, `initial_state` (list of
    state tensors), `mask` `(batch, timesteps)` booleans, `training`.

    ```python
    class MinimalCell(keras.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w")

        def call(self, inputs, states):
            h = inputs @ self.w + states[0]
            return h, [h]

    layer = keras.layers.RNN(MinimalCell(4))
    y = layer(np.ones((2, 10, 8), "float32"))      # (2, 4)
    ```
    """

    _ndim = None            # SimpleRNN/LSTM/GRU require exactly 3-D inputs

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not callable(getattr(cell, "call", None)):
            raise ValueError(f"RNN: the `cell` argument must have a `call` method. "
                             f"Received: cell={cell!r}")
        state_size = getattr(cell, "state_size", None)
        if state_size is None:
            raise ValueError("RNN: `state_size` must be specified as an attribute of the RNN "
                             f"cell. Received: cell={cell!r}")
        if not isinstance(state_size, (list, tuple, int)):
            raise ValueError("RNN: the cell's `state_size` must be an int or a list/tuple of "
                             f"ints (one per state). Received: {state_size!r}")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self._holder = _StateHolder()

    # -- sizes -------------------------------------------------------------------------
    @property
    def state_size(self):
        size = self.cell.state_size
        return [size] if isinstance(size, int) else list(size)

    def _output_size(self):
        size = getattr(self.cell, "output_size", None)
        if size is None:
            size = self.state_size[0]
        return size

    def _step_output_shape(self):
        """One step's output shape without the batch axis (ConvLSTM's has spatial axes)."""
        return (self._output_size(),)

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        sequences_shape = tuple(sequences_shape)
        batch, length = sequences_shape[0], sequences_shape[1]
        units = self._output_size()
        out = (batch, length, units) if self.return_sequences else (batch, units)
        if not self.return_state:
            return out
        states = []
        for size in self.state_size:
            if isinstance(size, int):
                states.append((batch, size))
            else:
                states.append([(batch, s) for s in size])
        return (out, *states)

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self.state_size)
        return output_mask

    # -- build / state ---------------------------------------------------------------------
    def build(self, sequences_shape, initial_state_shape=None):
        sequences_shape = tuple(sequences_shape)
        self._check_rank(sequences_shape)
        step_shape = (sequences_shape[0],) + sequences_shape[2:]
        if isinstance(self.cell, Layer):
            self.cell._maybe_build([step_shape])
        if self.stateful:
            batch = sequences_shape[0]
            if batch is None:
                raise ValueError(
                    f"Layer '{self.name}': a stateful RNN needs a fixed batch size, but the "
                    f"input shape is {sequences_shape}. Give the first layer "
                    "`batch_input_shape=(batch, timesteps, features)` (or `batch_size=`), or "
                    "start with `keras.Input(batch_shape=...)`.")
            if self._holder.variables is None:
                from gazelle.core.variables import Variable
                with jax.ensure_compile_time_eval():
                    zeros = self.get_initial_state(batch)
                    self._holder.variables = jax.tree_util.tree_map(
                        lambda z: Variable(z, trainable=False, dtype=z.dtype,
                                           name="rnn_state"), zeros)
        self.built = True

    def _seed_variables(self):
        # The trainer threads these Variables through compiled steps (as it does for the
        # state of SeedGenerators); they are not weights and are not saved.
        extra = [] if self._holder.variables is None else jax.tree_util.tree_leaves(
            self._holder.variables, is_leaf=lambda v: hasattr(v, "assign"))
        return super()._seed_variables() + extra

    def _stored_batch(self):
        # Eager calls with another batch size raise in `_check_input`. Inside compiled code
        # (fit's shape probe, its last partial batch) such a batch starts from zero states
        # and leaves the stored states as they are.
        if self._holder.variables is None:
            return None
        return _first_leaf(self._holder.variables).shape[0]

    @property
    def states(self):
        """The state Variables of a stateful RNN (None otherwise)."""
        return self._holder.variables

    def reset_state(self):
        """Sets the states of a stateful RNN back to zeros."""
        if self._holder.variables is None:
            if not self.stateful:
                raise AttributeError(f"Layer '{self.name}' is not stateful: it has no states "
                                     "to reset. Pass `stateful=True` to keep states.")
            return
        for v in jax.tree_util.tree_leaves(self._holder.variables,
                                           is_leaf=lambda v: hasattr(v, "assign")):
            v.assign(np.zeros(v.shape, jnp.dtype(v.dtype)))

    def reset_states(self):
        """Alias of `reset_state` (the tf.keras 2 name)."""
        self.reset_state()

    def get_initial_state(self, batch_size):
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is not None:
            state = fn(batch_size=batch_size)
            return list(state) if isinstance(state, (list, tuple)) else [state]
        return [jnp.zeros((batch_size, d), self.compute_dtype) for d in self.state_size]

    # -- checks ---------------------------------------------------------------------------
    def _check_rank(self, shape):
        if self._ndim is not None:
            if len(shape) != self._ndim:
                hint = (" Recurrent layers take sequences (batch, timesteps, features); "
                        "add a time axis, e.g. x[:, None, :] or a Reshape layer."
                        if len(shape) == 2 else "")
                raise ValueError(
                    f"Input 0 of layer '{self.name}' is incompatible with the layer: expected "
                    f"ndim={self._ndim}, found ndim={len(shape)}. Full shape received: "
                    f"{tuple(shape)}.{hint}")
        else:
            input_spec.check_rank(self, shape, min_ndim=3)

    def _check_input(self, inputs):
        shape = tuple(inputs.shape)
        self._check_rank(shape)
        kernel = getattr(self.cell, "kernel", None)
        if kernel is not None and len(kernel.shape) == 2 and shape[-1] != kernel.shape[0]:
            raise ValueError(
                f"Layer '{self.name}' expects inputs with last dimension {kernel.shape[0]}, "
                f"but received shape {shape}.")
        if self.stateful and self._holder.variables is not None and not isinstance(
                inputs, jax.core.Tracer):
            expected = _first_leaf(self._holder.variables).shape[0]
            if shape[0] != expected:
                raise ValueError(
                    f"Layer '{self.name}' is stateful with batch size {expected}, but "
                    f"received a batch of {shape[0]} sequences (shape {shape}). A stateful "
                    "RNN must see the same batch size on every call: batch your data to "
                    f"{expected} samples (drop the remainder), or rebuild with that batch "
                    "size.")

    def _standardize_initial_state(self, initial_state, batch):
        expected = self.get_initial_state(batch)
        flat_expected, treedef = jax.tree_util.tree_flatten(expected)
        given = initial_state if isinstance(initial_state, (list, tuple)) else [initial_state]
        flat_given = jax.tree_util.tree_leaves(list(given))
        if len(flat_given) != len(flat_expected):
            raise ValueError(
                f"Layer '{self.name}' expects {len(flat_expected)} initial state tensor(s) "
                f"(state_size={self.cell.state_size}), but `initial_state` holds "
                f"{len(flat_given)}.")
        out = []
        for i, (g, e) in enumerate(zip(flat_given, flat_expected)):
            g = jnp.asarray(g, self.compute_dtype)
            if tuple(g.shape) != tuple(e.shape):
                raise ValueError(
                    f"Layer '{self.name}': initial_state[{i}] has shape {tuple(g.shape)}, "
                    f"expected {tuple(e.shape)} (batch, state size).")
            out.append(g)
        return jax.tree_util.tree_unflatten(treedef, out)

    # -- the loop ---------------------------------------------------------------------------
    def call(self, sequences, initial_state=None, mask=None, training=False):
        sequences = jnp.asarray(sequences, self.compute_dtype)
        batch = sequences.shape[0]
        if initial_state is not None:
            states = self._standardize_initial_state(initial_state, batch)
        elif self.stateful and self._stored_batch() == batch:
            states = jax.tree_util.tree_map(
                lambda v: v.value, self._holder.variables,
                is_leaf=lambda v: hasattr(v, "assign"))
        else:
            states = self.get_initial_state(batch)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is not None:
            mask = jnp.asarray(mask).astype(bool)
            if mask.shape != sequences.shape[:2]:
                raise ValueError(
                    f"Layer '{self.name}': the mask has shape {tuple(mask.shape)}, expected "
                    f"{tuple(sequences.shape[:2])} (batch, timesteps).")
        _prepare_dropout(self.cell, batch, sequences.dtype, training)
        try:
            last, outputs, states = self._scan(sequences, states, mask, training)
        finally:
            _clear_dropout(self.cell)
        if self.stateful and self._stored_batch() == batch:
            for v, s in zip(jax.tree_util.tree_leaves(
                    self._holder.variables, is_leaf=lambda v: hasattr(v, "assign")),
                    jax.tree_util.tree_leaves(states)):
                v.assign(s)
        output = outputs if self.return_sequences else last
        if self.return_state:
            return (output, *states)
        return output

    def _scan(self, sequences, states, mask, training):
        cell = self.cell
        fast = isinstance(cell, _GatedCell)
        if fast:
            # The input half of every step at once: one (batch*time, features) product.
            in_masks, rec_masks = cell._masks_for(sequences[:, 0], training)
            kind = _fused_kind(cell)
            if kind and rec_masks is None and not self.unroll and not (
                    # there the last output is zeros where the last step is masked
                    self.zero_output_for_mask and mask is not None
                    and not self.return_sequences):
                return self._fused_scan(kind, sequences, in_masks, states, mask)
            xs = jnp.swapaxes(cell._project(sequences, in_masks), 0, 1)

            def step_fn(x_t, s):
                return cell._recur(x_t, list(s), rec_masks)
        else:
            xs = jnp.swapaxes(sequences, 0, 1)
            kwargs = {"training": training} if "training" in _params(cell) else {}

            def step_fn(x_t, s):
                out, new = cell(x_t, s, **kwargs)
                return out, new if isinstance(new, (list, tuple)) else [new]

        states = list(states)
        zero_out = jnp.zeros((sequences.shape[0],) + self._step_output_shape(),
                             sequences.dtype)
        keep_all = self.return_sequences
        zero_for_mask = self.zero_output_for_mask
        stacked = isinstance(cell, StackedRNNCells)

        def body(carry, x):
            s, last = carry
            if mask is None:
                x_t = x
            else:
                x_t, m_t = x
            out, new = step_fn(x_t, s)
            new = jax.tree_util.tree_map(lambda a, b: a.astype(b.dtype), list(new), s)
            if mask is not None:
                def keep(a, b):       # per sample: `a` where the step is valid, else `b`
                    return jnp.where(m_t.reshape((-1,) + (1,) * (a.ndim - 1)), a, b)

                if zero_for_mask:
                    out = keep(out, jnp.zeros_like(out))
                else:
                    # The previous output is the first state (of the last cell if stacked).
                    prev = _first_leaf(s[-1]) if stacked else _first_leaf(s[0])
                    out = keep(out, prev.astype(out.dtype))
                new = jax.tree_util.tree_map(keep, new, s)
            return (new, out), (out if keep_all else None)

        scan_xs = xs if mask is None else (xs, jnp.swapaxes(mask, 0, 1))
        (states, last), ys = lax.scan(body, (states, zero_out), scan_xs,
                                      reverse=self.go_backwards, unroll=self.unroll)
        outputs = None
        if keep_all:
            if self.go_backwards:
                ys = jnp.flip(ys, axis=0)      # outputs in the order they were computed
            outputs = jnp.swapaxes(ys, 0, 1)
        return last, outputs, states

    def _fused_scan(self, kind, sequences, in_masks, states, mask):
        """The built-in LSTM's or GRU's loop (fused.py): gates in blocks, hand-written
        gradients. The inputs go time-major before the input product (fewer bytes to move
        than its gates*units-wide result); the LSTM's gate columns are reordered."""
        cell = self.cell
        units = cell.units
        order = fused.reorder if kind == "lstm" else (lambda a, u: a)
        x = jnp.swapaxes(sequences, 0, 1)
        if in_masks is not None:
            x = x * in_masks[0][None]
        xs = last_axis_product(x, order(cell.kernel.value, units))
        bias = cell._input_bias()
        if bias is not None:
            bias = order(bias, units)
            if kind != "lstm":             # the LSTM's loop adds it to each step
                xs, bias = xs + bias, None
        masks = None if mask is None else jnp.swapaxes(mask, 0, 1).astype(xs.dtype)
        kernel = order(cell.recurrent_kernel.value, units).astype(xs.dtype)
        flags = (self.go_backwards, self.return_sequences, self.zero_output_for_mask)
        if kind == "lstm":
            h0, c0 = (jnp.asarray(s, xs.dtype) for s in states)
            h, c, ys = fused.lstm_scan(xs, masks, h0, c0, kernel, *flags, bias=bias)
            new_states = [h, c]
        else:
            recurrent_bias = jnp.zeros(kernel.shape[1], xs.dtype) if cell.bias is None \
                else cell.bias.value[1]
            h, ys = fused.gru_scan(xs, masks, jnp.asarray(states[0], xs.dtype), kernel,
                                   recurrent_bias.astype(xs.dtype), *flags)
            new_states = [h]
        outputs = None
        if ys is not None:
            if self.go_backwards:
                ys = jnp.flip(ys, axis=0)      # outputs in the order they were computed
            outputs = jnp.swapaxes(ys, 0, 1)
        return h, outputs, new_states

    # -- config ------------------------------------------------------------------------------
    def _rnn_config(self):
        return {"return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful,
                "unroll": self.unroll, "zero_output_for_mask": self.zero_output_for_mask}

    def get_config(self):
        from gazelle.core.serialization import serialize_keras_object as ser
        return {**super().get_config(), **self._rnn_config(), "cell": ser(self.cell)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from gazelle.core.serialization import deserialize_keras_object
        config = dict(config)
        cell = config.pop("cell")
        if not isinstance(cell, Layer):
            cell = deserialize_keras_object(cell, custom_objects=custom_objects)
        return cls(cell, **config)


def _fused_kind(cell):
    """"lstm" or "gru" when fused.py's loop applies to `cell` (a built-in LSTMCell, or a
    GRUCell with reset_after=True, with their default activations), else None."""
    if cell.activation is not activations.tanh or \
            getattr(cell, "recurrent_activation", None) is not activations.sigmoid:
        return None
    cls = type(cell)        # subclasses (ConvLSTM's cells) may compute the products otherwise
    if cls._project is not _GatedCell._project or \
            cls._recurrent_product is not _GatedCell._recurrent_product or \
            cls._input_bias is not getattr(LSTMCell if isinstance(cell, LSTMCell) else GRUCell,
                                           "_input_bias"):
        return None
    if isinstance(cell, LSTMCell) and type(cell)._recur is LSTMCell._recur:
        return "lstm"
    if isinstance(cell, GRUCell) and type(cell)._recur is GRUCell._recur and \
            cell.reset_after:
        return "gru"
    return None


def _params(layer):
    import inspect
    try:
        return inspect.signature(layer.call).parameters
    except (TypeError, ValueError):
        return {}


class _BuiltinRNN(RNN):
    """SimpleRNN/LSTM/GRU: the cell's arguments are the layer's, and so is its config."""

    _ndim = 3
    _config_has_seed = True
    _cell_class = None
    _cell_name = None

    def __init__(self, units, *, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, activity_regularizer=None,
                 use_cudnn="auto", cell_kwargs=None, **kwargs):
        if use_cudnn not in ("auto", True, False):
            raise ValueError(f"{type(self).__name__}: invalid value for argument `use_cudnn`. "
                             f"Expected one of {{'auto', True, False}}. Received: "
                             f"use_cudnn={use_cudnn!r}")
        if use_cudnn is True:
            raise ValueError(f"{type(self).__name__}: use_cudnn=True is not available in "
                             "gazelle (it has no cuDNN kernel; its scan runs everywhere). "
                             "Pass use_cudnn='auto'.")
        from gazelle import regularizers
        cell = self._cell_class(
            units, dtype=kwargs.get("dtype"), trainable=kwargs.get("trainable", True),
            name=self._cell_name, implementation=kwargs.pop("implementation", 2),
            **cell_kwargs)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=regularizers.get(activity_regularizer),
                         **kwargs)
        self.use_cudnn = use_cudnn

    def __getattr__(self, name):
        # units, activation, kernel_initializer, dropout, ...: the cell's.
        if name.startswith("_") or name in ("cell",):
            raise AttributeError(name)
        cell = self.__dict__.get("cell")
        if cell is not None and name in _CELL_ATTRS:
            return getattr(cell, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def get_config(self):
        from gazelle.core.serialization import serialize_keras_object as ser
        cell_config = self.cell.get_config()
        for key in ("name", "trainable", "dtype", "batch_input_shape"):
            cell_config.pop(key, None)
        seed = cell_config.pop("seed")
        base = Layer.get_config(self)
        config = {**base, **self._rnn_config(), **cell_config,
                  "activity_regularizer": ser(self.activity_regularizer)}
        if self._config_has_seed:          # Keras 3's SimpleRNN leaves its seed out
            config["seed"] = seed
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


_CELL_ATTRS = {"units", "activation", "recurrent_activation", "use_bias", "unit_forget_bias",
               "kernel_initializer", "recurrent_initializer", "bias_initializer",
               "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
               "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
               "recurrent_dropout", "reset_after", "seed"}

_COMMON_DOC = """
        use_bias: whether the layer uses a bias vector (default True).
        kernel_initializer: initializer for the input `kernel` (default `"glorot_uniform"`).
        recurrent_initializer: initializer for `recurrent_kernel` (default `"orthogonal"`).
        bias_initializer: initializer for the bias (default `"zeros"`).
        kernel_regularizer, recurrent_regularizer, bias_regularizer: optional penalties.
        activity_regularizer: optional penalty on the layer's output.
        kernel_constraint, recurrent_constraint, bias_constraint: optional projections.
        dropout: float in [0, 1], fraction of the input units dropped in training (one
            mask per batch, the same at every step).
        recurrent_dropout: float in [0, 1], fraction of the recurrent units dropped.
        seed: optional int, the random seed for dropout.
        return_sequences: return every step's output (default False: the last one).
        return_state: also return the last states (default False).
        go_backwards: process the sequence backwards, return the reversed sequence.
        stateful: carry the last states of a batch into the next (fixed batch size).
        unroll: unroll the loop (default False; here the same scan, fully unrolled).
"""


class SimpleRNN(_BuiltinRNN):
    __doc__ = """Fully-connected RNN whose output is fed back as the next input state.

    Args:
        units: positive int, dimensionality of the output space.
        activation: activation function (default `"tanh"`).""" + _COMMON_DOC + """
    ```python
    layer = keras.layers.SimpleRNN(4)
    y = layer(np.ones((32, 10, 8), "float32"))      # (32, 4)
    ```
    """

    _cell_class = SimpleRNNCell
    _config_has_seed = False
    _cell_name = "simple_rnn_cell"

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None, **kwargs):
        super().__init__(
            units, return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful, unroll=unroll,
            activity_regularizer=activity_regularizer, cell_kwargs=dict(
                activation=activation, use_bias=use_bias,
                kernel_initializer=kernel_initializer,
                recurrent_initializer=recurrent_initializer,
                bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                recurrent_regularizer=recurrent_regularizer,
                bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed), **kwargs)


class LSTM(_BuiltinRNN):
    __doc__ = """Long Short-Term Memory layer (Hochreiter & Schmidhuber, 1997).

    Weights: `kernel` `(features, 4*units)`, `recurrent_kernel` `(units, 4*units)`,
    `bias` `(4*units,)`, gates in the order input, forget, cell, output (Keras's layout,
    so `set_weights` and `.keras` files from Keras 3 fit).

    Args:
        units: positive int, dimensionality of the output space.
        activation: activation of the candidate and the output (default `"tanh"`).
        recurrent_activation: activation of the gates (default `"sigmoid"`).
        unit_forget_bias: start the forget gate's bias at 1 (default True).""" + \
        _COMMON_DOC + """        use_cudnn: accepted for compatibility (`"auto"`); gazelle has one
            implementation, a `lax.scan`.

    ```python
    model = keras.Sequential([
        keras.layers.Embedding(1000, 16, mask_zero=True),
        keras.layers.LSTM(32),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    ```
    """

    _cell_class = LSTMCell
    _cell_name = "lstm_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False,
                 use_cudnn="auto", **kwargs):
        super().__init__(
            units, return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful, unroll=unroll,
            activity_regularizer=activity_regularizer, use_cudnn=use_cudnn, cell_kwargs=dict(
                activation=activation, recurrent_activation=recurrent_activation,
                use_bias=use_bias, kernel_initializer=kernel_initializer,
                recurrent_initializer=recurrent_initializer,
                bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
                kernel_regularizer=kernel_regularizer,
                recurrent_regularizer=recurrent_regularizer,
                bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed), **kwargs)


class GRU(_BuiltinRNN):
    __doc__ = """Gated Recurrent Unit layer (Cho et al., 2014).

    Weights: `kernel` `(features, 3*units)`, `recurrent_kernel` `(units, 3*units)`, and
    `bias` `(2, 3*units)` (input and recurrent bias) when `reset_after=True`, else
    `(3*units,)`; gates in the order update, reset, candidate.

    Args:
        units: positive int, dimensionality of the output space.
        activation: activation of the candidate (default `"tanh"`).
        recurrent_activation: activation of the gates (default `"sigmoid"`).
        reset_after: apply the reset gate after the recurrent product (default True,
            Keras 3's and cuDNN's convention); False: before.""" + _COMMON_DOC + """
        use_cudnn: accepted for compatibility (`"auto"`).

    ```python
    layer = keras.layers.GRU(4, return_sequences=True)
    y = layer(np.ones((32, 10, 8), "float32"))      # (32, 10, 4)
    ```
    """

    _cell_class = GRUCell
    _cell_name = "gru_cell"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, reset_after=True,
                 use_cudnn="auto", **kwargs):
        super().__init__(
            units, return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful, unroll=unroll,
            activity_regularizer=activity_regularizer, use_cudnn=use_cudnn, cell_kwargs=dict(
                activation=activation, recurrent_activation=recurrent_activation,
                use_bias=use_bias, kernel_initializer=kernel_initializer,
                recurrent_initializer=recurrent_initializer,
                bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                recurrent_regularizer=recurrent_regularizer,
                bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                dropout=dropout, recurrent_dropout=recurrent_dropout, reset_after=reset_after,
                seed=seed), **kwargs)


__all__ = ["RNN", "SimpleRNN", "LSTM", "GRU"]
