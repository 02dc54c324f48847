"""tf.keras 2's `keras.preprocessing.sequence`: `pad_sequences`, `TimeseriesGenerator`.
[leaf: numpy, stdlib]"""
import numpy as np

from gazelle.utils.dataset import Sequence
from gazelle.utils.sequence_utils import pad_sequences as pad_sequences

__all__ = ["TimeseriesGenerator", "pad_sequences"]


class TimeseriesGenerator(Sequence):
    """Batches of past windows and the current target of a time series (tf.keras 2).

    Sample `j` of the series is the window `data[i - length : i : sampling_rate]` and
    the target `targets[i]`, for `i` from `start_index + length` to `end_index` in steps
    of `stride`.

    Args:
        data: array of time steps (axis 0 is time).
        targets: array of targets, as long as `data`.
        length: the window length, in time steps (before sampling).
        sampling_rate: spacing of the steps inside a window (default 1).
        stride: spacing of consecutive windows (default 1).
        start_index, end_index: use only the steps in `[start_index, end_index]`
            (end_index defaults to the last step).
        shuffle: draw the windows at random (NumPy's global generator) instead of in order.
        reverse: give every window's steps in reverse order.
        batch_size: windows per batch (default 128).

    ```python
    gen = keras.preprocessing.sequence.TimeseriesGenerator(series, series, length=10,
                                                           batch_size=32)
    model.fit(gen, epochs=5)
    ```
    """

    def __init__(self, data, targets, length, sampling_rate=1, stride=1, start_index=0,
                 end_index=None, shuffle=False, reverse=False, batch_size=128):
        super().__init__()
        if len(data) != len(targets):
            raise ValueError("TimeseriesGenerator: `data` and `targets` must have the same "
                             f"length. Received: {len(data)} and {len(targets)}")
        for name, value in (("sampling_rate", sampling_rate), ("stride", stride),
                            ("batch_size", batch_size), ("length", length)):
            if value <= 0:
                raise ValueError(f"TimeseriesGenerator: `{name}` must be positive. "
                                 f"Received: {name}={value}")
        self.data, self.targets = data, targets
        self.length, self.sampling_rate, self.stride = length, sampling_rate, stride
        self.start_index = start_index + length
        self.end_index = len(data) - 1 if end_index is None else end_index
        self.shuffle, self.reverse, self.batch_size = shuffle, reverse, batch_size
        if self.start_index > self.end_index:
            raise ValueError(
                f"TimeseriesGenerator: start_index + length = {self.start_index} is past "
                f"end_index = {self.end_index}: no window would have a current step. Use "
                "more data or a shorter `length`.")

    def __len__(self):
        span = self.batch_size * self.stride
        return (self.end_index - self.start_index + span) // span

    def __getitem__(self, index):
        if self.shuffle:
            rows = np.random.randint(self.start_index, self.end_index + 1, size=self.batch_size)
        else:
            first = self.start_index + self.batch_size * self.stride * index
            rows = np.arange(first, min(first + self.batch_size * self.stride,
                                        self.end_index + 1), self.stride)
        samples = np.array([self.data[row - self.length:row:self.sampling_rate]
                            for row in rows])
        targets = np.array([self.targets[row] for row in rows])
        if self.reverse:
            samples = samples[:, ::-1, ...]
        return samples, targets

    def get_config(self):
        """The generator's settings, with `data` and `targets` as JSON-friendly lists."""
        def listed(a):
            return a.tolist() if isinstance(a, np.ndarray) else a
        return {"data": listed(self.data), "targets": listed(self.targets),
                "length": self.length, "sampling_rate": self.sampling_rate,
                "stride": self.stride, "start_index": self.start_index - self.length,
                "end_index": self.end_index, "shuffle": self.shuffle,
                "reverse": self.reverse, "batch_size": self.batch_size}
