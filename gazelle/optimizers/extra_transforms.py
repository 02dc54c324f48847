"""Keras 3's update rules for Adadelta, Ftrl, Lion, Lamb, Adafactor, Muon and
ScheduleFreeAdamW as optax transforms.
[L1: jax, optax, gazelle.optimizers.transforms]

Same contract as `transforms.py` (an `update` with `learning_rate=` and `step=` extras that
returns the additive update, and NamedTuple states whose flattening gives Keras's variable
order), except that these rules also read the parameters: Ftrl and ScheduleFreeAdamW
replace a weight outright, Lamb and Adafactor scale their step by the weight's norm, and
Muon applies its two weight-decay rates itself. Formulas follow Keras 3 operation by
operation, so results match it in float32.
"""
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from gazelle.optimizers.transforms import zeros_like


class AdadeltaSlots(NamedTuple):
    accumulated_grad: jax.Array
    accumulated_delta_var: jax.Array


class FtrlSlots(NamedTuple):
    accumulator: jax.Array
    linear: jax.Array


class LambSlots(NamedTuple):
    momentum: jax.Array
    velocity: jax.Array


class AdafactorSlots(NamedTuple):
    r: jax.Array            # row statistics (int32 placeholder below rank 2, as Keras)
    c: jax.Array            # column statistics (likewise)
    velocity: jax.Array


class SlotsState(NamedTuple):
    slots: list             # one NamedTuple of slots (or one array) per parameter


def _param_rule(init, one):
    """A rule from `init(params) -> state` and `one(g, p, slots, lr, step) -> (update, slots)`."""

    def update(grads, state, params=None, *, learning_rate, step, **_):
        if params is None:
            raise ValueError("This optimizer's update rule needs the current parameters.")
        rows = [one(g.astype(p.dtype), p, s, learning_rate.astype(p.dtype), step)
                for g, p, s in zip(grads, params, state.slots)]
        return [r[0] for r in rows], SlotsState([r[1] for r in rows])

    return optax.GradientTransformationExtraArgs(init, update)


def _t(step, dtype):
    return (step + 1).astype(dtype)


def keras_adadelta(rho=0.95, epsilon=1e-7):
    """Adadelta as Keras: `delta = -sqrt(E[dx^2] + eps) / sqrt(E[g^2] + eps) * g`, times lr."""

    def init(params):
        return SlotsState([AdadeltaSlots(zeros_like(p), zeros_like(p))
                           for p in params])

    def one(g, p, slots, lr, step):
        acc_g, acc_d = slots
        acc_g = rho * acc_g + (1 - rho) * jnp.square(g)
        delta = -((jnp.sqrt(acc_d + epsilon) * g) / jnp.sqrt(acc_g + epsilon))
        acc_d = rho * acc_d + (1 - rho) * jnp.square(delta)
        return lr * delta, AdadeltaSlots(acc_g, acc_d)

    return _param_rule(init, one)


def keras_ftrl(learning_rate_power=-0.5, initial_accumulator_value=0.1,
               l1_regularization_strength=0.0, l2_regularization_strength=0.0,
               l2_shrinkage_regularization_strength=0.0, beta=0.0):
    """FTRL-proximal as Keras: the weight is recomputed from the `linear` accumulator."""

    def init(params):
        return SlotsState([FtrlSlots(jnp.full_like(p, initial_accumulator_value),
                                     zeros_like(p)) for p in params])

    def one(g, p, slots, lr, step):
        accum, linear = slots
        l2 = l2_regularization_strength + beta / (2.0 * lr)
        grad_to_use = g + 2 * l2_shrinkage_regularization_strength * p
        new_accum = accum + jnp.square(g)
        power_new = jnp.power(new_accum, -learning_rate_power)
        power_old = jnp.power(accum, -learning_rate_power)
        linear = linear + (grad_to_use - ((power_new - power_old) / lr) * p)
        quadratic = power_new / lr + 2 * l2
        l1 = l1_regularization_strength
        new_p = (jnp.clip(linear, -l1, l1) - linear) / quadratic
        return new_p - p, FtrlSlots(new_accum, linear)

    return _param_rule(init, one)


def keras_lion(beta_1=0.9, beta_2=0.99):
    """Lion as Keras: `w -= lr * sign(beta_1 * m + (1 - beta_1) * g)`, then `m` moves with beta_2."""

    def init(params):
        return SlotsState([zeros_like(p) for p in params])

    def one(g, p, m, lr, step):
        b1, b2 = jnp.asarray(beta_1, p.dtype), jnp.asarray(beta_2, p.dtype)
        update = -(lr * jnp.sign(m * b1 + g * (1.0 - b1)))
        return update, m * b2 + g * (1.0 - b2)

    return _param_rule(init, one)


def keras_lamb(beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """LAMB as Keras: an Adam direction rescaled by `||w|| / ||direction||` per weight."""

    def init(params):
        return SlotsState([LambSlots(zeros_like(p), zeros_like(p)) for p in params])

    def one(g, p, slots, lr, step):
        m, v = slots
        t = _t(step, p.dtype)
        beta_1_power = jnp.power(jnp.asarray(beta_1, p.dtype), t)
        beta_2_power = jnp.power(jnp.asarray(beta_2, p.dtype), t)
        m = m + (g - m) * (1 - beta_1)
        v = v + (jnp.square(g) - v) * (1 - beta_2)
        direction = (m / (1.0 - beta_1_power)) / (jnp.sqrt(v / (1.0 - beta_2_power)) + epsilon)
        w_norm = jnp.sqrt(jnp.sum(jnp.square(p)))
        d_norm = jnp.sqrt(jnp.sum(jnp.square(direction)))
        ratio = jnp.where(w_norm > 0, jnp.where(d_norm > 0, w_norm / d_norm, 1.0), 1.0)
        return -(ratio * lr * direction), LambSlots(m, v)

    return _param_rule(init, one)


def keras_adafactor(beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3, clip_threshold=1.0):
    """Adafactor as Keras: factored second moments (row and column means) for weights of
    rank >= 2, a full second moment below; the step is relative to the weight's RMS."""

    def init(params):
        slots = []
        for p in params:
            if p.ndim < 2:
                # Two buffers, not one: the trainer donates each state leaf separately.
                r, c = jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32)
            else:
                r = jnp.zeros(p.shape[:-1], p.dtype)
                c = jnp.zeros(p.shape[:-2] + p.shape[-1:], p.dtype)
            slots.append(AdafactorSlots(r, c, zeros_like(p)))
        return SlotsState(slots)

    def rms(x):
        return jnp.sqrt(jnp.mean(jnp.square(x)))

    def one(g, p, slots, lr, step):
        r, c, v = slots
        t = _t(step, p.dtype)
        rho_t = jnp.minimum(lr, 1 / jnp.sqrt(t))
        alpha_t = jnp.maximum(jnp.asarray(epsilon_2, p.dtype), rms(p)) * rho_t
        squares = jnp.square(g) + epsilon_1
        beta_2_t = 1 - jnp.power(t, beta_2_decay)
        if p.ndim >= 2:
            r = beta_2_t * r + (1 - beta_2_t) * jnp.mean(squares, axis=-1)
            c = beta_2_t * c + (1 - beta_2_t) * jnp.mean(squares, axis=-2)
            v = jnp.expand_dims(r / jnp.mean(r, axis=-1, keepdims=True), -1) * \
                jnp.expand_dims(c, -2)
        else:
            v = beta_2_t * v + (1 - beta_2_t) * squares
        u = g / jnp.sqrt(v)
        u = u / jnp.maximum(jnp.asarray(1.0, p.dtype), rms(u) / clip_threshold)
        return -(alpha_t * u), AdafactorSlots(r, c, v)

    return _param_rule(init, one)


class MuonSlots(NamedTuple):
    momentum: jax.Array
    velocity: object        # an array for weights updated with AdamW, else None (no leaf)


def _swap_last_axes(x):
    return jnp.swapaxes(x, -2, -1)


def newton_schulz5(x, steps, a=3.4445, b=-4.775, c=2.0315):
    """Approximately orthogonalizes a matrix (its "zeroth power") by `steps` quintic
    Newton-Schulz iterations, on the wide orientation, as Keras 3's Muon does."""
    tall = x.shape[-2] > x.shape[-1]
    if tall:
        x = _swap_last_axes(x)
    x = x / (jnp.linalg.norm(x, axis=(-2, -1), keepdims=True) + 1e-7)
    for _ in range(steps):
        gram = x @ _swap_last_axes(x)
        x = a * x + (b * gram + (c * gram) @ gram) @ x
    return _swap_last_axes(x) if tall else x


def keras_muon(use_adamw, decay, adam_beta_1=0.9, adam_beta_2=0.999, epsilon=1e-7,
               muon_a=3.4445, muon_b=-4.775, muon_c=2.0315, adam_lr_ratio=1,
               momentum=0.95, ns_steps=5, nesterov=True, rms_rate=0.2):
    """Muon as Keras: orthogonalized momentum for 2-D weights, AdamW for the others.

    Args:
        use_adamw: one bool per parameter (AdamW instead of the Muon step).
        decay: one weight-decay factor (or None) per parameter, applied first as
            `w -= w * decay * lr`, as Keras's Muon does with its two decay rates.
    """

    def init(params):
        return SlotsState([MuonSlots(zeros_like(p), zeros_like(p) if adamw else None)
                           for p, adamw in zip(params, use_adamw)])

    def adamw_step(g, m, v, lr, t, dtype):
        b1_power = jnp.power(jnp.asarray(adam_beta_1, dtype), t)
        b2_power = jnp.power(jnp.asarray(adam_beta_2, dtype), t)
        alpha = lr * jnp.sqrt(1 - b2_power) / (1 - b1_power)
        m = m + (g - m) * (1 - adam_beta_1)
        v = v + (jnp.square(g) - v) * (1 - adam_beta_2)
        return (m * alpha) / (jnp.sqrt(v) + epsilon), m, v

    def muon_step(g, m, lr):
        m = m + (g + m * (momentum - 1))
        direction = g + momentum * m if nesterov else m
        step = lr * newton_schulz5(direction, ns_steps, muon_a, muon_b, muon_c)
        if rms_rate is not None:
            step = step * jnp.sqrt(jnp.asarray(max(step.shape[0], step.shape[1]),
                                               step.dtype)) * rms_rate
        return step, m

    def update(grads, state, params=None, *, learning_rate, step, **_):
        if params is None:
            raise ValueError("Muon's update rule needs the current parameters.")
        updates, slots = [], []
        for g, p, s, adamw, wd in zip(grads, params, state.slots, use_adamw, decay):
            lr = learning_rate.astype(p.dtype)
            g = g.astype(p.dtype)
            new_p = p if wd is None else p - p * jnp.asarray(wd, p.dtype) * lr
            if adamw:
                delta, m, v = adamw_step(g, s.momentum, s.velocity, lr * adam_lr_ratio,
                                         _t(step, p.dtype), p.dtype)
                slots.append(MuonSlots(m, v))
            else:
                delta, m = muon_step(g, s.momentum, lr)
                slots.append(MuonSlots(m, None))
            updates.append((new_p - delta) - p)
        return updates, SlotsState(slots)

    return optax.GradientTransformationExtraArgs(init, update)


def keras_schedule_free_adamw(beta_1=0.9, beta_2=0.999, epsilon=1e-8, warmup_steps=0):
    """Schedule-free AdamW as Keras: the weight is an interpolation between the running
    average `x` of the iterates and the fast iterate `z` (kept in `momentum`, which starts
    as a copy of the weight)."""

    def init(params):
        # A copy, in a buffer of its own (the trainer donates parameters and slots apart).
        return SlotsState([LambSlots(jnp.array(p, copy=True), zeros_like(p))
                           for p in params])

    def one(g, p, slots, lr, step):
        z_old, v = slots
        t = _t(step, p.dtype)
        if warmup_steps > 0:
            lr = lr * jnp.minimum(t / jnp.asarray(warmup_steps, p.dtype), 1.0)
        b1 = jnp.asarray(beta_1, p.dtype)
        bias_correction_2 = 1 - jnp.power(jnp.asarray(beta_2, p.dtype), t)
        v = v + (jnp.square(g) - v) * (1 - jnp.asarray(beta_2, p.dtype))
        z = z_old - (lr * g) / (jnp.sqrt(v / bias_correction_2) + epsilon)
        weight = 1.0 / t
        x_old = (p - (1 - b1) * z_old) / b1
        x_new = (1 - weight) * x_old + weight * z
        y_new = (1 - b1) * z + b1 * x_new
        return y_new - p, LambSlots(z, v)

    return _param_rule(init, one)
