"""Geometric augmentation: RandomFlip, RandomRotation, RandomZoom, RandomTranslation,
RandomShear, RandomPerspective. [L2: jax, random]

All but RandomFlip build one affine (or projective) transform per image and hand it to the shared
kernel `affine.affine_transform`; segmentation masks get the same transform with
nearest-neighbour sampling.
"""
import jax
import jax.numpy as jnp

from gazelle.layers.preprocessing.image import affine
from gazelle.layers.preprocessing.image.base import ImageLayer, check_choice, parse_factor
from gazelle.random import SeedGenerator

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


class RandomFlip(ImageLayer):
    """Randomly flips images horizontally and/or vertically during training.

    Each image is flipped with probability 0.5. With `"horizontal_and_vertical"` one
    draw per image decides both flips (Keras 3's behaviour: an image is either flipped
    both ways or left alone).

    Args:
        mode: `"horizontal"`, `"vertical"` or `"horizontal_and_vertical"` (default).
        seed: optional int, the random seed.
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.config.image_data_format()`.

    ```python
    flip = keras.layers.RandomFlip("horizontal")
    flip(images)                    # about half of the images mirrored left-right
    flip(images, training=False)    # unchanged
    ```
    """

    _moves_pixels = True

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if mode not in _FLIP_MODES:
            raise ValueError(f"RandomFlip: `mode` must be one of {_FLIP_MODES}. "
                             f"Received: mode={mode!r}")
        self.mode = mode
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)

    def _draw(self, key, images):
        return jax.random.uniform(key, (images.shape[0], 1, 1, 1)) <= 0.5

    def transform_images(self, images, flips, training, interpolation=None):
        if flips is None:
            return images
        if self.mode != "vertical":
            images = jnp.where(flips, images[:, :, ::-1], images)
        if self.mode != "horizontal":
            images = jnp.where(flips, images[:, ::-1], images)
        return images

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "mode": self.mode}


class _AffineLayer(ImageLayer):
    """Shared arguments and sampling of the layers that draw one affine map per image."""

    _moves_pixels = True

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        name = type(self).__name__
        self.fill_mode = check_choice(name, "fill_mode", fill_mode, _FILL_MODES)
        self.interpolation = check_choice(name, "interpolation", interpolation,
                                          affine.INTERPOLATIONS)
        self.fill_value = fill_value
        self.seed = seed
        self.seed_generator = SeedGenerator(seed)

    def _transforms(self, key, batch, height, width):
        """The `(batch, 8)` transforms for this call."""
        raise NotImplementedError

    def _draw(self, key, images):
        batch, height, width, _ = images.shape
        return self._transforms(key, batch, height, width)

    def transform_images(self, images, transforms, training, interpolation=None):
        if transforms is None:
            return images
        return affine.affine_transform(images, transforms, interpolation or self.interpolation,
                                       self.fill_mode, self.fill_value)

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "interpolation": self.interpolation,
                "seed": self.seed}


def _uniform(key, shape, bounds):
    return jax.random.uniform(key, shape, minval=bounds[0], maxval=bounds[1])


class RandomRotation(_AffineLayer):
    """Rotates images by a random angle during training.

    Args:
        factor: a float or a pair `(lower, upper)`, fractions of a full turn (2 pi).
            Angles are drawn uniformly from `[lower * 360, upper * 360]` degrees; a
            single float f means `(-f, f)`. Positive angles turn counter-clockwise.
        fill_mode: how points outside the image are filled: `"reflect"` (default),
            `"wrap"`, `"constant"` or `"nearest"`.
        interpolation: `"bilinear"` (default) or `"nearest"`.
        seed: optional int, the random seed.
        fill_value: float, the value outside the image with `fill_mode="constant"`.
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.config.image_data_format()`.

    ```python
    keras.layers.RandomRotation(0.1)     # up to +-36 degrees
    ```
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = parse_factor(type(self).__name__, factor)

    def _transforms(self, key, batch, height, width):
        angle = _uniform(key, (batch,), (self.factor[0] * 360.0, self.factor[1] * 360.0))
        zeros, ones = jnp.zeros((batch,)), jnp.ones((batch,))
        return affine.affine_matrix(angle, zeros, zeros, ones, zeros, zeros, height, width)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class RandomZoom(_AffineLayer):
    """Zooms images in or out by a random factor during training.

    Args:
        height_factor: a float or a pair `(lower, upper)`, each in `(-1, 1]`. The
            vertical zoom factor is drawn from `[1 + lower, 1 + upper]`; a positive
            value zooms out (the image shrinks), a negative one zooms in. A single
            float f means `(-f, f)`.
        width_factor: like `height_factor`, for the horizontal zoom; None (default)
            keeps the aspect ratio (the vertical factor is used for both).
        fill_mode: `"reflect"` (default), `"wrap"`, `"constant"` or `"nearest"`.
        interpolation: `"bilinear"` (default) or `"nearest"`.
        seed: optional int, the random seed.
        fill_value: float, the value outside the image with `fill_mode="constant"`.
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.config.image_data_format()`.

    ```python
    keras.layers.RandomZoom(0.2)
    ```
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        name = type(self).__name__
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height = parse_factor(name, height_factor, arg="height_factor", open_low=True,
                                    symmetric_low=lambda f: -f)
        self._width = None if width_factor is None else parse_factor(
            name, width_factor, arg="width_factor", open_low=True, symmetric_low=lambda f: -f)

    def _transforms(self, key, batch, height, width):
        key_h, key_w = jax.random.split(key)
        zoom_h = _uniform(key_h, (batch,), (1.0 + self._height[0], 1.0 + self._height[1]))
        zoom_w = zoom_h if self._width is None else _uniform(
            key_w, (batch,), (1.0 + self._width[0], 1.0 + self._width[1]))
        zeros = jnp.zeros((batch,))
        return jnp.stack([zoom_w, zeros, (width - 1.0) / 2.0 * (1.0 - zoom_w),
                          zeros, zoom_h, (height - 1.0) / 2.0 * (1.0 - zoom_h),
                          zeros, zeros], axis=1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


class RandomTranslation(_AffineLayer):
    """Shifts images by a random offset during training.

    Args:
        height_factor: a float or a pair `(lower, upper)` in `[-1, 1]`, fractions of
            the height. The vertical shift is drawn from `[lower, upper] * height`
            pixels (positive: down); a single float f means `(-f, f)`.
        width_factor: the same for the horizontal shift (positive: right).
        fill_mode: `"reflect"` (default), `"wrap"`, `"constant"` or `"nearest"`.
        interpolation: `"bilinear"` (default) or `"nearest"`.
        seed: optional int, the random seed.
        fill_value: float, the value outside the image with `fill_mode="constant"`.
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.config.image_data_format()`.

    ```python
    keras.layers.RandomTranslation(0.1, 0.1)
    ```
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, data_format=None,
                 **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        name = type(self).__name__
        self.height_factor = height_factor
        self.width_factor = width_factor
        self._height = parse_factor(name, height_factor, arg="height_factor",
                                    symmetric_low=lambda f: -f)
        self._width = parse_factor(name, width_factor, arg="width_factor",
                                   symmetric_low=lambda f: -f)

    def _transforms(self, key, batch, height, width):
        key_h, key_w = jax.random.split(key)
        dy = _uniform(key_h, (batch,), self._height) * height
        dx = _uniform(key_w, (batch,), self._width) * width
        zeros, ones = jnp.zeros((batch,)), jnp.ones((batch,))
        return jnp.stack([ones, zeros, -dx, zeros, ones, -dy, zeros, zeros], axis=1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


def _shear_factor(layer_name, factor, arg):
    # A number f in [0, 1] means (-f, f). Keras also requires a pair's entries in [0, 1],
    # which rejects its own get_config output (-f, f); pairs in [-1, 1] are taken here.
    if isinstance(factor, (tuple, list)):
        return parse_factor(layer_name, factor, (-1.0, 1.0), arg)
    return parse_factor(layer_name, factor, (0.0, 1.0), arg, symmetric_low=lambda f: -f)


class RandomShear(_AffineLayer):
    """Shears images along x and/or y by random amounts during training.

    A shear factor s along x maps the output pixel `(x, y)` to the input point
    `(x + s y, y)` (the top-left corner stays fixed); each image's factors get a random
    sign.

    Args:
        x_factor: a float f in `[0, 1]`, meaning `(-f, f)`, or a pair `(lower, upper)`
            in `[-1, 1]`: the range of the horizontal shear factor. Default 0.0.
        y_factor: the same for the vertical shear. Default 0.0.
        interpolation: `"bilinear"` (default) or `"nearest"`.
        fill_mode: `"reflect"` (default), `"wrap"`, `"constant"` or `"nearest"`.
        fill_value: float, the value outside the image with `fill_mode="constant"`.
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.config.image_data_format()`.
        seed: optional int, the random seed.

    ```python
    keras.layers.RandomShear(x_factor=0.2, y_factor=0.2)
    ```
    """

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation="bilinear",
                 fill_mode="reflect", fill_value=0.0, data_format=None, seed=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        name = type(self).__name__
        self.x_factor = _shear_factor(name, x_factor, "x_factor")
        self.y_factor = _shear_factor(name, y_factor, "y_factor")

    def _transforms(self, key, batch, height, width):
        key_sign, key_y, key_x = jax.random.split(key, 3)
        sign = jnp.where(jax.random.uniform(key_sign, (batch,)) > 0.5, -1.0, 1.0)
        shear_x = _uniform(key_x, (batch,), self.x_factor) * sign
        shear_y = _uniform(key_y, (batch,), self.y_factor) * sign
        zeros, ones = jnp.zeros((batch,)), jnp.ones((batch,))
        return jnp.stack([ones, shear_x, zeros, shear_y, ones, zeros, zeros, zeros], axis=1)

    def get_config(self):
        return {**super().get_config(), "x_factor": self.x_factor, "y_factor": self.y_factor}


class RandomPerspective(_AffineLayer):
    """Applies a random perspective warp to images during training.

    The four corners of an image move by up to `scale / 2` of their coordinates (each
    x and y independently), and the image is warped onto them; areas left uncovered are
    filled with `fill_value`. Each image is warped with a probability drawn from
    `factor`, as in Keras.

    Args:
        factor: a float f in `[0, 1]` (meaning `(0, f)`) or a pair: the range of the
            per-image probability of a warp (default 1.0).
        scale: float in `[0, 1]`, the strength of the warp (default 1.0).
        interpolation: `"bilinear"` (default) or `"nearest"`.
        fill_value: float, the value of uncovered areas (default 0.0).
        seed: optional int, the random seed.
        data_format: `"channels_last"` or `"channels_first"`; default
            `keras.config.image_data_format()`.

    ```python
    keras.layers.RandomPerspective(factor=0.5, scale=0.3)
    ```
    """

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_value=0.0,
                 seed=None, data_format=None, **kwargs):
        super().__init__("constant", interpolation, seed, fill_value, data_format, **kwargs)
        name = type(self).__name__
        self.factor = parse_factor(name, factor, (0.0, 1.0))
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 <= scale <= 1:
            raise ValueError(f"{name}: `scale` must be a number in [0, 1]. "
                             f"Received: scale={scale!r}")
        self.scale = scale

    def _transforms(self, key, batch, height, width):
        key_p, key_u, key_corners = jax.random.split(key, 3)
        p = _uniform(key_p, (batch,), self.factor)
        apply = jax.random.uniform(key_u, (batch,)) < p
        shifts = _uniform(key_corners, (batch, 4, 2), (-0.5 * self.scale, 0.5 * self.scale))
        corners = jnp.array([[0.0, 0.0], [width - 1.0, 0.0], [0.0, height - 1.0],
                             [width - 1.0, height - 1.0]])
        start = jnp.broadcast_to(corners, (batch, 4, 2))
        return apply, affine.homography(start, start + start * shifts)

    def transform_images(self, images, transformation, training, interpolation=None):
        if transformation is None:
            return images
        apply, transforms = transformation
        warped = super().transform_images(images, transforms, training, interpolation)
        return jnp.where(apply[:, None, None, None], warped, images)

    def get_config(self):
        config = super().get_config()
        del config["fill_mode"]
        return {**config, "factor": self.factor, "scale": self.scale}
