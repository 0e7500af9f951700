"""Finding given rows among a task's inputs (per-sample ground truth is known only for them)."""

from __future__ import annotations

import numpy as np

from .errors import InvalidInputError

__all__ = ["row_index"]


def row_index(pool: np.ndarray, X: np.ndarray) -> np.ndarray:
    """The index in ``pool`` of each row of ``X`` (compared byte for byte in pool's dtype)."""
    flat_pool = pool.reshape(len(pool), -1)
    flat_x = X.reshape(len(X), -1)
    lookup = {row.tobytes(): i for i, row in enumerate(flat_pool)}
    try:
        return np.array([lookup[row.astype(flat_pool.dtype).tobytes()] for row in flat_x])
    except KeyError as exc:
        raise InvalidInputError(
            "inputs that are not among the task's samples",
            "rows of task.X (ground truth is known only for them)",
            "Explain task.X[...] with the oracle.",
        ) from exc
