"""The doctor's extra measurements, taken only when a finding needs them: each layer's
gradient and weight norms on one small batch (through the trainer's compiled `steps` and
state layout, read as attributes), and the share of dead ReLU units (one forward pass).
[doctor: jax, numpy]
"""
import math

import jax
import jax.numpy as jnp
import numpy as np

from gazelle.doctor.anatomy import _PROBE, _has_rnn
from gazelle.doctor.findings import Finding


def gradient_norms(trainer, x, ys, n=_PROBE):
    """The loss and each layer's gradient and weight norms on the first `n` samples.

    One extra jitted gradient computation (compiled once per compiled model).
    Returns `(loss, [{"layer", "grad_norm", "weight_norm", "recurrent"}, ...])` in layer
    order ("recurrent": the layer is or holds an RNN).
    """
    steps = trainer.steps
    fn = getattr(steps, "_doctor_grad_norms", None)
    if fn is None:
        def norms(trainable, non_trainable, x, ys):
            def loss_fn(values):
                y_pred, _, losses = steps._forward(values, non_trainable, x, True)
                return steps._loss(ys, y_pred, None, losses)[0]
            loss, grads = jax.value_and_grad(loss_fn)(trainable)
            squares = lambda arrays: [jnp.sum(jnp.square(a)) for a in arrays]  # noqa: E731
            return loss, squares(grads), squares(trainable)
        fn = steps._doctor_grad_norms = jax.jit(norms)
    state = steps.layout.lift()
    batch_x = jax.tree_util.tree_map(lambda a: a[:n], x)
    loss, g2, w2 = jax.device_get(fn(state.trainable, state.non_trainable, batch_x,
                                      [y[:n] for y in ys]))
    by_id = {id(v): (float(g), float(w)) for v, g, w in zip(steps.layout.trainable, g2, w2)}
    rows = []
    for layer in trainer.model.layers:
        own = [by_id.pop(id(v)) for v in layer.trainable_weights if id(v) in by_id]
        if own:
            rows.append({"layer": layer.name,
                         "grad_norm": math.sqrt(sum(g for g, _ in own)),
                         "weight_norm": math.sqrt(sum(w for _, w in own)),
                         "recurrent": _has_rnn(layer)})
    return float(loss), rows


def gradient_findings(loss, rows):
    """Vanishing or exploding gradients from `gradient_norms`' rows."""
    grads = np.array([r["grad_norm"] for r in rows])
    if not len(grads) or not np.isfinite(grads).all() or not np.isfinite(loss):
        return []
    table = ", ".join(f"{r['layer']}: {r['grad_norm']:.2g}" for r in rows)
    details = {"loss": loss, "layers": rows}
    big = [r for r in rows if r["grad_norm"] > 100 * max(r["weight_norm"], 1.0)]
    if big:
        r = max(big, key=lambda r: r["grad_norm"])
        if r.get("recurrent"):
            return [Finding("exploding_gradients", "warning",
                f"Exploding gradients in a recurrent layer: '{r['layer']}' has gradient norm "
                f"{r['grad_norm']:.3g} for weights of norm {r['weight_norm']:.3g} (gradient "
                f"norms by layer: {table}). Backpropagation through time multiplies by the "
                "recurrent weight matrix once per time step, so over a long sequence the "
                "gradient grows geometrically and one step can throw the weights far off. "
                "First clip the gradients with the optimizer's clipnorm, e.g. "
                "keras.optimizers.Adam(clipnorm=1.0): it caps each step without changing its "
                "direction. Then, if needed, lower the learning rate, use LSTM or GRU rather "
                "than SimpleRNN, or train on shorter sequences.",
                {**details, "recurrent": True})]
        return [Finding("exploding_gradients", "warning",
            f"Exploding gradients: layer '{r['layer']}' has gradient norm "
            f"{r['grad_norm']:.3g} for weights of norm {r['weight_norm']:.3g} (gradient norms "
            f"by layer: {table}). One SGD step at learning rate 0.01 would move these weights "
            "by more than their own size, so training is unstable. Lower the learning rate, "
            "clip gradients (e.g. optimizer clipnorm=1.0), scale the inputs and regression "
            "targets, or add BatchNormalization.", details)]
    if loss > 1e-3 and grads.max() == 0.0:
        return [Finding("vanishing_gradients", "warning",
            f"Vanishing gradients: every layer's gradient is exactly zero while the loss is "
            f"{loss:.3g}, so no weight can change. Usually the output is saturated (huge "
            "logits drive softmax/sigmoid to exactly 0 or 1, whose clipped log has no "
            "gradient) or every ReLU is dead; both follow from unscaled inputs or a too "
            "large learning rate. Scale the inputs and lower the learning rate.", details)]
    if loss > 1e-3 and len(grads) > 1 and grads.min() < 1e-4 * grads.max():
        lo, hi = rows[int(grads.argmin())], rows[int(grads.argmax())]
        return [Finding("vanishing_gradients", "warning",
            f"Vanishing gradients: layer '{lo['layer']}' gets gradient norm "
            f"{lo['grad_norm']:.2g} while layer '{hi['layer']}' gets {hi['grad_norm']:.2g} "
            f"(by layer: {table}), so the early layers barely learn. Use ReLU-family "
            "activations with he_normal initialization instead of sigmoid/tanh in deep "
            "stacks, add BatchNormalization, or use fewer layers or skip connections.",
            details)]
    return []


def dead_relus(model, x, n=_PROBE):
    """Fraction of ReLU units that output 0 for every one of `n` samples (one forward pass).

    Returns `(overall_fraction, {layer_name: fraction})`, or `(None, {})` without ReLUs.
    """
    captured, patched = [], []
    for layer in model._flatten_layers():
        activation = getattr(layer, "activation", None)
        if callable(activation) and getattr(activation, "__name__", "") == "relu":
            def spy(t, _fn=activation, _name=layer.name):
                out = _fn(t)
                captured.append((_name, out))
                return out
            patched.append((layer, activation))
            layer.activation = spy          # an instance attribute, put back below
    try:
        if patched:
            model(jax.tree_util.tree_map(lambda a: a[:n], x), training=False)
    finally:
        for layer, activation in patched:
            layer.activation = activation
    per_layer, dead, total = {}, 0, 0
    for name, out in captured:
        out = np.asarray(out)
        alive = out.reshape(-1, out.shape[-1]).max(axis=0) > 0
        per_layer[name] = float(1 - alive.mean())
        dead, total = dead + int((~alive).sum()), total + alive.size
    return (dead / total if total else None), per_layer
