"""The evaluation runner: Benchmark (grid of jobs) and Results."""

from .results import Results

__all__ = ["Benchmark", "Results"]


def __getattr__(name: str):
    if name == "Benchmark":
        from .benchmark import Benchmark

        return Benchmark
    raise AttributeError(name)
