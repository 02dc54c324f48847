"""Keras 3's update rules and gradient clipping as optax transforms. [L1: jax, numpy, optax]

A rule is an `optax.GradientTransformationExtraArgs`. Its `update` takes two keyword
extras, `learning_rate` (a scalar array) and `step` (the optimizer's iteration count
before this update), and returns the additive update Keras applies (`variable += update`).
The formulas follow Keras 3 operation by operation, where optax's own differ (for example
Keras's Adam puts epsilon outside the bias correction), so results match it in float32.

State layout (the optimizer names and orders its Variables from it):
- a rule's state is a NamedTuple, and flattening it yields Keras 3's variable order;
- a slot of parameter `i` sits at list index `i`, and its name is the last field name on
  its path (`momentum` for `kernel` gives `kernel_momentum`);
- a leaf under no list index is one variable shared by all parameters, named after its field.
"""
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax


class Moments(NamedTuple):
    """First and second moment of one parameter (Keras creates them interleaved)."""
    momentum: jax.Array
    velocity: jax.Array


class AdamaxSlots(NamedTuple):
    momentum: jax.Array
    norm: jax.Array


class SGDState(NamedTuple):
    momentum: list          # empty when momentum == 0


class AdamState(NamedTuple):
    moments: list           # Moments per parameter
    velocity_hat: list      # amsgrad only, else empty


class RMSpropState(NamedTuple):
    velocity: list
    momentum: list          # empty unless momentum > 0
    average_gradient: list  # empty unless centered


class AdagradState(NamedTuple):
    accumulator: list


class AdamaxState(NamedTuple):
    slots: list             # AdamaxSlots per parameter


class NadamState(NamedTuple):
    moments: list           # Moments per parameter
    u_product: jax.Array    # product of the momentum-cache schedule, shared


def zeros_like(p):
    """Zeros shaped like parameter `p`. A concrete `p` (an optimizer building its slots)
    gets zeros made on the host and placed as `p` is: jnp.zeros_like would compile a small program
    for every new shape (20-35 ms each on a CPU). A traced `p` gets jnp.zeros_like."""
    if isinstance(p, jax.core.Tracer):
        return jnp.zeros_like(p)
    place = p.sharding if getattr(p, "committed", False) else None
    return jax.device_put(np.zeros(p.shape, jnp.dtype(p.dtype)), place)


def _zeros(params):
    return [zeros_like(p) for p in params]


def _power(base, exponent, dtype):
    return jnp.power(jnp.asarray(base, dtype), exponent.astype(dtype))


def _transpose(rows, width):
    """[(a0, b0), (a1, b1)] -> [[a0, a1], [b0, b1]] (`width` lists even when empty)."""
    return [list(col) for col in zip(*rows)] if rows else [[] for _ in range(width)]


def _rule(init, update_fn):
    """Builds a rule from `update_fn(grads, state, learning_rate, step) -> (updates, state)`."""

    def update(grads, state, params=None, *, learning_rate, step, **_):
        return update_fn(grads, state, learning_rate, step)

    return optax.GradientTransformationExtraArgs(init, update)


def keras_sgd(momentum=0.0, nesterov=False):
    """SGD as Keras: `m = momentum * m - lr * g; w += m` (nesterov: `w += momentum * m - lr * g`).

    Without momentum, `w -= lr * g`.
    """

    def init(params):
        return SGDState(_zeros(params) if momentum != 0 else [])

    def one(g, m, lr):
        g, lr = g.astype(m.dtype), lr.astype(m.dtype)
        mom = jnp.asarray(momentum, m.dtype)
        m = m * mom - g * lr
        return (m * mom - g * lr if nesterov else m), m

    def update(grads, state, learning_rate, step):
        if momentum == 0:
            return [-(g * jnp.asarray(learning_rate, g.dtype)) for g in grads], state
        rows = [one(g, m, learning_rate) for g, m in zip(grads, state.momentum)]
        updates, ms = _transpose(rows, 2)
        return updates, SGDState(ms)

    return _rule(init, update)


def keras_adam(beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False):
    """Adam as Keras: `lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)`, epsilon outside."""

    def init(params):
        return AdamState([Moments(zeros_like(p), zeros_like(p)) for p in params],
                         _zeros(params) if amsgrad else [])

    def one(g, m, v, v_hat, lr, step):
        dtype = m.dtype
        g, lr = g.astype(dtype), lr.astype(dtype)
        beta_1_power = _power(beta_1, step + 1, dtype)
        beta_2_power = _power(beta_2, step + 1, dtype)
        alpha = lr * jnp.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        m = m + (g - m) * (1 - beta_1)
        v = v + (jnp.square(g) - v) * (1 - beta_2)
        if amsgrad:
            v_hat = jnp.maximum(v_hat, v)
        denominator = jnp.sqrt(v_hat if amsgrad else v) + epsilon
        return -((m * alpha) / denominator), Moments(m, v), v_hat

    def update(grads, state, learning_rate, step):
        hats = state.velocity_hat or [None] * len(grads)
        rows = [one(g, m, v, h, learning_rate, step)
                for g, (m, v), h in zip(grads, state.moments, hats)]
        updates, moments, hats = _transpose(rows, 3)
        return updates, AdamState(moments, hats if amsgrad else [])

    return _rule(init, update)


def keras_rmsprop(rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    """RMSprop as Keras, with optional momentum and centering."""

    def init(params):
        return RMSpropState(_zeros(params), _zeros(params) if momentum > 0 else [],
                            _zeros(params) if centered else [])

    def one(g, velocity, mom, average, lr):
        g, lr = g.astype(velocity.dtype), lr.astype(velocity.dtype)
        velocity = rho * velocity + (1 - rho) * jnp.square(g)
        if centered:
            average = rho * average + (1 - rho) * g
            denominator = velocity - jnp.square(average) + epsilon
        else:
            denominator = velocity + epsilon
        increment = (lr * g) / jnp.sqrt(denominator)
        if momentum > 0:
            mom = momentum * mom + increment
            increment = mom
        return -increment, velocity, mom, average

    def update(grads, state, learning_rate, step):
        none = [None] * len(grads)
        rows = [one(g, vel, mom, avg, learning_rate) for g, vel, mom, avg in zip(
            grads, state.velocity, state.momentum or none, state.average_gradient or none)]
        updates, velocity, moms, averages = _transpose(rows, 4)
        return updates, RMSpropState(velocity, moms if momentum > 0 else [],
                                     averages if centered else [])

    return _rule(init, update)


def keras_adagrad(initial_accumulator_value=0.1, epsilon=1e-7):
    """Adagrad as Keras: accumulators start at `initial_accumulator_value`."""

    def init(params):
        return AdagradState([jnp.full_like(p, initial_accumulator_value) for p in params])

    def one(g, accumulator, lr):
        g, lr = g.astype(accumulator.dtype), lr.astype(accumulator.dtype)
        accumulator = accumulator + jnp.square(g)
        return -((lr * g) / jnp.sqrt(accumulator + epsilon)), accumulator

    def update(grads, state, learning_rate, step):
        rows = [one(g, a, learning_rate) for g, a in zip(grads, state.accumulator)]
        updates, accumulators = _transpose(rows, 2)
        return updates, AdagradState(accumulators)

    return _rule(init, update)


def keras_adamax(beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """Adamax as Keras: infinity-norm second moment, bias-corrected first moment."""

    def init(params):
        return AdamaxState([AdamaxSlots(zeros_like(p), zeros_like(p)) for p in params])

    def one(g, m, u, lr, step):
        dtype = m.dtype
        g, lr = g.astype(dtype), lr.astype(dtype)
        m = m + (g - m) * (1 - beta_1)
        u = jnp.maximum(beta_2 * u, jnp.abs(g))
        denominator = (1 - _power(beta_1, step + 1, dtype)) * (u + epsilon)
        return -((lr * m) / denominator), AdamaxSlots(m, u)

    def update(grads, state, learning_rate, step):
        rows = [one(g, m, u, learning_rate, step) for g, (m, u) in zip(grads, state.slots)]
        updates, slots = _transpose(rows, 2)
        return updates, AdamaxState(slots)

    return _rule(init, update)


def keras_nadam(beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """Nadam as Keras, with the momentum-cache schedule `beta_1 * (1 - 0.5 * 0.96^t)`."""

    def init(params):
        dtype = params[0].dtype if params else jnp.float32
        return NadamState([Moments(zeros_like(p), zeros_like(p)) for p in params],
                          jax.device_put(np.asarray(1.0, jnp.dtype(dtype))))

    def one(g, m, v, u_product, lr, step):
        dtype = m.dtype
        g, lr = g.astype(dtype), lr.astype(dtype)
        b1, b2 = jnp.asarray(beta_1, dtype), jnp.asarray(beta_2, dtype)
        u_t = b1 * (1.0 - 0.5 * _power(0.96, step + 1, dtype))
        u_t_1 = b1 * (1.0 - 0.5 * _power(0.96, step + 2, dtype))
        u_product_t = u_product.astype(dtype)
        u_product_t_1 = u_product_t * u_t_1
        m = m + (g - m) * (1 - b1)
        v = v + (jnp.square(g) - v) * (1 - b2)
        m_hat = (u_t_1 * m) / (1 - u_product_t_1) + ((1 - u_t) * g) / (1 - u_product_t)
        v_hat = v / (1 - _power(beta_2, step + 1, dtype))
        return -((m_hat * lr) / (jnp.sqrt(v_hat) + epsilon)), Moments(m, v)

    def update(grads, state, learning_rate, step):
        dtype = state.u_product.dtype
        u_product = state.u_product * beta_1 * (1.0 - 0.5 * _power(0.96, step + 1, dtype))
        rows = [one(g, m, v, u_product, learning_rate, step)
                for g, (m, v) in zip(grads, state.moments)]
        updates, moments = _transpose(rows, 2)
        return updates, NadamState(moments, u_product)

    return _rule(init, update)


def keras_clip_by_norm(clipnorm):
    """Clips each gradient to L2 norm `clipnorm`: `g * clipnorm / max(norm, clipnorm)`."""

    def clip(g):
        l2sum = jnp.sum(jnp.square(g), keepdims=True)
        positive = l2sum > 0
        l2norm = jnp.where(positive, jnp.sqrt(jnp.where(positive, l2sum, 1.0)), l2sum)
        return (g * clipnorm) / jnp.maximum(l2norm, clipnorm)

    return optax.stateless(lambda grads, params: [clip(g) for g in grads])


def keras_clip_by_global_norm(clipnorm):
    """Scales all gradients together so that their global norm is at most `clipnorm`.

    A non-finite global norm turns every gradient into NaN, as in Keras.
    """

    def clip(grads, params):
        norm = jnp.sqrt(jnp.sum(jnp.stack([jnp.sum(jnp.square(g)) for g in grads])))
        scale = clipnorm * jnp.minimum(1.0 / norm, 1.0 / clipnorm) + (norm - norm)
        return [g * scale for g in grads]

    return optax.stateless(clip)
