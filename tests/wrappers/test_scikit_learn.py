"""scikit-learn wrappers: tf.keras 2's KerasClassifier/KerasRegressor and Keras 3's SKLearn*.

Every fit builds a new model, so the module turns on XLA's compilation cache: models of
the same architecture and shapes then share compiled programs and the file stays fast.
"""
import jax
import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

import gazelle as keras  # noqa: E402
from jax.experimental.compilation_cache import compilation_cache  # noqa: E402
from sklearn.base import clone, is_classifier, is_regressor  # noqa: E402
from sklearn.metrics import accuracy_score, r2_score  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV, RandomizedSearchCV, cross_val_score)
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from gazelle.wrappers import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer  # noqa: E402
from gazelle.wrappers.scikit_learn import KerasClassifier, KerasRegressor  # noqa: E402

N, FEATURES, BATCH = 32, 4, 16   # cv=2 folds of 16 = one batch: few distinct programs


@pytest.fixture(scope="module", autouse=True)
def _compilation_cache(tmp_path_factory):
    if jax.config.jax_compilation_cache_dir:
        yield
        return
    saved = {name: getattr(jax.config, name) for name in (
        "jax_persistent_cache_min_compile_time_secs",
        "jax_persistent_cache_min_entry_size_bytes")}
    jax.config.update("jax_compilation_cache_dir", str(tmp_path_factory.mktemp("xla")))
    for name in saved:
        jax.config.update(name, 0)
    yield
    jax.config.update("jax_compilation_cache_dir", None)
    for name, value in saved.items():
        jax.config.update(name, value)
    compilation_cache.reset_cache()


def classification(seed=0, labels=("cat", "dog")):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, FEATURES)).astype("float32")
    index = (x[:, 0] + x[:, 1] > 0).astype("int64")
    index[:2] = [0, 1]  # both classes in every fold
    return x, np.asarray(labels)[index]


def regression(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, FEATURES)).astype("float32")
    return x, (x @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.3).astype("float32")


def build_classifier(units=4, n_classes=2, loss="sparse_categorical_crossentropy",
                     activation="softmax", learning_rate=0.001):
    model = keras.models.Sequential([
        keras.layers.Dense(units, activation="relu", input_shape=(FEATURES,)),
        keras.layers.Dense(n_classes, activation=activation)])
    model.compile(loss=loss, optimizer=keras.optimizers.Adam(learning_rate),
                  metrics=["accuracy"])
    return model


def build_regressor(units=4, learning_rate=0.001):
    model = keras.models.Sequential([
        keras.layers.Dense(units, activation="relu", input_shape=(FEATURES,)),
        keras.layers.Dense(1)])
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(learning_rate))
    return model


def dynamic_model(X, y, units=4, loss="categorical_crossentropy", activation="softmax"):
    """The Keras 3 docs' pattern: shapes come from the data the wrapper passes."""
    inputs = keras.layers.Input((X.shape[1],))
    hidden = keras.layers.Dense(units, activation="relu")(inputs)
    outputs = keras.layers.Dense(y.shape[1], activation=activation)(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(loss=loss, optimizer="adam")
    return model


FIT = {"epochs": 2, "batch_size": BATCH, "verbose": 0}


# -- tf.keras 2: KerasClassifier / KerasRegressor ------------------------------------
def test_sk_params_round_trip_through_get_params_set_params_and_clone():
    clf = KerasClassifier(build_fn=build_classifier, units=8, epochs=3, verbose=0)
    assert clf.get_params() == {"build_fn": build_classifier, "units": 8, "epochs": 3,
                                "verbose": 0}
    copy = clone(clf)
    assert copy is not clf and copy.get_params() == clf.get_params()
    assert copy.set_params(units=2, batch_size=4) is copy
    assert copy.get_params()["units"] == 2 and clf.get_params()["units"] == 8
    assert is_classifier(clf) and is_regressor(KerasRegressor(build_fn=build_regressor))
    assert "units=8" in repr(clf)


def test_sk_params_typos_are_rejected_with_the_valid_names():
    with pytest.raises(ValueError, match=r"`unit` is not a legal parameter") as info:
        KerasClassifier(build_fn=build_classifier, unit=8)
    assert "'units'" in str(info.value) and "'batch_size'" in str(info.value)
    clf = KerasClassifier(build_fn=build_classifier)
    with pytest.raises(ValueError, match="epoch"):
        clf.set_params(epoch=3)


def test_build_fn_none_uses_the_subclass_call_and_bad_build_fns_are_named():
    class Wrapped(KerasRegressor):
        def __call__(self, units=4):
            return build_regressor(units)

    assert Wrapped(units=2, epochs=1).get_params()["units"] == 2
    with pytest.raises(ValueError, match="`depth` is not a legal parameter"):
        Wrapped(depth=2)
    with pytest.raises(TypeError, match="`build_fn` is None"):
        KerasRegressor().fit(*regression())
    with pytest.raises(TypeError, match="must return a compiled Keras model.*int"):
        KerasRegressor(build_fn=lambda: 3).fit(*regression())
    with pytest.raises(ValueError, match="call `fit` before `predict`"):
        KerasRegressor(build_fn=build_regressor).predict(regression()[0])


def test_classifier_with_string_labels_predicts_labels_and_probabilities():
    x, y = classification()
    clf = KerasClassifier(build_fn=build_classifier, **FIT)
    history = clf.fit(x, y)
    assert isinstance(history, keras.callbacks.History)  # tf.keras 2: fit returns History
    assert list(history.history) == ["loss", "accuracy"] and history.epoch == [0, 1]
    assert list(clf.classes_) == ["cat", "dog"] and clf.n_classes_ == 2
    labels = clf.predict(x)
    assert labels.shape == (N,) and set(labels) <= {"cat", "dog"}
    proba = clf.predict_proba(x)
    np.testing.assert_allclose(proba, clf.model.predict(x), rtol=1e-6)
    np.testing.assert_array_equal(labels, clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(clf.score(x, y), accuracy_score(y, labels), rtol=1e-6)


def test_classifier_one_hot_encodes_integer_labels_for_categorical_crossentropy():
    x, index = classification(labels=(3, 7))
    clf = KerasClassifier(build_fn=build_classifier, loss="categorical_crossentropy", **FIT)
    clf.fit(x, index)
    assert list(clf.classes_) == [3, 7]
    np.testing.assert_allclose(clf.score(x, index), accuracy_score(index, clf.predict(x)),
                               rtol=1e-6)
    # One-hot targets: classes_ are the column indices.
    one_hot = keras.utils.to_categorical(index == 7, 2)
    clf.fit(x, one_hot)
    assert list(clf.classes_) == [0, 1]


def test_binary_sigmoid_classifier_returns_1d_labels_and_two_probability_columns():
    x, y = classification(labels=(0, 1))
    clf = KerasClassifier(build_fn=build_classifier, n_classes=1, activation="sigmoid",
                          loss="binary_crossentropy", **FIT)
    clf.fit(x, y)
    p = clf.model.predict(x)[:, 0]
    np.testing.assert_allclose(clf.predict_proba(x), np.stack([1 - p, p], axis=1), rtol=1e-6)
    # tf.keras 2 returned shape (n, 1) here; scikit-learn expects (n,).
    np.testing.assert_array_equal(clf.predict(x), (p > 0.5).astype(int))


def test_classifier_score_needs_the_accuracy_metric():
    def no_metrics():
        model = build_classifier()
        model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
        return model
    x, y = classification()
    clf = KerasClassifier(build_fn=no_metrics, **FIT)
    clf.fit(x, y)
    with pytest.raises(ValueError, match=r'metrics=\["accuracy"\]'):
        clf.score(x, y)


def test_cross_val_score_and_grid_search_with_keras_classifier():
    x, y = classification()
    clf = KerasClassifier(build_fn=build_classifier, **FIT)
    scores = cross_val_score(clf, x, y, cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    search = GridSearchCV(clf, {"learning_rate": [0.01, 0.1]}, cv=2, refit=False).fit(x, y)
    assert [p["learning_rate"] for p in search.cv_results_["params"]] == [0.01, 0.1]
    assert np.all((search.cv_results_["mean_test_score"] >= 0)
                  & (search.cv_results_["mean_test_score"] <= 1))


def test_regressor_predicts_1d_and_scores_the_negated_loss():
    x, y = regression()
    reg = KerasRegressor(build_fn=build_regressor, **FIT)
    reg.fit(x, y, epochs=1)  # fit kwargs override sk_params
    assert reg.model.history.epoch == [0]
    pred = reg.predict(x)
    assert pred.shape == (N,)
    # tf.keras 2's score: -loss (here -MSE), not scikit-learn's R^2.
    np.testing.assert_allclose(reg.score(x, y), -np.mean((pred - y) ** 2), rtol=1e-5)


def test_randomized_search_over_build_fn_kwargs():
    # A learning rate is optimizer state, so the candidates share compiled programs.
    x, y = regression()
    search = RandomizedSearchCV(KerasRegressor(build_fn=build_regressor, **FIT),
                                {"learning_rate": [1e-3, 1e-2, 1e-1]}, n_iter=2, cv=2,
                                random_state=0)
    search.fit(x, y)
    tried = [p["learning_rate"] for p in search.cv_results_["params"]]
    assert len(set(tried)) == 2 and search.best_params_["learning_rate"] in tried
    assert np.all(search.cv_results_["mean_test_score"] <= 0)  # negated losses
    best = search.best_estimator_
    assert best.get_params()["learning_rate"] == search.best_params_["learning_rate"]
    np.testing.assert_allclose(float(best.model.optimizer.learning_rate),
                               search.best_params_["learning_rate"], rtol=1e-6)
    assert search.predict(x).shape == (N,)


# -- Keras 3: SKLearnClassifier / SKLearnRegressor / SKLearnTransformer ------------------
@pytest.mark.parametrize("cls", [SKLearnClassifier, SKLearnRegressor, SKLearnTransformer])
def test_sklearn_wrappers_clone_with_all_params(cls):
    est = cls(model=dynamic_model, model_kwargs={"units": 8}, fit_kwargs=dict(FIT))
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert copy.fit_kwargs is not est.fit_kwargs  # deep-copied, so fits can't share it


def test_keras3_clone_drops_fit_kwargs_and_gazelle_keeps_them():
    # Deliberate difference: Keras 3.15's __sklearn_clone__ forgets fit_kwargs, so a search
    # would train every candidate with fit's defaults.
    import keras as k3
    est = k3.wrappers.SKLearnRegressor(model=dynamic_model, fit_kwargs={"epochs": 5})
    assert clone(est).fit_kwargs is None
    ours = SKLearnRegressor(model=dynamic_model, fit_kwargs={"epochs": 5})
    assert clone(ours).fit_kwargs == {"epochs": 5}


def test_sklearn_classifier_matches_keras3_labels_and_raw_outputs():
    import keras as k3

    def frozen(lib):
        def build(X, y):
            model = lib.models.Sequential([lib.layers.Input((FEATURES,)),
                                           lib.layers.Dense(3, activation="softmax")])
            model.compile(loss="categorical_crossentropy",
                          optimizer=lib.optimizers.SGD(learning_rate=0.0))
            model.set_weights([kernel, bias])
            return model
        return build

    rng = np.random.default_rng(1)
    kernel = rng.normal(size=(FEATURES, 3)).astype("float32")
    bias = np.zeros(3, "float32")
    x = rng.normal(size=(N, FEATURES)).astype("float32")
    y = np.array(["b", "c", "a"])[np.arange(N) % 3]
    fit = {"epochs": 1, "batch_size": BATCH, "verbose": 0}
    ours = SKLearnClassifier(model=frozen(keras), fit_kwargs=fit).fit(x, y)
    theirs = k3.wrappers.SKLearnClassifier(model=frozen(k3), fit_kwargs=dict(fit)).fit(x, y)
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    np.testing.assert_allclose(ours.decision_function(x), theirs.decision_function(x),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ours.predict(x), theirs.predict(x))
    assert ours.score(x, y) == theirs.score(x, y)
    assert ours.n_features_in_ == theirs.n_features_in_ == FEATURES


def test_grid_search_with_sklearn_classifier_keeps_each_candidates_fit_kwargs():
    x, y = classification()
    grid = {"fit_kwargs": [dict(FIT, epochs=1), dict(FIT, epochs=3)]}
    search = GridSearchCV(SKLearnClassifier(model=dynamic_model), grid, cv=2)
    search.fit(x, y)
    assert len(search.cv_results_["params"]) == 2
    scores = search.cv_results_["mean_test_score"]
    assert np.all((scores >= 0) & (scores <= 1))
    best = search.best_estimator_
    assert best.epoch_ == best.fit_kwargs["epochs"] == search.best_params_["fit_kwargs"][
        "epochs"]
    assert search.predict(x).shape == (N,)


def test_sklearn_regressor_in_cross_val_score_and_randomized_search_scores_r2():
    x, y = regression()
    est = SKLearnRegressor(model=dynamic_model,
                           model_kwargs={"loss": "mse", "activation": None},
                           fit_kwargs=dict(FIT))
    scores = cross_val_score(est, x, y, cv=2)
    assert scores.shape == (2,) and np.all(np.isfinite(scores))
    fits = [dict(FIT, epochs=1), dict(FIT, epochs=2), dict(FIT, epochs=3)]
    search = RandomizedSearchCV(est, {"fit_kwargs": fits}, n_iter=2, cv=2, refit=False,
                                random_state=0).fit(x, y)
    assert len(search.cv_results_["params"]) == 2
    est.fit(x, y)
    assert est.predict(x).shape == (N,)
    np.testing.assert_allclose(est.score(x, y), r2_score(y, est.predict(x)), rtol=1e-6)


def test_sklearn_transformer_feeds_a_pipeline():
    x, y = classification(labels=(0, 1))

    def embedding(X, y):
        return dynamic_model(X, y, loss="mse", activation=None)

    pipe = make_pipeline(SKLearnTransformer(model=embedding, fit_kwargs=dict(FIT)),
                         LogisticRegression())
    pipe.fit(x, y)
    features = pipe[0].transform(x)
    assert features.shape == (N, 1)
    np.testing.assert_allclose(features, pipe[0].model_.predict(x), rtol=1e-6)
    assert pipe.predict(x).shape == (N,)


def test_model_instance_is_copied_unless_warm_start():
    x, y = regression()
    model = build_regressor()
    before = [w.copy() for w in model.get_weights()]
    est = SKLearnRegressor(model=model, fit_kwargs=dict(FIT)).fit(x, y)
    assert est.model_ is not model
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)  # the user's model is untouched
    assert int(est.model_.optimizer.iterations.numpy()) == 2 * N // BATCH
    # warm_start=True (as Keras documents it; Keras 3.15 ignores the flag): the given model
    # is trained in place, and a second fit continues from model_.
    warm = SKLearnRegressor(model=model, warm_start=True, fit_kwargs=dict(FIT)).fit(x, y)
    assert warm.model_ is model
    warm.fit(x, y)
    assert int(model.optimizer.iterations.numpy()) == 4 * N // BATCH


@pytest.mark.parametrize("model, error, match", [
    ("not a model", TypeError, "`model` must be a compiled Model or a callable"),
    (lambda X, y: 3, TypeError, "must return a Model"),
])
def test_bad_model_argument_is_named(model, error, match):
    x, y = regression()
    with pytest.raises(error, match=match):
        SKLearnRegressor(model=model).fit(x, y)


def test_uncompiled_model_instance_is_rejected():
    x, y = regression()
    model = keras.models.Sequential([keras.layers.Dense(1, input_shape=(FEATURES,))])
    with pytest.raises(ValueError, match="must be compiled"):
        SKLearnRegressor(model=model, warm_start=True).fit(x, y)


def test_classifier_rejects_continuous_targets():
    x, y = regression()
    with pytest.raises(ValueError, match="binary and multiclass"):
        SKLearnClassifier(model=dynamic_model).fit(x, y)


def test_keras_wrappers_namespace():
    assert keras.wrappers.scikit_learn.KerasClassifier is KerasClassifier
    assert keras.wrappers.SKLearnClassifier is SKLearnClassifier
