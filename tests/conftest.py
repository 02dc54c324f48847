"""Test setup: CPU only, Keras 3 (the oracle) on its JAX backend, fresh names per test."""
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ["KERAS_BACKEND"] = "jax"

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_session():
    from gazelle import distribution
    from gazelle.core import naming
    naming.reset()
    yield
    distribution.set_distribution(None)
