"""Running means of the hinge and probabilistic losses, under Keras 3's metric names.
[L1: jax, gazelle.losses, gazelle.metrics.metric]

The per-sample math is `gazelle.losses`' (functions first); each class only names it and
keeps the loss's options in its config.
"""
import jax.numpy as jnp

from gazelle import losses
from gazelle.metrics.metric import Mean, MeanMetricWrapper


class _NamedMean(MeanMetricWrapper):
    """A running mean of one loss function whose config is name, dtype and its options."""


    def __init__(self, name, dtype, **options):
        super().__init__(type(self)._loss, name=name, dtype=dtype, **options)
        for key, value in options.items():
            setattr(self, key, value)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype,
                **{key: getattr(self, key) for key in self._fn_kwargs}}


class Hinge(_NamedMean):
    """Computes the hinge metric between `y_true` and `y_pred`.

    `y_true` values are expected to be -1 or 1 (0/1 labels are converted).

    Args:
        name: (Optional) string name of the metric instance. Defaults to `"hinge"`.
        dtype: (Optional) data type of the metric result.

    ```python
    m = Hinge()
    m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    m.result()   # 1.3
    ```
    """

    _loss = staticmethod(losses.hinge)

    def __init__(self, name="hinge", dtype=None):
        super().__init__(name, dtype)


class SquaredHinge(_NamedMean):
    """Computes the squared hinge metric between `y_true` and `y_pred`.

    Args:
        name: (Optional) string name of the metric instance. Defaults to
            `"squared_hinge"`.
        dtype: (Optional) data type of the metric result.

    ```python
    m = SquaredHinge()
    m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    m.result()   # 1.86
    ```
    """

    _loss = staticmethod(losses.squared_hinge)

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(name, dtype)


class CategoricalHinge(_NamedMean):
    """Computes the categorical hinge metric between `y_true` and `y_pred`.

    Args:
        name: (Optional) string name of the metric instance. Defaults to
            `"categorical_hinge"`.
        dtype: (Optional) data type of the metric result.

    ```python
    m = CategoricalHinge()
    m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    m.result()   # 1.4
    ```
    """

    _loss = staticmethod(losses.categorical_hinge)

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(name, dtype)


class KLDivergence(_NamedMean):
    """Computes Kullback-Leibler divergence metric between `y_true` and `y_pred`.

    Args:
        name: (Optional) string name of the metric instance. Defaults to
            `"kl_divergence"`.
        dtype: (Optional) data type of the metric result.

    ```python
    m = KLDivergence()
    m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    m.result()   # 0.458
    ```
    """

    _loss = staticmethod(losses.kl_divergence)

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(name, dtype)


class Poisson(_NamedMean):
    """Computes the Poisson metric between `y_true` and `y_pred`.

    `metric = y_pred - y_true * log(y_pred)`, averaged.

    Args:
        name: (Optional) string name of the metric instance. Defaults to `"poisson"`.
        dtype: (Optional) data type of the metric result.

    ```python
    m = Poisson()
    m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    m.result()   # 0.49999997
    ```
    """

    _loss = staticmethod(losses.poisson)

    def __init__(self, name="poisson", dtype=None):
        super().__init__(name, dtype)


class BinaryCrossentropy(_NamedMean):
    """Computes the crossentropy metric between the labels and predictions (two classes).

    Args:
        name: (Optional) string name of the metric instance. Defaults to
            `"binary_crossentropy"`.
        dtype: (Optional) data type of the metric result.
        from_logits: (Optional) Whether output is expected to be a logits tensor.
            By default, we consider that output encodes a probability distribution.
        label_smoothing: (Optional) Float in `[0, 1]`. When > 0, label values are
            smoothed, meaning the confidence on label values are relaxed.
            e.g. `label_smoothing=0.2` means that we will use a value of 0.1 for
            label "0" and 0.9 for label "1".

    ```python
    m = BinaryCrossentropy()
    m.update_state([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    m.result()   # 0.8157
    ```
    """

    _loss = staticmethod(losses.binary_crossentropy)

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0):
        super().__init__(name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


class CategoricalCrossentropy(_NamedMean):
    """Computes the crossentropy metric between one-hot labels and predictions.

    Args:
        name: (Optional) string name of the metric instance. Defaults to
            `"categorical_crossentropy"`.
        dtype: (Optional) data type of the metric result.
        from_logits: (Optional) Whether output is expected to be a logits tensor.
            By default, we consider that output encodes a probability distribution.
        label_smoothing: (Optional) Float in `[0, 1]`. When > 0, label values are
            smoothed towards the uniform distribution.
        axis: (Optional) Defaults to `-1`. The dimension along which entropy is
            computed.

    ```python
    m = CategoricalCrossentropy()
    m.update_state([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    m.result()   # 1.1769392
    ```
    """

    _loss = staticmethod(losses.categorical_crossentropy)

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0, axis=-1):
        super().__init__(name, dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(_NamedMean):
    """Computes the crossentropy metric between integer labels and predictions.

    Args:
        name: (Optional) string name of the metric instance. Defaults to
            `"sparse_categorical_crossentropy"`.
        dtype: (Optional) data type of the metric result.
        from_logits: (Optional) Whether output is expected to be a logits tensor.
            By default, we consider that output encodes a probability distribution.
        ignore_class: (Optional) integer. The ID of a class to be ignored.
            Defaults to `None`.
        axis: (Optional) Defaults to `-1`. The dimension along which entropy is
            computed.

    ```python
    m = SparseCategoricalCrossentropy()
    m.update_state([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    m.result()   # 1.1769392
    ```
    """

    _loss = staticmethod(losses.sparse_categorical_crossentropy)

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None,
                 from_logits=False, ignore_class=None, axis=-1):
        super().__init__(name, dtype, from_logits=from_logits, ignore_class=ignore_class,
                         axis=axis)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulates the crossentropy, weighted by `sample_weight`.

        Args:
            y_true: Integer class ids.
            y_pred: The predicted values (probabilities or logits).
            sample_weight: Optional per-sample weights. Defaults to `None`. With
                `ignore_class`, samples of that class also get weight 0 (Keras 3 does
                this only when weights are given; without them they count as 0 loss).
        """
        if self.ignore_class is not None and sample_weight is not None:
            values = self._fn(y_true, y_pred, **self._fn_kwargs)
            keep = (jnp.asarray(y_true) != self.ignore_class).reshape(values.shape)
            weight = jnp.asarray(sample_weight).astype(self.dtype)
            keep, weight = losses.squeeze_or_expand_to_same_rank(keep.astype(self.dtype),
                                                                 weight)
            return Mean.update_state(self, values, sample_weight=weight * keep)
        return super().update_state(y_true, y_pred, sample_weight=sample_weight)
