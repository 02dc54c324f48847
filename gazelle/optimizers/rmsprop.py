"""RMSprop: gradients divided by a moving root-mean-square. [L1: gazelle.optimizers]"""
from gazelle.optimizers import transforms
from gazelle.optimizers.optimizer import Optimizer, _check_number


class RMSprop(Optimizer):
    """Optimizer that implements the RMSprop algorithm.

    Keeps a moving average of the squared gradients and divides the gradient by its
    root; the centered version also subtracts the squared moving average of the gradients.

    Args:
        learning_rate: A float or a `keras.optimizers.schedules.LearningRateSchedule`.
            Defaults to `0.001`.
        rho: float, discounting factor for the old gradients. Defaults to `0.9`.
        momentum: float. If not 0.0, the optimizer tracks the momentum value, with a decay
            rate equal to `1 - momentum`. Defaults to `0.0`.
        epsilon: A small constant for numerical stability. Defaults to `1e-7`.
        centered: Boolean. If `True`, gradients are normalized by the estimated variance of
            the gradient; if `False`, by the uncentered second moment. Defaults to `False`.
        **kwargs: the common optimizer arguments (`weight_decay`, `clipnorm`, `clipvalue`,
            `global_clipnorm`, `loss_scale_factor`, `name`); see `Optimizer`.

    ```python
    opt = keras.optimizers.RMSprop(learning_rate=1e-3, rho=0.9)
    ```
    """

    _config_keys = ("rho", "momentum", "epsilon", "centered")

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, **kwargs):
        _check_number("momentum", momentum, minimum=0)
        super().__init__(learning_rate, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def _rule(self):
        return transforms.keras_rmsprop(self.rho, self.momentum, self.epsilon, self.centered)
