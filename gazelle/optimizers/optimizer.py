"""Optimizer: Keras 3's optimizer contract over an optax chain. [L1: jax, optax,
gazelle.core.variables, gazelle.core.naming, gazelle.config, gazelle.optimizers]

All optimizer state is Variables, in Keras 3's order and names: `iterations`, then
`learning_rate` (unless it is a schedule), then the slots of the update rule. So the
trainer can lift `[v.value for v in opt.variables]` into its state, jit `stateless_apply`,
and write the results back; setting `opt.learning_rate` writes a Variable, which a
compiled step reads as a traced leaf, without recompiling.

A subclass supplies `_rule()`, an optax transform from `transforms.py`; this shell chains
gradient clipping in front of it and applies loss scaling, decoupled weight decay,
gradient accumulation and the moving average of the weights (EMA) as Keras 3 does, all
inside `stateless_apply` without Python branches on the step (so it runs inside a
compiled `lax.scan` chunk): an accumulating step is a `lax.cond` between applying the
averaged gradients and only adding to the accumulators.
"""
import numbers
import re
import warnings

import jax
import jax.numpy as jnp
import optax

from gazelle import config
from gazelle.core import naming
from gazelle.core.variables import Variable
from gazelle.optimizers import schedules, transforms

_BASE_ARGS = ("learning_rate", "weight_decay", "clipnorm", "global_clipnorm", "clipvalue",
              "use_ema", "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
              "gradient_accumulation_steps", "name")


class Optimizer:
    """Base class of the optimizers: holds the state Variables and applies gradients.

    Args:
        learning_rate: A float or a `keras.optimizers.schedules.LearningRateSchedule`.
        weight_decay: Float. If set, weight decay is applied. Defaults to `None`.
        clipnorm: Float. If set, the gradient of each weight is individually clipped so
            that its norm is no higher than this value. Defaults to `None`.
        clipvalue: Float. If set, the gradient of each weight is clipped to be no higher
            than this value. Defaults to `None`.
        global_clipnorm: Float. If set, the gradient of all weights is clipped so that
            their global norm is no higher than this value. Defaults to `None`.
        use_ema: Boolean. If `True`, the optimizer keeps an exponential moving average
            (EMA) of the weights, updated after every step; `finalize_variable_values`
            (called by `fit()` after the last epoch) writes it into the weights.
            Defaults to `False`.
        ema_momentum: Float in [0, 1], used when `use_ema=True`: the new average is
            `ema_momentum * average + (1 - ema_momentum) * weight` (the first step copies
            the weight). Defaults to 0.99.
        ema_overwrite_frequency: Int >= 1 or None, used when `use_ema=True`: every this many
            (accumulated) iterations the weights are overwritten by their average. `None`
            leaves them alone until `finalize_variable_values`. Defaults to `None`.
        loss_scale_factor: Float or `None`. If a float, the loss is multiplied by it before
            gradients are taken (`scale_loss`) and gradients are divided by it before they
            are applied. Defaults to `None`.
        gradient_accumulation_steps: Int >= 2 or `None`. If set, the weights and the update
            rule's state change only every this many steps, with the mean of the gradients
            received since the last update; `iterations` then counts updates, while
            learning-rate schedules see every step. Defaults to `None`.
        name: String. The name of the optimizer, which prefixes its variable paths.
            Defaults to the snake-cased class name, made unique.

    ```python
    opt = keras.optimizers.SGD(learning_rate=0.1)
    opt.apply_gradients(zip(grads, model.trainable_variables))
    ```
    """

    _config_keys = ()          # hyperparameters a subclass adds to get_config, in Keras's order
    _keras_names = {}          # renames of shared state leaves, to Keras's variable names
    _needs_learning_rate = True

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        cls_name = type(self).__name__
        if "lr" in kwargs:
            warnings.warn(f"{cls_name}: the `lr` argument is deprecated, use `learning_rate` "
                          "instead.", DeprecationWarning, stacklevel=3)
            learning_rate = kwargs.pop("lr")
        if kwargs.pop("decay", None) is not None:
            warnings.warn(f"{cls_name}: argument `decay` is no longer supported and will be "
                          "ignored (use a `keras.optimizers.schedules` learning rate).",
                          stacklevel=3)
        if kwargs:
            raise TypeError(f"{cls_name} got unexpected keyword argument(s) {sorted(kwargs)}. "
                            f"Valid arguments: {list(self._config_keys) + list(_BASE_ARGS)}.")
        clip_args = {"clipnorm": clipnorm, "clipvalue": clipvalue,
                     "global_clipnorm": global_clipnorm}
        if sum(v is not None for v in clip_args.values()) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be "
                             f"set. Received: {clip_args}")
        for arg, value in {**clip_args, "weight_decay": weight_decay,
                           "loss_scale_factor": loss_scale_factor}.items():
            _check_number(arg, value, allow_none=True, minimum=0)
        if gradient_accumulation_steps is not None and not (
                isinstance(gradient_accumulation_steps, numbers.Integral)
                and not isinstance(gradient_accumulation_steps, bool)
                and gradient_accumulation_steps >= 2):
            raise ValueError(f"{cls_name}: `gradient_accumulation_steps` must be an integer >= 2 "
                             f"or None. Received: gradient_accumulation_steps="
                             f"{gradient_accumulation_steps!r}")
        if use_ema:
            _check_number("ema_momentum", ema_momentum, minimum=0, maximum=1)
            if ema_overwrite_frequency is not None and (
                    not isinstance(ema_overwrite_frequency, numbers.Integral)
                    or isinstance(ema_overwrite_frequency, bool) or ema_overwrite_frequency < 1):
                raise ValueError(f"{cls_name}: `ema_overwrite_frequency` must be an integer >= 1 "
                                 "or None. Received: ema_overwrite_frequency="
                                 f"{ema_overwrite_frequency!r}")
        self.name = name or naming.uniquify(naming.to_snake_case(cls_name))
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.built = False
        self._trainable_variables = []
        self._slot_variables = []
        self._ema_variables = []            # one `<path>_average` per weight (use_ema)
        self._accumulators = []             # one `<path>_gradient_accumulator` (accumulation)
        self._exclude_ids, self._exclude_pattern = set(), None
        self._jit_apply = None
        self._iterations = self._state_variable(0, "int32", "iteration")
        self._learning_rate = None
        if learning_rate is None and not self._needs_learning_rate:
            return
        if isinstance(learning_rate, schedules.LearningRateSchedule):
            self._learning_rate = learning_rate
        else:
            value = _as_learning_rate(learning_rate, cls_name)
            self._learning_rate = self._state_variable(value, config.floatx(), "learning_rate")

    def _state_variable(self, value, dtype, name):
        variable = Variable(value, dtype=dtype, trainable=False, name=name)
        variable.path = f"{self.name}/{name}"
        return variable

    def _rule(self):
        """The update rule: an optax transform taking `learning_rate=` and `step=` extras."""
        raise NotImplementedError(f"{type(self).__name__} must implement `_rule()`.")

    def _clip(self):
        if self.clipnorm and self.clipnorm > 0:
            return [transforms.keras_clip_by_norm(self.clipnorm)]
        if self.global_clipnorm and self.global_clipnorm > 0:
            return [transforms.keras_clip_by_global_norm(self.global_clipnorm)]
        if self.clipvalue and self.clipvalue > 0:
            return [optax.clip(self.clipvalue)]
        return []

    # -- state -------------------------------------------------------------------------
    @property
    def iterations(self):
        """The number of steps applied so far (an int32 Variable); with
        `gradient_accumulation_steps`, the number of updates (steps // that many)."""
        if self.gradient_accumulation_steps:
            return self._iterations.value // self.gradient_accumulation_steps
        return self._iterations

    @property
    def variables(self):
        """All optimizer state, in Keras 3's order: iterations, learning rate (unless a
        schedule), the weights' moving averages (`use_ema`), the gradient accumulators,
        then the update rule's slots."""
        lr = [self._learning_rate] if isinstance(self._learning_rate, Variable) else []
        return ([self._iterations] + lr + self._ema_variables + self._accumulators
                + self._slot_variables)

    @property
    def learning_rate(self):
        """The learning-rate Variable, or the schedule's value at the current step."""
        if isinstance(self._learning_rate, schedules.LearningRateSchedule):
            return self._learning_rate(self._iterations.value)
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, schedules.LearningRateSchedule):
            if self.built and isinstance(self._learning_rate, Variable):
                raise ValueError(
                    f"Optimizer '{self.name}' is already built with a learning-rate variable; "
                    "a schedule would change its variables. Create a new optimizer with "
                    "`learning_rate=<schedule>` instead.")
            self._learning_rate = value
        elif isinstance(self._learning_rate, Variable):
            self._learning_rate.assign(_as_learning_rate(value, type(self).__name__))
        else:
            raise TypeError(
                f"Optimizer '{self.name}' was created with a `LearningRateSchedule` (or an optax "
                "transformation) as its learning rate, hence its learning rate is not settable. "
                "Create it with a float `learning_rate` to set it later.")

    lr = learning_rate  # tf.keras 2 name (`K.set_value(model.optimizer.lr, 1e-4)`)

    def build(self, variables):
        """Creates the slot Variables for `variables` (once; later calls do nothing).

        Args:
            variables: list of the trainable Variables this optimizer will update.
        """
        if self.built:
            return
        variables = list(variables)
        for v in variables:
            if not isinstance(v, Variable):
                raise TypeError(f"Optimizer '{self.name}'.build expects a list of Variables, "
                                f"received an item of type {type(v).__name__}: {v!r}")
        self._trainable_variables = variables
        if self.use_ema:
            self._ema_variables = [
                self._state_variable(transforms.zeros_like(v.value), v.dtype, _ref_name(v, "average"))
                for v in variables]
        if self.gradient_accumulation_steps:
            self._accumulators = [
                self._state_variable(transforms.zeros_like(v.value), v.dtype,
                                     _ref_name(v, "gradient_accumulator")) for v in variables]
        self._transform = optax.chain(*self._clip(), self._rule())
        state = self._transform.init([v.value for v in variables])
        leaves, self._treedef = jax.tree_util.tree_flatten_with_path(state)
        self._slot_variables = [
            self._state_variable(leaf, leaf.dtype, self._slot_name(path)) for path, leaf in leaves]
        self.built = True

    def _slot_name(self, path):
        """Keras's name for a state leaf: `<variable path>_<slot>`, or the slot for a shared one."""
        names = [getattr(k, "name", getattr(k, "key", None)) for k in path]
        named = [i for i, n in enumerate(names) if isinstance(n, str)]
        if not named:
            return "variable"
        slot = self._keras_names.get(names[named[-1]], names[named[-1]])
        index = [k.idx for k in path[named[0]:] if isinstance(k, jax.tree_util.SequenceKey)]
        if not index:
            return slot
        return f"{self._trainable_variables[index[-1]].path.replace('/', '_')}_{slot}"

    # -- weight decay --------------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Excludes variables from weight decay; call it before `build`.

        Args:
            var_list: A list of Variables to exclude.
            var_names: A list of strings; a variable whose name contains any of them is
                excluded (e.g. `["bias"]`).
        """
        if self.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the "
                             f"optimizer '{self.name}' is built.")
        self._exclude_ids = {id(v) for v in var_list or ()}
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _decays(self, variable):
        if id(variable) in self._exclude_ids:
            return False
        return not (self._exclude_pattern and self._exclude_pattern.search(variable.name))

    # -- applying gradients --------------------------------------------------------------
    def scale_loss(self, loss):
        """The loss times `loss_scale_factor` (Keras 3): take gradients of this scaled loss;
        `stateless_apply` divides them by the same factor, so the update is unchanged.

        Args:
            loss: the loss value.
        """
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    def stateless_apply(self, optimizer_variables, grads, trainable_variables):
        """Applies one step as a pure function of arrays (jittable).

        Args:
            optimizer_variables: list of arrays aligned with `self.variables`.
            grads: list of gradients aligned with the variables the optimizer was built with.
            trainable_variables: list of arrays, the current values of those variables.

        Returns:
            `(new_trainable_values, new_optimizer_values)`, two lists.
        """
        if not self.built:
            raise ValueError(f"To call `stateless_apply`, optimizer '{self.name}' must be built. "
                             "Call `optimizer.build(trainable_variables)` first.")
        for arg, values, want in (("optimizer_variables", optimizer_variables, len(self.variables)),
                                  ("grads", grads, len(self._trainable_variables)),
                                  ("trainable_variables", trainable_variables,
                                   len(self._trainable_variables))):
            if len(values) != want:
                raise ValueError(f"stateless_apply: `{arg}` must have {want} entries (aligned "
                                 f"with the optimizer's variables), received {len(values)}.")
        step, *rest = optimizer_variables
        head = [step + 1]
        if isinstance(self._learning_rate, Variable):
            head.append(rest[0])
            lr, rest = rest[0], rest[1:]
        elif self._learning_rate is not None:
            lr = self._learning_rate(step)        # schedules see every step
        else:
            lr = None
        n_ema, n_acc = len(self._ema_variables), len(self._accumulators)
        averages, rest = list(rest[:n_ema]), rest[n_ema:]
        accumulators, slots = list(rest[:n_acc]), list(rest[n_acc:])
        grads = [jnp.asarray(g) for g in grads]
        if self.loss_scale_factor is not None:
            grads = [g / self.loss_scale_factor for g in grads]
        params = list(trainable_variables)
        n = self.gradient_accumulation_steps
        if n:
            # Keras 3: the update rule runs every n-th step on the mean gradient of the
            # last n steps, and sees `iterations` as the number of updates so far.
            is_update = (step + 1) % n == 0
            summed = [g.astype(a.dtype) + a for g, a in zip(grads, accumulators)]
            params, slots = jax.lax.cond(
                is_update,
                lambda p, s: self._update([g / n for g in summed], s, p, lr, step // n),
                lambda p, s: (p, s), params, slots)
            accumulators = [jnp.where(is_update, jnp.zeros_like(a), a) for a in summed]
            step = step // n
        else:
            params, slots = self._update(grads, slots, params, lr, step)
        if self.use_ema:
            momentum = jnp.where(step != 0, jnp.float32(self.ema_momentum), jnp.float32(0))
            averages = [(momentum.astype(a.dtype) * a + (1 - momentum.astype(a.dtype)) * p)
                        for a, p in zip(averages, params)]
            if self.ema_overwrite_frequency:
                overwrite = (step + 1) % self.ema_overwrite_frequency == 0
                params = [jnp.where(overwrite, a, p) for a, p in zip(averages, params)]
        return params, head + averages + accumulators + slots

    def _update(self, grads, slots, params, lr, step):
        """Weight decay, clipping and the update rule: `(params, slots)` after one update."""
        if self.weight_decay is not None:
            params = [p - p * jnp.asarray(self.weight_decay, p.dtype) * lr.astype(p.dtype)
                      if self._decays(v) else p
                      for p, v in zip(params, self._trainable_variables)]
        state = self._treedef.unflatten(slots)
        updates, state = self._transform.update(grads, state, params, learning_rate=lr, step=step)
        params = [p + u.astype(p.dtype) for p, u in zip(params, updates)]
        return params, jax.tree_util.tree_leaves(state)

    def apply(self, grads, trainable_variables=None):
        """Applies gradients to the variables (builds the optimizer on first use).

        Args:
            grads: list of gradients.
            trainable_variables: list of Variables, aligned with `grads`. Defaults to the
                variables the optimizer was built with.
        """
        grads = list(grads)
        if trainable_variables is None:
            if not self.built:
                raise ValueError("When passing `grads` without `variables`, the optimizer must "
                                 "already be built. Call `optimizer.build(variables)` first.")
            trainable_variables = self._trainable_variables
        trainable_variables = list(trainable_variables)
        self.build(trainable_variables)
        by_id = {id(v): g for v, g in zip(trainable_variables, grads)}
        if len(grads) != len(trainable_variables) or set(by_id) != {
                id(v) for v in self._trainable_variables}:
            raise ValueError(f"Optimizer '{self.name}' was built for "
                             f"{[v.path for v in self._trainable_variables]}; apply gradients "
                             f"for exactly those, received {len(grads)} gradients for "
                             f"{[getattr(v, 'path', v) for v in trainable_variables]}.")
        grads = [by_id[id(v)] for v in self._trainable_variables]
        for g, v in zip(grads, self._trainable_variables):
            if g is None:
                raise ValueError(f"Optimizer '{self.name}': the gradient for variable '{v.path}' "
                                 "is None. Check that the loss depends on it.")
        if self._jit_apply is None:
            self._jit_apply = jax.jit(self.stateless_apply)
        params, values = self._jit_apply([v.value for v in self.variables], grads,
                                         [v.value for v in self._trainable_variables])
        for variable, value in zip(self._trainable_variables + self.variables, params + values):
            variable.assign(value)

    def finalize_variable_values(self, var_list):
        """Sets the final values of the model's weights: with `use_ema=True`, their moving
        averages (`fit()` calls this after the last epoch, as Keras 3 does).

        Args:
            var_list: list of the model's trainable Variables, in the order the optimizer
                was built with.
        """
        if not self.use_ema:
            return
        var_list = list(var_list)
        if len(var_list) != len(self._ema_variables):
            raise ValueError(
                f"Optimizer '{self.name}': finalize_variable_values received "
                f"{len(var_list)} variables, but the optimizer holds moving averages for "
                f"{len(self._ema_variables)}. Check that the optimizer was used on this model.")
        for variable, average in zip(var_list, self._ema_variables):
            variable.assign(average.value)

    def apply_gradients(self, grads_and_vars):
        """Applies `(gradient, variable)` pairs; returns `iterations`.

        Args:
            grads_and_vars: iterable of `(gradient, Variable)` pairs.
        """
        grads, variables = zip(*grads_and_vars)
        self.apply(grads, variables)
        return self._iterations

    # -- saving ----------------------------------------------------------------------------
    def save_own_variables(self, store):
        """Writes the state into `store[str(i)]`, in `self.variables` order."""
        for i, variable in enumerate(self.variables):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store):
        """Reads the state written by `save_own_variables` (warns and skips on a mismatch)."""
        if len(store.keys()) != len(self.variables):
            warnings.warn(f"Skipping variable loading for optimizer '{self.name}', because it has "
                          f"{len(self.variables)} variables whereas the saved optimizer has "
                          f"{len(store.keys())} variables.", stacklevel=2)
            return
        for i, variable in enumerate(self.variables):
            variable.assign(store[str(i)])

    def get_config(self):
        """Returns the optimizer's hyperparameters as a dict (Keras 3's keys)."""
        lr = self._learning_rate
        if isinstance(lr, schedules.LearningRateSchedule):
            lr = schedules.serialize(lr)
        elif lr is not None:
            lr = float(lr.numpy())
        cfg = {"name": self.name, "learning_rate": lr}
        cfg.update({k: getattr(self, k) for k in _BASE_ARGS[1:-1]})
        cfg.update({k: getattr(self, k) for k in self._config_keys})
        return cfg

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Creates an optimizer from the output of `get_config()`.

        Args:
            config: A Python dict, typically the output of `get_config`.
            custom_objects: Optional dict mapping names to custom schedule classes.
        """
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects)
        return cls(**config)


class OptaxOptimizer(Optimizer):
    """Wraps a raw optax `GradientTransformation` in the optimizer contract.

    Its learning rate lives inside the transformation, so `learning_rate` is `None` and the
    state is `iterations` followed by the transformation's state leaves.

    Args:
        transformation: An `optax.GradientTransformation`, e.g. `optax.adamw(1e-3)`.
        name: String. Defaults to `"optax_optimizer"`, made unique.

    ```python
    model.compile(optimizer=optax.adamw(1e-3), loss="mse")
    ```
    """

    _needs_learning_rate = False

    def __init__(self, transformation, name=None):
        if not isinstance(transformation, optax.GradientTransformation):
            raise TypeError("OptaxOptimizer expects an optax.GradientTransformation, received "
                            f"{type(transformation).__name__}.")
        super().__init__(learning_rate=None, name=name)
        self.transformation = transformation

    def _rule(self):
        return self.transformation

    def get_config(self):
        raise NotImplementedError(f"Optimizer '{self.name}' wraps an optax transformation, which "
                                  "cannot be serialized. Use a keras.optimizers class to save it.")


def _ref_name(variable, slot):
    """Keras's name for a per-weight optimizer variable: `<weight path>_<slot>`."""
    return f"{getattr(variable, 'path', variable.name).replace('/', '_')}_{slot}"


def _check_number(arg, value, allow_none=False, minimum=None, maximum=None):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Argument `{arg}` must be a number, received {value!r} "
                        f"of type {type(value).__name__}.")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"Argument `{arg}` must be in [{minimum}, {maximum}], received {value}.")


def _as_learning_rate(value, owner):
    """A float learning rate from a number or a scalar array; TypeError otherwise."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    if getattr(value, "shape", None) == () and jnp.issubdtype(getattr(value, "dtype", None),
                                                              jnp.number):
        return value
    raise TypeError(f"{owner}: argument `learning_rate` should be a float or a "
                    f"keras.optimizers.schedules.LearningRateSchedule, received {value!r} of "
                    f"type {type(value).__name__}.")
