"""Statistics over per-sample scores: are the differences between explainers real?

Per (task, explainer, metric). The statistical unit is the *sample*: scores of one sample
under several seeds are averaged first, so that repeating a deterministic explainer over
seeds cannot inflate ``n`` or the significance of a test (pseudo-replication).

- ``mean``, ``median`` and a percentile-bootstrap CI of the mean (descriptive: the CIs
  never decide a verdict);
- a paired two-sided Wilcoxon signed-rank test against the best *method* (controls and
  references are never "best") and against the ``random`` control (pairs are the same
  sample), Holm-corrected within each (task, metric); ``significant_vs_best`` means
  significantly worse than the best, ``significant_vs_random`` means significantly
  *better* than random. Differences within ``RESOLUTION`` of the metric's range count
  as zero, and pairs where either score carries a flag in ``FLAGS`` are left out;
- ``p_floor_vs_best`` / ``p_floor_vs_random``: the smallest adjusted p the test can
  reach with its pairs (``m * 2 / 2**n`` for m comparisons and n pairs), and
  ``n_needed``: the fewest pairs for which it falls below alpha;
- the verdict of :func:`decide` (``verdict``, ``vs_random``, ``outcome``,
  ``recommended``), and the sanity checks an explainer fails on the task
  (``sanity``, ``sanity_failed``): the one source of every badge, card and marker;
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
    from .load import RunTables

KEYS = ["task", "explainer", "metric"]
CONTROL = "random"
CONTROLS = (CONTROL, "components.random")  # the input-level and the component-level control
REFERENCES = ("oracle",)  # know the ground truth: a yardstick, never recommended
ALPHA = 0.05
#: differences below this fraction of the metric's range (its declared ``range``, else
#: the observed span) are float noise: zeros in the paired tests, ties in the ranks
RESOLUTION = 1e-6
#: scores carrying one of these flags are left out of the paired tests
FLAGS = ("flat_baseline", "degenerate", "undefined")
# sanity metrics (not faithfulness) and their pass threshold on the mean
SANITY_THRESHOLDS = {"model_randomisation": 0.5, "model_randomization": 0.5}
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
    "n_tested",
    "p_floor_vs_best",
    "p_floor_vs_random",
    "n_needed",
    "verdict",
    "vs_random",
    "outcome",
    "recommended",
    "sanity",
    "sanity_failed",
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


def paired_wilcoxon(a: np.ndarray, b: np.ndarray, resolution: float = 0.0) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired samples; 1.0 when all equal.

    Differences of at most ``resolution`` (absolute) count as zero.
    """
    from scipy.stats import wilcoxon

    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    d = d[np.isfinite(d)]
    if len(d) == 0:
        return np.nan
    d[np.abs(d) <= resolution] = 0.0
    if np.all(d == 0):
        return 1.0
    # zeros carry no sign: dropped, as zero_method="wilcox" does, before choosing the method
    nz = d[d != 0]
    # exact null distribution when it is valid and cheap; with ties scipy would fall back
    # to a slow permutation test, the tie-corrected normal approximation is used instead
    exact = len(nz) <= 50 and len(np.unique(np.abs(nz))) == len(nz)
    method = "exact" if exact else "approx"
    return float(wilcoxon(nz, zero_method="wilcox", method=method).pvalue)


def p_floor(n_pairs: int, m: int) -> float:
    """Smallest Holm-adjusted p of a two-sided exact Wilcoxon test with ``n_pairs`` pairs
    among ``m`` comparisons: ``m * 2 / 2**n`` (all pairs on one side), capped at 1."""
    return 1.0 if n_pairs <= 0 or m <= 0 else min(1.0, m * 2.0 ** (1 - n_pairs))


def n_needed(m: int, alpha: float = ALPHA) -> int:
    """The fewest pairs with which ``m`` Holm-corrected comparisons can reach ``alpha``."""
    n = 1
    while p_floor(n, max(m, 1)) >= alpha:
        n += 1
    return n


def decision_rule(alpha: float = ALPHA, resolution: float = RESOLUTION) -> str:
    """The rule :func:`decide` applies, in words (the report prints it)."""
    return (
        "Per task and metric, the best method is the one with the best mean (the random "
        "control and the oracle reference are never candidates). Each other explainer is "
        "compared with it by a paired two-sided Wilcoxon signed-rank test over samples, "
        f"Holm-corrected over the comparisons of that task and metric, at α = {alpha:g}: "
        "p < α means worse, otherwise tied. When even the smallest p the test can reach "
        "with n samples and m comparisons (m · 2 / 2ⁿ) is not below α, the comparison is "
        "inconclusive (n too small), never a tie or a failure. The best method is "
        "recommended only when it is better than every other method. Differences below "
        f"{resolution:g} of the metric's range count as zero (float noise), and samples "
        f"flagged {', '.join(FLAGS)} are left out of the tests. Confidence intervals "
        "describe the means; they do not decide, so two CIs may be apart while the test "
        "is inconclusive."
    )


def best_method(means: pd.Series, higher_is_better: bool) -> str | None:
    """The explainer with the best finite mean among the methods (not controls, not
    references); ties go to the first name. ``None`` when no method has a mean."""
    m = means[[e not in CONTROLS + REFERENCES for e in means.index]].dropna()
    if not len(m):
        return None
    m = m.sort_index(kind="stable")
    return str((m if higher_is_better else -m).idxmax())


def decide(sub: pd.DataFrame, higher_is_better: bool, alpha: float = ALPHA) -> pd.DataFrame:
    """The verdict of one (task, metric): the only decision function of the package.

    ``sub`` holds one row per explainer with ``explainer`` and ``mean``, and either the
    tests (``p_vs_best``, ``p_vs_random``, and optionally ``p_floor_vs_best``,
    ``p_floor_vs_random``) or, without them, ``ci_low``/``ci_high`` (then two methods
    differ only when their 95% CIs do not overlap, and nothing is inconclusive).

    Returns
    -------
    DataFrame
        Indexed like ``sub``: ``verdict`` (best, worse, tied, inconclusive, control,
        reference), ``vs_random`` (better, worse, n.s., inconclusive, or "" for the
        control), ``outcome`` of the whole (task, metric) (win, tie, inconclusive, only,
        none) and ``recommended`` (the best method of a win).
    """
    means = pd.Series(sub["mean"].to_numpy(float), index=sub["explainer"].to_numpy())
    best = best_method(means, higher_is_better)
    sign = 1.0 if higher_is_better else -1.0
    tests = "p_vs_best" in sub.columns
    rand = sub[sub["explainer"].isin(CONTROLS)]
    rand_row = rand.iloc[0] if len(rand) else None
    best_row = sub[sub["explainer"] == best].iloc[0] if best is not None else None

    def compare(r: pd.Series, other: pd.Series | None, col: str) -> str:
        """significant / n.s. / inconclusive, for row ``r`` against ``other``."""
        if other is None:
            return "n.s."
        if tests:
            p, floor = r.get(f"p_{col}", np.nan), r.get(f"p_floor_{col}", 0.0)
            if not _finite(p) or (_finite(floor) and floor >= alpha):
                return "inconclusive"
            return "significant" if p < alpha else "n.s."
        ends = (r["ci_low"], r["ci_high"], other["ci_low"], other["ci_high"])
        if not all(_finite(v) for v in ends):
            return "n.s."
        apart = r["ci_high"] < other["ci_low"] or r["ci_low"] > other["ci_high"]
        return "significant" if apart else "n.s."

    rows = []
    for _, r in sub.iterrows():
        e = r["explainer"]
        if e in CONTROLS:
            verdict = "control"
        elif e in REFERENCES:
            verdict = "reference"
        elif e == best:
            verdict = "best"
        elif not _finite(r["mean"]):
            verdict = "inconclusive"
        else:
            c = compare(r, best_row, "vs_best")
            verdict = {"significant": "worse", "n.s.": "tied"}.get(c, c)
        vs_random = ""
        if rand_row is not None and e not in CONTROLS:
            c = compare(r, rand_row, "vs_random")
            better = (r["mean"] - rand_row["mean"]) * sign > 0
            vs_random = {"significant": "better" if better else "worse"}.get(c, c)
        rows.append({"verdict": verdict, "vs_random": vs_random})
    out = pd.DataFrame(rows, index=sub.index, columns=["verdict", "vs_random"])
    others = out.loc[~out["verdict"].isin(["best", "control", "reference"]), "verdict"]
    if best is None:
        outcome = "none"
    elif not len(others):
        outcome = "only"
    elif (others == "inconclusive").any():
        outcome = "inconclusive"
    elif (others == "tied").any():
        outcome = "tie"
    else:
        outcome = "win"
    out["outcome"] = outcome
    out["recommended"] = (out["verdict"] == "best") & (outcome == "win")
    return out


def _finite(v: object) -> bool:
    try:
        return bool(np.isfinite(float(v)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def is_sanity(metric: str, info: dict) -> bool:
    """A sanity check (reported apart, with a pass threshold), not a faithfulness metric."""
    return (
        info.get("kind") == "sanity" or metric.startswith("sanity") or metric in SANITY_THRESHOLDS
    )


def sanity_passes(metric: str, info: dict, mean: float) -> bool | None:
    """Whether a mean passes the sanity metric's threshold; ``None`` without one."""
    thr = info.get("threshold", SANITY_THRESHOLDS.get(metric))
    if thr is None or not _finite(mean):
        return None
    return bool(mean >= thr) if info.get("higher_is_better", True) else bool(mean <= thr)


def _directions(results: RunTables) -> dict[str, bool]:
    return {
        m: bool(info.get("higher_is_better", True))
        if info.get("higher_is_better") is not None
        else True
        for m, info in results.metric_info.items()
    }


def _wide(grp: pd.DataFrame) -> pd.DataFrame:
    """Scores as a sample x explainer table, averaged over seeds."""
    return grp.pivot_table(index="sample", columns="explainer", values="score", aggfunc="mean")


def _flagged(grp: pd.DataFrame, wide: pd.DataFrame) -> pd.DataFrame:
    """Sample x explainer: True where a score of any seed carries one of ``FLAGS``."""
    cols = [c for c in FLAGS if c in grp.columns]
    if not cols:
        return pd.DataFrame(False, index=wide.index, columns=wide.columns)
    f = grp[cols].fillna(False).astype(bool).any(axis=1)
    if not f.any():  # the usual case: no pivot needed
        return pd.DataFrame(False, index=wide.index, columns=wide.columns)
    hit = grp.assign(_f=f)
    table = hit.pivot_table(index="sample", columns="explainer", values="_f", aggfunc="max")
    return table.reindex_like(wide).fillna(False).astype(bool)


def _resolution(info: dict, wide: pd.DataFrame, resolution: float) -> float:
    """``resolution`` times the metric's declared range, else its observed span."""
    rng = info.get("range")
    if rng is not None and len(rng) == 2 and all(_finite(v) for v in rng) and rng[1] > rng[0]:
        return resolution * float(rng[1] - rng[0])
    vals = wide.to_numpy(dtype=np.float64)
    vals = vals[np.isfinite(vals)]
    return resolution * float(np.ptp(vals)) if len(vals) else 0.0


def _tests(
    wide: pd.DataFrame, flagged: pd.DataFrame, ref: str | None, tol: float
) -> tuple[dict[str, float], dict[str, float], dict[str, int]]:
    """Holm-adjusted p, p floor and n pairs of every explainer against ``ref``."""
    if ref is None or ref not in wide.columns:
        return {}, {}, {}
    raw, pairs = {}, {}
    # plain arrays: pandas indexing per explainer dominated the summary's time
    vals = wide.to_numpy(dtype=np.float64)
    usable = ~np.isnan(vals) & ~flagged.to_numpy(dtype=bool)
    r = wide.columns.get_loc(ref)
    for i, e in enumerate(wide.columns):
        if e == ref:
            continue
        ok = usable[:, i] & usable[:, r]
        pairs[e] = int(ok.sum())
        raw[e] = paired_wilcoxon(vals[ok, i], vals[ok, r], tol) if pairs[e] else np.nan
    names = list(raw)
    adj = dict(zip(names, holm(np.array([raw[e] for e in names])), strict=True))
    m = int(np.isfinite([raw[e] for e in names]).sum()) or len(names)
    return adj, {e: p_floor(pairs[e], m) for e in names}, pairs


def summarize(
    results: RunTables, level: float = 0.95, alpha: float = ALPHA, resolution: float = RESOLUTION
) -> pd.DataFrame:
    """One row per (task, explainer, metric) with the columns listed in the module docs."""
    scores = results.scores
    if scores.empty:
        return pd.DataFrame(columns=COLUMNS)
    scores = scores.assign(score=scores["score"].astype(np.float64))
    higher = _directions(results)
    cost = _cost(results)
    rows: list[dict] = []
    for (task, metric), grp in scores.groupby(["task", "metric"], sort=True):
        hib = higher.get(metric, True)
        sign = 1.0 if hib else -1.0
        wide = _wide(grp)
        flagged = _flagged(grp, wide)
        tol = _resolution(results.metric_info.get(metric, {}), wide, resolution)
        means = wide.mean()
        best = best_method(means, hib)
        # scores within the resolution share a rank
        graded = np.round(wide / tol) if tol > 0 else wide
        ranks = (graded * -sign).rank(axis=1, method="average").mean()
        stab, rank_sd = _seed_stability(grp, sign)
        adj_best, floor_best, pairs_best = _tests(wide, flagged, best, tol)
        control = next((c for c in CONTROLS if c in wide.columns), None)
        adj_rand, floor_rand, pairs_rand = _tests(wide, flagged, control, tol)
        need = n_needed(max(len(adj_best), len(adj_rand)), alpha)
        rand_mean = means.get(control, np.nan) if control is not None else np.nan
        first = len(rows)
        # per-sample means over seeds of every explainer, from one groupby
        per_sample = grp.groupby(["explainer", "sample"], sort=True)["score"].mean()
        for explainer, sub in per_sample.groupby(level="explainer", sort=True):
            s = sub.to_numpy()
            n_finite = int(np.isfinite(s).sum())  # NaN rows (chunk-level, undefined) are no samples
            lo, hi = bootstrap_ci(s, level)
            mean = float(np.nanmean(s)) if np.isfinite(s).any() else np.nan
            better = 0.0 if explainer == control else (mean - rand_mean) * sign
            p_b, p_r = adj_best.get(explainer, np.nan), adj_rand.get(explainer, np.nan)
            tested = [pairs_best.get(explainer), pairs_rand.get(explainer)]
            rows.append(
                {
                    "task": task,
                    "explainer": explainer,
                    "metric": metric,
                    "n": n_finite,
                    "mean": mean,
                    "median": float(np.nanmedian(s)) if np.isfinite(s).any() else np.nan,
                    "ci_low": lo,
                    "ci_high": hi,
                    "higher_is_better": hib,
                    "mean_rank": float(ranks[explainer]),
                    "p_vs_best": p_b,
                    "significant_vs_best": bool(
                        p_b < alpha and floor_best.get(explainer, 0.0) < alpha
                    ),
                    "p_vs_random": p_r,
                    "significant_vs_random": False,  # set from the verdict below
                    "n_tested": min((t for t in tested if t is not None), default=np.nan),
                    "p_floor_vs_best": floor_best.get(explainer, np.nan),
                    "p_floor_vs_random": floor_rand.get(explainer, np.nan),
                    "n_needed": need,
                    "rel_random": float(better),
                    "rank_stability_seeds": stab,
                    "rank_sd_seeds": rank_sd.get(explainer, np.nan),
                    **cost.get(
                        (task, explainer),
                        {"seconds_per_explanation": np.nan, "model_calls_per_explanation": np.nan},
                    ),
                }
            )
        block = pd.DataFrame(rows[first:])
        for k, v in decide(block, hib, alpha).to_dict("index").items():
            # the booleans agree with the verdict: a floor at or above alpha decides nothing
            v["significant_vs_random"] = v["vs_random"] == "better"
            rows[first + k].update(v)
    out = pd.DataFrame(rows, columns=COLUMNS)
    return _with_sanity(out, results.metric_info)


def _with_sanity(summary: pd.DataFrame, info: dict[str, dict]) -> pd.DataFrame:
    """Fill ``sanity`` (pass, fail, unchecked; "" for controls and references) and
    ``sanity_failed`` (the failed checks, comma-separated) per (task, explainer)."""
    checks = summary[[is_sanity(m, info.get(m, {})) for m in summary["metric"]]]
    failed: dict[tuple, list[str]] = {}
    checked: set[tuple] = set()
    for _, r in checks.iterrows():
        ok = sanity_passes(r["metric"], info.get(r["metric"], {}), r["mean"])
        if ok is None:
            continue
        checked.add((r["task"], r["explainer"]))
        if not ok:
            failed.setdefault((r["task"], r["explainer"]), []).append(str(r["metric"]))
    keys = list(zip(summary["task"], summary["explainer"], strict=True))
    # the random control and the oracle ignore the model by design: nothing to fail
    ignore = CONTROLS + REFERENCES
    summary["sanity_failed"] = [
        "" if k[1] in ignore else ", ".join(sorted(failed.get(k, []))) for k in keys
    ]
    summary["sanity"] = [
        ""
        if k[1] in ignore
        else "fail"
        if k in failed
        else ("pass" if k in checked else "unchecked")
        for k in keys
    ]
    return summary


def _cost(results: RunTables) -> dict[tuple[str, str], dict[str, float]]:
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
    """Mean Kendall tau-b over every pair of leaderboards (rows), on the explainers both rank.

    Pairs sharing fewer than two ranked explainers are left out; two identical constant
    rankings count as 1. One vectorised tau-b for all pairs (scipy's formula and values).
    """
    from ..metrics.agreement import rowwise_corr

    pairs = list(combinations(range(len(ranks)), 2))
    if not pairs:
        return np.nan
    r = ranks.to_numpy(dtype=np.float64)
    i, j = np.array(pairs).T
    a, b = r[i], r[j]
    ok = np.isfinite(a) & np.isfinite(b)
    taus = rowwise_corr(a, b, "kendall", ok)
    same = np.all(np.where(ok, a == b, True), axis=1)
    taus = np.where(np.isnan(taus) & same, 1.0, taus)[ok.sum(axis=1) >= 2]
    return float(np.nanmean(taus)) if len(taus) else np.nan


def _seed_stability(grp: pd.DataFrame, sign: float) -> tuple[float, dict[str, float]]:
    if grp["seed"].nunique() < 2:
        return np.nan, {}
    ranks = _leaderboard_ranks(grp, "seed", sign)
    return _mean_tau(ranks), {e: float(ranks[e].std(ddof=0)) for e in ranks.columns}


def rank_stability(results: RunTables, across: str = "seed") -> pd.DataFrame:
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
