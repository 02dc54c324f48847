"""AdamW: Adam with decoupled weight decay. [L1: gazelle.optimizers]"""
from gazelle.optimizers.adam import Adam


class AdamW(Adam):
    """Optimizer that implements Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    Before each Adam step, every variable shrinks by `learning_rate * weight_decay * w`
    (see `exclude_from_weight_decay` to skip some).

    Args:
        learning_rate: A float or a `keras.optimizers.schedules.LearningRateSchedule`.
            Defaults to `0.001`.
        weight_decay: Float. The weight decay rate. Defaults to `0.004`.
        beta_1: The exponential decay rate for the 1st moment estimates. Defaults to `0.9`.
        beta_2: The exponential decay rate for the 2nd moment estimates. Defaults to `0.999`.
        epsilon: A small constant for numerical stability. Defaults to `1e-7`.
        amsgrad: Boolean. Whether to apply the AMSGrad variant. Defaults to `False`.
        **kwargs: the common optimizer arguments (`clipnorm`, `clipvalue`, `global_clipnorm`,
            `loss_scale_factor`, `name`); see `Optimizer`.

    ```python
    opt = keras.optimizers.AdamW(learning_rate=1e-3, weight_decay=1e-4)
    ```
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, **kwargs):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad,
                         weight_decay=weight_decay, **kwargs)
