"""The package's layers: tasks, adapters and metrics build on the core, never on each other."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "xai_bench"
LAYERS = ("tasks", "adapters", "metrics")


def _imports(path: Path) -> set[str]:
    """Every xai_bench module ``path`` imports (top level or inside functions)."""
    parts = ["xai_bench", *path.relative_to(PACKAGE).with_suffix("").parts]
    package = parts[:-1]  # the package a relative import starts from
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("xai_bench")}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if module.startswith("xai_bench"):
                found.add(module)
                found |= {f"{module}.{a.name}" for a in node.names}  # from . import _hf
    return found


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_relative_imports_resolve():
    found = _imports(PACKAGE / "tasks" / "text.py")
    assert {"xai_bench._hf", "xai_bench.task", "xai_bench.tasks._cache"} <= found


def test_tasks_adapters_and_metrics_do_not_import_each_other():
    crossings = []
    for path in PACKAGE.rglob("*.py"):
        own = _layer(".".join(["xai_bench", *path.relative_to(PACKAGE).parts]))
        if own is None:
            continue
        for module in _imports(path):
            other = _layer(module)
            if other is not None and other != own:
                crossings.append(f"{path.relative_to(PACKAGE)} -> {module}")
    assert crossings == []


def test_the_core_does_not_import_the_layers_above_it():
    core = [
        p for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "cli.py", "registry.py")
    ]
    assert {"task.py", "_hf.py", "_tokens.py", "_rows.py", "_torch.py"} <= {p.name for p in core}
    above = {*LAYERS, "runner", "reports", "testing"}
    for path in core:
        up = sorted(m for m in _imports(path) if m.split(".")[1:2] and m.split(".")[1] in above)
        assert up == [], f"{path.name} imports {up}"
