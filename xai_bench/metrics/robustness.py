"""Robustness and sanity metrics that re-run the explainer.

- **sensitivity-max** (Yeh et al., NeurIPS 2019): max over ``n_samples`` uniform
  perturbations |delta|_inf <= radius of ||phi(x + delta) - phi(x)|| / ||phi(x)||.

Model randomisation (Adebayo et al.) lives in ``randomisation`` and reuses the helpers here.

The explainer is rebuilt from the explanation as
``xai_bench.get_explainer(explanation.explainer, **explanation.params)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._rng import sample_rngs
from ..errors import IncompatibleError, XaiBenchError
from ..explanation import Explanation
from ..task import Modality, Task
from ._common import BaseMetric
from .base import MetricInfo, MetricResult
from .perturb import prepare

__all__ = ["SensitivityMax", "sensitivity_max"]

_REAL = frozenset({Modality.TABULAR, Modality.IMAGE})


def _explainer(explanation: Explanation) -> Any:
    from ..registry import get_explainer

    try:
        return get_explainer(explanation.explainer, **explanation.params)
    except XaiBenchError as exc:
        raise IncompatibleError(
            f"cannot rebuild explainer {explanation.explainer!r} to re-explain: {exc}"
        ) from exc


def _reexplain(explainer: Any, task: Task, X: np.ndarray, targets: np.ndarray) -> np.ndarray:
    try:
        return explainer.explain(task, X, targets=targets).flat()
    except IncompatibleError:
        raise
    except XaiBenchError as exc:
        raise IncompatibleError(f"{explainer!r} cannot re-explain new inputs: {exc}") from exc


def sensitivity_max(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    radius: float = 0.02,
    n_samples: int = 10,
    normalise: bool = True,
    seed: int = 0,
) -> MetricResult:
    """Max relative change of the attributions under small input noise. Lower is better.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    radius : float
        Noise drawn uniformly in [-radius, radius], per feature.
    n_samples : int
        Noisy copies per sample.
    normalise : bool
        Divide by the norm of the original attributions.
    seed : int

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [0, inf); ``params`` records the conventions.

    Raises
    ------
    IncompatibleError
        If the inputs are not real-valued (tabular, image), or the explainer cannot re-explain.
    """
    if task.modality not in _REAL:
        raise IncompatibleError("sensitivity-max perturbs real-valued inputs (tabular, image)")
    Xa, explanation = prepare(task, X, explanation)
    Xa = Xa.astype(np.float64)
    n = len(Xa)
    # drawn per sample from (seed, its content): a score never depends on its batch
    noise = np.stack(
        [
            rng.uniform(-radius, radius, size=(n_samples, *Xa.shape[1:]))
            for rng in sample_rngs(Xa, seed)
        ],
        axis=1,
    )
    Xp = (Xa[None] + noise).reshape(n_samples * n, *Xa.shape[1:])
    phi = explanation.flat()
    new = _reexplain(_explainer(explanation), task, Xp, np.tile(explanation.targets, n_samples))
    diff = np.linalg.norm(new.reshape(n_samples, n, -1) - phi[None], axis=2)
    norm = np.linalg.norm(phi, axis=1)
    if normalise:
        diff = np.divide(diff, norm[None], out=np.full_like(diff, np.inf), where=norm[None] > 0)
    return MetricResult(
        metric="sensitivity_max",
        scores=diff.max(axis=0),
        flags={"degenerate": explanation.degenerate()},
        params={
            "radius": radius,
            "n_samples": n_samples,
            "noise": "uniform in [-radius, radius] per feature, drawn per sample from "
            "(seed, the sample's content)",
            "normalise": "divide by ||phi(x)||_2" if normalise else "none",
            "seed": seed,
        },
    )


class SensitivityMax(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="sensitivity_max",
        higher_is_better=False,
        range=(0.0, np.inf),
        modalities=_REAL,
        description="Max relative change of the attributions under small uniform input noise",
        reference="Yeh et al., On the (In)fidelity and Sensitivity of Explanations, NeurIPS 2019",
        family="robustness",
        formula=r"\mathrm{SENS} = \max_{\|\delta\|_\infty \le r} \frac{\|\phi(x + \delta) - \phi(x)\|_2}{\|\phi(x)\|_2}",
    )

    def __init__(
        self, radius: float = 0.02, n_samples: int = 10, normalise: bool = True, seed: int = 0
    ) -> None:
        self.radius = radius
        self.n_samples = n_samples
        self.normalise = normalise
        self.seed = seed

    _fn = staticmethod(sensitivity_max)
