"""Built-in tasks that build offline, deterministically, in seconds (cached on disk).

A built-in model is trained on its first use and cached (``tasks/_cache.py``); later
loads read the cache. While it trains, one line on stderr says so when stderr is a
terminal; ``XAI_BENCH_QUIET=1`` silences it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


@contextmanager
def building(name: str, stream: TextIO | None = None) -> Iterator[None]:
    """Tell the user that the built-in model ``name`` is being trained, and how long it took."""
    out = stream or sys.stderr
    show = out.isatty() and os.environ.get("XAI_BENCH_QUIET", "") in ("", "0")
    start = time.perf_counter()
    if show:
        print(
            f"xai-bench: training the built-in model {name} (first use, then cached) ...",
            end="",
            file=out,
            flush=True,
        )
    yield
    if show:
        print(f" done in {time.perf_counter() - start:.1f} s", file=out, flush=True)
