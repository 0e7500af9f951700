"""Control explainers: a seeded random one (always in a comparison) and a ground-truth oracle."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .._rng import sample_rngs
from .._rows import row_index
from ..explainer import BaseExplainer, Capabilities, Requirement
from ..task import INPUT_MODALITIES, CountingScorer, Task

ALL = INPUT_MODALITIES


class RandomExplainer(BaseExplainer):
    """Standard-normal attributions, seeded per sample: the control every method must beat.

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
        # one generator per row, from (seed, the row's content): the same row gets the
        # same attributions alone or in any batch
        return np.stack([rng.standard_normal(X.shape[1:]) for rng in sample_rngs(X, self.seed)])


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
        index = row_index(np.asarray(task.X), X)
        return truth[index].astype(np.float64)
