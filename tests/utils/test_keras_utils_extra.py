"""keras.utils and keras.config names that are small helpers: Config, pack/unpack of
batches, get_source_inputs, interactive logging, the epoch/step caps, flash attention and
the refused unsafe-deserialization switch. Each is compared with Keras 3 where Keras runs
the same thing."""
import logging
import warnings

import keras as k3
import numpy as np
import pytest

import gazelle as keras


@pytest.fixture(autouse=True)
def _reset_config():
    yield
    keras.config.set_max_epochs(None)
    keras.config.set_max_steps_per_epoch(None)
    keras.config.enable_interactive_logging()
    keras.config._FLASH_ATTENTION = None


def test_config_behaves_like_keras():
    ours, theirs = keras.utils.Config(a=1, b=2), k3.utils.Config(a=1, b=2)
    for c in (ours, theirs):
        c.c = 3
        c["d"] = 4
        c.update(e=5)
    assert ours.as_dict() == theirs.as_dict()
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs) and ("a" in ours) == ("a" in theirs)
    assert ours.to_json() == theirs.to_json()
    assert ours.pop("e") == theirs.pop("e") == 5
    ours.freeze()
    theirs.freeze()
    assert ours.frozen and theirs.frozen
    for c in (ours, theirs):
        with pytest.raises(ValueError, match="frozen"):
            c.a = 10
        with pytest.raises(ValueError, match="frozen"):
            c["a"] = 10
        with pytest.raises(ValueError, match="frozen"):
            del c["a"]
    ours.unfreeze()
    ours.a = 10
    assert ours.a == 10 and ours["a"] == 10
    with pytest.raises(AttributeError, match="Did you mean 'learning_rate'"):
        keras.utils.Config(learning_rate=1).learning_rat


@pytest.mark.parametrize("data", [
    np.ones(3), (np.ones(3),), (np.ones(3), np.zeros(3)), [np.ones(3), np.zeros(3), np.ones(3)],
])
def test_unpack_matches_keras(data):
    ours = keras.utils.unpack_x_y_sample_weight(data)
    theirs = k3.utils.unpack_x_y_sample_weight(data)
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a, b)


def test_unpack_refuses_four_elements():
    with pytest.raises(ValueError, match="sample_weight"):
        keras.utils.unpack_x_y_sample_weight((1, 2, 3, 4))


@pytest.mark.parametrize("args", [(np.ones(2),), ((np.ones(2), np.ones(2)),),
                                  (np.ones(2), np.zeros(2)), (np.ones(2), np.zeros(2), np.ones(2))])
def test_pack_matches_keras(args):
    ours, theirs = keras.utils.pack_x_y_sample_weight(*args), k3.utils.pack_x_y_sample_weight(*args)
    assert type(ours) is type(theirs)
    if isinstance(ours, tuple):
        assert len(ours) == len(theirs)


def test_get_source_inputs_matches_keras_order():
    def build(lib):
        a, b, c = lib.Input((4,)), lib.Input((3,)), lib.Input((2,))
        h = lib.layers.Concatenate()([b, lib.layers.Dense(3)(a)])
        out = lib.layers.Concatenate()([lib.layers.Dense(2)(h), c, lib.layers.Dense(2)(b)])
        return [a, b, c], out
    ours_in, ours_out = build(keras)
    theirs_in, theirs_out = build(k3)
    order = lambda found, inputs: [next(i for i, t in enumerate(inputs) if t is f) for f in found]
    assert order(keras.utils.get_source_inputs(ours_out), ours_in) == \
        order(k3.utils.get_source_inputs(theirs_out), theirs_in)
    assert keras.utils.get_source_inputs(ours_in[0]) == [ours_in[0]]


def test_utils_aliases_are_the_saving_and_backend_functions():
    assert keras.utils.register_keras_serializable is keras.saving.register_keras_serializable
    assert keras.utils.custom_object_scope is keras.saving.custom_object_scope
    assert keras.utils.clear_session is keras.backend.clear_session
    assert keras.utils.is_keras_tensor(keras.Input((2,)))
    assert keras.utils.standardize_dtype("int") == k3.utils.standardize_dtype("int")
    with pytest.raises(ValueError):
        k3.utils.standardize_dtype("float")
    with pytest.raises(ValueError, match="Invalid dtype"):
        keras.utils.standardize_dtype("float")


def _model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    return model


def test_max_epochs_and_steps_cap_fit_evaluate_predict():
    x, y = np.ones((320, 3), "float32"), np.ones((320, 1), "float32")
    model = _model()
    keras.config.set_max_epochs(2)
    keras.config.set_max_steps_per_epoch(3)
    assert keras.config.max_epochs() == 2 and keras.config.max_steps_per_epoch() == 3
    with pytest.warns(UserWarning) as record:
        history = model.fit(x, y, epochs=5, verbose=0)
    messages = [str(w.message) for w in record]
    assert any("Limiting epochs to 2" in m for m in messages)
    assert any("Limiting steps_per_epoch to 3" in m for m in messages)
    assert len(history.history["loss"]) == 2
    assert int(model.optimizer.iterations.numpy()) == 2 * 3
    with pytest.warns(UserWarning, match="Limiting steps to 3"):
        assert model.predict(x, verbose=0).shape == (3 * 32, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # under the caps: no warning
        model.fit(x[:64], y[:64], epochs=1, steps_per_epoch=2, verbose=0)
    keras.config.set_max_epochs(None)
    keras.config.set_max_steps_per_epoch(None)
    assert len(model.fit(x, y, epochs=3, verbose=0).history["loss"]) == 3


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_caps_refuse_bad_values(bad):
    with pytest.raises(ValueError, match="set_max_epochs"):
        keras.config.set_max_epochs(bad)
    with pytest.raises(ValueError, match="set_max_steps_per_epoch"):
        keras.config.set_max_steps_per_epoch(bad)


def test_interactive_logging_off_sends_messages_to_logging(capsys, caplog):
    assert keras.config.is_interactive_logging_enabled() == k3.config.is_interactive_logging_enabled()
    x, y = np.ones((64, 3), "float32"), np.ones((64, 1), "float32")
    model = _model()
    keras.utils.disable_interactive_logging()
    assert not keras.utils.is_interactive_logging_enabled()
    with caplog.at_level(logging.INFO, logger="gazelle"):
        model.fit(x, y, epochs=2, verbose=1)
    assert capsys.readouterr().out == ""
    logged = [r.getMessage() for r in caplog.records if r.name == "gazelle"]
    assert any("Epoch 2/2" in m for m in logged)
    assert any("loss:" in m for m in logged)
    keras.utils.enable_interactive_logging()
    model.fit(x, y, epochs=2, verbose=1)
    assert "Epoch 2/2" in capsys.readouterr().out


def test_unsafe_deserialization_is_refused_with_the_alternative():
    with pytest.raises(NotImplementedError, match="custom_objects"):
        keras.config.enable_unsafe_deserialization()


def test_flash_attention_setting_reaches_layers_built_after_it():
    assert keras.config.is_flash_attention_enabled() is k3.config.is_flash_attention_enabled()
    keras.config.disable_flash_attention()
    assert keras.config.is_flash_attention_enabled() is False
    layer = keras.layers.GroupQueryAttention(head_dim=4, num_query_heads=2,
                                             num_key_value_heads=1)
    assert layer._flash_attention is False
    keras.config.enable_flash_attention()
    assert keras.config.is_flash_attention_enabled() is True
    with pytest.raises(ValueError, match="Dropout is not supported"):
        keras.layers.GroupQueryAttention(head_dim=4, num_query_heads=2, num_key_value_heads=1,
                                         dropout=0.5)
    # An explicit layer argument wins over the global setting.
    layer = keras.layers.GroupQueryAttention(head_dim=4, num_query_heads=2,
                                             num_key_value_heads=1, flash_attention=False)
    assert layer._flash_attention is False
