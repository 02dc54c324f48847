"""The LSTM's and GRU's time loops with gates in blocks and hand-written gradients. [L2]

Used by `RNN._scan` for the built-in `LSTMCell` and `GRUCell` (`reset_after=True`) with
their default activations (tanh, and sigmoid for the gates) and no recurrent dropout;
everything else runs the general scan. The values are the same as the general scan's;
two things make them faster on CPUs:

- The gate columns are reordered from Keras's (input, forget, cell, output) to (input,
  forget, output | cell) before the loop, so one sigmoid covers three contiguous gates and
  one tanh the fourth. XLA:CPU emits far fewer loops for that: the forward loop of the
  S1 bench's LSTM(64) went from 2.1 to 0.8 ms per batch (bench/sequences.py).
- The gradient (`jax.custom_vjp`) keeps only the sequential work in its backward loop:
  each step's gate derivatives, and `d_z @ recurrent_kernel.T`. The factors of those
  derivatives that do not depend on the incoming gradient (sigmoid and tanh slopes and
  their products with the activations) are made by the forward loop, as each step's
  activations are, and saved in their place, leaving a few products per step of the
  backward loop and no pass over every step's activations between the two loops (as
  one pass before the backward loop, 8-9% off the LSTM's forward+backward; in the
  forward loop, 5-10% more). The recurrent kernel's gradient is then one
  `(units, steps*batch) @ (steps*batch, gates*units)` product after the loop, not a small
  product per step inside it (cuDNN's arrangement). The GRU's gates are already in
  blocks (update, reset | candidate).
- The LSTM's per-step arrays that are as wide as its gates live in one buffer: the forward
  loop writes each step's derivative factors over that step's input projection, which it
  has just read, and the backward loop writes each step's gate gradient over its factors.
  A scan's stacked outputs would each start as a zero-filled buffer and a copy of it
  (XLA:CPU): 15-20% of the S1 bench's epoch. The input bias is added inside the loop,
  not in a pass over every step's projections beforehand. The values are unchanged.

A mask keeps the state of a sample at a masked step (its gradient passes straight
through such steps), and the output there is the kept state, or zeros with
`zero_output_for_mask`, as the general scan does.
"""
import jax
import jax.numpy as jnp
from jax import lax


def gate_order(units):
    """Column indices taking Keras's (i, f, c, o) gate blocks to (i, f, o, c)."""
    u = units
    return jnp.concatenate([jnp.arange(0, 2 * u), jnp.arange(3 * u, 4 * u),
                            jnp.arange(2 * u, 3 * u)])


def reorder(a, units):
    """The last axis of `a` from (i, f, c, o) blocks to (i, f, o, c)."""
    u = units
    return jnp.concatenate([a[..., :2 * u], a[..., 3 * u:], a[..., 2 * u:3 * u]], axis=-1)


def _split_masked(dh, dy, m, zero_for_mask):
    """A step's state cotangent `dh` (and its output's `dy`) split into the part that
    reaches the step's new state and the part that passes to the previous state (where
    the step is masked, the state was kept)."""
    if m is None:
        return (dh if dy is None else dh + dy), None, None
    valid = m[:, None] > 0
    if dy is not None and not zero_for_mask:
        dh = dh + dy                             # the output is the kept state
    dh_new = jnp.where(valid, dh, 0.0)
    if dy is not None and zero_for_mask:
        dh_new = dh_new + jnp.where(valid, dy, 0.0)
    return dh_new, jnp.where(valid, 0.0, dh), valid


def _masked_outputs(h, h_new, m, zero_for_mask):
    """The kept state and the step's output under a mask."""
    if m is None:
        return h_new, h_new
    valid = m[:, None] > 0
    h_out = jnp.where(valid, h_new, h)
    return h_out, (jnp.where(valid, h_new, 0.0) if zero_for_mask else h_out)


def lstm_scan(xs, masks, h0, c0, kernel, reverse, keep_all, zero_for_mask, bias=None):
    """Runs the LSTM over time.

    Args:
        xs: `(time, batch, 4 * units)` input projections, gates reordered.
        masks: `(time, batch)` float mask (1 = a real step), or None.
        h0, c0: `(batch, units)` initial states.
        kernel: `(units, 4 * units)` recurrent kernel, gates reordered.
        reverse: run from the last step to the first (`go_backwards`).
        keep_all: also return every step's output (`return_sequences`).
        zero_for_mask: outputs at masked steps are zeros instead of the kept state.
        bias: `(4 * units,)` input bias, gates reordered, or None. It is added to each
            step's projection inside the loop (the values of `xs + bias` beforehand,
            without a pass over every step to make them).

    Returns:
        `(h, c, ys)`: the final states and the `(time, batch, units)` outputs (or None).
    """
    units = h0.shape[-1]
    steps = xs.shape[0]
    if bias is not None and jnp.result_type(xs, bias) != xs.dtype:
        xs, bias = xs + bias, None         # the sum is wider than xs: made beforehand
    if bias is None:
        bias = jnp.zeros(xs.shape[-1], xs.dtype)

    def cell(h, c, x, kernel, bias):
        z = (x + bias) + h @ kernel
        zs, zg = jnp.split(z, [3 * units], axis=-1)
        s = jax.nn.sigmoid(zs)
        g = jnp.tanh(zg)
        i, f, o = jnp.split(s, 3, axis=-1)
        c_new = f * c + i * g
        tc = jnp.tanh(c_new)
        return (s, g, i, f, o, tc), c_new, o * tc

    def step_outputs(h, c, h_new, c_new, m):
        h_out, y = _masked_outputs(h, h_new, m, zero_for_mask)
        c_out = c_new if m is None else jnp.where(m[:, None] > 0, c_new, c)
        return h_out, c_out, (y if keep_all else None)

    def primal(xs, masks, h0, c0, kernel, bias):
        def body(carry, inputs):
            h, c = carry
            x, m = inputs
            _, c_new, h_new = cell(h, c, x, kernel, bias)
            h_out, c_out, y = step_outputs(h, c, h_new, c_new, m)
            return (h_out, c_out), y
        (h, c), ys = lax.scan(body, (h0, c0), (xs, masks), reverse=reverse)
        return h, c, ys

    def forward(xs, masks, h0, c0, kernel, bias):
        # xs is not needed after this loop: each step's factors are written over its
        # projection, in xs's buffer (no zero-filled buffer for them, and no copy of one)
        def body(carry, inputs):
            h, c, buf = carry
            t, m = inputs
            x = lax.dynamic_index_in_dim(buf, t, keepdims=False)
            (s, g, i, f, o, tc), c_new, h_new = cell(h, c, x, kernel, bias)
            h_out, c_out, y = step_outputs(h, c, h_new, c_new, m)
            # What the backward loop needs of this step, made while the values are at
            # hand: the factors of the gate derivatives that do not depend on the
            # incoming gradient.
            ds = s * (1.0 - s)
            factors = jnp.concatenate([g * ds[:, :units], c * ds[:, units:2 * units],
                                       tc * ds[:, 2 * units:], i * (1.0 - g * g)], axis=-1)
            buf = lax.dynamic_update_index_in_dim(buf, factors, t, 0)
            through_c = o * (1.0 - tc * tc)
            return (h_out, c_out, buf), (y, (h, through_c, f))
        (h, c, factors), (ys, saved) = lax.scan(
            body, (h0, c0, xs), (jnp.arange(steps), masks), reverse=reverse)
        return (h, c, ys), (saved, factors, masks, kernel, bias)

    def backward(res, cotangents):
        (hs, through_c, f), factors, masks, kernel, bias = res
        dh_final, dc_final, dys = cotangents
        kernel_t = kernel.T

        def body(carry, inputs):
            dh, dc, buf = carry
            t, a, f_t, m, dy = inputs
            p = lax.dynamic_index_in_dim(buf, t, keepdims=False)
            dh_new, pass_h, valid = _split_masked(dh, dy, m, zero_for_mask)
            dc_new, pass_c = (dc, None) if m is None else (
                jnp.where(valid, dc, 0.0), jnp.where(valid, 0.0, dc))
            dc_total = dc_new + dh_new * a
            dz = jnp.concatenate([dc_total, dc_total, dh_new, dc_total], axis=-1) * p
            buf = lax.dynamic_update_index_in_dim(buf, dz, t, 0)   # over the factors
            dh_prev = (dz @ kernel_t).astype(dh.dtype)
            dc_prev = dc_total * f_t
            if pass_h is not None:
                dh_prev, dc_prev = dh_prev + pass_h, dc_prev + pass_c
            return (dh_prev, dc_prev, buf), None

        (dh0, dc0, dzs), _ = lax.scan(
            body, (dh_final, dc_final, factors),
            (jnp.arange(steps), through_c, f, masks, dys), reverse=not reverse)
        flat = dzs.reshape(-1, dzs.shape[-1])
        d_kernel = (hs.reshape(-1, units).T @ flat).astype(kernel.dtype)
        d_bias = flat.sum(axis=0).astype(bias.dtype)
        d_masks = None if masks is None else jnp.zeros_like(masks)
        return dzs.astype(xs.dtype), d_masks, dh0, dc0, d_kernel, d_bias

    run = jax.custom_vjp(primal)
    run.defvjp(forward, backward)
    return run(xs, masks, h0, c0, kernel, bias)


def gru_scan(xs, masks, h0, kernel, bias, reverse, keep_all, zero_for_mask):
    """Runs the GRU (`reset_after=True`) over time.

    Args:
        xs: `(time, batch, 3 * units)` input projections with the input bias.
        masks: `(time, batch)` float mask (1 = a real step), or None.
        h0: `(batch, units)` initial state.
        kernel: `(units, 3 * units)` recurrent kernel.
        bias: `(3 * units,)` recurrent bias (zeros when the layer has none).
        reverse, keep_all, zero_for_mask: as for `lstm_scan`.

    Returns:
        `(h, ys)`: the final state and the `(time, batch, units)` outputs (or None).
    """
    units = h0.shape[-1]

    def forward(xs, masks, h0, kernel, bias):
        def body(h, inputs):
            x, m = inputs
            inner = h @ kernel + bias
            x_zr, x_h = jnp.split(x, [2 * units], axis=-1)
            inner_zr, inner_h = jnp.split(inner, [2 * units], axis=-1)
            s = jax.nn.sigmoid(x_zr + inner_zr)
            z, r = jnp.split(s, 2, axis=-1)
            hh = jnp.tanh(x_h + r * inner_h)
            h_new = z * h + (1.0 - z) * hh
            h_out, y = _masked_outputs(h, h_new, m, zero_for_mask)
            return h_out, (y if keep_all else None, (h, s, hh, inner_h))
        h, (ys, saved) = lax.scan(body, h0, (xs, masks), reverse=reverse)
        return (h, ys), (saved, masks, kernel, bias)

    def backward(res, cotangents):
        (hs, ss, hhs, inner_hs), masks, kernel, bias = res
        dh_final, dys = cotangents
        kernel_t = kernel.T

        def body(dh, inputs):
            h_prev, s, hh, inner_h, m, dy = inputs
            dh_new, pass_h, _ = _split_masked(dh, dy, m, zero_for_mask)
            z, r = jnp.split(s, 2, axis=-1)
            da_h = dh_new * (1.0 - z) * (1.0 - hh * hh)
            d_zr = jnp.concatenate([dh_new * (h_prev - hh), da_h * inner_h],
                                   axis=-1) * s * (1.0 - s)
            d_x = jnp.concatenate([d_zr, da_h], axis=-1)
            d_inner = jnp.concatenate([d_zr, da_h * r], axis=-1)
            dh_prev = dh_new * z + (d_inner @ kernel_t).astype(dh.dtype)
            if pass_h is not None:
                dh_prev = dh_prev + pass_h
            return dh_prev, (d_x, d_inner)

        dh0, (dxs, d_inners) = lax.scan(body, dh_final,
                                        (hs, ss, hhs, inner_hs, masks, dys),
                                        reverse=not reverse)
        flat = d_inners.reshape(-1, d_inners.shape[-1])
        d_kernel = (hs.reshape(-1, units).T @ flat).astype(kernel.dtype)
        d_bias = flat.sum(axis=0).astype(bias.dtype)
        d_masks = None if masks is None else jnp.zeros_like(masks)
        return dxs.astype(xs.dtype), d_masks, dh0, d_kernel, d_bias

    run = jax.custom_vjp(lambda *args: forward(*args)[0])
    run.defvjp(forward, backward)
    return run(xs, masks, h0, kernel, bias)
