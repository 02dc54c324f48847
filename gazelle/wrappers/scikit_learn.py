"""tf.keras 2's scikit-learn wrappers: `KerasClassifier` and `KerasRegressor`. [top]

`keras.wrappers.scikit_learn` as tf.keras 2 had it: a `build_fn` that returns a compiled
model, and `**sk_params` that go to `build_fn` or to `fit`/`predict`/`evaluate` by
argument name. May import numpy, scikit-learn (optional) and the public gazelle API.

Decisions for scikit-learn >= 1.6, which tf.keras 2 predates:

- The wrappers subclass `sklearn.base.BaseEstimator` (and `ClassifierMixin` or
  `RegressorMixin`) when scikit-learn is installed, because `clone`, `cross_val_score` and
  the searches now read estimator tags from `__sklearn_tags__`. Without scikit-learn they
  still fit and predict.
- `fit` returns the `History`, as tf.keras 2 did (`history = clf.fit(x, y)`); scikit-learn's
  `clone`, `cross_val_score`, `GridSearchCV` and `RandomizedSearchCV` ignore what `fit`
  returns, so they work unchanged. The model is `self.model` after `fit`.
- `KerasClassifier.predict` always returns a 1-D array of labels (tf.keras 2 returned shape
  `(n, 1)` for a single sigmoid output).
"""
import copy
import inspect

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
except ImportError:  # the wrappers still train and predict; only scikit-learn needs tags
    class BaseEstimator:
        pass

    class ClassifierMixin:
        pass

    class RegressorMixin:
        pass


def _arg_names(fn):
    """Names `fn` accepts as named arguments (not through *args/**kwargs)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return set()
    return {p.name for p in params
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def _model_methods():
    from gazelle.models import Model
    return Model.fit, Model.predict, Model.evaluate


def _is_categorical_crossentropy(loss):
    from gazelle import losses
    return (isinstance(loss, losses.CategoricalCrossentropy)
            or getattr(loss, "__name__", None) == "categorical_crossentropy"
            or (isinstance(loss, str) and loss == "categorical_crossentropy"))


class BaseWrapper(BaseEstimator):
    """Base class for the Keras scikit-learn wrappers.

    Warning: This class should not be used directly. Use descendant classes instead.

    Args:
        build_fn: callable function or class instance that returns a compiled model.
            Defaults to `None`, which uses the wrapper's own `__call__` (for subclasses).
        **sk_params: model parameters & fitting parameters. Each name must be an argument
            of `build_fn` or of `Model.fit`, `Model.predict` or `Model.evaluate`
            (`epochs`, `batch_size`, `verbose`, `validation_data`, `callbacks`, ...).
            Fitting arguments passed to `fit` override those in `sk_params`.
    """

    def __init__(self, build_fn=None, **sk_params):
        self.build_fn = build_fn
        self.sk_params = sk_params
        self.check_params(sk_params)

    def _build_callable(self):
        if self.build_fn is not None:
            return self.build_fn
        if not callable(self):
            raise TypeError(
                f"{type(self).__name__}: `build_fn` is None, so the wrapper must define "
                "`__call__` returning a compiled model; pass `build_fn=<function>`.")
        return self.__call__

    def check_params(self, params):
        """Checks for user typos in `params`.

        Args:
            params: dictionary; the parameters to be checked.

        Raises:
            ValueError: if any member of `params` is not a valid argument.
        """
        legal = set().union(*map(_arg_names, _model_methods()))
        if self.build_fn is not None or callable(self):
            legal |= _arg_names(self._build_callable())
        legal -= {"self", "x", "y"}  # the data goes to fit(x, y), never through sk_params
        for name in params:
            if name not in legal:
                raise ValueError(
                    f"{type(self).__name__}: `{name}` is not a legal parameter. sk_params "
                    f"must be arguments of `build_fn` or of Model.fit/predict/evaluate; "
                    f"valid names: {sorted(legal)}.")

    def get_params(self, deep=True):
        """Gets parameters for this estimator.

        Args:
            deep: ignored (kept for scikit-learn). Defaults to `True`.

        Returns:
            Dictionary of parameter names mapped to their values: `build_fn` and the
            `sk_params`.
        """
        params = dict(self.sk_params)
        params["build_fn"] = self.build_fn
        return params

    def set_params(self, **params):
        """Sets the parameters of this estimator.

        Args:
            **params: Dictionary of parameter names mapped to their values.

        Returns:
            self
        """
        if "build_fn" in params:
            self.build_fn = params.pop("build_fn")
        self.check_params(params)
        self.sk_params.update(params)
        return self

    def filter_sk_params(self, fn, override=None):
        """Filters `sk_params` and returns those in `fn`'s arguments.

        Args:
            fn: arbitrary function.
            override: dictionary, values to override `sk_params`. Defaults to `None`.

        Returns:
            Dictionary containing variables in both `sk_params` and `fn`'s arguments.
        """
        names = _arg_names(fn)
        result = {name: value for name, value in self.sk_params.items() if name in names}
        result.update(override or {})
        return result

    def fit(self, x, y, **kwargs):
        """Constructs a new model with `build_fn` & fits the model to `(x, y)`.

        Args:
            x: array-like, shape `(n_samples, n_features)`. Training samples.
            y: array-like, shape `(n_samples,)` or `(n_samples, n_outputs)`. True labels.
            **kwargs: dictionary arguments. Legal arguments are the arguments of
                `Model.fit`; they override `sk_params`.

        Returns:
            history: the `History` of the training (not `self`, as in tf.keras 2).
        """
        build = self._build_callable()
        self.model = build(**self.filter_sk_params(build))
        if getattr(self.model, "fit", None) is None:
            raise TypeError(
                f"{type(self).__name__}: `build_fn` must return a compiled Keras model, "
                f"but returned {type(self.model).__name__}: {self.model!r}.")
        y = self._encode_targets(y)
        fit, _, _ = _model_methods()
        fit_args = copy.deepcopy(self.filter_sk_params(fit))
        fit_args.update(kwargs)
        return self.model.fit(x, y, **fit_args)

    def _encode_targets(self, y):
        return y

    def _require_model(self, what):
        if getattr(self, "model", None) is None:
            raise ValueError(f"{type(self).__name__}: call `fit` before `{what}`.")
        return self.model


class KerasClassifier(ClassifierMixin, BaseWrapper):
    """Implementation of the scikit-learn classifier API for Keras.

    `fit` learns `classes_` from `y`: labels of any sortable type (ints, strings), a
    column of them, or one-hot rows. The model is trained on the label indices, one-hot
    encoded when its loss is `categorical_crossentropy`. `score` is the model's
    `accuracy` metric, so compile with `metrics=["accuracy"]`.

    Args:
        build_fn: callable function or class instance that returns a compiled model.
            Defaults to `None`.
        **sk_params: model parameters & fitting parameters: arguments of `build_fn` or of
            `Model.fit`/`predict`/`evaluate` (`epochs`, `batch_size`, `verbose`, ...).

    ```python
    def build(units=8):
        model = keras.models.Sequential([
            keras.layers.Dense(units, activation="relu", input_shape=(4,)),
            keras.layers.Dense(3, activation="softmax")])
        model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
                      metrics=["accuracy"])
        return model

    clf = KerasClassifier(build_fn=build, units=16, epochs=10, verbose=0)
    scores = sklearn.model_selection.cross_val_score(clf, x, y, cv=3)
    ```
    """

    def fit(self, x, y, **kwargs):
        """Constructs a new model with `build_fn` & fits the model to `(x, y)`.

        Args:
            x: array-like, shape `(n_samples, n_features)`. Training samples.
            y: array-like, shape `(n_samples,)`, `(n_samples, 1)` or one-hot
                `(n_samples, n_classes)`. True labels for `x`.
            **kwargs: dictionary arguments. Legal arguments are the arguments of
                `Model.fit`; they override `sk_params`.

        Returns:
            history: the `History` of the training.

        Raises:
            ValueError: In case of invalid shape for `y` argument.
        """
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:
            self.classes_ = np.arange(y.shape[1])
        elif y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
            self.classes_ = np.unique(y)
            y = np.searchsorted(self.classes_, y)
        else:
            raise ValueError(
                f"{type(self).__name__}.fit: `y` must have shape (n_samples,), "
                f"(n_samples, 1) or (n_samples, n_classes); received shape {y.shape}.")
        self.n_classes_ = len(self.classes_)
        return super().fit(x, y, **kwargs)

    def _encode_targets(self, y):
        if y.ndim != 2 and _is_categorical_crossentropy(getattr(self.model, "loss", None)):
            from gazelle.utils.numerical import to_categorical
            return to_categorical(y, num_classes=self.n_classes_)
        return y

    def predict(self, x, **kwargs):
        """Returns the class predictions for the given test data.

        Args:
            x: array-like, shape `(n_samples, n_features)`. Test samples.
            **kwargs: dictionary arguments. Legal arguments are the arguments of
                `Model.predict`.

        Returns:
            preds: array-like, shape `(n_samples,)`. Class predictions (from `classes_`).
        """
        proba = self._predict(x, kwargs)
        if proba.shape[-1] > 1:
            index = proba.argmax(axis=-1)
        else:
            index = (proba[..., 0] > 0.5).astype("int32")
        return self.classes_[index]

    def predict_proba(self, x, **kwargs):
        """Returns class probability estimates for the given test data.

        Args:
            x: array-like, shape `(n_samples, n_features)`. Test samples.
            **kwargs: dictionary arguments. Legal arguments are the arguments of
                `Model.predict`.

        Returns:
            proba: array-like, shape `(n_samples, n_outputs)`. Class probability
                estimates. For a single sigmoid output, to match the scikit-learn API,
                shape `(n_samples, 2)`: the columns are `1 - p` and `p`.
        """
        probs = self._predict(x, kwargs)
        if probs.shape[1] == 1:
            probs = np.hstack([1 - probs, probs])
        return probs

    def _predict(self, x, kwargs):
        model = self._require_model("predict")
        _, predict, _ = _model_methods()
        return np.asarray(model.predict(x, **self.filter_sk_params(predict, kwargs)))

    def score(self, x, y, **kwargs):
        """Returns the mean accuracy on the given test data and labels.

        Args:
            x: array-like, shape `(n_samples, n_features)`. Test samples.
            y: array-like, shape `(n_samples,)` or `(n_samples, n_outputs)`. True labels.
            **kwargs: dictionary arguments. Legal arguments are the arguments of
                `Model.evaluate`.

        Returns:
            score: float. The model's `accuracy` metric on `(x, y)`.

        Raises:
            ValueError: If the underlying model isn't configured to compute accuracy.
                You should pass `metrics=["accuracy"]` to the `.compile()` method.
        """
        model = self._require_model("score")
        y = np.asarray(y)
        if not (y.ndim == 2 and y.shape[1] > 1):
            y = self._encode_targets(np.searchsorted(self.classes_, y))
        _, _, evaluate = _model_methods()
        kwargs = self.filter_sk_params(evaluate, kwargs)
        kwargs["return_dict"] = True
        logs = model.evaluate(x, y, **kwargs)
        for name in ("accuracy", "acc"):
            if name in logs:
                return logs[name]
        raise ValueError(
            f"{type(self).__name__}.score: the model is not configured to compute "
            f"accuracy (its metrics are {sorted(logs)}). You should pass "
            "`metrics=[\"accuracy\"]` to the `model.compile()` method.")


class KerasRegressor(RegressorMixin, BaseWrapper):
    """Implementation of the scikit-learn regressor API for Keras.

    `score` returns the model's loss on the data, negated (greater is better), as
    tf.keras 2 did; it is not scikit-learn's R^2. A search such as `GridSearchCV` with the
    default `scoring=None` therefore picks the candidate with the lowest loss.

    Args:
        build_fn: callable function or class instance that returns a compiled model.
            Defaults to `None`.
        **sk_params: model parameters & fitting parameters: arguments of `build_fn` or of
            `Model.fit`/`predict`/`evaluate` (`epochs`, `batch_size`, `verbose`, ...).

    ```python
    def build(units=8):
        model = keras.models.Sequential([
            keras.layers.Dense(units, activation="relu", input_shape=(8,)),
            keras.layers.Dense(1)])
        model.compile(loss="mse", optimizer="adam")
        return model

    reg = KerasRegressor(build_fn=build, epochs=20, verbose=0)
    search = sklearn.model_selection.RandomizedSearchCV(
        reg, {"units": [8, 16, 32]}, n_iter=2, cv=3)
    search.fit(x, y)
    ```
    """

    def predict(self, x, **kwargs):
        """Returns predictions for the given test data.

        Args:
            x: array-like, shape `(n_samples, n_features)`. Test samples.
            **kwargs: dictionary arguments. Legal arguments are the arguments of
                `Model.predict`.

        Returns:
            preds: array-like, shape `(n_samples,)` for a single output unit, else
                `(n_samples, n_outputs)`.
        """
        model = self._require_model("predict")
        _, predict, _ = _model_methods()
        preds = np.asarray(model.predict(x, **self.filter_sk_params(predict, kwargs)))
        if preds.shape[-1] == 1:
            return np.squeeze(preds, axis=-1)
        return preds

    def score(self, x, y, **kwargs):
        """Returns the mean loss on the given test data and labels, negated.

        Args:
            x: array-like, shape `(n_samples, n_features)`. Test samples.
            y: array-like, shape `(n_samples,)`. True labels for `x`.
            **kwargs: dictionary arguments. Legal arguments are the arguments of
                `Model.evaluate`.

        Returns:
            score: float. Minus the model's loss on `(x, y)`.
        """
        model = self._require_model("score")
        _, _, evaluate = _model_methods()
        loss = model.evaluate(x, y, **self.filter_sk_params(evaluate, kwargs))
        if isinstance(loss, list):
            return -loss[0]
        return -loss
