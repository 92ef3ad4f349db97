"""The layout shows the architecture: the core never imports a shell, shells never import each other.

Parts: the core (io, extraction, rules, model, scoring and what they share) and the shells (cli,
batch, report, service, engines). The command line is the entry point that starts the other
shells, so it alone may import them. Imports inside functions count as much as those at the top.
"""

from __future__ import annotations

import ast
from importlib import resources
from pathlib import Path

import pytest

PACKAGE = Path(str(resources.files("notes_nlp")))
SHELLS = ("notes_nlp.cli", "notes_nlp.batch", "notes_nlp.report", "notes_nlp.service", "notes_nlp.engines")
ENTRY_POINT = "notes_nlp.cli"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every notes_nlp module the file imports, anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith("notes_nlp")}


def part(module: str) -> str | None:
    """The shell a module belongs to, or None for the core."""
    return next((shell for shell in SHELLS if module == shell or module.startswith(shell + ".")), None)


MODULES = {module_name(path): imports(path) for path in sorted(PACKAGE.rglob("*.py"))}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_shell_but_its_own_or_the_entry_point(module):
    own = part(module)
    if module == ENTRY_POINT:
        return
    foreign = sorted(name for name in MODULES[module] if part(name) not in (None, own))
    assert not foreign, f"{module} ({own or 'core'}) imports the shell(s) {foreign}"


def test_scoring_does_not_reach_training():
    """The inference arithmetic is the model's own module (model/fitted.py), not training's."""
    reached, todo = set(), ["notes_nlp.scoring"]
    while todo:
        module = todo.pop()
        if module in reached or module not in MODULES:
            continue
        reached.add(module)
        todo.extend(MODULES[module])
    assert "notes_nlp.model.fitted" in reached and "notes_nlp.model.train" not in reached


def test_extraction_knows_nothing_of_scikit_learn():
    for path in (PACKAGE / "extraction").rglob("*.py"):
        assert "sklearn" not in path.read_text("utf-8"), path
