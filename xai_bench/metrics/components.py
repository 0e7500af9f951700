"""Component metrics (issue 14): the ranking of a model's components, scored by real ablation.

Declared here without torch, so listing the metrics imports nothing heavy; the scores
come from :mod:`xai_bench.components.metrics` (imported on the first ``score``), which
says how a chunk of examples is scored. Family and modality ``components``: they score
only component tasks, and input-level metrics skip component tasks.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ..explanation import Explanation
from ..task import Modality, Task
from ._common import BaseMetric, check_modality
from .base import MetricInfo, MetricResult

__all__ = ["CMD", "CPR", "AUROCTruth", "Necessity", "PatchingAgreement", "PrecisionAtTruth"]

COMPONENTS = frozenset({Modality.COMPONENTS})
MIB = "Mueller et al., MIB: A Mechanistic Interpretability Benchmark, ICML 2025"
F_OF_C = r"f(C) = \frac{m(C) - m(\emptyset)}{m(N) - m(\emptyset)}"


class _ComponentMetric(BaseMetric):
    """Calls ``xai_bench.components.metrics.<_impl>`` with ``_fixed`` and the params."""

    _impl: ClassVar[str]
    _fixed: ClassVar[dict[str, Any]] = {}

    def score(self, task: Task, X: Any, explanation: Explanation) -> MetricResult:
        check_modality(self.info, task)
        from ..components import metrics as impl

        fn = getattr(impl, self._impl)
        return fn(task, X, explanation, **self._fixed, **self.get_params())  # type: ignore[no-any-return]


class _CurveMetric(_ComponentMetric):
    """f over a grid of circuit sizes (``grid="mib"``: MIB's fractions; ``"uniform"``:
    ``steps`` equal steps), circuits scored by ``ablation`` in batched passes."""

    _impl = "curve_score"

    def __init__(
        self, grid: str = "mib", steps: int = 10, ablation: str = "patching", chunk_rows: int = 512
    ) -> None:
        self.grid, self.steps, self.ablation, self.chunk_rows = grid, steps, ablation, chunk_rows


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
    _fixed = {"metric": "cpr", "order": "signed"}


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
    _fixed = {"metric": "cmd", "order": "abs", "absolute": True}


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
    _fixed = {"metric": "necessity", "order": "signed", "remove": True}


class _TruthMetric(_ComponentMetric):
    """Against the task's planted circuit; ``order="abs"`` ranks by |attribution|."""

    _impl = "truth_score"

    def __init__(self, order: str = "abs") -> None:
        self.order = order


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
    _fixed = {"metric": "precision_at_truth"}


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
    _fixed = {"metric": "auroc_truth"}


class PatchingAgreement(_ComponentMetric):
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
    _impl = "patching_agreement"

    def __init__(self, method: str = "spearman", ablation: str = "patching") -> None:
        self.method, self.ablation = method, ablation
