"""Metric base, Mean, Sum, MeanMetricWrapper, stateless twins and metrics.get/serialize."""
import jax
import jax.numpy as jnp
import keras
import numpy as np
import pytest

from gazelle import losses
from gazelle import metrics

TOL = dict(rtol=1e-5, atol=1e-6)
B = 5


def _compare_with_keras(ours, theirs, batches):
    """Feeds both metrics the same batches; results agree after each one and after reset."""
    for args, kwargs in batches:
        ours.update_state(*args, **kwargs)
        theirs.update_state(*args, **kwargs)
        np.testing.assert_allclose(ours.result(), theirs.result(), **TOL)
    ours.reset_state()
    theirs.reset_state()
    np.testing.assert_allclose(ours.result(), theirs.result(), **TOL)


def _compare_stateless(metric, batches):
    """The jitted stateless twins give the stateful result and leave the Variables alone."""
    metric.reset_state()
    for args, kwargs in batches:
        metric.update_state(*args, **kwargs)
    expected = np.asarray(metric.result())
    before = [np.asarray(v.value) for v in metric.variables]
    values = metric.stateless_reset_state()
    update = jax.jit(metric.stateless_update_state)
    for args, kwargs in batches:
        values = update(values, *args, **kwargs)
    np.testing.assert_allclose(jax.jit(metric.stateless_result)(values), expected, **TOL)
    for v, old in zip(metric.variables, before):
        np.testing.assert_array_equal(v.value, old)


def _value_batches(shape, weight_shape, n=3, seed=0):
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(n):
        values = rng.normal(size=shape).astype("float32")
        kwargs = {}
        if weight_shape is not None:
            kwargs["sample_weight"] = rng.uniform(0, 2, size=weight_shape).astype("float32")
        batches.append(((values,), kwargs))
    return batches


VALUE_CASES = [
    ((B,), None), ((B,), (B,)), ((B,), (B, 1)), ((B, 3), None), ((B, 3), (B,)),
    ((B, 3), (B, 3)), ((B, 3, 2), (B, 3)), ((B,), ()),
]


@pytest.mark.parametrize("cls_name", ["Mean", "Sum"])
@pytest.mark.parametrize("shape,weight_shape", VALUE_CASES)
def test_mean_and_sum_match_keras(cls_name, shape, weight_shape):
    batches = _value_batches(shape, weight_shape)
    ours, theirs = getattr(metrics, cls_name)(), getattr(keras.metrics, cls_name)()
    _compare_with_keras(ours, theirs, batches)
    _compare_stateless(ours, batches)


def test_mean_of_a_scalar_counts_one_sample_like_keras():
    ours, theirs = metrics.Mean(), keras.metrics.Mean()
    _compare_with_keras(ours, theirs, [((2.0,), {}), ((4.0,), {}), ((3.0,), {})])


def test_mean_result_is_zero_before_any_update():
    assert float(metrics.Mean().result()) == 0.0


def test_call_updates_then_returns_the_running_result_like_keras():
    ours, theirs = metrics.Mean(), keras.metrics.Mean()
    for values in ([1.0, 3.0], [5.0, 7.0, 9.0]):
        np.testing.assert_allclose(ours(values), theirs(values), **TOL)


@pytest.mark.parametrize("weights", [False, True])
def test_mean_metric_wrapper_matches_keras(weights):
    rng = np.random.default_rng(1)
    batches = []
    for _ in range(3):
        kwargs = {"sample_weight": rng.uniform(size=(B,)).astype("float32")} if weights else {}
        batches.append(((rng.normal(size=(B, 4)).astype("float32"),
                         rng.normal(size=(B, 4)).astype("float32")), kwargs))
    ours = metrics.MeanMetricWrapper(losses.huber, delta=0.5)
    theirs = keras.metrics.MeanMetricWrapper(keras.losses.huber, delta=0.5)
    assert ours.name == "mean_metric_wrapper"   # Keras's own counter is not reset per test
    _compare_with_keras(ours, theirs, batches)
    _compare_stateless(ours, batches)


def test_stateless_twins_run_inside_lax_scan():
    metric = metrics.MeanMetricWrapper(losses.mean_squared_error, name="mse")
    rng = np.random.default_rng(2)
    y_true = rng.normal(size=(4, B, 3)).astype("float32")
    y_pred = rng.normal(size=(4, B, 3)).astype("float32")
    weights = rng.uniform(size=(4, B)).astype("float32")

    @jax.jit
    def run(values):
        def body(values, batch):
            return metric.stateless_update_state(values, *batch[:2], sample_weight=batch[2]), None
        values, _ = jax.lax.scan(body, values, (y_true, y_pred, weights))
        return metric.stateless_result(values)

    theirs = keras.metrics.MeanMetricWrapper(keras.losses.mean_squared_error)
    for i in range(4):
        theirs.update_state(y_true[i], y_pred[i], sample_weight=weights[i])
    np.testing.assert_allclose(run(metric.stateless_reset_state()), theirs.result(), **TOL)


def test_stateless_update_rejects_values_of_the_wrong_length():
    with pytest.raises(ValueError, match=r"metric_values.*\(2\), received 1"):
        metrics.Mean().stateless_update_state([jnp.zeros(())], [1.0])


def test_variables_are_non_trainable_in_creation_order_with_keras_paths():
    ours, theirs = metrics.Mean(name="loss_tracker"), keras.metrics.Mean(name="loss_tracker")
    assert [v.path for v in ours.variables] == [v.path for v in theirs.variables]
    assert [v.name for v in ours.variables] == ["total", "count"]
    assert not any(v.trainable for v in ours.variables)
    assert all(v.aggregation == "sum" for v in ours.variables)


class _Counter(metrics.Metric):
    """Counts positive values and tracks their mean with a sub-metric."""

    def __init__(self, name="counter", **kwargs):
        super().__init__(name=name, **kwargs)
        self.count = self.add_variable((), initializer="ones", name="count")
        self.histogram = self.add_variable((3,), initializer=[1.0, 2.0, 3.0], name="hist")
        self.positive_mean = metrics.Mean(name="positive_mean")

    def update_state(self, values):
        values = jnp.asarray(values, self.dtype)
        self.count.assign(self.count + jnp.sum(values > 0))
        self.positive_mean.update_state(jnp.maximum(values, 0.0))

    def result(self):
        return self.count.value + self.positive_mean.result()


def test_custom_metric_with_initializers_and_a_sub_metric():
    metric = _Counter()
    assert [v.path for v in metric.variables] == [
        "counter/count", "counter/hist", "positive_mean/total", "positive_mean/count"]
    np.testing.assert_array_equal(metric.histogram.value, [1.0, 2.0, 3.0])
    batches = [(([1.0, -2.0, 3.0],), {}), (([0.5, 0.5, -1.0],), {})]
    for args, _ in batches:
        metric.update_state(*args)
    # 1 (initial) + 4 positives, plus the mean of [1, 0, 3, .5, .5, 0].
    np.testing.assert_allclose(metric.result(), 5.0 + 5.0 / 6.0, **TOL)
    _compare_stateless(metric, batches)
    metric.reset_state()   # like Keras: every state variable goes to zero
    assert float(metric.result()) == 0.0
    np.testing.assert_array_equal(metric.histogram.value, [0.0, 0.0, 0.0])


def test_add_variable_rejects_unknown_initializer_and_missing_super_init():
    with pytest.raises(ValueError, match=r"initializer.*'glorot'.*\['ones', 'zeros'\]"):
        metrics.Mean().add_variable((), initializer="glorot")

    class Broken(metrics.Metric):
        def __init__(self):
            self.total = self.add_variable(())

    with pytest.raises(RuntimeError, match="super"):
        Broken()


def test_auto_names_and_config_round_trip():
    class MyMetric(metrics.Mean):
        pass

    assert MyMetric(name=None).name == "my_metric"
    assert metrics.Mean(name="m").get_config() == keras.metrics.Mean(name="m").get_config()
    rebuilt = metrics.Sum.from_config(metrics.Sum(name="s").get_config())
    assert rebuilt.name == "s" and rebuilt.dtype == "float32"


# -- metrics.get / serialize / deserialize -----------------------------------------------

@pytest.mark.parametrize("name,fn_name", [
    ("mse", "mean_squared_error"), ("MSE", "mean_squared_error"),
    ("mae", "mean_absolute_error"), ("mape", "mean_absolute_percentage_error"),
    ("msle", "mean_squared_logarithmic_error"), ("accuracy", "accuracy"),
    ("sparse_categorical_accuracy", "sparse_categorical_accuracy"),
    ("binary_accuracy", "binary_accuracy"), ("categorical_accuracy", "categorical_accuracy"),
    ("top_k_categorical_accuracy", "top_k_categorical_accuracy"),
    ("sparse_categorical_crossentropy", "sparse_categorical_crossentropy"),
])
def test_get_function_names_return_functions(name, fn_name):
    # Keras 3 returns Metric instances here; gazelle returns the function (as tf.keras 2),
    # and the compile code wraps it in a MeanMetricWrapper named after the user's string.
    fn = metrics.get(name)
    assert callable(fn) and not isinstance(fn, metrics.Metric) and fn.__name__ == fn_name
    assert type(keras.metrics.get(name)).__name__ != "function"


def test_get_tf_keras_2_spelling_logcosh():
    assert metrics.get("logcosh") is losses.log_cosh   # unknown to Keras 3's metrics.get


@pytest.mark.parametrize("name", ["MeanSquaredError", "SparseCategoricalAccuracy", "Mean",
                                  "root_mean_squared_error", "RootMeanSquaredError",
                                  "cosine_similarity"])
def test_get_class_names_return_instances_like_keras(name):
    ours, theirs = metrics.get(name), keras.metrics.get(name)
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.name == theirs.name


def test_get_instances_callables_dicts_and_unknown_names():
    metric = metrics.BinaryAccuracy()
    assert metrics.get(metric) is metric
    fn = lambda y_true, y_pred: y_pred  # noqa: E731
    assert metrics.get(fn) is fn
    assert metrics.get(None) is None
    got = metrics.get({"class_name": "TopKCategoricalAccuracy", "config": {"k": 2}})
    assert isinstance(got, metrics.TopKCategoricalAccuracy) and got.k == 2
    with pytest.raises(ValueError, match=r"'acc'.*'accuracy'.*'binary_accuracy'"):
        metrics.get("acc")   # "acc" is resolved by compile, not here (as in Keras 3)
    with pytest.raises(ValueError, match="metric identifier"):
        metrics.get(1.5)


@pytest.mark.parametrize("make", [
    lambda m: m.Mean(name="running"), lambda m: m.Sum(),
    lambda m: m.SparseCategoricalAccuracy(), lambda m: m.BinaryAccuracy(threshold=0.7),
    lambda m: m.TopKCategoricalAccuracy(k=3), lambda m: m.RootMeanSquaredError(),
    lambda m: m.MeanAbsoluteError(), lambda m: m.LogCoshError(),
    lambda m: m.MeanMetricWrapper(m.mean_squared_error, name="wrapped"),
])
def test_serialize_matches_keras_and_round_trips(make):
    ours, theirs = metrics.serialize(make(metrics)), keras.metrics.serialize(make(keras.metrics))
    assert ours == theirs
    rebuilt = metrics.deserialize(ours)
    assert metrics.serialize(rebuilt) == ours


def test_serialize_functions_like_keras():
    ours = metrics.serialize(metrics.sparse_categorical_accuracy)
    assert ours == keras.metrics.serialize(keras.metrics.sparse_categorical_accuracy)
    assert metrics.deserialize(ours) is metrics.sparse_categorical_accuracy
    assert metrics.deserialize("mse") is metrics.mean_squared_error
    with pytest.raises(TypeError, match="Metric"):
        metrics.serialize("mse")
