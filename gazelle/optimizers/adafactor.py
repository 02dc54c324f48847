"""Adafactor: Adam-like steps with factored (row x column) second moments.
[L1: jax, gazelle.optimizers]"""
import jax

from gazelle.optimizers import extra_transforms
from gazelle.optimizers.optimizer import Optimizer


class Adafactor(Optimizer):
    """Optimizer that implements the Adafactor algorithm.

    For weights of rank 2 or more, the second moment is kept as row and column means
    (memory `O(rows + cols)` instead of `O(rows * cols)`); the step is relative to the
    weight's RMS and its update RMS is clipped at `clip_threshold`.

    Args:
        learning_rate: A float or a `keras.optimizers.schedules.LearningRateSchedule`.
            Defaults to `0.001`. The effective rate is `min(learning_rate, 1/sqrt(t))`.
        beta_2_decay: float, defaults to -0.8. The decay rate of `beta_2`.
        epsilon_1: float, defaults to 1e-30. A small offset to keep denominator away
            from 0.
        epsilon_2: float, defaults to 1e-3. A small offset to avoid learning rate
            becoming too small by time.
        clip_threshold: float, defaults to 1.0. Clipping threshold. This is a part of
            Adafactor algorithm, independent from `clipnorm`, `clipvalue`, and
            `global_clipnorm`.
        relative_step: bool, defaults to `True`. If `learning_rate` is a constant and
            `relative_step=True`, learning rate will be adjusted based on current
            iterations. This is a default learning rate decay in Adafactor.
        **kwargs: the common optimizer arguments (`weight_decay`, `clipnorm`, `clipvalue`,
            `global_clipnorm`, `loss_scale_factor`, `name`); see `Optimizer`.

    ```python
    opt = keras.optimizers.Adafactor(learning_rate=0.01)
    ```
    """

    _config_keys = ("beta_2_decay", "epsilon_1", "epsilon_2", "clip_threshold",
                    "relative_step")

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30,
                 epsilon_2=1e-3, clip_threshold=1.0, relative_step=True, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_2_decay = beta_2_decay
        self.epsilon_1 = epsilon_1
        self.epsilon_2 = epsilon_2
        self.clip_threshold = clip_threshold
        self.relative_step = relative_step

    def _rule(self):
        return extra_transforms.keras_adafactor(self.beta_2_decay, self.epsilon_1,
                                                self.epsilon_2, self.clip_threshold)

    def _slot_name(self, path):
        # Keras names the row/column statistics after the weight itself ("opt/kernel"); below
        # rank 2 they are int32 placeholders of the same name.
        field = getattr(path[-1], "name", None)
        if field in ("r", "c"):
            index = [k.idx for k in path if isinstance(k, jax.tree_util.SequenceKey)][-1]
            return self._trainable_variables[index].name
        return super()._slot_name(path)
