"""History: records each epoch's logs; `fit` returns it. [side: stdlib]"""
from gazelle.callbacks.callback import Callback


class History(Callback):
    """Callback that records events into a `History` object.

    This callback is automatically applied to every model trained with `fit`, and is what
    `fit` returns. After training, `history.history` maps each log key (`"loss"`,
    `"accuracy"`, `"val_loss"`, ...) to a list of Python floats, one per epoch, and
    `history.epoch` lists the epoch indices.

    ```python
    history = model.fit(x, y, epochs=10)
    print(history.history["loss"])
    ```
    """

    def __init__(self):
        super().__init__()
        self.epoch = []
        self.history = {}

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
