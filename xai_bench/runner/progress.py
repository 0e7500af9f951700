"""Progress display: rich bars on a terminal, one plain line per stage otherwise."""

from __future__ import annotations

import sys
import time
from collections import Counter
from typing import Any, TextIO

STATUSES = ("ok", "failed", "skipped", "timeout", "crashed")


class StageProgress:
    """Counts job outcomes of one stage and shows them.

    Parameters
    ----------
    stage : str
        ``"explain"`` or ``"score"``.
    total : int
        Jobs in the stage (including those skipped before running).
    enabled : bool or None
        None: rich bars when ``stream`` is a terminal, plain lines otherwise. False: silent.
    """

    def __init__(
        self, stage: str, total: int, enabled: bool | None = None, stream: TextIO | None = None
    ) -> None:
        self.stage, self.total = stage, total
        self.stream = stream or sys.stderr
        self.enabled = enabled is not False
        self.rich = enabled is None and self.stream.isatty()
        self.counts: Counter[str] = Counter()
        self._bar: Any = None

    def __enter__(self) -> StageProgress:
        self.start = time.perf_counter()
        if self.rich and self.total:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._bar.start()
            self._id = self._bar.add_task(self.stage, total=self.total, detail="")
        return self

    def update(self, status: str) -> None:
        self.counts[status] += 1
        if self._bar is not None:
            self._bar.update(self._id, advance=1, detail=self.detail())

    def detail(self) -> str:
        return ", ".join(f"{self.counts[s]} {s}" for s in STATUSES if self.counts[s])

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif self.enabled:
            seconds = time.perf_counter() - self.start
            print(
                f"[xai-bench] {self.stage}: {sum(self.counts.values())}/{self.total} jobs"
                f" ({self.detail() or 'nothing to do'}) in {seconds:.1f} s",
                file=self.stream,
                flush=True,
            )
