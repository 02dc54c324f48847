"""Adagrad: per-parameter learning rates from accumulated squared gradients. [L1]"""
from gazelle.optimizers import transforms
from gazelle.optimizers.optimizer import Optimizer, _check_number


class Adagrad(Optimizer):
    """Optimizer that implements the Adagrad algorithm.

    `accumulator += g^2; w = w - learning_rate * g / sqrt(accumulator + epsilon)`.

    Args:
        learning_rate: A float or a `keras.optimizers.schedules.LearningRateSchedule`.
            Defaults to `0.001`.
        initial_accumulator_value: Floating point value. Starting value for the
            accumulators (per-parameter momentum values). Must be non-negative.
            Defaults to `0.1`.
        epsilon: Small floating point value for maintaining numerical stability.
            Defaults to `1e-7`.
        **kwargs: the common optimizer arguments (`weight_decay`, `clipnorm`, `clipvalue`,
            `global_clipnorm`, `loss_scale_factor`, `name`); see `Optimizer`.

    ```python
    opt = keras.optimizers.Adagrad(learning_rate=0.01)
    ```
    """

    _config_keys = ("initial_accumulator_value", "epsilon")

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        _check_number("initial_accumulator_value", initial_accumulator_value, minimum=0)
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def _rule(self):
        return transforms.keras_adagrad(self.initial_accumulator_value, self.epsilon)
