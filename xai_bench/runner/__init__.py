"""The evaluation runner: Benchmark (grid of jobs) and Results.

Both are imported on first use: ``runner.config`` (``xai-bench validate``) must not pay
for pandas and the rest of the runner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .benchmark import Benchmark
    from .results import Results

__all__ = ["Benchmark", "Results"]


def __getattr__(name: str) -> Any:
    if name == "Benchmark":
        from .benchmark import Benchmark

        return Benchmark
    if name == "Results":
        from .results import Results

        return Results
    raise AttributeError(name)
