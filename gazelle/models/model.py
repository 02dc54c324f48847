"""Model: a Layer that can compile, fit, evaluate, predict and summarize itself. [L3]

Each method is a thin hand-off to `training.Trainer` (or `utils.summary`).
"""
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gazelle import config
from gazelle.layers.layer import Layer
from gazelle.utils.data_utils import unpack_x_y_sample_weight
from gazelle.utils.hints import unexpected_kwargs

if TYPE_CHECKING:                                  # annotations only (no import at run time)
    import numpy as np

    from gazelle.callbacks import Callback, History

# What `x`/`y` may be: arrays, lists or dicts of arrays, generators, PyDatasets, tf.data...
Data = Any
Logs = "float | list[float] | dict[str, float]"


def _argument_names(method):
    """A method's named arguments (for did-you-mean hints in keyword errors)."""
    import inspect
    return [p.name for p in inspect.signature(method).parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]


class Model(Layer):
    """A layer with training and inference features.

    Subclass it and define `call` (layers assigned as attributes are tracked), or use
    `Sequential`.

    ```python
    class MyModel(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = keras.layers.Dense(30, activation="relu")
            self.out = keras.layers.Dense(1)

        def call(self, inputs):
            return self.out(self.hidden(inputs))
    ```
    """

    def __new__(cls, *args, **kwargs):
        # keras.Model(inputs=..., outputs=...) builds a Functional model; so does a subclass
        # of Model called with (inputs, outputs): it becomes a Functional subclass that
        # keeps its own methods (train_step, ...), as in Keras 3.
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from gazelle.models.functional import Functional
            return object.__new__(Functional)
        # A subclass with its own __init__ decides in Model.__init__, from what it passes
        # to super().__init__() (Keras 3): VAE(encoder, decoder) is not a graph.
        if _functional_arguments(args, kwargs) and _inherits_model_init(cls):
            from gazelle.models.functional import Functional
            if not issubclass(cls, Functional):
                return object.__new__(_functional_subclass(cls, Functional))
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        if _functional_arguments(args, kwargs):
            # super().__init__(inputs, outputs) from a subclass's own __init__: the model
            # becomes a Functional subclass that keeps its methods, as in Keras 3.
            from gazelle.models.functional import Functional
            self.__class__ = _functional_subclass(type(self), Functional)
            Functional.__init__(self, *args, **kwargs)
            return
        if args or "inputs" in kwargs or "outputs" in kwargs:
            raise TypeError(
                f"{type(self).__name__}: a subclassed Model takes no inputs/outputs; build "
                "Functional models with keras.Model(inputs=..., outputs=...).")
        super().__init__(**kwargs)
        self._init_model_state()

    # How a model's entry in a config file is written and read (core/serialization.py
    # calls these hooks; the Sequential and Functional layouts live in saving/).
    _keras_entry_names = ("keras", None)

    def _keras_entry(self, in_model=False):
        from gazelle.saving.model_config import serialize_layer
        return serialize_layer(self, in_model)

    @classmethod
    def _from_keras_entry(cls, config, custom_objects=None, safe_mode=True):
        from gazelle.saving.model_config import model_from_entry
        return model_from_entry(cls, config, custom_objects, safe_mode)

    def _build_from_config_shape(self, shape):
        self.build(shape)

    def _init_model_state(self):
        self._trainer = None
        self.stop_training = False
        self.history = None
        self.optimizer = None

    # -- compile / fit / evaluate / predict ----------------------------------------
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: Any = None,
                loss_weights: "Sequence[float] | Mapping[str, float] | None" = None,
                weighted_metrics: Any = None, run_eagerly: bool = False,
                steps_per_execution: "int | str" = "auto", jit_compile: "bool | str" = "auto",
                auto_scale_loss: bool = True, **kwargs: Any) -> None:
        """Configures the model for training.

        Args:
            optimizer: name (`"sgd"`, `"adam"`, ...) or optimizer instance
                (default `"rmsprop"`).
            loss: loss name, function or `Loss` instance.
            metrics: list of metrics, e.g. `["accuracy"]` (not weighted by
                `sample_weight`/`class_weight`).
            weighted_metrics: list (or dict per output) of metrics weighted by
                `sample_weight` or `class_weight`; one whose name is already taken logs as
                `weighted_<name>`.
            steps_per_execution: steps per compiled chunk; `"auto"` (default) picks a
                chunk size so the progress bar updates often.
            run_eagerly: run each step in plain Python on concrete arrays (no jit), to
                debug layers and steps with print or pdb; slow.
            jit_compile: `False` runs the steps without jit, like `run_eagerly=True`.
        """
        from gazelle.training.trainer import Trainer
        unknown = set(kwargs) - {"sample_weight_mode", "target_tensors", "distribute"}
        if unknown:
            raise unexpected_kwargs("compile", unknown, _argument_names(Model.compile))
        extra = {}
        if weighted_metrics:
            if not isinstance(weighted_metrics, (list, tuple, dict)):
                raise ValueError("compile(): `weighted_metrics` must be a list, tuple or dict; "
                                 f"received {weighted_metrics!r} of type "
                                 f"{type(weighted_metrics).__name__}.")
            extra["weighted_metrics"] = weighted_metrics
        if jit_compile not in ("auto", True, False):
            raise ValueError("compile(): `jit_compile` must be 'auto', True or False; received "
                             f"{jit_compile!r}.")
        # jit_compile=False runs the steps without jit, as run_eagerly=True (Keras 3's JAX
        # trainer does the same).
        self._trainer = Trainer(self, optimizer, loss, metrics, loss_weights=loss_weights,
                                steps_per_execution=steps_per_execution,
                                run_eagerly=bool(run_eagerly) or jit_compile is False,
                                **extra)
        self.optimizer = self._trainer.optimizer
        self.loss = loss
        self.__dict__.pop("_predict_on_batch_fn", None)      # recompiled on the next call

    def _require_compiled(self, what):
        if self._trainer is None:
            raise ValueError(f"You must call `compile()` before `{what}()`: the model "
                             f"'{self.name}' has no loss or optimizer yet.")
        return self._trainer

    def fit(self, x: Data = None, y: Data = None, batch_size: "int | None" = None,
            epochs: int = 1, verbose: "int | str" = "auto",
            callbacks: "Sequence[Callback] | None" = None, validation_split: float = 0.0,
            validation_data: Data = None, shuffle: bool = True,
            class_weight: "Mapping[int, float] | None" = None, sample_weight: Data = None,
            initial_epoch: int = 0, steps_per_epoch: "int | None" = None,
            validation_steps: "int | None" = None,
            validation_batch_size: "int | None" = None, validation_freq: int = 1,
            doctor: "bool | None" = None, **kwargs: Any) -> "History":
        """Trains the model for a fixed number of epochs.

        Args:
            x, y: input data and targets (numpy arrays, or lists/dicts of them).
            batch_size: samples per gradient update (default 32).
            epochs: number of epochs (default 1).
            verbose: 0 silent, 1 progress bar, 2 one line per epoch ("auto" = 1).
            callbacks: list of `keras.callbacks.Callback`.
            validation_split: fraction of the data (taken from the end) for validation.
            validation_data: `(x_val, y_val)` evaluated at the end of each epoch.
            shuffle: shuffle the training data each epoch (default True).
            class_weight, sample_weight: per-class or per-sample loss weights.
            initial_epoch: epoch at which to start (to resume a run).
            steps_per_epoch: batches per epoch (default: all the data). Each epoch then
                trains on the first `steps_per_epoch` batches of that epoch's shuffle.
            validation_steps: batches of validation data evaluated per epoch.
            doctor: gazelle only. `False` turns off the training doctor's warnings for
                this call, `True` turns them on; `None` (default) follows
                `keras.doctor.enable()`/`disable()`.

        Returns:
            A `History`; `history.history` maps each metric to its per-epoch values.
        """
        trainer = self._require_compiled("fit")
        if kwargs:
            raise unexpected_kwargs("fit", kwargs, _argument_names(Model.fit))
        for what, value in (("steps_per_epoch", steps_per_epoch),
                            ("validation_steps", validation_steps)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ValueError(f"fit(): `{what}` must be a positive int or None; received "
                                 f"{value!r}.")
        verbose = _verbose(verbose, 1)
        if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
            raise ValueError(f"fit(): `epochs` must be a non-negative int; received {epochs!r}.")
        epochs = _capped(epochs, config.max_epochs(), "epochs")
        steps_per_epoch = _capped(steps_per_epoch, config.max_steps_per_epoch(),
                                  "steps_per_epoch")
        if validation_data is not None or validation_split:
            validation_steps = _capped(validation_steps, config.max_steps_per_epoch(),
                                       "validation_steps")
        history = trainer.fit(x, y, batch_size, epochs, verbose, callbacks, validation_split,
                              validation_data, shuffle, class_weight, sample_weight,
                              initial_epoch, validation_batch_size, validation_freq,
                              steps_per_epoch, validation_steps, doctor=doctor)
        self.history = history
        return history

    def find_learning_rate(self, x, y, batch_size=32, start_lr=1e-7, end_lr=10.0,
                           num_steps=200, stop_factor=4.0, seed=None):
        """Learning-rate range test: trains a copy with an exponentially growing rate.

        The model's weights and optimizer state are left as they were. gazelle only.

        Args:
            x, y: training data and targets (numpy arrays).
            batch_size: samples per step (default 32).
            start_lr: learning rate of the first step (default 1e-7).
            end_lr: learning rate of the last step (default 10.0).
            num_steps: number of steps, each at a larger rate (default 200).
            stop_factor: the curve ends where the smoothed loss exceeds this multiple of
                its minimum (default 4.0).
            seed: seed for the batch order (default None: from the global seed).

        Returns:
            `LRFinderResult(lrs, losses, suggested_lr)`; `suggested_lr` is the rate of the
            lowest smoothed loss divided by 10.
        """
        import gazelle.doctor.hooks as diagnostics
        return diagnostics.find_learning_rate(
            self._require_compiled("find_learning_rate"), x, y, batch_size=batch_size,
            start_lr=start_lr, end_lr=end_lr, num_steps=num_steps, stop_factor=stop_factor,
            seed=seed)

    def evaluate(self, x: Data = None, y: Data = None, batch_size: "int | None" = None,
                 verbose: "int | str" = "auto", sample_weight: Data = None,
                 steps: "int | None" = None, callbacks: "Sequence[Callback] | None" = None,
                 return_dict: bool = False, **kwargs: Any) -> Logs:
        """Returns the loss (and metrics) on the given data.

        Returns a float when the model has no metrics, else `[loss, *metrics]`
        (a dict with `return_dict=True`).
        """
        trainer = self._require_compiled("evaluate")
        if kwargs:
            raise unexpected_kwargs("evaluate", kwargs, _argument_names(Model.evaluate))
        steps = _capped(steps, config.max_steps_per_epoch(), "steps")
        return trainer.evaluate(x, y, batch_size, _verbose(verbose, 1), sample_weight,
                                callbacks, return_dict, steps=steps)

    def predict(self, x: Data, batch_size: "int | None" = None, verbose: "int | str" = 0,
                steps: "int | None" = None, callbacks: "Sequence[Callback] | None" = None,
                **kwargs: Any) -> Any:
        """Returns the model's outputs for `x` as numpy arrays (batches of 32 by default)."""
        from gazelle.training import trainer as trainer_mod
        if kwargs:
            raise unexpected_kwargs("predict", kwargs, _argument_names(Model.predict))
        steps = _capped(steps, config.max_steps_per_epoch(), "steps")
        if self._trainer is not None:
            return self._trainer.predict(x, batch_size, verbose, callbacks, steps=steps)
        return trainer_mod.Trainer.predict(_Bare(self), x, batch_size, verbose, callbacks,
                                           steps=steps)

    def train_on_batch(self, x: Data, y: Data = None, sample_weight: Data = None,
                       class_weight: "Mapping[int, float] | None" = None,
                       return_dict: bool = False) -> Logs:
        """Runs one training step (one optimizer update) on exactly this batch.

        As in Keras 3, the metrics start afresh for the call: the result covers this batch.

        Args:
            x: the batch's inputs.
            y: its targets.
            sample_weight: optional per-sample weights.
            class_weight: optional `{class: weight}` (not with `sample_weight`).
            return_dict: return `{name: value}` instead of a list.

        Returns:
            The loss (a float) when the model has no metrics, else `[loss, *metrics]`.
        """
        return self._require_compiled("train_on_batch").train_on_batch(
            x, y, sample_weight, class_weight, return_dict)

    def test_on_batch(self, x: Data, y: Data = None, sample_weight: Data = None,
                      return_dict: bool = False) -> Logs:
        """The loss and metrics of one batch, without training (Keras 3's test_on_batch).

        Returns:
            The loss (a float) when the model has no metrics, else `[loss, *metrics]`.
        """
        return self._require_compiled("test_on_batch").test_on_batch(
            x, y, sample_weight, return_dict)

    def predict_on_batch(self, x: Data) -> Any:
        """Returns predictions for one batch (no batching)."""
        import jax
        import numpy as np
        if "predict_step" in self._overridden_steps():       # the model's own step, compiled
            n = len(jax.tree_util.tree_leaves(x)[0])
            return self.predict(x, batch_size=max(n, 1), verbose=0)
        if not self.run_eagerly and self.__dict__.get("_predict_on_batch_jit", True):
            out = _jitted_predict_on_batch(self, x)
            if out is not None:
                return out
        return jax.tree_util.tree_map(np.asarray, self(x, training=False))

    @property
    def run_eagerly(self):
        """Whether fit/evaluate/predict run their steps in plain Python (no jit)."""
        return bool(self._trainer is not None and self._trainer.run_eagerly)

    @run_eagerly.setter
    def run_eagerly(self, value):
        self._require_compiled("run_eagerly").run_eagerly = bool(value)

    @property
    def metrics_names(self):
        if self._trainer is None:
            return []
        return self._trainer.metrics_names

    @property
    def metrics(self):
        """The compiled metrics (loss first), then `keras.metrics.Metric`s stored on the model."""
        from gazelle.metrics import Metric
        out = []
        if self._trainer is not None and self._trainer.metrics is not None:
            out.extend(self._trainer.metrics)
        seen = {id(m) for m in out}
        for value in vars(self).values():
            for item in value if isinstance(value, (list, tuple)) else (value,):
                if isinstance(item, Metric) and id(item) not in seen:
                    seen.add(id(item))
                    out.append(item)
        return out

    # -- Keras 3's step contract (JAX backend) ------------------------------------------------
    # fit/evaluate/predict call these inside their compiled chunks when a subclass overrides
    # any of them (see `_overridden_steps`); otherwise gazelle's own fused step runs.
    def train_step(self, state, data):
        """One training step as a pure function (Keras 3's JAX contract).

        Override it to customize `fit()`. It runs inside the compiled loop, so it must be
        pure: take arrays, return arrays.

        Args:
            state: `(trainable_variables, non_trainable_variables, optimizer_variables,
                metrics_variables)`, lists of arrays aligned with `self.trainable_variables`,
                `self.non_trainable_variables`, `self.optimizer.variables` and
                `self.metrics_variables`.
            data: one batch: `x`, `(x, y)` or `(x, y, sample_weight)`.

        Returns:
            `(logs, state)`: a dict of scalars, and the new state in the same layout.

        ```python
        def train_step(self, state, data):
            trainable, non_trainable, optimizer_vars, metrics_vars = state
            x, y = data
            grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
            (loss, (_, y_pred, non_trainable, metrics_vars)), grads = grad_fn(
                trainable, non_trainable, metrics_vars, x, y, None, training=True)
            trainable, optimizer_vars = self.optimizer.stateless_apply(
                optimizer_vars, grads, trainable)
            ...
            return logs, (trainable, non_trainable, optimizer_vars, metrics_vars)
        ```
        """
        import jax
        trainable, non_trainable, optimizer_values, metric_values = state
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        grad_fn = jax.value_and_grad(self.compute_loss_and_updates, has_aux=True)
        (_, (loss, y_pred, non_trainable, metric_values)), grads = grad_fn(
            trainable, non_trainable, metric_values, x, y, sample_weight, training=True,
            optimizer_variables=optimizer_values)
        trainable, optimizer_values = self.optimizer.stateless_apply(
            optimizer_values, grads, trainable)
        if _has_constraints(self):
            trainable = [v if getattr(w, "constraint", None) is None else w.constraint(v)
                         for v, w in zip(trainable, self.trainable_variables)]
        logs, metric_values = self._update_metrics_variables(
            metric_values, loss, x, y, y_pred, sample_weight)
        return logs, (trainable, non_trainable, optimizer_values, metric_values)

    def test_step(self, state, data):
        """One evaluation step as a pure function (Keras 3's JAX contract).

        Args:
            state: `(trainable_variables, non_trainable_variables, metrics_variables)`.
            data: one batch: `x`, `(x, y)` or `(x, y, sample_weight)`.

        Returns:
            `(logs, state)`, the state in the same layout.
        """
        trainable, non_trainable, metric_values = state
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        _, (loss, y_pred, non_trainable, metric_values) = self.compute_loss_and_updates(
            trainable, non_trainable, metric_values, x, y, sample_weight, training=False)
        logs, metric_values = self._update_metrics_variables(
            metric_values, loss, x, y, y_pred, sample_weight)
        return logs, (trainable, non_trainable, metric_values)

    def predict_step(self, state, data):
        """One prediction step as a pure function (Keras 3's JAX contract).

        Args:
            state: `(trainable_variables, non_trainable_variables)`.
            data: one batch of inputs.

        Returns:
            `(outputs, non_trainable_variables)`.
        """
        trainable, non_trainable = state
        x, _, _ = unpack_x_y_sample_weight(data)
        return self.stateless_call(trainable, non_trainable, x, training=False)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The total loss of a batch: the compiled loss plus the losses added by layers.

        Override it to change the loss that the default `train_step` minimizes.

        Args:
            x: input data.
            y: target data.
            y_pred: the model's predictions for `x`.
            sample_weight: per-sample weights for the loss.
            training: whether the loss is computed for training.

        Returns:
            A scalar.
        """
        import jax
        import jax.numpy as jnp
        from gazelle import config
        del x, training
        total = jnp.zeros((), config.floatx())
        trainer = self._trainer
        if trainer is not None and trainer.loss is not None and y is not None:
            loss, parts = trainer.loss(trainer.targets(y), jax.tree_util.tree_leaves(y_pred),
                                       sample_weight)
            total = total + loss
            trainer.update_output_loss_trackers(parts, y_pred)
        for extra in self.losses:
            total = total + jnp.sum(jnp.asarray(extra, config.floatx()))
        return total

    def stateless_compute_loss(self, trainable_variables, non_trainable_variables,
                               metrics_variables, x=None, y=None, y_pred=None,
                               sample_weight=None, training=True):
        """`compute_loss` as a pure function of the variables' values.

        Returns:
            `(loss, (trainable_variables, non_trainable_variables, metrics_variables))`.
        """
        from gazelle.core.variables import StatelessScope
        mapping = list(zip(self.trainable_variables, trainable_variables)) + list(
            zip(self.non_trainable_variables, non_trainable_variables)) + list(
            zip(self.metrics_variables, metrics_variables))
        with StatelessScope(mapping) as scope:
            loss = self._call_compute_loss(x, y, y_pred, sample_weight, training)
        non_trainable = _current(scope, self.non_trainable_variables, non_trainable_variables)
        metric_values = _current(scope, self.metrics_variables, metrics_variables)
        return loss, (trainable_variables, non_trainable, metric_values)

    def _call_compute_loss(self, x, y, y_pred, sample_weight, training):
        import inspect
        if "training" in inspect.signature(self.compute_loss).parameters:
            return self.compute_loss(x, y, y_pred, sample_weight, training=training)
        return self.compute_loss(x, y, y_pred, sample_weight)

    def compute_loss_and_updates(self, trainable_variables, non_trainable_variables,
                                 metrics_variables, x, y, sample_weight, training=False,
                                 optimizer_variables=None):
        """Forward pass and loss as a pure function, for `jax.value_and_grad`.

        Returns:
            `(loss, (unscaled_loss, y_pred, non_trainable_variables, metrics_variables))`,
            as Keras 3's JAX backend: `loss` is scaled by the optimizer's
            `loss_scale_factor` (when set), `unscaled_loss` is not.
        """
        y_pred, non_trainable, losses = self.stateless_call(
            trainable_variables, non_trainable_variables, x, training=training,
            return_losses=True)
        self.__dict__["_losses_override"] = list(losses)
        try:
            loss, (_, non_trainable, metric_values) = self.stateless_compute_loss(
                trainable_variables, non_trainable, metrics_variables, x=x, y=y,
                y_pred=y_pred, sample_weight=sample_weight, training=training)
        finally:
            self.__dict__["_losses_override"] = None
        optimizer = getattr(self, "optimizer", None)
        scaled = loss
        if training and hasattr(optimizer, "scale_loss"):
            # Keras 3: the optimizer's Variables (a LossScaleOptimizer's scale) read from
            # `optimizer_variables` when given.
            from gazelle.core.variables import StatelessScope
            mapping = () if optimizer_variables is None else zip(optimizer.variables,
                                                                 optimizer_variables)
            with StatelessScope(mapping):
                scaled = optimizer.scale_loss(loss)
        return scaled, (loss, y_pred, non_trainable, metric_values)

    def _update_metrics_variables(self, metrics_variables, loss, x, y, y_pred,
                                  sample_weight):
        import jax
        from gazelle.core.variables import StatelessScope
        variables = self.metrics_variables
        with StatelessScope(zip(variables, metrics_variables)) as scope:
            tracker = self._trainer.loss_tracker() if self._trainer is not None else None
            if tracker is not None:
                leaves = [a for a in jax.tree_util.tree_leaves(x) if a is not None]
                tracker.update_state(loss, sample_weight=leaves[0].shape[0])
            logs = self.compute_metrics(x, y, y_pred, sample_weight)
        return logs, _current(scope, variables, metrics_variables)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Updates the compiled metrics with a batch and returns `get_metrics_result()`.

        Args:
            x: input data.
            y: target data.
            y_pred: the model's predictions for `x`.
            sample_weight: per-sample weights for the metrics.

        Returns:
            A dict of metric values, as `get_metrics_result()`.
        """
        del x
        if self._trainer is not None and y is not None:
            self._trainer.update_compiled_metrics(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self):
        """The current value of each metric in `self.metrics`, as a dict (name -> value)."""
        out = {}
        for metric in self.metrics:
            result = metric.result()
            if isinstance(result, dict):
                out.update(result)
            else:
                out[metric.name] = result
        return out

    @property
    def metrics_variables(self):
        """The Variables of every metric in `self.metrics`, in order (one flat list)."""
        return [v for m in self.metrics for v in m.variables]

    def reset_metrics(self):
        """Resets the state of every metric in `self.metrics`."""
        for m in self.metrics:
            m.reset_state()

    @property
    def losses(self):
        override = self.__dict__.get("_losses_override")
        return list(override) if override is not None else Layer.losses.fget(self)

    def _overridden_steps(self):
        """Names of Keras's step hooks that this model's class overrides (the trainer then
        runs the model's own steps instead of its fused ones)."""
        return tuple(name for name in _STEP_HOOKS
                     if getattr(type(self), name) is not getattr(Model, name))

    # -- saving (delegates to gazelle.saving) ---------------------------------------------
    def save(self, filepath: "str | os.PathLike", overwrite: bool = True,
             include_optimizer: bool = True, save_format: "str | None" = None,
             **kwargs: Any) -> None:
        """Saves the model: `.keras` (Keras 3's zip) or `.h5` (tf.keras 2's HDF5).

        Args:
            filepath: path ending in `.keras` or `.h5`.
            overwrite: whether to replace an existing file (default True).
            include_optimizer: also save the optimizer state (default True).
        """
        from gazelle import saving
        return saving.save_model(self, filepath, overwrite=overwrite,
                                 include_optimizer=include_optimizer, save_format=save_format,
                                 **kwargs)

    def save_weights(self, filepath: "str | os.PathLike", overwrite: bool = True,
                     save_format: "str | None" = None, **kwargs: Any) -> None:
        """Saves the weights (`.weights.h5`: Keras 3 layout; `.h5`: tf.keras 2 layout)."""
        from gazelle import saving
        return saving.save_weights(self, filepath, overwrite=overwrite, save_format=save_format,
                                   **kwargs)

    def load_weights(self, filepath: "str | os.PathLike", skip_mismatch: bool = False,
                     by_name: bool = False, **kwargs: Any) -> Any:
        """Loads weights saved by `save_weights` (gazelle, Keras 3 or tf.keras 2 files)."""
        from gazelle import saving
        return saving.load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name,
                                   **kwargs)

    def to_json(self, **kwargs):
        """Returns the model's architecture as a JSON string (Keras's format)."""
        from gazelle import saving
        return saving.model_to_json(self, **kwargs)

    def export(self, filepath, format="jax", verbose=None, input_signature=None, **kwargs):
        """Exports the model for inference: `"jax"` (StableHLO + weights) or `"onnx"`.

        Args:
            filepath: `str` or `pathlib.Path`, where to write the artifact.
            format: `"jax"` (serialized StableHLO, loaded by
                `keras.saving.load_exported`) or `"onnx"` (Sequential/Functional models).
                Keras 3's `"tf_saved_model"` needs TensorFlow and is refused.
            verbose: whether to print a message once written (default True).
            input_signature: optional input shapes/dtypes (e.g. `[keras.Input(shape=(784,))]`).
            **kwargs: `batch_sizes=[...]` for `"jax"`: fixed batch sizes instead of a
                symbolic one.

        ```python
        model.export("model.onnx", format="onnx")
        ```
        """
        from gazelle.export import export_model
        return export_model(self, filepath, format=format, verbose=verbose,
                            input_signature=input_signature, **kwargs)

    # -- inspection -------------------------------------------------------------------
    @property
    def layers(self):
        return [layer for layer in self._layers]

    def get_layer(self, name=None, index=None):
        """Returns a layer by `name` or by `index`.

        Args:
            name: the layer's name.
            index: the layer's position in `model.layers` (negative counts from the end).
        """
        if index is not None and name is not None:
            raise ValueError("Provide only a layer name or a layer index, not both. Received: "
                             f"index={index}, name={name!r}.")
        if index is not None:
            layers = self.layers
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only "
                                 f"has {len(layers)} layers.")
            return layers[index]
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"No such layer: {name}. Existing layers are: "
                             f"{[layer.name for layer in self.layers]}.")
        raise ValueError("Provide either a layer name or a layer index.")

    def summary(self, line_length: "int | None" = None,
                positions: "Sequence[float] | None" = None,
                print_fn: "Callable[..., Any] | None" = None, **kwargs: Any) -> None:
        """Prints a table of the layers, their output shapes and parameter counts."""
        from gazelle.utils.summary import print_summary
        if not self.built:
            raise ValueError(
                "This model has not yet been built. Build the model first by calling `build()` "
                "or by calling the model on a batch of data. The usual fix: start the model "
                "with `keras.Input(shape=...)`, e.g. `keras.Sequential([keras.Input(shape=(28, "
                "28)), ...])`.")
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn)

    def build(self, input_shape=None):
        """Builds every sublayer for inputs of `input_shape` (batch dimension included)."""
        if input_shape is None:
            raise ValueError(f"Model '{self.name}'.build() needs an `input_shape`.")
        self.built = True
        # Tracing `call` once (no computation) builds each sublayer from its real input.
        multi = isinstance(input_shape, list) or (
            isinstance(input_shape, tuple) and input_shape and
            all(isinstance(d, (tuple, list)) for d in input_shape))
        self.compute_output_shape([tuple(s) for s in input_shape] if multi
                                  else tuple(input_shape))


# Overriding any of these (or the `metrics` property, which the default steps log) routes
# fit/evaluate through the model's Keras-contract steps.
_STEP_HOOKS = ("train_step", "test_step", "predict_step", "compute_loss",
               "compute_loss_and_updates", "stateless_compute_loss", "compute_metrics",
               "get_metrics_result", "metrics")


def _current(scope, variables, values):
    out = []
    for v, old in zip(variables, values):
        new = scope.get_current_value(v)
        out.append(old if new is None else new)
    return out


def _has_constraints(model):
    return any(getattr(w, "constraint", None) is not None for w in model.trainable_variables)


def _functional_arguments(args, kwargs):
    """Whether Model(...) arguments describe a graph: (inputs, outputs), as Keras 3 reads them."""
    return len(args) == 2 or (len(args) == 1 and "outputs" in kwargs) or (
        "inputs" in kwargs and "outputs" in kwargs)


def _inherits_model_init(cls):
    """Whether `cls` takes Model's own constructor (it defines no __init__ of its own)."""
    return all("__init__" not in vars(klass) for klass in cls.__mro__
               if klass is not Model and issubclass(klass, Model)
               and klass.__module__.split(".")[0] != "gazelle")


_FUNCTIONAL_SUBCLASSES = {}


def _functional_subclass(cls, functional):
    """`cls` with Functional mixed in after it: its own methods win, the graph runs `call`."""
    sub = _FUNCTIONAL_SUBCLASSES.get(cls)
    if sub is None:
        sub = type(cls.__name__, (cls, functional), {
            "__module__": cls.__module__, "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__})
        _FUNCTIONAL_SUBCLASSES[cls] = sub
    return sub


_TRACE_ERRORS = ()


def _trace_errors():
    """The errors that say a model's call cannot be traced (it needs concrete values)."""
    global _TRACE_ERRORS
    if not _TRACE_ERRORS:
        import jax
        _TRACE_ERRORS = (jax.errors.ConcretizationTypeError,
                         jax.errors.TracerArrayConversionError,
                         jax.errors.TracerBoolConversionError,
                         jax.errors.TracerIntegerConversionError)
    return _TRACE_ERRORS


def _jitted_predict_on_batch(model, x):
    """`model(x, training=False)` as one compiled call of the weights (as Keras 3 compiles
    its predict function), the non-trainable values written back afterwards (a stateful
    RNN's state). Returns None when the call cannot be compiled: host layers (strings) or
    Python that needs concrete values; the caller then runs it eagerly, as before."""
    import jax
    import numpy as np
    leaves = jax.tree_util.tree_leaves(x)
    if not leaves or any(getattr(leaf, "dtype", np.dtype(object)).kind not in "biuf"
                         for leaf in leaves if not isinstance(leaf, jax.Array)):
        return None
    fn = model.__dict__.get("_predict_on_batch_fn")
    if fn is None:
        def run(trainable, non_trainable, x):
            return model.stateless_call(trainable, non_trainable, x, training=False)
        fn = model._predict_on_batch_fn = jax.jit(run)
    trainable = model.trainable_variables
    non_trainable = model.non_trainable_variables
    try:
        outputs, values = fn([v.value for v in trainable], [v.value for v in non_trainable],
                             jax.tree_util.tree_map(np.asarray, x)
                             if not isinstance(x, jax.Array) else x)
    except _trace_errors():
        model._predict_on_batch_jit = False            # Python in call(): eager from now on
        return None
    for variable, value in zip(non_trainable, values):
        if value is not variable.value:
            variable.assign(value)
    return jax.tree_util.tree_map(np.asarray, outputs)


class _Bare:
    """Just enough of a Trainer for predict() on an uncompiled model."""

    def __init__(self, model):
        self.model = model


def _capped(value, cap, what):
    """`value` limited to `keras.config`'s cap (`set_max_epochs`/`set_max_steps_per_epoch`),
    with a warning when the cap lowers it, as Keras 3 warns; None (all the data) takes the
    cap too."""
    if cap is None or (value is not None and value <= cap):
        return value
    import warnings
    warnings.warn(f"Limiting {what} to {cap} (keras.config.set_max_"
                  f"{'epochs' if what == 'epochs' else 'steps_per_epoch'}).", stacklevel=3)
    return cap


def _verbose(verbose, auto):
    if verbose == "auto":
        return auto
    if verbose not in (0, 1, 2):
        raise ValueError(f"`verbose` must be 0, 1, 2 or 'auto'; received {verbose!r}.")
    return int(verbose)

