"""Lambda: wraps a Python function as a layer. [L2: core]

The config records the function's *name* only, never its bytecode: a saved model
never carries code to run. Rebuilding a Lambda from a config needs the function
from the caller (`custom_objects`).
"""
import inspect

from gazelle.core import shapes
from gazelle.layers.layer import Layer


def _function_name(fn):
    return getattr(fn, "__name__", type(fn).__name__)


class Lambda(Layer):
    """Wraps an arbitrary function (of `jax.numpy` operations) as a layer.

    Use it for simple stateless computations; a layer with weights must be a
    `Layer` subclass. If the function takes a `training` argument, the layer passes
    it on.

    Args:
        function: the function to call, `function(inputs, **arguments)`.
        output_shape: optional output shape without the batch dimension (a tuple), or a
            function `input_shape -> output_shape` (batch dimension included). By
            default it is inferred by tracing `function`.
        mask: accepted for compatibility; gazelle layers do not propagate masks.
        arguments: optional dict of keyword arguments passed to `function`.

    ```python
    keras.layers.Lambda(lambda x: x ** 2)
    keras.layers.Lambda(jnp.exp, name="exp")
    ```
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda: `function` must be callable. Received: "
                            f"function={function!r} (of type {type(function).__name__})")
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(f"Lambda: `arguments` must be a dict of keyword arguments. "
                            f"Received: arguments={arguments!r}")
        if output_shape is not None and not callable(output_shape):
            output_shape = shapes.standardize_shape(output_shape, "Lambda output_shape")
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        # Not `_output_shape`: the base class uses that name for the computed shape.
        self._output_shape_arg = output_shape
        try:
            params = inspect.signature(function).parameters
        except (TypeError, ValueError):
            params = {}
        self._fn_expects_training = "training" in params

    def call(self, inputs, training=None):
        kwargs = dict(self.arguments)
        if self._fn_expects_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def compute_output_shape(self, input_shape):
        spec = self._output_shape_arg
        if spec is None:
            return super().compute_output_shape(input_shape)
        if callable(spec):
            return spec(input_shape)
        first = input_shape[0] if isinstance(input_shape, list) else input_shape
        return (first[0],) + spec

    def get_config(self):
        config_ = {**super().get_config(), "function": _function_name(self.function)}
        spec = self._output_shape_arg
        if spec is not None:
            config_["output_shape"] = _function_name(spec) if callable(spec) else spec
        if self.mask is not None:
            config_["mask"] = _function_name(self.mask) if callable(self.mask) else self.mask
        config_["arguments"] = self.arguments
        return config_

    @classmethod
    def from_config(cls, config_, custom_objects=None):
        """Rebuilds the layer; functions stored by name are looked up in `custom_objects`.

        Args:
            config_: the dict from `get_config`.
            custom_objects: optional dict name -> function.
        """
        config_ = dict(config_)
        table = custom_objects or {}
        for key in ("function", "output_shape", "mask"):
            value = config_.get(key)
            if isinstance(value, str):
                if value not in table:
                    raise ValueError(
                        f"Cannot rebuild Lambda layer '{config_.get('name')}': its `{key}` "
                        f"was saved by name only ({value!r}), and no function of that name "
                        f"was passed in `custom_objects` (got {sorted(table)}). Pass "
                        f"custom_objects={{{value!r}: your_function}}.")
                config_[key] = table[value]
            elif isinstance(value, list):
                config_[key] = tuple(value)
        return cls(**config_)


__all__ = ["Lambda"]
