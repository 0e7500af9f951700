"""MIB faithfulness (Mueller et al. 2025): f(C) = (m(C) - m(empty)) / (m(N) - m(empty)).

Components (edges, when the explanation's meta says ``granularity="edge"``) are ranked
once for the task by their attribution averaged over the examples; the circuit of size
k keeps the top k. m is the behaviour averaged over the examples with every other
component ablated. CPR is the area under f with the signed
ranking (higher is better); CMD the area under |1 - f| with the absolute ranking (lower
is better). Areas are trapezoids over the grid's fractions, which are recorded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidInputError
from ..explanation import Explanation
from ..metrics.base import MetricResult
from ._common import check_choice, check_task
from .edges import EdgeMasker
from .masker import AblationMasker

__all__ = ["MIB_GRID", "circuit_sizes", "cmd", "cpr", "faithfulness_curve", "ranking"]

MIB_GRID = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
GRIDS = ("mib", "uniform")
ORDERS = ("signed", "abs")


def circuit_sizes(
    n_components: int, grid: str = "mib", steps: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Fractions x of the grid and the circuit sizes they give on ``n_components``.

    ``mib``: MIB's fractions, size floor(x * n) (small spaces get empty circuits);
    ``uniform``: x = 0, 1/steps, ..., 1 with size round(x * n).
    """
    check_choice("grid", grid, GRIDS)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise InvalidInputError(f"steps={steps!r}", "a positive integer", "Pass e.g. steps=10.")
    if grid == "mib":
        x = np.asarray(MIB_GRID)
        return x, np.floor(x * n_components + 1e-9).astype(int)
    x = np.linspace(0.0, 1.0, steps + 1)
    return x, np.rint(x * n_components).astype(int)


def ranking(explanation: Explanation, order: str = "signed") -> np.ndarray:
    """Component indices, most important first, from the attributions averaged over examples."""
    check_choice("order", order, ORDERS)
    score = explanation.flat().mean(axis=0)
    if order == "abs":
        score = np.abs(score)
    return np.argsort(-score, kind="stable")  # ties keep the space's order


def faithfulness_curve(
    task: Any,
    explanation: Explanation,
    *,
    order: str = "signed",
    grid: str = "mib",
    steps: int = 10,
    ablation: str = "patching",
    chunk_rows: int = 512,
    remove: bool = False,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """f over the grid: returns (x, f, params), the circuits scored in batched passes.

    ``remove=True`` ablates the top k instead of keeping them (deletion: f falls from 1).
    """
    task = check_task(task)
    edges = explanation.meta.get("granularity") == "edge"
    masker = (EdgeMasker if edges else AblationMasker)(ablation, chunk_rows)
    n = len(masker.space(task))
    if explanation.flat().shape[1] != n:
        raise InvalidInputError(
            f"attributions over {explanation.flat().shape[1]} features",
            f"one per feature of the task's {'edge' if edges else 'node'} space ({n})",
            "Explain this task with a component explainer.",
        )
    x, sizes = circuit_sizes(n, grid, steps)
    rank = ranking(explanation, order)
    keep = np.zeros((len(sizes) + 2, n), dtype=bool)
    for row, k in enumerate(sizes):
        keep[row] = remove
        keep[row, rank[:k]] = not remove
    keep[-1] = True  # rows -2 / -1: the empty and the full circuit
    m = masker.evaluate(task, keep).mean(axis=1)
    gap = m[-1] - m[-2]
    if not abs(gap) > 1e-12 * max(1.0, abs(m[-1])):
        raise InvalidInputError(
            f"the full and the empty circuit both give behaviour {m[-1]:.6g}",
            "a task whose behaviour changes when every component is ablated",
            "Use counterfactual inputs that change the answer, or another ablation.",
        )
    params = {
        "order": order,
        "grid": grid,
        "x": x.tolist(),
        "sizes": sizes.tolist(),
        "ablation": ablation,
        "circuit": "all but the top k" if remove else "the top k",
        "auc": "trapezoid over x",
        "m_full": float(m[-1]),
        "m_empty": float(m[-2]),
    }
    return x, (m[:-2] - m[-2]) / gap, params


def _area(
    name: str, curve: tuple[np.ndarray, np.ndarray, dict[str, Any]], absolute: bool
) -> MetricResult:
    x, f, params = curve
    y = np.abs(1.0 - f) if absolute else f
    area = float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)))
    return MetricResult(metric=name, scores=np.array([area]), curves=f[None], x=x, params=params)


def cpr(task: Any, explanation: Explanation, **kwargs: Any) -> MetricResult:
    """Area under f with the signed ranking (one dataset-level score; higher is better)."""
    return _area("cpr", faithfulness_curve(task, explanation, order="signed", **kwargs), False)


def cmd(task: Any, explanation: Explanation, **kwargs: Any) -> MetricResult:
    """Area under |1 - f| with the absolute ranking (one dataset-level score; lower is better)."""
    return _area("cmd", faithfulness_curve(task, explanation, order="abs", **kwargs), True)
