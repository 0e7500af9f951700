"""Short one-line descriptions of arrays and lists, for the public types' ``__repr__``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np


def describe_array(x: Any) -> str:
    """``(569, 30) float32`` for an array, the type name for anything else."""
    shape, dtype = getattr(x, "shape", None), getattr(x, "dtype", None)
    if shape is None:
        return type(x).__name__
    return f"{tuple(int(s) for s in shape)} {dtype}" if dtype is not None else str(tuple(shape))


def head(items: Iterable[Any], n: int = 3) -> str:
    """``[a, b, c, … +27]``: the first ``n`` items and how many more."""
    items = list(items)
    shown = ", ".join(str(i) for i in items[:n])
    more = f", … +{len(items) - n}" if len(items) > n else ""
    return f"[{shown}{more}]"


def mean_text(values: Any) -> str:
    arr = np.asarray(values, dtype=np.float64)
    return "nan" if arr.size == 0 or np.isnan(arr).all() else f"{np.nanmean(arr):.4g}"
