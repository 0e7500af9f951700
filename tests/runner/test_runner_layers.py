"""The runner's modules import in one direction: store rows -> load -> stats -> Results.

Every import is counted, at module level, inside functions and under TYPE_CHECKING, so a
function-level import cannot hide a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import xai_bench.runner

RUNNER = Path(xai_bench.runner.__file__).parent
# lowest first: a module may import only modules listed before it
LAYERS = ["store", "load", "stats", "results", "benchmark"]


def runner_imports(module: str, root: Path = RUNNER) -> set[str]:
    """Sibling runner modules that ``runner/<module>.py`` imports, anywhere in the file."""
    tree = ast.parse((root / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:  # from .load import x
                found.add(node.module.split(".")[0])
            elif node.level == 1:  # from . import stats
                found.update(a.name for a in node.names)
            elif node.module and node.module.startswith("xai_bench.runner."):
                found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("xai_bench.runner."):
                    found.add(a.name.split(".")[2])
    return found & {p.stem for p in root.glob("*.py")}


def test_scanner_sees_function_level_imports(tmp_path):
    (tmp_path / "a.py").write_text("def f():\n    from .b import x\n    from . import c\n")
    (tmp_path / "b.py").write_text("")
    (tmp_path / "c.py").write_text("")
    assert runner_imports("a", tmp_path) == {"b", "c"}


def test_store_load_stats_results_benchmark_import_downwards_only():
    for i, module in enumerate(LAYERS):
        above = set(LAYERS[i + 1 :]) | {module}
        assert not runner_imports(module) & above, (module, runner_imports(module) & above)


def test_load_reads_rows_without_the_runner_above_it():
    assert runner_imports("load") <= {"store"}
    assert runner_imports("stats") <= {"load"}


def test_no_import_circle_in_the_runner_package():
    graph = {p.stem: runner_imports(p.stem) for p in RUNNER.glob("*.py")}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError(" -> ".join([*path, node, nxt]))
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
