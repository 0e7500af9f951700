"""Image task with known evidence: generated 32x32 RGB scenes whose class is one object's shape.

Each scene holds one white object (the class: square, disc, triangle or cross) and
``N_DISTRACTORS`` coloured objects of random shapes, never white, at non-overlapping random
positions on a dark noisy background. The distractors carry no class information, so the
white object's pixels (all three channels) are the task's ``ground_truth``.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from .._deps import require
from ..task import Modality, Task
from ._cache import cached_torch, fit_minibatch

SEED = 0
SIZE = 32
SHAPES = ("square", "disc", "triangle", "cross")
N_DISTRACTORS = 3
N_TRAIN, N_TEST, N_BACKGROUND = 4000, 512, 128
EPOCHS = 4
#: distractor colours (RGB in [0, 1]); none is white, so the class object is unambiguous
COLOURS = np.array(
    [[0.9, 0.2, 0.2], [0.2, 0.8, 0.2], [0.25, 0.35, 0.95], [0.9, 0.8, 0.1], [0.8, 0.3, 0.9]]
)
WHITE = np.array([1.0, 1.0, 1.0])


def _shape_mask(shape: int, radius: int) -> np.ndarray:
    """Boolean footprint (2r+1, 2r+1) of a shape centred in its box."""
    d = np.arange(-radius, radius + 1)
    dy, dx = np.meshgrid(d, d, indexing="ij")
    if SHAPES[shape] == "square":
        return np.ones(dy.shape, dtype=bool)
    if SHAPES[shape] == "disc":
        return dx**2 + dy**2 <= radius**2 + radius // 2
    if SHAPES[shape] == "triangle":  # apex up, base at the bottom row
        return np.abs(dx) <= (dy + radius) / 2
    thick = max(1, radius // 3)  # cross
    return (np.abs(dx) <= thick) | (np.abs(dy) <= thick)


def _scene(rng: np.random.Generator, label: int) -> tuple[np.ndarray, np.ndarray]:
    """One image (3, SIZE, SIZE) and the class object's mask (SIZE, SIZE)."""
    img = rng.uniform(0.0, 0.15, size=(3, SIZE, SIZE))
    truth = np.zeros((SIZE, SIZE), dtype=bool)
    boxes: list[tuple[int, int, int]] = []
    objects = [(label, WHITE)] + [
        (int(rng.integers(len(SHAPES))), COLOURS[rng.integers(len(COLOURS))])
        for _ in range(N_DISTRACTORS)
    ]
    for i, (shape, colour) in enumerate(objects):
        r = int(rng.integers(3, 5))
        for _ in range(100):  # rejection sampling of a free position (one pixel apart)
            cy, cx = (int(v) for v in rng.integers(r, SIZE - r, size=2))
            if all(abs(cy - y) > r + q + 1 or abs(cx - x) > r + q + 1 for y, x, q in boxes):
                break
        boxes.append((cy, cx, r))
        mask = np.zeros((SIZE, SIZE), dtype=bool)
        mask[cy - r : cy + r + 1, cx - r : cx + r + 1] = _shape_mask(shape, r)
        img[:, mask] = colour[:, None] * rng.uniform(0.85, 1.0)
        if i == 0:
            truth = mask
    return img, truth


def make_shapes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` scenes: images (n, 3, 32, 32) in [0, 1], labels (n,), masks (n, 3, 32, 32)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % len(SHAPES)
    rng.shuffle(y)
    X = np.empty((n, 3, SIZE, SIZE))
    truth = np.empty((n, 3, SIZE, SIZE), dtype=bool)
    for i, label in enumerate(y):
        X[i], truth[i] = _scene(rng, int(label))
    return X, y, truth


@cache
def shapes_cnn() -> Task:
    """A small CNN that names the white object's shape among coloured distractors.

    ``ground_truth`` is the white object's pixel mask. Removal value 0 (black).
    """
    require("torch", "torch")
    import torch
    from torch import nn

    X_te, y_te, t_te = make_shapes(N_TEST, SEED + 1)
    background = make_shapes(N_BACKGROUND, SEED + 2)[0]

    def build() -> nn.Module:
        torch.manual_seed(SEED)
        # nn.ReLU / nn.MaxPool2d modules so DeepLift and guided backprop can hook them. The
        # head max-pools each 32x32 tile (8x8 after two pools) and averages the tiles: the
        # global max on a scene, and an input of 2x2 scenes (Focus's mosaics) is classified
        # too; AdaptiveMaxPool2d would do the first but SHAP's DeepExplainer cannot pass it
        return nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(8), nn.AdaptiveAvgPool2d(1),
            nn.Flatten(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, len(SHAPES)),
        )  # fmt: skip

    def train(model: nn.Module) -> None:
        X_tr, y_tr, _ = make_shapes(N_TRAIN, SEED)  # only when the weights are not cached
        fit_minibatch(model, X_tr, y_tr, epochs=EPOCHS, seed=SEED)

    model = cached_torch("shapes_cnn_v2", build, train)
    task = Task.from_torch(
        model, X_te, y_te, background=background, name="shapes.cnn", modality=Modality.IMAGE,
        class_names=SHAPES, ground_truth=t_te,
    )  # fmt: skip
    from dataclasses import replace

    acc = float((task.predicted(task.X) == task.y).mean())
    return replace(task, meta={**task.meta, "accuracy": round(acc, 4), "model_output": "logits"})
