"""ROAD (Rong et al., ICML 2022) as a metric: the predicted class along a removal curve.

For each removal percentage p (default 1, 3, ..., 99 %, Quantus 0.6's grid), the
``floor(p/100 * n_valid)`` most relevant features (signed attribution, descending) are
replaced by ROAD's imputation (:class:`~xai_bench.metrics.maskers.ImputeMasker`:
noisy-linear neighbour imputation on images, the Gaussian conditional mean on tabular
data), and the curve records whether the model still predicts the target class. The
per-sample score is the mean of that curve over the percentages (the area under the
sample's MoRF accuracy curve); lower is better. Quantus's ROAD returns the accuracy at
each percentage over the batch: the mean of ``curves`` over the samples, column by column.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from .._params import Spec
from ..errors import IncompatibleError
from ..explanation import Explanation
from ..task import Modality, Task
from ._common import BaseMetric
from .base import MetricInfo, MetricResult
from .deletion import perturbation_setup
from .maskers import ImputeMasker
from .perturb import masked_scores

__all__ = ["ROAD", "QUANTUS_PERCENTAGES", "road"]

#: Quantus 0.6's default grid: 1, 3, ..., 99 (percent of the features).
QUANTUS_PERCENTAGES = tuple(float(p) for p in range(1, 100, 2))


def road(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    percentages: tuple[float, ...] = QUANTUS_PERCENTAGES,
    noise: float = 0.01,
    baseline: Any = None,
    order: str = "signed",
    seed: int = 0,
    predict: Callable[[Any], np.ndarray] | None = None,
) -> MetricResult:
    """ROAD MoRF curve: 1 while the target class stays predicted, per removal percentage.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    percentages : tuple of float
        Removal percentages in (0, 100], increasing.
    noise : float
        Standard deviation of the imputation noise (ROAD's and Quantus's 0.01).
    baseline : Masker or str, optional
        Another masker instead of ``ImputeMasker(noise=noise, seed=seed)``.
    order : {"signed", "abs"}
        Rank by the signed attribution (Quantus's ``abs=False``) or its magnitude.
    seed : int
        Tie-break and imputation-noise seed (noise drawn per sample from its content).
    predict : callable, optional

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [0, 1]; ``curves`` (n, P) the 0/1 indicator per
        percentage.

    Raises
    ------
    IncompatibleError
        On a regressor (no predicted class).
    """
    if task.is_regression:
        raise IncompatibleError("ROAD reads the predicted class; a regressor has none")
    masker = ImputeMasker(noise=noise, seed=seed) if baseline is None else baseline
    Xa, explanation, positions, n_valid, fill, params = perturbation_setup(
        task, X, explanation, baseline=masker, order=order, seed=seed
    )
    pct = np.asarray(percentages, dtype=np.float64)
    counts = np.floor(pct[None, :] / 100 * n_valid[:, None] + 1e-9).astype(np.int64)
    score = predict or task.predict

    def predicted_is(batch: Any) -> np.ndarray:
        # one-hot of the argmax: the engine reads the target's column, i.e. the 0/1 test
        probs = score(batch)
        return (probs.argmax(axis=1)[:, None] == np.arange(probs.shape[1])).astype(np.float64)

    curve = masked_scores(
        task, Xa, explanation.targets, positions, counts, fill, predict=predicted_is
    )
    return MetricResult(
        metric="road",
        scores=curve.mean(axis=1),
        curves=curve,
        x=pct / 100,
        flags={"degenerate": explanation.degenerate()},
        params={
            **params,
            "percentages": [float(p) for p in pct],
            "count": "floor(p / 100 * n_valid)",
            "curve": "1 if the target is the predicted class (argmax), else 0",
            "aggregate": "mean over the percentages (Quantus: mean over samples per percentage)",
        },
    )


class ROAD(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="road",
        higher_is_better=False,
        range=(0.0, 1.0),
        modalities=frozenset({Modality.TABULAR, Modality.IMAGE}),
        description="Share of removal percentages at which the target class is still "
        "predicted after ROAD's imputation of the most relevant features",
        reference="Rong et al., A Consistent and Efficient Evaluation Strategy for Attribution "
        "Methods (ROAD), ICML 2022",
        family="faithfulness",
        formula=r"\mathrm{ROAD} = \frac{1}{|P|} \sum_{p \in P} \mathbb{1}\big[\arg\max_c f_c(\tilde{x}_p) = y\big], \quad \tilde{x}_p = x \text{ with its top } p\% \text{ imputed}",
    )
    param_specs: ClassVar[dict[str, Spec]] = {
        "percentages": Spec("floats", low=0.0, low_open=True, high=100.0),
    }

    def __init__(
        self,
        percentages: tuple[float, ...] = QUANTUS_PERCENTAGES,
        noise: float = 0.01,
        baseline: Any = None,
        order: str = "signed",
        seed: int = 0,
    ) -> None:
        self.percentages = percentages
        self.noise = noise
        self.baseline = baseline
        self.order = order
        self.seed = seed

    _fn = staticmethod(road)
