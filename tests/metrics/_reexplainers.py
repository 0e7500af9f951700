"""Explainers with closed-form attributions, registered by id so that re-explaining
metrics can rebuild them (``get_explainer(explanation.explainer)``)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

import xai_bench as xb
from xai_bench import BaseExplainer, Capabilities, Modality
from xai_bench.registry import unregister_explainer


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


@pytest.fixture
def closed_form():
    """Both explainers registered for one test."""
    for cls in (WeightTimesInput, Weights):
        xb.register_explainer(cls)
    yield WeightTimesInput, Weights
    for cls in (WeightTimesInput, Weights):
        unregister_explainer(cls.name)
