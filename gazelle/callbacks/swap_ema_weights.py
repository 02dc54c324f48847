"""SwapEMAWeights: evaluate (and checkpoint) with the optimizer's moving-average weights.
[side: gazelle.optimizers through the model]

An optimizer made with `use_ema=True` keeps one average per trainable weight
(`optimizer._ema_variables`, in the order of `optimizer._trainable_variables`). This
callback exchanges the values of the two lists in place (no copy of the model is kept)
around evaluation and prediction and, with `swap_on_epoch=True`, around the end of each
epoch, so that callbacks running there (ModelCheckpoint) see the averaged weights.
"""
import numpy as np

from gazelle.callbacks.callback import Callback


class SwapEMAWeights(Callback):
    """Swaps the model's weights with the optimizer's EMA weights around evaluation.

    Use it with an optimizer created with `use_ema=True`. Before evaluation (and
    prediction) the model's weights take the values of their moving averages, and the
    averages hold the trained values; afterwards the values are swapped back.

    Args:
        swap_on_epoch: also swap at the end of every epoch (and back at the start of the
            next), so that callbacks after this one in `on_epoch_end` (ModelCheckpoint)
            see the EMA weights. Default False.

    ```python
    model.compile(optimizer=keras.optimizers.SGD(use_ema=True), loss="mse")
    model.fit(x, y, callbacks=[keras.callbacks.SwapEMAWeights(swap_on_epoch=True),
                               keras.callbacks.ModelCheckpoint("best.keras")])
    ```
    """

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _ema_optimizers(self):
        optimizer = getattr(self.model, "optimizer", None)
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        group = getattr(optimizer, "optimizers", None)
        if group is not None:
            found = [opt for opt in group if getattr(opt, "use_ema", False)]
            if not found:
                raise ValueError("SwapEMAWeights must be used when at least one inner "
                                 "optimizer has `use_ema=True` set; none of the inner "
                                 "optimizers has it.")
        else:
            found = [optimizer]
        for opt in found:
            if not getattr(opt, "use_ema", False):
                raise ValueError("SwapEMAWeights must be used when `use_ema=True` is set on "
                                 "the optimizer. Received: use_ema="
                                 f"{getattr(opt, 'use_ema', None)}")
        return [opt for opt in found if getattr(opt, "built", False)]

    def _swap_variables(self):
        for opt in self._ema_optimizers():
            for variable, average in zip(opt._trainable_variables, opt._ema_variables):
                current = np.asarray(variable.value)
                variable.assign(average.value)
                average.assign(current)

    def _finalize_ema_values(self):
        for opt in self._ema_optimizers():
            for variable, average in zip(opt._trainable_variables, opt._ema_variables):
                average.assign(variable.value)

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch and self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True
            # After the last epoch the EMA values stay in the model: the averages are made
            # equal to them, so fit's final `finalize_variable_values` keeps them.
            if epoch == self.params["epochs"] - 1:
                self._finalize_ema_values()

    def on_test_begin(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True

    def on_test_end(self, logs=None):
        if self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_predict_begin(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True

    def on_predict_end(self, logs=None):
        # Keras 3.15 tests `not self._ema_weights_in_model` here and so never swaps back
        # after predict; gazelle restores the trained weights, as the docstring promises.
        if self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False
