"""LambdaCallback: a callback made of plain functions. [side: stdlib]"""
from gazelle.callbacks.callback import Callback

_HOOKS = (
    "on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end",
    "on_train_begin", "on_train_end", "on_train_batch_begin", "on_train_batch_end",
    "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
    "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end",
)


class LambdaCallback(Callback):
    """Callback for creating simple, custom callbacks on-the-fly.

    Each argument is a function called at that point, with the same positional arguments as
    the hook: `on_epoch_begin`/`on_epoch_end` get `(epoch, logs)`, batch hooks get
    `(batch, logs)`, and `on_train_begin`/`on_train_end` get `(logs)`. Any other hook name
    (`on_test_end=...`) may be passed as a keyword too.

    Args:
        on_epoch_begin: called at the beginning of every epoch. Defaults to `None`.
        on_epoch_end: called at the end of every epoch. Defaults to `None`.
        on_batch_begin: called at the beginning of every training batch. Defaults to `None`.
        on_batch_end: called at the end of every training batch. Defaults to `None`.
        on_train_begin: called at the beginning of model training. Defaults to `None`.
        on_train_end: called at the end of model training. Defaults to `None`.
        **kwargs: other hooks by name, e.g. `on_train_batch_end`.

    ```python
    print_epoch = LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
    ```
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_batch_begin=None,
                 on_batch_end=None, on_train_begin=None, on_train_end=None, **kwargs):
        super().__init__()
        unknown = sorted(set(kwargs) - set(_HOOKS))
        if unknown:
            raise TypeError(f"LambdaCallback: unknown hook(s) {unknown}; valid hook names "
                            f"are {list(_HOOKS)}.")
        hooks = dict(kwargs, on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_batch_begin=on_batch_begin, on_batch_end=on_batch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end)
        for name, function in hooks.items():
            if function is None:
                continue
            if not callable(function):
                raise TypeError(f"LambdaCallback: `{name}` must be callable, but received "
                                f"{type(function).__name__}: {function!r}.")
            setattr(self, name, function)
