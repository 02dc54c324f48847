"""`timeseries_dataset_from_array`: sliding windows over an array, in batches.
[leaf: numpy, stdlib]

Keras 3 returns a `tf.data.Dataset`, and so does gazelle when TensorFlow is installed
(`GAZELLE_TF_DATA=0` turns that off). Without it gazelle returns a `BatchDataset`: a
`PyDataset` of NumPy batches, which `fit`, `evaluate` and `predict` accept, which can be
iterated directly, and which has `tf.data`'s `map`, `take`, `batch`, `unbatch`, `shuffle`,
`cache` and `prefetch`.
"""
import numpy as np

from gazelle.utils.text_dataset import BatchDataset, as_tf_dataset


class TimeseriesDataset(BatchDataset):
    """Batches of windows `data[p : p + sequence_length * sampling_rate : sampling_rate]`."""

    def __init__(self, data, targets, starts, sequence_length, sampling_rate, batch_size):
        super().__init__()
        self.data, self.targets, self.starts = data, targets, starts
        self.sequence_length, self.sampling_rate = sequence_length, sampling_rate
        self.batch_size = batch_size

    def __len__(self):
        if self.batch_size is None:
            return len(self.starts)
        return -(-len(self.starts) // self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range for {len(self)} batches")
        if self.batch_size is None:
            starts = self.starts[index:index + 1]
        else:
            starts = self.starts[index * self.batch_size:(index + 1) * self.batch_size]
        steps = np.arange(self.sequence_length) * self.sampling_rate
        x = np.asarray(self.data[(starts[:, None] + steps).reshape(-1)])
        x = x.reshape((len(starts), self.sequence_length) + x.shape[1:])
        if self.batch_size is None:
            x = x[0]
        if self.targets is None:
            return x
        y = np.asarray(self.targets[starts])
        return x, (y[0] if self.batch_size is None else y)


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1,
                                  sampling_rate=1, batch_size=128, shuffle=False, seed=None,
                                  start_index=None, end_index=None):
    """Windows of a time series (and their targets), batched.

    Window `i` starts at `start_index + i * sequence_stride` and takes
    `sequence_length` steps spaced by `sampling_rate`; its target is `targets[j]` where
    `j` is the index of the window's first step relative to `start_index`.

    Args:
        data: array of time steps (axis 0 is time).
        targets: targets aligned with `data` (or None: the dataset yields only windows).
        sequence_length: steps per window.
        sequence_stride: offset between consecutive windows (default 1).
        sampling_rate: spacing of the steps inside a window (default 1).
        batch_size: windows per batch (default 128; None: one window per item).
        shuffle: shuffle the windows (with `np.random.RandomState(seed)`).
        seed: the shuffle's seed.
        start_index, end_index: only use `data[start_index:end_index]`.

    Returns:
        A `tf.data.Dataset` when TensorFlow is installed (as Keras 3), else a
        `BatchDataset` (a `keras.utils.PyDataset`) yielding `(x, y)` NumPy batches (or `x`
        without targets).

    ```python
    ds = keras.utils.timeseries_dataset_from_array(x[:-10], x[10:], sequence_length=10)
    model.fit(ds, epochs=5)
    ```
    """
    n = len(data)
    if start_index:
        if start_index < 0:
            raise ValueError(f"`start_index` must be 0 or greater. Received: "
                             f"start_index={start_index}")
        if start_index >= n:
            raise ValueError(f"`start_index` must be lower than the length of the data ({n}). "
                             f"Received: start_index={start_index}")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(f"`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, end_index={end_index}")
        if end_index >= n:
            raise ValueError(f"`end_index` must be lower than the length of the data ({n}). "
                             f"Received: end_index={end_index}")
        if end_index <= 0:
            raise ValueError(f"`end_index` must be higher than 0. Received: "
                             f"end_index={end_index}")
    for name, value in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if value <= 0:
            raise ValueError(f"`{name}` must be higher than 0. Received: {name}={value}")
        if value >= n:
            raise ValueError(f"`{name}` must be lower than the length of the data ({n}). "
                             f"Received: {name}={value}")
    start = start_index or 0
    end = n if end_index is None else end_index
    num = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num = min(num, len(targets))
    starts = np.arange(0, max(num, 0), sequence_stride)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(starts)
    data = np.asarray(data)[start:end]
    targets = None if targets is None else np.asarray(targets)[start:]
    return as_tf_dataset(TimeseriesDataset(data, targets, starts, sequence_length,
                                           sampling_rate, batch_size), ends_batched=True)
