"""Regions removed cumulatively, most relevant first: Region Perturbation and Selectivity.

Both follow Quantus 0.6's region version (``RegionPerturbation``, ``Selectivity``):

1. the regions are the cells of a ``patch`` x ``patch`` grid over the attribution map
   (summed over channels; 1 x ``patch`` on tabular rows), the map padded to a multiple of
   ``patch`` with the smaller half of the padding before it (Quantus's
   ``get_padding_size`` and ``get_block_indices``): disjoint, every pixel in exactly one;
2. regions are sorted by their attribution sum, descending (ties: a seeded random key,
   batch-invariant; Quantus's ``np.argsort`` keeps no defined order among ties), and
   Region Perturbation keeps the first ``regions`` of them;
3. the regions are removed one after another (all channels), cumulatively, by the
   ``baseline`` masker, and the target output is read after each.

How Region Perturbation differs from :func:`~xai_bench.metrics.deletion.aopc`: ``aopc``
removes single features on a fraction grid from 0 to 1 and averages the K+1 drops
including the zero drop at step 0; Region Perturbation removes contiguous regions ranked
by their summed attribution (a pixel's own rank does not matter), stops after
``regions`` regions, and averages the L drops after each region (no step 0). With
``patch=1`` on tabular data and one feature per step, Region Perturbation equals
``aopc * (K+1) / K``.

The cells of each sample are ranked region by region, so the engine's
:func:`~xai_bench.metrics.perturb.masked_scores` removes the first k regions as a prefix
of that ranking: chunked, deduplicated, and the same for a sample in any batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from .._params import Spec, count
from ..errors import IncompatibleError
from ..explanation import Explanation
from ..task import Modality, Task
from ._common import BaseMetric
from .base import MetricInfo, MetricResult
from .deletion import perturbation_setup
from .perturb import masked_scores, scored_space, tie_keys, to_space

__all__ = [
    "RegionPerturbation",
    "Selectivity",
    "region_perturbation",
    "selectivity",
]

_SPATIAL = frozenset({Modality.TABULAR, Modality.IMAGE})


def attribution_map(task: Task, phi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The attribution map (n, H, W) summed over channels, and each feature's pixel (F,).

    Images of shape (C, H, W) give (H, W) maps; any other input is one row (1, F).
    """
    shape = task.feature_shape
    if task.modality is Modality.IMAGE and len(shape) == 3:
        C, H, W = shape
        amap = phi.reshape(len(phi), C, H, W).sum(axis=1)
        return amap, np.tile(np.arange(H * W), C)
    return phi.reshape(len(phi), 1, -1), np.arange(phi.shape[1])


def _centred_padding(dim: int, patch: int) -> tuple[int, int]:
    """Padding before and after ``dim`` to a multiple of ``patch``, split as Quantus's
    ``get_padding_size`` does (the smaller half first)."""
    total = -dim % patch
    return total // 2, total - total // 2


def region_labels(
    amap: np.ndarray, patch: int, regions: int | None, keys: np.ndarray
) -> np.ndarray:
    """Per-pixel region index (n, H, W) in removal order, -1 outside every region taken.

    The regions are the cells of a ``patch`` x ``patch`` grid (1 x ``patch`` on a row)
    laid over the map padded to a multiple of ``patch`` on both sides, as Quantus 0.6's
    ``get_block_indices``; they are ranked by their attribution sum, descending, and
    ``keys`` (n, H*W) break ties between equal sums (a seeded random key).
    """
    n, H, W = amap.shape
    ph, pw = (1 if H == 1 else patch), patch
    (top, bottom), (left, right) = _centred_padding(H, ph), _centred_padding(W, pw)
    padded = np.pad(amap, ((0, 0), (top, bottom), (left, right)))
    bh, bw = padded.shape[1] // ph, padded.shape[2] // pw
    sums = padded.reshape(n, bh, ph, bw, pw).sum(axis=(2, 4)).reshape(n, bh * bw)
    order = np.lexsort((keys[:, : bh * bw], -sums), axis=-1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(bh * bw), order.shape), axis=1)
    if regions is not None:
        rank[rank >= regions] = -1
    block = ((np.arange(H) + top) // ph)[:, None] * bw + ((np.arange(W) + left) // pw)[None, :]
    return rank[:, block]


def ordered_region_scores(
    task: Task,
    X: Any,
    explanation: Explanation,
    labels_of: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    *,
    baseline: Any,
    space: str,
    seed: int,
    predict: Callable[[Any], np.ndarray] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, Explanation, dict[str, Any]]:
    """Remove each sample's regions cumulatively, in their order; the target output after
    0, 1, ..., L regions (n, 1 + Lmax), NaN past a sample's last region.

    ``labels_of(amap, Xa, keys)`` gives the per-pixel region index (n, H, W) in removal
    order (-1: never removed). Returns the outputs (in ``space``), the number of regions
    per sample, the labels, the prepared explanation and the conventions.
    """
    if task.modality not in _SPATIAL:
        raise IncompatibleError(
            f"regions are defined on images and tabular rows, not {task.modality.value}"
        )
    space = scored_space(task, space)
    Xa, explanation, _, _, fill, params = perturbation_setup(
        task, X, explanation, baseline=baseline, order="signed", seed=seed, space=space
    )
    params.pop("order")  # regions are ranked by their own sums
    phi = explanation.flat()
    n, F = phi.shape
    amap, pixel = attribution_map(task, phi)
    content = np.concatenate([phi, Xa.reshape(n, -1).astype(np.float64)], axis=1)
    keys = tie_keys(content, amap.shape[1] * amap.shape[2], seed)
    labels = labels_of(amap, Xa, keys).reshape(n, -1)
    cell = labels[:, pixel]  # (n, F): each feature's region
    L = labels.max(axis=1) + 1
    Lmax = max(1, int(L.max()))
    key = np.where(cell >= 0, cell, Lmax).astype(np.int64) * F + np.arange(F)
    positions = np.argsort(np.argsort(key, axis=1), axis=1).astype(np.int32)
    sizes = np.zeros((n, Lmax + 1), dtype=np.int64)
    np.add.at(sizes, (np.broadcast_to(np.arange(n)[:, None], cell.shape), cell + 1), 1)
    counts = np.concatenate([np.zeros((n, 1), np.int64), np.cumsum(sizes[:, 1:], axis=1)], 1)
    p = masked_scores(task, Xa, explanation.targets, positions, counts, fill, predict=predict)
    y = to_space(p, space, params.get("log_odds_clip", 1e-7))
    y[np.arange(Lmax + 1)[None, :] > L[:, None]] = np.nan
    return y, L, labels, explanation, {**params, "space": space}


def _patch_labels(patch: int, regions: int | None) -> Callable[..., np.ndarray]:
    return lambda amap, Xa, keys: region_labels(amap, patch, regions, keys)


def resolve_patch(task: Task, patch: int | None) -> tuple[int, str]:
    """The patch side and its rule: ``patch``, or by default 1/8 of the image's shorter
    side (at least 1; 1 on tabular rows, whose column order carries no adjacency)."""
    if patch is not None:
        return patch, "given"
    shape = task.feature_shape
    if task.modality is Modality.IMAGE and len(shape) == 3:
        return max(1, min(shape[1:]) // 8), "default: 1/8 of the image's shorter side"
    return 1, "default: 1 on tabular rows"


def _unit_auc(y: np.ndarray, L: np.ndarray) -> np.ndarray:
    """Trapezoid with unit spacing over each row's first L values (Quantus's calculate_auc)."""
    inner = np.nan_to_num(y[:, 1:] + y[:, :-1]) / 2
    return (inner * (np.arange(y.shape[1] - 1)[None, :] < (L - 1)[:, None])).sum(axis=1)


_REGIONS = (
    "the cells of a {patch}x{patch} grid (1x{patch} on tabular rows; the map padded to a "
    "multiple of {patch}, centred), sorted by attribution sum descending (at most {regions}), "
    "removed cumulatively on all channels"
)


def region_perturbation(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    patch: int | None = None,
    regions: int = 100,
    baseline: Any = "default",
    space: str = "probability",
    seed: int = 0,
    predict: Callable[[Any], np.ndarray] | None = None,
) -> MetricResult:
    """Region Perturbation (MoRF): mean drop f(x) - f(x without the first k regions) over
    the L regions removed. Higher is better.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    patch : int, optional
        Side of a region (Quantus's ``patch_size``, 8); None: 1/8 of the image's shorter
        side (digits: 1, shapes: 4), 1 on tabular rows.
    regions : int
        At most this many regions (Quantus's ``regions_evaluation``).
    baseline : str, number, array or Masker
        What removal means (Quantus's default ``perturb_baseline="uniform"`` is random;
        its "black" is ``baseline="min"``).
    space : {"probability", "log_odds"}
    seed : int
        Tie-break seed.
    predict : callable, optional

    Returns
    -------
    MetricResult
        Per-sample ``scores``; ``curves`` (n, Lmax) hold Quantus's per-sample curve
        f(x) - f(x_k), NaN past a sample's last region; ``extra["auc"]`` is Quantus's
        ``get_auc_score`` term (unit-spacing trapezoid of the curve).
    """
    patch, rule = resolve_patch(task, patch)
    y, L, labels, explanation, params = ordered_region_scores(
        task, X, explanation, _patch_labels(patch, regions),
        baseline=baseline, space=space, seed=seed, predict=predict,
    )  # fmt: skip
    drops = y[:, :1] - y[:, 1:]
    return MetricResult(
        metric="region_perturbation",
        scores=np.nanmean(drops, axis=1),
        curves=drops,
        x=np.arange(1, drops.shape[1] + 1, dtype=np.float64),
        flags={"degenerate": explanation.degenerate()},
        params={
            **params,
            "patch": patch,
            "patch_rule": rule,
            "regions": _REGIONS.format(patch=patch, regions=regions),
            "aggregate": "mean over the L regions of f(x) - f(x without regions 1..k) (no step 0)",
        },
        extra={"auc": _unit_auc(drops, L), "n_regions": L, "f_x": y[:, 0]},
    )


def selectivity(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    patch: int | None = None,
    baseline: Any = "default",
    space: str = "probability",
    seed: int = 0,
    predict: Callable[[Any], np.ndarray] | None = None,
) -> MetricResult:
    """Selectivity (Montavon et al., 2018): area under f(x without regions 1..k) over all
    non-overlapping regions, most relevant first. Lower is better.

    The area is Quantus's: a trapezoid with unit spacing over the L outputs after each
    region (no step 0), so it grows with L; compare explainers on the same task.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    patch : int, optional
        Side of a region, as in :func:`region_perturbation`.
    baseline : str, number, array or Masker
    space : {"probability", "log_odds"}
    seed : int
    predict : callable, optional

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [0, inf); ``curves`` (n, Lmax) the outputs after each
        region (Quantus's per-sample result), NaN past a sample's last region.
    """
    patch, rule = resolve_patch(task, patch)
    y, L, labels, explanation, params = ordered_region_scores(
        task, X, explanation, _patch_labels(patch, None),
        baseline=baseline, space=space, seed=seed, predict=predict,
    )  # fmt: skip
    curve = y[:, 1:]
    return MetricResult(
        metric="selectivity",
        scores=_unit_auc(curve, L),
        curves=curve,
        x=np.arange(1, curve.shape[1] + 1, dtype=np.float64),
        flags={"degenerate": explanation.degenerate()},
        params={
            **params,
            "patch": patch,
            "patch_rule": rule,
            "regions": _REGIONS.format(patch=patch, regions="all"),
            "auc": "trapezoid with unit spacing over the L outputs after each region "
            "(Quantus's calculate_auc; not normalised by L)",
        },
        extra={"n_regions": L, "f_x": y[:, 0]},
    )


class _RegionMetric(BaseMetric):
    param_specs: ClassVar[dict[str, Spec]] = {"patch": count(none=True), "regions": count()}


_REF_SAMEK = (
    "Samek et al., Evaluating the Visualization of What a Deep Neural Network Has Learned, "
    "IEEE TNNLS 2017 (arXiv 2015)"
)


class RegionPerturbation(_RegionMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="region_perturbation",
        higher_is_better=True,
        range=(-np.inf, np.inf),
        modalities=_SPATIAL,
        description="Mean output drop as non-overlapping patches are removed, highest "
        "attribution sum first",
        reference=_REF_SAMEK,
        family="faithfulness",
        formula=r"\mathrm{RP} = \frac{1}{L} \sum_{k=1}^{L} \big(f(x) - f(x_{R_1 \cup \dots \cup R_k \leftarrow \bar{x}})\big), \quad R_k \text{ patches by } \textstyle\sum_{i \in R} \phi_i \text{, descending}",
    )

    def __init__(
        self,
        patch: int | None = None,
        regions: int = 100,
        baseline: Any = "default",
        space: str = "probability",
        seed: int = 0,
    ) -> None:
        self.patch = patch
        self.regions = regions
        self.baseline = baseline
        self.space = space
        self.seed = seed

    _fn = staticmethod(region_perturbation)


class Selectivity(_RegionMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="selectivity",
        higher_is_better=False,
        range=(-np.inf, np.inf),
        modalities=_SPATIAL,
        description="Area under the output as all non-overlapping patches are removed, "
        "highest attribution sum first (unit spacing)",
        reference="Montavon, Samek and Müller, Methods for Interpreting and Understanding "
        "Deep Neural Networks, Digital Signal Processing 2018",
        family="faithfulness",
        formula=r"\mathrm{SEL} = \sum_{k=1}^{L-1} \tfrac{1}{2}\big(f(x_{k}) + f(x_{k+1})\big), \quad x_k = x_{R_1 \cup \dots \cup R_k \leftarrow \bar{x}}",
    )

    def __init__(
        self,
        patch: int | None = None,
        baseline: Any = "default",
        space: str = "probability",
        seed: int = 0,
    ) -> None:
        self.patch = patch
        self.baseline = baseline
        self.space = space
        self.seed = seed

    _fn = staticmethod(selectivity)
