"""fit/evaluate/predict on real tf.data, torch DataLoader and Grain pipelines (each test
skipped when its library is absent: they are the `interop` extra, not test
dependencies). The same batches must train the same weights as arrays."""
import warnings

import numpy as np
import pytest

import gazelle as keras

from test_adapters import data, dict_model, model, same_weights


def reference(x, y, epochs=2, batch_size=32, **kwargs):
    m = model()
    m.fit(x, y, batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0, **kwargs)
    return m


def tf_data():
    return pytest.importorskip("tensorflow").data


def check_pipeline(ds, x, y):
    ref = reference(x, y)
    m = model()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*ran out of data.*")
        m.fit(ds, epochs=2, verbose=0)
    same_weights(m, ref)
    np.testing.assert_allclose(m.evaluate(ds, verbose=0), ref.evaluate(x, y, verbose=0),
                               rtol=1e-5)
    np.testing.assert_allclose(m.predict(ds), ref.predict(x), rtol=1e-5, atol=1e-6)


def test_tf_data_batched_and_prefetched():
    tfd = tf_data()
    x, y = data()                     # 150 rows: the last batch of 32 has 22
    check_pipeline(tfd.Dataset.from_tensor_slices((x, y)).batch(32).prefetch(2), x, y)


def test_torch_data_loader():
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, TensorDataset
    x, y = data()
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                        batch_size=32, shuffle=False)
    check_pipeline(loader, x, y)


def test_grain_map_dataset_and_loader():
    grain = pytest.importorskip("grain")
    x, y = data()
    ds = grain.MapDataset.source([(x[i], y[i]) for i in range(len(x))]).batch(32)
    check_pipeline(ds, x, y)
    check_pipeline(ds.to_iter_dataset(), x, y)


def test_grain_data_loader():
    """Grain's DataLoader: a data source, an IndexSampler (one epoch per pass, in order) and
    a Batch operation, in the calling process. It has no length: one pass per epoch."""
    grain = pytest.importorskip("grain")
    x, y = data()                     # the last batch of 32 has 22 rows
    records = [(x[i], y[i]) for i in range(len(x))]
    sampler = grain.samplers.IndexSampler(num_records=len(records), shuffle=False,
                                          num_epochs=1,
                                          shard_options=grain.sharding.NoSharding())
    loader = grain.DataLoader(data_source=records, sampler=sampler,
                              operations=[grain.transforms.Batch(batch_size=32)],
                              worker_count=0)
    check_pipeline(loader, x, y)


def test_grain_data_loader_without_end_takes_steps_per_epoch():
    """A sampler of no fixed number of epochs repeats without end: steps_per_epoch cuts
    it, and the next epoch carries on with the same iterator."""
    grain = pytest.importorskip("grain")
    x, y = data(128)
    sampler = grain.samplers.IndexSampler(num_records=len(x), shuffle=False,
                                          num_epochs=None,
                                          shard_options=grain.sharding.NoSharding())
    loader = grain.DataLoader(data_source=[(x[i], y[i]) for i in range(len(x))],
                              sampler=sampler,
                              operations=[grain.transforms.Batch(batch_size=32)],
                              worker_count=0)
    m = model()
    m.fit(loader, epochs=2, steps_per_epoch=4, verbose=0)
    same_weights(m, reference(x, y))


def test_tf_data_infinite_needs_steps_per_epoch_and_validation():
    tfd = tf_data()
    x, y = data(128)
    xv, yv = data(40, seed=1)
    ds = tfd.Dataset.from_tensor_slices((x, y)).batch(32).repeat()
    m = model()
    with pytest.raises(ValueError, match="infinite"):
        m.fit(ds, epochs=1, verbose=0)
    h = m.fit(ds, epochs=2, steps_per_epoch=4, verbose=0,
              validation_data=tfd.Dataset.from_tensor_slices((xv, yv)).batch(16))
    ref = reference(x, y, validation_data=(xv, yv))
    same_weights(m, ref)
    np.testing.assert_allclose(h.history["val_loss"], ref.history.history["val_loss"],
                               rtol=1e-5)


def test_tf_data_dict_inputs_and_sample_weights():
    tfd = tf_data()
    rng = np.random.default_rng(1)
    x = {"a": rng.standard_normal((40, 4)).astype("float32"),
         "b": rng.standard_normal((40, 2)).astype("float32")}
    y = rng.standard_normal((40, 1)).astype("float32")
    sw = np.linspace(0.5, 2.0, 40).astype("float32")
    ref = dict_model()
    ref.fit(x, y, sample_weight=sw, batch_size=16, epochs=2, shuffle=False, verbose=0)
    m = dict_model()
    m.fit(tfd.Dataset.from_tensor_slices((x, y, sw)).batch(16), epochs=2, verbose=0)
    same_weights(m, ref)


def test_tf_data_map_with_numpy_transform():
    """A typical tf.data pipeline: map, shuffle with a seed, batch, prefetch."""
    tf = pytest.importorskip("tensorflow")
    x, y = data(96)
    ds = (tf.data.Dataset.from_tensor_slices((x, y)).map(lambda a, b: (a * 2.0, b))
          .batch(32).prefetch(tf.data.AUTOTUNE))
    ref = reference(x * 2.0, y)
    m = model()
    m.fit(ds, epochs=2, verbose=0)
    same_weights(m, ref)
    assert keras.backend.backend() == "jax"


# -- gazelle layers inside tf.data.Dataset.map ------------------------------------------
def images(n=10, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, 8, 8, 3)).astype("float32")


@pytest.mark.parametrize("make", [
    lambda: keras.layers.Rescaling(1 / 255.0, offset=-0.5),
    lambda: keras.layers.Resizing(4, 6),
    lambda: keras.layers.Resizing(5, 5, crop_to_aspect_ratio=True),
    lambda: keras.layers.RandomFlip("horizontal_and_vertical", seed=3),
], ids=["rescaling", "resizing", "resizing_crop", "random_flip"])
def test_image_layers_in_dataset_map(make):
    tf = pytest.importorskip("tensorflow")
    x, y = images(), np.arange(10)
    keras.utils.set_random_seed(1)
    layer = make()
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(4).map(lambda a, b: (layer(a), b))
    spec = ds.element_spec[0]
    got = [a for a, _ in ds.as_numpy_iterator()]
    keras.utils.set_random_seed(1)
    fresh = make()                     # the same seed: the same random draws, batch by batch
    want = [np.asarray(fresh(x[i:i + 4])) for i in range(0, 10, 4)]
    assert spec.shape.as_list() == [None] + list(want[0].shape[1:])
    assert spec.dtype.as_numpy_dtype == want[0].dtype
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("length", [None, 6])
def test_text_vectorization_in_dataset_map(length):
    tf = pytest.importorskip("tensorflow")
    texts = np.array(["the cat sat on the mat", "a dog", "the dog ran far away", "cat"])
    layer = keras.layers.TextVectorization(max_tokens=12, output_sequence_length=length)
    layer.adapt(texts)
    ds = tf.data.Dataset.from_tensor_slices(texts).batch(2).map(layer)
    assert ds.element_spec.shape.as_list() == [None, length]
    got = list(ds.as_numpy_iterator())
    for i, batch in enumerate(got):
        np.testing.assert_array_equal(batch, np.asarray(layer(texts[2 * i:2 * i + 2])))


def test_layer_with_trainable_weights_in_dataset_map_is_refused():
    tf = pytest.importorskip("tensorflow")
    dense = keras.layers.Dense(3)
    ds = tf.data.Dataset.from_tensor_slices(np.zeros((4, 5), "float32")).batch(2)
    with pytest.raises(ValueError, match="dense.*trainable weights.*inside the model"):
        ds.map(dense)


def test_fit_on_a_dataset_preprocessed_by_a_layer():
    tf = pytest.importorskip("tensorflow")
    x, y = data(96)
    scale = keras.layers.Rescaling(0.5)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(32).map(lambda a, b: (scale(a), b))
    m = model()
    m.fit(ds, epochs=2, verbose=0)
    same_weights(m, reference(x * 0.5, y))
