"""fit/evaluate/predict on data that streams through host blocks: generators, PyDataset,
memmaps, and arrays over the memory budget. Same batches in the same order must give the
same training as resident arrays."""
import warnings

import numpy as np
import pytest

import gazelle as keras
from gazelle import config


def data(n=300, d=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int32")
    return x, y


def model(d=12):
    keras.utils.set_random_seed(3)
    m = keras.Sequential([keras.Input((d,)), keras.layers.Dense(16, activation="relu"),
                          keras.layers.Dense(2, activation="softmax")])
    m.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return m


class Batches(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size
        self.calls = {"begin": 0, "end": 0}

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[s], self.y[s]

    def on_epoch_begin(self):
        self.calls["begin"] += 1

    def on_epoch_end(self):
        self.calls["end"] += 1


def assert_same_weights(a, b, rtol=1e-5):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=rtol, atol=1e-6)


@pytest.fixture
def memmaps(tmp_path):
    x, y = data()
    xm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype="float32",
                                   shape=x.shape)
    xm[:] = x
    xm.flush()
    return np.load(tmp_path / "x.npy", mmap_mode="r"), y


def test_memmap_fit_matches_resident_arrays_with_the_same_shuffle(memmaps):
    xm, y = memmaps
    x = np.asarray(xm).copy()
    resident = model()
    keras.utils.set_random_seed(9)
    h1 = resident.fit(x, y, batch_size=32, epochs=3, verbose=0, validation_split=0.2)
    streamed = model()
    keras.utils.set_random_seed(9)
    h2 = streamed.fit(xm, y, batch_size=32, epochs=3, verbose=0, validation_split=0.2)
    assert isinstance(xm, np.memmap)
    # 240 training samples at batch 32: resident runs all 7 steps as one chunk; the memmap
    # streams blocks of 4 steps (a power of two), the last one padded and masked.
    assert ("train", 7, 32, False, None) in resident._trainer.steps._cache
    assert ("train", 4, 32, True, None) in streamed._trainer.steps._cache
    assert_same_weights(resident, streamed)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(h1.history["val_accuracy"], h2.history["val_accuracy"])
    np.testing.assert_allclose(streamed.predict(xm, verbose=0), resident.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(streamed.evaluate(xm, y, verbose=0),
                               resident.evaluate(x, y, verbose=0), rtol=1e-5)


def test_arrays_over_the_memory_budget_stream_in_blocks(monkeypatch):
    from gazelle.training import sources
    x, y = data(500)
    resident = model()
    keras.utils.set_random_seed(4)
    resident.fit(x, y, batch_size=16, epochs=2, verbose=0)
    config.set_data_memory_budget(0)
    monkeypatch.setattr(sources, "BLOCK_BYTES", 16 * 12 * 4 * 4)     # 4 steps per block
    try:
        streamed = model()
        keras.utils.set_random_seed(4)
        streamed.fit(x, y, batch_size=16, epochs=2, verbose=0)
    finally:
        config.set_data_memory_budget(None)
    assert_same_weights(resident, streamed)
    keys = {k[:4] for k in streamed._trainer.steps._cache if k[0] == "train"}
    assert ("train", 4, 16, True) in keys                 # blocks of 4 steps, masked
    with pytest.raises(ValueError, match="set_data_memory_budget"):
        config.set_data_memory_budget(-1)


def test_pydataset_fit_matches_arrays_without_shuffle():
    x, y = data()
    ref = model()
    ref.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=False)
    ds = Batches(x, y, 32)
    m = model()
    h = m.fit(ds, epochs=2, verbose=0, shuffle=False, validation_data=Batches(x, y, 50))
    assert_same_weights(ref, m)
    assert ds.calls == {"begin": 2, "end": 2}
    assert h.params["steps"] == 10 and len(h.history["val_loss"]) == 2
    np.testing.assert_allclose(m.evaluate(Batches(x, y, 64), verbose=0),
                               m.evaluate(x, y, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(m.predict(Batches(x, y, 64), verbose=0),
                               m.predict(x, verbose=0), rtol=1e-6)


def test_pydataset_workers_give_the_same_batches():
    x, y = data()
    a, b = model(), model()
    a.fit(Batches(x, y, 16), epochs=2, verbose=0, shuffle=True)
    b.fit(Batches(x, y, 16, workers=3, max_queue_size=4), epochs=2, verbose=0, shuffle=True)
    assert_same_weights(a, b, rtol=0)
    with pytest.raises(ValueError, match="workers"):
        Batches(x, y, 16, workers=0)


def test_generator_with_steps_per_epoch_continues_across_epochs():
    x, y = data(320)

    def forever():
        while True:
            for i in range(0, 320, 32):
                yield x[i:i + 32], y[i:i + 32]
    ref = model()
    ref.fit(x, y, batch_size=32, epochs=3, verbose=0, shuffle=False)
    m = model()
    h = m.fit(forever(), steps_per_epoch=10, epochs=3, verbose=0)
    assert len(h.history["loss"]) == 3
    assert_same_weights(ref, m)


def test_finite_generator_runs_out_with_a_warning():
    x, y = data(96)
    gen = ((x[i:i + 32], y[i:i + 32]) for i in range(0, 96, 32))
    m = model()
    with pytest.warns(UserWarning, match="ran out of data in epoch 1"):
        h = m.fit(gen, epochs=3, verbose=0)
    assert len(h.history["loss"]) == 1


def test_generator_batches_of_several_sizes():
    x, y = data(100)
    sizes = [32, 32, 20, 16]
    starts = np.cumsum([0] + sizes)

    def gen():
        for a, b in zip(starts[:-1], starts[1:]):
            yield x[a:b], y[a:b], np.ones(b - a, "float32")
    m = model()
    m.fit(gen(), epochs=1, verbose=0)
    assert int(m.optimizer.iterations.value) == 4
    preds = m.predict((x[a:b] for a, b in zip(starts[:-1], starts[1:])), verbose=0)
    np.testing.assert_allclose(preds, m.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_stream_errors_name_the_argument():
    x, y = data(64)
    m = model()
    with pytest.raises(ValueError, match="`y` is not supported"):
        m.fit(Batches(x, y, 32), y, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        m.fit(Batches(x, y, 32), validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="inputs only"):
        m.fit((x[i:i + 8] for i in range(0, 64, 8)), verbose=0)
    with pytest.raises(ValueError, match="yielded no batches"):
        m.fit(iter([]), verbose=0)
    with pytest.raises(TypeError, match="A batch yielded by the fit"):
        m.fit(iter([(["a", "b"], [0, 1])]), verbose=0)


def test_nan_in_a_streamed_memmap_block_is_refused(tmp_path):
    x, y = data(64)
    x[40, 3] = np.nan
    np.save(tmp_path / "x.npy", x)
    xm = np.load(tmp_path / "x.npy", mmap_mode="r")
    with pytest.raises(ValueError, match="NaN or infinite"):
        model().fit(xm, y, verbose=0, epochs=1)


def test_predict_on_many_sizes_keeps_the_programs_few():
    x, _ = data(2000)
    m = model()
    for n in list(range(1, 70)) + [100, 257, 999, 1000, 1537, 2000]:
        out = m.predict(x[:n], verbose=0)
        assert out.shape == (n, 2)
    np.testing.assert_allclose(m.predict(x[:999], verbose=0), m.predict(x, verbose=0)[:999],
                               rtol=1e-6)
    programs = [k for k in m._predict_steps._cache if k[0] == "predict"]
    # One program per short-batch size (1..31, as Keras) plus powers of two of full batches.
    assert len(programs) <= 31 + 8, sorted(programs)
