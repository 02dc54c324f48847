"""The color, region and batch-mixing image layers and Pipeline against Keras 3.

The random draws cannot match Keras's (a different SeedGenerator), so each layer's
transform is compared with Keras's own `transform_images` given the same parameters;
the draws themselves are checked by their ranges and rates, factor 0 (or probability 0)
by the identity, and inference by the identity."""
import jax
import keras as k3
import numpy as np
import pytest

import gazelle as keras

L = keras.layers


def _images(shape=(3, 7, 8, 3), high=255.0, seed=0):
    return np.random.default_rng(seed).uniform(0, high, shape).astype("float32")


def _close(a, b, atol=2e-4):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=atol)


_F = np.array([0.2, 0.5, 0.9], "float32")
_APPLY = np.array([True, False, True])


# -- transforms with given parameters, against Keras's transform_images ----------------
@pytest.mark.parametrize("value_range", [(0, 255), (0, 1)])
def test_color_transforms_match_keras_for_given_draws(value_range):
    x = _images(high=value_range[1])
    vr = dict(value_range=value_range)
    cases = [
        ("RandomSaturation", (0.5,), (_F / (1 - _F + 1e-7)).reshape(3, 1, 1),
         {"factor": _F / (1 - _F + 1e-7)}),
        ("RandomHue", (0.5,), np.array([0.1, -0.3, 0.45], "float32").reshape(3, 1, 1),
         {"factor": np.array([0.1, -0.3, 0.45], "float32")}),
        ("RandomSharpness", (0.5,), (2 * _F).reshape(3, 1, 1, 1), {"factor": _F}),
        ("RandomColorDegeneration", (0.5,), _F.reshape(3, 1, 1, 1),
         {"factor": _F.reshape(3, 1, 1, 1)}),
        ("RandomPosterization", (4,), np.array([7, 4, 1], "uint8").reshape(3, 1, 1, 1),
         {"shift_factor": np.array([7, 4, 1], "uint8")}),
        ("RandomInvert", (), _APPLY.reshape(3, 1, 1, 1), {"apply_inversion": _APPLY}),
        ("RandomContrast", (0.5,), (1 + _F).reshape(3, 1, 1, 1),
         {"contrast_factor": (1 + _F).reshape(3, 1, 1, 1)}),
        ("RandomBrightness", (0.5,), (_F * 20).reshape(3, 1, 1, 1),
         {"rgb_delta": (_F * 20).reshape(3, 1, 1, 1)}),
    ]
    for name, args, ours_t, theirs_t in cases:
        ours = getattr(L, name)(*args, **vr).transform_images(x, ours_t, True)
        theirs = getattr(k3.layers, name)(*args, **vr).transform_images(x, theirs_t)
        _close(ours, theirs, atol=2e-4 * value_range[1]), name
    a, t = np.array([10, 50, 0], "float32"), np.array([100, 200, 128], "float32")
    ours = L.Solarization(**vr).transform_images(
        x, (a.reshape(3, 1, 1, 1), t.reshape(3, 1, 1, 1)), True)
    theirs = k3.layers.Solarization(**vr).transform_images(
        x, {"additions": a.reshape(3, 1, 1, 1), "thresholds": t.reshape(3, 1, 1, 1)})
    _close(ours, theirs, atol=2e-4 * value_range[1])


def test_grayscale_and_gaussian_blur_match_keras_for_given_draws():
    x = _images()
    apply = _APPLY.reshape(3, 1, 1, 1)
    _close(L.RandomGrayscale().transform_images(x, apply, True),
           k3.layers.RandomGrayscale().transform_images(x, apply))
    sigma = np.array([0.7, 1.3], "float32")
    for size in (3, (3, 5)):
        ours = L.RandomGaussianBlur(kernel_size=size).transform_images(x, (_APPLY, sigma), True)
        theirs = k3.layers.RandomGaussianBlur(kernel_size=size).transform_images(
            x, {"should_apply_blur": _APPLY, "blur_factor": sigma})
        _close(ours, theirs)


@pytest.mark.parametrize("value_range, bins, channels", [((0, 255), 64, 1), ((0, 1), 16, 3)])
def test_auto_contrast_and_equalization_match_keras(value_range, bins, channels):
    x = _images((3, 7, 8, channels), high=value_range[1])
    x[1, ..., -1] = 0.5 * value_range[1]          # a constant channel is left alone
    _close(L.AutoContrast(value_range=value_range)(x),
           k3.layers.AutoContrast(value_range=value_range)(x))
    ours = L.Equalization(value_range=value_range, bins=bins)
    theirs = k3.layers.Equalization(value_range=value_range, bins=bins)
    # Keras pools the histogram over the batch (and loops over the bins, slowly, so few
    # images here); per image the two agree.
    for i in range(1 if bins > 16 else 2):
        _close(ours(x[i:i + 1]), theirs(x[i:i + 1], training=True))
    np.testing.assert_array_equal(ours(x, training=False), x)


def test_mixup_cutmix_and_erasing_match_keras_for_given_draws():
    x, y = _images((4, 6, 5, 3)), np.eye(4, dtype="float32")
    order, weight = np.array([2, 0, 3, 1]), np.array([0.1, 0.5, 0.9, 0.3], "float32")
    theirs = k3.layers.MixUp()
    t = {"permutation_order": order, "mix_weight": weight}
    _close(L.MixUp().transform_images(x, (order, weight), True), theirs.transform_images(x, t))
    _close(L.MixUp().transform_labels(y, (order, weight), True), theirs.transform_labels(y, t))
    masks = np.zeros((4, 6, 5, 1), bool)
    masks[:, 1:4, 2:5] = True
    theirs = k3.layers.CutMix()
    t = {"permutation_order": order, "batch_masks": np.repeat(masks, 3, -1), "mix_weight": weight}
    _close(L.CutMix().transform_images(x, (order, masks, weight), True),
           theirs.transform_images(x, t))
    _close(L.CutMix().transform_labels(y, (order, masks, weight), True),
           theirs.transform_labels(y, t))
    fill = np.full(x.shape, 7.0, "float32")
    apply = np.array([True, False, True, True])
    ours = L.RandomErasing().transform_images(x, (masks & apply[:, None, None, None], fill), True)
    theirs = k3.layers.RandomErasing().transform_images(
        x, {"apply_erasing": apply, "batch_masks": np.repeat(masks, 3, -1), "fill_value": fill})
    _close(ours, theirs)


# -- draws: ranges and rates --------------------------------------------------------------
def test_draws_stay_in_their_ranges():
    images = np.zeros((3000, 2, 2, 3), "float32")
    u = np.asarray(L.RandomSaturation((0.3, 0.6), seed=0).get_transformation(images, True))
    u = u / (1 + u)                                   # back from u / (1 - u)
    assert 0.299 <= u.min() < 0.31 and 0.59 < u.max() <= 0.601
    hue = np.asarray(L.RandomHue((0.2, 0.4), seed=0).get_transformation(images, True))
    assert 0.1 - 1e-6 <= np.abs(hue).min() and np.abs(hue).max() <= 0.2 + 1e-6
    assert 0.45 < (hue > 0).mean() < 0.55
    shift = np.asarray(L.RandomPosterization((2, 6), seed=0).get_transformation(images, True))
    assert set(np.unique(8 - shift)) == {2, 3, 4, 5}      # Keras: [lower, upper)
    invert = np.asarray(L.RandomInvert(seed=0).get_transformation(images, True))
    assert 0.45 < invert.mean() < 0.55                    # probability drawn from [0, 1]
    gray = np.asarray(L.RandomGrayscale(0.2, seed=0).get_transformation(images, True))
    assert 0.17 < gray.mean() < 0.23
    add, thr = L.Solarization((0.1, 0.2), (0.5, 0.5), seed=0).get_transformation(images, True)
    assert 25.4 < np.min(add) and np.max(add) < 51.1 and np.allclose(thr, 127.5)


def test_mixup_weights_follow_beta_and_cutmix_boxes_match_their_label_weights():
    x = np.zeros((256, 8, 8, 1), "float32")
    order, weight = L.MixUp(alpha=0.2, seed=0).get_transformation(x, True)
    assert sorted(np.asarray(order)) == list(range(256))
    weight = np.asarray(weight)
    assert abs(weight.mean() - 0.5) < 0.06 and ((weight < 0.1) | (weight > 0.9)).mean() > 0.5
    order, masks, weight = L.CutMix(seed=0).get_transformation(x, True)
    # Keras mixes the labels by the box's continuous area, not its pixel count.
    pixels = np.asarray(masks).mean(axis=(1, 2, 3))
    assert np.abs(pixels - (1 - np.asarray(weight))).max() < 0.3


def test_erasing_erases_boxes_with_fill_value_at_the_drawn_rate():
    x = _images((400, 10, 10, 3))
    out = np.asarray(L.RandomErasing(factor=(1, 1), scale=(0.2, 0.2), fill_value=0,
                                     seed=0)(x))
    erased = (out == 0).all(axis=-1).mean(axis=(1, 2))
    assert erased.min() > 0.05 and erased.max() < 0.35    # each box ~20% of the image
    half = np.asarray(L.RandomErasing(factor=0.5, fill_value=0, seed=1)(x))
    assert 0.18 < (half == 0).any(axis=(1, 2, 3)).mean() < 0.32    # p ~ U(0, 0.5)


# -- identities ---------------------------------------------------------------------------
_RANDOM = [("RandomGrayscale", {}), ("RandomInvert", {}), ("Solarization", {}),
           ("RandomPosterization", {"factor": 3}), ("RandomSaturation", {"factor": 0.9}),
           ("RandomHue", {"factor": 0.9}), ("RandomSharpness", {"factor": 0.9}),
           ("RandomColorDegeneration", {"factor": 0.9}),
           ("RandomColorJitter", {"brightness_factor": 0.5, "contrast_factor": 0.5,
                                  "saturation_factor": 0.5, "hue_factor": 0.5}),
           ("RandomErasing", {}), ("RandomGaussianBlur", {}), ("MixUp", {}), ("CutMix", {}),
           ("Equalization", {})]


@pytest.mark.sweep
@pytest.mark.parametrize("name, kwargs", _RANDOM)
def test_inference_is_the_identity_and_training_changes_images(name, kwargs):
    x = _images((4, 8, 8, 3))
    layer = getattr(L, name)(**kwargs)
    np.testing.assert_array_equal(layer(x, training=False), x)
    model = keras.Sequential([keras.Input(x.shape[1:]), getattr(L, name)(**kwargs)])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    seeded = getattr(L, name)(**kwargs, **({} if name == "Equalization" else {"seed": 3}))
    assert not np.allclose(np.asarray(seeded(x)), x)
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


@pytest.mark.parametrize("name, kwargs", [
    ("RandomGrayscale", {"factor": 0.0}), ("RandomInvert", {"factor": 0.0}),
    ("Solarization", {"threshold_factor": (1.0, 1.0)}), ("RandomPosterization", {"factor": (8, 8)}),
    ("RandomSaturation", {"factor": (0.5, 0.5)}), ("RandomHue", {"factor": 0.0}),
    ("RandomSharpness", {"factor": (0.5, 0.5)}), ("RandomColorDegeneration", {"factor": 0.0}),
    ("RandomColorJitter", {"brightness_factor": 0.0, "hue_factor": 0.0}),
    ("RandomErasing", {"factor": 0.0}), ("RandomGaussianBlur", {"factor": 0.0}),
    ("MixUp", {"alpha": 1e-6}), ("CutMix", {"factor": 0.0})])
def test_neutral_factors_are_the_identity_in_training(name, kwargs):
    x = np.round(_images((4, 8, 8, 3), high=250))
    out = np.asarray(getattr(L, name)(**kwargs, seed=0)(x, training=True))
    if name == "MixUp":          # Beta(~0, ~0) weights are 0 or 1: each image comes out
        for image in out:        # as itself or as its partner, unblended
            assert min(np.abs(image - other).max() for other in x) < 2e-3
        return
    _close(out, x, atol=2e-3)


def test_auto_contrast_is_deterministic_and_also_runs_at_inference():
    x = _images()
    layer = L.AutoContrast()
    np.testing.assert_array_equal(layer(x, training=False), layer(x, training=True))
    out = np.asarray(layer(x))
    np.testing.assert_allclose(out.min(axis=(1, 2)), 0, atol=1e-3)
    np.testing.assert_allclose(out.max(axis=(1, 2)), 255, atol=1e-3)


# -- configs, dicts, errors -----------------------------------------------------------------
@pytest.mark.parametrize("name, kwargs", [(n, k) for n, k in _RANDOM if n != "RandomColorJitter"]
                         + [("AutoContrast", {}), ("RandomColorJitter", {"hue_factor": 0.2})])
def test_config_keys_match_keras(name, kwargs):
    ours, theirs = getattr(L, name)(**kwargs), getattr(k3.layers, name)(**kwargs)
    assert set(ours.get_config()) == set(theirs.get_config())


def test_factor_readings_that_differ_from_keras_on_purpose():
    # A single float f means (0, f), as Keras documents; Keras 3.15's code reads (-f, f).
    assert L.RandomSaturation(0.5).factor == (0.0, 0.5)
    assert k3.layers.RandomSaturation(0.5).factor == (-0.5, 0.5)
    assert L.RandomColorDegeneration(0.5).factor == (0.0, 0.5)
    # Pairs, including the (-f, f) that Keras's own configs hold, are read alike.
    for cls in ("RandomSaturation", "RandomColorDegeneration"):
        assert getattr(L, cls)((-0.5, 0.5)).factor == getattr(k3.layers, cls)((-0.5, 0.5)).factor
    assert L.RandomHue(0.5).factor == k3.layers.RandomHue(0.5).factor == (0, 0.5)


def test_mixup_and_cutmix_mix_labels_in_dicts_and_keep_a_single_image():
    x, y = _images((4, 6, 6, 3)), np.eye(4, dtype="float32")
    for layer in (L.MixUp(seed=0), L.CutMix(seed=0)):
        out = layer({"images": x, "labels": y})
        labels = np.asarray(out["labels"])
        np.testing.assert_allclose(labels.sum(axis=1), 1, rtol=1e-5)
        assert out["images"].shape == x.shape
    np.testing.assert_array_equal(L.CutMix(seed=0)(x[0]), x[0])


@pytest.mark.parametrize("make, match", [
    (lambda: L.RandomGrayscale(1.5), "factor"),
    (lambda: L.RandomInvert(-0.1), "factor"),
    (lambda: L.Solarization(addition_factor=2), "addition_factor"),
    (lambda: L.RandomPosterization(9), "factor"),
    (lambda: L.RandomSaturation(1.5), "factor"),
    (lambda: L.RandomHue((0.1, 0.2, 0.3)), "factor"),
    (lambda: L.RandomSharpness(0.5, value_range=(0,)), "value_range"),
    (lambda: L.Equalization(bins=1), "bins"),
    (lambda: L.RandomErasing(scale=(0.1, 2)), "scale"),
    (lambda: L.RandomErasing(fill_value="red"), "fill_value"),
    (lambda: L.RandomGaussianBlur(kernel_size=4), "kernel_size"),
    (lambda: L.MixUp(alpha=0), "alpha"),
    (lambda: L.CutMix(factor=3), "factor")])
def test_bad_arguments_raise_value_errors_naming_them(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_rgb_only_layers_reject_other_channel_counts():
    with pytest.raises(ValueError, match="3 channels"):
        L.RandomSaturation(0.5, name="sat")(np.zeros((2, 4, 4, 4), "float32"))


# -- Pipeline -------------------------------------------------------------------------------
def test_pipeline_applies_layers_in_order_passes_training_and_round_trips(tmp_path):
    x = _images((4, 8, 8, 3))
    pipe = L.Pipeline([L.RandomFlip(seed=0), L.Rescaling(1 / 255), L.Resizing(4, 4)])
    np.testing.assert_allclose(pipe(x, training=False),
                               L.Resizing(4, 4)(x / 255), rtol=1e-6, atol=1e-7)
    theirs = k3.layers.Pipeline([k3.layers.RandomFlip(), k3.layers.Rescaling(1 / 255),
                                 k3.layers.Resizing(4, 4)])
    _close(pipe(x, training=False), theirs(x, training=False), atol=1e-6)
    assert set(pipe.get_config()) == set(theirs.get_config())
    assert [c["class_name"] for c in pipe.get_config()["layers"]] == [
        "RandomFlip", "Rescaling", "Resizing"]
    clone = L.Pipeline.from_config(pipe.get_config())
    assert [type(layer).__name__ for layer in clone.layers] == [
        "RandomFlip", "Rescaling", "Resizing"]
    model = keras.Sequential([keras.Input((8, 8, 3)), pipe, L.Flatten(), L.Dense(2)])
    model.save(tmp_path / "pipe.keras")
    loaded = keras.models.load_model(tmp_path / "pipe.keras")
    _close(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    with pytest.raises(TypeError, match="layers"):
        L.Pipeline("flip")


def test_pipeline_of_augmentations_trains_in_fit():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 64)
    x = (rng.uniform(0, 0.4, (64, 8, 8, 3)) + 0.5 * y[:, None, None, None]).astype("float32")
    model = keras.Sequential([
        keras.Input((8, 8, 3)),
        L.Pipeline([L.RandomColorJitter(value_range=(0, 1), brightness_factor=0.1,
                                        contrast_factor=0.1, seed=0),
                    L.RandomErasing(factor=0.3, value_range=(0, 1), seed=1)]),
        L.Flatten(), L.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    losses = model.fit(x, y, batch_size=16, epochs=4, verbose=0).history["loss"]
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]


# -- RandAugment ----------------------------------------------------------------------------
def test_rand_augment_runs_the_drawn_operations_with_their_own_draws():
    x = _images((2, 8, 8, 3))
    layer = L.RandAugment(num_ops=2, factor=0.3, seed=0)
    keys = jax.random.split(jax.random.key(1), 2)
    ops = layer._ops()
    for i, j in [(2, 9), (10, 5)]:
        out = layer.transform_images(x, (np.array([i, j]), keys), True)
        expected = x
        for layer_op, key in ((ops[i], keys[0]), (ops[j], keys[1])):
            expected = layer_op.transform_images(expected, layer_op._draw(key, expected), True)
        _close(out, expected, atol=1e-3)
    # The sublayers are Keras's, with Keras's strengths for factor (0, 0.3).
    theirs = k3.layers.RandAugment(num_ops=2, factor=0.3)
    for name in L.RandAugment._AUGMENT_LAYERS:
        a, b = getattr(layer, name).get_config(), getattr(theirs, name).get_config()
        for key in ("factor", "x_factor", "height_factor", "value_range", "addition_factor"):
            if key in b:
                assert np.allclose(np.ravel(a[key]), np.ravel(b[key])), (name, key)


def test_rand_augment_draws_ops_uniformly_is_identity_at_inference_and_round_trips():
    x = _images((4, 8, 8, 3))
    layer = L.RandAugment(seed=0)
    ops = np.concatenate([np.asarray(layer.get_transformation(x, True)[0]) for _ in range(300)])
    counts = np.bincount(ops, minlength=11)
    assert counts.min() > 30 and counts.max() < 80                   # ~55 each
    np.testing.assert_array_equal(layer(x, training=False), x)
    np.testing.assert_array_equal(L.RandAugment(num_ops=0)(x), x)
    assert not np.allclose(np.asarray(layer(x)), x)
    config = layer.get_config()
    assert set(config) == set(k3.layers.RandAugment().get_config())
    assert L.RandAugment.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="num_ops"):
        L.RandAugment(num_ops=-1)


# -- AugMix ---------------------------------------------------------------------------------
def test_augmix_mixes_its_chains_with_the_drawn_weights():
    x = _images((2, 8, 8, 3))
    layer = L.AugMix(num_chains=2, chain_depth=2, seed=0)
    ops = layer._ops()
    keys = jax.random.split(jax.random.key(3), 4).reshape(2, 2)
    weights, blend = np.array([0.3, 0.7], "float32"), np.float32(0.25)
    chains = np.array([[0, 11], [9, 4]])          # 11 = skip this step
    out = layer.transform_images(x, (weights, blend, chains, keys), True)
    mixed = 0
    for c in range(2):
        chain = x
        for d in range(2):
            if chains[c, d] < len(ops):
                op = ops[chains[c, d]]
                chain = op.transform_images(chain, op._draw(keys[c, d], chain), True)
        mixed = mixed + np.asarray(chain) * weights[c]
    _close(out, np.clip(blend * x + (1 - blend) * mixed, 0, 255), atol=1e-3)
    assert [type(op).__name__ for op in ops] == [
        type(getattr(k3.layers.AugMix(), name)).__name__
        for name in k3.layers.AugMix()._augment_layers]


def test_augmix_draws_are_valid_identity_at_inference_and_config_round_trips():
    x = _images((4, 8, 8, 3))
    layer = L.AugMix(num_chains=4, chain_depth=2, all_ops=False, seed=0)
    weights, blend, ops, _ = layer.get_transformation(x, True)
    np.testing.assert_allclose(np.sum(weights), 1, rtol=1e-5)
    assert 0 <= float(blend) <= 1 and np.asarray(ops).max() <= 7 and ops.shape == (4, 2)
    np.testing.assert_array_equal(layer(x, training=False), x)
    assert not np.allclose(np.asarray(layer(x)), x)
    config = layer.get_config()
    assert set(config) == set(k3.layers.AugMix().get_config())
    assert L.AugMix.from_config(config).get_config() == config
    for kwargs, match in [({"num_chains": 0}, "num_chains"), ({"alpha": 0}, "alpha"),
                          ({"factor": 2}, "factor")]:
        with pytest.raises(ValueError, match=match):
            L.AugMix(**kwargs)
