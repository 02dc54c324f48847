"""Keras 3's scikit-learn wrappers: `SKLearnClassifier`, `SKLearnRegressor`, `SKLearnTransformer`.

Each wraps a compiled model, or a callable `model(X=..., y=..., **model_kwargs)` that
returns one, as a scikit-learn estimator (`clone`, pipelines, `GridSearchCV`,
`cross_val_score`). Needs scikit-learn >= 1.6. [top: numpy, scikit-learn, gazelle.models]

Deliberate differences from Keras 3.15:

- `sklearn.base.clone` keeps `fit_kwargs` (Keras's `__sklearn_clone__` drops them, so a
  search would train its candidates with the default `epochs`), and `fit` never writes
  into the user's `fit_kwargs` dict.
- `warm_start=True` does what Keras documents: the given model instance is trained
  in place, and a second `fit` continues from `model_` (Keras 3.15 ignores the flag).
- A model instance is copied before each fit (with `warm_start=False`): the copy has the
  same layers and starting weights and a fresh optimizer of the same configuration.
  Keras's `clone_model` re-initializes the weights instead.
"""
import copy

import numpy as np

try:
    import sklearn
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
except ImportError:
    sklearn = None

    class BaseEstimator:
        pass

    class ClassifierMixin:
        pass

    class RegressorMixin:
        pass

    class TransformerMixin:
        pass


def _clone_model(model):
    """A copy of a compiled model: same layers and weights, fresh optimizer state."""
    # TODO(lead): use Model.get_compile_config()/compile_from_config() once they exist.
    trainer = model._trainer
    optimizer = trainer.optimizer
    not_copied = (trainer, optimizer, model.history, getattr(model, "_predict_steps", None))
    clone = copy.deepcopy(model, {id(obj): None for obj in not_copied if obj is not None})
    clone.compile(optimizer=type(optimizer).from_config(optimizer.get_config()),
                  loss=copy.deepcopy(trainer.loss_spec),
                  metrics=copy.deepcopy(trainer.metrics_spec),
                  loss_weights=trainer.loss_weights,
                  steps_per_execution=trainer.steps_per_execution,
                  run_eagerly=trainer.run_eagerly)
    return clone


class SKLBase(BaseEstimator):
    """Base class for scikit-learn wrappers.

    Note that there are sources of randomness in model initialization and training; use
    `keras.utils.set_random_seed` to make runs repeatable.

    Args:
        model: `Model`. An instance of `Model`, or a callable returning such an object.
            Note that if input is a `Model`, it will be copied before being fitted,
            unless `warm_start=True`. The `Model` instance needs to be passed as already
            compiled. If callable, it must accept at least `X` and `y` as keyword
            arguments. Other arguments must be accepted if passed as `model_kwargs` by
            the user.
        warm_start: bool, defaults to `False`. Whether to reuse the model weights from
            the previous fit. If `True`, the given model won't be copied and the weights
            from the previous fit will be reused.
        model_kwargs: dict, defaults to `None`. Keyword arguments passed to `model`, if
            `model` is callable.
        fit_kwargs: dict, defaults to `None`. Keyword arguments passed to `model.fit`.
            These can also be passed directly to the `fit` method of the scikit-learn
            wrapper. The values passed directly to the `fit` method take precedence over
            these.

    Attributes:
        model_: `Model`. The fitted model.
        history_: `History`. The history of the fit, returned by `model.fit`.
    """

    def __init__(self, model, warm_start=False, model_kwargs=None, fit_kwargs=None):
        if sklearn is None:
            raise ImportError(f"{type(self).__name__} requires `scikit-learn` to be "
                              "installed. Run `pip install scikit-learn` to install it.")
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        return tags

    def __sklearn_clone__(self):
        # The model (a callable or an instance, which fit() copies) is shared, not
        # deep-copied: copying a compiled model would copy its compiled steps too.
        params = self.get_params(deep=False)
        model = params.pop("model")
        return type(self)(model=model, **copy.deepcopy(params))

    @property
    def epoch_(self):
        """The number of epochs the last `fit` trained (0 before `fit`)."""
        history = getattr(self, "history_", None)
        return len(history.epoch) if history is not None else 0

    def _get_model(self, X, y):
        from gazelle.models import Model
        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if isinstance(self.model, Model):
            return self.model if self.warm_start else _clone_model(self.model)
        if not callable(self.model):
            raise TypeError(f"{type(self).__name__}: `model` must be a compiled Model or a "
                            f"callable returning one; received {self.model!r}.")
        model = self.model(X=X, y=y, **(self.model_kwargs or {}))
        if not isinstance(model, Model):
            raise TypeError(f"{type(self).__name__}: the `model` callable must return a "
                            f"Model; it returned {type(model).__name__}: {model!r}.")
        return model

    def fit(self, X, y, **kwargs):
        """Fit the model.

        Args:
            X: array-like, shape=(n_samples, n_features). The input samples.
            y: array-like, shape=(n_samples,) or (n_samples, n_outputs). The targets.
            **kwargs: keyword arguments passed to `model.fit`.

        Returns:
            self
        """
        from sklearn.utils.validation import validate_data
        X, y = validate_data(self, X, y)
        y = self._process_target(y, reset=True)
        model = self._get_model(X, y)
        if getattr(model, "_trainer", None) is None:
            raise ValueError(f"{type(self).__name__}: the model given as `model` must be "
                             "compiled with a loss and an optimizer (call `model.compile` "
                             "before wrapping it).")
        fit_kwargs = dict(self.fit_kwargs or {})
        fit_kwargs.update(kwargs)
        self.history_ = model.fit(X, y, **fit_kwargs)
        self.model_ = model
        return self

    def _raw_predict(self, X):
        from sklearn.utils.validation import check_is_fitted, validate_data
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self.model_.predict(X)

    def predict(self, X):
        """Predict using the model."""
        return self._reverse_process_target(self._raw_predict(X))

    def _process_target(self, y, reset=False):
        """Regressors and transformers train on a column of targets."""
        from sklearn.utils.multiclass import type_of_target
        if type_of_target(y) == "unknown":
            raise ValueError(f"Unknown label type for data: {y!r}")
        if reset:
            self._target_ndim = y.ndim
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def _reverse_process_target(self, y):
        if self._target_ndim == 1 and y.ndim == 2 and y.shape[1] == 1:
            return y[:, 0]
        return y


class SKLearnClassifier(ClassifierMixin, SKLBase):
    """scikit-learn compatible classifier wrapper for Keras models.

    The targets are one-hot encoded for the model (so compile it with
    `categorical_crossentropy` and one output unit per class); `predict` maps the
    largest output back to a label of `classes_`, and `score` is scikit-learn's accuracy.

    Args:
        model: `Model`. An instance of `Model`, or a callable returning such an object.
            Note that if input is a `Model`, it will be copied before being fitted,
            unless `warm_start=True`. The `Model` instance needs to be passed as already
            compiled. If callable, it must accept at least `X` and `y` as keyword
            arguments. Other arguments must be accepted if passed as `model_kwargs` by
            the user.
        warm_start: bool, defaults to `False`. Whether to reuse the model weights from
            the previous fit.
        model_kwargs: dict, defaults to `None`. Keyword arguments passed to `model`, if
            `model` is callable.
        fit_kwargs: dict, defaults to `None`. Keyword arguments passed to `model.fit`.
            Values passed directly to `fit` take precedence over these.

    Attributes:
        model_: `Model`. The fitted model.
        history_: `History`. The history of the fit.
        classes_: array-like, shape=(n_classes,). The class labels.

    ```python
    def dynamic_model(X, y, loss, layers=[10]):
        inputs = keras.Input(shape=(X.shape[1],))
        hidden = inputs
        for units in layers:
            hidden = keras.layers.Dense(units, activation="relu")(hidden)
        outputs = keras.layers.Dense(y.shape[1], activation="softmax")(hidden)
        model = keras.Model(inputs, outputs)
        model.compile(loss=loss, optimizer="rmsprop")
        return model

    est = SKLearnClassifier(model=dynamic_model, model_kwargs={
        "loss": "categorical_crossentropy", "layers": [20, 20]})
    est.fit(X, y, epochs=5)
    ```
    """

    def decision_function(self, X):
        """Get raw model outputs."""
        return self._raw_predict(X)

    def _process_target(self, y, reset=False):
        """Classifiers one-hot encode the labels."""
        from sklearn.preprocessing import OneHotEncoder
        from sklearn.utils.multiclass import type_of_target
        target_type = type_of_target(y)
        if target_type not in ("binary", "multiclass"):
            raise ValueError("Only binary and multiclass target types are supported. "
                             f"Target type: {target_type}")
        if reset:
            self._target_ndim = y.ndim
            self._target_encoder = OneHotEncoder(sparse_output=False).fit(y.reshape(-1, 1))
            self.classes_ = np.unique(y)
            if len(self.classes_) == 1:
                raise ValueError("Classifier can't train when only one class is present.")
        return self._target_encoder.transform(y.reshape(-1, 1))

    def _reverse_process_target(self, y):
        return super()._reverse_process_target(self._target_encoder.inverse_transform(y))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags


class SKLearnRegressor(RegressorMixin, SKLBase):
    """scikit-learn compatible regressor wrapper for Keras models.

    `score` is scikit-learn's R^2 (from `RegressorMixin`), unlike the tf.keras 2
    `KerasRegressor`, whose score is the negated loss.

    Args:
        model: `Model`. An instance of `Model`, or a callable returning such an object.
            Note that if input is a `Model`, it will be copied before being fitted,
            unless `warm_start=True`. The `Model` instance needs to be passed as already
            compiled. If callable, it must accept at least `X` and `y` as keyword
            arguments. Other arguments must be accepted if passed as `model_kwargs` by
            the user.
        warm_start: bool, defaults to `False`. Whether to reuse the model weights from
            the previous fit.
        model_kwargs: dict, defaults to `None`. Keyword arguments passed to `model`, if
            `model` is callable.
        fit_kwargs: dict, defaults to `None`. Keyword arguments passed to `model.fit`.
            Values passed directly to `fit` take precedence over these.

    Attributes:
        model_: `Model`. The fitted model.
        history_: `History`. The history of the fit.

    ```python
    est = SKLearnRegressor(model=dynamic_model, model_kwargs={"loss": "mse"},
                           fit_kwargs={"epochs": 20, "verbose": 0})
    sklearn.model_selection.cross_val_score(est, X, y, cv=3)
    ```
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags


class SKLearnTransformer(TransformerMixin, SKLBase):
    """scikit-learn compatible transformer wrapper for Keras models.

    Note that this is a scikit-learn compatible transformer, and not a transformer in
    the deep learning sense: `transform(X)` returns the model's outputs for `X`, e.g. an
    embedding to feed the next step of a pipeline.

    Args:
        model: `Model`. An instance of `Model`, or a callable returning such an object.
            Note that if input is a `Model`, it will be copied before being fitted,
            unless `warm_start=True`. The `Model` instance needs to be passed as already
            compiled. If callable, it must accept at least `X` and `y` as keyword
            arguments. Other arguments must be accepted if passed as `model_kwargs` by
            the user.
        warm_start: bool, defaults to `False`. Whether to reuse the model weights from
            the previous fit.
        model_kwargs: dict, defaults to `None`. Keyword arguments passed to `model`, if
            `model` is callable.
        fit_kwargs: dict, defaults to `None`. Keyword arguments passed to `model.fit`.
            Values passed directly to `fit` take precedence over these.

    Attributes:
        model_: `Model`. The fitted model.
        history_: `History`. The history of the fit.

    ```python
    pipe = sklearn.pipeline.make_pipeline(
        SKLearnTransformer(model=embedding_model, fit_kwargs={"epochs": 5}),
        sklearn.linear_model.LogisticRegression())
    pipe.fit(X, y)
    ```
    """

    def transform(self, X):
        """Transform the data.

        Args:
            X: array-like, shape=(n_samples, n_features). The input samples.

        Returns:
            X_transformed: array-like, shape=(n_samples, n_features). The model's outputs.
        """
        return self._raw_predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags
