"""PyDataset (Keras 3) and Sequence (tf.keras 2): batches by index, for fit/evaluate/predict.
[leaf: stdlib only]

    class Pairs(keras.utils.PyDataset):
        def __init__(self, x, y, batch_size, **kwargs):
            super().__init__(**kwargs)
            self.x, self.y, self.batch_size = x, y, batch_size
        def __len__(self):
            return -(-len(self.x) // self.batch_size)
        def __getitem__(self, i):
            s = slice(i * self.batch_size, (i + 1) * self.batch_size)
            return self.x[s], self.y[s]

    model.fit(Pairs(x, y, 32, workers=4), epochs=5)

`fit` shuffles the order of the batches each epoch when `shuffle=True` and calls
`on_epoch_begin()` / `on_epoch_end()` around every pass. With `workers > 1`, batches are
fetched by that many threads, up to `max_queue_size` ahead (`use_multiprocessing` is
accepted and runs threads too: nothing is pickled).
"""


class _Setting:
    """An attribute kept as `_<name>` on the instance, `default` until set."""

    def __init__(self, name, default):
        self.slot, self.default = "_" + name, default

    def __get__(self, obj, owner=None):
        return self if obj is None else getattr(obj, self.slot, self.default)

    def __set__(self, obj, value):
        setattr(obj, self.slot, value)


class PyDataset:
    """Base class for datasets that return batch `i` from `__getitem__(i)`."""

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        for name, value in (("workers", workers), ("max_queue_size", max_queue_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"PyDataset: `{name}` must be a positive int; received "
                                 f"{value!r}.")
        self.workers = workers
        self.use_multiprocessing = bool(use_multiprocessing)
        self.max_queue_size = max_queue_size

    # Settings read through defaults, so a subclass whose __init__ skips super().__init__()
    # still works (as in Keras).
    workers = _Setting("workers", 1)
    use_multiprocessing = _Setting("use_multiprocessing", False)
    max_queue_size = _Setting("max_queue_size", 10)

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index).")

    def __len__(self):
        return self.num_batches

    @property
    def num_batches(self):
        """Batches per epoch; subclasses define `__len__` (or override this)."""
        if type(self).__len__ is PyDataset.__len__:
            raise NotImplementedError(f"{type(self).__name__} must implement __len__() or "
                                      "the num_batches property.")
        return len(self)

    def on_epoch_begin(self):
        """Called at the start of every pass over the data."""

    def on_epoch_end(self):
        """Called at the end of every pass over the data."""


class Sequence(PyDataset):
    """tf.keras 2's name for PyDataset (`keras.utils.Sequence`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
