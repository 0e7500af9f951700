"""Statistics over per-sample scores: means, bootstrap CIs (first version)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .results import Results

KEYS = ["task", "explainer", "metric"]


def bootstrap_ci(
    values: np.ndarray, level: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return (np.nan, np.nan)
    if len(v) == 1:
        return (float(v[0]), float(v[0]))
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def summarize(results: Results, level: float = 0.95) -> pd.DataFrame:
    rows = []
    for key, grp in results.scores.groupby(KEYS, sort=True):
        s = grp["score"].to_numpy(dtype=np.float64)
        lo, hi = bootstrap_ci(s, level)
        rows.append(
            {
                **dict(zip(KEYS, key, strict=True)),
                "n": len(s),
                "mean": float(np.nanmean(s)),
                "median": float(np.nanmedian(s)),
                "ci_low": lo,
                "ci_high": hi,
            }
        )
    return pd.DataFrame(rows, columns=[*KEYS, "n", "mean", "median", "ci_low", "ci_high"])
