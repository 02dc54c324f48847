"""The loader's resource limits: hostile files by class (sizes, inflation, depth, missing
members, wrong types) end in a ValueError within memory and time bounds; legitimate files
still load; the budget can be raised; deep graphs build, save and load."""
import json
import os
import sys

import numpy as np
import pytest

import gazelle as keras
from gazelle.saving import limits

sys.path.insert(0, os.path.dirname(__file__))
import hostile_corpus  # noqa: E402


@pytest.fixture(scope="module")
def corpus_results(tmp_path_factory):
    return hostile_corpus.run(hostile_corpus.build(str(tmp_path_factory.mktemp("hostile"))))


CLASSES = ["sizes", "inflation", "depth", "missing", "types"]


@pytest.mark.parametrize("klass", CLASSES)
def test_every_hostile_file_is_refused_with_value_error_in_bounds(corpus_results, klass):
    rows = [r for r in corpus_results if r[0] == klass]
    assert rows
    for _, case, outcome, message, seconds, megabytes in rows:
        assert outcome == "ValueError", (case, outcome, message)
        assert megabytes < hostile_corpus.MEMORY_LIMIT_MB, (case, megabytes)
        assert seconds < hostile_corpus.TIME_LIMIT_S, (case, seconds)


def test_size_refusals_name_the_layer_and_the_fix(tmp_path):
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 3], "name": "i"}},
        {"class_name": "Dense", "config": {"name": "huge", "units": 10**9}}]}}
    with pytest.raises(ValueError, match=r"Layer 'huge'.*kernel.*\(3, 1000000000\).*"
                                         r"max_weights_bytes"):
        keras.models.model_from_json(json.dumps(config))


def _model():
    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(256, activation="relu"),
                              keras.layers.Dense(10)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.zeros((8, 32), "float32"), np.zeros((8, 10), "float32"), verbose=0)
    return model


def test_a_real_model_with_optimizer_state_loads_within_its_budget(tmp_path):
    model = _model()
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.h5")
    for name in ("m.keras", "m.h5"):
        loaded = keras.models.load_model(tmp_path / name)
        for a, b in zip(loaded.get_weights(), model.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_budget_can_be_lowered_and_raised(tmp_path):
    model = _model()
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="budget of 1.0 KiB"):
        keras.models.load_model(tmp_path / "m.keras", max_weights_bytes=1024)
    config = model.to_json()
    try:
        keras.config.set_max_weights_bytes(1000)
        with pytest.raises(ValueError, match="budget of 1000 bytes"):
            keras.models.model_from_json(config)
        assert keras.models.model_from_json(config, max_weights_bytes=10**8).count_params() == \
            model.count_params()
    finally:
        keras.config.set_max_weights_bytes(None)
    assert keras.config.max_weights_bytes() == 2 * 2**30
    with pytest.raises(ValueError, match="positive"):
        keras.config.set_max_weights_bytes(-1)


def test_budget_only_applies_while_loading():
    layer = keras.layers.Dense(4)
    layer.build((None, 3))          # no guard outside a load
    with limits.budget(10, "test"):
        with pytest.raises(ValueError, match="budget of 10 bytes"):
            keras.layers.Dense(4).build((None, 3))
    keras.layers.Dense(4).build((None, 3))


def test_depth_limit_is_checked_without_recursion():
    deep = json.loads("[" * 150 + "]" * 150)
    limits.check_depth(deep, "x")
    nested = []
    for _ in range(100000):
        nested = [nested]
    with pytest.raises(ValueError, match="more than 200 levels"):
        limits.check_depth(nested, "x")


def test_constructor_refuses_string_counts():
    with pytest.raises(ValueError, match="units"):
        keras.layers.Dense("10")
    assert keras.layers.Dense(np.int64(3)).units == 3
    assert keras.layers.Dense(4.0).units == 4      # tf.keras 2 took int(units)


def test_fit_reports_output_target_shape_mismatch_before_compiling():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(loss="mse", optimizer="sgd")
    with pytest.raises(ValueError, match=r"Loss 'mse'.*y has shape \(32, 2\).*"
                                         r"\(None, 3\).*\('n', 3\)"):
        model.fit(np.zeros((32, 4)), np.zeros((32, 2)), verbose=0)


def test_multi_output_shape_mismatch_names_the_output():
    inputs = keras.Input((4,))
    a = keras.layers.Dense(2, name="a")(inputs)
    b = keras.layers.Dense(5, name="b")(inputs)
    model = keras.Model(inputs, [a, b])
    model.compile(loss=["mse", "mae"], optimizer="sgd")
    with pytest.raises(ValueError, match=r"Loss 'mae'.*output 'b'.*\(8, 3\)"):
        model.fit(np.zeros((8, 4)), [np.zeros((8, 2)), np.zeros((8, 3))], verbose=0)


@pytest.mark.slow          # heavy: runs in CI's slow pass
def test_ten_thousand_layer_functional_chain_builds_saves_and_loads(tmp_path):
    x = inputs = keras.Input((2,))
    for _ in range(10000):
        x = keras.layers.Dense(2, kernel_initializer="identity")(x)
    model = keras.Model(inputs, x)
    model.save(tmp_path / "deep.keras")
    loaded = keras.models.load_model(tmp_path / "deep.keras")
    assert len(loaded.layers) == 10001
    assert loaded.layers[-1].name == model.layers[-1].name
    np.testing.assert_array_equal(loaded.layers[5000].get_weights()[0],
                                  model.layers[5000].get_weights()[0])
