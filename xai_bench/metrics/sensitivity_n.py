"""Sensitivity-n (Ancona et al., ICLR 2018), per sample, and Quantus 0.6's pooled version.

Per sample (:func:`sensitivity_n`, the metric): for each subset size n = round(fraction x
n_valid) in ``fractions``, ``n_subsets`` random subsets S of n valid features are removed
by the ``baseline`` masker; the curve holds, per n, the Pearson correlation between
sum_{j in S} phi_j and f(x) - f(x without S) over the subsets, and the score is its mean
over n. Higher is better. Subsets are drawn from hashed keys of (seed, the sample's
content, the subset's index), so a sample's score never depends on its batch.

Quantus 0.6's ``SensitivityN`` instead correlates across the *samples of a batch*: at
step k of a cumulative deletion (descending signed attribution, ``step`` features at a
time) it pairs the attribution sum of the k-th group alone with the cumulative drop
f(x) - f(x without groups 1..k), and returns one Pearson coefficient per k. That number
depends on the batch by construction; :func:`sensitivity_n_pooled` reproduces it from
the engine's per-sample deletion outputs (a by-product, not a registered metric).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from .._params import Spec, count
from ..explanation import Explanation
from ..task import Task
from ._common import BaseMetric
from .ablation import _subset_keys
from .agreement import rowwise_corr
from .base import MetricInfo, MetricResult
from .deletion import perturbation_setup
from .perturb import masked_scores, score_rows, scored_space, tie_keys, to_space

__all__ = ["SensitivityN", "sensitivity_n", "sensitivity_n_pooled"]

FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def sensitivity_n(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    fractions: tuple[float, ...] = FRACTIONS,
    n_subsets: int = 32,
    baseline: Any = "default",
    space: str = "probability",
    seed: int = 0,
    predict: Callable[[Any], np.ndarray] | None = None,
) -> MetricResult:
    """Sensitivity-n per sample: mean over subset sizes n of the Pearson correlation
    between subset attribution sums and output drops. Higher is better, in [-1, 1].

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    fractions : tuple of float
        Subset sizes as fractions of the valid features (each at least one feature).
    n_subsets : int
        Random subsets per size (at least 2: a correlation needs two points).
    baseline : str, number, array or Masker
    space : {"probability", "log_odds"}
    seed : int
        Seeds the subsets.
    predict : callable, optional

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [-1, 1]; ``curves`` (n, len(fractions)) the correlation
        per subset size, ``x`` the fractions.
    """
    space = scored_space(task, space)
    Xa, explanation, _, n_valid, fill, params = perturbation_setup(
        task, X, explanation, baseline=baseline, order="signed", seed=seed, space=space
    )
    params.pop("order")  # random subsets: no ranking
    valid = explanation.flat_mask()
    phi = explanation.flat()
    n, F = phi.shape
    frac = np.asarray(fractions, dtype=np.float64)
    size = np.maximum(1, np.floor(frac[None, :] * n_valid[:, None] + 0.5)).astype(np.int64)
    m = len(frac) * n_subsets  # subsets per sample: size-major
    fp = tie_keys(np.concatenate([phi, Xa.reshape(n, -1).astype(np.float64)], 1), 1, seed)[:, 0]
    rows_i = np.concatenate([np.arange(n), np.repeat(np.arange(n), m)])
    runs = np.concatenate([np.zeros(n, np.int64), np.tile(np.arange(m), n)])

    def subsets(i: np.ndarray, r: np.ndarray) -> np.ndarray:
        keys = np.where(valid[i], _subset_keys(fp[i], r, F, seed), np.uint64(2**64 - 1))
        rank = np.argsort(np.argsort(keys, axis=1, kind="stable"), axis=1)
        return rank < size[i, r // n_subsets][:, None]

    def removed(sl: slice) -> np.ndarray:
        idx = np.arange(sl.start, min(sl.stop, len(rows_i)))
        out = subsets(rows_i[idx], runs[idx])
        out[idx < n] = False
        return out

    p = score_rows(task, Xa, explanation.targets, rows_i, removed, fill, predict=predict)
    p = to_space(p, space, params.get("log_odds_clip", 1e-7))
    delta = (p[:n, None] - p[n:].reshape(n, m)).reshape(n * len(frac), n_subsets)
    S = subsets(np.repeat(np.arange(n), m), np.tile(np.arange(m), n))
    attr = (S * np.repeat(phi, m, axis=0)).sum(axis=1).reshape(n * len(frac), n_subsets)
    corr = rowwise_corr(attr, delta, "pearson").reshape(n, len(frac))
    finite = np.isfinite(corr)
    n_finite = finite.sum(axis=1)
    total = np.where(finite, corr, 0.0).sum(axis=1)
    scores = np.divide(total, n_finite, out=np.full(n, np.nan), where=n_finite > 0)
    return MetricResult(
        metric="sensitivity_n",
        scores=scores,
        curves=corr,
        x=frac,
        flags={"degenerate": explanation.degenerate(), "undefined": ~np.isfinite(scores)},
        params={
            **params,
            "space": space,
            "fractions": [float(f) for f in frac],
            "n_subsets": n_subsets,
            "subset_size": "round(fraction * n_valid), half up, at least 1",
            "aggregate": "mean over the sizes of Pearson(sum_S phi, f(x) - f(x without S)) "
            "over random subsets S (per sample)",
        },
        extra={"delta": delta.reshape(n, m), "attr_sum": attr.reshape(n, m)},
    )


def sensitivity_n_pooled(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    step: int = 1,
    max_fraction: float = 0.8,
    baseline: Any = "default",
    space: str = "probability",
    seed: int = 0,
) -> np.ndarray:
    """Quantus 0.6's SensitivityN: one Pearson coefficient per deletion step, across the
    samples of the batch.

    At step k (k = 0 .. int(max_fraction * F) // step - 1) it pairs, over the samples, the
    attribution sum of the k-th group of ``step`` features (descending signed attribution)
    with f(x) - f(x without groups 0..k). Depends on the batch by construction.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions (no padding).
    step : int
        Quantus's ``features_in_step``.
    max_fraction : float
        Quantus's ``n_max_percentage``.
    baseline : str, number, array or Masker
    space : {"probability", "log_odds"}
    seed : int
        Tie-break seed.

    Returns
    -------
    ndarray (K,)
        The coefficient per step (Quantus's list).
    """
    space = scored_space(task, space)
    Xa, explanation, positions, _, fill, params = perturbation_setup(
        task, X, explanation, baseline=baseline, order="signed", seed=seed, space=space
    )
    n, F = positions.shape
    K = int(max_fraction * F // step)
    counts = np.broadcast_to(np.arange(K + 1) * step, (n, K + 1))
    p = masked_scores(task, Xa, explanation.targets, positions, counts, fill)
    y = to_space(p, space, params.get("log_odds_clip", 1e-7))
    group = positions // step
    phi = explanation.flat()
    attr = np.stack([(phi * (group == k)).sum(axis=1) for k in range(K)], axis=1)
    delta = y[:, :1] - y[:, 1:]
    return rowwise_corr(attr.T, delta.T, "pearson")


class SensitivityN(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="sensitivity_n",
        higher_is_better=True,
        range=(-1.0, 1.0),
        description="Mean over subset sizes of the correlation between random subsets' "
        "attribution sums and output drops",
        reference="Ancona et al., Towards Better Understanding of Gradient-based Attribution "
        "Methods for Deep Neural Networks, ICLR 2018",
        family="faithfulness",
        formula=r"\mathrm{SN} = \frac{1}{|N|} \sum_{n \in N} \operatorname{pearson}_{|S| = n}\Big(\sum_{i \in S} \phi_i,\; f(x) - f(x_{S \leftarrow \bar{x}})\Big)",
    )
    param_specs: ClassVar[dict[str, Spec]] = {"n_subsets": count(2)}

    def __init__(
        self,
        fractions: tuple[float, ...] = FRACTIONS,
        n_subsets: int = 32,
        baseline: Any = "default",
        space: str = "probability",
        seed: int = 0,
    ) -> None:
        self.fractions = fractions
        self.n_subsets = n_subsets
        self.baseline = baseline
        self.space = space
        self.seed = seed

    _fn = staticmethod(sensitivity_n)
