"""ActivityRegularization: the identity, plus an L1/L2 penalty on its input. [L2: regularizers]"""
from gazelle import regularizers
from gazelle.layers.layer import Layer


class ActivityRegularization(Layer):
    """Returns its input unchanged and adds `l1 * sum(|x|) + l2 * sum(x**2)` to the loss.

    Args:
        l1: L1 regularization factor, a float >= 0 (default 0.0).
        l2: L2 regularization factor, a float >= 0 (default 0.0).

    ```python
    layer = keras.layers.ActivityRegularization(l1=0.01)
    y = layer(np.ones((2, 3), "float32"))     # layer.losses == [0.06]
    ```
    """

    supports_masking = True

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        kwargs.pop("activity_regularizer", None)     # a saved config may carry it
        for arg, value in (("l1", l1), ("l2", l2)):
            try:
                ok = float(value) >= 0
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(f"ActivityRegularization: `{arg}` must be a float >= 0. "
                                 f"Received: {arg}={value!r}")
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.l1 = l1
        self.l2 = l2

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}


__all__ = ["ActivityRegularization"]
