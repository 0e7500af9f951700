"""Occlusion: how much the target probability drops when one feature is set to its baseline."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from xai_bench import BaseExplainer, Capabilities, Modality


class Occlusion(BaseExplainer):
    """Attribution of feature j = f(x) - f(x with feature j replaced by the task's removal value).

    Parameters
    ----------
    scale : float
        Multiplies the attributions (a hyperparameter, to show how they are declared).
    """

    name: ClassVar[str] = "example.occlusion"
    library: ClassVar[str] = "xai-bench-plugin-example"
    capabilities: ClassVar[Capabilities] = Capabilities(
        modalities=frozenset({Modality.TABULAR, Modality.IMAGE})
    )

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale  # hyperparameters only: no logic, no validation here

    def _attribute(self, task, X, targets, scorer):
        flat = X.reshape(len(X), -1)
        n, d = flat.shape
        removal = np.broadcast_to(task.removal_value(), X.shape[1:]).reshape(-1)
        # one batch with every single-feature occlusion of every row
        occluded = np.repeat(flat[:, None, :], d, axis=1)
        occluded[:, np.arange(d), np.arange(d)] = removal
        p = scorer(np.concatenate([X, occluded.reshape(n * d, *X.shape[1:])]))
        full = p[np.arange(n), targets]
        drop = p[n:].reshape(n, d, -1)[np.arange(n), :, targets]
        return (self.scale * (full[:, None] - drop)).reshape(X.shape)
