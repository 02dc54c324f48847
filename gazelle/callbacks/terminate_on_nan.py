"""TerminateOnNaN: stop training when the loss becomes NaN or infinite. [side: stdlib, gazelle.utils]"""
import math

from gazelle.callbacks.callback import Callback
from gazelle.utils.io import print_msg


class TerminateOnNaN(Callback):
    """Callback that terminates training when a NaN loss is encountered.

    The loss it sees is the epoch's running mean, which turns NaN as soon as one batch's
    loss does, so checking once per compiled chunk catches it without slowing training.

    Args:
        raise_error: Whether to raise a `RuntimeError` instead of setting
            `model.stop_training`. Defaults to `False`.
    """

    _chunk_safe = True

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(loss):
            return
        if self.raise_error:
            raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. "
                               f"Loss value: {loss}. Terminating training immediately.")
        print_msg("Batch %d: Invalid loss, terminating training" % batch)
        self.model.stop_training = True
