"""Adam: adaptive first and second moment estimates. [L1: gazelle.optimizers]"""
from gazelle.optimizers import transforms
from gazelle.optimizers.optimizer import Optimizer


class Adam(Optimizer):
    """Optimizer that implements the Adam algorithm (Kingma & Ba, 2014).

    Keras's form: `lr_t = learning_rate * sqrt(1 - beta_2^t) / (1 - beta_1^t)` and
    `w = w - lr_t * m / (sqrt(v) + epsilon)`.

    Args:
        learning_rate: A float or a `keras.optimizers.schedules.LearningRateSchedule`.
            Defaults to `0.001`.
        beta_1: The exponential decay rate for the 1st moment estimates. Defaults to `0.9`.
        beta_2: The exponential decay rate for the 2nd moment estimates. Defaults to `0.999`.
        epsilon: A small constant for numerical stability ("epsilon hat" in the paper).
            Defaults to `1e-7`.
        amsgrad: Boolean. Whether to apply the AMSGrad variant ("On the Convergence of
            Adam and beyond"). Defaults to `False`.
        **kwargs: the common optimizer arguments (`weight_decay`, `clipnorm`, `clipvalue`,
            `global_clipnorm`, `loss_scale_factor`, `name`); see `Optimizer`.

    ```python
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse")
    ```
    """

    _config_keys = ("beta_1", "beta_2", "epsilon", "amsgrad")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def _rule(self):
        return transforms.keras_adam(self.beta_1, self.beta_2, self.epsilon, self.amsgrad)
