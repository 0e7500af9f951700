"""Infidelity (Yeh et al., NeurIPS 2019) with the authors' optimal beta-scaling.

For perturbations I of x, with e = I . phi and d = f(x) - f(x - I):

    beta  = mean(e * d) / mean(e * e)          (per sample; 0 when e is always 0)
    INFD  = mean((beta * e - d) ** 2)

as in ``get_exp_infid`` of github.com/chihkuanyeh/saliency_evaluation (kernel weights 1),
which makes the score invariant to the scale of the attributions. Lower is better.

Perturbations (``"auto"``: gaussian on real-valued inputs, subset on token ids):
``"gaussian"`` - I ~ N(0, noise^2) on every valid feature (tabular, image);
``"subset"`` - a random ``subset_size`` of features is replaced by the baseline masker and
I is the indicator of that subset (Yeh's binary "Square"/SHAP-style perturbation, usable
on any modality).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._params import PARAMS, Spec, check_param, positive
from ..errors import IncompatibleError, InvalidInputError
from ..explanation import Explanation
from ..task import Modality, Task
from ._common import TARGET, BaseMetric
from .base import MetricInfo, MetricResult
from .maskers import describe, resolve_masker
from .perturb import (
    MAX_CHUNK_BYTES,
    log_odds_eps,
    prepare,
    score_rows,
    scored_space,
    tie_keys,
    to_space,
)

__all__ = ["Infidelity", "infidelity", "optimal_scaling_infidelity"]


def optimal_scaling_infidelity(e: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row beta and infidelity from dot products ``e`` and output drops ``d``, (n, m).

    Parameters
    ----------
    e : ndarray (n, m)
        Perturbation . attribution per draw.
    d : ndarray (n, m)
        Output drop per draw.

    Returns
    -------
    beta, infidelity : ndarray (n,)
    """
    ee = (e * e).mean(axis=1)
    beta = np.divide((e * d).mean(axis=1), ee, out=np.zeros(len(e)), where=ee > 0)
    return beta, ((beta[:, None] * e - d) ** 2).mean(axis=1)


def _sample_rngs(seed: int, fingerprints: np.ndarray) -> list[np.random.Generator]:
    return [np.random.default_rng([seed, int(f)]) for f in fingerprints]


def infidelity(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    perturbation: str = "auto",
    noise: float = 0.1,
    n_perturbations: int = 64,
    subset_size: float = 0.2,
    baseline: Any = "default",
    space: str = "probability",
    seed: int = 0,
    predict: Any = None,
) -> MetricResult:
    """Infidelity per sample; see the module docstring. Lower is better.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    perturbation : {"auto", "gaussian", "subset"}
    noise : float
        Standard deviation of the Gaussian perturbation.
    n_perturbations : int
    subset_size : float
        Share of features removed by a subset perturbation.
    baseline : str, number, array or Masker
    space : {"probability", "log_odds"}
    seed : int
    predict : callable, optional

    Returns
    -------
    MetricResult
        Per-sample ``scores`` in [0, inf); ``params`` records the conventions.

    Raises
    ------
    IncompatibleError
        If the gaussian perturbation meets non-real inputs (text).
    InvalidInputError
        If ``perturbation`` is unknown.
    """
    space = scored_space(task, space)
    eps = log_odds_eps(task)
    Xa, explanation = prepare(task, X, explanation)
    if perturbation == "auto":
        real = task.modality in (Modality.TABULAR, Modality.IMAGE)
        perturbation = "gaussian" if real else "subset"
    n = len(Xa)
    Xf = Xa.reshape(n, -1).astype(np.float64) if perturbation == "gaussian" else Xa.reshape(n, -1)
    F = Xf.shape[1]
    valid = explanation.flat_mask()
    phi = explanation.flat()
    m = check_param(PARAMS["n_perturbations"], "n_perturbations", n_perturbations)
    fp = tie_keys(np.concatenate([phi, Xf.astype(np.float64)], axis=1), 1, seed)[:, 0]
    rngs = _sample_rngs(seed, fp)
    predict = predict or task.predict
    base_params: dict[str, Any] = {}
    if perturbation == "gaussian":
        if task.modality not in (Modality.TABULAR, Modality.IMAGE):
            raise IncompatibleError("gaussian infidelity needs real-valued inputs (tabular, image)")
        f_x = predict(Xa)[np.arange(n), explanation.targets]
        d = np.empty((n, m))
        e = np.empty((n, m))
        block = max(1, MAX_CHUNK_BYTES // (m * F * 8 * 2))
        for s in range(0, n, block):
            idx = np.arange(s, min(n, s + block))
            pert = np.stack([rngs[i].standard_normal((m, F)) * noise for i in idx])
            pert *= valid[idx, None, :]
            batch = (Xf[idx, None, :] - pert).reshape(len(idx) * m, *Xa.shape[1:])
            probs = predict(batch)[np.arange(len(idx) * m), np.repeat(explanation.targets[idx], m)]
            d[idx] = to_space(f_x[idx], space, eps)[:, None] - to_space(
                probs.reshape(len(idx), m), space, eps
            )
            e[idx] = np.einsum("bmf,bf->bm", pert, phi[idx])
        base_params = {"noise": noise}
    elif perturbation == "subset":
        masker = resolve_masker(baseline)
        fill = masker.bind(task, Xf)
        n_valid = valid.sum(axis=1)
        size = np.maximum(1, np.floor(subset_size * n_valid + 0.5)).astype(np.int64)
        S = np.zeros((n, m, F), dtype=bool)
        for i in range(n):
            keys = np.where(valid[i], rngs[i].random((m, F)), 2.0)
            S[i] = np.argsort(np.argsort(keys, axis=1), axis=1) < size[i]
        rows_i = np.concatenate([np.arange(n), np.repeat(np.arange(n), m)])
        flatS = np.concatenate([np.zeros((n, F), bool), S.reshape(n * m, F)])
        p = score_rows(
            task, Xa, explanation.targets, rows_i, lambda sl: flatS[sl], fill, predict=predict
        )
        p = to_space(p, space, eps)
        d = p[:n, None] - p[n:].reshape(n, m)
        e = (S * phi[:, None, :]).sum(axis=2)
        base_params = {"subset_size": subset_size, "baseline": describe(masker)}
    else:
        raise InvalidInputError(
            f"perturbation={perturbation!r}", "'gaussian' or 'subset'", "Use 'gaussian'."
        )
    beta, scores = optimal_scaling_infidelity(e, d)
    return MetricResult(
        metric="infidelity",
        scores=scores,
        flags={"degenerate": explanation.degenerate()},
        params={
            "target": TARGET,
            "perturbation": perturbation,
            "n_perturbations": m,
            "space": space,
            "seed": seed,
            "normalisation": "optimal beta = mean(e*d)/mean(e*e) per sample (Yeh et al. code)",
            **base_params,
        },
        extra={"beta": beta},
    )


class Infidelity(BaseMetric):
    info: ClassVar[MetricInfo] = MetricInfo(
        name="infidelity",
        higher_is_better=False,
        range=(0.0, np.inf),
        description="Mean squared error between beta * (perturbation . attribution) and the "
        "output drop",
        reference="Yeh et al., On the (In)fidelity and Sensitivity of Explanations, NeurIPS 2019",
        family="faithfulness",
        formula=r"\mathrm{INFD} = \min_{\beta} \; \mathbb{E}_{I}\Big[\big(\beta\, I^{\top}\phi - (f(x) - f(x - I))\big)^2\Big]",
    )
    # a fraction of the features (faithfulness_correlation also takes a count)
    param_specs: ClassVar[dict[str, Spec]] = {
        "subset_size": Spec("float", low=0.0, low_open=True, high=1.0),
        "noise": positive(),  # zero noise perturbs nothing
    }

    def __init__(
        self,
        perturbation: str = "auto",
        noise: float = 0.1,
        n_perturbations: int = 64,
        subset_size: float = 0.2,
        baseline: Any = "default",
        space: str = "probability",
        seed: int = 0,
    ) -> None:
        self.perturbation = perturbation
        self.noise = noise
        self.n_perturbations = n_perturbations
        self.subset_size = subset_size
        self.baseline = baseline
        self.space = space
        self.seed = seed

    _fn = staticmethod(infidelity)
