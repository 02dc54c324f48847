"""Keras 3's small `keras.utils` helpers for batches and configs. [leaf: stdlib]

`unpack_x_y_sample_weight` / `pack_x_y_sample_weight` (the batch conventions of `fit` and
of `train_step` overrides) and `Config` (an attribute-access dict that can be frozen).
"""
import copy
import difflib
import json


def unpack_x_y_sample_weight(data):
    """Splits one batch into `(x, y, sample_weight)`, with None for the missing parts.

    For use in `train_step`/`test_step`/`predict_step` overrides, where a batch may be `x`,
    `(x,)`, `(x, y)` or `(x, y, sample_weight)`.

    Args:
        data: the batch: a tuple (or list) of one to three elements, or `x` alone.

    Returns:
        `(x, y, sample_weight)`.

    ```python
    x, y, sample_weight = keras.utils.unpack_x_y_sample_weight((features, labels))
    ```
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise ValueError("unpack_x_y_sample_weight: a batch must be `x`, `(x,)`, `(x, y)` or "
                     f"`(x, y, sample_weight)`; received a tuple of {len(data)} elements.")


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """Packs features, targets and weights into the batch form `fit` reads.

    Args:
        x: the features.
        y: the targets, or None.
        sample_weight: per-sample weights, or None.

    Returns:
        `x` itself when there is no `y` (a tuple or list `x` is wrapped as `(x,)`),
        else `(x, y)` or `(x, y, sample_weight)`.
    """
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


class Config:
    """A dictionary whose keys are also attributes, and which can be frozen.

    Args:
        **kwargs: the initial keys and values.

    ```python
    config = keras.utils.Config(learning_rate=0.1, momentum=0.9)
    config.batch_size = 32
    config.freeze()
    config.batch_size = 64   # ValueError: the config is frozen
    ```
    """

    def __init__(self, **kwargs):
        object.__setattr__(self, "_config", dict(kwargs))
        object.__setattr__(self, "_frozen", False)

    @property
    def frozen(self):
        """Whether the config is frozen."""
        return self._frozen

    def freeze(self):
        """Freezes the config: any later change raises `ValueError`."""
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self):
        """Allows changes again."""
        object.__setattr__(self, "_frozen", False)

    def _check_mutable(self):
        if self._frozen:
            raise ValueError("Cannot mutate attribute(s) because the config is frozen "
                             "(call `unfreeze()` first).")

    def as_dict(self):
        """A shallow copy of the keys and values, as a dict."""
        return copy.copy(self._config)

    def to_json(self):
        """The keys and values as a JSON string."""
        return json.dumps(self._config)

    def keys(self):
        return self._config.keys()

    def values(self):
        return self._config.values()

    def items(self):
        return self._config.items()

    def get(self, key, value=None):
        return self._config.get(key, value)

    def pop(self, *args):
        self._check_mutable()
        return self._config.pop(*args)

    def update(self, *args, **kwargs):
        self._check_mutable()
        return self._config.update(*args, **kwargs)

    def __setattr__(self, name, value):
        if name in type(self).__dict__ or name.startswith("__"):
            return object.__setattr__(self, name, value)
        self._check_mutable()
        self._config[name] = value

    def __getattr__(self, name):
        config = object.__getattribute__(self, "_config")
        if name in config:
            return config[name]
        message = f"Unknown attribute: '{name}'."
        close = difflib.get_close_matches(name, list(config), n=1, cutoff=0.7)
        if close:
            message += f" Did you mean '{close[0]}'?"
        raise AttributeError(message)

    def __setitem__(self, key, value):
        self._check_mutable()
        self._config[key] = value

    def __getitem__(self, key):
        return self._config[key]

    def __delitem__(self, key):
        self._check_mutable()
        del self._config[key]

    def __contains__(self, key):
        return key in self._config

    def __iter__(self):
        return iter(sorted(self._config))

    def __len__(self):
        return len(self._config)

    def __repr__(self):
        return f"<Config {self._config}>"
