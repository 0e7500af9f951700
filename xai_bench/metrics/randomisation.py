"""The randomisation family: MPRT (Adebayo et al., 2018), Smooth and Efficient MPRT
(Hedström et al., 2023) and Random Logit (Sixt et al., 2020).

Every metric here re-runs the explanation's explainer (rebuilt from its name and params)
and records the extra explainer calls in ``params`` (``explainer_calls``, ``explained_rows``).

Model-parameter randomisation test (Adebayo et al., Sanity Checks for Saliency Maps, 2018):

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
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from .._params import Spec, choice, count
from .._rng import sample_rngs
from ..errors import IncompatibleError, InvalidInputError
from ..explanation import Explanation
from ..task import Modality, Task
from ._common import BaseMetric
from .agreement import METHODS, rowwise_corr
from .base import MetricInfo, MetricResult
from .perturb import prepare
from .robustness import _explainer, _reexplain

__all__ = [
    "EfficientMPRT",
    "ModelRandomisation",
    "RandomLogit",
    "SmoothMPRT",
    "efficient_mprt",
    "histogram_entropy",
    "layers",
    "model_randomisation",
    "random_logit",
    "smooth_inputs",
    "smooth_mprt",
    "ssim",
]

MODES = ("cascading", "independent")
_REAL = frozenset({Modality.TABULAR, Modality.IMAGE})
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


def _reset(todo: list[Any], indices: Any, seed: int) -> None:
    """Re-initialise layers ``indices`` (top first, from 0), layer i under ``seed + i + 1``."""
    import torch

    for i in indices:
        with torch.random.fork_rng():
            torch.manual_seed(seed + i + 1)
            todo[i].reset_parameters()


def _torch_layers(task: Task) -> list[Any]:
    if not task.is_torch:
        raise IncompatibleError("model randomisation needs a torch model (task.model)")
    todo = layers(task.model)
    if not todo:
        raise IncompatibleError(
            "the torch model has no layer with parameters and reset_parameters()"
        )
    return todo


def _cost(calls: int, rows: int) -> dict[str, int]:
    """The re-explanation cost a metric records in its params."""
    return {"explainer_calls": calls, "explained_rows": rows}


#: Smooth MPRT explains its noisy copies in calls of whole copies and at most this many
#: rows (at least one copy): one call of n_noise x n rows was 3x slower on digits.cnn at
#: n = 1024 (20,480 rows of CNN gradients leave the cache), per-copy calls of few rows pay
#: the adapter's fixed cost n_noise times.
SMOOTH_ROWS = 1024


def _reexplainer(
    task: Task, explanation: Explanation, Xa: np.ndarray, smooth: tuple[int, float, int] | None
) -> tuple[Callable[[], np.ndarray], Callable[[], dict[str, int]]]:
    """``explain()`` re-explains ``Xa`` for the explanation's targets under the model as it
    is now (flat attributions); with ``smooth = (n_noise, noise, seed)``, the mean over the
    noisy copies of ``smooth_inputs``. ``cost()`` counts the calls and rows so far."""
    explainer, targets = _explainer(explanation), explanation.targets
    copies = Xa[None] if smooth is None else smooth_inputs(Xa, *smooth)
    per_call = max(1, SMOOTH_ROWS // max(len(Xa), 1))
    done = [0, 0]

    def explain() -> np.ndarray:
        parts = []
        for k in range(0, len(copies), per_call):
            rows = copies[k : k + per_call].reshape(-1, *Xa.shape[1:])
            reps = len(rows) // len(Xa)
            new = _reexplain(explainer, task, rows, np.tile(targets, reps))
            parts.append(new.reshape(reps, len(Xa), -1))
            done[0], done[1] = done[0] + 1, done[1] + len(rows)
        return parts[0][0] if smooth is None else np.concatenate(parts).mean(axis=0)

    return explain, lambda: _cost(*done)


def smooth_inputs(X: np.ndarray, n_noise: int, noise: float, seed: int) -> np.ndarray:
    """The ``n_noise`` copies of each sample that Smooth MPRT explains, (n_noise, n, ...).

    Copies 0 .. n_noise-2 add N(0, s^2) noise with ``s = noise * (max(x) - min(x))`` per
    sample; the last copy is the sample itself (as Quantus's ``SmoothMPRT``). The draws come
    from a generator seeded by (seed, the sample's content), so they never depend on the
    batch, and the same copies are explained under every model.

    Parameters
    ----------
    X : ndarray (n, ...)
    n_noise : int
    noise : float
        Noise scale relative to each sample's value range.
    seed : int

    Returns
    -------
    ndarray (n_noise, n, ...)
    """
    Xa = np.asarray(X, dtype=np.float64)
    flat = Xa.reshape(len(Xa), -1)
    scale = noise * (flat.max(axis=1) - flat.min(axis=1))
    z = np.stack(
        [rng.standard_normal((n_noise - 1, *Xa.shape[1:])) for rng in sample_rngs(Xa, seed)],
        axis=1,
    )
    noisy = Xa[None] + z * scale.reshape(1, -1, *([1] * (Xa.ndim - 1)))
    return np.concatenate([noisy, Xa[None]])


def _mprt(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    metric: str,
    mode: str,
    method: str,
    order: str,
    seed: int,
    max_steps: int | None,
    smooth: tuple[int, float, int] | None = None,
) -> MetricResult:
    """The cascade shared by MPRT and Smooth MPRT (``smooth``: see ``_reexplainer``)."""
    _check(task, method, order, mode)
    Xa, explanation = prepare(task, X, explanation)
    todo = _torch_layers(task)
    model = task.model
    explain, cost = _reexplainer(task, explanation, Xa, smooth)
    groups = _groups(len(todo), max_steps)
    valid = explanation.flat_mask()
    nonzero = valid
    if task.modality in (Modality.TABULAR, Modality.IMAGE):
        nonzero = valid & (np.asarray(Xa, dtype=np.float64).reshape(len(Xa), -1) != 0)
    phi = explanation.flat() if smooth is None else explain()
    state = copy.deepcopy(model.state_dict())
    sims, sims_nz = [], []
    new = phi
    try:
        for group in groups:
            if mode == "independent":
                model.load_state_dict(state)
            _reset(todo, group, seed)
            new = explain()
            sims.append(_similarity(phi, new, explanation, method, order, valid))
            if method != "ssim":
                sims_nz.append(_similarity(phi, new, explanation, method, order, nonzero))
    finally:
        model.load_state_dict(state)
    ones = np.where(explanation.degenerate(), np.nan, 1.0)
    curves = np.column_stack([ones, *sims])
    scores = sims[-1] if mode == "cascading" else np.nanmean(np.column_stack(sims), axis=1)
    extra: dict[str, np.ndarray] = {"randomised_attributions": new}
    if smooth is not None:
        extra["smoothed_attributions"] = phi
    if sims_nz:
        nz = sims_nz[-1] if mode == "cascading" else np.nanmean(np.column_stack(sims_nz), axis=1)
        extra["score_nonzero"] = nz
    similarity = ("SSIM" if method == "ssim" else method.capitalize()) + (
        " of |phi|" if order == "abs" else " of phi"
    )
    return MetricResult(
        metric=metric,
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
            "layer_seeds": "layer i (top first, from 1) reset under torch.manual_seed(seed + i)",
            "similarity": similarity,
            "similarity_nonzero": "same, over features whose input is non-zero "
            "(extra score_nonzero)"
            if sims_nz
            else "n/a (SSIM compares whole maps)",
            "method": method,
            "order": order,
            "seed": seed,
            "max_steps": max_steps,
            **cost(),
        },
        extra=extra,
    )


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
    score, does not depend on ``max_steps``; only the curve is coarser. ``params`` records
    the re-explanations (``explainer_calls``, ``explained_rows``).

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
    return _mprt(
        task,
        X,
        explanation,
        metric="model_randomisation",
        mode=mode,
        method=method,
        order=order,
        seed=seed,
        max_steps=max_steps,
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


def smooth_mprt(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    n_noise: int = 50,
    noise: float = 0.1,
    mode: str = "cascading",
    method: str = "spearman",
    order: str = "abs",
    seed: int = 0,
    max_steps: int | None = None,
) -> MetricResult:
    """MPRT on attributions averaged over noisy copies of the input. Lower is better.

    Hedström et al. (2023): averaging over ``n_noise`` copies (``smooth_inputs``: the last
    one noise-free) removes the gradient noise that makes plain MPRT call a randomised
    model's shattered maps "different". The smoothed attributions of the trained model are
    compared with those of each randomisation step of ``model_randomisation`` (same
    layers, seeds, modes and similarity); the same noisy copies are used under every
    model. Costs ``n_noise`` times the re-explained rows of MPRT, plus one step.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions (their explainer and
        targets are re-run; the given attributions are not compared).
    n_noise : int
        Copies per sample, the last one the sample itself.
    noise : float
        Noise standard deviation relative to each sample's value range.
    mode, method, order, seed, max_steps
        As ``model_randomisation``; ``seed`` also seeds the noise.

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [-1, 1], ``curves`` and ``x`` as ``model_randomisation``;
        ``extra["smoothed_attributions"]`` holds the trained model's smoothed attributions.

    Raises
    ------
    IncompatibleError
        If the task has no torch model with resettable layers, or its inputs are not real.
    InvalidInputError
        If an option is unknown or out of range.
    """
    if task.modality not in _REAL:
        raise IncompatibleError("Smooth MPRT adds noise to real-valued inputs (tabular, image)")
    if isinstance(n_noise, bool) or not isinstance(n_noise, int) or n_noise < 1:
        raise InvalidInputError(f"n_noise={n_noise!r}", "an integer >= 1", "Use 50.")
    if not 0 <= noise < np.inf:
        raise InvalidInputError(f"noise={noise!r}", "a finite number >= 0", "Use 0.1.")
    res = _mprt(
        task,
        X,
        explanation,
        metric="smooth_mprt",
        mode=mode,
        method=method,
        order=order,
        seed=seed,
        max_steps=max_steps,
        smooth=(n_noise, noise, seed),
    )
    params = {
        **res.params,
        "n_noise": n_noise,
        "noise": noise,
        "smoothing": "mean of the attributions of n_noise copies: n_noise - 1 with "
        "N(0, (noise * (max x - min x))^2) added, drawn per sample from (seed, its content), "
        "and x itself; the same copies under every model",
        "reference": "the trained model's smoothed attributions (step 0)",
    }
    return MetricResult(res.metric, res.scores, res.curves, res.x, res.flags, params, res.extra)


def histogram_entropy(values: np.ndarray, valid: np.ndarray, bins: int = 100) -> np.ndarray:
    """Entropy (nats) of the histogram of each row's valid values, ``bins`` equal bins.

    The bins span each row's [min, max] (a constant row: [v - 0.5, v + 0.5]) and are
    assigned exactly as ``np.histogram`` assigns them; the entropy is
    ``scipy.stats.entropy(counts)``. Vectorised over the rows.

    Parameters
    ----------
    values : ndarray (n, F)
    valid : ndarray of bool (n, F)
    bins : int

    Returns
    -------
    ndarray (n,)
    """
    v = np.asarray(values, dtype=np.float64)
    lo = np.where(valid, v, np.inf).min(axis=1, keepdims=True)
    hi = np.where(valid, v, -np.inf).max(axis=1, keepdims=True)
    flat = lo == hi
    lo, hi = np.where(flat, lo - 0.5, lo), np.where(flat, hi + 0.5, hi)
    # np.histogram's uniform-bin path: a scaled index, then corrected against the edges
    idx = ((v - lo) / (hi - lo) * bins).astype(np.intp)
    idx = np.clip(idx, 0, bins)
    idx[idx == bins] -= 1
    edges = lambda i: lo + i * ((hi - lo) / bins)  # noqa: E731  # np.linspace's values
    edge_at = np.where(idx == 0, lo, edges(idx))
    idx -= v < edge_at
    nxt = np.where(idx + 1 == bins, hi, edges(idx + 1))
    idx += (v >= nxt) & (idx != bins - 1)
    rows = np.arange(len(v))[:, None]
    counts = np.zeros((len(v), bins))
    np.add.at(counts, (np.broadcast_to(rows, idx.shape)[valid], idx[valid]), 1.0)
    p = counts / counts.sum(axis=1, keepdims=True)
    logp = np.log(p, out=np.zeros_like(p), where=p > 0)
    return -(p * logp).sum(axis=1)


def efficient_mprt(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    bins: int = 100,
    order: str = "signed",
    seed: int = 0,
) -> MetricResult:
    """Relative rise in complexity of the attributions once every layer is randomised.

    Hedström et al. (2023), eMPRT: ``(H(phi_rand) - H(phi)) / H(phi)`` with H the entropy
    of the histogram of the attribution values (``histogram_entropy``, ``bins`` equal bins
    over each sample's range). An explanation of a randomised model should look like
    noise, so its entropy rises: higher is better. One re-explanation, under the model
    with all layers re-initialised as in ``model_randomisation`` (same per-layer seeds).

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions (``phi``).
    bins : int
    order : {"signed", "abs"}
        Histogram of phi (Quantus's default) or of |phi|.
    seed : int

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [-1, inf); NaN with the flag ``undefined`` where H(phi) = 0
        (every value in one bin). ``extra`` holds both entropies.

    Raises
    ------
    IncompatibleError
        If the task has no torch model with resettable layers.
    InvalidInputError
        If ``bins`` or ``order`` is invalid.
    """
    if order not in ORDERS:
        raise InvalidInputError(f"order={order!r}", f"one of {ORDERS}", "Use 'signed'.")
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise InvalidInputError(f"bins={bins!r}", "an integer >= 1", "Use 100.")
    Xa, explanation = prepare(task, X, explanation)
    todo = _torch_layers(task)
    explain, cost = _reexplainer(task, explanation, Xa, None)
    state = copy.deepcopy(task.model.state_dict())
    try:
        _reset(todo, range(len(todo)), seed)
        new = explain()
    finally:
        task.model.load_state_dict(state)
    phi = explanation.flat()
    a, b = (np.abs(phi), np.abs(new)) if order == "abs" else (phi, new)
    valid = explanation.flat_mask()
    h0, h1 = histogram_entropy(a, valid, bins), histogram_entropy(b, valid, bins)
    undefined = ~(h0 > 0)
    rise = np.divide(h1 - h0, h0, out=np.full_like(h0, np.nan), where=~undefined)
    return MetricResult(
        metric="efficient_mprt",
        scores=rise,
        flags={"degenerate": explanation.degenerate(), "undefined": undefined},
        params={
            "complexity": f"entropy (nats) of the histogram of {'|phi|' if order == 'abs' else 'phi'}"
            f" over {bins} equal bins spanning each sample's range (np.histogram)",
            "score": "(H(phi_randomised) - H(phi)) / H(phi)",
            "randomisation": "every layer re-initialised (the cascade's last step)",
            "layers": [type(m).__name__ for m in todo],
            "layer_seeds": "layer i (top first, from 1) reset under torch.manual_seed(seed + i)",
            "bins": bins,
            "order": order,
            "seed": seed,
            **cost(),
        },
        extra={"entropy": h0, "entropy_randomised": h1, "randomised_attributions": new},
    )


def random_logit(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    method: str = "spearman",
    order: str = "signed",
    seed: int = 0,
) -> MetricResult:
    """Similarity of the attributions for the target and for a random other class.

    Sixt et al. (2020): an explanation that does not change when it is asked about another
    class does not explain the class. Lower is better. The other class is drawn uniformly
    among the other classes by a generator seeded by (seed, the sample's content)
    (``extra["other_class"]``); the explainer is re-run once for it.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    method : {"spearman", "kendall", "pearson", "ssim"}
        ``"ssim"`` for images only (SSIM of the 2-D maps).
    order : {"signed", "abs"}
    seed : int

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [-1, 1]; ``params`` records the conventions and the cost.

    Raises
    ------
    IncompatibleError
        If the task is a regression (no other class), or SSIM meets non-images.
    InvalidInputError
        If ``method`` or ``order`` is unknown.
    """
    _check(task, method, order, MODES[0])
    if task.is_regression:
        raise IncompatibleError("random logit needs a classifier: a regression has no other class")
    Xa, explanation = prepare(task, X, explanation)
    n_classes = task.n_outputs
    y = explanation.targets
    draw = np.array([rng.integers(n_classes - 1) for rng in sample_rngs(Xa, seed)], np.int64)
    other = draw + (draw >= y)
    new = _reexplain(_explainer(explanation), task, Xa, other)
    phi = explanation.flat()
    scores = _similarity(phi, new, explanation, method, order, explanation.flat_mask())
    return MetricResult(
        metric="random_logit",
        scores=scores,
        flags={"degenerate": explanation.degenerate(), "undefined": np.isnan(scores)},
        params={
            "other_class": "uniform over the other classes, drawn per sample from "
            "(seed, its content)",
            "similarity": ("SSIM" if method == "ssim" else method.capitalize())
            + (" of |phi|" if order == "abs" else " of phi"),
            "method": method,
            "order": order,
            "seed": seed,
            **_cost(1, len(Xa)),
        },
        extra={"other_class": other, "other_attributions": new},
    )


class SmoothMPRT(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="smooth_mprt",
        higher_is_better=False,
        range=(-1.0, 1.0),
        modalities=_REAL,
        description="MPRT on attributions averaged over noisy copies of the input "
        "(re-explains n_noise copies per step)",
        reference="Hedström et al., Sanity Checks Revisited: An Exploration to Repair the "
        "Model Parameter Randomisation Test, XAI in Action (NeurIPS workshop) 2023",
        family="randomisation",
        formula=r"s_\ell = \operatorname{sim}\big(\bar\phi(x; \theta),\; \bar\phi(x; \tilde{\theta}_{\ell})\big), \quad \bar\phi(x; \theta) = \frac{1}{N} \sum_{k=1}^{N} \phi(x + \varepsilon_k; \theta), \; \varepsilon_k \sim \mathcal{N}(0, \sigma^2), \; \varepsilon_N = 0",
    )
    param_specs: ClassVar[dict[str, Spec]] = {
        "n_noise": count(),
        "noise": Spec("float", low=0.0),
        "mode": choice(*MODES),
        "method": choice(*METHODS, "ssim"),
        "max_steps": count(none=True),
    }

    def __init__(
        self,
        n_noise: int = 50,
        noise: float = 0.1,
        mode: str = "cascading",
        method: str = "spearman",
        order: str = "abs",
        seed: int = 0,
        max_steps: int | None = None,
    ) -> None:
        self.n_noise = n_noise
        self.noise = noise
        self.mode = mode
        self.method = method
        self.order = order
        self.seed = seed
        self.max_steps = max_steps

    _fn = staticmethod(smooth_mprt)


class EfficientMPRT(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="efficient_mprt",
        higher_is_better=True,
        range=(-1.0, np.inf),
        description="Relative rise of the attributions' histogram entropy once every layer "
        "is re-initialised (one re-explanation)",
        reference="Hedström et al., Sanity Checks Revisited: An Exploration to Repair the "
        "Model Parameter Randomisation Test, XAI in Action (NeurIPS workshop) 2023",
        family="randomisation",
        formula=r"\mathrm{eMPRT} = \frac{H\big(\phi(x; \tilde{\theta})\big) - H\big(\phi(x; \theta)\big)}{H\big(\phi(x; \theta)\big)}, \quad H(\phi) = -\sum_{b=1}^{B} p_b \ln p_b, \; p_b = \text{share of } \phi_i \text{ in bin } b",
    )
    param_specs: ClassVar[dict[str, Spec]] = {"bins": count(), "order": choice(*ORDERS)}

    def __init__(self, bins: int = 100, order: str = "signed", seed: int = 0) -> None:
        self.bins = bins
        self.order = order
        self.seed = seed

    _fn = staticmethod(efficient_mprt)


class RandomLogit(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="random_logit",
        higher_is_better=False,
        range=(-1.0, 1.0),
        description="Similarity of the attributions for the target and for a random other "
        "class (one re-explanation)",
        reference="Sixt et al., When Explanations Lie: Why Many Modified BP Attributions "
        "Fail, ICML 2020",
        family="randomisation",
        formula=r"\mathrm{RL} = \operatorname{sim}\big(\phi_{y}(x),\; \phi_{c}(x)\big), \quad c \sim \mathcal{U}\{1, \dots, C\} \setminus \{y\}",
    )
    param_specs: ClassVar[dict[str, Spec]] = {
        "method": choice(*METHODS, "ssim"),
        "order": choice(*ORDERS),
    }

    def __init__(self, method: str = "spearman", order: str = "signed", seed: int = 0) -> None:
        self.method = method
        self.order = order
        self.seed = seed

    _fn = staticmethod(random_logit)
