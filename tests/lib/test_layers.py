"""The layers the folders show hold in the import graph: no module imports a higher layer."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "weightline"
# Lowest first. A module may import its own layer or any lower one, never a higher one.
LAYERS = [
    "errors", "_version", "progress", "domain", "settings", "store", "dvc", "ops", "api", "serve",
    "cli",
]  # fmt: skip
RANK = {layer: rank for rank, layer in enumerate(LAYERS)} | dict.fromkeys(
    ("_version", "logs", "progress"), 0
)


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "weightline" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in RANK else None


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_no_module_imports_a_higher_layer():
    violations = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = "weightline." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        own = layer_of(module)
        if own is None:  # the package's __init__/__main__: entry points, above every layer
            continue
        for target in imports(path):
            other = layer_of(target)
            if other is not None and RANK[other] > RANK[own]:
                violations.append(f"{module} imports {target}")
    assert violations == []


def test_the_layers_are_the_folders():
    present = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()}
    assert set(LAYERS) <= present | {"api", "settings", "errors", "_version"}
