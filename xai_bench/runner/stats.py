"""Statistics over per-sample scores: are the differences between explainers real?

Per (task, explainer, metric). The statistical unit is the *sample*: scores of one sample
under several seeds are averaged first, so that repeating a deterministic explainer over
seeds cannot inflate ``n`` or the significance of a test (pseudo-replication).

- ``mean``, ``median`` and a percentile-bootstrap CI of the mean;
- a paired two-sided Wilcoxon signed-rank test against the best explainer and against
  the ``random`` control (pairs are the same sample), Holm-corrected within each
  (task, metric); ``significant_vs_best`` means significantly worse than the best,
  ``significant_vs_random`` means significantly *better* than random;
- ``mean_rank``: the explainer's rank among all explainers on each sample,
  1 = best, averaged;
- ``rel_random``: improvement over the random control's mean in metric units, signed so
  that positive is better (whatever the metric's direction);
- ``rank_stability_seeds``: mean Kendall tau between the leaderboards of different seeds
  (1 = the order holds), and ``rank_sd_seeds``: the spread of this explainer's rank;
- cost: ``seconds_per_explanation`` and ``model_calls_per_explanation``.

``rank_stability(results, across="metric")`` compares leaderboards across variants of
one metric (maskers, baselines) instead.
"""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .results import Results

KEYS = ["task", "explainer", "metric"]
CONTROL = "random"
COLUMNS = [
    *KEYS,
    "n",
    "mean",
    "median",
    "ci_low",
    "ci_high",
    "higher_is_better",
    "mean_rank",
    "p_vs_best",
    "significant_vs_best",
    "p_vs_random",
    "significant_vs_random",
    "rel_random",
    "rank_stability_seeds",
    "rank_sd_seeds",
    "seconds_per_explanation",
    "model_calls_per_explanation",
]


def bootstrap_ci(
    values: np.ndarray, level: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return (np.nan, np.nan)
    if len(v) == 1:
        return (float(v[0]), float(v[0]))
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (NaN entries stay NaN and are not counted)."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adjusted = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(adjusted)
    return out


def paired_wilcoxon(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired samples; 1.0 when all equal."""
    from scipy.stats import wilcoxon

    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    d = d[np.isfinite(d)]
    if len(d) == 0:
        return np.nan
    if np.all(d == 0):
        return 1.0
    nz = np.abs(d[d != 0])
    # exact null distribution when it is valid and cheap; with ties scipy would fall back
    # to a slow permutation test, the tie-corrected normal approximation is used instead
    exact = len(nz) <= 50 and len(np.unique(nz)) == len(nz) and len(nz) == len(d)
    method = "exact" if exact else "approx"
    return float(wilcoxon(d, zero_method="wilcox", method=method).pvalue)


def _directions(results: Results) -> dict[str, bool]:
    return {
        m: bool(info.get("higher_is_better", True))
        if info.get("higher_is_better") is not None
        else True
        for m, info in results.metric_info.items()
    }


def _wide(grp: pd.DataFrame) -> pd.DataFrame:
    """Scores as a sample x explainer table, averaged over seeds."""
    return grp.pivot_table(index="sample", columns="explainer", values="score", aggfunc="mean")


def summarize(results: Results, level: float = 0.95, alpha: float = 0.05) -> pd.DataFrame:
    """One row per (task, explainer, metric) with the columns listed in the module docs."""
    scores = results.scores
    if scores.empty:
        return pd.DataFrame(columns=COLUMNS)
    scores = scores.assign(score=scores["score"].astype(np.float64))
    higher = _directions(results)
    cost = _cost(results)
    rows = []
    for (task, metric), grp in scores.groupby(["task", "metric"], sort=True):
        hib = higher.get(metric, True)
        sign = 1.0 if hib else -1.0
        wide = _wide(grp)
        means = wide.mean()
        best = (means * sign).idxmax()
        ranks = (wide * -sign).rank(axis=1, method="average").mean()
        stab, rank_sd = _seed_stability(grp, sign)
        p_best = {
            e: paired_wilcoxon(wide[e], wide[best]) if e != best else np.nan for e in wide.columns
        }
        p_rand = (
            {
                e: paired_wilcoxon(wide[e], wide[CONTROL]) if e != CONTROL else np.nan
                for e in wide.columns
            }
            if CONTROL in wide.columns
            else {}
        )
        names = list(wide.columns)
        adj_best = dict(zip(names, holm(np.array([p_best[e] for e in names])), strict=True))
        adj_rand = dict(
            zip(names, holm(np.array([p_rand.get(e, np.nan) for e in names])), strict=True)
        )
        rand_mean = means.get(CONTROL, np.nan)
        for explainer, sub in grp.groupby("explainer", sort=True):
            s = sub.groupby("sample")["score"].mean().to_numpy()
            lo, hi = bootstrap_ci(s, level)
            mean = float(np.nanmean(s)) if np.isfinite(s).any() else np.nan
            better = 0.0 if explainer == CONTROL else (mean - rand_mean) * sign
            rows.append(
                {
                    "task": task,
                    "explainer": explainer,
                    "metric": metric,
                    "n": len(s),
                    "mean": mean,
                    "median": float(np.nanmedian(s)) if np.isfinite(s).any() else np.nan,
                    "ci_low": lo,
                    "ci_high": hi,
                    "higher_is_better": hib,
                    "mean_rank": float(ranks[explainer]),
                    "p_vs_best": adj_best[explainer],
                    "significant_vs_best": bool(adj_best[explainer] < alpha),
                    "p_vs_random": adj_rand[explainer],
                    "significant_vs_random": bool(adj_rand[explainer] < alpha and better > 0),
                    "rel_random": float(better),
                    "rank_stability_seeds": stab,
                    "rank_sd_seeds": rank_sd.get(explainer, np.nan),
                    **cost.get(
                        (task, explainer),
                        {"seconds_per_explanation": np.nan, "model_calls_per_explanation": np.nan},
                    ),
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def _cost(results: Results) -> dict[tuple[str, str], dict[str, float]]:
    ex = results.explanations
    if ex.empty:
        return {}
    agg = ex.groupby(["task", "explainer"]).agg(
        seconds_per_explanation=("seconds", "mean"),
        model_calls_per_explanation=("model_calls", "mean"),
    )
    return {k: {c: float(v) for c, v in row.items()} for k, row in agg.iterrows()}


def _leaderboard_ranks(grp: pd.DataFrame, by: str, sign: float) -> pd.DataFrame:
    """Explainer ranks (1 = best mean) per value of ``by``: rows ``by``, columns explainers."""
    means = grp.groupby([by, "explainer"])["score"].mean().unstack("explainer")
    return (means * -sign).rank(axis=1, method="average")


def _mean_tau(ranks: pd.DataFrame) -> float:
    from scipy.stats import kendalltau

    taus = []
    for a, b in combinations(ranks.index, 2):
        ra, rb = ranks.loc[a], ranks.loc[b]
        ok = ra.notna() & rb.notna()
        if ok.sum() >= 2:
            tau = kendalltau(ra[ok], rb[ok]).statistic
            taus.append(1.0 if np.isnan(tau) and (ra[ok] == rb[ok]).all() else tau)
    return float(np.nanmean(taus)) if taus else np.nan


def _seed_stability(grp: pd.DataFrame, sign: float) -> tuple[float, dict[str, float]]:
    if grp["seed"].nunique() < 2:
        return np.nan, {}
    ranks = _leaderboard_ranks(grp, "seed", sign)
    return _mean_tau(ranks), {e: float(ranks[e].std(ddof=0)) for e in ranks.columns}


def rank_stability(results: Results, across: str = "seed") -> pd.DataFrame:
    """Does the leaderboard order hold? Mean pairwise Kendall tau per (task, group).

    ``across="seed"``: leaderboards of each seed, per (task, metric).
    ``across="metric"``: leaderboards of each variant (masker, baseline...) of the same
    metric id, per (task, metric id).
    """
    scores = results.scores
    higher = _directions(results)
    rows = []
    if across == "seed":
        for (task, metric), grp in scores.groupby(["task", "metric"], sort=True):
            sign = 1.0 if higher.get(metric, True) else -1.0
            ranks = _leaderboard_ranks(grp, "seed", sign)
            rows.append(
                {
                    "task": task,
                    "group": metric,
                    "n_variants": len(ranks),
                    "kendall_tau": _mean_tau(ranks),
                }
            )
    elif across == "metric":
        ids = {m: info.get("id", m) for m, info in results.metric_info.items()}
        frame = scores.assign(metric_id=scores["metric"].map(lambda m: ids.get(m, m)))
        for (task, mid), grp in frame.groupby(["task", "metric_id"], sort=True):
            sign = 1.0 if higher.get(grp["metric"].iloc[0], True) else -1.0
            ranks = _leaderboard_ranks(grp, "metric", sign)
            rows.append(
                {
                    "task": task,
                    "group": mid,
                    "n_variants": len(ranks),
                    "kendall_tau": _mean_tau(ranks) if len(ranks) > 1 else np.nan,
                }
            )
    else:
        from ..errors import InvalidInputError

        raise InvalidInputError(
            f"across={across!r}", "'seed' or 'metric'", "Pass across='seed' or across='metric'."
        )
    return pd.DataFrame(rows, columns=["task", "group", "n_variants", "kendall_tau"])
