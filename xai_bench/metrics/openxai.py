"""OpenXAI's agreement with a known truth (Agarwal et al., OpenXAI, NeurIPS 2022): the truth is a
linear model's coefficients for the explained class.

- **feature_agreement** (FA): the share of the truth's top-k features (by |.|) that are in
  the explanation's top-k.
- **sign_agreement** (SA): the same, counting a feature only when its sign agrees too.
- **rank_agreement** (RA): the share of the k positions holding the same feature (and the
  same dense rank, which only differs under ties) in both rankings.
- **signed_rank_agreement** (SRA): RA that also requires the same sign.
- **rank_correlation** (RC): Pearson's r of the dense ranks of -|.| (Spearman's rho).
- **pairwise_rank_agreement** (PRA): the share of feature pairs ordered alike by |.|.

The truth is read from ``task.model``: a scikit-learn linear classifier (``coef_``) or a
``torch.nn.Linear``. A binary model's single row is the truth for class 1 and its negation
for class 0 (as OpenXAI flips it by the prediction). Any other model is a recorded skip
(``IncompatibleError``). Top-k sorts by |.| descending, ties to the lower feature index
(OpenXAI's ``np.argsort`` leaves ties unspecified).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from scipy.stats import rankdata

from .._params import Spec
from .._rng import sample_rngs
from ..errors import IncompatibleError
from ..explanation import Explanation
from ..task import Modality, Task
from ._common import TARGET, BaseMetric
from .base import MetricInfo, MetricResult
from .perturb import prepare, rank_positions, score_rows

__all__ = [
    "PGI",
    "PGU",
    "FeatureAgreement",
    "PairwiseRankAgreement",
    "RankAgreement",
    "RankCorrelation",
    "SignAgreement",
    "SignedRankAgreement",
    "agreement",
    "feature_agreement",
    "linear_truth",
    "pairwise_rank_agreement",
    "pgi",
    "pgu",
    "prediction_gap",
    "rank_agreement",
    "rank_correlation",
    "sign_agreement",
    "signed_rank_agreement",
]

REFERENCE = (
    "Agarwal et al., OpenXAI: Towards a Transparent Evaluation of Model Explanations, NeurIPS 2022"
)
TRUTH = "the linear model's coefficients for the target class (binary: -coef for class 0)"
TIES = "top-k by |phi| descending, ties to the lower feature index"


def _coefficients(model: Any) -> np.ndarray | None:
    """(C, F) weights of a linear classifier, or None when the model is not one."""
    try:
        import torch

        if isinstance(model, torch.nn.Linear):
            return model.weight.detach().cpu().numpy().astype(np.float64)
    except ImportError:  # pragma: no cover - torch is a dependency of the image tasks
        pass
    from sklearn.linear_model._base import LinearClassifierMixin

    if isinstance(model, LinearClassifierMixin) and hasattr(model, "coef_"):
        return np.atleast_2d(np.asarray(model.coef_, dtype=np.float64))
    return None


def linear_truth(task: Task, targets: np.ndarray) -> np.ndarray:
    """The truth (n, F) per sample's target class, else IncompatibleError (a recorded skip).

    Parameters
    ----------
    task : Task
        Its ``model`` is the linear model.
    targets : ndarray (n,)
        Class indices.

    Returns
    -------
    ndarray (n, F)

    Raises
    ------
    IncompatibleError
        If ``task.model`` is not a linear model, or its coefficients do not match the features.
    """
    W = _coefficients(task.model)
    if W is None:
        raise IncompatibleError(
            f"task {task.name!r}: ground-truth agreement needs a linear model (a scikit-learn "
            f"linear classifier or torch.nn.Linear) as task.model, not {type(task.model).__name__}"
        )
    n_features = int(np.prod(task.feature_shape))
    if W.shape[1] != n_features:
        raise IncompatibleError(
            f"task {task.name!r}: the linear model has {W.shape[1]} coefficients per class, "
            f"the task {n_features} features"
        )
    t = np.asarray(targets, dtype=np.int64)
    if len(W) == 1:  # one row: the truth for class 1
        return np.where((t == 1)[:, None], W[0], -W[0])
    return W[t]


def _inputs(task: Task, X: Any, explanation: Explanation, k: int | None):
    _, explanation = prepare(task, X, explanation)
    phi = explanation.flat().astype(np.float64)
    truth = linear_truth(task, explanation.targets)
    n_features = phi.shape[1]
    k_used = n_features if k is None else min(k, n_features)
    flags = {"degenerate": explanation.degenerate()}
    return phi, truth, k_used, flags


def _topk(a: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-np.abs(a), axis=1, kind="stable")[:, :k]


def agreement(phi: np.ndarray, truth: np.ndarray, k: int, *, rank: bool, sign: bool) -> np.ndarray:
    """FA / SA (``rank=False``) and RA / SRA (``rank=True``) on (n, F) arrays.

    Parameters
    ----------
    phi, truth : ndarray (n, F)
    k : int
    rank, sign : bool
        Require the same position and dense rank / the same sign.

    Returns
    -------
    ndarray (n,)
    """
    idx = [_topk(phi, k), _topk(truth, k)]
    keys = [idx[0].astype(np.int64), idx[1].astype(np.int64)]
    parts = [keys]
    if rank:
        ranks = [rankdata(-np.abs(a), method="dense", axis=1) for a in (phi, truth)]
        parts.append([np.take_along_axis(r, i, axis=1) for r, i in zip(ranks, idx, strict=True)])
    if sign:
        parts.append(
            [
                np.take_along_axis(np.sign(a), i, axis=1)
                for a, i in zip((phi, truth), idx, strict=True)
            ]
        )
    e = np.stack([p[0] for p in parts], axis=-1)  # (n, k, fields)
    g = np.stack([p[1] for p in parts], axis=-1)
    if rank:  # position by position
        return (e == g).all(axis=-1).sum(axis=1) / k
    # set intersection: each (feature, sign) of the explanation's top-k found in the truth's
    found = (e[:, :, None, :] == g[:, None, :, :]).all(axis=-1).any(axis=2)
    return found.sum(axis=1) / k


def _result(name: str, scores: np.ndarray, flags: dict, k: int | None, k_used: int, **more: Any):
    return MetricResult(
        metric=name,
        scores=scores,
        flags=flags,
        params={"k": k, "k_used": k_used, "truth": TRUTH, "ties": TIES, "target": TARGET, **more},
    )


def _topk_metric(name: str, rank: bool, sign: bool):
    def fn(task: Task, X: Any, explanation: Explanation, *, k: int = 5) -> MetricResult:
        phi, truth, k_used, flags = _inputs(task, X, explanation, k)
        return _result(name, agreement(phi, truth, k_used, rank=rank, sign=sign), flags, k, k_used)

    fn.__name__ = name
    fn.__doc__ = (
        f"{name} over the top-k features (k clipped to the number of features).\n\n"
        "    Parameters\n    ----------\n    task, X, explanation\n"
        "        The task, the explained inputs and their attributions.\n"
        "    k : int\n        Number of top features.\n\n"
        "    Returns\n    -------\n    MetricResult\n"
        "        Per-sample ``scores``; ``params`` records the conventions used.\n"
    )
    return fn


feature_agreement = _topk_metric("feature_agreement", rank=False, sign=False)
sign_agreement = _topk_metric("sign_agreement", rank=False, sign=True)
rank_agreement = _topk_metric("rank_agreement", rank=True, sign=False)
signed_rank_agreement = _topk_metric("signed_rank_agreement", rank=True, sign=True)


def _features_of_interest(phi: np.ndarray, truth: np.ndarray, k: int):
    """phi and truth restricted to the truth's top-k features (all features when k = F),
    in feature order (PRA's strict comparisons on ties depend on which feature comes first)."""
    idx = np.sort(_topk(truth, k), axis=1)
    return np.take_along_axis(phi, idx, axis=1), np.take_along_axis(truth, idx, axis=1)


def rank_correlation(
    task: Task, X: Any, explanation: Explanation, *, k: int | None = None
) -> MetricResult:
    """Pearson's r of the dense ranks of -|phi| and -|truth| over the truth's top-k features
    (``k=None``: all features, as OpenXAI's ``rankcorr``); NaN when either is constant.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    k : int, optional
        The truth's top-k features (None: all features).

    Returns
    -------
    MetricResult
        Per-sample ``scores``; ``params`` records the conventions used.
    """
    phi, truth, k_used, flags = _inputs(task, X, explanation, k)
    p, t = _features_of_interest(phi, truth, k_used)
    rp = rankdata(-np.abs(p), method="dense", axis=1).astype(np.float64)
    rt = rankdata(-np.abs(t), method="dense", axis=1).astype(np.float64)
    rp -= rp.mean(axis=1, keepdims=True)
    rt -= rt.mean(axis=1, keepdims=True)
    den = np.sqrt((rp**2).sum(axis=1) * (rt**2).sum(axis=1))
    flags["undefined"] = ~(den > 0)
    r = np.divide((rp * rt).sum(axis=1), den, out=np.full(len(p), np.nan), where=den > 0)
    return _result("rank_correlation", r, flags, k, k_used, ranks="dense ranks of -|.|")


def pairwise_rank_agreement(
    task: Task, X: Any, explanation: Explanation, *, k: int | None = None
) -> MetricResult:
    """Share of feature pairs (i < j) of the truth's top-k features (``k=None``: all, as
    OpenXAI's ``pairwise_comp``) where ``|phi_i| > |phi_j|`` iff ``|truth_i| > |truth_j|``.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    k : int, optional
        The truth's top-k features (None: all features).

    Returns
    -------
    MetricResult
        Per-sample ``scores``; ``params`` records the conventions used.
    """
    phi, truth, k_used, flags = _inputs(task, X, explanation, k)
    p, t = np.abs(_features_of_interest(phi, truth, k_used))
    i, j = np.triu_indices(k_used, 1)
    same = (p[:, i] > p[:, j]) == (t[:, i] > t[:, j])
    flags["undefined"] = np.full(len(p), k_used < 2)
    scores = same.mean(axis=1) if len(i) else np.full(len(p), np.nan)
    return _result("pairwise_rank_agreement", scores, flags, k, k_used, pairs="i < j")


_K = {"k": Spec("int", low=1)}
_K_ALL = {"k": Spec("int", low=1, none=True)}


# the per-sample score of each metric in LaTeX, shown on the metrics reference page;
# T_k / E_k: the top-k features by |coefficient| (truth) / by |attribution| (explanation)
_FORMULAS = {
    "feature_agreement": r"\mathrm{FA} = \frac{|T_k \cap E_k|}{k}",
    "sign_agreement": r"\mathrm{SA} = \frac{|\{i \in T_k \cap E_k : \operatorname{sign} \phi_i = "
    r"\operatorname{sign} w_i\}|}{k}",
    "rank_agreement": r"\mathrm{RA} = \frac{1}{k} \sum_{r=1}^{k} \mathbb{1}[T_{(r)} = E_{(r)}]",
    "signed_rank_agreement": r"\mathrm{SRA} = \frac{1}{k} \sum_{r=1}^{k} \mathbb{1}[T_{(r)} = "
    r"E_{(r)} \wedge \operatorname{sign} \phi_{E_{(r)}} = \operatorname{sign} w_{E_{(r)}}]",
    "rank_correlation": r"\mathrm{RC} = \operatorname{spearman}_i(|\phi_i|, |w_i|)",
    "pairwise_rank_agreement": r"\mathrm{PRA} = \frac{|\{i < j : (|\phi_i| - |\phi_j|)"
    r"(|w_i| - |w_j|) > 0\}|}{\binom{k}{2}}",
    "pgi": r"\mathrm{PGI} = \mathbb{E}_{\epsilon}\big|f(x) - f(x + \epsilon \odot "
    r"\mathbb{1}_{E_k})\big|, \quad \epsilon \sim \mathcal{N}(0, \sigma^2 I)",
    "pgu": r"\mathrm{PGU} = \mathbb{E}_{\epsilon}\big|f(x) - f(x + \epsilon \odot "
    r"\mathbb{1}_{\bar{E}_k})\big|, \quad \epsilon \sim \mathcal{N}(0, \sigma^2 I)",
}


def _info(name: str, description: str) -> MetricInfo:
    return MetricInfo(
        name=name,
        higher_is_better=True,
        range=(-1.0, 1.0) if name == "rank_correlation" else (0.0, 1.0),
        modalities=frozenset({Modality.TABULAR}),
        description=description,
        reference=REFERENCE,
        family="ground_truth",
        formula=_FORMULAS[name],
    )


class _TopK(BaseMetric):
    param_specs: ClassVar[dict[str, Spec]] = _K

    def __init__(self, k: int = 5) -> None:
        self.k = k


class _AllFeatures(BaseMetric):
    param_specs: ClassVar[dict[str, Spec]] = _K_ALL

    def __init__(self, k: int | None = None) -> None:
        self.k = k


class FeatureAgreement(_TopK):
    info: ClassVar[MetricInfo] = _info(
        "feature_agreement", "Share of the true top-k features in the explanation's top-k (FA)"
    )
    _fn = staticmethod(feature_agreement)


class SignAgreement(_TopK):
    info: ClassVar[MetricInfo] = _info(
        "sign_agreement", "FA counting a feature only when its sign agrees too (SA)"
    )
    _fn = staticmethod(sign_agreement)


class RankAgreement(_TopK):
    info: ClassVar[MetricInfo] = _info(
        "rank_agreement", "Share of top-k positions holding the true feature (RA)"
    )
    _fn = staticmethod(rank_agreement)


class SignedRankAgreement(_TopK):
    info: ClassVar[MetricInfo] = _info(
        "signed_rank_agreement", "RA requiring the same sign too (SRA)"
    )
    _fn = staticmethod(signed_rank_agreement)


class RankCorrelation(_AllFeatures):
    info: ClassVar[MetricInfo] = _info(
        "rank_correlation", "Spearman correlation of |attribution| with |coefficient| (RC)"
    )
    _fn = staticmethod(rank_correlation)


class PairwiseRankAgreement(_AllFeatures):
    info: ClassVar[MetricInfo] = _info(
        "pairwise_rank_agreement", "Share of feature pairs ordered as the coefficients (PRA)"
    )
    _fn = staticmethod(pairwise_rank_agreement)


# --- prediction gaps (PGI, PGU) -------------------------------------------------------


def prediction_gap(
    task: Task,
    X: Any,
    explanation: Explanation,
    *,
    k: int = 5,
    unimportant: bool = False,
    sigma: float = 0.1,
    n_samples: int = 100,
    seed: int = 0,
) -> MetricResult:
    """Mean |f_t(x') - f_t(x)| over ``n_samples`` copies x' of x with N(0, sigma^2) noise
    added to the top-k features by |phi| (PGI), or to every other valid feature (PGU,
    ``unimportant=True``). Noise is drawn per sample (seeded by ``seed`` and the sample's
    content), so a sample's score does not depend on its batch.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    k : int
        Number of top features (by |phi|).
    unimportant : bool
        Perturb the other valid features instead (PGU).
    sigma, n_samples, seed
        Noise scale, perturbed copies per sample, seed of the per-sample generators.

    Returns
    -------
    MetricResult
        Per-sample ``scores``; ``params`` records the conventions used.
    """
    Xa, explanation = prepare(task, X, explanation)
    positions, n_valid = rank_positions(explanation, order="abs", seed=seed, X=Xa)
    k_used = np.minimum(k, n_valid)
    top = positions < k_used[:, None]
    where = (explanation.flat_mask() & ~top) if unimportant else top
    n, F = where.shape
    noise = np.concatenate(
        [rng.standard_normal((n_samples, F)) * sigma for rng in sample_rngs(Xa, seed)]
    )  # (n * n_samples, F), sample-major
    delta = noise * np.repeat(where, n_samples, axis=0)
    rows = np.repeat(np.arange(n), n_samples)
    targets = np.asarray(explanation.targets, dtype=np.int64)
    perturbed = score_rows(task, Xa, targets, rows, lambda sl: delta[sl], _add)
    f_x = task.predict(Xa)[np.arange(n), targets]
    gap = np.abs(perturbed.reshape(n, n_samples) - f_x[:, None]).mean(axis=1)
    name = "pgu" if unimportant else "pgi"
    return MetricResult(
        metric=name,
        scores=gap,
        flags={"degenerate": explanation.degenerate()},
        extra={"f_x": f_x},
        params={
            "k": k,
            "perturbed": "valid features outside the top-k" if unimportant else "top-k",
            "order": "abs (ties by a seeded per-sample key)",
            "noise": f"gaussian, sigma={sigma}, added to the input",
            "n_samples": n_samples,
            "seed": seed,
            "seeding": "per sample (seed, the sample's content)",
            "output": "target probability (a regressor: its prediction)",
            "target": TARGET,
        },
    )


def _add(x: np.ndarray, delta: np.ndarray, _: np.ndarray) -> np.ndarray:
    return x + delta.astype(x.dtype, copy=False)


def pgi(task: Task, X: Any, explanation: Explanation, **kw: Any) -> MetricResult:
    """Prediction gap on important features (higher is better); see ``prediction_gap``.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    **kw
        As ``prediction_gap``.

    Returns
    -------
    MetricResult
        Per-sample ``scores``; ``params`` records the conventions used.
    """
    return prediction_gap(task, X, explanation, unimportant=False, **kw)


def pgu(task: Task, X: Any, explanation: Explanation, **kw: Any) -> MetricResult:
    """Prediction gap on unimportant features (lower is better); see ``prediction_gap``.

    Parameters
    ----------
    task, X, explanation
        The task, the explained inputs and their attributions.
    **kw
        As ``prediction_gap``.

    Returns
    -------
    MetricResult
        Per-sample ``scores``; ``params`` records the conventions used.
    """
    return prediction_gap(task, X, explanation, unimportant=True, **kw)


class _Gap(BaseMetric):
    param_specs: ClassVar[dict[str, Spec]] = {
        "k": Spec("int", low=1),
        "sigma": Spec("float", low=0.0, low_open=True),
        "n_samples": Spec("int", low=1),
    }

    def __init__(self, k: int = 5, sigma: float = 0.1, n_samples: int = 100, seed: int = 0):
        self.k = k
        self.sigma = sigma
        self.n_samples = n_samples
        self.seed = seed


def _gap_info(name: str, higher: bool, description: str) -> MetricInfo:
    return MetricInfo(
        name=name,
        higher_is_better=higher,
        range=(0.0, 1.0),
        modalities=frozenset({Modality.TABULAR, Modality.IMAGE}),
        description=description,
        reference=REFERENCE,
        family="faithfulness",
        formula=_FORMULAS[name],
    )


class PGI(_Gap):
    info: ClassVar[MetricInfo] = _gap_info(
        "pgi", True, "Mean |change| of the target probability when the top-k get Gaussian noise"
    )
    _fn = staticmethod(pgi)


class PGU(_Gap):
    info: ClassVar[MetricInfo] = _gap_info(
        "pgu", False, "Mean |change| of the target probability when the others get Gaussian noise"
    )
    _fn = staticmethod(pgu)
