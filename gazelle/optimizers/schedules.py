"""Learning-rate schedules: pure jnp functions of the optimizer step. [L1: jax, gazelle.config]

A schedule is called with the step (an int array, traced inside `jit`) and returns the
learning rate as a float32 scalar, with Keras 3's formulas. The optimizer calls it with
its `iterations` inside `stateless_apply`, so a compiled train step follows the schedule.
"""
import math

import jax.numpy as jnp

from gazelle import config


def _float(x):
    return jnp.asarray(x, config.floatx())


def _check_decay_steps(decay_steps, arg="decay_steps"):
    if decay_steps <= 0:
        raise ValueError(f"Argument `{arg}` must be > 0. Received: {arg}={decay_steps}")


class LearningRateSchedule:
    """The learning rate as a function of the optimizer step.

    Subclasses implement `__call__(step)` with `jax.numpy` operations (it runs inside
    `jit`) and `get_config()`.

    ```python
    class MyLRSchedule(keras.optimizers.schedules.LearningRateSchedule):
        def __init__(self, initial_learning_rate):
            self.initial_learning_rate = initial_learning_rate

        def __call__(self, step):
            return self.initial_learning_rate / (step + 1)

        def get_config(self):
            return {"initial_learning_rate": self.initial_learning_rate}

    optimizer = keras.optimizers.SGD(learning_rate=MyLRSchedule(0.1))
    ```
    """

    def __call__(self, step):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `__call__(self, step)`.")

    def get_config(self):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` "
            "to be serializable.")

    @classmethod
    def from_config(cls, config):
        """Instantiates a schedule from the output of `get_config()`."""
        return cls(**config)


class ExponentialDecay(LearningRateSchedule):
    """A schedule that decays exponentially: `initial_lr * decay_rate ^ (step / decay_steps)`.

    Args:
        initial_learning_rate: A Python float. The initial learning rate.
        decay_steps: A Python integer. Must be positive.
        decay_rate: A Python float. The decay rate.
        staircase: Boolean. If `True`, `step / decay_steps` is an integer division and the
            learning rate decays at discrete intervals. Defaults to `False`.
        name: String. Defaults to `"ExponentialDecay"`.

    ```python
    lr = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=100000, decay_rate=0.96)
    optimizer = keras.optimizers.SGD(learning_rate=lr)
    ```
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        _check_decay_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        p = _float(step) / _float(self.decay_steps)
        if self.staircase:
            p = jnp.floor(p)
        return _float(self.initial_learning_rate) * jnp.power(_float(self.decay_rate), p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """A piecewise constant schedule: `values[i]` while `boundaries[i-1] < step <= boundaries[i]`.

    Args:
        boundaries: A list of Python numbers with strictly increasing entries.
        values: A list of Python numbers, one more than `boundaries`.
        name: String. Defaults to `"PiecewiseConstant"`.

    ```python
    # 1.0 for the first 100001 steps, 0.5 for the next 10000, then 0.1.
    lr = keras.optimizers.schedules.PiecewiseConstantDecay([100000, 110000], [1.0, 0.5, 0.1])
    ```
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of `boundaries` should be 1 less than the length of `values`. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}.")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        step = jnp.asarray(step)
        boundaries = jnp.asarray(self.boundaries).astype(step.dtype)
        index = jnp.searchsorted(boundaries, step, side="left")
        return jnp.asarray(self.values)[index]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """Decays the learning rate polynomially to `end_learning_rate` over `decay_steps`.

    `(initial_learning_rate - end_learning_rate) * (1 - min(step, decay_steps) / decay_steps)
    ^ power + end_learning_rate`.

    Args:
        initial_learning_rate: A Python float. The initial learning rate.
        decay_steps: A Python integer. Must be positive.
        end_learning_rate: A Python float. The minimal end learning rate. Defaults to `0.0001`.
        power: A Python float. The power of the polynomial. Defaults to `1.0`.
        cycle: A boolean, whether it should cycle beyond `decay_steps` (using the first
            multiple of `decay_steps` above `step`). Defaults to `False`.
        name: String. Defaults to `"PolynomialDecay"`.

    ```python
    lr = keras.optimizers.schedules.PolynomialDecay(0.1, 10000, 0.01, power=0.5)
    ```
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        _check_decay_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        initial = _float(self.initial_learning_rate)
        end = _float(self.end_learning_rate)
        step, decay_steps = _float(step), _float(self.decay_steps)
        if self.cycle:
            decay_steps = decay_steps * jnp.where(step == 0, 1.0, jnp.ceil(step / self.decay_steps))
        else:
            step = jnp.minimum(step, decay_steps)
        p = step / decay_steps
        return (initial - end) * jnp.power(1 - p, _float(self.power)) + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(LearningRateSchedule):
    """Decays the learning rate as `initial_learning_rate / (1 + decay_rate * step / decay_steps)`.

    Args:
        initial_learning_rate: A Python float. The initial learning rate.
        decay_steps: How often to apply decay. Must be positive.
        decay_rate: A Python number. The decay rate.
        staircase: Whether to apply decay in a discrete staircase (`floor(step / decay_steps)`),
            as opposed to continuous, fashion. Defaults to `False`.
        name: String. Defaults to `"InverseTimeDecay"`.

    ```python
    lr = keras.optimizers.schedules.InverseTimeDecay(0.1, decay_steps=1.0, decay_rate=0.5)
    ```
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        _check_decay_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        p = _float(step) / _float(self.decay_steps)
        if self.staircase:
            p = jnp.floor(p)
        return _float(self.initial_learning_rate) / (_float(1) + _float(self.decay_rate) * p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """A cosine decay, optionally after a linear warmup (SGDR, Loshchilov & Hutter 2016).

    Without warmup: `initial_learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * step /
    decay_steps)) + alpha)`, with `step` capped at `decay_steps`. With `warmup_target`, the
    rate first rises linearly from `initial_learning_rate` to `warmup_target` over
    `warmup_steps`, then decays from `warmup_target`.

    Args:
        initial_learning_rate: A Python float. The initial learning rate.
        decay_steps: A Python int. Number of steps to decay over. Must be positive.
        alpha: A Python float. Minimum learning rate as a fraction of the decay's starting
            rate. Defaults to `0.0`.
        name: String. Defaults to `"CosineDecay"`.
        warmup_target: A Python float. The target learning rate of the warmup, or `None`
            for no warmup. Defaults to `None`.
        warmup_steps: A Python int. Number of steps to warm up over. Defaults to `0`.

    ```python
    lr = keras.optimizers.schedules.CosineDecay(0.0, 1000, warmup_target=0.1, warmup_steps=100)
    ```
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        _check_decay_steps(decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target

    def _decay(self, step, decay_steps, start_lr):
        cosine = 0.5 * (1.0 + jnp.cos(_float(math.pi) * (step / decay_steps)))
        return start_lr * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        initial = _float(self.initial_learning_rate)
        step, decay_steps = _float(step), _float(self.decay_steps)
        if self.warmup_target is None:
            return self._decay(jnp.minimum(step, decay_steps), decay_steps, initial)
        target, warmup_steps = _float(self.warmup_target), _float(self.warmup_steps)
        step = jnp.minimum(step, decay_steps + warmup_steps)
        warmup = (target - initial) * (step / warmup_steps) + initial
        return jnp.where(step < warmup_steps, warmup,
                         self._decay(step - warmup_steps, decay_steps, target))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """A cosine decay with warm restarts (SGDR, Loshchilov & Hutter 2016).

    The first period lasts `first_decay_steps` steps; each period after it is `t_mul`
    times longer than the one before, and starts from a peak `m_mul` times the previous
    peak. Within a period the rate follows
    `initial_learning_rate * ((1 - alpha) * m_mul**i * 0.5 * (1 + cos(pi * fraction)) + alpha)`,
    where `i` counts the restarts so far and `fraction` is how far the period has run.

    Args:
        initial_learning_rate: A Python float. The initial learning rate.
        first_decay_steps: A Python int. Number of steps in the first decay period.
            Must be positive.
        t_mul: A Python float. Factor that lengthens each period after the first.
            Defaults to `2.0`.
        m_mul: A Python float. Factor that scales the peak learning rate of each period
            after the first. Defaults to `1.0`.
        alpha: A Python float. Minimum learning rate as a fraction of
            `initial_learning_rate`. Defaults to `0.0`.
        name: String. Defaults to `"SGDRDecay"`.

    ```python
    lr = keras.optimizers.schedules.CosineDecayRestarts(0.1, first_decay_steps=1000)
    optimizer = keras.optimizers.SGD(learning_rate=lr)
    ```
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        _check_decay_steps(first_decay_steps, "first_decay_steps")
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        initial = _float(self.initial_learning_rate)
        fraction = _float(step) / _float(self.first_decay_steps)
        t_mul = _float(self._t_mul)
        if self._t_mul == 1.0:
            # Periods of equal length: the restart count is the whole part.
            restarts = jnp.floor(fraction)
            fraction = fraction - restarts
        else:
            # Periods growing geometrically: period i starts at (1 - t^i) / (1 - t) periods.
            restarts = jnp.floor(jnp.log(1.0 - fraction * (1.0 - t_mul)) / jnp.log(t_mul))
            elapsed = (1.0 - t_mul ** restarts) / (1.0 - t_mul)
            fraction = (fraction - elapsed) / t_mul ** restarts
        peak = _float(self._m_mul) ** restarts
        cosine = 0.5 * peak * (1.0 + jnp.cos(_float(math.pi) * fraction))
        return initial * ((1 - _float(self.alpha)) * cosine + _float(self.alpha))

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
                "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


ALL_SCHEDULES = {cls.__name__: cls for cls in (
    ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay, CosineDecay,
    CosineDecayRestarts)}


def serialize(learning_rate_schedule):
    """Returns a schedule's config in Keras 3's serialized form.

    Args:
        learning_rate_schedule: A `LearningRateSchedule` instance.
    """
    name = type(learning_rate_schedule).__name__
    return {"module": "keras.optimizers.schedules", "class_name": name,
            "config": learning_rate_schedule.get_config(),
            "registered_name": None if name in ALL_SCHEDULES else name}


def deserialize(config, custom_objects=None):
    """Instantiates a schedule from its serialized form.

    Args:
        config: A dict with `class_name` and `config`, as made by `serialize`.
        custom_objects: Optional dict mapping names to custom schedule classes.
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise TypeError("schedules.deserialize: expected a dict with 'class_name' and "
                        f"'config', received {config!r}.")
    known = {**ALL_SCHEDULES, **(custom_objects or {})}
    name = config.get("registered_name") or config["class_name"]
    cls = known.get(name) or known.get(config["class_name"])
    if cls is None:
        raise ValueError(f"Unknown learning rate schedule {config['class_name']!r}. "
                         f"Valid names: {sorted(known)}; pass custom ones in `custom_objects`.")
    return cls.from_config(config.get("config", {}))
