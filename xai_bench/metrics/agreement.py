"""Row-wise correlations (Pearson, Spearman, Kendall), top-k overlap and explainer agreement.

One implementation of "correlation per sample over its valid features" serves the
ablation and faithfulness correlations, the randomisation sanity check and the
agreement matrix. A row with fewer than two valid entries or no variance gives NaN.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError
from ..explanation import Explanation

__all__ = ["AGREEMENT_METHODS", "METHODS", "agreement_matrix", "rowwise_corr", "topk_overlap"]

METHODS = ("pearson", "spearman", "kendall")
AGREEMENT_METHODS = (*METHODS, "topk")


def _pearson(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> np.ndarray:
    cnt = mask.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        am = np.where(mask, a, 0.0).sum(axis=1) / cnt
        bm = np.where(mask, b, 0.0).sum(axis=1) / cnt
        da = np.where(mask, a - am[:, None], 0.0)
        db = np.where(mask, b - bm[:, None], 0.0)
        den = np.sqrt((da * da).sum(axis=1) * (db * db).sum(axis=1))
        r = (da * db).sum(axis=1) / den
    scale = np.maximum(np.abs(da).max(axis=1), 1e-300) * np.maximum(np.abs(db).max(axis=1), 1e-300)
    flat = (den <= 1e-12 * scale * cnt) | (cnt < 2)
    return np.where(flat, np.nan, np.clip(r, -1.0, 1.0))


def _ranks(a: np.ndarray, mask: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(np.where(mask, a, np.nan), axis=1, nan_policy="omit")


def rowwise_corr(
    a: np.ndarray, b: np.ndarray, method: str = "spearman", mask: np.ndarray | None = None
) -> np.ndarray:
    """Correlation of ``a[i]`` and ``b[i]`` over the entries where ``mask[i]`` is True.

    Parameters
    ----------
    a, b : ndarray (n, m)
    method : {"pearson", "spearman", "kendall"}
        Spearman = Pearson on average ranks; Kendall = tau-b (ties handled).
    mask : ndarray of bool (n, m), optional
    """
    if method not in METHODS:
        raise InvalidInputError(f"method={method!r}", f"one of {METHODS}", "Use 'spearman'.")
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    m = np.ones(a.shape, bool) if mask is None else np.asarray(mask, bool).reshape(a.shape)
    m = m & np.isfinite(a) & np.isfinite(b)
    if method == "pearson":
        return _pearson(a, b, m)
    if method == "spearman":
        return _pearson(_ranks(a, m), _ranks(b, m), m)
    from scipy.stats import kendalltau

    out = np.full(len(a), np.nan)
    for i in range(len(a)):
        ai, bi = a[i, m[i]], b[i, m[i]]
        if len(ai) > 1 and np.ptp(ai) > 0 and np.ptp(bi) > 0:
            out[i] = kendalltau(ai, bi).statistic
    return out


def topk_overlap(
    a: np.ndarray, b: np.ndarray, k: float = 0.2, mask: np.ndarray | None = None
) -> np.ndarray:
    """Share of the top-``k`` features by |attribution| that ``a[i]`` and ``b[i]`` have in common.

    Features tied at the k-th place share its remaining slots, so the value is the
    expected overlap when ties are broken at random (an all-equal row gives chance,
    k / m). NaN where a row has no more valid entries than ``k`` (everything shared).

    Parameters
    ----------
    a, b : ndarray (n, m)
    k : int or float
        An int >= 1 is a count; a float in (0, 1) a fraction of each row's valid
        entries, rounded, at least 1.
    mask : ndarray of bool (n, m), optional
    """
    if not (isinstance(k, int | np.integer) and k >= 1) and not (
        isinstance(k, float) and 0 < k < 1
    ):
        raise InvalidInputError(
            f"k={k!r}", "an int >= 1 or a fraction in (0, 1)", "Use e.g. k=5 or k=0.2."
        )
    a = np.abs(np.asarray(a, dtype=np.float64).reshape(len(a), -1))
    b = np.abs(np.asarray(b, dtype=np.float64).reshape(len(b), -1))
    m = np.ones(a.shape, bool) if mask is None else np.asarray(mask, bool).reshape(a.shape)
    m = m & np.isfinite(a) & np.isfinite(b)
    valid = m.sum(axis=1)
    kk = np.full(len(a), k) if isinstance(k, int | np.integer) else np.round(k * valid)
    kk = np.clip(kk, 1, None).astype(int)
    ok = kk < valid
    kk = np.where(ok, kk, 1)

    def weights(v: np.ndarray) -> np.ndarray:
        v = np.where(m, v, -np.inf)
        kth = -np.sort(-v, axis=1)[np.arange(len(v)), kk - 1][:, None]
        above = (v > kth).sum(axis=1, keepdims=True)
        tied = (v == kth).sum(axis=1, keepdims=True)
        return np.where(v > kth, 1.0, np.where(v == kth, (kk[:, None] - above) / tied, 0.0))

    with np.errstate(invalid="ignore"):
        out = (weights(a) * weights(b)).sum(axis=1) / kk
    return np.where(ok, out, np.nan)


def agreement_matrix(
    explanations: dict[str, Explanation],
    method: str = "spearman",
    order: str = "signed",
    k: float = 0.2,
):
    """Mean per-sample agreement between every pair of explanations of the same inputs.

    Parameters
    ----------
    explanations : dict
        Name -> Explanation, all of the same samples and feature shape.
    method : {"spearman", "kendall", "pearson", "topk"}
        A rank correlation, or ``topk``: the share of top-``k`` features in common
        (:func:`topk_overlap`, by magnitude whatever ``order``).
    order : {"signed", "abs"}
        Correlate the signed attributions or their magnitudes.
    k : int or float
        For ``topk``: a count, or a fraction of each sample's valid features.

    Returns
    -------
    pandas.DataFrame
        Symmetric, names on both axes, 1 on the diagonal (NaN where undefined, e.g.
        a degenerate explanation).
    """
    import pandas as pd

    if method not in AGREEMENT_METHODS:
        raise InvalidInputError(
            f"method={method!r}", f"one of {AGREEMENT_METHODS}", "Use 'spearman'."
        )
    names = list(explanations)
    if not names:
        raise InvalidInputError("no explanations", "at least one", "Pass a non-empty dict.")
    first = explanations[names[0]]
    for name in names:
        e = explanations[name]
        if e.attributions.shape != first.attributions.shape:
            raise InvalidInputError(
                f"explanation {name!r} of shape {e.attributions.shape}",
                f"the shape of {names[0]!r}, {first.attributions.shape}",
                "Compare explanations of the same inputs.",
            )
    flat = {k: (np.abs(v.flat()) if order == "abs" else v.flat()) for k, v in explanations.items()}
    out = pd.DataFrame(np.eye(len(names)), index=names, columns=names)
    for i, p in enumerate(names):
        for q in names[i + 1 :]:
            mask = explanations[p].flat_mask() & explanations[q].flat_mask()
            r = (
                topk_overlap(flat[p], flat[q], k, mask)
                if method == "topk"
                else rowwise_corr(flat[p], flat[q], method, mask)
            )
            val = float(np.nanmean(r)) if np.isfinite(r).any() else np.nan
            out.loc[p, q] = out.loc[q, p] = val
    return out
