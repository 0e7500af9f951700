"""Control explainers: a seeded random one (always in a comparison) and a ground-truth oracle."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ..explainer import BaseExplainer, Capabilities, Requirement
from ..task import CountingScorer, Modality, Task

ALL = frozenset(Modality)


class RandomExplainer(BaseExplainer):
    """Standard-normal attributions from a seeded generator: the control every method must beat.

    Parameters
    ----------
    seed : int
    """

    name: ClassVar[str] = "random"
    capabilities: ClassVar[Capabilities] = Capabilities(modalities=ALL, stochastic=True)

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def _attribute(
        self, task: Task, X: np.ndarray, targets: np.ndarray, scorer: CountingScorer
    ) -> np.ndarray:
        return np.random.default_rng(self.seed).standard_normal(X.shape)


class OracleExplainer(BaseExplainer):
    """Attribution 1 on the task's known evidence features and 0 elsewhere.

    Only defined for tasks with ``ground_truth``; it is the upper reference that
    faithfulness metrics should rank above random.
    """

    name: ClassVar[str] = "oracle"
    capabilities: ClassVar[Capabilities] = Capabilities(
        modalities=ALL, requires=frozenset({Requirement.GROUND_TRUTH}), output_space="none"
    )

    def __init__(self) -> None:
        pass

    def _attribute(
        self, task: Task, X: np.ndarray, targets: np.ndarray, scorer: CountingScorer
    ) -> np.ndarray:
        truth = np.asarray(task.ground_truth)
        if truth.shape == task.feature_shape:
            return np.broadcast_to(truth, X.shape).astype(np.float64)
        # per-sample truth: find each row of X among the task's inputs
        index = _row_index(np.asarray(task.X), X)
        return truth[index].astype(np.float64)


def _row_index(pool: np.ndarray, X: np.ndarray) -> np.ndarray:
    flat_pool = pool.reshape(len(pool), -1)
    flat_x = X.reshape(len(X), -1)
    lookup = {row.tobytes(): i for i, row in enumerate(flat_pool)}
    try:
        return np.array([lookup[row.astype(flat_pool.dtype).tobytes()] for row in flat_x])
    except KeyError as exc:
        from ..errors import InvalidInputError

        raise InvalidInputError(
            "inputs that are not among the task's samples",
            "rows of task.X (ground truth is known only for them)",
            "Explain task.X[...] with the oracle.",
        ) from exc
