"""Count the forward passes an explainer really runs, in passes over the task's examples."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["PassCounter", "count_passes"]


class PassCounter:
    """Forward calls and rows the model has run since the counter started;
    ``passes`` = rows / examples (forward-pass equivalents)."""

    def __init__(self, n_examples: int) -> None:
        self.n_examples, self.rows, self.calls = n_examples, 0, 0

    @property
    def passes(self) -> float:
        return self.rows / self.n_examples


@contextlib.contextmanager
def count_passes(model: Any, n_examples: int) -> Iterator[PassCounter]:
    """Count every forward call of ``model`` and its rows (a pre-hook on its forward)."""
    counter = PassCounter(n_examples)

    def hook(_module: Any, args: tuple[Any, ...]) -> None:
        counter.calls += 1
        counter.rows += int(args[0].shape[0])

    handle = model.register_forward_pre_hook(hook)
    try:
        yield counter
    finally:
        handle.remove()
