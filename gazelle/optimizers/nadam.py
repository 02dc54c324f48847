"""Nadam: Adam with Nesterov momentum. [L1: gazelle.optimizers]"""
from gazelle.optimizers import transforms
from gazelle.optimizers.optimizer import Optimizer


class Nadam(Optimizer):
    """Optimizer that implements the Nadam algorithm (Adam with Nesterov momentum, Dozat 2015).

    Uses Keras's momentum-cache schedule `mu_t = beta_1 * (1 - 0.5 * 0.96^t)`; its running
    product is one extra variable, last in `variables` (Keras names it `variable`).

    Args:
        learning_rate: A float or a `keras.optimizers.schedules.LearningRateSchedule`.
            Defaults to `0.001`.
        beta_1: The exponential decay rate for the 1st moment estimates. Defaults to `0.9`.
        beta_2: The exponential decay rate for the 2nd moment estimates. Defaults to `0.999`.
        epsilon: A small constant for numerical stability. Defaults to `1e-7`.
        **kwargs: the common optimizer arguments (`weight_decay`, `clipnorm`, `clipvalue`,
            `global_clipnorm`, `loss_scale_factor`, `name`); see `Optimizer`.

    ```python
    opt = keras.optimizers.Nadam(learning_rate=0.002)
    ```
    """

    _config_keys = ("beta_1", "beta_2", "epsilon")
    _keras_names = {"u_product": "variable"}

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def _rule(self):
        return transforms.keras_nadam(self.beta_1, self.beta_2, self.epsilon)
