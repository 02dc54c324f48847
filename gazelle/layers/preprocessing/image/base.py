"""The base of the image preprocessing layers, and their argument checks. [L2]

An image layer takes one image `(height, width, channels)`, a batch
`(batch, height, width, channels)` (or the channels-first forms), or a dict with an
`"images"` entry plus optional `"labels"` and `"segmentation_masks"`. Subclasses see
batched channels-last images only: `_draw(key, images)` draws a call's random parameters
(from the layer's SeedGenerator, in training only), `transform_images` applies them,
and `transform_labels` / `transform_segmentation_masks` apply the same draw to the
other entries. Policies (RandAugment, AugMix) call their sublayers' `_draw` with keys
of their own.

Like Keras 3, a random layer called without `training` augments (`layer(images)` on
NumPy arrays returns augmented images); `predict` and `evaluate` call it with
`training=False`, where it is the identity.
"""
import numbers

import jax.numpy as jnp

from gazelle.layers.layer import Layer
from gazelle.layers.reshaping import _data_format

_DICT_KEYS = ("images", "labels", "segmentation_masks")


def check_choice(layer_name, arg, value, choices):
    if value not in choices:
        raise NotImplementedError(
            f"{layer_name}: unknown `{arg}` {value!r}. Expected one of {tuple(choices)}.")
    return value


def _is_number(x):
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def parse_factor(layer_name, factor, bounds=(-1.0, 1.0), arg="factor", symmetric_low=None,
                 open_low=False):
    """`factor` (a number f or a pair) -> (lower, upper), as Keras reads it.

    A number f gives `(max(-f, bounds[0]), f)` (or `(symmetric_low(f), f)`); a pair is
    sorted. Every given value must lie in `bounds` (the lower bound excluded when
    `open_low`).
    """
    lo, hi = bounds
    message = (f"{layer_name}: `{arg}` must be a number or a pair of numbers in "
               f"{'(' if open_low else '['}{lo}, {hi}]. Received: {arg}={factor!r}")

    def ok(v):
        return _is_number(v) and (lo < v if open_low else lo <= v) and v <= hi

    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(ok(v) for v in factor):
            raise ValueError(message)
        return tuple(sorted(float(v) for v in factor))
    if not ok(factor):
        raise ValueError(message)
    f = abs(float(factor))
    low = symmetric_low(f) if symmetric_low else max(-f, lo)
    return (float(low), f)


def check_value_range(layer_name, value_range):
    if (not isinstance(value_range, (tuple, list)) or len(value_range) != 2
            or not all(_is_number(v) for v in value_range)):
        raise ValueError(f"{layer_name}: `value_range` must be a pair of numbers (low, high). "
                         f"Received: value_range={value_range!r}")
    return tuple(sorted(value_range))


class ImageLayer(Layer):
    """Shared input handling of the image layers (not public)."""

    # Geometric layers move mask pixels with the image; color layers leave masks alone.
    _moves_pixels = False

    def __init__(self, data_format=None, bounding_box_format=None, **kwargs):
        super().__init__(**kwargs)
        if bounding_box_format is not None:
            raise NotImplementedError(
                f"{type(self).__name__}: bounding boxes are not supported in gazelle yet. "
                f"Received: bounding_box_format={bounding_box_format!r}; pass images (and "
                "labels or segmentation_masks) only.")
        self.data_format = _data_format(data_format, type(self).__name__)

    # -- hooks for subclasses (batched, channels-last) ---------------------------------
    def _draw(self, key, images):
        """This call's random parameters (a pytree of arrays) drawn from `key`, or None."""
        return None

    def get_transformation(self, images, training):
        """The draw for this call: from the layer's SeedGenerator, in training only."""
        generator = getattr(self, "seed_generator", None)
        if not training or generator is None:
            return None
        return self._draw(generator.next(), images)

    def transform_images(self, images, transformation, training):
        return images

    def transform_labels(self, labels, transformation, training):
        return labels

    def transform_segmentation_masks(self, masks, transformation, training):
        if self._moves_pixels:
            return self.transform_images(masks, transformation, training, interpolation="nearest")
        return masks

    # -- plumbing -----------------------------------------------------------------------
    def _to_nhwc(self, x, what):
        if x.ndim not in (3, 4):
            raise ValueError(
                f"Layer '{self.name}' expects {what} of rank 3 (one image) or 4 (a batch of "
                f"images). Received shape {tuple(x.shape)}.")
        batched = x.ndim == 4
        if not batched:
            x = x[None]
        if self.data_format == "channels_first":
            x = jnp.transpose(x, (0, 2, 3, 1))
        return x, batched

    def _from_nhwc(self, x, batched):
        if self.data_format == "channels_first":
            x = jnp.transpose(x, (0, 3, 1, 2))
        return x if batched else x[0]

    def _check_input(self, inputs):
        if isinstance(inputs, dict):
            unknown = set(inputs) - set(_DICT_KEYS)
            if "bounding_boxes" in unknown:
                raise NotImplementedError(
                    f"Layer '{self.name}': bounding boxes are not supported in gazelle yet.")
            if unknown or "images" not in inputs:
                raise ValueError(
                    f"Layer '{self.name}' expects a dict with an 'images' entry and optional "
                    f"{_DICT_KEYS[1:]}. Received keys {sorted(inputs)}.")

    def call(self, inputs, training=None):
        # Keras 3's image layers augment unless told otherwise (training defaults to True).
        training = True if training is None else bool(training)
        data = dict(inputs) if isinstance(inputs, dict) else {"images": inputs}
        images, batched = self._to_nhwc(jnp.asarray(data["images"]), "images")
        transformation = self.get_transformation(images, training)
        out = {"images": self._from_nhwc(
            self.transform_images(images, transformation, training), batched)}
        if "labels" in data:
            labels = jnp.asarray(data["labels"])
            labels = labels if batched else labels[None]
            labels = self.transform_labels(labels, transformation, training)
            out["labels"] = labels if batched else labels[0]
        if "segmentation_masks" in data:
            masks, _ = self._to_nhwc(jnp.asarray(data["segmentation_masks"]),
                                     "segmentation_masks")
            out["segmentation_masks"] = self._from_nhwc(
                self.transform_segmentation_masks(masks, transformation, training), batched)
        return out if isinstance(inputs, dict) else out["images"]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}
