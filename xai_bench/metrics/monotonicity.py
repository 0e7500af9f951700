"""Monotonicity-Arya (Arya et al., 2019): does adding features back, least relevant first,
only ever raise the target output?

Starting from the baseline (every valid feature removed by the ``baseline`` masker), the
features are restored ``step`` at a time in ascending order of attribution (|phi| by
default, as Quantus 0.6's ``Monotonicity`` with ``abs=True``); with p_1, ..., p_G the
target output after each group, the score is 1 when p_1 <= p_2 <= ... <= p_G, else 0
(no step 0, as Quantus). Higher is better. The curves go through the engine's insertion
mode (:func:`~xai_bench.metrics.perturb.masked_scores` with ``keep_top=True``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from .._params import Spec, count
from ..explanation import Explanation
from ..task import Task
from ._common import BaseMetric
from .base import MetricInfo, MetricResult
from .deletion import lerf_positions, perturbation_setup
from .perturb import masked_scores, scored_space, to_space

__all__ = ["MonotonicityArya", "monotonicity_arya"]


def monotonicity_arya(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    step: int = 1,
    baseline: Any = "default",
    order: str = "abs",
    space: str = "probability",
    seed: int = 0,
    predict: Callable[[Any], np.ndarray] | None = None,
) -> MetricResult:
    """1 if the target output never decreases as features are restored onto the baseline,
    least relevant first; else 0.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    step : int
        Features restored per step (Quantus's ``features_in_step``).
    baseline : str, number, array or Masker
        The starting point (Quantus's default "black" is ``baseline="min"``).
    order : {"abs", "signed"}
    space : {"probability", "log_odds"}
    seed : int
        Tie-break seed.
    predict : callable, optional

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in {0, 1}; ``curves`` (n, G) the outputs after each group,
        NaN past a sample's last group.
    """
    space = scored_space(task, space)
    Xa, explanation, positions, n_valid, fill, params = perturbation_setup(
        task, X, explanation, baseline=baseline, order=order, seed=seed, space=space
    )
    ascending = lerf_positions(positions, n_valid)
    G = max(1, int(-(-n_valid.max() // step)))
    counts = np.minimum(np.arange(1, G + 1)[None, :] * step, n_valid[:, None])
    p = masked_scores(
        task, Xa, explanation.targets, ascending, counts, fill, keep_top=True, predict=predict
    )
    y = to_space(p, space, params.get("log_odds_clip", 1e-7))
    exists = np.arange(G)[None, :] < -(-n_valid[:, None] // step)
    y[~exists] = np.nan
    rises = np.diff(y, axis=1)
    ok = np.asarray(np.where(exists[:, 1:], rises >= 0, True).all(axis=1))
    return MetricResult(
        metric="monotonicity_arya",
        scores=ok.astype(np.float64),
        curves=y,
        x=np.arange(1, G + 1, dtype=np.float64),
        flags={"degenerate": explanation.degenerate()},
        params={
            **params,
            "order": params["order"].replace("descending", "ascending (least relevant first)"),
            "space": space,
            "step": step,
            "score": "1 if the outputs after each restored group never decrease (diff >= 0, "
            "no tolerance, no step 0), else 0",
        },
    )


class MonotonicityArya(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="monotonicity_arya",
        higher_is_better=True,
        range=(0.0, 1.0),
        description="1 if restoring features onto the baseline, least relevant first, never "
        "lowers the target output",
        reference="Arya et al., One Explanation Does Not Fit All: A Toolkit and Taxonomy of "
        "AI Explainability Techniques, arXiv:1909.03012, 2019",
        family="faithfulness",
        formula=r"\mathrm{MON} = \mathbb{1}\big[f(\tilde{x}_1) \le f(\tilde{x}_2) \le \dots \le f(\tilde{x}_G)\big], \quad \tilde{x}_k = \bar{x} \text{ with the } k \text{ least relevant groups of } x \text{ restored}",
    )
    param_specs: ClassVar[dict[str, Spec]] = {"step": count()}

    def __init__(
        self,
        step: int = 1,
        baseline: Any = "default",
        order: str = "abs",
        space: str = "probability",
        seed: int = 0,
    ) -> None:
        self.step = step
        self.baseline = baseline
        self.order = order
        self.space = space
        self.seed = seed

    _fn = staticmethod(monotonicity_arya)
