"""Test setup: CPU unless JAX_PLATFORMS says otherwise, Keras 3 (the oracle) on its JAX
backend, fresh names per test. The tests compare float32 results at float32 tolerances, so
matrix products run at full float32 precision on every device: GPUs would otherwise use
TF32 (errors near 1e-3), for gazelle and the oracle alike."""
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_DEFAULT_MATMUL_PRECISION", "highest")
# Tests run in two processes (pytest-xdist): on a GPU neither may take most of its memory.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_session():
    from gazelle import distribution
    from gazelle.core import naming
    naming.reset()
    yield
    distribution.set_distribution(None)
