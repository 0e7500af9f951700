"""Correlation metrics: single-feature ablation (leave-one-out) and faithfulness correlation.

- **Ablation correlation**: for each valid feature j, delta_j = f(x) - f(x with j removed);
  score = rank correlation (Spearman or Kendall) between the attributions and delta.
- **Faithfulness correlation** (Bhatt et al., IJCAI 2020): ``n_runs`` random subsets S of
  ``subset_size`` features; score = Pearson correlation between sum_{j in S} phi_j and
  f(x) - f(x with S removed).

Both use the engine's chunked scorer and its maskers; random subsets are drawn from
hashed keys, so a sample gets the same subsets in any batch.
"""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

import numpy as np

from ..errors import InvalidInputError
from ..explanation import Explanation
from ..task import Task
from ._common import TARGET, BaseMetric
from .agreement import rowwise_corr
from .base import MetricInfo, MetricResult
from .maskers import describe, resolve_masker
from .perturb import _mix, log_odds_eps, prepare, score_rows, scored_space, tie_keys, to_space

__all__ = [
    "AblationKendall",
    "AblationSpearman",
    "FaithfulnessCorrelation",
    "ablation_correlation",
    "faithfulness_correlation",
]


def _setup(task: Task, X: Any, explanation: Explanation, baseline: Any):
    Xa, explanation = prepare(task, X, explanation)
    masker = resolve_masker(baseline)
    return Xa, explanation, masker.bind(task, Xa.reshape(len(Xa), -1)), describe(masker)


def ablation_correlation(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    method: str = "spearman",
    baseline: Any = "default",
    space: str = "probability",
    predict: Any = None,
) -> MetricResult:
    """Rank correlation between attributions and single-feature ablation effects.

    Higher is better. ``extra["delta"]`` holds f(x) - f(x without j), (n, F), NaN on padding.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    method : {"spearman", "kendall", "pearson"}
    baseline : str, number, array or Masker
        What removal means.
    space : {"probability", "log_odds"}
    predict : callable, optional
        Scorer replacing ``task.predict``.

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [-1, 1]; ``params`` records the conventions.
    """
    space = scored_space(task, space)
    Xa, explanation, fill, base = _setup(task, X, explanation, baseline)
    valid = explanation.flat_mask()
    n, F = valid.shape
    ii, jj = np.nonzero(valid)
    rows_i = np.concatenate([np.arange(n), ii])  # f(x) first, then one row per feature

    def removed(sl: slice) -> np.ndarray:
        idx = np.arange(sl.start, min(sl.stop, len(rows_i)))
        out = np.zeros((len(idx), F), dtype=bool)
        hit = idx >= n
        out[np.nonzero(hit)[0], jj[idx[hit] - n]] = True
        return out

    p = to_space(
        score_rows(task, Xa, explanation.targets, rows_i, removed, fill, predict=predict),
        space,
        log_odds_eps(task),
    )
    delta = np.full((n, F), np.nan)
    delta[ii, jj] = p[:n][ii] - p[n:]
    scores = rowwise_corr(explanation.flat(), delta, method, valid)
    return MetricResult(
        metric=f"ablation_{method}",
        scores=scores,
        flags={"degenerate": explanation.degenerate(), "undefined": ~np.isfinite(scores)},
        params={
            "target": TARGET,
            "method": method,
            "baseline": base,
            "space": space,
            "effect": "f(x) - f(x with feature j removed), one feature at a time",
        },
        extra={"delta": delta},
    )


def _subset_keys(fingerprint: np.ndarray, runs: np.ndarray, F: int, seed: int) -> np.ndarray:
    salt = _mix(np.arange(F, dtype=np.uint64) + np.uint64(seed % 2**63))
    row = _mix(fingerprint ^ _mix(runs.astype(np.uint64) + np.uint64(0x5EED)))
    return _mix(row[:, None] ^ salt[None, :])


def faithfulness_correlation(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    n_runs: int = 100,
    subset_size: float | int = 0.2,
    baseline: Any = "default",
    space: str = "probability",
    seed: int = 0,
    predict: Any = None,
) -> MetricResult:
    """Faithfulness correlation (Bhatt et al., 2020); higher is better, in [-1, 1].

    ``subset_size``: a fraction of the valid features (float < 1) or a count (int).

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    n_runs : int
        Random subsets per sample.
    subset_size : float or int
    baseline : str, number, array or Masker
    space : {"probability", "log_odds"}
    seed : int
        Seeds the subsets.
    predict : callable, optional

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [-1, 1]; ``params`` records the conventions.

    Raises
    ------
    InvalidInputError
        If ``n_runs`` is below 2.
    """
    if n_runs < 2:
        raise InvalidInputError(f"n_runs={n_runs}", "at least 2 runs", "Use n_runs=100.")
    space = scored_space(task, space)
    Xa, explanation, fill, base = _setup(task, X, explanation, baseline)
    valid = explanation.flat_mask()
    n, F = valid.shape
    n_valid = valid.sum(axis=1)
    if isinstance(subset_size, float) and subset_size < 1:
        size = np.maximum(1, np.floor(subset_size * n_valid + 0.5)).astype(np.int64)
    else:
        size = np.minimum(int(subset_size), n_valid)
    fp = tie_keys(np.concatenate([explanation.flat(), Xa.reshape(n, -1)], axis=1), 1, seed)[:, 0]
    rows_i = np.concatenate([np.arange(n), np.repeat(np.arange(n), n_runs)])
    runs = np.concatenate([np.zeros(n, np.int64), np.tile(np.arange(n_runs), n)])

    def subsets(i: np.ndarray, r: np.ndarray) -> np.ndarray:
        keys = np.where(valid[i], _subset_keys(fp[i], r, F, seed), np.uint64(2**64 - 1))
        rank = np.argsort(np.argsort(keys, axis=1, kind="stable"), axis=1)
        return rank < size[i][:, None]

    def removed(sl: slice) -> np.ndarray:
        idx = np.arange(sl.start, min(sl.stop, len(rows_i)))
        out = subsets(rows_i[idx], runs[idx])
        out[idx < n] = False
        return out

    p = to_space(
        score_rows(task, Xa, explanation.targets, rows_i, removed, fill, predict=predict),
        space,
        log_odds_eps(task),
    )
    delta = p[:n][:, None] - p[n:].reshape(n, n_runs)
    i_all = np.repeat(np.arange(n), n_runs)
    S = subsets(i_all, np.tile(np.arange(n_runs), n)).reshape(n, n_runs, F)
    attr_sum = (S * explanation.flat()[:, None, :]).sum(axis=2)
    scores = rowwise_corr(attr_sum, delta, "pearson")
    return MetricResult(
        metric="faithfulness_correlation",
        scores=scores,
        flags={"degenerate": explanation.degenerate(), "undefined": ~np.isfinite(scores)},
        params={
            "target": TARGET,
            "n_runs": n_runs,
            "subset_size": subset_size,
            "baseline": base,
            "space": space,
            "seed": seed,
            "similarity": "Pearson between sum of attributions in S and f(x) - f(x_S removed)",
        },
        extra={"delta": delta, "attr_sum": attr_sum},
    )


class _Ablation(BaseMetric):
    def __init__(self, baseline: Any = "default", space: str = "probability") -> None:
        self.baseline = baseline
        self.space = space


_ABL = "Leave-one-out ablation; cf. Hooker et al. 2019, Tomsett et al. AAAI 2020"


class AblationSpearman(_Ablation):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="ablation_spearman",
        higher_is_better=True,
        range=(-1.0, 1.0),
        description="Spearman correlation of attributions with single-feature ablation effects",
        reference=_ABL,
        family="faithfulness",
        formula=r"\rho = \operatorname{spearman}_i\big(\phi_i,\; f(x) - f(x_{i \leftarrow \bar{x}_i})\big)",
    )
    _fn = staticmethod(partial(ablation_correlation, method="spearman"))


class AblationKendall(_Ablation):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="ablation_kendall",
        higher_is_better=True,
        range=(-1.0, 1.0),
        description="Kendall tau of attributions with single-feature ablation effects",
        reference=_ABL,
        family="faithfulness",
        formula=r"\tau = \operatorname{kendall}_i\big(\phi_i,\; f(x) - f(x_{i \leftarrow \bar{x}_i})\big)",
    )
    _fn = staticmethod(partial(ablation_correlation, method="kendall"))


class FaithfulnessCorrelation(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="faithfulness_correlation",
        higher_is_better=True,
        range=(-1.0, 1.0),
        description="Pearson correlation of subset attribution sums with output drops",
        reference="Bhatt, Weller and Moura, Evaluating and Aggregating Feature-based Model "
        "Explanations, IJCAI 2020",
        family="faithfulness",
        formula=r"\rho = \operatorname{pearson}_{S}\Big(\sum_{i \in S} \phi_i,\; f(x) - f(x_{S \leftarrow \bar{x}})\Big), \quad S \text{ random subsets}",
    )

    def __init__(
        self,
        n_runs: int = 100,
        subset_size: float | int = 0.2,
        baseline: Any = "default",
        space: str = "probability",
        seed: int = 0,
    ) -> None:
        self.n_runs = n_runs
        self.subset_size = subset_size
        self.baseline = baseline
        self.space = space
        self.seed = seed

    _fn = staticmethod(faithfulness_correlation)
