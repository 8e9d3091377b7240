"""The house rules of ARCHITECTURE.md, checked on the source: layers, no import cycles,
files readable in one sitting, and no component compared by name outside ``nn/`` and
the registry.

Imports are read with :mod:`ast` (every ``import`` statement, also those inside
functions, except ``if TYPE_CHECKING:`` blocks), so a lazy import that crosses a
layer upwards is caught as well as a top-level one.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "aekit"

#: Lowest first. A module may import from its own layer and the layers below it, never above.
#: A module belongs to the layer of the longest prefix that names it.
LAYERS: list[tuple[str, ...]] = [
    ("aekit.errors", "aekit._version", "aekit._atomic"),
    ("aekit.nn", "aekit.data"),
    ("aekit.registry",),
    ("aekit.config",),
    ("aekit.model",),
    ("aekit.analysis.baselines", "aekit.analysis.vae", "aekit.analysis.embeddings", "aekit.analysis.metrics"),
    ("aekit.train", "aekit.io"),
    ("aekit.fitting",),
    ("aekit.estimators",),
    ("aekit.report",),
    ("aekit.analysis", "aekit.explorer"),
    ("aekit.cli",),
    ("aekit", "aekit.__main__"),
]

#: Files may grow to about 400 lines; past this they are split.
MAX_LINES = 450


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _layer(module: str) -> int:
    best, best_len = None, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    assert best is not None, f"{module} is in no layer of tests/test_architecture.py: add it to LAYERS"
    return best


def _resolve(importer: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    if not MODULES[importer].name == "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skip.update(id(n) for n in ast.walk(child))
    return skip


def imports_of(module: str, top_level_only: bool = False) -> set[str]:
    """The aekit modules ``module`` imports (a ``from package import submodule`` names the submodule)."""
    tree = ast.parse(MODULES[module].read_text())
    skip = _type_checking_nodes(tree)
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    out: set[str] = set()
    for node in nodes:
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names if alias.name.split(".")[0] == "aekit")
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            if target.split(".")[0] != "aekit":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in MODULES else target)
    return {name for name in out if name in MODULES and name != module}


def test_every_module_has_a_layer():
    for module in MODULES:
        _layer(module)


def test_no_layer_imports_a_higher_one():
    wrong = []
    for module in MODULES:
        for target in imports_of(module):
            if _layer(target) > _layer(module):
                wrong.append(f"{module} (layer {_layer(module)}) imports {target} (layer {_layer(target)})")
    assert not wrong, "lower layers must not import higher ones:\n" + "\n".join(wrong)


def test_no_import_cycles():
    """Top-level imports form no cycle (an import inside a function cannot deadlock a start-up)."""
    graph = {m: imports_of(m, top_level_only=True) for m in MODULES}
    # A package's __init__ importing its own submodules is how packages re-export; the
    # submodule importing the package back would be the cycle, and that edge is kept.
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append(stack[stack.index(target) :] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    # package -> own submodule edges are re-exports; a cycle made only of those and
    # submodule -> sibling edges inside one package is still a cycle, so all are reported.
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_files_are_readable_in_one_sitting(module):
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{MODULES[module].relative_to(SRC)} has {lines} lines; split it (limit {MAX_LINES})"


# `bottleneck == "vq"`, `cfg.arch in ("mlp", "conv")`, `variant != "plain"` and the like.
_NAME_TEST = re.compile(r"\b(bottleneck|arch|variant)\b\s*(==|!=|\bin\b|\bnot in\b)\s*[\(\[\{]?\s*['\"]")


def test_components_are_asked_not_named():
    """Callers ask a component what it can do; only nn/ and the registry know names."""
    found = []
    for module, path in MODULES.items():
        if module.startswith("aekit.nn") or module == "aekit.registry":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if _NAME_TEST.search(line):
                found.append(f"{path.relative_to(SRC)}:{number}: {line.strip()}")
    assert not found, "compare capabilities, not names:\n" + "\n".join(found)
