"""`audio_dataset_from_directory`: .wav files in class folders -> batches of float32 audio.
[leaf: stdlib `wave`, numpy]

Files are listed, shuffled and split as Keras does (image_dataset's `list_directory` and
`split_or_raise`, which image_dataset_from_directory uses too). Each file is decoded as `tf.audio.decode_wav` decodes it: 16-bit
PCM, samples divided by 32768 into float32 of shape `(samples, channels)`, cut or
zero-padded to `output_sequence_length` when given. Without it, each batch is zero-padded
at the end to its longest clip (Keras's `padded_batch`). Keras's `tf.data` buffer shuffle
cannot be reproduced; with `shuffle=True` the training files are reshuffled (seeded) after
every epoch instead, as image_dataset does.
"""
import wave

import numpy as np

from gazelle.utils.image_dataset import (FileBatches, _encode, check_directory_args,
                                        list_directory, split_or_raise)
from gazelle.utils.text_dataset import as_tf_dataset

ALLOWED_FORMATS = (".wav",)


def decode_wav(path, desired_samples=-1):
    """One .wav file as `tf.audio.decode_wav` reads it: float32 `(samples, channels)` in
    [-1, 1) from 16-bit PCM; `desired_samples` >= 0 cuts or zero-pads to that length."""
    try:
        with wave.open(path, "rb") as f:
            width, channels, frames = f.getsampwidth(), f.getnchannels(), f.getnframes()
            raw = f.readframes(frames)
    except (wave.Error, EOFError) as e:
        raise ValueError(f"audio_dataset_from_directory: cannot read {path} as a PCM .wav "
                         f"file: {e}") from None
    if width != 2:
        raise ValueError(f"audio_dataset_from_directory: {path} has {8 * width}-bit samples; "
                         "only 16-bit PCM .wav files are read (as tf.audio.decode_wav). "
                         "Convert the file to 16-bit PCM.")
    audio = np.frombuffer(raw, "<i2").reshape(-1, channels).astype(np.float32) / 32768.0
    if desired_samples >= 0 and desired_samples != len(audio):
        out = np.zeros((desired_samples, channels), np.float32)
        n = min(desired_samples, len(audio))
        out[:n] = audio[:n]
        audio = out
    return audio


class AudioFileDataset(FileBatches):
    """Batches of decoded audio (float32 `(batch, samples, channels)`) and their labels."""

    def __init__(self, paths, labels, batch_size, output_sequence_length, class_names,
                 shuffle=False, seed=None):
        super().__init__()
        self._setup(paths, labels, batch_size, class_names, shuffle, seed)
        self.output_sequence_length = output_sequence_length
        # Samples and channels vary from file to file (Keras's spec: unknown sizes).
        self.varying_axes = (0, 1) if batch_size is None else (1, 2)

    def __getitem__(self, index):
        paths, labels = self._rows(index)
        desired = -1 if self.output_sequence_length is None else self.output_sequence_length
        clips = [decode_wav(p, desired) for p in paths]
        channels = {c.shape[1] for c in clips}
        if len(channels) > 1:
            raise ValueError("audio_dataset_from_directory: the files of one batch have "
                             f"different channel counts ({sorted(channels)}): {paths}. "
                             "Give every file the same number of channels.")
        audio = np.zeros((len(clips), max(len(c) for c in clips), channels.pop()), np.float32)
        for row, clip in zip(audio, clips):      # zero-padded to the longest clip
            row[:len(clip)] = clip
        return self._item(audio, labels)


def audio_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, batch_size=32, sampling_rate=None,
                                 output_sequence_length=None, ragged=False, shuffle=True,
                                 seed=None, validation_split=None, subset=None,
                                 follow_links=False, verbose=True):
    """Reads `.wav` files from class subfolders into batches of `(audio, labels)`.

    `directory/class_a/*.wav` and `directory/class_b/*.wav` give labels 0 and 1 (class
    folders in alphabetical order, or the order of `class_names`).

    Args:
        directory: the folder holding one subfolder per class.
        labels: "inferred" (from the subfolders), None (audio only), or a list of
            integer labels, one per file in sorted path order.
        label_mode: "int" (default; int32), "categorical" (one-hot float32), "binary"
            (float32 of shape (batch, 1), two classes) or None.
        class_names: with "inferred", the subfolders to use and their order.
        batch_size: clips per batch (default 32; None: one clip per item).
        sampling_rate: resampling needs `tensorflow_io` in Keras; gazelle does not
            resample and raises a ValueError for any value but None.
        output_sequence_length: cut or zero-pad every clip to this many samples. When
            None, each batch is zero-padded to its longest clip.
        ragged: not available (gazelle's batches are dense arrays): a ValueError.
        shuffle: shuffle the files (default True; reshuffled after every epoch).
        seed: the shuffle's seed (needed with `validation_split`).
        validation_split: fraction of the files kept for validation.
        subset: "training", "validation" or "both" (with `validation_split`).
        follow_links: follow symbolic links to subfolders.
        verbose: print how many files were found.

    Returns:
        float32 audio batches `(batch, samples, channels)` and labels: a `tf.data.Dataset`
        when TensorFlow is installed (as Keras 3), else a `BatchDataset` (a
        `keras.utils.PyDataset` with `map`, `batch`, `shuffle`, ...); either has
        `class_names`. A list of two (training, validation) for subset="both".

    ```python
    train, val = keras.utils.audio_dataset_from_directory(
        "speech_commands", output_sequence_length=16000, validation_split=0.2,
        subset="both", seed=0)
    ```
    """
    where = "audio_dataset_from_directory"
    labels, label_mode = check_directory_args(
        where, "audio", directory, labels, label_mode, class_names, batch_size,
        validation_split, subset, shuffle, seed)
    if ragged and output_sequence_length is not None:
        raise ValueError(f"{where}: pass only one of `ragged` and `output_sequence_length`.")
    if ragged:
        raise ValueError(f"{where}: ragged=True is not available: gazelle's batches are dense "
                         "arrays. Leave ragged=False (each batch is zero-padded to its "
                         "longest clip) or pass `output_sequence_length`.")
    if output_sequence_length is not None and (
            isinstance(output_sequence_length, bool)
            or not isinstance(output_sequence_length, (int, np.integer))
            or output_sequence_length < 1):
        raise ValueError(f"{where}: `output_sequence_length` must be a positive int or None. "
                         f"Received: output_sequence_length={output_sequence_length!r}")
    if sampling_rate is not None:
        if not isinstance(sampling_rate, int) or sampling_rate <= 0:
            raise ValueError(f"{where}: `sampling_rate` must be a positive int. Received: "
                             f"sampling_rate={sampling_rate!r}")
        raise ValueError(f"{where}: gazelle does not resample audio (Keras does it with "
                         "tensorflow_io). Resample the files to one rate beforehand and pass "
                         "sampling_rate=None.")
    paths, label_values, names, seed = list_directory(
        where, directory, labels, label_mode, class_names, ALLOWED_FORMATS,
        follow_links, shuffle, seed, verbose)

    def make(which, shuffled):
        p, y = split_or_raise(where, "audio files", directory, paths, label_values,
                              validation_split, which, subset, ALLOWED_FORMATS, verbose)
        # Keras's dataset ends with (padded_)batch: split_dataset reads its batch size.
        return as_tf_dataset(AudioFileDataset(
            p, _encode(y, label_mode, len(names or ())), batch_size, output_sequence_length,
            names, shuffled, seed), ends_batched=True)

    if subset == "both":
        return [make("training", shuffle), make("validation", False)]
    return make(subset or "training", shuffle)
