"""`keras.mixed_precision`: the global dtype policy and the loss-scale optimizer.
[leaf: gazelle.dtype_policies, gazelle.config]

Gazelle trains in float32, so the global policy is always `"float32"`:
`set_global_policy("float32")` is accepted and `"mixed_float16"` / `"mixed_bfloat16"` raise
NotImplementedError (as `keras.config.set_dtype_policy` does). `LossScaleOptimizer` is
`keras.optimizers.LossScaleOptimizer`.
"""
from gazelle import config as _config
from gazelle.dtype_policies import DTypePolicy

Policy = DTypePolicy


def set_global_policy(policy):
    """Sets the global dtype policy: only `"float32"` (or its DTypePolicy) is supported.

    Args:
        policy: a policy name or a `DTypePolicy`.

    ```python
    keras.mixed_precision.set_global_policy("float32")
    ```
    """
    if isinstance(policy, str):
        policy = DTypePolicy(policy)
    elif not isinstance(policy, (DTypePolicy, _config._Float32Policy)):
        raise ValueError("Invalid `policy` argument. Expected the string name of a policy "
                         "(such as 'mixed_float16') or a `DTypePolicy` instance. Received: "
                         f"policy={policy} (of type {type(policy)})")
    _config.set_dtype_policy(policy)


set_dtype_policy = set_global_policy


def global_policy():
    """The global dtype policy, a `DTypePolicy` (always `"float32"` in gazelle)."""
    return DTypePolicy(_config.dtype_policy().name)


dtype_policy = global_policy


def __getattr__(name):
    if name == "LossScaleOptimizer":
        from gazelle.optimizers import LossScaleOptimizer
        return LossScaleOptimizer
    raise AttributeError(f"module 'gazelle.mixed_precision' has no attribute {name!r}")


__all__ = ["DTypePolicy", "LossScaleOptimizer", "Policy", "dtype_policy", "global_policy",
           "set_dtype_policy", "set_global_policy"]
