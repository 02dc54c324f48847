"""Schedule-free AdamW: AdamW steps averaged on the fly, so no learning-rate decay is
needed. [L1: gazelle.optimizers]"""
from gazelle.optimizers import extra_transforms
from gazelle.optimizers.optimizer import Optimizer


class ScheduleFreeAdamW(Optimizer):
    """Optimizer that implements the Schedule-Free AdamW algorithm.

    Replaces the learning-rate schedule by averaging: the weights the model uses are an
    interpolation (`beta_1`) between a fast AdamW iterate and the running mean of those
    iterates. Train with a constant learning rate (optionally a linear `warmup_steps`).

    Args:
        learning_rate: A float or a `keras.optimizers.schedules.LearningRateSchedule`.
            Defaults to `0.0025`.
        beta_1: The interpolation factor between the fast iterate and the average
            (the momentum of the method). Defaults to `0.9`.
        beta_2: The exponential decay rate for the 2nd moment estimates. Defaults to
            `0.999`.
        epsilon: A small constant for numerical stability. Defaults to `1e-8`.
        warmup_steps: Integer, the number of steps over which the learning rate grows
            linearly from 0. Defaults to `0`.
        **kwargs: the common optimizer arguments (`weight_decay`, `clipnorm`, `clipvalue`,
            `global_clipnorm`, `loss_scale_factor`, `name`); see `Optimizer`.

    ```python
    opt = keras.optimizers.ScheduleFreeAdamW(learning_rate=0.0025, warmup_steps=100)
    ```
    """

    _config_keys = ("beta_1", "beta_2", "epsilon", "warmup_steps")

    def __init__(self, learning_rate=0.0025, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 warmup_steps=0, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.warmup_steps = warmup_steps

    def _rule(self):
        return extra_transforms.keras_schedule_free_adamw(self.beta_1, self.beta_2,
                                                          self.epsilon, self.warmup_steps)
