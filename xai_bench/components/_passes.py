"""Count the forward passes an explainer really runs, in passes over the task's examples."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["PassCounter", "count_passes"]


class PassCounter:
    """Rows the model has run since the counter started; ``passes`` = rows / examples."""

    def __init__(self, n_examples: int) -> None:
        self.n_examples, self.rows = n_examples, 0

    @property
    def passes(self) -> float:
        return self.rows / self.n_examples


@contextlib.contextmanager
def count_passes(model: Any, n_examples: int) -> Iterator[PassCounter]:
    """Count the rows of every forward call of ``model`` (a pre-hook on its forward)."""
    counter = PassCounter(n_examples)

    def hook(_module: Any, args: tuple[Any, ...]) -> None:
        counter.rows += int(args[0].shape[0])

    handle = model.register_forward_pre_hook(hook)
    try:
        yield counter
    finally:
        handle.remove()
