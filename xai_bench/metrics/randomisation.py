"""Model-parameter randomisation test (Adebayo et al., Sanity Checks for Saliency Maps, 2018).

Re-initialise the weights of the torch model, re-explain the same inputs for the same
targets, and measure how similar the attributions stay. A faithful explainer depends on
the model, so its attributions change (low similarity).

- ``mode="cascading"`` (the paper's main test): re-initialise the layers from the top
  (logits) down, one more at each step, re-explaining after every step. The curve is the
  similarity against the number of layers randomised; the score is the last step (every
  layer randomised).
- ``mode="independent"``: re-initialise one layer at a time, the others trained. The
  curve holds one step per layer (top first); the score is their mean.

"Layers" are the modules that own parameters and have ``reset_parameters()``, top-down
in reverse registration order. The weights are restored afterwards.

Similarity: Spearman of |phi| (``order="abs"``, the paper's default), Spearman of phi
(``order="signed"``), or SSIM of the maps (``method="ssim"``, images). Rank correlations
are also reported over the features whose input is non-zero (``extra["score_nonzero"]``):
where x = 0, gradient x input and integrated gradients are 0 under every model, and those
ties inflate the all-feature score (digits: about half the pixels are 0).
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import numpy as np

from .._params import Spec, choice, count
from ..errors import IncompatibleError, InvalidInputError
from ..explanation import Explanation
from ..task import Modality, Task
from ._common import BaseMetric
from .agreement import METHODS, rowwise_corr
from .base import MetricInfo, MetricResult
from .perturb import prepare
from .robustness import _explainer, _reexplain

__all__ = ["ModelRandomisation", "layers", "model_randomisation", "ssim"]

MODES = ("cascading", "independent")
ORDERS = ("abs", "signed")


def layers(model: Any) -> list[Any]:
    """The model's re-initialisable layers, top (output) first.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    list of torch.nn.Module
        Modules with ``reset_parameters``.
    """
    return [
        m
        for m in model.modules()
        if hasattr(m, "reset_parameters") and any(True for _ in m.parameters(recurse=False))
    ][::-1]


def ssim(a: np.ndarray, b: np.ndarray, data_range: float, win_size: int = 7) -> np.ndarray:
    """Mean structural similarity of each pair of 2-D maps ``a[i]``, ``b[i]`` (n, h, w).

    Wang et al. (2004) with a uniform ``win_size`` window and sample covariances, the
    border of half a window left out of the mean (as ``skimage.metrics.structural_similarity``).

    Parameters
    ----------
    a, b : ndarray (n, h, w)
    data_range : float
        Range of the values (the SSIM constants scale with it).
    win_size : int

    Returns
    -------
    ndarray (n,)
    """
    from scipy.ndimage import uniform_filter

    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    win = min(win_size, *a.shape[1:])
    win -= 1 - win % 2  # odd
    size = (1, win, win)
    cov = win * win / (win * win - 1)
    ma, mb = uniform_filter(a, size), uniform_filter(b, size)
    va = cov * (uniform_filter(a * a, size) - ma * ma)
    vb = cov * (uniform_filter(b * b, size) - mb * mb)
    vab = cov * (uniform_filter(a * b, size) - ma * mb)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * ma * mb + c1) * (2 * vab + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2))
    p = (win - 1) // 2
    return s[:, p : s.shape[1] - p, p : s.shape[2] - p].reshape(len(s), -1).mean(axis=1)


def _groups(n_layers: int, max_steps: int | None) -> list[range]:
    """Contiguous top-down groups of layer indices, at most ``max_steps`` of them."""
    k = n_layers if max_steps is None else min(max_steps, n_layers)
    bounds = np.linspace(0, n_layers, k + 1).round().astype(int)
    return [range(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _check(task: Task, method: str, order: str, mode: str) -> None:
    if not task.is_torch:
        raise IncompatibleError("model randomisation needs a torch model (task.model)")
    if mode not in MODES:
        raise InvalidInputError(f"mode={mode!r}", f"one of {MODES}", "Use 'cascading'.")
    if order not in ORDERS:
        raise InvalidInputError(f"order={order!r}", f"one of {ORDERS}", "Use 'abs'.")
    if method not in (*METHODS, "ssim"):
        raise InvalidInputError(
            f"method={method!r}", f"one of {(*METHODS, 'ssim')}", "Use 'spearman'."
        )
    if method == "ssim" and task.modality is not Modality.IMAGE:
        raise IncompatibleError(f"SSIM compares image maps, not {task.modality.value} inputs")


def _similarity(
    phi: np.ndarray,
    new: np.ndarray,
    explanation: Explanation,
    method: str,
    order: str,
    keep: np.ndarray,
) -> np.ndarray:
    """Per-sample similarity of the flat attributions over the features in ``keep``."""
    a, b = (np.abs(phi), np.abs(new)) if order == "abs" else (phi, new)
    if method != "ssim":
        return rowwise_corr(a, b, method, keep)
    shape = (-1, *explanation.feature_shape[-2:])  # channels become extra maps
    scale = lambda v: v / np.maximum(np.abs(v).max(axis=1, keepdims=True), 1e-300)  # noqa: E731
    ma, mb = (scale(v).reshape(shape) for v in (a, b))
    per = ssim(ma, mb, data_range=1.0 if order == "abs" else 2.0)
    return per.reshape(len(a), -1).mean(axis=1)


def model_randomisation(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    mode: str = "cascading",
    method: str = "spearman",
    order: str = "abs",
    seed: int = 0,
    max_steps: int | None = None,
) -> MetricResult:
    """Similarity of the attributions before and after re-initialising the model's layers.

    Lower is better. ``curves`` holds the similarity after each step (step 0: the trained
    model, similarity 1), ``x`` the number of layers randomised (cascading) or the index
    of the last layer randomised (independent), top first. Layer ``i`` (top first, from 1)
    is reset with its ``reset_parameters()`` under ``torch.manual_seed(seed + i)``.

    ``max_steps`` bounds the cost: the layers are split top-down into at most that many
    contiguous groups of near-equal size, one group per step (one re-explanation each).
    The seeds stay per layer, so the fully randomised model, and hence the cascading
    score, does not depend on ``max_steps``; only the curve is coarser.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    mode : {"cascading", "independent"}
    method : {"spearman", "kendall", "pearson", "ssim"}
        ``"ssim"`` for images only.
    order : {"abs", "signed"}
    seed : int
    max_steps : int, optional
        At most this many steps (groups of layers).

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [-1, 1], ``curves`` and ``x``; ``params`` records the conventions.

    Raises
    ------
    IncompatibleError
        If the task has no torch model with resettable layers, or SSIM meets non-images.
    InvalidInputError
        If ``mode``, ``order`` or ``method`` is unknown.
    """
    _check(task, method, order, mode)
    import torch

    Xa, explanation = prepare(task, X, explanation)
    explainer = _explainer(explanation)
    model = task.model
    todo = layers(model)
    if not todo:
        raise IncompatibleError(
            "the torch model has no layer with parameters and reset_parameters()"
        )
    groups = _groups(len(todo), max_steps)
    valid = explanation.flat_mask()
    nonzero = valid
    if task.modality in (Modality.TABULAR, Modality.IMAGE):
        nonzero = valid & (np.asarray(Xa, dtype=np.float64).reshape(len(Xa), -1) != 0)
    phi = explanation.flat()
    state = copy.deepcopy(model.state_dict())
    sims, sims_nz = [], []
    new = phi
    try:
        for group in groups:
            if mode == "independent":
                model.load_state_dict(state)
            for i in group:
                with torch.random.fork_rng():
                    torch.manual_seed(seed + i + 1)
                    todo[i].reset_parameters()
            new = _reexplain(explainer, task, Xa, explanation.targets)
            sims.append(_similarity(phi, new, explanation, method, order, valid))
            if method != "ssim":
                sims_nz.append(_similarity(phi, new, explanation, method, order, nonzero))
    finally:
        model.load_state_dict(state)
    ones = np.where(explanation.degenerate(), np.nan, 1.0)
    curves = np.column_stack([ones, *sims])
    scores = sims[-1] if mode == "cascading" else np.nanmean(np.column_stack(sims), axis=1)
    extra: dict[str, np.ndarray] = {"randomised_attributions": new}
    if sims_nz:
        nz = sims_nz[-1] if mode == "cascading" else np.nanmean(np.column_stack(sims_nz), axis=1)
        extra["score_nonzero"] = nz
    similarity = ("SSIM" if method == "ssim" else method.capitalize()) + (
        " of |phi|" if order == "abs" else " of phi"
    )
    return MetricResult(
        metric="model_randomisation",
        scores=scores,
        curves=curves,
        x=np.array([0, *(g[-1] + 1 for g in groups)], dtype=np.float64),
        flags={
            "degenerate": explanation.degenerate(),
            "unchanged": np.all(np.isclose(phi, new), axis=1),
        },
        params={
            "mode": mode,
            "randomisation": (
                "cascading: layers re-initialised top-down, cumulatively; score after all of them"
                if mode == "cascading"
                else "independent: one layer re-initialised at a time; score = mean over layers"
            ),
            "layers": [type(m).__name__ for m in todo],
            "similarity": similarity,
            "similarity_nonzero": "same, over features whose input is non-zero "
            "(extra score_nonzero)"
            if sims_nz
            else "n/a (SSIM compares whole maps)",
            "method": method,
            "order": order,
            "seed": seed,
            "max_steps": max_steps,
        },
        extra=extra,
    )


class ModelRandomisation(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="model_randomisation",
        higher_is_better=False,
        range=(-1.0, 1.0),
        description="Similarity of attributions before and after re-initialising the model's "
        "layers top-down (cascading, sanity check)",
        reference="Adebayo et al., Sanity Checks for Saliency Maps, NeurIPS 2018",
        family="randomisation",
        formula=r"s_\ell = \operatorname{sim}\big(\phi(x; \theta),\; \phi(x; \tilde{\theta}_{\ell})\big), \quad \tilde{\theta}_{\ell} = \theta \text{ with the top } \ell \text{ layers re-initialised}",
    )
    param_specs: ClassVar[dict[str, Spec]] = {
        "mode": choice(*MODES),
        "method": choice(*METHODS, "ssim"),
        "max_steps": count(none=True),
    }

    def __init__(
        self,
        mode: str = "cascading",
        method: str = "spearman",
        order: str = "abs",
        seed: int = 0,
        max_steps: int | None = None,
    ) -> None:
        self.mode = mode
        self.method = method
        self.order = order
        self.seed = seed
        self.max_steps = max_steps

    _fn = staticmethod(model_randomisation)
