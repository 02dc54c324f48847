"""SGD: gradient descent with optional (Nesterov) momentum. [L1: gazelle.optimizers]"""
from gazelle.optimizers import transforms
from gazelle.optimizers.optimizer import Optimizer, _check_number


class SGD(Optimizer):
    """Gradient descent (with momentum) optimizer.

    With `momentum` 0: `w = w - learning_rate * g`. Otherwise
    `velocity = momentum * velocity - learning_rate * g; w = w + velocity`, and with
    `nesterov=True`: `w = w + momentum * velocity - learning_rate * g`.

    Args:
        learning_rate: A float or a `keras.optimizers.schedules.LearningRateSchedule`.
            Defaults to `0.01`.
        momentum: float hyperparameter >= 0 that accelerates gradient descent in the
            relevant direction and dampens oscillations. Defaults to `0.0`.
        nesterov: boolean. Whether to apply Nesterov momentum. Defaults to `False`.
        **kwargs: the common optimizer arguments (`weight_decay`, `clipnorm`, `clipvalue`,
            `global_clipnorm`, `loss_scale_factor`, `name`); see `Optimizer`.

    ```python
    opt = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True)
    ```
    """

    _config_keys = ("momentum", "nesterov")

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        _check_number("momentum", momentum, minimum=0, maximum=1)
        super().__init__(learning_rate, **kwargs)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _rule(self):
        return transforms.keras_sgd(self.momentum, self.nesterov)
