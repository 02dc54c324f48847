"""Convolution layers: the layer contract, Keras 3 as oracle, argument and shape errors."""
import numpy as np
import pytest

import gazelle as keras
from gazelle.layers import convolutional as conv
from gazelle.testing import run_layer_test

# (class name, constructor kwargs, input shape): one row per main argument combination.
CASES = [
    ("Conv1D", {"filters": 4, "kernel_size": 3}, (2, 11, 3)),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2},
     (2, 11, 3)),
    ("Conv1D", {"filters": 4, "kernel_size": 2, "strides": 3, "padding": "same"}, (2, 11, 3)),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "data_format": "channels_first"}, (2, 3, 11)),
    ("Conv2D", {"filters": 5, "kernel_size": 3, "activation": "relu"}, (2, 9, 8, 3)),
    ("Conv2D", {"filters": 5, "kernel_size": (2, 3), "strides": 2, "padding": "same"},
     (2, 9, 8, 3)),
    ("Conv2D", {"filters": 5, "kernel_size": 4, "strides": (1, 2), "padding": "same"},
     (2, 9, 8, 3)),
    ("Conv2D", {"filters": 5, "kernel_size": 3, "dilation_rate": 2, "padding": "same"},
     (2, 9, 8, 3)),
    ("Conv2D", {"filters": 6, "kernel_size": 3, "groups": 2, "use_bias": False}, (2, 7, 7, 4)),
    ("Conv2D", {"filters": 5, "kernel_size": 3, "strides": 2,
                "data_format": "channels_first"}, (2, 3, 9, 8)),
    ("Conv3D", {"filters": 2, "kernel_size": 2, "padding": "same"}, (2, 4, 5, 3, 2)),
    ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2}, (2, 7, 6, 3)),
    ("DepthwiseConv2D", {"kernel_size": 3, "strides": 2, "padding": "same"}, (2, 7, 6, 3)),
    ("DepthwiseConv2D", {"kernel_size": 2, "dilation_rate": 2,
                         "data_format": "channels_first"}, (2, 3, 7, 6)),
    ("DepthwiseConv1D", {"kernel_size": 3, "depth_multiplier": 2}, (2, 9, 3)),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3, "depth_multiplier": 2},
     (2, 8, 7, 3)),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same",
                         "activation": "tanh"}, (2, 8, 7, 3)),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 2, "data_format": "channels_first"},
     (2, 3, 8, 7)),
    ("SeparableConv1D", {"filters": 4, "kernel_size": 3}, (2, 9, 3)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3}, (2, 5, 4, 2)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
     (2, 5, 4, 2)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 4, "strides": 2, "padding": "same"},
     (2, 5, 4, 2)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 2, "strides": 3}, (2, 5, 4, 2)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same",
                         "output_padding": 1}, (2, 5, 4, 2)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2, "output_padding": 1,
                         "data_format": "channels_first"}, (2, 2, 5, 4)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "dilation_rate": 2,
                         "padding": "same"}, (2, 5, 4, 2)),
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2}, (2, 5, 2)),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 2, "strides": 2}, (1, 2, 3, 2, 2)),
]


def _zero_init(name):
    """Keras kwargs that skip its random kernel init (a slow per-shape compile; we overwrite it)."""
    if name.startswith("Depthwise"):
        return {"depthwise_initializer": "zeros"}
    if name.startswith("Separable"):
        return {"depthwise_initializer": "zeros", "pointwise_initializer": "zeros"}
    return {"kernel_initializer": "zeros"}


def _pair(name, kwargs, x):
    import keras as k3
    ours = getattr(conv, name)(name="layer", **kwargs)
    theirs = getattr(k3.layers, name)(name="layer", **kwargs, **_zero_init(name))
    ours(x)
    theirs(x)
    theirs.set_weights(ours.get_weights())
    return ours, theirs


@pytest.mark.sweep
@pytest.mark.parametrize("name, kwargs, shape", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_keras(name, kwargs, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    ours, theirs = _pair(name, kwargs, x)
    # Bias too: give it non-zero values so a misplaced bias axis shows.
    if ours.use_bias:
        weights = ours.get_weights()
        weights[-1] = np.linspace(-1, 1, weights[-1].size).astype("float32")
        ours.set_weights(weights)
        theirs.set_weights(weights)
    expected = np.asarray(theirs(x))
    np.testing.assert_allclose(np.asarray(ours(x)), expected, rtol=1e-5, atol=1e-5)
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    assert ours.compute_output_shape((None,) + shape[1:]) == tuple(
        theirs.compute_output_shape((None,) + shape[1:]))


@pytest.mark.parametrize("name", ["Conv1D", "Conv2D", "DepthwiseConv2D", "SeparableConv2D",
                                  "Conv2DTranspose"])
def test_config_has_keras_keys_and_round_trips(name):
    import keras as k3
    kwargs = {} if name == "DepthwiseConv2D" else {"filters": 2}
    ours = getattr(conv, name)(kernel_size=3, strides=2, padding="same", **kwargs)
    theirs = getattr(k3.layers, name)(kernel_size=3, strides=2, padding="same", **kwargs)
    config = ours.get_config()
    assert set(config) == set(theirs.get_config())
    assert config["kernel_size"] == (3,) * ours.rank and config["strides"] == (2,) * ours.rank
    clone = type(ours).from_config(config)
    assert clone.get_config() == config


@pytest.mark.parametrize("cls, kwargs, shape, out_shape, n_weights", [
    (conv.Conv1D, {"filters": 4, "kernel_size": 3, "padding": "causal"}, (2, 10, 3),
     (2, 10, 4), 2),
    (conv.Conv2D, {"filters": 4, "kernel_size": 3, "strides": 2}, (2, 9, 9, 3), (2, 4, 4, 4), 2),
    (conv.Conv3D, {"filters": 2, "kernel_size": 2}, (1, 3, 4, 5, 2), (1, 2, 3, 4, 2), 2),
    (conv.DepthwiseConv2D, {"kernel_size": 3, "depth_multiplier": 2}, (2, 6, 6, 3),
     (2, 4, 4, 6), 2),
    (conv.SeparableConv2D, {"filters": 4, "kernel_size": 3, "use_bias": False}, (2, 6, 6, 3),
     (2, 4, 4, 4), 2),
    (conv.Conv2DTranspose, {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"},
     (2, 5, 5, 3), (2, 10, 10, 4), 2),
])
def test_layer_contract(cls, kwargs, shape, out_shape, n_weights):
    run_layer_test(cls, kwargs, shape, out_shape, expected_num_trainable_weights=n_weights)


def test_weight_shapes_follow_keras_layout():
    layer = conv.Conv2D(8, (3, 2), groups=2)
    layer(np.zeros((1, 5, 5, 4), "float32"))
    assert [w.shape for w in layer.weights] == [(3, 2, 2, 8), (8,)]
    layer = conv.Conv2DTranspose(8, 3)
    layer(np.zeros((1, 5, 5, 4), "float32"))
    assert layer.kernel.shape == (3, 3, 8, 4)
    layer = conv.SeparableConv2D(8, 3, depth_multiplier=2)
    layer(np.zeros((1, 5, 5, 4), "float32"))
    assert [w.shape for w in layer.weights] == [(3, 3, 4, 2), (1, 1, 8, 8), (8,)]


def test_default_kernel_is_glorot_uniform_over_receptive_field():
    layer = conv.Conv2D(64, 5)
    layer(np.zeros((1, 8, 8, 32), "float32"))
    kernel = layer.get_weights()[0]
    limit = np.sqrt(6 / (25 * 32 + 25 * 64))
    assert np.all(np.abs(kernel) <= limit) and kernel.std() > limit / 2


def test_strided_tanh_conv2d_gradients_match_keras():
    import jax
    import keras as k3
    x = np.random.default_rng(1).standard_normal((2, 7, 7, 3)).astype("float32")
    ours, theirs = _pair("Conv2D", {"filters": 4, "kernel_size": 3, "strides": 2,
                                    "activation": "tanh"}, x)

    def loss(layer, weights):
        out, _ = layer.stateless_call(weights, [], x)
        return (out ** 2).sum()

    g_ours = jax.grad(lambda w: loss(ours, w))([v.value for v in ours.trainable_variables])
    g_theirs = jax.grad(lambda w: loss(theirs, w))(
        [v.value for v in theirs.trainable_variables])
    for a, b in zip(g_ours, g_theirs):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)
    assert k3.backend.backend() == "jax"


def test_sequential_shapes_with_unknown_spatial_dims():
    model = keras.models.Sequential([
        keras.Input(shape=(None, None, 3)),
        conv.Conv2D(4, 3, padding="same"),
        conv.Conv2DTranspose(2, 3, strides=2)])
    assert model.output_shape == (None, None, None, 2)
    assert model(np.zeros((1, 5, 6, 3), "float32")).shape == (1, 11, 13, 2)


@pytest.mark.parametrize("kwargs, match", [
    ({"filters": 0, "kernel_size": 3}, "filters.*positive integer.*filters=0"),
    ({"filters": "8", "kernel_size": 3}, "filters"),
    ({"filters": 8, "kernel_size": (3, 0)}, "kernel_size.*positive"),
    ({"filters": 8, "kernel_size": (3, 3, 3)}, "kernel_size.*tuple of 2"),
    ({"filters": 8, "kernel_size": "3"}, "kernel_size"),
    ({"filters": 8, "kernel_size": 3, "padding": "full"}, r"padding.*\['valid', 'same'\]"),
    ({"filters": 8, "kernel_size": 3, "padding": "causal"}, "padding"),
    ({"filters": 8, "kernel_size": 3, "data_format": "NHWC"}, "data_format"),
    ({"filters": 8, "kernel_size": 3, "groups": 3}, "divisible by `groups`"),
    ({"filters": 8, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, "dilation_rate"),
])
def test_conv2d_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match="Conv2D: .*" + match):
        conv.Conv2D(**kwargs)


def test_other_layers_reject_bad_arguments():
    with pytest.raises(ValueError, match="depth_multiplier"):
        conv.DepthwiseConv2D(3, depth_multiplier=0)
    with pytest.raises(ValueError, match="output_padding.*smaller than its stride"):
        conv.Conv2DTranspose(4, 3, strides=2, output_padding=2)
    conv.Conv1D(4, 3, padding="CAUSAL")   # case-insensitive, like Keras


def test_image_batch_without_channel_axis_suggests_a_fix():
    layer = conv.Conv2D(8, 3, name="first_conv")
    with pytest.raises(ValueError, match=r"first_conv.*expected ndim=4.*\(batch, height, width, "
                                         r"channels\).*\(32, 28, 28\).*expand_dims.*Reshape"):
        layer(np.zeros((32, 28, 28), "float32"))
    assert not layer.built
    with pytest.raises(ValueError, match=r"Reshape\(\(28, 28, 1\)\)"):
        keras.models.Sequential([conv.Conv2D(8, 3, input_shape=(28, 28))])
    with pytest.raises(ValueError, match=r"expected ndim=3.*expand_dims"):
        conv.Conv1D(4, 3)(np.zeros((8, 100), "float32"))


def test_wrong_channels_and_too_small_inputs_name_the_layer():
    layer = conv.Conv2D(8, 3, name="c1")
    layer(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match="'c1' expects inputs with 3 channels.*received shape"):
        layer(np.zeros((1, 5, 5, 4), "float32"))
    with pytest.raises(ValueError, match="'c1'.*too small.*padding='same'"):
        layer(np.zeros((1, 2, 5, 3), "float32"))
    with pytest.raises(ValueError, match="too small"):
        conv.Conv2D(8, 5, name="c2")(np.zeros((1, 4, 4, 3), "float32"))
    with pytest.raises(ValueError, match="input channels \\(5\\).*groups=2"):
        conv.Conv2D(8, 3, groups=2)(np.zeros((1, 5, 5, 5), "float32"))


def test_channels_first_follows_global_image_data_format():
    from gazelle import config
    config.set_image_data_format("channels_first")
    try:
        layer = conv.Conv2D(4, 3)
    finally:
        config.set_image_data_format("channels_last")
    assert layer.data_format == "channels_first"
    assert layer(np.zeros((1, 2, 6, 6), "float32")).shape == (1, 4, 4, 4)


def test_default_names_match_keras():
    names = [conv.Conv2D(1, 1).name, conv.Conv2DTranspose(1, 1).name,
             conv.DepthwiseConv2D(1).name]
    assert names == ["conv2d", "conv2d_transpose", "depthwise_conv2d"]


def test_small_cnn_predicts_and_trains_like_keras():
    import keras as k3
    from gazelle.layers.pooling import MaxPooling2D
    rng = np.random.default_rng(0)
    x = rng.standard_normal((24, 10, 10, 1)).astype("float32")
    y = rng.integers(0, 10, 24)
    ours = keras.models.Sequential([
        conv.Conv2D(8, 3, activation="relu", input_shape=(10, 10, 1)), MaxPooling2D(),
        keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    theirs = k3.models.Sequential([
        k3.Input((10, 10, 1)), k3.layers.Conv2D(8, 3, activation="relu", **_zero_init("")),
        k3.layers.MaxPooling2D(), k3.layers.Flatten(),
        k3.layers.Dense(10, activation="softmax", **_zero_init(""))])
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    initial = ours.get_weights()
    loss = "sparse_categorical_crossentropy"
    ours.compile(loss=loss, optimizer=keras.optimizers.SGD(learning_rate=0.1))
    theirs.compile(loss=loss, optimizer=k3.optimizers.SGD(learning_rate=0.1))
    for model in (ours, theirs):
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)   # 3 steps
    assert not np.allclose(ours.get_weights()[0], initial[0])
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.sweep
@pytest.mark.parametrize("rank, strides, dilation, padding, data_format", [
    (1, 1, 1, "causal", "channels_last"), (1, 2, 1, "same", "channels_first"),
    (2, 1, 1, "valid", "channels_last"), (2, 2, 1, "same", "channels_last"),
    (2, 1, 2, "same", "channels_first"), (2, (2, 1), 1, "valid", "channels_last"),
    (3, 1, 1, "same", "channels_last")])
def test_cpu_patches_convolution_matches_lax_with_gradients(rank, strides, dilation, padding,
                                                          data_format):
    # On CPUs gazelle computes convolutions as shifted patches times the kernel matrix;
    # values and both gradients must equal XLA's own convolution.
    import jax
    from gazelle.layers import convolutional as conv_mod
    layer = {1: keras.layers.Conv1D, 2: keras.layers.Conv2D, 3: keras.layers.Conv3D}[rank](
        5, 3, strides=strides, dilation_rate=dilation, padding=padding,
        data_format=data_format)
    spatial = (9,) * rank
    shape = (2,) + ((3,) + spatial if data_format == "channels_first" else spatial + (3,))
    x = np.random.default_rng(rank).standard_normal(shape).astype("float32")
    layer.build(shape)
    kernel = layer.kernel.value

    def patches(x, k):
        return conv_mod._patches_conv(x, k, layer.strides, _pads(layer), layer.dilation_rate,
                                      data_format)

    def lax(x, k):
        return jax.lax.conv_general_dilated(
            x, k, layer.strides, _pads(layer), rhs_dilation=layer.dilation_rate,
            dimension_numbers=conv_mod._dimension_numbers(rank, data_format))

    np.testing.assert_allclose(patches(x, kernel), lax(x, kernel), rtol=1e-5, atol=1e-5)
    for argnum in (0, 1):
        g1 = jax.grad(lambda *a: (patches(*a) ** 2).sum(), argnum)(x, kernel)
        g2 = jax.grad(lambda *a: (lax(*a) ** 2).sum(), argnum)(x, kernel)
        np.testing.assert_allclose(g1, g2, rtol=1e-4, atol=1e-4)


def _pads(layer):
    if layer.padding == "causal":
        return [((layer.kernel_size[0] - 1) * layer.dilation_rate[0], 0)]
    return layer.padding.upper()


GRAD_CASES = [
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
     (2, 5, 4, 2)),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 2, "strides": 3, "dilation_rate": 1,
                         "data_format": "channels_first"}, (2, 2, 4, 3)),
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 4, "strides": 2, "output_padding": 1},
     (2, 6, 2)),
    ("DepthwiseConv2D", {"kernel_size": 3, "strides": 2, "padding": "same",
                         "depth_multiplier": 2, "data_format": "channels_first"}, (2, 3, 7, 6)),
    ("DepthwiseConv1D", {"kernel_size": 3, "dilation_rate": 2}, (2, 9, 3)),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3, "depth_multiplier": 2,
                         "padding": "same"}, (2, 6, 5, 3)),
    # stride 1, fewer filters than channels: the contract-first form
    ("Conv2D", {"filters": 1, "kernel_size": 3, "padding": "same"}, (2, 7, 6, 5)),
    ("Conv2D", {"filters": 2, "kernel_size": (3, 2), "dilation_rate": 2,
                "data_format": "channels_first"}, (2, 4, 9, 8)),
    ("Conv1D", {"filters": 2, "kernel_size": 3, "padding": "causal"}, (2, 8, 4)),
    ("Conv3D", {"filters": 1, "kernel_size": 2, "padding": "same"}, (1, 4, 3, 5, 3)),
]


@pytest.mark.sweep
@pytest.mark.parametrize("name, kwargs, shape", GRAD_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(GRAD_CASES)])
def test_gradients_match_keras(name, kwargs, shape):
    """The CPU forms (overlap-add, shifted depthwise products, pointwise matmul,
    contract-first convolutions) have Keras's gradients with respect to the inputs and every weight."""
    import jax
    import jax.numpy as jnp
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype("float32")
    ours, theirs = _pair(name, kwargs, x)
    weights = [rng.standard_normal(w.shape).astype("float32") for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    probe = rng.standard_normal(np.asarray(theirs(x)).shape).astype("float32")

    def grads(layer):
        def loss(tv, x):
            return jnp.sum(layer.stateless_call(tv, [], x)[0] * probe)
        tv = [jnp.asarray(v.value) for v in layer.trainable_variables]
        return jax.grad(loss, argnums=(0, 1))(tv, jnp.asarray(x))

    for a, b in zip(jax.tree_util.tree_leaves(grads(ours)),
                    jax.tree_util.tree_leaves(grads(theirs))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-4)
