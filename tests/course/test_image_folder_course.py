"""The course's image-folder chapter, as a new user writes it: PNG files in class folders
(written here from the bundled Fashion-MNIST), a small CNN trained from the folder with
augmentation, once with Keras 3's `image_dataset_from_directory` + augmentation layers and
once with tf.keras 2's `ImageDataGenerator.flow_from_directory`; both must classify
held-out images well."""
import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _gazelle_datasets(monkeypatch):
    # These tests index gazelle's own dataset type; with TensorFlow installed the dataset
    # utilities would return tf.data instead (tests/training/test_adapters_datasets.py).
    monkeypatch.setenv("GAZELLE_TF_DATA", "0")


pytest.importorskip("PIL.Image")

CLASSES = {0: "tshirt", 1: "trouser", 7: "sneaker", 8: "bag"}
PER_CLASS_TRAIN, PER_CLASS_TEST = 250, 60


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    import gazelle as keras
    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    root = tmp_path_factory.mktemp("fashion")
    for split, x, y, count in (("train", x_train, y_train, PER_CLASS_TRAIN),
                               ("test", x_test, y_test, PER_CLASS_TEST)):
        for label, name in CLASSES.items():
            folder = root / split / name
            folder.mkdir(parents=True)
            for i, image in enumerate(x[y == label][:count]):
                keras.utils.save_img(folder / f"{i:04d}.png", image[:, :, None], scale=False)
    return root / "train", root / "test"


def _cnn(keras, head):
    return keras.Sequential(head + [
        keras.layers.Conv2D(16, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(len(CLASSES), activation="softmax"),
    ])


@pytest.mark.slow
def test_image_dataset_from_directory_with_augmentation_layers(folders):
    import gazelle as keras
    train_dir, test_dir = folders
    keras.utils.set_random_seed(1)
    train_ds, val_ds = keras.utils.image_dataset_from_directory(
        train_dir, validation_split=0.2, subset="both", seed=1337, image_size=(28, 28),
        color_mode="grayscale", batch_size=32)
    assert train_ds.class_names == sorted(CLASSES.values())
    model = _cnn(keras, [
        keras.Input(shape=(28, 28, 1)),
        keras.layers.RandomFlip("horizontal"),
        keras.layers.RandomRotation(0.05),
        keras.layers.Rescaling(1.0 / 255),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(train_ds, validation_data=val_ds, epochs=6, verbose=0)
    assert history.history["val_accuracy"][-1] > 0.85
    test_ds = keras.utils.image_dataset_from_directory(
        test_dir, image_size=(28, 28), color_mode="grayscale", shuffle=False)
    loss, accuracy = model.evaluate(test_ds, verbose=0)
    assert accuracy > 0.85
    probabilities = model.predict(test_ds, verbose=0)
    labels = np.concatenate([y for _, y in test_ds])
    assert np.mean(probabilities.argmax(axis=1) == labels) == pytest.approx(accuracy, abs=1e-6)


@pytest.mark.slow
def test_image_data_generator_flow_from_directory(folders):
    import gazelle as keras
    from gazelle.preprocessing.image import ImageDataGenerator
    train_dir, test_dir = folders
    keras.utils.set_random_seed(2)
    datagen = ImageDataGenerator(rescale=1.0 / 255, rotation_range=10, width_shift_range=0.1,
                                 height_shift_range=0.1, horizontal_flip=True,
                                 validation_split=0.2)
    common = dict(target_size=(28, 28), color_mode="grayscale", class_mode="categorical",
                  batch_size=32, seed=7)
    train_gen = datagen.flow_from_directory(train_dir, subset="training", **common)
    val_gen = datagen.flow_from_directory(train_dir, subset="validation", **common)
    assert train_gen.class_indices == {n: i for i, n in enumerate(sorted(CLASSES.values()))}
    model = _cnn(keras, [keras.Input(shape=(28, 28, 1))])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train_gen, validation_data=val_gen, epochs=6, verbose=0)
    assert history.history["val_accuracy"][-1] > 0.8
    test_gen = ImageDataGenerator(rescale=1.0 / 255).flow_from_directory(
        test_dir, shuffle=False, **common)
    loss, accuracy = model.evaluate(test_gen, verbose=0)
    assert accuracy > 0.85
