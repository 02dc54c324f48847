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
# Every compiled program goes to gazelle's disk cache, not only those that take 0.2 s to
# compile (gazelle's default for scripts): the suite builds about 10,000 small programs,
# and a run with a warm cache skips compiling them (tests/callbacks and tests/training:
# 47 s -> 35 s warm). Without JAX's size limit: with one, every entry written lists and
# stats the whole folder under a lock the two workers share, and with 10,000 entries the
# run slowed down instead. The folder is the tests' own, trimmed once per run
# (`pytest_sessionstart`). JAX's cache keys include the folder's path: a moved folder
# starts cold.
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_COMPILATION_CACHE_MAX_SIZE", "-1")


def _test_cache_folder():
    """The tests' programs go to a folder of their own, gazelle's with `-tests` after it:
    entries written without the size limit have no access-time files, and JAX's eviction,
    on in scripts, fails on every write in a folder holding such entries. gazelle chooses
    its folder (or none) on import; a folder the user set for JAX is left as it is."""
    import sys
    user_set = os.environ.get("JAX_COMPILATION_CACHE_DIR")
    import gazelle  # noqa: F401  (names its folder in JAX's variable, or config once
    #                                jax is imported)
    if user_set:
        return
    folder = os.environ.get("JAX_COMPILATION_CACHE_DIR")
    if folder:
        os.environ["JAX_COMPILATION_CACHE_DIR"] = folder + "-tests"
    elif "jax" in sys.modules:
        jax = sys.modules["jax"]
        folder = jax.config.jax_compilation_cache_dir
        if folder:
            jax.config.update("jax_compilation_cache_dir", folder + "-tests")
            os.environ["JAX_COMPILATION_CACHE_DIR"] = folder + "-tests"   # for children


_test_cache_folder()


def _faster_cpu_compiles():
    """The suite spends most of its time compiling small programs, and XLA's CPU compiler
    builds them about twice as fast with its older fusion emitters (a tiny MLP's fit,
    evaluate and predict programs: 4.1 s -> 2.0 s; 4 test files: 100 -> 74 s of CPU).
    Only for the jaxlib releases it was checked on (XLA aborts on a flag it does not
    know), and not where XLA_FLAGS already chooses."""
    import importlib.metadata
    try:
        release = tuple(int(p) for p in importlib.metadata.version("jaxlib").split(".")[:2])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return
    flags = os.environ.get("XLA_FLAGS", "")
    if release == (0, 10) and "xla_cpu_use_fusion_emitters" not in flags:
        os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_use_fusion_emitters=false").strip()


_faster_cpu_compiles()

import pytest  # noqa: E402


@pytest.hookimpl(tryfirst=True)         # before `-m` selects by marker
def pytest_collection_modifyitems(config, items):
    """A test marked `sweep` runs part of its cases in the default run: the first, then
    every `every`-th (2 unless the marker says), in the order of its parameters, and
    besides those the first case with each value of a parameter that takes at most 4
    values (a flag such as masked/unmasked is never left out whole). The others are
    marked slow, so `-m slow` (and so CI) runs them: every sweep runs whole in CI, and
    in part in the default run."""
    sweeps = {}
    for item in items:
        if item.get_closest_marker("sweep") is not None:
            key = (item.nodeid.split("::")[0], getattr(item, "originalname", item.name))
            sweeps.setdefault(key, []).append(item)
    for cases in sweeps.values():
        values = {}
        for item in cases:
            for name, value in _params(item):
                values.setdefault(name, set()).add(value)
        few = {name for name, seen in values.items() if len(seen) <= 4}
        every = cases[0].get_closest_marker("sweep").kwargs.get("every", 2)
        covered = set()
        for index, item in enumerate(cases):
            flags = {(n, v) for n, v in _params(item) if n in few}
            if index % every == 0 or not flags <= covered:
                covered |= flags
            else:
                item.add_marker(pytest.mark.slow)


def _params(item):
    callspec = getattr(item, "callspec", None)
    return [] if callspec is None else [(name, repr(value))
                                        for name, value in sorted(callspec.params.items())]


def pytest_sessionstart(session):
    """The test cache stays bounded without JAX's per-write eviction: once per run, in the
    main process, the oldest entries go when the folder is over 2 GiB."""
    from _compile_cache import trim_cache
    folder = os.environ.get("JAX_COMPILATION_CACHE_DIR")
    if hasattr(session.config, "workerinput") or not (folder or "").endswith("-tests") or \
            os.environ.get("JAX_COMPILATION_CACHE_MAX_SIZE") != "-1":
        return                               # a worker (the main process trims), a folder
    trim_cache(folder, 2 << 30, 1 << 30)     # not the tests' own, or JAX's limit is on


@pytest.fixture(autouse=True)
def _fresh_session():
    from gazelle import distribution
    from gazelle.core import naming
    naming.reset()
    yield
    distribution.set_distribution(None)
