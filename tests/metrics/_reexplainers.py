"""Explainers with closed-form attributions for the re-explaining metrics (registered by
the ``closed_form`` fixture, so that ``get_explainer(explanation.explainer)`` rebuilds them)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from xai_bench import BaseExplainer, Capabilities, Modality


class WeightTimesInput(BaseExplainer):
    """phi = w * (x - b): exact Shapley values of the additive toy model with baseline b."""

    name: ClassVar[str] = "test.w_times_x"
    capabilities: ClassVar[Capabilities] = Capabilities(modalities=frozenset(Modality))

    def __init__(self, w: tuple = (0.5, 0.3, 0.2), b: float = 0.0) -> None:
        self.w = w
        self.b = b

    def _attribute(self, task, X, targets, scorer):
        X = np.asarray(X, dtype=np.float64)
        return np.broadcast_to(np.asarray(self.w), X.shape) * (X - self.b)


class Weights(WeightTimesInput):
    """phi = w whatever x: the gradient of a linear model, constant in x."""

    name: ClassVar[str] = "test.w"

    def _attribute(self, task, X, targets, scorer):
        return np.broadcast_to(np.asarray(self.w, dtype=np.float64), np.shape(X)).copy()
