"""Layer wrappers for sequences: Bidirectional and TimeDistributed. [L2: core]

`Bidirectional` runs a copy of a recurrent layer forwards and another backwards and
merges their outputs. `TimeDistributed` applies one layer to every time step: the time
axis is folded into the batch (`(batch * timesteps, ...)`), so a Dense or Conv2D runs as
one call; a wrapped layer with non-trainable state (e.g. BatchNormalization, whose
statistics are per call) runs step by step instead, as in Keras.
"""
import jax.numpy as jnp

from gazelle.layers.layer import Layer

_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _serialize(layer):
    from gazelle.core.serialization import serialize_keras_object
    return serialize_keras_object(layer)


def _deserialize(entry, custom_objects=None):
    if isinstance(entry, Layer):
        return entry
    from gazelle.core.serialization import deserialize_keras_object
    return deserialize_keras_object(entry, custom_objects=custom_objects, kind="layer")


def _remove_prefix(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


class Bidirectional(Layer):
    """Bidirectional wrapper for RNNs: one copy reads forwards, one backwards.

    Args:
        layer: a recurrent layer (`LSTM`, `GRU`, `SimpleRNN`, `RNN`); its config is
            copied for the forward layer (named `forward_<name>`) and, unless
            `backward_layer` is given, for the backward one (`go_backwards=True`,
            `backward_<name>`).
        merge_mode: how the two outputs combine: `"concat"` (default), `"sum"`,
            `"mul"`, `"ave"`, or None (return both, as a list).
        weights: optional list of initial weights (forward layer's, then backward's).
        backward_layer: optional recurrent layer for the backward direction; it must
            have `go_backwards` opposite to `layer` and the same `return_sequences`,
            `return_state` and `stateful`.

    With `return_sequences=True` the backward output is flipped back to the input's
    time order before merging, and masked steps output zeros in both directions.

    ```python
    model = keras.Sequential([
        keras.Input((5, 10)),
        keras.layers.Bidirectional(keras.layers.LSTM(10, return_sequences=True)),
        keras.layers.Bidirectional(keras.layers.LSTM(10)),
        keras.layers.Dense(5, activation="softmax"),
    ])
    ```
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None,
                 **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError("Bidirectional: please initialize it with a keras.layers.Layer "
                             f"instance (a recurrent layer). Received: {layer!r}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError("Bidirectional: `backward_layer` must be a keras.layers.Layer "
                             f"instance. Received: {backward_layer!r}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Bidirectional: invalid merge_mode {merge_mode!r}. Merge mode "
                             "should be one of {'sum', 'mul', 'ave', 'concat', None}.")
        super().__init__(**kwargs)
        entry = _serialize(layer)
        entry["config"]["name"] = "forward_" + _remove_prefix(layer.name, "forward_")
        self.forward_layer = _deserialize(entry)
        if backward_layer is None:
            entry = _serialize(layer)
            entry["config"]["go_backwards"] = True
            entry["config"]["name"] = "backward_" + _remove_prefix(layer.name, "backward_")
            backward_layer = _deserialize(entry)
        self.backward_layer = backward_layer
        self._verify()
        for sub in (self.forward_layer, self.backward_layer):
            if getattr(sub, "zero_output_for_mask", None) is not None:
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self._initial_weights = list(weights) if weights else None
        self.stateful = self.forward_layer.stateful
        self.return_sequences = self.forward_layer.return_sequences
        self.return_state = self.forward_layer.return_state
        self.supports_masking = True

    def _verify(self):
        fwd, bwd = self.forward_layer, self.backward_layer
        if getattr(fwd, "go_backwards", None) == getattr(bwd, "go_backwards", None):
            raise ValueError(
                "Bidirectional: forward layer and backward layer should have different "
                f"`go_backwards` values. Received: forward_layer.go_backwards="
                f"{getattr(fwd, 'go_backwards', None)}, backward_layer.go_backwards="
                f"{getattr(bwd, 'go_backwards', None)}")
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(fwd, attr) != getattr(bwd, attr):
                raise ValueError(
                    f"Bidirectional: forward layer and backward layer are expected to have "
                    f"the same value for attribute {attr!r}, got {getattr(fwd, attr)!r} for "
                    f"the forward layer and {getattr(bwd, attr)!r} for the backward layer.")

    def build(self, sequences_shape, initial_state_shape=None):
        self.forward_layer._maybe_build([tuple(sequences_shape)])
        self.backward_layer._maybe_build([tuple(sequences_shape)])
        if self._initial_weights is not None:
            half = len(self._initial_weights) // 2
            self.forward_layer.set_weights(self._initial_weights[:half])
            self.backward_layer.set_weights(self._initial_weights[half:])
            self._initial_weights = None
        self.built = True

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        out = self.forward_layer.compute_output_shape(tuple(sequences_shape))
        states = ()
        if self.return_state:
            out, states = out[0], tuple(out[1:])
        if self.merge_mode == "concat":
            out = tuple(out[:-1]) + (None if out[-1] is None else 2 * out[-1],)
        if self.merge_mode is None:
            return (out, out) + states + states
        return (out,) + states + states if self.return_state else out

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if self.return_sequences:
            output_mask = [mask, mask] if self.merge_mode is None else mask
        else:
            output_mask = [None, None] if self.merge_mode is None else None
        if self.return_state:
            n_states = 2 * len(self.forward_layer.state_size)
            head = output_mask if isinstance(output_mask, list) else [output_mask]
            return head + [None] * n_states
        return output_mask

    def call(self, sequences, initial_state=None, mask=None, training=None):
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = initial_state[:half], initial_state[half:]
        y = self.forward_layer(sequences, initial_state=forward_state, mask=mask,
                               training=training)
        y_rev = self.backward_layer(sequences, initial_state=backward_state, mask=mask,
                                    training=training)
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = jnp.flip(y_rev, axis=1)
        if self.merge_mode == "concat":
            output = jnp.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = (y, y_rev)
        if self.return_state:
            return (output + states) if self.merge_mode is None else (output,) + states
        return output

    @property
    def states(self):
        fwd, bwd = self.forward_layer.states, self.backward_layer.states
        if fwd and bwd:
            return tuple(fwd) + tuple(bwd)
        return None

    def reset_state(self):
        """Resets the states of both directions (stateful layers only)."""
        if not self.stateful:
            raise AttributeError(f"Layer '{self.name}' must be stateful to reset its states.")
        self.forward_layer.reset_state()
        self.backward_layer.reset_state()

    def reset_states(self):
        """Alias of `reset_state`."""
        self.reset_state()

    def get_config(self):
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": _serialize(self.forward_layer),
                "backward_layer": _serialize(self.backward_layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = _deserialize(config["layer"], custom_objects)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = _deserialize(config["backward_layer"], custom_objects)
        return cls(**config)


class TimeDistributed(Layer):
    """Applies a layer to every temporal slice of an input.

    Inputs have shape `(batch, timesteps, ...)`; the wrapped layer sees
    `(batch, ...)` slices and shares its weights across time steps.

    Args:
        layer: a `keras.layers.Layer` instance.

    ```python
    layer = keras.layers.TimeDistributed(keras.layers.Dense(8))
    y = layer(np.ones((32, 10, 16), "float32"))     # (32, 10, 8)
    ```
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError("TimeDistributed: please initialize it with a keras.layers.Layer "
                             f"instance. Received: {layer!r}")
        super().__init__(**kwargs)
        self.layer = layer
        self.supports_masking = True

    def _child_shape(self, input_shape):
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError(
                f"Layer '{self.name}' (TimeDistributed) expects inputs with at least 3 "
                f"dimensions (batch, timesteps, ...); received shape {input_shape}.")
        return (input_shape[0], *input_shape[2:])

    def build(self, input_shape):
        self.layer._maybe_build([tuple(self._child_shape(tuple(input_shape)))])
        self.built = True

    def _check_input(self, inputs):
        self._child_shape(tuple(inputs.shape))

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        child = self.layer.compute_output_shape(self._child_shape(input_shape))
        return (child[0], input_shape[1], *child[1:])

    def call(self, inputs, training=None, mask=None):
        batch, steps = inputs.shape[0], inputs.shape[1]
        if mask is not None and tuple(mask.shape[:2]) != (batch, steps):
            raise ValueError(
                f"Layer '{self.name}' (TimeDistributed): the mask has shape "
                f"{tuple(mask.shape)}; its first two dimensions must be the input's "
                f"(batch, timesteps) = {(batch, steps)}.")
        kwargs = {"training": training}
        takes_mask = "mask" in _call_params(self.layer)
        if self.layer.non_trainable_weights:
            # Per-call statistics (BatchNormalization): one call per time step, as Keras.
            outs = []
            for t in range(steps):
                if takes_mask and mask is not None:
                    kwargs["mask"] = mask[:, t]
                outs.append(self.layer(inputs[:, t], **kwargs))
            return jnp.stack(outs, axis=1)
        folded = jnp.reshape(inputs, (batch * steps,) + tuple(inputs.shape[2:]))
        if takes_mask and mask is not None:
            kwargs["mask"] = jnp.reshape(mask, (batch * steps,) + tuple(mask.shape[2:]))
        out = self.layer(folded, **kwargs)
        return jnp.reshape(out, (batch, steps) + tuple(out.shape[1:]))

    def get_config(self):
        return {**super().get_config(), "layer": _serialize(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = _deserialize(config["layer"], custom_objects)
        return cls(**config)


def _call_params(layer):
    import inspect
    try:
        return inspect.signature(layer.call).parameters
    except (TypeError, ValueError):
        return {}


__all__ = ["Bidirectional", "TimeDistributed"]
