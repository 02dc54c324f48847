"""Unique per-session object names ("dense", "dense_1", ...). [L0]"""
import re
from collections import defaultdict

_counts = defaultdict(int)


def to_snake_case(name):
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def uniquify(base):
    """Returns `base` the first time, then `base_1`, `base_2`, ... (Keras's rule)."""
    n = _counts[base]
    _counts[base] += 1
    return base if n == 0 else f"{base}_{n}"


def reset():
    """Forgets every name handed out (used by `backend.clear_session()`)."""
    _counts.clear()


def numbered(base):
    """Returns `base_1`, `base_2`, ... (tf.keras 2's rule for Input layers: `input_1`)."""
    key = f"__numbered__{base}"
    _counts[key] += 1
    return f"{base}_{_counts[key]}"
