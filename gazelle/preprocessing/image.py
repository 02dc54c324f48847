"""tf.keras 2's `keras.preprocessing.image`: `ImageDataGenerator` and its iterators, plus
the image file helpers. [leaf: stdlib, numpy; Pillow through `gazelle.utils.image_utils`]

Augmentation runs on the host in NumPy, one image at a time, as in tf.keras 2: the random
draws come from NumPy's global generator in Keras's order (seeded per batch with
`seed + batches seen`), so a seeded generator gives the same transforms as Keras's, and
the affine resampling reproduces `scipy.ndimage.affine_transform` (orders 0 and 1) without
needing SciPy. The iterators are `keras.utils.PyDataset`s, so `model.fit(generator.flow(x,
y))` works as in the course. New code can put `RandomFlip`, `RandomRotation`, ... layers in
the model instead: they run inside the compiled step.
"""
import collections
import os
import threading
import warnings

import numpy as np

from gazelle import config
from gazelle.utils.dataset import PyDataset
from gazelle.utils.image_dataset import _decoder_pool
from gazelle.utils.image_utils import array_to_img as array_to_img
from gazelle.utils.image_utils import img_to_array as img_to_array
from gazelle.utils.image_utils import load_img as load_img
from gazelle.utils.image_utils import save_img as save_img
from gazelle.utils.image_utils import smart_resize as smart_resize

_FILL_MODES = ("constant", "nearest", "reflect", "wrap")
_WHITE_LIST_FORMATS = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")


def _source_index(k, n, fill_mode):
    if fill_mode == "reflect":                 # half-sample symmetric: d c b a | a b c d
        k = np.mod(k, 2 * n)
        return np.where(k >= n, 2 * n - 1 - k, k)
    return np.clip(k, 0, n - 1)


def _fold(x, n):
    x = np.mod(x + 0.5, 2 * n) - 0.5
    return np.where(x > n - 0.5, 2 * n - 1 - x, x)


def _resample(image, matrix, offset, order, fill_mode, cval):
    """Samples a (rows, cols, channels) image at `matrix @ (row, col) + offset` for every
    output pixel, with `scipy.ndimage.affine_transform`'s boundary rules."""
    h, w = image.shape[:2]
    i, j = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64),
                       indexing="ij")
    r = matrix[0, 0] * i + matrix[0, 1] * j + offset[0]
    c = matrix[1, 0] * i + matrix[1, 1] * j + offset[1]
    if fill_mode == "wrap":                    # SciPy's "wrap": period n - 1, ends overlap
        r = np.where((r < 0) | (r > h - 1), np.mod(r, h - 1), r) if h > 1 else 0 * r
        c = np.where((c < 0) | (c > w - 1), np.mod(c, w - 1), c) if w > 1 else 0 * c
    if order == 0:
        if fill_mode == "reflect":             # SciPy folds the coordinate, then rounds
            r, c = _fold(r, h), _fold(c, w)
        out = image[_source_index(np.floor(r + 0.5).astype(np.int64), h, fill_mode),
                    _source_index(np.floor(c + 0.5).astype(np.int64), w, fill_mode)]
    else:
        r0, c0 = np.floor(r), np.floor(c)
        fr, fc = (r - r0)[..., None], (c - c0)[..., None]
        r0, c0 = r0.astype(np.int64), c0.astype(np.int64)
        ra, rb = _source_index(r0, h, fill_mode), _source_index(r0 + 1, h, fill_mode)
        ca, cb = _source_index(c0, w, fill_mode), _source_index(c0 + 1, w, fill_mode)
        out = ((1 - fr) * ((1 - fc) * image[ra, ca] + fc * image[ra, cb])
               + fr * ((1 - fc) * image[rb, ca] + fc * image[rb, cb]))
    if fill_mode == "constant":
        outside = (r < 0) | (r > h - 1) | (c < 0) | (c > w - 1)
        out = np.where(outside[..., None], cval, out)
    return out.astype(image.dtype)


def apply_affine_transform(x, theta=0, tx=0, ty=0, shear=0, zx=1, zy=1, row_axis=1,
                           col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0,
                           order=1):
    """Applies a rotation, shift, shear and zoom to one image, about its centre.

    Args:
        x: one image (rank 3).
        theta: rotation angle in degrees.
        tx, ty: shifts along the first and second image axes, in pixels.
        shear: shear angle in degrees.
        zx, zy: zoom factors along the two image axes.
        row_axis, col_axis, channel_axis: the axes of `x` (the channel axis first or last).
        fill_mode: "nearest" (default), "constant", "reflect" or "wrap": how points
            outside the image are filled.
        cval: the fill value with fill_mode="constant".
        order: 0 (nearest) or 1 (bilinear, default) interpolation.

    Returns:
        The transformed image, same shape.
    """
    x = np.asarray(x)
    if x.ndim != 3:
        raise ValueError(f"apply_affine_transform: expected one image of rank 3. Received "
                         f"shape {x.shape}.")
    if sorted((row_axis, col_axis, channel_axis)) != [0, 1, 2] or channel_axis not in (0, 2):
        raise ValueError("apply_affine_transform: row_axis, col_axis and channel_axis must be "
                         "0, 1 and 2 in some order, with the channels first or last. Received "
                         f"{(row_axis, col_axis, channel_axis)}.")
    if fill_mode not in _FILL_MODES:
        raise ValueError(f"apply_affine_transform: `fill_mode` must be one of {_FILL_MODES}. "
                         f"Received: fill_mode={fill_mode!r}")
    if order not in (0, 1):
        raise NotImplementedError(f"apply_affine_transform: interpolation order {order} is not "
                                  "available in gazelle; use order 0 (nearest) or 1 "
                                  "(bilinear, the default).")
    matrix = np.eye(3)
    theta = np.deg2rad(theta)
    shear = np.deg2rad(shear)
    parts = [([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0],
               [0, 0, 1]], theta != 0),
             ([[1, 0, tx], [0, 1, ty], [0, 0, 1]], tx != 0 or ty != 0),
             ([[1, -np.sin(shear), 0], [0, np.cos(shear), 0], [0, 0, 1]], shear != 0),
             ([[zx, 0, 0], [0, zy, 0], [0, 0, 1]], zx != 1 or zy != 1)]
    used = [np.array(m, dtype=np.float64) for m, on in parts if on]
    if not used:
        return x
    for m in used:
        matrix = matrix @ m
    h, w = x.shape[row_axis], x.shape[col_axis]
    centre = np.array([[1, 0, h / 2 - 0.5], [0, 1, w / 2 - 0.5], [0, 0, 1]])
    uncentre = np.array([[1, 0, -(h / 2 - 0.5)], [0, 1, -(w / 2 - 0.5)], [0, 0, 1]])
    matrix = centre @ matrix @ uncentre
    image = np.moveaxis(x, channel_axis, -1)   # (first image axis, second, channels)
    if col_axis > row_axis:
        # the matrix is built in (x, y) terms; with rows first, x and y trade places in
        # array indexing (Keras's P M P)
        matrix = matrix[[1, 0, 2]][:, [1, 0, 2]]
    out = _resample(image, matrix[:2, :2], matrix[:2, 2], order, fill_mode, cval)
    return np.moveaxis(out, -1, channel_axis)


def apply_channel_shift(x, intensity, channel_axis=0):
    """Adds `intensity` to every channel of one image, clipped to the image's range."""
    x = np.asarray(x)
    low, high = np.min(x), np.max(x)
    return np.clip(x + intensity, low, high).astype(x.dtype)


def apply_brightness_shift(x, brightness, scale=True):
    """Changes the brightness of one (height, width, channels) image with Pillow's
    `ImageEnhance.Brightness(brightness)` (1.0 keeps it, 0.0 gives black)."""
    from PIL import ImageEnhance

    low, high = np.min(x), np.max(x)
    out_of_range = (low < 0) or (high > 255)
    img = array_to_img(x, scale=out_of_range or scale)
    out = img_to_array(ImageEnhance.Brightness(img).enhance(brightness))
    if not scale and out_of_range:
        out = out / 255 * (high - low) + low
    return out


class ImageDataGenerator:
    """Generates batches of images with real-time augmentation (tf.keras 2).

    Args:
        featurewise_center: subtract the data's per-channel mean (from `fit`).
        samplewise_center: subtract each image's own mean.
        featurewise_std_normalization: divide by the data's per-channel std (from `fit`).
        samplewise_std_normalization: divide each image by its own std.
        zca_whitening: apply ZCA whitening (from `fit`).
        zca_epsilon: the whitening's epsilon (default 1e-6).
        rotation_range: random rotations up to this many degrees.
        width_shift_range, height_shift_range: random shifts: a float < 1 is a fraction of
            the size, >= 1 pixels; an int or list draws whole pixels from
            `[-n, n)`-style choices, as Keras does.
        brightness_range: `(low, high)` brightness factors to draw from.
        shear_range: random shear angle, in degrees.
        zoom_range: a float `z` (zoom in `[1 - z, 1 + z]`) or `(low, high)`.
        channel_shift_range: random shift added to all channels.
        fill_mode: "nearest" (default), "constant", "reflect" or "wrap".
        cval: fill value for fill_mode="constant".
        horizontal_flip, vertical_flip: flip half of the images.
        rescale: multiply the images by this (e.g. `1/255`), before other normalization.
        preprocessing_function: a function applied to each image (rank 3) first.
        data_format: "channels_last" or "channels_first"; defaults to
            `keras.config.image_data_format()`.
        validation_split: fraction kept for `subset="validation"`.
        interpolation_order: 0 (nearest) or 1 (bilinear, default) for the geometric
            transforms (higher spline orders raise NotImplementedError).
        dtype: dtype of the batches; defaults to `keras.config.floatx()`.

    ```python
    datagen = keras.preprocessing.image.ImageDataGenerator(
        rescale=1/255, rotation_range=20, horizontal_flip=True, validation_split=0.2)
    train = datagen.flow_from_directory("data", target_size=(150, 150), subset="training")
    model.fit(train, epochs=10)
    ```
    """

    def __init__(self, featurewise_center=False, samplewise_center=False,
                 featurewise_std_normalization=False, samplewise_std_normalization=False,
                 zca_whitening=False, zca_epsilon=1e-6, rotation_range=0,
                 width_shift_range=0.0, height_shift_range=0.0, brightness_range=None,
                 shear_range=0.0, zoom_range=0.0, channel_shift_range=0.0, fill_mode="nearest",
                 cval=0.0, horizontal_flip=False, vertical_flip=False, rescale=None,
                 preprocessing_function=None, data_format=None, validation_split=0.0,
                 interpolation_order=1, dtype=None):
        data_format = config.image_data_format() if data_format is None else data_format
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError("ImageDataGenerator: `data_format` must be 'channels_last' or "
                             f"'channels_first'. Received: {data_format!r}")
        if fill_mode not in _FILL_MODES:
            raise ValueError(f"ImageDataGenerator: `fill_mode` must be one of {_FILL_MODES}. "
                             f"Received: fill_mode={fill_mode!r}")
        if interpolation_order not in (0, 1):
            raise NotImplementedError(
                f"ImageDataGenerator: interpolation_order={interpolation_order} is not "
                "available in gazelle; use 0 (nearest) or 1 (bilinear, the default).")
        if validation_split and not 0 < validation_split < 1:
            raise ValueError("ImageDataGenerator: `validation_split` must be strictly between "
                             f"0 and 1. Received: {validation_split}")
        if isinstance(zoom_range, (int, float)):
            zoom_range = [1 - zoom_range, 1 + zoom_range]
        elif (isinstance(zoom_range, (list, tuple)) and len(zoom_range) == 2
              and all(isinstance(v, (int, float)) for v in zoom_range)):
            zoom_range = [zoom_range[0], zoom_range[1]]
        else:
            raise ValueError("ImageDataGenerator: `zoom_range` must be a float or two floats. "
                             f"Received: {zoom_range!r}")
        if brightness_range is not None and (not isinstance(brightness_range, (list, tuple))
                                             or len(brightness_range) != 2):
            raise ValueError("ImageDataGenerator: `brightness_range` must be two floats "
                             f"(low, high). Received: {brightness_range!r}")
        self.featurewise_center = featurewise_center
        self.samplewise_center = samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening, self.zca_epsilon = zca_whitening, zca_epsilon
        self.rotation_range = rotation_range
        self.width_shift_range, self.height_shift_range = width_shift_range, height_shift_range
        self.shear_range, self.zoom_range = shear_range, zoom_range
        self.channel_shift_range = channel_shift_range
        self.fill_mode, self.cval = fill_mode, cval
        self.horizontal_flip, self.vertical_flip = horizontal_flip, vertical_flip
        self.rescale, self.preprocessing_function = rescale, preprocessing_function
        self.brightness_range = brightness_range
        self.dtype = dtype or config.floatx()
        self.interpolation_order = interpolation_order
        self.data_format = data_format
        self.channel_axis, self.row_axis, self.col_axis = (
            (3, 1, 2) if data_format == "channels_last" else (1, 2, 3))
        self._validation_split = validation_split
        self.mean = self.std = self.zca_whitening_matrix = None
        implied = []
        if zca_whitening:
            if not featurewise_center:
                self.featurewise_center = True
                implied.append("zca_whitening sets featurewise_center")
            if featurewise_std_normalization:
                self.featurewise_std_normalization = False
                implied.append("zca_whitening turns off featurewise_std_normalization")
        if self.featurewise_std_normalization and not self.featurewise_center:
            self.featurewise_center = True
            implied.append("featurewise_std_normalization sets featurewise_center")
        if samplewise_std_normalization and not samplewise_center:
            self.samplewise_center = True
            implied.append("samplewise_std_normalization sets samplewise_center")
        for message in implied:
            warnings.warn(f"ImageDataGenerator: {message}.", stacklevel=2)

    # -- iterators --------------------------------------------------------------------
    def flow(self, x, y=None, batch_size=32, shuffle=True, sample_weight=None, seed=None,
             save_to_dir=None, save_prefix="", save_format="png", ignore_class_split=False,
             subset=None):
        """Batches of augmented images from arrays: `(x, y)` (or `(x, y, sample_weight)`).

        Args:
            x: images, rank 4; or a tuple `(images, other input or list of them)`.
            y: labels (optional).
            batch_size: images per batch (default 32).
            shuffle: shuffle the order every epoch (default True).
            sample_weight: per-image weights (optional).
            seed: seed for the shuffling and the transforms.
            save_to_dir: a folder to also write the augmented images to (for a look).
            save_prefix, save_format: their file names' prefix and format.
            ignore_class_split: skip the check that both subsets hold every class.
            subset: "training" or "validation" (with `validation_split`).

        Returns:
            A `NumpyArrayIterator` (a `PyDataset`).
        """
        return NumpyArrayIterator(x, y, self, batch_size=batch_size, shuffle=shuffle,
                                  sample_weight=sample_weight, seed=seed,
                                  data_format=self.data_format, save_to_dir=save_to_dir,
                                  save_prefix=save_prefix, save_format=save_format,
                                  ignore_class_split=ignore_class_split, subset=subset,
                                  dtype=self.dtype)

    def flow_from_directory(self, directory, target_size=(256, 256), color_mode="rgb",
                            classes=None, class_mode="categorical", batch_size=32,
                            shuffle=True, seed=None, save_to_dir=None, save_prefix="",
                            save_format="png", follow_links=False, subset=None,
                            interpolation="nearest", keep_aspect_ratio=False):
        """Batches of augmented images read from class subfolders of `directory`.

        Args:
            directory: the folder with one subfolder per class.
            target_size: `(height, width)` images are resized to (default (256, 256)).
            color_mode: "rgb" (default), "rgba" or "grayscale".
            classes: subfolder names in label order (default: all, sorted).
            class_mode: "categorical" (default, one-hot), "binary", "sparse" (integer),
                "input" (the images again, for autoencoders) or None (images only).
            batch_size, shuffle, seed, save_to_dir, save_prefix, save_format: as in `flow`.
            follow_links: follow symbolic links inside the class folders.
            subset: "training" or "validation" (with `validation_split`): the first
                `validation_split` of each class's files are the validation subset.
            interpolation: Pillow resampling when resizing ("nearest" by default).
            keep_aspect_ratio: crop the centre to the target's aspect ratio first.

        Returns:
            A `DirectoryIterator` (a `PyDataset`) with `class_indices`, `classes`,
            `filenames` and `samples`.
        """
        return DirectoryIterator(directory, self, target_size=target_size,
                                 color_mode=color_mode, classes=classes,
                                 class_mode=class_mode, data_format=self.data_format,
                                 batch_size=batch_size, shuffle=shuffle, seed=seed,
                                 save_to_dir=save_to_dir, save_prefix=save_prefix,
                                 save_format=save_format, follow_links=follow_links,
                                 subset=subset, interpolation=interpolation,
                                 keep_aspect_ratio=keep_aspect_ratio, dtype=self.dtype)

    def flow_from_dataframe(self, dataframe, directory=None, x_col="filename", y_col="class",
                            weight_col=None, target_size=(256, 256), color_mode="rgb",
                            classes=None, class_mode="categorical", batch_size=32,
                            shuffle=True, seed=None, save_to_dir=None, save_prefix="",
                            save_format="png", subset=None, interpolation="nearest",
                            validate_filenames=True, **kwargs):
        """Batches of augmented images listed in a pandas DataFrame.

        Args:
            dataframe: a DataFrame with a column of file names (relative to `directory`,
                or absolute) and, depending on `class_mode`, label columns.
            directory: the folder the file names are relative to (None: they are paths).
            x_col: the file-name column (default "filename").
            y_col: the label column (default "class"; a list with "multi_output").
            weight_col: a column of sample weights (optional).
            class_mode: "categorical" (default; class names or lists of them), "binary",
                "sparse", "raw" (the y_col values), "multi_output", "input" or None.
            validate_filenames: drop rows whose file is missing or not an image.
            The other arguments are those of `flow_from_directory`.

        Returns:
            A `DataFrameIterator` (a `PyDataset`).
        """
        unknown = set(kwargs) - {"has_ext", "sort", "drop_duplicates"}
        if unknown:
            raise TypeError(f"flow_from_dataframe: unexpected keyword arguments {sorted(unknown)}.")
        for name in sorted(kwargs):
            warnings.warn(f"flow_from_dataframe: `{name}` is deprecated and ignored, as in "
                          "Keras.", DeprecationWarning, stacklevel=2)
        if class_mode == "other":
            warnings.warn('flow_from_dataframe: class_mode="other" is deprecated; use "raw".',
                          DeprecationWarning, stacklevel=2)
            class_mode = "raw"
        return DataFrameIterator(dataframe, directory, self, x_col=x_col, y_col=y_col,
                                 weight_col=weight_col, target_size=target_size,
                                 color_mode=color_mode, classes=classes,
                                 class_mode=class_mode, data_format=self.data_format,
                                 batch_size=batch_size, shuffle=shuffle, seed=seed,
                                 save_to_dir=save_to_dir, save_prefix=save_prefix,
                                 save_format=save_format, subset=subset,
                                 interpolation=interpolation,
                                 validate_filenames=validate_filenames, dtype=self.dtype)

    # -- per-image work ---------------------------------------------------------------
    def standardize(self, x):
        """Applies `preprocessing_function`, `rescale` and the normalizations to `x`
        (in place where possible) and returns it."""
        if self.preprocessing_function:
            x = self.preprocessing_function(x)
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, keepdims=True) + 1e-6
        for flag, stat, what in ((self.featurewise_center, self.mean, "featurewise_center"),
                                 (self.featurewise_std_normalization, self.std,
                                  "featurewise_std_normalization"),
                                 (self.zca_whitening, self.zca_whitening_matrix,
                                  "zca_whitening")):
            if flag and stat is None:
                warnings.warn(f"ImageDataGenerator: `{what}` is set but the generator was not "
                              "fit on data; call `.fit(x_train)` first.", stacklevel=2)
        if self.featurewise_center and self.mean is not None:
            x -= self.mean
        if self.featurewise_std_normalization and self.std is not None:
            x /= self.std + 1e-6
        if self.zca_whitening and self.zca_whitening_matrix is not None:
            size = int(np.prod(x.shape[-3:]))
            x = (x.reshape(-1, size) @ self.zca_whitening_matrix).reshape(x.shape)
        return x

    def _shift(self, value, size):
        if not value:
            return 0
        try:                                   # an int or a list: whole pixels, random sign
            shift = np.random.choice(value)
            shift *= np.random.choice([-1, 1])
        except ValueError:                     # a float: uniform in [-value, value]
            shift = np.random.uniform(-value, value)
        if np.max(value) < 1:
            shift *= size
        return shift

    def get_random_transform(self, img_shape, seed=None):
        """Draws the parameters of one random transform for an image of `img_shape`
        (a dict: theta, tx, ty, shear, zx, zy, flip_horizontal, flip_vertical,
        channel_shift_intensity, brightness)."""
        if seed is not None:
            np.random.seed(seed)
        theta = (np.random.uniform(-self.rotation_range, self.rotation_range)
                 if self.rotation_range else 0)
        tx = self._shift(self.height_shift_range, img_shape[self.row_axis - 1])
        ty = self._shift(self.width_shift_range, img_shape[self.col_axis - 1])
        shear = np.random.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0
        if self.zoom_range[0] == 1 and self.zoom_range[1] == 1:
            zx, zy = 1, 1
        else:
            zx, zy = np.random.uniform(self.zoom_range[0], self.zoom_range[1], 2)
        flip_horizontal = (np.random.random() < 0.5) * self.horizontal_flip
        flip_vertical = (np.random.random() < 0.5) * self.vertical_flip
        channel_shift = (np.random.uniform(-self.channel_shift_range, self.channel_shift_range)
                         if self.channel_shift_range != 0 else None)
        brightness = (np.random.uniform(self.brightness_range[0], self.brightness_range[1])
                      if self.brightness_range is not None else None)
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy,
                "flip_horizontal": flip_horizontal, "flip_vertical": flip_vertical,
                "channel_shift_intensity": channel_shift, "brightness": brightness}

    def apply_transform(self, x, transform_parameters):
        """Applies the transform described by `transform_parameters` to one image."""
        p = transform_parameters
        rows, cols, channels = self.row_axis - 1, self.col_axis - 1, self.channel_axis - 1
        x = apply_affine_transform(x, p.get("theta", 0), p.get("tx", 0), p.get("ty", 0),
                                   p.get("shear", 0), p.get("zx", 1), p.get("zy", 1),
                                   row_axis=rows, col_axis=cols, channel_axis=channels,
                                   fill_mode=self.fill_mode, cval=self.cval,
                                   order=self.interpolation_order)
        if p.get("channel_shift_intensity") is not None:
            x = apply_channel_shift(x, p["channel_shift_intensity"], channels)
        if p.get("flip_horizontal", False):
            x = np.flip(x, cols)
        if p.get("flip_vertical", False):
            x = np.flip(x, rows)
        if p.get("brightness") is not None:
            if channels == 0:                  # Pillow wants channels last (Keras fails here)
                x = apply_brightness_shift(x.transpose(1, 2, 0), p["brightness"], False)
                x = x.transpose(2, 0, 1)
            else:
                x = apply_brightness_shift(x, p["brightness"], False)
        return x

    def random_transform(self, x, seed=None):
        """Applies a random transform to one image."""
        return self.apply_transform(x, self.get_random_transform(x.shape, seed))

    def fit(self, x, augment=False, rounds=1, seed=None):
        """Computes the statistics that featurewise normalization and ZCA whitening use.

        Args:
            x: sample images, rank 4 (`rescale` is applied first).
            augment: fit on randomly augmented copies.
            rounds: with `augment`, how many augmented passes over `x`.
            seed: seed for the augmentation.
        """
        x = np.array(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ValueError("ImageDataGenerator.fit: expected images of rank 4. Received "
                             f"shape {x.shape}.")
        if x.shape[self.channel_axis] not in (1, 3, 4):
            warnings.warn(f"ImageDataGenerator.fit: expected 1, 3 or 4 channels on axis "
                          f"{self.channel_axis} ({self.data_format}); received shape "
                          f"{x.shape}.", stacklevel=2)
        if seed is not None:
            np.random.seed(seed)
        if self.rescale:
            x *= self.rescale
        if augment:
            x = np.stack([self.random_transform(x[i]) for _ in range(rounds)
                          for i in range(len(x))]).astype(self.dtype)
        shape = [1, 1, 1]
        shape[self.channel_axis - 1] = x.shape[self.channel_axis]
        axes = (0, self.row_axis, self.col_axis)
        if self.featurewise_center:
            self.mean = np.mean(x, axis=axes).reshape(shape)
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.std(x, axis=axes).reshape(shape)
            x /= self.std + 1e-6
        if self.zca_whitening:
            flat = x.reshape(len(x), -1)
            u, s, _ = np.linalg.svd(flat.T, full_matrices=False)
            self.zca_whitening_matrix = (u * (np.sqrt(len(x)) / (s + self.zca_epsilon))) @ u.T


class Iterator(PyDataset):
    """Base of the generator's iterators: batch `i` by index (for `fit`), or endless
    batches with `next()`, shuffled every epoch."""

    white_list_formats = _WHITE_LIST_FORMATS

    def __init__(self, n, batch_size, shuffle, seed, **kwargs):
        super().__init__(**kwargs)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"{type(self).__name__}: `batch_size` must be a positive int. "
                             f"Received: {batch_size!r}")
        self.n, self.batch_size, self.seed, self.shuffle = n, batch_size, seed, shuffle
        self.batch_index = self.total_batches_seen = 0
        self.lock = threading.Lock()
        self.index_array = None
        self.index_generator = self._flow_index()

    def _set_index_array(self):
        self.index_array = np.random.permutation(self.n) if self.shuffle else np.arange(self.n)

    def __len__(self):
        return -(-self.n // self.batch_size)

    def __getitem__(self, idx):
        if not 0 <= idx < len(self):
            raise IndexError(f"{type(self).__name__}: batch {idx} asked for, but there are "
                             f"{len(self)} batches.")
        if self.seed is not None:
            np.random.seed(self.seed + self.total_batches_seen)
        self.total_batches_seen += 1
        if self.index_array is None:
            self._set_index_array()
        rows = self.index_array[self.batch_size * idx:self.batch_size * (idx + 1)]
        return self._get_batches_of_transformed_samples(rows)

    def on_epoch_end(self):
        self._set_index_array()

    def reset(self):
        self.batch_index = 0

    def _flow_index(self):
        self.reset()
        while True:
            if self.seed is not None:
                np.random.seed(self.seed + self.total_batches_seen)
            if self.batch_index == 0:
                self._set_index_array()
            start = (self.batch_index * self.batch_size) % self.n if self.n else 0
            self.batch_index = self.batch_index + 1 if self.n > start + self.batch_size else 0
            self.total_batches_seen += 1
            yield self.index_array[start:start + self.batch_size]

    def __iter__(self):
        return self

    def __next__(self):
        with self.lock:
            rows = next(self.index_generator)
        return self._get_batches_of_transformed_samples(rows)

    def _get_batches_of_transformed_samples(self, index_array):
        raise NotImplementedError

    def _save(self, batch_x, index_array, hash_range):
        for i, j in enumerate(index_array):
            img = array_to_img(batch_x[i], self.data_format, scale=True)
            name = f"{self.save_prefix}_{j}_{np.random.randint(hash_range)}.{self.save_format}"
            img.save(os.path.join(self.save_to_dir, name))


class NumpyArrayIterator(Iterator):
    """Batches of augmented images from NumPy arrays (what `ImageDataGenerator.flow` returns)."""

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=False,
                 sample_weight=None, seed=None, data_format=None, save_to_dir=None,
                 save_prefix="", save_format="png", subset=None, ignore_class_split=False,
                 dtype=None):
        self.dtype = dtype or config.floatx()
        data_format = data_format or config.image_data_format()
        if isinstance(x, (tuple, list)):
            x_misc = ([np.asarray(v) for v in x[1]] if isinstance(x[1], list)
                      else [np.asarray(x[1])])
            x = x[0]
            for other in x_misc:
                if len(other) != len(x):
                    raise ValueError("ImageDataGenerator.flow: all arrays in `x` must have the "
                                     f"same length; found {len(x)} and {len(other)}.")
        else:
            x_misc = []
        if y is not None and len(x) != len(y):
            raise ValueError("ImageDataGenerator.flow: `x` (images) and `y` (labels) must have "
                             f"the same length. Found x.shape={np.asarray(x).shape}, "
                             f"y.shape={np.asarray(y).shape}")
        if sample_weight is not None and len(x) != len(sample_weight):
            raise ValueError("ImageDataGenerator.flow: `x` and `sample_weight` must have the "
                             f"same length. Found {len(x)} and {len(sample_weight)}.")
        if subset is not None:
            if subset not in ("training", "validation"):
                raise ValueError("ImageDataGenerator.flow: `subset` must be 'training' or "
                                 f"'validation'. Received: {subset!r}")
            cut = int(len(x) * image_data_generator._validation_split)
            if (y is not None and not ignore_class_split
                    and not np.array_equal(np.unique(y[:cut]), np.unique(y[cut:]))):
                raise ValueError("ImageDataGenerator.flow: the training and validation subsets "
                                 "hold different classes after the split. If the arrays are "
                                 "sorted by label, shuffle them first (or pass "
                                 "ignore_class_split=True).")
            part = slice(None, cut) if subset == "validation" else slice(cut, None)
            x = x[part]
            x_misc = [np.asarray(v[part]) for v in x_misc]
            y = None if y is None else y[part]
        self.x = np.asarray(x, dtype=self.dtype)
        self.x_misc = x_misc
        if self.x.ndim != 4:
            raise ValueError("ImageDataGenerator.flow: `x` must be images of rank 4. Received "
                             f"shape {self.x.shape}.")
        channels_axis = 3 if data_format == "channels_last" else 1
        if self.x.shape[channels_axis] not in (1, 3, 4):
            warnings.warn(f"ImageDataGenerator.flow: expected 1, 3 or 4 channels on axis "
                          f"{channels_axis} ({data_format}); received shape {self.x.shape}.",
                          stacklevel=3)
        self.y = None if y is None else np.asarray(y)
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        self.image_data_generator = image_data_generator
        self.data_format = data_format
        self.save_to_dir, self.save_prefix = save_to_dir, save_prefix
        self.save_format = save_format
        super().__init__(self.x.shape[0], batch_size, shuffle, seed)

    def _get_batches_of_transformed_samples(self, index_array):
        gen = self.image_data_generator
        batch_x = np.zeros((len(index_array),) + self.x.shape[1:], dtype=self.dtype)
        for i, j in enumerate(index_array):
            x = self.x[j]
            x = gen.apply_transform(x.astype(self.dtype), gen.get_random_transform(x.shape))
            batch_x[i] = gen.standardize(x)
        if self.save_to_dir:
            self._save(batch_x, index_array, 10 ** 4)
        misc = [v[index_array] for v in self.x_misc]
        inputs = [batch_x] + misc if misc else batch_x
        if self.y is None:
            return inputs
        if self.sample_weight is None:
            return inputs, self.y[index_array]
        return inputs, self.y[index_array], self.sample_weight[index_array]


class _FilesIterator(Iterator):
    """Shared by the directory and DataFrame iterators: decode, resize, augment."""

    def _set_processing(self, image_data_generator, target_size, color_mode, data_format,
                        save_to_dir, save_prefix, save_format, subset, interpolation,
                        keep_aspect_ratio):
        self.image_data_generator = image_data_generator
        self.target_size, self.keep_aspect_ratio = tuple(target_size), keep_aspect_ratio
        channels = {"rgb": 3, "rgba": 4, "grayscale": 1}
        if color_mode not in channels:
            raise ValueError(f"{type(self).__name__}: `color_mode` must be 'rgb', 'rgba' or "
                             f"'grayscale'. Received: {color_mode!r}")
        self.color_mode, self.data_format = color_mode, data_format
        c = channels[color_mode]
        self.image_shape = (self.target_size + (c,) if data_format == "channels_last"
                            else (c,) + self.target_size)
        self.save_to_dir, self.save_prefix = save_to_dir, save_prefix
        self.save_format, self.interpolation = save_format, interpolation
        if subset is not None and subset not in ("training", "validation"):
            raise ValueError(f"{type(self).__name__}: `subset` must be 'training' or "
                             f"'validation'. Received: {subset!r}")
        split = image_data_generator._validation_split if image_data_generator else 0
        if subset is not None and not split:
            raise ValueError(f"{type(self).__name__}: subset={subset!r} needs an "
                             "ImageDataGenerator with a validation_split.")
        self.split = None if subset is None else (
            (0, split) if subset == "validation" else (split, 1))
        self.subset = subset

    def _decode(self, path):
        img = load_img(path, color_mode=self.color_mode, target_size=self.target_size,
                       interpolation=self.interpolation, keep_aspect_ratio=self.keep_aspect_ratio)
        x = img_to_array(img, data_format=self.data_format, dtype=self.dtype)
        img.close()
        return x

    def _get_batches_of_transformed_samples(self, index_array):
        paths = [self.filepaths[j] for j in index_array]
        decoded = list(_decoder_pool().map(self._decode, paths)) if len(paths) > 1 else [
            self._decode(p) for p in paths]
        gen = self.image_data_generator
        batch_x = np.zeros((len(index_array),) + self.image_shape, dtype=self.dtype)
        for i, x in enumerate(decoded):        # random draws in Keras's order, one by one
            if gen:
                x = gen.standardize(gen.apply_transform(x, gen.get_random_transform(x.shape)))
            batch_x[i] = x
        if self.save_to_dir:
            self._save(batch_x, index_array, 10 ** 7)
        mode = self.class_mode
        if mode == "input":
            batch_y = batch_x.copy()
        elif mode in ("binary", "sparse"):
            batch_y = np.asarray([self.classes[j] for j in index_array], dtype=self.dtype)
        elif mode == "categorical":
            batch_y = np.zeros((len(batch_x), len(self.class_indices)), dtype=self.dtype)
            for i, j in enumerate(index_array):
                batch_y[i, self.classes[j]] = 1.0
        elif mode == "multi_output":
            batch_y = [target[index_array] for target in self.labels]
        elif mode == "raw":
            batch_y = self.labels[index_array]
        else:
            return batch_x
        if self.sample_weight is None:
            return batch_x, batch_y
        return batch_x, batch_y, self.sample_weight[index_array]

    @property
    def filepaths(self):
        """Paths of the image files, in label order (before shuffling)."""
        return self._filepaths


def _valid_files(directory, follow_links, formats):
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links),
                                 key=lambda w: w[0]):
        for name in sorted(files):
            if name.lower().endswith(formats):
                yield root, name


class DirectoryIterator(_FilesIterator):
    """Batches of augmented images from class subfolders (`flow_from_directory`)."""

    allowed_class_modes = {"categorical", "binary", "sparse", "input", None}

    def __init__(self, directory, image_data_generator, target_size=(256, 256),
                 color_mode="rgb", classes=None, class_mode="categorical", batch_size=32,
                 shuffle=True, seed=None, data_format=None, save_to_dir=None, save_prefix="",
                 save_format="png", follow_links=False, subset=None, interpolation="nearest",
                 keep_aspect_ratio=False, dtype=None):
        data_format = data_format or config.image_data_format()
        self.dtype = dtype or config.floatx()
        self._set_processing(image_data_generator, target_size, color_mode, data_format,
                             save_to_dir, save_prefix, save_format, subset, interpolation,
                             keep_aspect_ratio)
        if class_mode not in self.allowed_class_modes:
            raise ValueError(f"flow_from_directory: `class_mode` must be one of "
                             f"{sorted(map(str, self.allowed_class_modes))}. Received: "
                             f"{class_mode!r}")
        if not os.path.isdir(directory):
            raise ValueError(f"flow_from_directory: {directory!r} is not a folder.")
        self.directory, self.class_mode = directory, class_mode
        if not classes:
            classes = [d for d in sorted(os.listdir(directory))
                       if os.path.isdir(os.path.join(directory, d))]
        self.num_classes = len(classes)
        self.class_indices = dict(zip(classes, range(len(classes))))
        self.filenames, labels = [], []
        for k, name in enumerate(classes):
            folder = os.path.join(directory, name)
            files = list(_valid_files(folder, follow_links, self.white_list_formats))
            if self.split:
                n = len(files)
                files = files[int(self.split[0] * n):int(self.split[1] * n)]
            for root, fname in files:
                self.filenames.append(os.path.join(
                    name, os.path.relpath(os.path.join(root, fname), folder)))
                labels.append(k)
        self.samples = len(self.filenames)
        self.classes = np.asarray(labels, dtype="int32")
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        self._filepaths = [os.path.join(directory, f) for f in self.filenames]
        super().__init__(self.samples, batch_size, shuffle, seed)

    @property
    def labels(self):
        return self.classes

    @property
    def sample_weight(self):
        return None


class DataFrameIterator(_FilesIterator):
    """Batches of augmented images listed in a pandas DataFrame (`flow_from_dataframe`)."""

    allowed_class_modes = {"binary", "categorical", "input", "multi_output", "raw", "sparse",
                           None}

    def __init__(self, dataframe, directory=None, image_data_generator=None, x_col="filename",
                 y_col="class", weight_col=None, target_size=(256, 256), color_mode="rgb",
                 classes=None, class_mode="categorical", batch_size=32, shuffle=True,
                 seed=None, data_format="channels_last", save_to_dir=None, save_prefix="",
                 save_format="png", subset=None, interpolation="nearest",
                 keep_aspect_ratio=False, dtype="float32", validate_filenames=True):
        self.dtype = dtype
        self._set_processing(image_data_generator, target_size, color_mode, data_format,
                             save_to_dir, save_prefix, save_format, subset, interpolation,
                             keep_aspect_ratio)
        self.directory, self.class_mode = directory or "", class_mode
        df = dataframe.copy()
        self._check(df, x_col, y_col, weight_col, classes)
        if validate_filenames:
            full = df[x_col].map(lambda f: os.path.join(self.directory, f))
            keep = full.map(lambda p: p.lower().endswith(self.white_list_formats)
                            and os.path.isfile(p))
            if (~keep).sum():
                warnings.warn(f"flow_from_dataframe: found {int((~keep).sum())} invalid image "
                              f"filename(s) in x_col={x_col!r}; they are ignored.",
                              stacklevel=3)
            df = df[keep]
        with_classes = class_mode not in ("input", "multi_output", "raw", None)
        if with_classes:
            df, classes = self._filter_classes(df, y_col, classes)
            self.class_indices = dict(zip(classes, range(len(classes))))
        if self.split:
            n = len(df)
            df = df.iloc[int(self.split[0] * n):int(self.split[1] * n), :]
        if with_classes:
            self.classes = [[self.class_indices[v] for v in label]
                            if isinstance(label, (list, tuple)) else self.class_indices[label]
                            for label in df[y_col]]
        self.filenames = df[x_col].tolist()
        self._sample_weight = df[weight_col].values if weight_col else None
        if class_mode == "multi_output":
            self._targets = [np.array(df[col].tolist()) for col in y_col]
        if class_mode == "raw":
            self._targets = df[y_col].values
        self.samples = len(self.filenames)
        state = "validated" if validate_filenames else "non-validated"
        print(f"Found {self.samples} {state} image filenames"
              + (f" belonging to {len(classes)} classes." if with_classes else "."))
        self._filepaths = [os.path.join(self.directory, f) for f in self.filenames]
        super().__init__(self.samples, batch_size, shuffle, seed)

    def _check(self, df, x_col, y_col, weight_col, classes):
        mode = self.class_mode
        if mode not in self.allowed_class_modes:
            raise ValueError(f"flow_from_dataframe: `class_mode` must be one of "
                             f"{sorted(map(str, self.allowed_class_modes))}. Received: {mode!r}")
        if mode == "multi_output" and not isinstance(y_col, list):
            raise TypeError('flow_from_dataframe: with class_mode="multi_output", `y_col` '
                            f"must be a list of columns. Received {type(y_col).__name__}.")
        if not all(isinstance(v, str) for v in df[x_col]):
            raise TypeError(f"flow_from_dataframe: all values in x_col={x_col!r} must be "
                            "strings (file names).")
        if mode in ("binary", "sparse") and not all(isinstance(v, str) for v in df[y_col]):
            raise TypeError(f'flow_from_dataframe: with class_mode="{mode}", the y_col='
                            f"{y_col!r} values must be strings (class names).")
        if mode == "binary":
            count = len(set(classes)) if classes else df[y_col].nunique()
            if count != 2:
                raise ValueError('flow_from_dataframe: class_mode="binary" needs exactly 2 '
                                 f"classes; found {count}.")
        if mode == "categorical" and not all(isinstance(v, (str, list, tuple))
                                             for v in df[y_col]):
            raise TypeError('flow_from_dataframe: with class_mode="categorical", the y_col='
                            f"{y_col!r} values must be strings, lists or tuples.")
        if classes and mode in ("input", "multi_output", "raw", None):
            warnings.warn(f'flow_from_dataframe: `classes` is ignored with class_mode='
                          f'"{mode}".', stacklevel=4)
        if weight_col and not np.issubdtype(df[weight_col].dtype, np.number):
            raise TypeError(f"flow_from_dataframe: weight_col={weight_col!r} must hold numbers.")

    @staticmethod
    def _filter_classes(df, y_col, classes):
        df = df.copy()
        if classes:
            classes = list(collections.OrderedDict.fromkeys(classes))

            def keep(label):
                if isinstance(label, (list, tuple)):
                    return [c for c in label if c in classes] or None
                return label if label in classes else None
            df[y_col] = df[y_col].apply(keep)
        else:
            found = set()
            for v in df[y_col]:
                found.update(v) if isinstance(v, (list, tuple)) else found.add(v)
            classes = sorted(found)
        return df.dropna(subset=[y_col]), classes

    @property
    def labels(self):
        if self.class_mode in ("multi_output", "raw"):
            return self._targets
        return self.classes

    @property
    def sample_weight(self):
        return self._sample_weight
