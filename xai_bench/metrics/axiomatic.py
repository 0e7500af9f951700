"""Axiomatic: properties an attribution should satisfy by construction.

- **completeness** (Sundararajan et al., ICML 2017): the attributions should sum to
  f(x) - f(baseline). Scored as the relative gap |sum phi - delta| / |delta| (lower is
  better, 0 = complete), not as Quantus's ``np.isclose(sum phi, delta)``: an exact float
  test is 0 for every sampled method (IG with finite steps, KernelSHAP) and for float32
  models, so it separates nothing; the gap says how far off each one is. Quantus's
  boolean is kept in ``extra["isclose"]``.
- **non-sensitivity** (Nguyen & Martinez, 2020): the number of features where "zero
  attribution" and "no effect when removed alone" disagree (0 = none).
- **input invariance** (Kindermans et al., 2017): does the method give the same
  attributions for x on m and for x + c on m'(z) = m(z - c), a model that predicts the
  same? Saliency does; input x gradient does not.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from .._params import Spec
from ..explanation import Explanation
from ..task import Modality, Task
from ._common import FLAT_TOL, TARGET, BaseMetric
from .base import MetricInfo, MetricResult
from .maskers import describe, resolve_masker
from .perturb import log_odds_eps, prepare, score_rows, scored_space, to_space
from .robustness import Reexplainer, check_real, normalised

__all__ = [
    "Completeness",
    "InputInvariance",
    "NonSensitivity",
    "completeness",
    "input_invariance",
    "non_sensitivity",
    "shifted_task",
]


def completeness(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    baseline: Any = "default",
    space: str = "probability",
) -> MetricResult:
    """|sum_i phi_i - (f(x) - f(baseline))| / |f(x) - f(baseline)| per sample.

    f is the target output in ``space``; the baseline input replaces every valid feature
    through the masker ``baseline``. NaN (flag ``flat_baseline``) when f(x) = f(baseline).

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    baseline : str, number, array or Masker
        What replaces every valid feature.
    space : {"probability", "log_odds"}
        Output space of f.

    Returns
    -------
    MetricResult
        Per-sample ``scores``; ``params`` records the conventions used.
    """
    Xa, explanation = prepare(task, X, explanation)
    space = scored_space(task, space)
    eps = log_odds_eps(task)
    masker = resolve_masker(baseline)
    valid = explanation.flat_mask()
    n = len(Xa)
    rows = np.concatenate([np.arange(n), np.arange(n)])
    removed = np.concatenate([np.zeros_like(valid), valid])
    targets = np.asarray(explanation.targets, dtype=np.int64)
    fill = masker.bind(task, Xa.reshape(n, -1))
    p = to_space(score_rows(task, Xa, targets, rows, lambda sl: removed[sl], fill), space, eps)
    f_x, f_b = p[:n], p[n:]
    delta = f_x - f_b
    total = np.where(valid, explanation.flat(), 0.0).sum(axis=1)
    gap = np.divide(np.abs(total - delta), np.abs(delta), out=np.full(n, np.nan), where=delta != 0)
    return MetricResult(
        metric="completeness",
        scores=gap,
        flags={"degenerate": explanation.degenerate(), "flat_baseline": np.abs(delta) < FLAT_TOL},
        extra={"f_x": f_x, "f_baseline": f_b, "sum": total, "isclose": np.isclose(total, delta)},
        params={
            "score": "|sum phi - (f(x) - f(baseline))| / |f(x) - f(baseline)|",
            "baseline": describe(masker),
            "space": space,
            "target": TARGET,
        },
    )


class Completeness(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="completeness",
        higher_is_better=False,
        range=(0.0, np.inf),
        description="Relative gap between sum of attributions and f(x) - f(baseline)",
        formula=r"\mathrm{gap} = \frac{|\sum_i \phi_i - (f(x) - f(\bar{x}))|}{|f(x) - f(\bar{x})|}",
        reference="Sundararajan et al., Axiomatic Attribution for Deep Networks, ICML 2017",
        family="axiomatic",
    )

    def __init__(self, baseline: Any = "default", space: str = "probability") -> None:
        self.baseline = baseline
        self.space = space

    _fn = staticmethod(completeness)


def non_sensitivity(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    eps: float = 1e-5,
    baseline: Any = "default",
    space: str = "probability",
) -> MetricResult:
    """Number of features whose attribution and effect disagree on being zero. Lower is better.

    A feature is a *non-feature* when |phi_i| / max_j |phi_j| < ``eps``, and *insensitive*
    when removing it alone (replaced through the masker ``baseline``) changes the target
    output f by less than ``eps``. The score counts the valid features where exactly one
    holds (Nguyen & Martinez's non-sensitivity violations).

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    eps : float
        Threshold for a zero attribution (after dividing by max |phi|) and a zero effect.
    baseline : str, number, array or Masker
        What replaces the removed feature.
    space : {"probability", "log_odds"}
        Output space of f.

    Returns
    -------
    MetricResult
        Per-sample counts in [0, n_features]; ``extra["share"]`` divides by the valid
        features; ``params`` records the conventions.
    """
    Xa, explanation = prepare(task, X, explanation)
    space = scored_space(task, space)
    masker = resolve_masker(baseline)
    valid = explanation.flat_mask()
    n, F = valid.shape
    pair_i, pair_j = np.nonzero(valid)  # one removal per valid feature
    rows = np.concatenate([np.arange(n), pair_i])
    cols = np.concatenate([np.full(n, -1), pair_j])

    def removed(sl: slice) -> np.ndarray:
        out = np.zeros((len(rows[sl]), F), dtype=bool)
        hit = np.flatnonzero(cols[sl] >= 0)
        out[hit, cols[sl][hit]] = True
        return out

    targets = np.asarray(explanation.targets, dtype=np.int64)
    fill = masker.bind(task, Xa.reshape(n, -1))
    p = to_space(score_rows(task, Xa, targets, rows, removed, fill), space, log_odds_eps(task))
    effect = np.zeros((n, F))
    effect[pair_i, pair_j] = np.abs(p[n:] - p[pair_i])
    insensitive = effect < eps
    non_feature = normalised(np.where(valid, explanation.flat(), 0.0), True, True) < eps
    violations = (insensitive ^ non_feature) & valid
    count = violations.sum(axis=1).astype(np.float64)
    return MetricResult(
        metric="non_sensitivity",
        scores=count,
        flags={"degenerate": explanation.degenerate()},
        extra={"share": count / np.maximum(valid.sum(axis=1), 1), "f_x": p[:n]},
        params={
            "score": "number of valid features with (|phi_i| / max|phi| < eps) XOR "
            "(|f(x) - f(x without i)| < eps)",
            "eps": eps,
            "baseline": describe(masker),
            "space": space,
            "removal": "one feature at a time",
            "target": TARGET,
        },
    )


class NonSensitivity(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="non_sensitivity",
        higher_is_better=False,
        range=(0.0, np.inf),
        description="Features that get zero attribution but matter, or matter not but get "
        "attribution (count)",
        formula=r"\mathrm{NS} = \big|\{i : [\,|\phi_i| / \max_j |\phi_j| < \epsilon\,] \oplus [\,|f(x) - f(x_{\setminus i})| < \epsilon\,]\}\big|",
        reference="Nguyen & Martinez, On Quantitative Aspects of Model Interpretability, "
        "arXiv:2007.07584, 2020",
        family="axiomatic",
    )
    param_specs: ClassVar[dict[str, Spec]] = {"eps": Spec("float", low=0.0)}

    def __init__(
        self, eps: float = 1e-5, baseline: Any = "default", space: str = "probability"
    ) -> None:
        self.eps = eps
        self.baseline = baseline
        self.space = space

    _fn = staticmethod(non_sensitivity)


def shifted_task(task: Task, X: np.ndarray, shift: float, shift_reference: bool) -> Task:
    """``task`` moved by ``shift``: inputs X + shift and a model m'(z) = m(z - shift), so
    m'(x + shift) = m(x) for every x (Kindermans et al.'s mean-shifted network).

    A torch model is wrapped in a module that subtracts the shift before calling it, so
    gradient methods see the same network; any other model is a black-box scorer only.

    Parameters
    ----------
    task : Task
    X : ndarray
        The shifted inputs (the new task's ``X``).
    shift : float
    shift_reference : bool
        Move the background and the removal value as well.

    Returns
    -------
    Task
    """
    model = None
    if task.is_torch:
        import torch

        class Shifted(torch.nn.Module):
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, z: Any) -> Any:
                return self.inner(z - shift)

        model = Shifted(task.model)
    bg, base = task.background, task.baseline
    if shift_reference:
        bg = None if bg is None else np.asarray(bg, dtype=np.float64) + shift
        base = np.asarray(task.removal_value(), dtype=np.float64) + shift
    elif base is None:
        base = task.removal_value()  # derived from the unshifted background
    return replace(
        task, name=f"{task.name}[shift {shift:g}]", X=X, model=model, background=bg,
        baseline=base, ground_truth=None,
        predict_proba=lambda z: task.predict_proba(np.asarray(z, dtype=np.float64) - shift),
    )  # fmt: skip


def input_invariance(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    shift: float = -1.0,
    atol: float = 1e-4,
    rtol: float = 1e-5,
    shift_reference: bool = False,
) -> MetricResult:
    """1 when the attributions stay the same under a constant input shift absorbed by the
    model, else 0. Higher is better.

    Re-explains x + ``shift`` on the model m'(z) = m(z - shift) (:func:`shifted_task`),
    which predicts exactly as m does on x; an input-invariant method gives the same
    attributions (``np.isclose(phi, phi', atol, rtol)`` on every feature).

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    shift : float
        Added to every input feature.
    atol, rtol : float
        Tolerances of ``np.isclose(phi(x), phi'(x + shift))``.
    shift_reference : bool
        Shift the task's background and removal value too (references move with the
        data); by default they stay where they are (a fixed reference, such as IG's zero
        baseline, breaks invariance: Kindermans et al.).

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in {0, 1}; ``extra["max_abs_change"]``; ``params`` records
        the conventions.

    Raises
    ------
    IncompatibleError
        If the inputs are not real-valued (tabular, image), or the explainer cannot
        re-explain the shifted task.
    """
    check_real(task, "input invariance")
    Xa, explanation = prepare(task, X, explanation)
    moved = Xa.astype(np.float64) + shift
    again = Reexplainer(explanation)
    new = again(shifted_task(task, moved, shift, shift_reference), moved, explanation.targets)
    phi = explanation.flat()
    close = np.isclose(phi, new, atol=atol, rtol=rtol).all(axis=1)
    return MetricResult(
        metric="input_invariance",
        scores=close.astype(np.float64),
        flags={"degenerate": explanation.degenerate()},
        extra={"max_abs_change": np.abs(phi - new).max(axis=1), **again.cost(len(phi))},
        params={
            "shift": shift,
            "model": "m'(z) = m(z - shift), explained at x + shift",
            "reference": "background and removal value shifted too"
            if shift_reference
            else "background and removal value unchanged",
            "score": "np.isclose(phi(x), phi'(x + shift), atol, rtol) on every feature",
            "atol": atol,
            "rtol": rtol,
        },
    )


class InputInvariance(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="input_invariance",
        higher_is_better=True,
        range=(0.0, 1.0),
        modalities=frozenset({Modality.TABULAR, Modality.IMAGE}),
        description="Whether the attributions stay the same when a constant input shift is "
        "absorbed by the model's first layer",
        formula=r"\mathrm{II} = \mathbb{1}\big[\phi(x; m) \approx \phi(x + c;\ m'),\ m'(z) = m(z - c)\big]",
        reference="Kindermans et al., The (Un)reliability of Saliency Methods, 2017 "
        "(Explainable AI, Springer LNCS 11700, 2019)",
        family="axiomatic",
    )
    param_specs: ClassVar[dict[str, Spec]] = {
        "atol": Spec("float", low=0.0),
        "rtol": Spec("float", low=0.0),
    }

    def __init__(
        self,
        shift: float = -1.0,
        atol: float = 1e-4,
        rtol: float = 1e-5,
        shift_reference: bool = False,
    ) -> None:
        self.shift = shift
        self.atol = atol
        self.rtol = rtol
        self.shift_reference = shift_reference

    _fn = staticmethod(input_invariance)
