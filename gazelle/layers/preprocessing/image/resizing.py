"""Layers that change the image size: Resizing, CenterCrop, RandomCrop. [L2: ops, random]

The resizing itself is `keras.ops.image.resize` (gazelle.ops.image), on channels-last
batches.
"""
import numbers

import jax
import jax.numpy as jnp

from gazelle.layers.preprocessing.image.base import ImageLayer
from gazelle.ops import image as image_ops
from gazelle.random import SeedGenerator

RESIZE_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5")


def _check_size(layer_name, height, width):
    for arg, value in (("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
            raise ValueError(f"{layer_name}: `{arg}` must be a positive int. "
                             f"Received: {arg}={value!r}")
    return int(height), int(width)


def _aspect_crop_resize(images, height, width, interpolation=None):
    """Keras's smart resize: the largest centered window of the target aspect ratio."""
    if images.shape[1:3] == (height, width):
        return images
    return image_ops.resize(images, (height, width), interpolation or "bilinear",
                            crop_to_aspect_ratio=True, data_format="channels_last")


class _SizeLayer(ImageLayer):
    """Shared output shape of the layers that produce `height x width` images."""

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        if len(shape) not in (3, 4):
            raise ValueError(f"Layer '{self.name}' expects inputs of rank 3 or 4. "
                             f"Received input_shape={tuple(input_shape)}")
        h_axis = len(shape) - (2 if self.data_format == "channels_first" else 3)
        shape[h_axis], shape[h_axis + 1] = self.height, self.width
        return tuple(shape)


class Resizing(_SizeLayer):
    """Resizes images to `(height, width)`.

    Integer images stay integer (rounded and clipped to their dtype), as in Keras;
    float images are computed in the layer's dtype.

    Args:
        height: int, the output height.
        width: int, the output width.
        interpolation: `"bilinear"` (default), `"nearest"`, `"bicubic"`, `"lanczos3"`
            or `"lanczos5"`.
        crop_to_aspect_ratio: if True, resize the largest centered window that has the
            target aspect ratio, so images are not distorted (default False).
        pad_to_aspect_ratio: if True, pad the short side evenly (with `fill_value`) to
            the target aspect ratio before resizing (default False).
        fill_mode: how padded areas are filled; only `"constant"` is supported.
        fill_value: float, the padding value with `pad_to_aspect_ratio=True` (default 0.0).
        antialias: whether to use an antialiasing filter when downsampling (default False).
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.config.image_data_format()`.

    ```python
    keras.layers.Resizing(64, 64)(np.zeros((2, 128, 96, 3), "uint8")).shape  # (2, 64, 64, 3)
    ```
    """

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0,
                 antialias=False, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        name = type(self).__name__
        self.height, self.width = _check_size(name, height, width)
        if interpolation not in RESIZE_INTERPOLATIONS:
            raise ValueError(f"{name}: `interpolation` must be one of {RESIZE_INTERPOLATIONS}. "
                             f"Received: interpolation={interpolation!r}")
        if fill_mode != "constant":
            raise ValueError(f"{name}: only fill_mode='constant' is supported. "
                             f"Received: fill_mode={fill_mode!r}")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(f"{name}: only one of `crop_to_aspect_ratio` and "
                             "`pad_to_aspect_ratio` can be True.")
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.antialias = bool(antialias)

    def _cast(self, x):
        # Keras keeps integer images integer here; floats take the layer's dtype.
        dtype = getattr(x, "dtype", None)
        if dtype is not None and jnp.issubdtype(dtype, jnp.integer):
            return jnp.asarray(x)
        return super()._cast(x)

    def transform_images(self, images, transformation, training, interpolation=None):
        return image_ops.resize(
            images, (self.height, self.width), interpolation or self.interpolation,
            self.antialias, self.crop_to_aspect_ratio, self.pad_to_aspect_ratio,
            fill_value=self.fill_value, data_format="channels_last")

    def transform_segmentation_masks(self, masks, transformation, training):
        return self.transform_images(masks, transformation, training, interpolation="nearest")

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}


class CenterCrop(_SizeLayer):
    """Crops the center `(height, width)` window of images.

    An image smaller than the target on either side is instead resized (bilinear) after
    cropping the largest centered window with the target aspect ratio, as in Keras.

    Args:
        height: int, the output height.
        width: int, the output width.
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.config.image_data_format()`.

    ```python
    keras.layers.CenterCrop(24, 24)(np.zeros((2, 32, 32, 3))).shape   # (2, 24, 24, 3)
    ```
    """

    _moves_pixels = True

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height, self.width = _check_size(type(self).__name__, height, width)

    def transform_images(self, images, transformation, training, interpolation=None):
        _, in_h, in_w, _ = images.shape
        if in_h >= self.height and in_w >= self.width:
            top, left = (in_h - self.height) // 2, (in_w - self.width) // 2
            return images[:, top:top + self.height, left:left + self.width, :]
        return _aspect_crop_resize(images, self.height, self.width, interpolation)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


class RandomCrop(_SizeLayer):
    """Randomly crops a `(height, width)` window of images during training.

    One crop offset is drawn per call (shared by the batch), as in Keras. At inference,
    and when an image is not larger than the target on both sides, the largest centered
    window with the target aspect ratio is cropped and resized to `(height, width)`.
    Keras 3.15 returns uncropped images at inference (keras-team/keras#21868), which
    breaks models whose next layers expect the cropped size; gazelle center-crops.

    Args:
        height: int, the output height.
        width: int, the output width.
        seed: optional int, the random seed.
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.config.image_data_format()`.

    ```python
    keras.layers.RandomCrop(24, 24)(np.zeros((2, 32, 32, 3))).shape   # (2, 24, 24, 3)
    ```
    """

    _moves_pixels = True

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height, self.width = _check_size(type(self).__name__, height, width)
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)

    def _draw(self, key, images):
        _, in_h, in_w, _ = images.shape
        if not (in_h > self.height and in_w > self.width):
            return None
        key_h, key_w = jax.random.split(key)
        top = jax.random.randint(key_h, (), 0, in_h - self.height + 1)
        left = jax.random.randint(key_w, (), 0, in_w - self.width + 1)
        return top, left

    def transform_images(self, images, transformation, training, interpolation=None):
        if transformation is None:
            return _aspect_crop_resize(images, self.height, self.width, interpolation)
        top, left = transformation
        size = (images.shape[0], self.height, self.width, images.shape[3])
        return jax.lax.dynamic_slice(images, (0, top, left, 0), size)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "seed": self.seed}
