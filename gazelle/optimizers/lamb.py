"""LAMB: layer-wise adaptive large-batch optimization. [L1: gazelle.optimizers]"""
from gazelle.optimizers import extra_transforms
from gazelle.optimizers.optimizer import Optimizer


class Lamb(Optimizer):
    """Optimizer that implements the Lamb algorithm.

    An Adam step whose size, per weight, is rescaled by the trust ratio
    `||w|| / ||adam_direction||`, which keeps large-batch training stable.

    Args:
        learning_rate: A float or a `keras.optimizers.schedules.LearningRateSchedule`.
            Defaults to `0.001`.
        beta_1: A float value. The exponential decay rate for the 1st moment
            estimates. Defaults to `0.9`.
        beta_2: A float value. The exponential decay rate for the 2nd moment
            estimates. Defaults to `0.999`.
        epsilon: A small constant for numerical stability. Defaults to `1e-7`.
        **kwargs: the common optimizer arguments (`weight_decay`, `clipnorm`, `clipvalue`,
            `global_clipnorm`, `loss_scale_factor`, `name`); see `Optimizer`.

    ```python
    opt = keras.optimizers.Lamb(learning_rate=1e-3)
    ```
    """

    _config_keys = ("beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def _rule(self):
        return extra_transforms.keras_lamb(self.beta_1, self.beta_2, self.epsilon)
