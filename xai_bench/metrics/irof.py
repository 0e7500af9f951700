"""IROF: Iterative Removal Of Features (Rieger & Hansen, 2020), on image segments.

Each image is cut into segments: a deterministic ``grid`` of about ``n_segments`` equal
cells (the default, no extra dependency), or SLIC superpixels of the image (``"slic"``,
Quantus 0.6's default; needs scikit-image, the ``lime`` extra). Segments are ranked by
their mean attribution (over channels and pixels), descending, and removed cumulatively
by the ``baseline`` masker; with p_k the target probability after k segments,

    IROF = L - AUC_unit(p_1 / p_0, ..., p_L / p_0)

(a unit-spacing trapezoid over the L points, Quantus's ``len(preds) - calculate_auc``).
Higher is better. Removal goes through
:func:`~xai_bench.metrics.regions.ordered_region_scores`, the shared region engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from .._params import Spec, choice, count
from ..errors import IncompatibleError, InvalidInputError, MissingDependencyError
from ..explanation import Explanation
from ..task import Modality, Task
from ._common import BaseMetric
from .base import MetricInfo, MetricResult
from .regions import _unit_auc, ordered_region_scores

__all__ = ["IROF", "irof", "segment_images"]

SEGMENTATIONS = ("grid", "slic")


def segment_images(X: np.ndarray, segmentation: str, n_segments: int) -> np.ndarray:
    """Segment labels (n, H, W), numbered from 0, for images X (n, C, H, W).

    Parameters
    ----------
    X : ndarray (n, C, H, W)
    segmentation : {"grid", "slic"}
        ``"grid"``: round(sqrt(n_segments)) rows and as many columns of (nearly) equal
        cells, the same for every image; ``"slic"``: ``skimage.segmentation.slic`` of
        each image (channels last, ``start_label=0``).
    n_segments : int

    Returns
    -------
    ndarray of int64 (n, H, W)

    Raises
    ------
    InvalidInputError
        If ``segmentation`` is unknown.
    MissingDependencyError
        For ``"slic"`` without scikit-image.
    """
    n, _, H, W = X.shape
    if segmentation == "grid":
        side = max(1, round(float(np.sqrt(n_segments))))
        r, c = min(side, H), min(side, W)
        grid = (np.arange(H) * r // H)[:, None] * c + (np.arange(W) * c // W)[None, :]
        return np.broadcast_to(grid, (n, H, W)).astype(np.int64)
    if segmentation == "slic":
        try:
            from skimage.segmentation import slic
        except ImportError as exc:
            raise MissingDependencyError("skimage", "lime", exc) from exc
        imgs = np.moveaxis(np.asarray(X, dtype=np.float64), 1, -1)
        return np.stack([slic(img, n_segments=n_segments, start_label=0) for img in imgs])
    raise InvalidInputError(
        f"segmentation={segmentation!r}", f"one of {SEGMENTATIONS}", "Use segmentation='grid'."
    )


def _segment_labels(segmentation: str, n_segments: int) -> Callable[..., np.ndarray]:
    """Per-pixel removal order: segments sorted by mean attribution, descending."""

    def labels_of(amap: np.ndarray, Xa: np.ndarray, keys: np.ndarray) -> np.ndarray:
        n, H, W = amap.shape
        seg = segment_images(Xa.reshape(n, -1, H, W), segmentation, n_segments).reshape(n, -1)
        S = int(seg.max()) + 1
        rows = np.broadcast_to(np.arange(n)[:, None], seg.shape)
        total = np.zeros((n, S))
        size = np.zeros((n, S))
        np.add.at(total, (rows, seg), amap.reshape(n, -1))
        np.add.at(size, (rows, seg), 1)
        present = size > 0
        mean = np.where(present, total / np.maximum(size, 1), -np.inf)
        # ties: the seeded key of each segment's first pixel
        first = np.zeros((n, S), dtype=np.int64)
        for i in range(n):
            ids, idx = np.unique(seg[i], return_index=True)
            first[i, ids] = idx
        order = np.lexsort((np.take_along_axis(keys, first, 1), -mean), axis=-1)
        rank = np.argsort(order, axis=1)
        rank = np.where(present, rank, -1)
        return np.take_along_axis(rank, seg, 1).reshape(n, H, W)

    return labels_of


def irof(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    segmentation: str = "grid",
    n_segments: int = 16,
    baseline: Any = "default",
    seed: int = 0,
    predict: Callable[[Any], np.ndarray] | None = None,
) -> MetricResult:
    """IROF: area over the curve of p_k / p_0 as segments are removed, most relevant first.

    Higher is better; at most L (the number of segments).

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    segmentation : {"grid", "slic"}
    n_segments : int
        Cells of the grid (a square number is exact), or SLIC's ``n_segments``
        (Quantus: ``slic(img, start_label=0)``, i.e. 100).
    baseline : str, number, array or Masker
        What removal means (Quantus's default "mean" is a per-sample constant; see the
        README).
    seed : int
        Tie-break seed.
    predict : callable, optional

    Returns
    -------
    MetricResult
        Per-sample ``scores``; ``curves`` (n, Lmax) the ratios p_k / p_0, NaN past a
        sample's last segment.

    Raises
    ------
    IncompatibleError
        On anything but (C, H, W) images.
    """
    if task.modality is not Modality.IMAGE or len(task.feature_shape) != 3:
        raise IncompatibleError("IROF segments (C, H, W) images")
    y, L, _, explanation, params = ordered_region_scores(
        task, X, explanation, _segment_labels(segmentation, n_segments),
        baseline=baseline, space="probability", seed=seed, predict=predict,
    )  # fmt: skip
    f_x = y[:, 0]
    ratio = y[:, 1:] / np.where(f_x == 0, np.nan, f_x)[:, None]
    return MetricResult(
        metric="irof",
        scores=L - _unit_auc(ratio, L),
        curves=ratio,
        x=np.arange(1, ratio.shape[1] + 1, dtype=np.float64),
        flags={"degenerate": explanation.degenerate(), "undefined": f_x == 0},
        params={
            **params,
            "segmentation": segmentation,
            "n_segments": n_segments,
            "order": "segments by mean attribution (channels and pixels), descending; "
            f"ties by a random permutation (seed {seed})",
            "aggregate": "L - unit-spacing trapezoid of p_k / p_0, k = 1..L (Quantus's AOC)",
        },
        extra={"n_segments": L, "f_x": f_x},
    )


class IROF(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="irof",
        higher_is_better=True,
        range=(-np.inf, np.inf),
        modalities=frozenset({Modality.IMAGE}),
        description="Area over the relative output curve as image segments are removed, "
        "highest mean attribution first",
        reference="Rieger and Hansen, IROF: a low resource evaluation metric for "
        "explanation methods, ICLR 2020 workshop",
        family="faithfulness",
        formula=r"\mathrm{IROF} = L - \sum_{k=1}^{L-1} \frac{1}{2}\Big(\frac{f(x_k)}{f(x)} + \frac{f(x_{k+1})}{f(x)}\Big), \quad x_k = x_{S_1 \cup \dots \cup S_k \leftarrow \bar{x}}",
    )
    param_specs: ClassVar[dict[str, Spec]] = {
        "segmentation": choice(*SEGMENTATIONS),
        "n_segments": count(),
    }

    def __init__(
        self,
        segmentation: str = "grid",
        n_segments: int = 16,
        baseline: Any = "default",
        seed: int = 0,
    ) -> None:
        self.segmentation = segmentation
        self.n_segments = n_segments
        self.baseline = baseline
        self.seed = seed

    _fn = staticmethod(irof)
