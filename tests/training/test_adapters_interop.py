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
