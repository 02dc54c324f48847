"""fit/evaluate/predict on other libraries' input pipelines, without those libraries:
duck-typed stand-ins for a tf.data.Dataset, a torch DataLoader (of torch tensors) and a
Grain MapDataset, recognised as gazelle recognises the real ones (their methods and the
module their class comes from). The same batches must train the same weights as arrays.
Real-library versions of these checks are in test_adapters_interop.py."""
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import gazelle as keras


def data(n=150, d=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype("float32")
    y = (x[:, 0] - x[:, 1] > 0).astype("int32")
    return x, y


def model(d=6):
    keras.utils.set_random_seed(7)
    m = keras.Sequential([keras.Input((d,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(2, activation="softmax")])
    m.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return m


def batches(arrays, batch_size):
    """(x, y[, sw]) tuples (or dicts, or single arrays) of `batch_size` rows, last shorter."""
    n = len(keras.tree.flatten(arrays)[0])
    cut = [slice(i, i + batch_size) for i in range(0, n, batch_size)]
    return [keras.tree.map_structure(lambda a, s=s: a[s], arrays) for s in cut]


class FakeTFDataset:
    """What gazelle uses of a tf.data.Dataset: as_numpy_iterator() and cardinality()."""

    def __init__(self, items, repeat=False, cardinality=None):
        self.items, self.repeat = items, repeat
        self.card = (-1 if repeat else len(items)) if cardinality is None else cardinality
        self.iterators = 0

    def cardinality(self):
        return self.card

    def as_numpy_iterator(self):
        self.iterators += 1
        while True:
            yield from self.items
            if not self.repeat:
                return


FakeTFDataset.__module__ = "tensorflow.python.data.ops.dataset_ops"


class FakeTensor:
    """A CPU torch tensor: detach().cpu().numpy()."""

    def __init__(self, a):
        self.a = np.asarray(a)

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.a


FakeTensor.__module__ = "torch"


class FakeDataLoader:
    """A torch DataLoader: re-iterable, len() in batches, yields lists of tensors."""

    def __init__(self, items):
        self.items = [keras.tree.map_structure(FakeTensor, list(b) if isinstance(b, tuple)
                                               else b) for b in items]
        self.iterators = 0

    def __len__(self):
        return len(self.items)

    def __iter__(self):
        self.iterators += 1
        return iter(self.items)


FakeDataLoader.__module__ = "torch.utils.data.dataloader"


class FakeGrainMapDataset:
    """A Grain MapDataset of batches: len(), [i], and iteration."""

    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]

    def __iter__(self):
        return iter(self.items)


FakeGrainMapDataset.__module__ = "grain._src.python.dataset.dataset"


PIPELINES = {"tf.data": FakeTFDataset, "torch": FakeDataLoader, "grain": FakeGrainMapDataset}


def same_weights(a, b):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", sorted(PIPELINES))
def test_same_weights_as_arrays_every_epoch(kind):
    x, y = data()
    ref = model()
    ref.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0)
    ds = PIPELINES[kind](batches((x, y), 32))        # 150 rows: the last batch has 22
    m = model()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*ran out of data.*")
        history = m.fit(ds, epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3
    if hasattr(ds, "iterators"):
        assert ds.iterators == 3                      # one fresh pass per epoch
    same_weights(m, ref)
    np.testing.assert_allclose(m.evaluate(ds, verbose=0), ref.evaluate(x, y, verbose=0),
                               rtol=1e-5)
    np.testing.assert_allclose(m.predict(ds), ref.predict(x), rtol=1e-5, atol=1e-6)


def test_sample_weights_in_batches():
    x, y = data()
    sw = np.linspace(0.5, 2.0, len(x)).astype("float32")
    ref = model()
    ref.fit(x, y, sample_weight=sw, batch_size=50, epochs=2, shuffle=False, verbose=0)
    m = model()
    m.fit(FakeTFDataset(batches((x, y, sw), 50)), epochs=2, verbose=0)
    same_weights(m, ref)


def dict_model():
    keras.utils.set_random_seed(5)
    a, b = keras.Input((4,), name="a"), keras.Input((2,), name="b")
    h = keras.layers.Concatenate()([keras.layers.Dense(3)(a), b])
    m = keras.Model({"a": a, "b": b}, keras.layers.Dense(1)(h))
    m.compile(loss="mse", optimizer="sgd")
    return m


@pytest.mark.parametrize("kind", ["tf.data", "torch"])
def test_dict_inputs(kind):
    rng = np.random.default_rng(1)
    x = {"a": rng.standard_normal((40, 4)).astype("float32"),
         "b": rng.standard_normal((40, 2)).astype("float32")}
    y = rng.standard_normal((40, 1)).astype("float32")
    ref = dict_model()
    ref.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    m = dict_model()
    m.fit(PIPELINES[kind](batches((x, y), 16)), epochs=2, verbose=0)
    same_weights(m, ref)


def test_validation_data_as_a_dataset():
    x, y = data()
    xv, yv = data(60, seed=1)
    ref = model()
    h_ref = ref.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0,
                    validation_data=(xv, yv))
    m = model()
    h = m.fit(FakeDataLoader(batches((x, y), 32)), epochs=2, verbose=0,
              validation_data=FakeTFDataset(batches((xv, yv), 32)))
    for key in ("val_loss", "val_accuracy"):
        np.testing.assert_allclose(h.history[key], h_ref.history[key], rtol=1e-5)


def test_infinite_dataset_needs_steps_per_epoch():
    x, y = data()
    ds = FakeTFDataset(batches((x, y), 30), repeat=True)
    m = model()
    with pytest.raises(ValueError, match="infinite.*steps_per_epoch"):
        m.fit(ds, epochs=2, verbose=0)
    # 7 steps an epoch from one iterator kept across epochs: 3 epochs = 21 batches, the
    # same as arrays repeated and cut into 21 batches of 30.
    m.fit(ds, epochs=3, steps_per_epoch=7, verbose=0)
    assert ds.iterators == 1
    ref = model()
    xr, yr = np.concatenate([x] * 5)[:630], np.concatenate([y] * 5)[:630]
    ref.fit(xr, yr, batch_size=30, epochs=1, shuffle=False, verbose=0)
    same_weights(m, ref)


def test_steps_per_epoch_past_a_finite_dataset_warns_and_goes_on():
    x, y = data(90)
    ds = FakeTFDataset(batches((x, y), 30))            # 3 batches a pass
    m = model()
    with pytest.warns(UserWarning, match="ran out of data"):
        h = m.fit(ds, epochs=2, steps_per_epoch=4, verbose=0)
    assert len(h.history["loss"]) == 2                 # Keras: the next epoch starts anew
    assert ds.iterators == 2


def test_steps_per_epoch_restarts_a_finite_pass_when_used_up():
    x, y = data(120)
    ds = FakeTFDataset(batches((x, y), 30))            # 4 batches a pass
    m = model()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*ran out of data.*")
        m.fit(ds, epochs=4, steps_per_epoch=2, verbose=0)
    assert ds.iterators == 2                           # two epochs per pass
    ref = model()
    ref.fit(x, y, batch_size=30, epochs=2, shuffle=False, verbose=0)
    same_weights(m, ref)


def test_unknown_cardinality_is_one_pass_per_epoch():
    x, y = data(90)
    ds = FakeTFDataset(batches((x, y), 30), cardinality=-2)
    m = model()
    h = m.fit(ds, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2 and ds.iterators == 2


def test_empty_dataset_is_refused():
    with pytest.raises(ValueError, match="no batches"):
        model().fit(FakeTFDataset([]), epochs=1, verbose=0)


def test_inputs_only_dataset_refused_by_fit_and_accepted_by_predict():
    x, y = data(64)
    m = model()
    with pytest.raises(ValueError, match=r"\(x, y\)"):
        m.fit(FakeTFDataset(batches(x, 32)), verbose=0)
    np.testing.assert_allclose(m.predict(FakeTFDataset(batches(x, 32))), m.predict(x),
                               rtol=1e-6)


def test_y_with_a_dataset_is_refused():
    x, y = data(64)
    with pytest.raises(ValueError, match="`y` is not supported"):
        model().fit(FakeTFDataset(batches((x, y), 32)), y, verbose=0)


@pytest.mark.parametrize("bad", [object(), print, FakeTensor])
def test_unknown_input_lists_what_is_accepted(bad):
    m = model()
    for call in (lambda: m.fit(bad, verbose=0), lambda: m.evaluate(bad, verbose=0),
                 lambda: m.predict(bad)):
        with pytest.raises(TypeError, match="tf.data.Dataset.*DataLoader.*Grain"):
            call()


def test_validation_data_of_unknown_type():
    x, y = data(64)
    with pytest.raises((TypeError, ValueError), match="validation_data"):
        model().fit(x, y, validation_data=object(), verbose=0)


def test_no_library_is_imported():
    """Recognising the pipelines imports neither TensorFlow, torch nor Grain."""
    code = textwrap.dedent("""
        import sys
        import numpy as np
        import gazelle as keras
        sys.path.insert(0, %r)
        import test_adapters as t
        x, y = t.data(64)
        m = t.model()
        m.fit(x, y, verbose=0)
        m.fit(t.FakeTFDataset(t.batches((x, y), 32)), verbose=0)
        m.fit(t.FakeDataLoader(t.batches((x, y), 32)), verbose=0)
        print(sorted(k for k in ("tensorflow", "torch", "grain") if k in sys.modules))
    """ % str(__import__("pathlib").Path(__file__).parent))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
