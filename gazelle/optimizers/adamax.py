"""Adamax: Adam with an infinity-norm second moment. [L1: gazelle.optimizers]"""
from gazelle.optimizers import transforms
from gazelle.optimizers.optimizer import Optimizer


class Adamax(Optimizer):
    """Optimizer that implements the Adamax algorithm, a variant of Adam based on the infinity norm.

    `m = beta_1 * m + (1 - beta_1) * g; u = max(beta_2 * u, |g|);
    w = w - learning_rate * m / ((1 - beta_1^t) * (u + epsilon))`.

    Args:
        learning_rate: A float or a `keras.optimizers.schedules.LearningRateSchedule`.
            Defaults to `0.001`.
        beta_1: The exponential decay rate for the 1st moment estimates. Defaults to `0.9`.
        beta_2: The exponential decay rate for the exponentially weighted infinity norm.
            Defaults to `0.999`.
        epsilon: A small constant for numerical stability. Defaults to `1e-7`.
        **kwargs: the common optimizer arguments (`weight_decay`, `clipnorm`, `clipvalue`,
            `global_clipnorm`, `loss_scale_factor`, `name`); see `Optimizer`.

    ```python
    opt = keras.optimizers.Adamax(learning_rate=0.002)
    ```
    """

    _config_keys = ("beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def _rule(self):
        return transforms.keras_adamax(self.beta_1, self.beta_2, self.epsilon)
