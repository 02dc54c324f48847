"""Losses: differential tests against Keras 3 (JAX backend) for every function and class."""
import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from gazelle import losses

B, D = 6, 4
TOL = dict(rtol=1e-5, atol=1e-6)


def _data(kind, seed=0, shape=(B, D)):
    """(y_true, y_pred) suited to a loss family."""
    rng = np.random.default_rng(seed)
    pred = rng.normal(size=shape).astype("float32")
    if kind == "regression":
        return rng.normal(size=shape).astype("float32"), pred
    if kind == "positive":        # msle, mape, poisson
        return (rng.uniform(0.5, 3.0, size=shape).astype("float32"),
                rng.uniform(0.1, 3.0, size=shape).astype("float32"))
    if kind == "pm1":             # hinge labels in {-1, 1}
        return rng.choice([-1.0, 1.0], size=shape).astype("float32"), pred
    if kind == "binary":          # 0/1 labels, probabilities
        return (rng.integers(0, 2, size=shape).astype("float32"),
                rng.uniform(0.01, 0.99, size=shape).astype("float32"))
    if kind == "onehot":          # one-hot labels, probabilities
        labels = np.eye(shape[-1], dtype="float32")[rng.integers(0, shape[-1], shape[:-1])]
        probs = rng.uniform(0.05, 1.0, size=shape).astype("float32")
        return labels, probs / probs.sum(-1, keepdims=True)
    if kind == "distribution":    # kld
        a = rng.uniform(0.0, 1.0, size=shape).astype("float32")
        b = rng.uniform(0.0, 1.0, size=shape).astype("float32")
        return a / a.sum(-1, keepdims=True), b / b.sum(-1, keepdims=True)
    raise AssertionError(kind)


FUNCTIONS = [
    ("mean_squared_error", "regression", {}),
    ("mean_absolute_error", "regression", {}),
    ("mean_absolute_percentage_error", "positive", {}),
    ("mean_squared_logarithmic_error", "positive", {}),
    ("mean_squared_logarithmic_error", "regression", {}),   # negatives are floored at eps
    ("huber", "regression", {}),
    ("huber", "regression", {"delta": 0.3}),
    ("log_cosh", "regression", {}),
    ("hinge", "pm1", {}),
    ("hinge", "binary", {}),                                 # 0/1 labels map to -1/1
    ("squared_hinge", "pm1", {}),
    ("squared_hinge", "binary", {}),
    ("categorical_hinge", "onehot", {}),
    ("kl_divergence", "distribution", {}),
    ("poisson", "positive", {}),
    ("cosine_similarity", "regression", {}),
    ("cosine_similarity", "regression", {"axis": 0}),
    ("binary_crossentropy", "binary", {}),
    ("binary_crossentropy", "binary", {"label_smoothing": 0.2}),
    ("binary_crossentropy", "regression", {"from_logits": True}),
    ("binary_crossentropy", "binary", {"from_logits": True, "label_smoothing": 0.1}),
    ("categorical_crossentropy", "onehot", {}),
    ("categorical_crossentropy", "onehot", {"label_smoothing": 0.1}),
    ("categorical_crossentropy", "onehot", {"from_logits": True}),
    ("categorical_crossentropy", "onehot", {"from_logits": True, "label_smoothing": 0.3}),
    ("categorical_crossentropy", "onehot", {"axis": 0}),
]


@pytest.mark.parametrize("name,kind,kwargs", FUNCTIONS)
def test_function_matches_keras(name, kind, kwargs):
    y_true, y_pred = _data(kind)
    if kind == "onehot" and kwargs.get("from_logits"):
        y_pred = np.log(y_pred) * 3.0
    ours = getattr(losses, name)(y_true, y_pred, **kwargs)
    theirs = getattr(keras.losses, name)(y_true, y_pred, **kwargs)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, **TOL)


def test_functions_bring_rank_1_labels_to_the_prediction_rank():
    y_true, y_pred = _data("regression", shape=(B, 1))
    for name in ("mean_squared_error", "mean_absolute_error", "huber", "log_cosh"):
        ours = getattr(losses, name)(y_true[:, 0], y_pred)
        theirs = getattr(keras.losses, name)(y_true[:, 0], y_pred)
        np.testing.assert_allclose(ours, theirs, **TOL)


def test_extreme_probabilities_are_clipped_like_keras():
    y_true = np.array([[1.0, 0.0], [0.0, 1.0]], "float32")
    y_pred = np.array([[0.0, 1.0], [1.0, 0.0]], "float32")
    np.testing.assert_allclose(losses.binary_crossentropy(y_true, y_pred),
                               keras.losses.binary_crossentropy(y_true, y_pred), **TOL)
    np.testing.assert_allclose(losses.categorical_crossentropy(y_true, y_pred),
                               keras.losses.categorical_crossentropy(y_true, y_pred), **TOL)
    assert np.all(np.isfinite(losses.kl_divergence(y_true, y_pred)))


def _sparse_case(label_dtype, label_shape, seed=0, num_classes=5):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, size=(B,)).astype(label_dtype)
    if label_shape == "column":
        labels = labels[:, None]
    probs = rng.uniform(0.05, 1.0, size=(B, num_classes)).astype("float32")
    return labels, probs / probs.sum(-1, keepdims=True)


@pytest.mark.parametrize("label_dtype", ["int32", "int64", "float32"])
@pytest.mark.parametrize("label_shape", ["flat", "column"])
@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_categorical_crossentropy_matches_keras(label_dtype, label_shape, from_logits):
    y_true, y_pred = _sparse_case(label_dtype, label_shape)
    if from_logits:
        y_pred = np.log(y_pred) * 2.0
    ours = losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=from_logits)
    theirs = keras.losses.sparse_categorical_crossentropy(y_true, y_pred,
                                                          from_logits=from_logits)
    assert ours.shape == (B,)
    np.testing.assert_allclose(ours, theirs, **TOL)


@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_categorical_crossentropy_ignore_class_matches_keras(from_logits):
    y_true, y_pred = _sparse_case("int32", "flat", seed=3)
    y_true[[0, 3]] = -1
    ours = losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits, ignore_class=-1)
    theirs = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits,
                                                          ignore_class=-1)
    np.testing.assert_allclose(ours, theirs, **TOL)
    assert ours[0] == 0.0 and ours[3] == 0.0


def test_sparse_categorical_crossentropy_rejects_wrong_label_shape():
    with pytest.raises(ValueError, match=r"y_true.*\(6,\).*y_true.shape=\(6, 5\)"):
        losses.sparse_categorical_crossentropy(np.zeros((B, 5)), np.ones((B, 5)) / 5)


def test_crossentropies_reject_mismatched_shapes():
    with pytest.raises(ValueError, match="y_true.shape=.*y_pred.shape="):
        losses.binary_crossentropy(np.zeros((B,)), np.ones((B, 1)) / 2)
    with pytest.raises(ValueError, match="same shape"):
        losses.categorical_crossentropy(np.zeros((B, 3)), np.ones((B, 4)) / 4)


# -- classes ------------------------------------------------------------------------------

CLASSES = [
    ("MeanSquaredError", "regression", {}),
    ("MeanAbsoluteError", "regression", {}),
    ("MeanAbsolutePercentageError", "positive", {}),
    ("MeanSquaredLogarithmicError", "positive", {}),
    ("CosineSimilarity", "regression", {}),
    ("CosineSimilarity", "regression", {"axis": 0}),
    ("Huber", "regression", {"delta": 0.5}),
    ("LogCosh", "regression", {}),
    ("Hinge", "binary", {}),
    ("SquaredHinge", "pm1", {}),
    ("CategoricalHinge", "onehot", {}),
    ("KLDivergence", "distribution", {}),
    ("Poisson", "positive", {}),
    ("BinaryCrossentropy", "binary", {}),
    ("BinaryCrossentropy", "regression", {"from_logits": True, "label_smoothing": 0.1}),
    ("CategoricalCrossentropy", "onehot", {"label_smoothing": 0.2}),
    ("CategoricalCrossentropy", "onehot", {"from_logits": True}),
]
REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None]


def _weights(kind, seed=1):
    rng = np.random.default_rng(seed)
    if kind is None:
        return None
    w = rng.uniform(0.0, 2.0, size=(B,)).astype("float32")
    return w if kind == "flat" else w[:, None]


@pytest.mark.parametrize("cls_name,kind,kwargs", CLASSES)
@pytest.mark.parametrize("weights", [None, "flat"])
def test_class_matches_keras(cls_name, kind, kwargs, weights):
    if kwargs.get("axis") == 0 and weights:
        pytest.skip("axis=0 gives one value per feature, so (batch,) weights do not apply")
    y_true, y_pred = _data(kind, seed=2)
    sample_weight = _weights(weights)
    ours = getattr(losses, cls_name)(**kwargs)(y_true, y_pred, sample_weight=sample_weight)
    theirs = getattr(keras.losses, cls_name)(**kwargs)(y_true, y_pred,
                                                       sample_weight=sample_weight)
    assert ours.shape == () and ours.dtype == jnp.float32
    np.testing.assert_allclose(ours, theirs, **TOL)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weights", [None, "flat", "column"])
def test_reductions_and_weight_shapes_match_keras(reduction, weights):
    y_true, y_pred = _data("regression", seed=4)
    sample_weight = _weights(weights, seed=5)
    ours = losses.MeanSquaredError(reduction=reduction)(y_true, y_pred, sample_weight)
    theirs = keras.losses.MeanSquaredError(reduction=reduction)(y_true, y_pred, sample_weight)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, **TOL)


def test_scalar_sample_weight_and_sequence_losses_match_keras():
    y_true, y_pred = _data("regression", seed=6, shape=(B, 3, D))
    for sample_weight in (0.5, np.linspace(0, 1, B).astype("float32")[:, None]):
        ours = losses.MeanAbsoluteError()(y_true, y_pred, sample_weight)
        theirs = keras.losses.MeanAbsoluteError()(y_true, y_pred, sample_weight)
        np.testing.assert_allclose(ours, theirs, **TOL)


def test_binary_crossentropy_class_expands_flat_labels():
    y_true, y_pred = _data("binary", seed=7, shape=(B, 1))
    ours = losses.BinaryCrossentropy()(y_true[:, 0], y_pred)
    theirs = keras.losses.BinaryCrossentropy()(y_true[:, 0], y_pred)
    np.testing.assert_allclose(ours, theirs, **TOL)


@pytest.mark.parametrize("label_dtype", ["int32", "float32"])
@pytest.mark.parametrize("label_shape", ["flat", "column"])
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("weights", [None, "flat"])
def test_sparse_categorical_crossentropy_class_matches_keras(label_dtype, label_shape,
                                                             from_logits, weights):
    y_true, y_pred = _sparse_case(label_dtype, label_shape, seed=8)
    if from_logits:
        y_pred = np.log(y_pred)
    sample_weight = _weights(weights, seed=9)
    ours = losses.SparseCategoricalCrossentropy(from_logits=from_logits)(
        y_true, y_pred, sample_weight)
    theirs = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)(
        y_true, y_pred, sample_weight)
    np.testing.assert_allclose(ours, theirs, **TOL)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight",
                                       None])
@pytest.mark.parametrize("weights", [None, "flat"])
def test_sparse_ignore_class_averages_over_valid_entries_like_keras(reduction, weights):
    y_true, y_pred = _sparse_case("int32", "column", seed=10)
    y_true[[1, 4]] = 255
    sample_weight = _weights(weights, seed=11)
    ours = losses.SparseCategoricalCrossentropy(ignore_class=255, reduction=reduction)(
        y_true, y_pred, sample_weight)
    theirs = keras.losses.SparseCategoricalCrossentropy(ignore_class=255, reduction=reduction)(
        y_true, y_pred, sample_weight)
    np.testing.assert_allclose(ours, theirs, **TOL)


def test_loss_call_under_jit_matches_eager():
    y_true, y_pred = _sparse_case("int32", "flat", seed=12)
    sample_weight = _weights("flat")
    loss = losses.SparseCategoricalCrossentropy(ignore_class=0)
    eager = loss(y_true, y_pred, sample_weight)
    jitted = jax.jit(loss)(y_true, y_pred, sample_weight)
    np.testing.assert_allclose(jitted, eager, **TOL)
    grad = jax.grad(lambda p: loss(y_true, p))(jnp.asarray(y_pred))
    assert np.all(np.isfinite(grad))


def test_custom_loss_subclass_gets_reduction_and_auto_name():
    class MyAbs(losses.Loss):
        def call(self, y_true, y_pred):
            return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)

    y_true, y_pred = _data("regression", seed=13)
    first, second = MyAbs(reduction="sum"), MyAbs()
    assert (first.name, second.name) == ("my_abs", "my_abs_1")
    np.testing.assert_allclose(
        first(y_true, y_pred),
        keras.losses.MeanAbsoluteError(reduction="sum")(y_true, y_pred), **TOL)


def test_loss_function_wrapper_passes_kwargs_and_round_trips():
    y_true, y_pred = _data("regression", seed=14)
    wrapper = losses.LossFunctionWrapper(losses.huber, delta=0.25, reduction="sum")
    np.testing.assert_allclose(wrapper(y_true, y_pred),
                               keras.losses.Huber(delta=0.25, reduction="sum")(y_true, y_pred),
                               **TOL)
    config = wrapper.get_config()
    assert config["fn"] == {"module": "builtins", "class_name": "function",
                            "config": "huber", "registered_name": "function"}
    rebuilt = losses.LossFunctionWrapper.from_config(config)
    assert rebuilt.fn is losses.huber
    np.testing.assert_allclose(rebuilt(y_true, y_pred), wrapper(y_true, y_pred), **TOL)


def test_invalid_reduction_is_rejected_with_the_valid_names():
    with pytest.raises(ValueError, match=r"reduction.*sum_over_batch_size.*Received: "
                                         r"reduction='avg'"):
        losses.MeanSquaredError(reduction="avg")


# -- identifiers and serialization -----------------------------------------------------------

@pytest.mark.parametrize("name", ["mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE",
                                  "kld", "KLD", "bce", "BCE", "mean_squared_error", "huber",
                                  "binary_crossentropy", "sparse_categorical_crossentropy",
                                  "categorical_crossentropy", "cosine_similarity"])
def test_get_string_returns_the_same_function_as_keras(name):
    ours, theirs = losses.get(name), keras.losses.get(name)
    assert ours.__name__ == theirs.__name__


def test_get_tf_keras_2_spellings():
    # Keras 3 dropped these from `get`; tf.keras 2 course code still uses them.
    assert losses.get("huber_loss") is losses.huber
    assert losses.get("logcosh") is losses.log_cosh
    assert losses.get("kullback_leibler_divergence") is losses.kl_divergence


def test_get_class_name_dict_instance_and_callable():
    loss = losses.get("SparseCategoricalCrossentropy")
    assert isinstance(loss, losses.SparseCategoricalCrossentropy)
    loss = losses.get({"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}})
    assert isinstance(loss, losses.CategoricalCrossentropy) and loss.from_logits
    instance = losses.Huber()
    assert losses.get(instance) is instance
    fn = lambda y_true, y_pred: y_pred  # noqa: E731
    assert losses.get(fn) is fn
    assert losses.get(None) is None


def test_get_unknown_name_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"'msqe'.*'mean_squared_error'.*'mse'"):
        losses.get("msqe")
    with pytest.raises(ValueError, match="loss identifier"):
        losses.get(3)


SERIALIZED = [
    ("MeanSquaredError", {}), ("MeanAbsoluteError", {}), ("MeanAbsolutePercentageError", {}),
    ("MeanSquaredLogarithmicError", {}), ("LogCosh", {}), ("Hinge", {}), ("SquaredHinge", {}),
    ("CategoricalHinge", {}), ("KLDivergence", {}), ("Poisson", {}),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}),
    ("CategoricalCrossentropy", {"axis": 0}),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 3}),
    ("MeanSquaredError", {"reduction": "sum", "name": "my_mse"}),
]


@pytest.mark.parametrize("cls_name,kwargs", SERIALIZED)
def test_serialize_matches_keras_and_round_trips(cls_name, kwargs):
    ours = losses.serialize(getattr(losses, cls_name)(**kwargs))
    theirs = keras.losses.serialize(getattr(keras.losses, cls_name)(**kwargs))
    assert ours == theirs
    rebuilt = losses.deserialize(ours)
    assert type(rebuilt).__name__ == cls_name
    assert rebuilt.get_config() == ours["config"]


def test_serialize_keeps_huber_delta_and_cosine_axis_on_purpose():
    # Keras 3's Huber/CosineSimilarity configs drop `delta`/`axis`, so a reload loses them.
    # gazelle keeps them; Keras accepts the extra keys when it reads the config back.
    config = losses.serialize(losses.Huber(delta=2.0))["config"]
    assert config["delta"] == 2.0
    assert keras.losses.Huber.from_config(config).fn is keras.losses.huber
    assert losses.deserialize(losses.serialize(losses.CosineSimilarity(axis=0))).axis == 0


def test_serialize_function_matches_keras_and_round_trips():
    ours = losses.serialize(losses.mean_squared_error)
    assert ours == keras.losses.serialize(keras.losses.mean_squared_error)
    assert losses.deserialize(ours) is losses.mean_squared_error
    with pytest.raises(TypeError, match="Loss"):
        losses.serialize(42)
