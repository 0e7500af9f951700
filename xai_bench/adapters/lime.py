"""LIME adapters: tabular, image (superpixels) and text (words mapped onto model tokens).

LIME seeds itself only when its explainer is built, so each row gets a freshly
built explainer seeded with ``seed``: the same row and seed always give the same
weights, whatever else is in the batch. The target column is passed as LIME's
``labels`` so two-column probabilities never fall back to column 0.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._deps import require
from ..explainer import BaseExplainer, Capabilities
from ..task import CountingScorer, Modality, Task
from ._background import task_background


def _weights(local_exp: list[tuple[int, float]], size: int) -> np.ndarray:
    out = np.zeros(size)
    for j, w in local_exp:
        out[int(j)] = w
    return out


class LimeTabular(BaseExplainer):
    """LIME's tabular explainer with the task's background as its training data.

    Parameters
    ----------
    n_samples : int
        Perturbed samples per row.
    kernel_width : float or None
        LIME's kernel width; None is LIME's ``0.75 * sqrt(n_features)``.
    discretize_continuous : bool
        LIME's default quartile discretisation of continuous features.
    seed : int
    """

    name: ClassVar[str] = "lime.tabular"
    library: ClassVar[str] = "lime"
    capabilities: ClassVar[Capabilities] = Capabilities(
        modalities=frozenset({Modality.TABULAR}), stochastic=True
    )

    def __init__(
        self,
        n_samples: int = 1000,
        kernel_width: float | None = None,
        discretize_continuous: bool = True,
        seed: int = 0,
    ) -> None:
        self.n_samples = n_samples
        self.kernel_width = kernel_width
        self.discretize_continuous = discretize_continuous
        self.seed = seed

    def _attribute(
        self, task: Task, X: np.ndarray, targets: np.ndarray, scorer: CountingScorer
    ) -> tuple[np.ndarray, dict[str, Any]]:
        lime_tabular = require("lime.lime_tabular", "lime")
        background = task_background(task)  # finite, numeric, numpy: LIME sees no surprises
        n_features = X.shape[1]
        names = list(task.feature_names or [f"x{j}" for j in range(n_features)])
        attr, scores, intercepts = np.zeros(X.shape), [], []
        for i, (x, t) in enumerate(zip(X, targets, strict=True)):
            explainer = lime_tabular.LimeTabularExplainer(
                background,
                mode="classification",
                feature_names=names,
                kernel_width=self.kernel_width,
                discretize_continuous=self.discretize_continuous,
                random_state=self.seed,
            )
            exp = explainer.explain_instance(
                x, scorer, labels=(int(t),), num_features=n_features, num_samples=self.n_samples
            )
            attr[i] = _weights(exp.local_exp[int(t)], n_features)
            scores.append(float(exp.score[int(t)] if isinstance(exp.score, dict) else exp.score))
            intercepts.append(float(exp.intercept[int(t)]))
        return attr, {"surrogate_r2": scores, "intercepts": intercepts}
