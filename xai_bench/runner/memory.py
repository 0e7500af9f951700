"""Per-job memory cap for forked workers: ``memory_limit`` sizes and ``RLIMIT_AS``.

The cap is the address space a job may *add* to its worker: before each job the
worker sets its soft ``RLIMIT_AS`` to its current size plus the limit, and lifts it again
after. (A worker already maps about 0.7-1.5 GiB once torch, shap and a model are loaded,
so an absolute cap of that order would fail every job.) An allocation past the cap
raises ``MemoryError`` (numpy) or ``RuntimeError: ... can't allocate memory`` (torch) in
the job, which is recorded as ``failed``; a library that aborts instead is recorded as
``crashed``. Either way the machine never reaches the kernel's OOM killer through it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from ..errors import InvalidInputError

__all__ = ["format_size", "limit_address_space", "memory_hint", "parse_size"]

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")
_OOM = re.compile(r"MemoryError|can't allocate memory|out of memory|bad_alloc|Cannot allocate")


def parse_size(value: object, name: str = "memory_limit") -> int | None:
    """Bytes from ``"512MiB"``, ``"2GB"``, ``"1.5 GiB"`` or a plain number; None stays None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        nbytes = None
    elif isinstance(value, (int, float)):
        nbytes = int(value)
    else:
        match = _SIZE.fullmatch(value)
        unit = _UNITS.get(match.group(2).lower()) if match else None
        nbytes = int(float(match.group(1)) * unit) if match and unit else None
    if nbytes is None or nbytes < 1024**2:
        raise InvalidInputError(
            f"{name} {value!r}",
            "a size of at least 1 MiB: bytes (2147483648) or a number with a unit"
            " (512MiB, 2GiB, 2GB; KiB/MiB/GiB/TiB are powers of 1024, kB/MB/GB/TB of 1000)",
            f"Write e.g. {name}: 2GiB, or leave it out for no cap.",
        )
    return nbytes


def format_size(nbytes: int) -> str:
    """``2147483648`` -> ``"2 GiB"``, ``1536 * 1024**2`` -> ``"1.5 GiB"``."""
    for unit, size in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2)):
        if nbytes >= size:
            return f"{nbytes / size:.3g} {unit}"
    return f"{nbytes} B"


@contextlib.contextmanager
def limit_address_space(nbytes: int | None) -> Iterator[None]:
    """Inside the block, this process may map at most ``nbytes`` more than it does now."""
    if nbytes is None:
        yield
        return
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _address_space() + nbytes
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def memory_hint(reason: str, status: str, nbytes: int | None) -> str:
    """``reason`` plus what the cap was and how to raise it, when the cap is the likely cause."""
    if nbytes is None or not (status == "crashed" or _OOM.search(reason)):
        return reason
    return (
        f"{reason} [the job may add at most memory_limit={format_size(nbytes)} to its worker;"
        " raise it with `memory_limit:` in the config, --memory-limit, or"
        " Benchmark(memory_limit=...)]"
    )


def _address_space() -> int:
    with open("/proc/self/statm") as f:  # sizes in pages; the first is the whole mapping
        pages = int(f.read().split()[0])
    import resource

    return pages * resource.getpagesize()
