"""Tabular tasks: breast cancer (torch MLP, gradient-boosted trees), a synthetic linear
classifier and a synthetic regressor (both with known evidence features)."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np

from ..task import Modality, Task
from ._cache import cached_sklearn, cached_torch

SEED = 0


@cache
def _breast_cancer() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer()
    X_tr, X_te, y_tr, y_te = train_test_split(
        data.data, data.target, test_size=0.3, random_state=SEED, stratify=data.target
    )
    scaler = StandardScaler().fit(X_tr)
    names = tuple(str(n) for n in data.feature_names)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te, names


CLASSES = ("malignant", "benign")


@cache
def breast_cancer_mlp() -> Task:
    """A 30-32-2 torch MLP on standardised breast-cancer features (about 97% accuracy)."""
    import torch
    from torch import nn

    X_tr, X_te, y_tr, y_te, names = _breast_cancer()

    def build() -> nn.Module:
        torch.manual_seed(SEED)
        return nn.Sequential(nn.Linear(30, 32), nn.ReLU(), nn.Linear(32, 2))

    def train(model: nn.Module) -> None:
        torch.manual_seed(SEED)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-3)
        xb = torch.tensor(X_tr, dtype=torch.float32)
        yb = torch.tensor(y_tr, dtype=torch.long)
        model.train()
        for _ in range(200):
            opt.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            opt.step()

    model = cached_torch("breast_cancer_mlp", build, train)
    task = Task.from_torch(
        model,
        X_te,
        y_te,
        feature_names=names,
        background=X_tr,
        name="breast_cancer.mlp",
        class_names=CLASSES,
    )
    return _with_accuracy(task)


@cache
def breast_cancer_gbt() -> Task:
    """Gradient-boosted trees (scikit-learn) on the same standardised features."""
    from sklearn.ensemble import GradientBoostingClassifier

    X_tr, X_te, y_tr, y_te, names = _breast_cancer()
    model = cached_sklearn(
        "breast_cancer_gbt",
        lambda: GradientBoostingClassifier(n_estimators=60, max_depth=3, random_state=SEED).fit(
            X_tr, y_tr
        ),
    )
    task = Task.from_sklearn(
        model,
        X_te,
        y_te,
        feature_names=names,
        background=X_tr,
        name="breast_cancer.gbt",
        class_names=CLASSES,
    )
    return _with_accuracy(task)


SYNTHETIC_WEIGHTS = np.array([2.0, -1.5, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0])


@cache
def synthetic_linear() -> Task:
    """Logistic model on 8 standard-normal features where only features 0-2 matter.

    The weights are set, not learned, so features 3-7 have exactly no effect:
    ground truth for oracle checks, dummy-feature and closed-form tests.
    """
    import torch
    from torch import nn

    rng = np.random.default_rng(SEED)
    X = rng.standard_normal((256, 8))
    background = rng.standard_normal((256, 8))
    model = nn.Linear(8, 2)
    with torch.no_grad():
        w = torch.tensor(SYNTHETIC_WEIGHTS, dtype=torch.float32)
        model.weight.copy_(torch.stack([-w / 2, w / 2]))
        model.bias.zero_()
    model.eval()
    truth = np.zeros(X.shape, dtype=bool)
    truth[:, :3] = True
    logit = X @ SYNTHETIC_WEIGHTS
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-logit))).astype(int)
    return Task.from_torch(
        model,
        X,
        y,
        feature_names=[f"x{i}" for i in range(8)],
        background=background,
        name="synthetic.linear",
        modality=Modality.TABULAR,
        class_names=("neg", "pos"),
        ground_truth=truth,
    )


REGRESSION_EVIDENCE = 3  # features 0-2 reach the model; 3-7 are cut off


def regression_target(X: np.ndarray) -> np.ndarray:
    """The function ``synthetic.regression`` learns: features 0-2 only, one interaction."""
    return 2.0 * X[:, 0] - 1.5 * X[:, 1] + X[:, 2] + 0.5 * X[:, 0] * X[:, 1]


@cache
def synthetic_regression() -> Task:
    """An 8-16-1 torch MLP regressor on 8 standard-normal features; only 0-2 matter.

    The first layer's weights from features 3-7 are held at exactly zero while training,
    so those features have no effect at all: ground truth for a regressor. The explained
    output is the prediction itself (``output_kind="regression"``).
    """
    import torch
    from torch import nn

    rng = np.random.default_rng(SEED + 1)
    X_tr, X_te = rng.standard_normal((512, 8)), rng.standard_normal((256, 8))
    y_tr, y_te = regression_target(X_tr), regression_target(X_te)
    cut = torch.ones(16, 8)
    cut[:, REGRESSION_EVIDENCE:] = 0.0

    def build() -> nn.Module:
        torch.manual_seed(SEED)
        return nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))

    def train(model: nn.Module) -> None:
        torch.manual_seed(SEED)
        weight = next(model.parameters())  # the first layer's (16, 8) weight
        with torch.no_grad():
            weight.mul_(cut)
        hook = weight.register_hook(lambda g: g * cut)  # Adam never moves a cut weight
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        xb = torch.tensor(X_tr, dtype=torch.float32)
        yb = torch.tensor(y_tr, dtype=torch.float32)[:, None]
        model.train()
        for _ in range(400):
            opt.zero_grad()
            nn.functional.mse_loss(model(xb), yb).backward()
            opt.step()
        hook.remove()

    model = cached_torch("synthetic_regression_mlp", build, train)
    truth = np.zeros(X_te.shape, dtype=bool)
    truth[:, :REGRESSION_EVIDENCE] = True
    task = Task.from_torch(
        model,
        X_te,
        y_te,
        feature_names=[f"x{i}" for i in range(8)],
        background=X_tr,
        name="synthetic.regression",
        output="regression",
        ground_truth=truth,
    )
    pred = task.predict(X_te)[:, 0]
    r2 = 1.0 - np.mean((pred - y_te) ** 2) / np.var(y_te)
    return replace(task, meta={**task.meta, "r2": round(float(r2), 4)})


def _with_accuracy(task: Task) -> Task:
    acc = float((task.predicted(task.X) == task.y).mean())
    return replace(task, meta={**task.meta, "accuracy": round(acc, 4)})
