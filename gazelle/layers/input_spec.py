"""Input checks with messages that name the layer, the expectation and what came. [L2]

They run when a layer is called, before any compile (shapes are static), so a wrong
input shape never surfaces as an XLA trace.
"""


def check_rank(layer, shape, min_ndim=None, ndim=None):
    if ndim is not None and len(shape) != ndim:
        raise ValueError(
            f"Input 0 of layer '{layer.name}' is incompatible with the layer: expected "
            f"ndim={ndim}, found ndim={len(shape)}. Full shape received: {tuple(shape)}.")
    if min_ndim is not None and len(shape) < min_ndim:
        raise ValueError(
            f"Input 0 of layer '{layer.name}' is incompatible with the layer: expected "
            f"min_ndim={min_ndim}, found ndim={len(shape)}. Full shape received: {tuple(shape)}.")


def check_last_dim(layer, shape, expected, hint=""):
    if shape and shape[-1] is not None and shape[-1] != expected:
        raise ValueError(
            f"Layer '{layer.name}' expects inputs with last dimension {expected}, but received "
            f"shape {tuple(shape)}.{hint}")
