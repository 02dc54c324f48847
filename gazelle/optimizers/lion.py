"""Lion (EvoLved Sign Momentum): sign updates from interpolated momentum.
[L1: gazelle.optimizers]"""
from gazelle.optimizers import extra_transforms
from gazelle.optimizers.optimizer import Optimizer


class Lion(Optimizer):
    """Optimizer that implements the Lion algorithm.

    Each step moves every weight by `learning_rate` times the sign of
    `beta_1 * m + (1 - beta_1) * g`; the momentum `m` is then updated with `beta_2`.
    Use a smaller learning rate than for Adam (3-10x).

    Args:
        learning_rate: A float or a `keras.optimizers.schedules.LearningRateSchedule`.
            Defaults to `0.001`.
        beta_1: A float value. The rate to combine the current gradient and the 1st
            moment estimate. Defaults to `0.9`.
        beta_2: A float value. The exponential decay rate for the 1st moment
            estimate. Defaults to `0.99`.
        **kwargs: the common optimizer arguments (`weight_decay`, `clipnorm`, `clipvalue`,
            `global_clipnorm`, `loss_scale_factor`, `name`); see `Optimizer`.

    ```python
    opt = keras.optimizers.Lion(learning_rate=1e-4, weight_decay=0.01)
    ```
    """

    _config_keys = ("beta_1", "beta_2")
    _keras_names = {"slots": "momentum"}

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError("Lion: argument `beta_1` must be in the (0, 1] range. Otherwise, "
                             f"the optimizer degenerates to SignSGD. Received: beta_1={beta_1}.")
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def _rule(self):
        return extra_transforms.keras_lion(self.beta_1, self.beta_2)
