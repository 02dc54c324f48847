"""The tier table of docs/ARCHITECTURE.md, checked on the imports of every module."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "gazelle"

# package prefix -> imports it must never make (module prefixes).
FORBIDDEN = {
    "gazelle.core": ["gazelle.layers", "gazelle.models", "gazelle.training", "gazelle.callbacks",
                     "gazelle.losses", "gazelle.metrics", "gazelle.optimizers", "gazelle.saving"],
    "gazelle.ops": ["gazelle.layers", "gazelle.models", "gazelle.training", "gazelle.losses",
                    "gazelle.metrics", "gazelle.optimizers", "gazelle.saving"],
    "gazelle.tree": ["jax", "gazelle.layers", "gazelle.models"],
    "gazelle.constraints": ["gazelle.layers", "gazelle.models", "gazelle.training",
                            "gazelle.saving"],
    "gazelle.activations": ["gazelle.layers", "gazelle.models", "gazelle.training"],
    "gazelle.initializers": ["gazelle.layers", "gazelle.models", "gazelle.training"],
    "gazelle.losses": ["gazelle.layers", "gazelle.models", "gazelle.training"],
    "gazelle.metrics": ["gazelle.layers", "gazelle.models", "gazelle.training"],
    "gazelle.optimizers": ["gazelle.layers", "gazelle.models", "gazelle.training",
                           "gazelle.saving"],
    "gazelle.layers": ["gazelle.models", "gazelle.training", "gazelle.callbacks",
                       "gazelle.saving"],
    "gazelle.regularizers": ["gazelle.saving", "gazelle.layers", "gazelle.models"],
    "gazelle.training": ["gazelle.models", "gazelle.layers", "gazelle.doctor"],
    "gazelle.doctor": ["gazelle.models", "gazelle.layers", "gazelle.callbacks",
                       "gazelle.saving"],
    "gazelle.callbacks": ["jax", "gazelle.models", "gazelle.layers", "gazelle.training"],
    "gazelle.utils.progbar": ["jax"],
    "gazelle.utils.summary": ["jax"],
    "gazelle.utils.io": ["jax"],
    "gazelle.utils.numerical": ["jax"],
    "gazelle.datasets": ["jax"],
}

# module prefix -> imports allowed despite FORBIDDEN: the engine calls the doctor only
# through its hook interface; training/diagnostics.py is the doctor's compatibility shim.
ALLOWED = {
    "gazelle.training": ["gazelle.doctor.hooks"],
    "gazelle.training.diagnostics": ["gazelle.doctor"],
}


def modules():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        name = ".".join(rel.parts).removesuffix(".__init__")
        yield name, path


def imports_of(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{a.name}" for a in node.names)


@pytest.mark.parametrize("name, path", list(modules()), ids=lambda v: str(v))
def test_module_respects_the_tier_table(name, path):
    rules = [bad for prefix, bad in FORBIDDEN.items()
             if name == prefix or name.startswith(prefix + ".")]
    allowed = [ok for prefix, oks in ALLOWED.items()
               if name == prefix or name.startswith(prefix + ".") for ok in oks]
    found = {i for i in imports_of(path)
             if not any(i == ok or i.startswith(ok + ".") for ok in allowed)}
    for bad_list in rules:
        for bad in bad_list:
            hits = sorted(i for i in found if i == bad or i.startswith(bad + "."))
            assert not hits, f"{name} imports {hits}, which its tier may not import"
