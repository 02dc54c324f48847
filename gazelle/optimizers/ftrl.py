"""FTRL-proximal ("Follow The Regularized Leader"). [L1: gazelle.optimizers]"""
from gazelle.optimizers import extra_transforms
from gazelle.optimizers.optimizer import Optimizer


class Ftrl(Optimizer):
    """Optimizer that implements the FTRL algorithm.

    Keeps per-weight accumulators of squared gradients (`accumulator`) and of
    learning-rate-scaled gradients (`linear`), and recomputes each weight from them,
    with L1 (sparsity), L2 and L2-shrinkage regularization.

    Args:
        learning_rate: A float or a `keras.optimizers.schedules.LearningRateSchedule`.
            Defaults to `0.001`.
        learning_rate_power: A float value, must be less or equal to zero. Controls
            how the learning rate decreases during training. Use zero for a fixed
            learning rate. Defaults to `-0.5`.
        initial_accumulator_value: The starting value for accumulators. Only zero or
            positive values are allowed. Defaults to `0.1`.
        l1_regularization_strength: A float value, must be greater than or equal to
            zero. Defaults to `0.0`.
        l2_regularization_strength: A float value, must be greater than or equal to
            zero. Defaults to `0.0`.
        l2_shrinkage_regularization_strength: A float value, must be greater than or
            equal to zero. This differs from L2 above in that the L2 above is a
            stabilization penalty, whereas this L2 shrinkage is a magnitude penalty.
            Defaults to `0.0`.
        beta: A float value, representing the beta value from the paper. Defaults
            to `0.0`.
        **kwargs: the common optimizer arguments (`weight_decay`, `clipnorm`, `clipvalue`,
            `global_clipnorm`, `loss_scale_factor`, `name`); see `Optimizer`.

    ```python
    opt = keras.optimizers.Ftrl(learning_rate=0.1, l1_regularization_strength=0.01)
    ```
    """

    _config_keys = ("learning_rate_power", "initial_accumulator_value",
                    "l1_regularization_strength", "l2_regularization_strength",
                    "l2_shrinkage_regularization_strength", "beta")

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, **kwargs):
        checks = {"initial_accumulator_value": initial_accumulator_value,
                  "l1_regularization_strength": l1_regularization_strength,
                  "l2_regularization_strength": l2_regularization_strength,
                  "l2_shrinkage_regularization_strength": l2_shrinkage_regularization_strength}
        for arg, value in checks.items():
            if value < 0.0:
                raise ValueError(f"Ftrl: `{arg}` needs to be positive or zero. Received: "
                                 f"{arg}={value}.")
        if learning_rate_power > 0.0:
            raise ValueError("Ftrl: `learning_rate_power` needs to be negative or zero. "
                             f"Received: learning_rate_power={learning_rate_power}.")
        super().__init__(learning_rate, **kwargs)
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def _rule(self):
        return extra_transforms.keras_ftrl(
            self.learning_rate_power, self.initial_accumulator_value,
            self.l1_regularization_strength, self.l2_regularization_strength,
            self.l2_shrinkage_regularization_strength, self.beta)
