"""One group of features removed at a time: Faithfulness Estimate and Monotonicity-Nguyen.

The valid features of a sample are ranked (see :func:`~xai_bench.metrics.perturb.rank_positions`)
and cut into groups of ``step`` consecutive ranks. Each group alone is removed from x
(never cumulatively), giving its effect on the target output; the score correlates the
group's attribution sum with that effect:

- **faithfulness_estimate** (Alvarez-Melis & Jaakkola, NeurIPS 2018): Pearson between
  sum_{j in G} phi_j and f(x) - f(x without G); groups in descending order (Quantus 0.6:
  ``FaithfulnessEstimate``, signed order by default);
- **monotonicity_nguyen** (Nguyen & Martinez, 2020): Spearman between sum_{j in G} phi_j
  and the squared relative change (f(x without G) - f(x))^2 / f(x)^2; groups in ascending
  order (Quantus 0.6: ``MonotonicityCorrelation``, |phi| by default).

Every (sample, group) row is scored once through the engine's chunked scorer, so a
sample's score never depends on its batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from .._params import Spec, count
from ..explanation import Explanation
from ..task import Task
from ._common import BaseMetric
from .agreement import rowwise_corr
from .base import MetricInfo, MetricResult
from .deletion import lerf_positions, perturbation_setup
from .perturb import score_rows, scored_space, to_space

__all__ = [
    "FaithfulnessEstimate",
    "MonotonicityNguyen",
    "faithfulness_estimate",
    "monotonicity_nguyen",
]


def group_effects(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    step: int,
    ascending: bool,
    baseline: Any,
    order: str,
    space: str,
    seed: int,
    predict: Callable[[Any], np.ndarray] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Explanation, dict[str, Any]]:
    """f(x) (n,), f(x without group g) (n, G), the groups' attribution sums (n, G), the
    mask of existing groups (n, G), the prepared explanation and the conventions.

    Group g of a sample holds its valid features of rank ``g*step`` to ``(g+1)*step - 1``
    (descending attribution, or ascending with ``ascending=True``); groups past a
    sample's last valid feature do not exist (NaN).
    """
    space = scored_space(task, space)
    Xa, explanation, positions, n_valid, fill, params = perturbation_setup(
        task, X, explanation, baseline=baseline, order=order, seed=seed, space=space
    )
    if ascending:
        positions = lerf_positions(positions, n_valid)
    n, F = positions.shape
    group = np.where(positions < F, positions // step, -1)
    G = max(1, int(-(-n_valid.max() // step)))
    exists = np.arange(G)[None, :] < -(-n_valid[:, None] // step)
    pair_i, pair_g = np.nonzero(exists)
    rows_i = np.concatenate([np.arange(n), pair_i])
    rows_g = np.concatenate([np.full(n, -1), pair_g])  # -1: x itself (matches only padding,
    valid = positions < F  # which the valid mask keeps)

    def removed(sl: slice) -> np.ndarray:
        i = rows_i[sl]
        return (group[i] == rows_g[sl, None]) & valid[i]

    p = score_rows(task, Xa, explanation.targets, rows_i, removed, fill, predict=predict)
    p = to_space(p, space, params.get("log_odds_clip", 1e-7))
    p_group = np.full((n, G), np.nan)
    p_group[pair_i, pair_g] = p[n:]
    sums = np.zeros((n, G + 1))
    rows = np.broadcast_to(np.arange(n)[:, None], group.shape)
    phi = explanation.flat()
    relevance = np.abs(phi) if order == "abs" else phi  # Quantus's abs=True sums |phi| too
    np.add.at(sums, (rows, np.where(group < 0, G, group)), relevance)
    attr = np.where(exists, sums[:, :G], np.nan)
    params = {
        **params,
        "space": space,
        "step": step,
        "attr_sum": "sum of |phi| over the group"
        if order == "abs"
        else "sum of phi over the group",
        "groups": f"{step} consecutive ranks of the "
        f"{'ascending' if ascending else 'descending'} ranking; each group removed alone "
        "from x (not cumulatively)",
    }
    return p[:n], p_group, attr, exists, explanation, params


def faithfulness_estimate(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    step: int = 1,
    baseline: Any = "default",
    order: str = "signed",
    space: str = "probability",
    seed: int = 0,
    predict: Callable[[Any], np.ndarray] | None = None,
) -> MetricResult:
    """Faithfulness Estimate: Pearson between group attribution sums and output drops.

    Higher is better, in [-1, 1]; 1 for exact attributions of a linear model with the
    baseline as reference.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    step : int
        Features per group (Quantus's ``features_in_step``).
    baseline : str, number, array or Masker
        What removal means (Quantus's default "black" is ``baseline="min"``).
    order : {"signed", "abs"}
        Rank by the signed attribution (Quantus's ``abs=False``) or its magnitude.
    space : {"probability", "log_odds"}
    seed : int
        Tie-break seed.
    predict : callable, optional
        Scorer replacing ``task.predict``.

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [-1, 1]; ``extra`` holds the groups' ``attr_sum`` and
        ``delta`` (n, G).
    """
    f_x, p_group, attr, exists, explanation, params = group_effects(
        task, X, explanation, step=step, ascending=False, baseline=baseline,
        order=order, space=space, seed=seed, predict=predict,
    )  # fmt: skip
    delta = f_x[:, None] - p_group
    scores = rowwise_corr(np.nan_to_num(attr), np.nan_to_num(delta), "pearson", exists)
    return MetricResult(
        metric="faithfulness_estimate",
        scores=scores,
        flags={"degenerate": explanation.degenerate(), "undefined": ~np.isfinite(scores)},
        params={**params, "similarity": "Pearson of sum_G phi and f(x) - f(x without G)"},
        extra={"attr_sum": attr, "delta": delta, "f_x": f_x},
    )


def monotonicity_nguyen(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    step: int = 1,
    eps: float = 1e-5,
    baseline: Any = "default",
    order: str = "abs",
    space: str = "probability",
    seed: int = 0,
    predict: Callable[[Any], np.ndarray] | None = None,
) -> MetricResult:
    """Monotonicity-Nguyen: Spearman between group attribution sums and the squared
    relative output change when the group alone is removed. Higher is better, in [-1, 1].

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    step : int
        Features per group (Quantus's ``features_in_step``).
    eps : float
        |f(x)| below ``eps`` is not divided by (Quantus's rule); the rank correlation does
        not depend on this per-sample scale otherwise.
    baseline : str, number, array or Masker
        What removal means. One deterministic replacement per group: Quantus's default
        ``perturb_baseline="uniform"`` draws ``nr_samples`` random ones instead.
    order : {"abs", "signed"}
        Rank |phi| (Quantus's ``abs=True``) or the signed attribution.
    space : {"probability", "log_odds"}
    seed : int
    predict : callable, optional

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [-1, 1]; ``extra`` holds ``attr_sum`` and ``variance``.
    """
    f_x, p_group, attr, exists, explanation, params = group_effects(
        task, X, explanation, step=step, ascending=True, baseline=baseline,
        order=order, space=space, seed=seed, predict=predict,
    )  # fmt: skip
    inv = np.where(np.abs(f_x) >= eps, 1.0 / np.where(f_x == 0, 1.0, f_x) ** 2, 1.0)
    variance = (p_group - f_x[:, None]) ** 2 * inv[:, None]
    scores = rowwise_corr(np.nan_to_num(attr), np.nan_to_num(variance), "spearman", exists)
    return MetricResult(
        metric="monotonicity_nguyen",
        scores=scores,
        flags={"degenerate": explanation.degenerate(), "undefined": ~np.isfinite(scores)},
        params={
            **params,
            "eps": eps,
            "draws": "1 per group (a deterministic masker)",
            "similarity": "Spearman of sum_G phi and (f(x without G) - f(x))^2 / f(x)^2",
        },
        extra={"attr_sum": attr, "variance": variance, "f_x": f_x},
    )


class _Groupwise(BaseMetric):
    param_specs: ClassVar[dict[str, Spec]] = {"step": count()}


class FaithfulnessEstimate(_Groupwise):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="faithfulness_estimate",
        higher_is_better=True,
        range=(-1.0, 1.0),
        description="Pearson correlation of each feature group's attribution with the output "
        "drop when that group alone is removed",
        reference="Alvarez-Melis and Jaakkola, Towards Robust Interpretability with "
        "Self-Explaining Neural Networks, NeurIPS 2018",
        family="faithfulness",
        formula=r"\rho = \operatorname{pearson}_{g}\Big(\sum_{i \in G_g} \phi_i,\; f(x) - f(x_{G_g \leftarrow \bar{x}})\Big)",
    )

    def __init__(
        self,
        step: int = 1,
        baseline: Any = "default",
        order: str = "signed",
        space: str = "probability",
        seed: int = 0,
    ) -> None:
        self.step = step
        self.baseline = baseline
        self.order = order
        self.space = space
        self.seed = seed

    _fn = staticmethod(faithfulness_estimate)


class MonotonicityNguyen(_Groupwise):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="monotonicity_nguyen",
        higher_is_better=True,
        range=(-1.0, 1.0),
        description="Spearman correlation of each feature group's attribution with the squared "
        "relative output change when that group alone is removed",
        reference="Nguyen and Martinez, On Quantitative Aspects of Model Interpretability, "
        "arXiv:2007.07584, 2020",
        family="faithfulness",
        formula=r"\rho = \operatorname{spearman}_{g}\Big(\sum_{i \in G_g} \phi_i,\; \frac{\big(f(x_{G_g \leftarrow \bar{x}}) - f(x)\big)^2}{f(x)^2}\Big)",
    )
    param_specs: ClassVar[dict[str, Spec]] = {"eps": Spec("float", low=0.0)}

    def __init__(
        self,
        step: int = 1,
        eps: float = 1e-5,
        baseline: Any = "default",
        order: str = "abs",
        space: str = "probability",
        seed: int = 0,
    ) -> None:
        self.step = step
        self.eps = eps
        self.baseline = baseline
        self.order = order
        self.space = space
        self.seed = seed

    _fn = staticmethod(monotonicity_nguyen)
