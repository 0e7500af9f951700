"""Image task: scikit-learn's 8x8 digits with a small torch CNN."""

from __future__ import annotations

from functools import cache

import numpy as np

from .._deps import require
from ..task import Modality, Task
from ._cache import cached_torch, fit_minibatch

SEED = 0


@cache
def _digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    X = (data.images / 16.0).astype(np.float64)[:, None]  # (n, 1, 8, 8) in [0, 1]
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, data.target, test_size=0.25, random_state=SEED, stratify=data.target
    )
    return X_tr, X_te, y_tr, y_te


@cache
def digits_cnn() -> Task:
    """A two-convolution CNN on 8x8 digits (about 97% test accuracy); removal value 0 (black)."""
    require("torch", "torch")
    import torch
    from torch import nn

    X_tr, X_te, y_tr, y_te = _digits()

    def build() -> nn.Module:
        torch.manual_seed(SEED)
        # nn.ReLU / nn.MaxPool2d modules (not functional calls) so DeepLift and
        # guided backprop can hook them
        return nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(16 * 4 * 4, 32), nn.ReLU(), nn.Linear(32, 10),
        )  # fmt: skip

    def train(model: nn.Module) -> None:
        fit_minibatch(model, X_tr, y_tr, epochs=15, seed=SEED)

    model = cached_torch("digits_cnn", build, train)
    task = Task.from_torch(
        model, X_te, y_te, background=X_tr, name="digits.cnn", modality=Modality.IMAGE,
        class_names=tuple(str(d) for d in range(10)),
    )  # fmt: skip
    from dataclasses import replace

    acc = float((task.predicted(task.X) == task.y).mean())
    return replace(task, meta={**task.meta, "accuracy": round(acc, 4), "model_output": "logits"})
