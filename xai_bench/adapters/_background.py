"""Reference data for perturbation explainers: validated, capped and summarised up front."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import as_feature_matrix
from ..errors import InvalidInputError
from ..task import Task

SUMMARIES = ("kmeans", "sample")


@dataclass(frozen=True)
class Background:
    """Background rows with weights, and what was done to them (recorded in meta)."""

    data: np.ndarray
    weights: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


def task_background(task: Task) -> np.ndarray:
    """The task's background (else its inputs) as a finite float matrix (n, n_features)."""
    ref = task.X if task.background is None else task.background
    data, _ = as_feature_matrix(ref, "background")
    if data.shape[1:] != task.feature_shape:
        raise InvalidInputError(
            f"background with feature shape {data.shape[1:]}",
            f"the task's feature shape {task.feature_shape}",
            "Pass background rows with the same columns as X.",
        )
    return data


def constant_columns(data: np.ndarray) -> list[int]:
    """Columns with one value in the background: they cannot get attribution (flagged in meta)."""
    flat = data.reshape(len(data), -1)
    return np.flatnonzero((flat == flat[:1]).all(0)).tolist()


def summarize(
    data: np.ndarray,
    max_rows: int,
    method: str,
    seed: int,
    *,
    bytes_per_row: float = 0.0,
    max_memory_mb: float | None = None,
) -> Background:
    """Cap ``data`` at ``max_rows`` rows (and at a memory budget) by k-means or sampling.

    ``bytes_per_row`` is what the explainer allocates per background row; with
    ``max_memory_mb`` the row cap is lowered so the estimate fits, and that is recorded.
    """
    if method not in SUMMARIES:
        raise InvalidInputError(
            f"background_summary={method!r}", f"one of {SUMMARIES}", "Pick a supported summary."
        )
    if int(max_rows) < 1:
        raise InvalidInputError(
            f"max_background={max_rows}", "a positive row count", "Use e.g. 50."
        )
    cap = int(max_rows)
    info: dict[str, Any] = {
        "background_rows_available": len(data),
        "constant_features": constant_columns(data),
    }
    if max_memory_mb is not None and bytes_per_row > 0:
        fit = int(max_memory_mb * 2**20 // bytes_per_row)
        info["memory_estimate_mb"] = round(min(cap, len(data)) * bytes_per_row / 2**20, 1)
        if fit < min(cap, len(data)):
            cap = max(1, fit)
            info["memory_capped"] = (
                f"background cut to {cap} rows to stay under {max_memory_mb} MB "
                f"(estimate {info['memory_estimate_mb']} MB at {min(max_rows, len(data))} rows)"
            )
    if len(data) <= cap:
        info.update(background_summary="none", background_rows=len(data))
        return Background(data, np.full(len(data), 1.0 / len(data)), info)
    if method == "sample":
        idx = np.sort(np.random.default_rng(seed).choice(len(data), cap, replace=False))
        rows, weights = data[idx], np.full(cap, 1.0 / cap)
    else:
        from sklearn.cluster import KMeans

        km = KMeans(n_clusters=cap, random_state=seed, n_init=3).fit(data)
        rows = km.cluster_centers_
        weights = np.bincount(km.labels_, minlength=cap) / len(data)
    info.update(background_summary=method, background_rows=cap)
    return Background(np.ascontiguousarray(rows, dtype=np.float64), weights, info)
