"""How much of Keras 3's public API gazelle has: for each public keras module, how many of its
public names resolve at the same dotted path under `gazelle`, printed as a markdown table.

    python bench/api_coverage.py            # the table
    python bench/api_coverage.py --verbose  # and the missing names of each module

A name counts as present when `gazelle.<module path>.<name>` resolves (attribute access
through gazelle's lazy submodules, then an import of the dotted path). Whether it behaves
like Keras is the business of the tests, not of this count.
"""
import argparse
import importlib
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

MODULES = [
    "keras", "keras.layers", "keras.models", "keras.ops", "keras.ops.numpy", "keras.ops.nn",
    "keras.ops.linalg", "keras.ops.image", "keras.losses", "keras.metrics", "keras.optimizers",
    "keras.optimizers.schedules", "keras.callbacks", "keras.activations", "keras.initializers",
    "keras.regularizers", "keras.constraints", "keras.utils", "keras.random", "keras.tree",
    "keras.datasets", "keras.applications", "keras.saving", "keras.config", "keras.backend",
    "keras.distribution",
]


def public_names(module):
    return sorted(n for n in dir(module) if not n.startswith("_"))


def resolve(dotted):
    """The object at a dotted gazelle path, or None (ImportError if gazelle itself fails)."""
    parts = dotted.split(".")
    obj = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=1):
        try:
            obj = getattr(obj, part)
            continue
        except AttributeError:
            pass
        try:
            obj = importlib.import_module(".".join(parts[:i + 1]))
        except ModuleNotFoundError as e:
            if e.name != ".".join(parts[:i + 1]):
                raise ImportError(f"{dotted}: {e}") from e      # a broken gazelle module
            return None
    return obj


def coverage(keras_module_name):
    keras_module = importlib.import_module(keras_module_name)       # ImportError: reported
    gazelle_path = "gazelle" + keras_module_name[len("keras"):]
    names = [n for n in public_names(keras_module)
             if not (keras_module_name == "keras" and n in ("src", "api"))]
    present, missing = [], []
    target = resolve(gazelle_path)
    for name in names:
        found = target is not None and resolve(f"{gazelle_path}.{name}") is not None
        (present if found else missing).append(name)
    return names, present, missing


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list the missing names")
    args = parser.parse_args(argv)
    import keras
    print(f"Keras {keras.__version__} public API in gazelle\n")
    print("| module | Keras names | gazelle has | gazelle lacks | coverage |")
    print("|---|---:|---:|---:|---:|")
    details = []
    total = have = 0
    for module in MODULES:
        try:
            names, present, missing = coverage(module)
        except ImportError as e:
            print(f"| `{module}` | (not importable: {e}) | | | |")
            continue
        total += len(names)
        have += len(present)
        share = 100.0 * len(present) / len(names) if names else 100.0
        print(f"| `{module}` | {len(names)} | {len(present)} | {len(missing)} | {share:.0f}% |")
        details.append((module, missing))
    print(f"| **all** | {total} | {have} | {total - have} | {100.0 * have / max(total, 1):.0f}% |")
    if args.verbose:
        for module, missing in details:
            if missing:
                print(f"\n{module} lacks ({len(missing)}): " + ", ".join(missing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
