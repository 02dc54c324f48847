"""image_dataset_from_directory against Keras 3.

Keras's own function needs TensorFlow (or grain) to build its dataset, and neither is
installed, so it is compared piece by piece with the Keras code that runs without them:
the file listing, shuffle and split (`dataset_utils.index_directory` and
`get_training_or_validation_split`) and the per-image decode + resize of its PIL loader
(`image_dataset_utils._load_image_grain`, Pillow + `keras.ops.image.resize`). What cannot be
compared: TensorFlow's decoder (`tf.image.decode_image`) and `tf.image.resize` (Keras's
default "tf" format), and the order of `tf.data`'s buffer shuffle.
"""
import os

import numpy as np
import pytest

PIL = pytest.importorskip("PIL.Image")
k3_dataset_utils = pytest.importorskip("keras.src.utils.dataset_utils")
k3_image_dataset = pytest.importorskip("keras.src.utils.image_dataset_utils")

import gazelle as keras  # noqa: E402


@pytest.fixture(autouse=True)
def _gazelle_datasets(monkeypatch):
    # These tests index gazelle's own dataset type; with TensorFlow installed the dataset
    # utilities would return tf.data instead (tests/training/test_adapters_datasets.py).
    monkeypatch.setenv("GAZELLE_TF_DATA", "0")


FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Three classes of small images in several formats, sizes and modes, nested folders,
    and files that are not images."""
    root = tmp_path_factory.mktemp("pets")
    rng = np.random.default_rng(0)
    for k, name in enumerate(["cat", "dog", "fox"]):
        (root / name / "more").mkdir(parents=True)
        for i in range(6 + 2 * k):
            h, w = int(rng.integers(8, 30)), int(rng.integers(8, 30))
            mode = ["RGB", "L", "RGBA"][i % 3]
            shape = (h, w) if mode == "L" else (h, w, len(mode))
            img = PIL.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)
            ext = ["png", "bmp", "png", "gif", "PNG"][i % 5]
            if ext in ("bmp", "gif") and mode == "RGBA":
                img = img.convert("RGB")
            where = root / name / ("more" if i % 4 == 0 else "")
            img.save(where / f"{name}_{i:02d}.{ext}")
        (root / name / "readme.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    (root / "loose.png").write_bytes((root / "cat" / "cat_01.bmp").read_bytes())
    return str(root)


def _keras_listing(folder, seed, shuffle=True, labels="inferred", class_names=None,
                   validation_split=None, subset=None):
    paths, y, names = k3_dataset_utils.index_directory(
        folder, labels, formats=FORMATS, class_names=class_names, shuffle=shuffle, seed=seed,
        verbose=False)
    if subset:
        paths, y = k3_dataset_utils.get_training_or_validation_split(paths, y,
                                                                      validation_split, subset)
    return paths, y, names


@pytest.mark.parametrize("seed", [1, 1337])
@pytest.mark.parametrize("subset", ["training", "validation"])
def test_listing_shuffle_and_split_match_keras(folder, seed, subset):
    ds = keras.utils.image_dataset_from_directory(folder, seed=seed, validation_split=0.3,
                                                  subset=subset, image_size=(8, 8),
                                                  verbose=False)
    paths, y, names = _keras_listing(folder, seed, validation_split=0.3, subset=subset)
    assert ds.file_paths == paths and ds.class_names == names
    got = np.concatenate([batch_y for _, batch_y in ds])
    np.testing.assert_array_equal(got, y)
    assert got.dtype == np.int32


def test_subset_both_and_class_names_order(folder):
    train, val = keras.utils.image_dataset_from_directory(
        folder, class_names=["fox", "cat"], seed=5, validation_split=0.25, subset="both",
        image_size=(8, 8), verbose=False)
    for ds, subset in ((train, "training"), (val, "validation")):
        paths, y, names = _keras_listing(folder, 5, class_names=["fox", "cat"],
                                         validation_split=0.25, subset=subset)
        assert ds.file_paths == paths and ds.class_names == names == ["fox", "cat"]
        np.testing.assert_array_equal(np.concatenate([b for _, b in ds]), y)
    assert not set(train.file_paths) & set(val.file_paths)


def test_unshuffled_labels_list_and_no_labels_match_keras(folder):
    paths, _, _ = _keras_listing(folder, None, shuffle=False, labels=None)
    labels = [i % 2 for i in range(len(paths))]
    ds = keras.utils.image_dataset_from_directory(folder, labels=labels, shuffle=False,
                                                  image_size=(8, 8), verbose=False)
    k_paths, k_y, k_names = _keras_listing(folder, None, shuffle=False, labels=labels)
    assert ds.file_paths == k_paths == paths and ds.class_names == k_names == ["0", "1"]
    np.testing.assert_array_equal(np.concatenate([b for _, b in ds]), k_y)
    bare = keras.utils.image_dataset_from_directory(folder, labels=None, shuffle=False,
                                                    image_size=(8, 8), batch_size=4,
                                                    verbose=False)
    assert bare.file_paths == paths and bare.class_names is None
    assert bare[0].shape == (4, 8, 8, 3)


@pytest.mark.parametrize("interpolation, aspect", [
    ("bilinear", "none"), ("bilinear", "crop"), ("bilinear", "pad"), ("nearest", "none"),
    ("bicubic", "crop"), ("lanczos3", "pad")])
def test_images_match_keras_pil_loader(folder, interpolation, aspect):
    kw = dict(crop_to_aspect_ratio=aspect == "crop", pad_to_aspect_ratio=aspect == "pad")
    ds = keras.utils.image_dataset_from_directory(folder, image_size=(12, 16), batch_size=5,
                                                  shuffle=False, interpolation=interpolation,
                                                  verbose=False, **kw)
    images = np.concatenate([x for x, _ in ds])
    assert images.dtype == np.float32 and images.shape[1:] == (12, 16, 3)
    for path, got in list(zip(ds.file_paths, images))[::9]:   # Keras's resize compiles per size
        want = k3_image_dataset._load_image_grain(path, (12, 16), 3, interpolation,
                                                  "channels_last", **kw)
        np.testing.assert_allclose(got, np.asarray(want), rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("color_mode, channels", [("grayscale", 1), ("rgba", 4)])
def test_color_modes_and_channels_first_match_keras(folder, color_mode, channels):
    ds = keras.utils.image_dataset_from_directory(folder, image_size=(9, 7), color_mode=color_mode,
                                                  data_format="channels_first", shuffle=False,
                                                  batch_size=None, verbose=False)
    for i in range(0, len(ds), 9):
        x, y = ds[i]
        assert x.shape == (channels, 9, 7) and np.ndim(y) == 0
        want = k3_image_dataset._load_image_grain(ds.file_paths[i], (9, 7), channels,
                                                  "bilinear", "channels_first")
        np.testing.assert_allclose(x, np.asarray(want), rtol=1e-5, atol=1e-3)


def test_label_modes(folder):
    kw = dict(image_size=(8, 8), shuffle=False, verbose=False)
    ints = np.concatenate([y for _, y in keras.utils.image_dataset_from_directory(folder, **kw)])
    cat = np.concatenate([y for _, y in keras.utils.image_dataset_from_directory(
        folder, label_mode="categorical", **kw)])
    assert cat.dtype == np.float32 and cat.shape == (len(ints), 3)
    np.testing.assert_array_equal(cat, np.eye(3)[ints])
    binary = keras.utils.image_dataset_from_directory(folder, label_mode="binary",
                                                      class_names=["cat", "fox"], **kw)
    y = np.concatenate([b for _, b in binary])
    assert y.dtype == np.float32 and y.shape == (len(binary.file_paths), 1)
    assert set(np.unique(y)) == {0.0, 1.0}
    images_only = keras.utils.image_dataset_from_directory(folder, label_mode=None, **kw)
    assert isinstance(images_only[0], np.ndarray)


def test_reshuffles_each_epoch_with_a_seed(folder):
    make = lambda: keras.utils.image_dataset_from_directory(  # noqa: E731
        folder, image_size=(8, 8), seed=3, batch_size=4, verbose=False)
    a, b = make(), make()
    first = np.concatenate([y for _, y in a])
    a.on_epoch_end(), b.on_epoch_end()
    second_a = np.concatenate([y for _, y in a])
    second_b = np.concatenate([y for _, y in b])
    np.testing.assert_array_equal(second_a, second_b)
    assert sorted(first) == sorted(second_a) and not np.array_equal(first, second_a)


def test_follow_links(folder, tmp_path):
    root = tmp_path / "linked"
    root.mkdir()
    os.symlink(os.path.join(folder, "cat"), root / "cat")
    (root / "dog").mkdir()
    os.symlink(os.path.join(folder, "dog", "more"), root / "dog" / "more")
    for follow in (False, True):
        ds = keras.utils.image_dataset_from_directory(str(root), image_size=(8, 8), seed=2,
                                                      follow_links=follow, verbose=False)
        paths, _, _ = k3_dataset_utils.index_directory(str(root), "inferred", FORMATS,
                                                       seed=2, follow_links=follow,
                                                       verbose=False)
        assert ds.file_paths == paths


def test_verbose_messages(folder, capsys):
    keras.utils.image_dataset_from_directory(folder, image_size=(8, 8), seed=1,
                                             validation_split=0.2, subset="both")
    out = capsys.readouterr().out.splitlines()
    n = len(_keras_listing(folder, 1)[0])
    n_val = int(0.2 * n)
    assert out == [f"Found {n} files belonging to 3 classes.",
                   f"Using {n - n_val} files for training.",
                   f"Using {n_val} files for validation."]


def test_errors(folder, tmp_path):
    f = keras.utils.image_dataset_from_directory
    with pytest.raises(ValueError, match="label_mode"):
        f(folder, label_mode="onehot")
    with pytest.raises(ValueError, match="color_mode"):
        f(folder, color_mode="cmyk")
    with pytest.raises(ValueError, match="image_size"):
        f(folder, image_size=(8, 0))
    with pytest.raises(ValueError, match="interpolation"):
        f(folder, interpolation="cubic")
    with pytest.raises(NotImplementedError, match="area"):
        f(folder, interpolation="area")
    with pytest.raises(ValueError, match="seed"):
        f(folder, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="together"):
        f(folder, validation_split=0.2, seed=1)
    with pytest.raises(ValueError, match="binary"):
        f(folder, label_mode="binary", verbose=False)
    with pytest.raises(ValueError, match="class_names"):
        f(folder, class_names=["cat", "wolf"])
    with pytest.raises(ValueError, match="only one"):
        f(folder, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match="labels"):
        f(folder, labels=[0, 1], verbose=False)
    with pytest.raises(ValueError, match="no .*images"):
        f(str(tmp_path), verbose=False)
    with pytest.raises(ValueError, match="not a folder"):
        f(str(tmp_path / "missing"))


def test_fit_streams_the_dataset(folder):
    train = keras.utils.image_dataset_from_directory(folder, image_size=(10, 10), seed=4,
                                                     batch_size=8, verbose=False)
    model = keras.Sequential([keras.Input((10, 10, 3)), keras.layers.Rescaling(1 / 255),
                              keras.layers.Conv2D(4, 3, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(train, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()
    assert model.predict(train, verbose=0).shape == (len(train.file_paths), 3)
