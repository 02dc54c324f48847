"""LossScaleOptimizer: Keras 3's name, refused with a clear message. [L1]

Dynamic loss scaling protects float16 gradients from underflow. gazelle computes in
float32 only, and its training step does not scale the loss (Keras's trainer calls
`optimizer.scale_loss`), so an optimizer that unscaled gradients would shrink every step
by the scale. Refusing is honest; the inner optimizer alone trains identically in float32.
"""


class LossScaleOptimizer:
    """An optimizer that dynamically scales the loss to prevent float16 underflow.

    Not supported: gazelle trains in float32 (no `"mixed_float16"` policy), where loss
    scaling changes nothing. Pass the inner optimizer itself.

    Args:
        inner_optimizer: The `keras.optimizers.Optimizer` instance to wrap.
        initial_scale: Float. The initial loss scale. Defaults to `2.0**15`.
        dynamic_growth_steps: Int. How often to update the scale upwards. Defaults
            to `2000`.
        name: String. The name to use for momentum accumulator weights created by
            the optimizer.

    ```python
    model.compile(optimizer=keras.optimizers.Adam(), loss="mse")   # instead
    ```
    """

    def __init__(self, inner_optimizer, initial_scale=2.0 ** 15, dynamic_growth_steps=2000,
                 name=None, **kwargs):
        raise NotImplementedError(
            "LossScaleOptimizer is not supported: gazelle computes in float32, where "
            "dynamic loss scaling has no effect, and its training step does not scale the "
            f"loss. Use the inner optimizer directly (here: {inner_optimizer!r}).")
