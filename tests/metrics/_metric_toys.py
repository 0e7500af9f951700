"""Toy tasks with closed-form scores, shared by the metric tests."""

from __future__ import annotations

import numpy as np

from xai_bench import Explanation, Modality, Task

WEIGHTS = np.array([0.5, 0.3, 0.2])


def additive_task(X: np.ndarray | None = None, weights: np.ndarray = WEIGHTS) -> Task:
    """p(class 1) = sum_j w_j x_j on inputs in [0, 1]; baseline 0 removes a feature."""
    w = np.asarray(weights, dtype=np.float64)

    def predict_proba(batch: np.ndarray) -> np.ndarray:
        p = np.clip(np.asarray(batch, dtype=np.float64) @ w, 0.0, 1.0)
        return np.column_stack([1 - p, p])

    X = np.ones((1, len(w))) if X is None else X
    return Task(
        name="toy.additive",
        modality=Modality.TABULAR,
        X=X,
        predict_proba=predict_proba,
        baseline=np.zeros(len(w)),
        background=np.zeros((4, len(w))),
    )


def explanation(attr: np.ndarray, targets: np.ndarray | int = 1, **kw) -> Explanation:
    attr = np.asarray(attr, dtype=np.float64)
    t = np.broadcast_to(np.asarray(targets), (len(attr),))
    return Explanation(attributions=attr, targets=t, explainer=kw.pop("explainer", "test"), **kw)


def assert_batch_invariant(metric, task: Task, X: np.ndarray, ex: Explanation) -> np.ndarray:
    """A sample's score is the same alone, in its batch and in the reversed batch."""
    full = metric.score(task, X, ex).scores
    single = [
        metric.score(task, X[i : i + 1], ex.subset(slice(i, i + 1))).scores[0]
        for i in range(len(X))
    ]
    rev = metric.score(task, X[::-1], ex.subset(slice(None, None, -1))).scores[::-1]
    # float32 models: a batched forward pass may round differently in its last bits
    np.testing.assert_allclose(full, single, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(full, rev, rtol=1e-5, atol=1e-6)
    return full
