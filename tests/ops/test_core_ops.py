"""keras.ops control flow, tensor helpers and gradients, gazelle vs Keras 3; argument errors."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import keras as k3
from gazelle import ops
from gazelle.core.variables import Variable

X = np.arange(12, dtype="float32").reshape(3, 4) / 7.0


def both(fn):
    """fn(ops_module) on gazelle and on Keras; returns the two results."""
    return fn(ops), fn(k3.ops)


def assert_same(a, b):
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        assert np.shape(x) == np.shape(y)
        assert str(np.asarray(x).dtype) == str(np.asarray(y).dtype)
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pred", [True, False])
def test_cond(pred):
    assert_same(*both(lambda o: o.cond(pred, lambda: o.ones(2), lambda: o.zeros(2))))


def test_while_loop_tuple_and_single_and_maximum_iterations():
    assert_same(*both(lambda o: o.while_loop(lambda i, s: i < 5, lambda i, s: (i + 1, s * 2.0),
                                             (0, 1.0))))
    assert_same(*both(lambda o: o.while_loop(lambda i: i < 10, lambda i: i + 1, 0)))
    assert_same(*both(lambda o: o.while_loop(lambda i: i < 10, lambda i: [i + 1], [0],
                                             maximum_iterations=3)))


def test_fori_loop_scan_map_switch_associative_scan():
    assert_same(*both(lambda o: o.fori_loop(0, 4, lambda i, v: v + i, 1.0)))
    assert_same(*both(lambda o: o.scan(lambda c, x: (c + x, c * x), 0.0, X[0])))
    assert_same(*both(lambda o: o.scan(lambda c, _: (c + 1, c), 0, length=3, reverse=True)))
    assert_same(*both(lambda o: o.map(lambda row: o.sum(row), X)))
    assert_same(*both(lambda o: o.switch(1, [lambda x: x + 1, lambda x: x * 3], X)))
    assert_same(*both(lambda o: o.associative_scan(lambda a, b: a + b, X, axis=1)))
    assert_same(*both(lambda o: o.associative_scan(lambda a, b: a * b, X[:, 1], reverse=True)))
    assert_same(*both(lambda o: o.vectorized_map(lambda row: o.max(row), X)))


def test_scan_rejects_bad_unroll():
    with pytest.raises(ValueError, match="unroll"):
        ops.scan(lambda c, x: (c, x), 0.0, X, unroll=0)


def test_custom_gradient_matches_keras():
    def make(o):
        @o.custom_gradient
        def clipped_square(x):
            def grad(upstream):
                return o.clip(upstream * 2 * x, -1.0, 1.0)
            return o.square(x), grad
        return clipped_square

    g_mine = jax.grad(lambda x: jnp.sum(make(ops)(x)))(X)
    g_keras = jax.grad(lambda x: jnp.sum(make(k3.ops)(x)))(X)
    np.testing.assert_allclose(g_mine, g_keras)
    np.testing.assert_allclose(make(ops)(Variable(X, name="v")), X ** 2)


def test_stop_gradient_blocks_gradient():
    g = jax.grad(lambda x: jnp.sum(ops.stop_gradient(x) * x))(X)
    np.testing.assert_allclose(g, X)


def test_jvp_and_vectorize():
    assert_same(*both(lambda o: o.jvp(lambda x: o.sin(x), (X,), (np.ones_like(X),))))
    assert_same(*both(lambda o: o.linalg.jvp(lambda x: (x * 2, x), (X,), (X,), has_aux=True)))
    assert_same(*both(lambda o: o.vectorize(lambda a, b: a + b)(X, X[0])))
    assert_same(*both(lambda o: o.vectorize(lambda m: m.sum(), signature="(n)->()")(X)))


def test_tensor_helpers():
    v = Variable(X, name="v")
    for x in (X, jnp.asarray(X), v):
        assert ops.shape(x) == k3.ops.shape(x if not isinstance(x, Variable) else X)
    assert ops.shape([[1, 2]]) == (1, 2) and ops.shape(3.0) == ()
    assert ops.dtype(X) == k3.ops.dtype(X) == "float32"
    assert ops.dtype(jnp.ones(2, "bfloat16")) == "bfloat16"
    assert ops.dtype(v) == "float32"
    assert ops.is_tensor(jnp.ones(2)) and k3.ops.is_tensor(jnp.ones(2))
    assert not ops.is_tensor(X) and not k3.ops.is_tensor(X)
    assert not ops.is_tensor(2.0)
    out = ops.convert_to_numpy(v)
    assert isinstance(out, np.ndarray) and np.array_equal(out, X)
    assert isinstance(ops.convert_to_numpy(jnp.ones(2)), np.ndarray)
    for fn in ("empty", "zeros"):
        assert_same(*both(lambda o: getattr(o, fn)((2, 3)).shape))
        assert getattr(ops, fn)((2, 3)).dtype == getattr(k3.ops, fn)((2, 3)).dtype
    assert ops.empty_like(X, dtype="int32").dtype == k3.ops.empty_like(X, dtype="int32").dtype
    assert ops.cast(X, "float16").dtype == jnp.float16


def test_convert_to_tensor_rejects_sparse_and_ragged():
    with pytest.raises(NotImplementedError, match="sparse"):
        ops.convert_to_tensor(X, sparse=True)
    with pytest.raises(ValueError, match="ragged"):
        ops.convert_to_tensor(X, ragged=True)


def test_eig_reconstructs_the_matrix():
    a = np.array([[2.0, 1.0], [0.5, 3.0]], "float32")
    w, v = ops.eig(a)
    np.testing.assert_allclose(np.asarray(v) @ np.diag(np.asarray(w)) @ np.linalg.inv(v), a,
                               atol=1e-5)
    np.testing.assert_allclose(np.sort(np.asarray(w).real),
                               np.sort(np.asarray(k3.ops.eig(a)[0]).real), rtol=1e-5)


def test_ops_work_eagerly_with_variables():
    v = Variable(X, name="v")
    calls = [("add", lambda x: (x, x), {}), ("mean", lambda x: (x,), {"axis": 0}),
             ("softmax", lambda x: (x,), {}),
             ("segment_sum", lambda x: (x, np.array([0, 1, 1])), {"num_segments": 2}),
             ("top_k", lambda x: (x, 2), {}), ("slice", lambda x: (x, (0, 1), (2, 2)), {}),
             ("scatter_update", lambda x: (x, [[0, 0]], np.array([5.0], "float32")), {}),
             ("stft", lambda x: (x[0], 2, 1, 2), {})]
    for name, args, kwargs in calls:
        assert_same(getattr(ops, name)(*args(v), **kwargs),
                    getattr(k3.ops, name)(*args(X), **kwargs))


@pytest.mark.parametrize("call, error, match", [
    (lambda: ops.segment_sum(X, np.array([0, 1, 1])), ValueError, "num_segments"),
    (lambda: ops.segment_max(X, np.array([[0, 1, 1]]), num_segments=2), ValueError, "1-D"),
    (lambda: ops.scatter_update(X, [[0, 0]], [1.0], reduction="avg"), ValueError, "reduction"),
    (lambda: ops.rot90(np.ones(3)), ValueError, "2 dimensions"),
    (lambda: ops.pad(X, 1, mode="reflect", constant_values=1.0), ValueError, "constant"),
    (lambda: ops.searchsorted(X, X), ValueError, "1-D"),
    (lambda: ops.ldexp(X, X), TypeError, "integer"),
    (lambda: ops.bincount(np.array([1, 2]), sparse=True), NotImplementedError, "sparse"),
    (lambda: ops.one_hot(np.array([1]), 3, sparse=True), NotImplementedError, "sparse"),
    (lambda: ops.normalize(X, order=0), ValueError, "order"),
    (lambda: ops.moments(X, axes=0, synchronized=True), NotImplementedError, "synchronized"),
    (lambda: ops.glu(np.ones((2, 3))), ValueError, "even"),
    (lambda: ops.conv(np.ones((1, 4, 4, 3)), np.ones((2, 2, 2, 1))), ValueError, "multiple"),
    (lambda: ops.max_pool(np.ones((1, 4, 4, 1)), 2, padding="full"), ValueError, "padding"),
    (lambda: ops.ctc_decode(np.ones((1, 3, 2)), np.array([3]), strategy="beam_search"),
     NotImplementedError, "greedy"),
    (lambda: ops.dot_product_attention(np.ones((1, 2, 1, 2)), np.ones((1, 2, 1, 2)),
                                       np.ones((1, 2, 1, 2)), attn_logits_soft_cap=2.0),
     ValueError, "soft_cap"),
    (lambda: ops.fabs(np.ones(2, "complex64")), TypeError, "complex"),
    (lambda: ops.diagonal(X, axis1=1, axis2=-1), ValueError, "differ"),
    (lambda: ops.vander(X), ValueError, "1-D"),
    (lambda: ops.eye(2.0), TypeError, "integer"),
    (lambda: ops.select(X > 0, [X]), ValueError, "lists"),
    (lambda: ops.histogram(X[0], bins=2.5), ValueError, "bins"),
    (lambda: ops.array_split(X, 0), ValueError, "positive"),
    (lambda: ops.depth_to_space(np.ones((1, 2, 2, 4)), 1), ValueError, "block_size"),
    (lambda: ops.fold(np.ones((1, 4)), 2, 1), ValueError, "3-D"),
    (lambda: ops.stft(np.ones(8, "float32"), 4, 0, 4), ValueError, "sequence_stride"),
    (lambda: ops.stft(np.ones(8, "int32"), 4, 2, 4), TypeError, "float32"),
    (lambda: ops.stft(np.ones(8, "float32"), 4, 2, 2), ValueError, "fft_length"),
    (lambda: ops.stft(np.ones(8, "float32"), 4, 2, 4, window="blackman"), ValueError, "hann"),
    (lambda: ops.fft(np.ones(4)), ValueError, "tuple"),
    (lambda: ops.linalg.qr(X, mode="r"), ValueError, "mode"),
    (lambda: ops.linalg.matrix_rank(np.ones(3)), ValueError, "rank"),
    (lambda: ops.image.resize(np.ones((4, 4, 1)), (2, 2), interpolation="area"), ValueError,
     "interpolation"),
    (lambda: ops.image.resize(np.ones((4, 4)), (2, 2)), ValueError, "rank"),
    (lambda: ops.image.affine_transform(np.ones((4, 4, 1)), np.zeros(8), fill_mode="edge"),
     ValueError, "fill_mode"),
    (lambda: ops.image.pad_images(np.ones((4, 4, 1)), 1, 1), ValueError, "exactly two"),
    (lambda: ops.image.crop_images(np.ones((4, 4, 1)), 1, 1, 1, 1, 3, 3), ValueError,
     "exactly two"),
    (lambda: ops.image.rgb_to_hsv(np.ones((4, 4, 3), "int32")), ValueError, "float"),
    (lambda: ops.image.map_coordinates(np.ones((4, 4)), np.ones((3, 2)), 1), ValueError, "rank"),
])
def test_bad_arguments_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_gaussian_blur_honours_the_default_data_format():
    # Keras 3.15's JAX backend reads data_format=None as channels_first here; gazelle uses
    # keras.config.image_data_format() (channels_last), as every other image op does.
    images = np.random.default_rng(1).uniform(size=(1, 6, 7, 3)).astype("float32")
    np.testing.assert_allclose(ops.image.gaussian_blur(images),
                               k3.ops.image.gaussian_blur(images, data_format="channels_last"),
                               rtol=1e-5, atol=1e-6)


def test_pooling_strides_default_to_pool_size():
    # Keras 3.15's JAX max_pool fails with strides=None; gazelle uses pool_size, as documented.
    x = np.random.default_rng(2).normal(size=(1, 6, 6, 2)).astype("float32")
    np.testing.assert_allclose(ops.max_pool(x, 2), k3.ops.max_pool(x, 2, strides=2))
    np.testing.assert_allclose(ops.average_pool(x, 3), k3.ops.average_pool(x, 3, strides=3),
                               rtol=1e-6)


def test_submodule_paths_resolve_like_keras():
    assert ops.numpy.sum is ops.sum and ops.nn.relu is ops.relu
    assert ops.linalg.solve is ops.solve and ops.core.cast is ops.cast
    assert ops.math.top_k is ops.top_k
    assert callable(ops.image.resize) and not hasattr(ops, "resize")
    assert not hasattr(k3.ops, "resize")


def test_elastic_transform_moves_pixels_smoothly_and_repeats_with_a_seed():
    from gazelle import random as grandom
    rng = np.random.default_rng(3)
    images = rng.uniform(size=(2, 12, 10, 3)).astype("float32")
    out = ops.image.elastic_transform(images, seed=4)
    assert out.shape == images.shape and out.dtype == images.dtype
    np.testing.assert_array_equal(out, ops.image.elastic_transform(images, seed=4))
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0      # bilinear + reflect
    assert not np.allclose(out, images)
    np.testing.assert_allclose(ops.image.elastic_transform(images, alpha=0.0, seed=4), images,
                               atol=1e-6)
    gen = grandom.SeedGenerator(1)
    assert not np.array_equal(ops.image.elastic_transform(images, seed=gen),
                              ops.image.elastic_transform(images, seed=gen))
    cf = ops.image.elastic_transform(np.moveaxis(images, -1, 1), seed=4,
                                     data_format="channels_first")
    np.testing.assert_allclose(np.moveaxis(np.asarray(cf), 1, -1), out, atol=1e-6)
    # Keras 3.15 (JAX) draws the x and y displacement from the same key; at alpha=0 both agree
    np.testing.assert_allclose(k3.ops.image.elastic_transform(images, alpha=0.0, seed=4),
                               ops.image.elastic_transform(images, alpha=0.0, seed=4), atol=1e-6)


def test_rearrange_rejects_bad_patterns():
    with pytest.raises(ValueError, match="->"):
        ops.rearrange(X, "a b")
    with pytest.raises(ValueError, match="left side names 1 axes"):
        ops.rearrange(X, "a -> a")
    with pytest.raises(ValueError, match="same axes"):
        ops.rearrange(X, "a b -> a c")
    with pytest.raises(ValueError, match="infer"):
        ops.rearrange(X, "a (b c) -> a b c")


def test_affine_transform_follows_the_documented_projective_formula():
    # Keras documents x' = (a0 x + a1 y + a2) / k, y' = (b0 x + b1 y + b2) / k with
    # k = c0 x + c1 y + 1; its JAX backend (3.15) applies c0, c1 to the channel index instead,
    # so gazelle is checked against the formula itself (nearest neighbour, constant fill).
    rng = np.random.default_rng(5)
    image = rng.uniform(size=(9, 11, 2)).astype("float32")
    t = np.array([1.1, 0.2, -0.4, -0.1, 0.9, 1.0, 0.01, -0.02], "float32")
    out = np.asarray(ops.image.affine_transform(image, t, interpolation="nearest",
                                                fill_value=-1.0))
    expected = np.full_like(image, -1.0)
    for y in range(9):
        for x in range(11):
            k = t[6] * x + t[7] * y + 1
            xi = int(np.round((t[0] * x + t[1] * y + t[2]) / k))
            yi = int(np.round((t[3] * x + t[4] * y + t[5]) / k))
            if 0 <= xi < 11 and 0 <= yi < 9:
                expected[y, x] = image[yi, xi]
    np.testing.assert_allclose(out, expected)


def test_softmax_over_a_size_one_axis_warns_like_keras():
    with pytest.warns(UserWarning, match="size 1"):
        ops.softmax(np.ones((3, 1)))
    with pytest.warns(UserWarning, match="size 1"):
        k3.ops.softmax(np.ones((3, 1)))
