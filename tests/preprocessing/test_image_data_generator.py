"""tf.keras 2's ImageDataGenerator against Keras 3's legacy copy of it (which runs SciPy's
affine_transform): same seeds -> same random transforms, batches, files and labels."""
import warnings

import numpy as np
import pytest

PIL = pytest.importorskip("PIL.Image")
pytest.importorskip("scipy.ndimage")
legacy = pytest.importorskip("keras.src.legacy.preprocessing.image")

import gazelle as keras  # noqa: E402
from gazelle.preprocessing import image as gimage  # noqa: E402

AUGMENT = dict(rotation_range=25, width_shift_range=0.15, height_shift_range=2,
               shear_range=10, zoom_range=0.2, horizontal_flip=True, vertical_flip=True,
               channel_shift_range=10.0, rescale=1 / 255)


@pytest.mark.parametrize("fill_mode", ["nearest", "constant", "reflect", "wrap"])
@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("channels_first", [False, True])
def test_apply_affine_transform_matches_keras(fill_mode, order, channels_first):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (9, 13, 3)).astype("float32")
    axes = dict(row_axis=0, col_axis=1, channel_axis=2)
    if channels_first:
        x = x.transpose(2, 0, 1)
        axes = dict(row_axis=1, col_axis=2, channel_axis=0)
    for params in (dict(theta=30), dict(tx=2.5, ty=-3), dict(shear=15, zx=0.8, zy=1.3),
                   dict(theta=-70, tx=1, ty=4, shear=-5, zx=1.2, zy=0.7)):
        kw = dict(fill_mode=fill_mode, cval=7.0, order=order, **axes, **params)
        ours = gimage.apply_affine_transform(x, **kw)
        theirs = legacy.apply_affine_transform(x, **kw)
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-3)


def _pair(**kwargs):
    return gimage.ImageDataGenerator(**kwargs), legacy.ImageDataGenerator(**kwargs)


def _assert_batches_equal(ours, theirs, n):
    for i in range(n):
        a, b = ours[i], theirs[i]
        a = a if isinstance(a, tuple) else (a,)
        b = b if isinstance(b, tuple) else (b,)
        assert len(a) == len(b)
        for u, v in zip(a, b):
            np.testing.assert_allclose(np.asarray(u), np.asarray(v), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_flow_with_seed_matches_keras(data_format):
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 255, (10, 8, 8, 3)).astype("float32")
    if data_format == "channels_first":
        x = x.transpose(0, 3, 1, 2)
    y = np.arange(10) % 2
    # Keras's brightness shift fails on channels-first images (gazelle's does not)
    brightness = (0.5, 1.5) if data_format == "channels_last" else None
    ours, theirs = _pair(data_format=data_format, brightness_range=brightness,
                         fill_mode="reflect", **AUGMENT)
    it_a = ours.flow(x, y, batch_size=4, seed=3, sample_weight=np.linspace(0, 1, 10))
    it_b = theirs.flow(x, y, batch_size=4, seed=3, sample_weight=np.linspace(0, 1, 10))
    _assert_batches_equal(it_a, it_b, len(it_b))
    for it in (it_a, it_b):                 # the new order comes from NumPy's global state
        np.random.seed(9)
        it.on_epoch_end()
    _assert_batches_equal(it_a, it_b, len(it_b))
    np.testing.assert_allclose(next(iter(it_a))[0], next(iter(it_b))[0], rtol=1e-5, atol=1e-4)


def test_brightness_on_channels_first_images():
    x = np.random.default_rng(8).uniform(0, 255, (2, 3, 6, 5)).astype("float32")
    first = gimage.ImageDataGenerator(brightness_range=(0.3, 0.3), data_format="channels_first")
    last = gimage.ImageDataGenerator(brightness_range=(0.3, 0.3))
    a = first.flow(x, batch_size=2, shuffle=False)[0]
    b = last.flow(x.transpose(0, 2, 3, 1), batch_size=2, shuffle=False)[0]
    np.testing.assert_allclose(a, b.transpose(0, 3, 1, 2))
    assert a.mean() < x.mean() * 0.5


def test_featurewise_and_zca_fit_match_keras():
    x = np.random.default_rng(2).uniform(0, 255, (12, 5, 5, 3)).astype("float32")
    for kw in (dict(featurewise_center=True, featurewise_std_normalization=True),
               dict(zca_whitening=True), dict(samplewise_center=True,
                                              samplewise_std_normalization=True)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")         # both warn about implied settings
            ours, theirs = _pair(rescale=1 / 255, **kw)
        ours.fit(x, augment=True, rounds=2, seed=4)
        theirs.fit(x, augment=True, rounds=2, seed=4)
        for name in ("mean", "std", "zca_whitening_matrix"):
            a, b = getattr(ours, name), getattr(theirs, name)
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
        _assert_batches_equal(ours.flow(x, batch_size=5, shuffle=False),
                              theirs.flow(x, batch_size=5, shuffle=False), 3)


def test_flow_subsets_and_extra_inputs_match_keras():
    x = np.random.default_rng(3).uniform(0, 1, (20, 4, 4, 1)).astype("float32")
    y = np.arange(20) % 4
    extra = np.arange(20.0)[:, None]
    ours, theirs = _pair(validation_split=0.25)
    for subset in ("training", "validation"):
        a = ours.flow((x, extra), y, batch_size=6, shuffle=False, subset=subset)
        b = theirs.flow((x, extra), y, batch_size=6, shuffle=False, subset=subset)
        assert len(a) == len(b) and a.n == b.n
        for i in range(len(b)):
            (ax, am), ay = a[i]
            (bx, bm), by = b[i]
            np.testing.assert_array_equal(ax, bx)
            np.testing.assert_array_equal(am, bm)
            np.testing.assert_array_equal(ay, by)
    with pytest.raises(ValueError, match="different classes"):
        ours.flow(x, np.sort(y), subset="training")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("flowers")
    rng = np.random.default_rng(5)
    for k, name in enumerate(["daisy", "rose", "tulip"]):
        (root / name / "sub").mkdir(parents=True)
        for i in range(5 + k):
            size = (int(rng.integers(10, 20)), int(rng.integers(10, 20)))
            img = PIL.fromarray(rng.integers(0, 256, size + (3,), dtype=np.uint8))
            where = root / name / ("sub" if i % 3 == 0 else "")
            img.save(where / f"img_{i}.{'png' if i % 2 else 'jpg'}")
        (root / name / "notes.txt").write_text("not an image")
    return root


@pytest.mark.parametrize("class_mode", ["categorical", "binary", "sparse", "input", None])
@pytest.mark.parametrize("subset", [None, "training", "validation"])
def test_flow_from_directory_matches_keras(folder, class_mode, subset, capsys):
    classes = ["daisy", "rose"] if class_mode == "binary" else None
    ours, theirs = _pair(validation_split=0.4, **AUGMENT)
    kw = dict(target_size=(12, 10), classes=classes, class_mode=class_mode, batch_size=4,
              seed=7, subset=subset, color_mode="rgb" if subset else "grayscale")
    a = ours.flow_from_directory(str(folder), **kw)
    out_a = capsys.readouterr().out
    b = theirs.flow_from_directory(str(folder), **kw)
    out_b = capsys.readouterr().out
    assert out_a == out_b
    assert a.filenames == b.filenames and a.filepaths == b.filepaths
    assert a.class_indices == b.class_indices
    np.testing.assert_array_equal(a.classes, b.classes)
    _assert_batches_equal(a, b, len(b))


def test_flow_from_dataframe_matches_keras(folder):
    pd = pytest.importorskip("pandas")
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.*"))
    df = pd.DataFrame({"filename": files,
                       "class": [f.split("/")[0] for f in files],
                       "score": np.linspace(0, 1, len(files)),
                       "w": np.linspace(1, 2, len(files))})
    for kw in (dict(class_mode="categorical", weight_col="w"),
               dict(class_mode="raw", y_col="score"),
               dict(class_mode="sparse", classes=["rose", "tulip"]),
               dict(class_mode="multi_output", y_col=["score", "w"])):
        ours, theirs = _pair(validation_split=0.3, horizontal_flip=True)
        common = dict(directory=str(folder), target_size=(8, 8), batch_size=3, seed=11,
                      subset="training")
        with pytest.warns(UserWarning, match="invalid image"):
            a = ours.flow_from_dataframe(df, **common, **kw)
        b = theirs.flow_from_dataframe(df, **common, **kw)
        assert a.filenames == b.filenames
        for i in range(len(b)):
            got, want = a[i], b[i]
            np.testing.assert_allclose(got[0], want[0], atol=1e-5)
            for u, v in zip(got[1:], want[1:]):
                if isinstance(v, list):
                    for uu, vv in zip(u, v):
                        np.testing.assert_allclose(uu, vv)
                else:
                    np.testing.assert_allclose(np.asarray(u, float), np.asarray(v, float))


def test_generator_errors():
    with pytest.raises(NotImplementedError, match="interpolation_order"):
        gimage.ImageDataGenerator(interpolation_order=3)
    with pytest.raises(ValueError, match="fill_mode"):
        gimage.ImageDataGenerator(fill_mode="mirror")
    with pytest.raises(ValueError, match="zoom_range"):
        gimage.ImageDataGenerator(zoom_range=(0.5, 1.0, 2.0))
    with pytest.raises(ValueError, match="validation_split"):
        gimage.ImageDataGenerator(validation_split=1.5)
    with pytest.raises(ValueError, match="rank 4"):
        gimage.ImageDataGenerator().flow(np.zeros((3, 4, 4)))
    with pytest.raises(ValueError, match="class_mode"):
        gimage.ImageDataGenerator().flow_from_directory(".", class_mode="onehot")
    with pytest.raises(ValueError, match="validation_split"):
        gimage.ImageDataGenerator().flow_from_directory(".", subset="training")


def test_fit_accepts_flow_and_learns():
    rng = np.random.default_rng(6)
    x = rng.uniform(0, 1, (64, 6, 6, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype("float32")
    x[y == 1] += 0.5
    model = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy"])
    datagen = keras.preprocessing.image.ImageDataGenerator(horizontal_flip=True)
    history = model.fit(datagen.flow(x, y, batch_size=16, seed=0), epochs=20, verbose=0)
    assert history.history["loss"][-1] < 0.6 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.85
