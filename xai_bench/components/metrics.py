"""The component metrics as the runner scores them: MetricInfo classes over a chunk of examples.

Each ``score(task, X, explanation)`` scores the examples ``task.select(X)`` (the chunk the
explanation explains; ``X=None`` = every example). ``cpr``, ``cmd`` and ``necessity`` are
MIB's dataset-level numbers over the chunk (the behaviour averaged over its examples,
then normalised): the score and the curve f are stored on the chunk's first example and
NaN on the others (``params["level"]`` says so), so the statistics count chunks, the
unit the score was measured on. A ``chunk_size`` of at least ``n_samples`` gives MIB's
number over all the examples (one chunk: a value, no test). ``precision_at_truth``, ``auroc_truth`` and ``patching_agreement``
score each example's ranking. A task without a planted circuit, or an explanation over
a space the truth is not given in, is a recorded skip (IncompatibleError).
"""

from __future__ import annotations

import weakref
from typing import Any, ClassVar

import numpy as np

from ..errors import IncompatibleError, InvalidInputError
from ..explanation import Explanation
from ..metrics._common import BaseMetric
from ..metrics.base import MetricInfo, MetricResult
from ..task import Modality
from ._common import check_choice, check_task
from .faithfulness import _area, faithfulness_curve
from .patching import ActivationPatching
from .task import ComponentTask
from .truth import auroc_truth, precision_at_truth

__all__ = [
    "AUROCTruth",
    "CMD",
    "CPR",
    "Necessity",
    "PatchingAgreement",
    "PrecisionAtTruth",
    "chunk",
    "granularity",
]

COMPONENTS = frozenset({Modality.COMPONENTS})
MIB = "Mueller et al., MIB: A Mechanistic Interpretability Benchmark, ICML 2025"
F_OF_C = r"f(C) = \frac{m(C) - m(\emptyset)}{m(N) - m(\emptyset)}"


def granularity(explanation: Explanation) -> str:
    """The space an explanation ranks: "node" unless its meta says otherwise."""
    meta = explanation.meta
    return str(meta.get("space") or meta.get("granularity") or "node")


def chunk(task: Any, X: Any, explanation: Explanation) -> ComponentTask:
    """The task on the explained examples, checked against the explanation's rows."""
    sub = check_task(task) if X is None else check_task(task).select(np.asarray(X))
    if explanation.n_samples != sub.n_examples:
        raise InvalidInputError(
            f"an explanation of {explanation.n_samples} examples for {sub.n_examples} rows of X",
            "one attribution row per example in X",
            "Score the explanation with the X it was computed on.",
        )
    return sub


def _per_chunk(result: MetricResult, n: int) -> MetricResult:
    """A chunk-level score (and curve) stored on the chunk's first example, NaN on the rest:
    the statistics then count chunks, the unit the score was measured on, not examples."""
    scores = np.full(n, np.nan)
    scores[0] = result.scores[0]
    curves = None
    if result.curves is not None:
        curves = np.full((n, result.curves.shape[1]), np.nan)
        curves[0] = result.curves[0]
    return MetricResult(
        metric=result.metric,
        scores=scores,
        curves=curves,
        x=result.x,
        params={
            **result.params,
            "level": f"chunk of {n} examples (on its first)",
            # the report draws curves of these kinds (f over the fraction of components)
            "kind": "deletion"
            if result.params.get("circuit") == "all but the top k"
            else "insertion",
        },
    )


class _CurveMetric(BaseMetric):
    """cpr / cmd / necessity: f over a grid of circuit sizes, by real ablation."""

    _order: ClassVar[str]
    _remove: ClassVar[bool] = False
    _absolute: ClassVar[bool] = False

    def __init__(
        self, grid: str = "mib", steps: int = 10, ablation: str = "patching", chunk_rows: int = 512
    ) -> None:
        self.grid, self.steps, self.ablation, self.chunk_rows = grid, steps, ablation, chunk_rows

    def score(self, task: Any, X: Any, explanation: Explanation) -> MetricResult:
        sub = chunk(task, X, explanation)
        curve = faithfulness_curve(
            sub, explanation, order=self._order, remove=self._remove, **self.get_params()
        )
        result = _area(self.info.name, curve, self._absolute)
        return _per_chunk(result, sub.n_examples)


class CPR(_CurveMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="cpr",
        higher_is_better=True,
        modalities=COMPONENTS,
        description="Circuit performance ratio: area under the faithfulness f of the top-k "
        "circuits (signed ranking)",
        reference=MIB,
        family="components",
        formula=r"\mathrm{CPR} = \int_0^1 f(C_x)\,dx,\quad " + F_OF_C,
    )
    _order = "signed"


class CMD(_CurveMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="cmd",
        higher_is_better=False,
        range=(0.0, np.inf),
        modalities=COMPONENTS,
        description="Circuit-model distance: area under |1 - f| of the top-k circuits "
        "(absolute ranking)",
        reference=MIB,
        family="components",
        formula=r"\mathrm{CMD} = \int_0^1 \lvert 1 - f(C_x) \rvert\,dx,\quad " + F_OF_C,
    )
    _order, _absolute = "abs", True


class Necessity(_CurveMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="necessity",
        higher_is_better=False,
        modalities=COMPONENTS,
        description="Deletion: area under f with the top-k components ablated (the behaviour "
        "left; low = the top components are necessary)",
        reference="Deletion curves (Petsiuk et al. 2018) over components, normalised as in " + MIB,
        family="components",
        formula=r"\mathrm{Nec} = \int_0^1 f(N \setminus C_x)\,dx,\quad " + F_OF_C,
    )
    _order, _remove = "signed", True


class _TruthMetric(BaseMetric):
    _fn_truth: ClassVar[Any]

    def __init__(self, order: str = "abs") -> None:
        self.order = order

    def score(self, task: Any, X: Any, explanation: Explanation) -> MetricResult:
        sub = chunk(task, X, explanation)
        if sub.ground_truth is None:
            raise IncompatibleError(
                f"metric {self.info.name} needs a planted circuit; task {sub.name!r} has none"
            )
        space = granularity(explanation)
        if space != "node":
            raise IncompatibleError(
                f"metric {self.info.name}: task {sub.name!r} gives its planted circuit over"
                f" nodes, not over the {space} space this explanation ranks"
            )
        return type(self)._fn_truth(sub, explanation, order=self.order)


class PrecisionAtTruth(_TruthMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="precision_at_truth",
        higher_is_better=True,
        range=(0.0, 1.0),
        modalities=COMPONENTS,
        description="Share of the top-|truth| components that are planted",
        reference="Planted-circuit recovery, cf. InterpBench (Gupta et al. 2024) and " + MIB,
        family="components",
        formula=r"\mathrm{P@}|G| = \frac{|\operatorname{top}_{|G|}(\phi) \cap G|}{|G|}",
    )
    _fn_truth = staticmethod(precision_at_truth)


class AUROCTruth(_TruthMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="auroc_truth",
        higher_is_better=True,
        range=(0.0, 1.0),
        modalities=COMPONENTS,
        description="Probability that a planted component outranks a non-planted one",
        reference="Circuit-discovery ROC, Conmy et al., ACDC, NeurIPS 2023",
        family="components",
        formula=r"\mathrm{AUROC} = \Pr\left(\phi_g > \phi_h\right) + \tfrac12 \Pr\left("
        r"\phi_g = \phi_h\right),\ g \in G,\ h \notin G",
    )
    _fn_truth = staticmethod(auroc_truth)


def _rank_agreement(a: np.ndarray, b: np.ndarray, method: str) -> np.ndarray:
    """Per row, Spearman's rho or Kendall's tau-b of a and b (nan for a constant row)."""
    from scipy.stats import kendalltau, spearmanr

    fn = spearmanr if method == "spearman" else kendalltau
    out = np.full(len(a), np.nan)
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if np.ptp(x) > 0 and np.ptp(y) > 0:
            out[i] = float(fn(x, y)[0])
    return out


# exact patching per (task, rows, space, ablation), computed once per process: the score
# jobs of every explainer on one chunk compare with the same reference
_EXACT: weakref.WeakKeyDictionary[ComponentTask, dict[tuple, np.ndarray]] = (
    weakref.WeakKeyDictionary()
)


def exact_patching(task: ComponentTask, X: Any, space: str, ablation: str) -> np.ndarray:
    """Noising activation patching (B, F) of the examples ``X`` of ``task``, cached."""
    rows = task.X if X is None else np.asarray(X)
    key = (rows.tobytes(), str(rows.dtype), space, ablation)
    cache = _EXACT.setdefault(task, {})
    if key not in cache:
        patching = ActivationPatching(ablation=ablation, granularity=space)
        cache[key] = patching.explain(task.select(rows)).flat()
    return cache[key]


class PatchingAgreement(BaseMetric):
    """Rank agreement, per example, with exact activation patching over the same space.

    Parameters
    ----------
    method : {"spearman", "kendall"}
    ablation : {"patching", "zero", "mean", "mean_positional"}
        The reference patching's ablation (noising direction).
    """

    info: ClassVar[MetricInfo] = MetricInfo(
        name="patching_agreement",
        higher_is_better=True,
        range=(-1.0, 1.0),
        modalities=COMPONENTS,
        description="Rank correlation with exact activation patching (the causal reference)",
        reference="AtP vs. patching, Kramar et al., AtP*, 2024; " + MIB,
        family="components",
        formula=r"\rho_s\left(\phi, \phi^{\mathrm{patch}}\right),\quad \phi^{\mathrm{patch}}_j"
        r" = m(x) - m(x \mid a_j \leftarrow \tilde a_j)",
    )

    def __init__(self, method: str = "spearman", ablation: str = "patching") -> None:
        self.method, self.ablation = method, ablation

    def score(self, task: Any, X: Any, explanation: Explanation) -> MetricResult:
        check_choice("method", self.method, ("spearman", "kendall"))
        chunk(task, X, explanation)
        space = granularity(explanation)
        if space not in ("node", "edge"):
            raise IncompatibleError(
                f"metric patching_agreement: no exact patching over the {space} space"
            )
        exact = exact_patching(check_task(task), X, space, self.ablation)
        mine = explanation.flat()
        if mine.shape != exact.shape:
            raise InvalidInputError(
                f"attributions of shape {mine.shape}",
                f"{exact.shape}: one per example and {space} of the task",
                "Explain this task with a component explainer.",
            )
        scores = _rank_agreement(mine, exact, self.method)
        return MetricResult(
            metric="patching_agreement",
            scores=scores,
            flags={"undefined": np.isnan(scores)},
            params={"method": self.method, "ablation": self.ablation, "space": space},
        )
