"""LossScaleOptimizer: dynamic loss scaling around another optimizer. [L1: jax,
gazelle.optimizers]

The training step multiplies the loss by the current scale (`scale_loss`, read from the
optimizer's state inside the compiled step) and this optimizer divides the gradients by
it. A step whose gradients are not all finite is skipped and halves the scale; after
`dynamic_growth_steps` finite steps in a row the scale doubles. gazelle computes in
float32, where scaling rarely matters, but the skipping and the scale's course are the
same as Keras 3's, and so are the variables (`step_counter`, `dynamic_scale`, then the
inner optimizer's).
"""
import jax
import jax.numpy as jnp

from gazelle.optimizers.optimizer import Optimizer

_BASE_DEFAULTS = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None,
                  "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
                  "ema_overwrite_frequency": None, "loss_scale_factor": None,
                  "gradient_accumulation_steps": None}


class LossScaleOptimizer(Optimizer):
    """An optimizer that dynamically scales the loss to prevent underflow.

    The loss is multiplied by a scale before gradients are taken and the gradients are
    divided by it before the inner optimizer applies them. When a step's gradients
    contain an inf or NaN, the step is skipped and the scale is halved; after
    `dynamic_growth_steps` steps with finite gradients, the scale is doubled.

    Args:
        inner_optimizer: The `keras.optimizers.Optimizer` instance to wrap.
        initial_scale: Float. The initial loss scale. Defaults to `2.0**15`.
        dynamic_growth_steps: Int. After this many steps with finite gradients, the
            scale doubles. Defaults to `2000`.
        name: String. The name of the optimizer, which prefixes its variable paths.

    ```python
    opt = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(1e-3))
    model.compile(optimizer=opt, loss="mse")
    ```
    """

    def __init__(self, inner_optimizer, initial_scale=2.0 ** 15, dynamic_growth_steps=2000,
                 name=None, **kwargs):
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer no longer supports `dynamic=False`; set "
                             "`loss_scale_factor` on the inner optimizer instead.")
        for arg, default in _BASE_DEFAULTS.items():
            if arg in kwargs and kwargs.pop(arg) != default:
                raise ValueError(f"LossScaleOptimizer does not support `{arg}`. Set "
                                 f"`{arg}` on the `inner_optimizer` instead.")
        if kwargs:
            raise ValueError(f"LossScaleOptimizer does not support arguments: {sorted(kwargs)}.")
        if not isinstance(inner_optimizer, Optimizer) or isinstance(inner_optimizer,
                                                                     LossScaleOptimizer):
            raise TypeError("LossScaleOptimizer: `inner_optimizer` must be a keras.optimizers "
                            "Optimizer instance (not a LossScaleOptimizer), received "
                            f"{inner_optimizer!r}.")
        if isinstance(dynamic_growth_steps, bool) or not isinstance(dynamic_growth_steps, int) \
                or dynamic_growth_steps < 1:
            raise ValueError("LossScaleOptimizer: `dynamic_growth_steps` must be a positive "
                             f"int, received {dynamic_growth_steps!r}.")
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = inner_optimizer
        self.initial_scale = initial_scale
        self.dynamic_growth_steps = dynamic_growth_steps
        # The gradients are unscaled here; the inner optimizer must not divide them again.
        inner_optimizer.loss_scale_factor = None
        self._own_variables = []

    def build(self, variables):
        """Creates `step_counter` and `dynamic_scale`, and builds the inner optimizer.

        Args:
            variables: list of the trainable Variables this optimizer will update.
        """
        if self.built:
            return
        variables = list(variables)
        self.inner_optimizer.build(variables)
        self._trainable_variables = variables
        self.step_counter = self._state_variable(0, "int32", "step_counter")
        self.dynamic_scale = self._state_variable(self.initial_scale, "float32",
                                                  "dynamic_scale")
        self.built = True

    @property
    def variables(self):
        """Own state (iterations, learning rate, step_counter, dynamic_scale), then the
        inner optimizer's variables, as in Keras 3."""
        own = [self._iterations, self._learning_rate]
        if self.built:
            own += [self.step_counter, self.dynamic_scale]
        return own + self.inner_optimizer.variables

    @property
    def iterations(self):
        """The inner optimizer's `iterations`."""
        return self.inner_optimizer.iterations

    @property
    def learning_rate(self):
        """The inner optimizer's learning rate."""
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.inner_optimizer.learning_rate = value

    lr = learning_rate

    def scale_loss(self, loss):
        """The loss times the current scale (the initial one before `build`).

        Args:
            loss: the loss value.
        """
        scale = self.dynamic_scale.value if self.built else self.initial_scale
        return loss * scale

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        """Applies one step as a pure function of arrays (jittable): skipped, with the
        scale halved, when a gradient is not finite.

        Args:
            optimizer_variables: list of arrays aligned with `self.variables`.
            grads: list of (scaled) gradients aligned with the trainable variables.
            trainable_variables: list of arrays, the current values of those variables.

        Returns:
            `(new_trainable_values, new_optimizer_values)`, two lists.
        """
        if not self.built:
            raise ValueError(f"To call `stateless_apply`, optimizer '{self.name}' must be built. "
                             "Call `optimizer.build(trainable_variables)` first.")
        if len(optimizer_variables) != len(self.variables):
            raise ValueError(f"stateless_apply: `optimizer_variables` must have "
                             f"{len(self.variables)} entries (aligned with the optimizer's "
                             f"variables), received {len(optimizer_variables)}.")
        iteration, learning_rate, counter, scale, *inner = optimizer_variables
        grads = [jnp.asarray(g) for g in grads]
        params = list(trainable_variables)
        finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(g)) for g in grads]))

        def apply(params, inner):
            grow = counter == self.dynamic_growth_steps - 1
            new_counter = jnp.where(grow, jnp.zeros_like(counter), counter + 1)
            new_scale = jnp.where(grow, scale * 2.0, scale)
            params, inner = self.inner_optimizer.stateless_apply(
                inner, [g / scale.astype(g.dtype) for g in grads], params)
            return list(params), [new_counter, new_scale] + list(inner)

        def skip(params, inner):
            return params, [jnp.zeros_like(counter), scale * 0.5] + list(inner)

        params, rest = jax.lax.cond(finite, apply, skip, params, list(inner))
        return params, [iteration, learning_rate] + rest

    def finalize_variable_values(self, var_list):
        """The inner optimizer's `finalize_variable_values` (EMA weights, if used).

        Args:
            var_list: list of the model's trainable Variables.
        """
        self.inner_optimizer.finalize_variable_values(var_list)

    def get_config(self):
        """Returns `name`, the serialized `inner_optimizer`, `initial_scale` and
        `dynamic_growth_steps` (Keras 3's keys)."""
        from gazelle import optimizers
        return {"name": self.name,
                "inner_optimizer": optimizers.serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale,
                "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Creates a LossScaleOptimizer from `get_config()`'s output.

        Args:
            config: A Python dict, typically the output of `get_config`.
            custom_objects: Optional dict mapping names to custom optimizer classes.
        """
        from gazelle import optimizers
        config = dict(config)
        inner = config.pop("inner_optimizer")
        if isinstance(inner, dict):
            inner = optimizers.deserialize(inner, custom_objects=custom_objects)
        return cls(inner, **config)
