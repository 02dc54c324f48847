"""Input checks with messages that name the layer, the expectation and what came. [L2]

They run when a layer is called, before any compile (shapes are static), so a wrong
input shape never surfaces as an XLA trace.
"""


def check_rank(layer, shape, min_ndim=None, ndim=None):
    if ndim is not None and len(shape) != ndim:
        raise ValueError(
            f"Input 0 of layer '{layer.name}' is incompatible with the layer: expected "
            f"ndim={ndim}, found ndim={len(shape)}. Full shape received: {tuple(shape)}.")
    if min_ndim is not None and len(shape) < min_ndim:
        raise ValueError(
            f"Input 0 of layer '{layer.name}' is incompatible with the layer: expected "
            f"min_ndim={min_ndim}, found ndim={len(shape)}. Full shape received: {tuple(shape)}.")


def check_last_dim(layer, shape, expected, hint=""):
    if shape and shape[-1] is not None and shape[-1] != expected:
        raise ValueError(
            f"Layer '{layer.name}' expects inputs with last dimension {expected}, but received "
            f"shape {tuple(shape)}.{hint}")


class InputSpec:
    """What a layer accepts as input: rank, dtype, shape or some axes (Keras 3's InputSpec).

    A layer that sets `self.input_spec` (one spec, or a list/nested structure of specs,
    one per input tensor) has the first argument of every call checked against it, and a
    mismatch raises a ValueError naming the layer, the expectation and what came.

    Args:
        dtype: the dtype inputs must have.
        shape: the full shape inputs must have (batch dimension included); `None` entries
            match any size. Sets `ndim` to its length.
        ndim: the rank inputs must have.
        max_ndim: the largest rank accepted.
        min_ndim: the smallest rank accepted.
        axes: a dict `{axis: size}` of the sizes some axes must have.
        allow_last_axis_squeeze: accept a rank one larger (a trailing axis of 1) or one
            smaller (when the spec's last axis is 1) than `shape`/`ndim`.
        name: the key of this input when inputs come as a dict.
        optional: whether `None` is accepted for this input.

    ```python
    class Conv(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.input_spec = keras.InputSpec(ndim=4)
    ```
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None,
                 axes=None, allow_last_axis_squeeze=False, name=None, optional=False):
        if dtype is not None:
            from gazelle.backend import standardize_dtype
            dtype = standardize_dtype(dtype)
        self.dtype = dtype
        if shape is not None:
            from gazelle.core.shapes import standardize_shape
            self.shape = standardize_shape(shape, "InputSpec shape")
            self.ndim = len(self.shape)
        else:
            self.shape = None
            self.ndim = ndim
        self.max_ndim = max_ndim
        self.min_ndim = min_ndim
        self.name = name
        self.optional = optional
        self.allow_last_axis_squeeze = allow_last_axis_squeeze
        axes = axes or {}
        try:
            self.axes = {int(axis): axes[axis] for axis in axes}
        except (TypeError, ValueError):
            raise TypeError("InputSpec: `axes` must be a dict with integer keys, received "
                            f"axes={axes!r}.") from None
        limit = self.ndim if self.ndim else self.max_ndim
        if self.axes and limit is not None and max(self.axes) > limit - 1:
            raise ValueError(f"InputSpec: axis {max(self.axes)} is greater than the maximum "
                             f"allowed value {limit - 1} (ndim={limit}).")

    def __repr__(self):
        parts = [f"{key}={getattr(self, key)}" for key in
                 ("dtype", "shape", "ndim", "max_ndim", "min_ndim", "axes")
                 if getattr(self, key)]
        return f"InputSpec({', '.join(parts)})"

    def get_config(self):
        """The constructor arguments Keras saves (without `name` and the squeeze flag)."""
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim,
                "max_ndim": self.max_ndim, "min_ndim": self.min_ndim, "axes": self.axes,
                "optional": self.optional}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _incompatible(index, spec, layer_name, detail):
    return ValueError(f"Input {index} with name '{spec.name}' of layer '{layer_name}' is "
                      f"incompatible with the layer: {detail}")


def assert_input_compatibility(input_spec, inputs, layer_name):
    """Raises a ValueError when `inputs` (the first call argument) do not match
    `input_spec` (an InputSpec, a nested structure of them, or None), as Keras 3 does."""
    if not input_spec:
        return
    from gazelle import tree
    specs = tree.flatten(input_spec)
    if isinstance(inputs, dict):
        names = [spec.name for spec in specs]
        if all(names):
            for name in names:
                if name not in inputs:
                    raise ValueError(
                        f'Missing data for input "{name}". You passed a data dictionary with '
                        f"keys {list(inputs)}. Expected the following keys: {names}")
            inputs = [inputs[name] for name in names]
    inputs = tree.flatten(inputs)
    if len(inputs) != len(specs):
        names = [spec.name for spec in specs if spec is not None]
        if len(names) == len(specs) and all(names):
            keys = ", ".join(f"'{n}': ..." for n in names)
            raise ValueError(
                f'Layer "{layer_name}" expects {len(specs)} named input(s) with keys {names}, '
                f"but it received {len(inputs)} input tensors. Pass inputs as a dict, e.g. "
                f"`layer({{{keys}}})`.")
        raise ValueError(f'Layer "{layer_name}" expects {len(specs)} input(s), but it received '
                         f"{len(inputs)} input tensors. Inputs received: {inputs}")
    for index, (x, spec) in enumerate(zip(inputs, specs)):
        if spec is None or (x is None and spec.optional):
            continue
        if not hasattr(x, "shape"):
            raise ValueError(f"Inputs to a layer should be tensors. Got '{x}' (of type "
                             f"{type(x)}) as input for layer '{layer_name}'.")
        shape = tuple(None if d is None else int(d) for d in x.shape)
        ndim = len(shape)
        if spec.ndim is not None and not spec.allow_last_axis_squeeze and ndim != spec.ndim:
            raise _incompatible(index, spec, layer_name,
                                f"expected ndim={spec.ndim}, found ndim={ndim}. "
                                f"Full shape received: {shape}")
        if spec.max_ndim is not None and ndim > spec.max_ndim:
            raise _incompatible(index, spec, layer_name,
                                f"expected max_ndim={spec.max_ndim}, found ndim={ndim}")
        if spec.min_ndim is not None and ndim < spec.min_ndim:
            raise _incompatible(index, spec, layer_name,
                                f"expected min_ndim={spec.min_ndim}, found ndim={ndim}. "
                                f"Full shape received: {shape}")
        if spec.dtype is not None:
            from gazelle.backend import standardize_dtype
            dtype = standardize_dtype(x.dtype)
            if dtype != spec.dtype:
                raise _incompatible(index, spec, layer_name,
                                    f"expected dtype={spec.dtype}, found dtype={dtype}")
        for axis, value in spec.axes.items():
            if value is not None and shape[axis] not in (value, None):
                raise _incompatible(index, spec, layer_name,
                                    f"expected axis {axis} of input shape to have value "
                                    f"{value}, but received input with shape {shape}")
        if spec.shape is not None:
            expected = spec.shape
            if spec.allow_last_axis_squeeze:
                if shape and shape[-1] == 1:
                    shape = shape[:-1]
                if expected and expected[-1] == 1:
                    expected = expected[:-1]
            for want, got in zip(expected, shape):
                if want is not None and got is not None and want != got:
                    raise _incompatible(index, spec, layer_name,
                                        f"expected shape={spec.shape}, found shape={shape}")
