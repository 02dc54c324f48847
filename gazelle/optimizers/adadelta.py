"""Adadelta: step sizes from running averages of squared gradients and updates.
[L1: gazelle.optimizers]"""
from gazelle.optimizers import extra_transforms
from gazelle.optimizers.optimizer import Optimizer


class Adadelta(Optimizer):
    """Optimizer that implements the Adadelta algorithm.

    Adadelta adapts the step of each weight from a moving window of gradient updates,
    `delta = -sqrt(E[delta^2] + epsilon) / sqrt(E[g^2] + epsilon) * g`, so it keeps
    learning even after many updates. Keras scales `delta` by `learning_rate`.

    Args:
        learning_rate: A float or a `keras.optimizers.schedules.LearningRateSchedule`.
            Defaults to `0.001`. (The original paper uses 1.0.)
        rho: A floating point value. The decay rate. Defaults to `0.95`.
        epsilon: Small floating point value for maintaining numerical stability.
            Defaults to `1e-7`.
        **kwargs: the common optimizer arguments (`weight_decay`, `clipnorm`, `clipvalue`,
            `global_clipnorm`, `loss_scale_factor`, `name`); see `Optimizer`.

    ```python
    model.compile(optimizer=keras.optimizers.Adadelta(learning_rate=1.0), loss="mse")
    ```
    """

    _config_keys = ("rho", "epsilon")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def _rule(self):
        return extra_transforms.keras_adadelta(self.rho, self.epsilon)
