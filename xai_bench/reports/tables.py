"""Report sections built from tables: summary verdicts, leaderboard, curves, cost, failures.

Everything here turns :class:`~xai_bench.runner.results.Results` into plain dicts and
lists for the templates. Every verdict (badge, card, marker) is read from the summary's
columns of :func:`xai_bench.runner.stats.decide`; a summary without them (no paired
tests) is passed through the same function, which then falls back to CI overlap.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..runner import stats
from ..runner.stats import CONTROLS as CONTROLS
from ..runner.stats import REFERENCES as REFERENCES
from ..runner.stats import SANITY_THRESHOLDS as SANITY_THRESHOLDS
from ..runner.stats import is_sanity as is_sanity
from . import svg

CURVE_PREFERENCE = ("deletion_auc", "insertion_auc")
FLAG_TEXT = {
    "flat_baseline": "The baseline scores almost like the input, so these curves carry "
    "little signal",
    "degenerate": "All-equal attributions, ranked by the seeded tie-break",
}


def finite(v: Any) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


#: the metric whose verdict is a family's one recommendation per task, in order of
#: preference (else the family's first metric by name); faithfulness is the primary family
HEADLINE = {
    "faithfulness": CURVE_PREFERENCE,
    "localisation": ("relevance_rank_accuracy", "pointing_game", "relevance_mass_accuracy"),
    "robustness": ("sensitivity_max", "local_lipschitz_estimate", "avg_sensitivity"),
    "complexity": ("sparseness", "complexity", "effective_complexity"),
    "randomisation": ("model_randomisation", "smooth_mprt", "efficient_mprt"),
    "axiomatic": ("completeness",),
    "ground_truth": ("feature_agreement", "rank_agreement"),
    "components": ("cpr", "cmd"),
}
PRIMARY_FAMILY = "faithfulness"


def family_order() -> tuple[str, ...]:
    """The families in report order: faithfulness first, then ``metrics.base.FAMILIES``."""
    from ..metrics.base import FAMILIES

    return (PRIMARY_FAMILY, *(f for f in FAMILIES if f != PRIMARY_FAMILY))


def metric_family(metric: str, info: dict) -> str:
    """The metric's ``MetricInfo.family``: as stored with the run, else the registered
    class's (by the metric's id), else faithfulness (a plugin missing here)."""
    if info.get("family"):
        return str(info["family"])
    from ..registry import metric_class

    try:
        cls = metric_class(str(info.get("id") or metric))
    except Exception:  # unknown or unloadable here: the report still renders
        return PRIMARY_FAMILY
    return str(getattr(getattr(cls, "info", None), "family", PRIMARY_FAMILY))


def family_groups(metrics: list[str], families: dict[str, str]) -> list[dict[str, Any]]:
    """``metrics`` grouped by family, faithfulness first: ``{id, name, metrics, headline,
    primary}`` per family, where ``headline`` is the metric whose verdict is the family's
    recommendation and ``primary`` marks the report's primary family (the first one)."""
    order = {f: k for k, f in enumerate(family_order())}
    groups: dict[str, list[str]] = {}
    for m in metrics:
        groups.setdefault(families.get(m, PRIMARY_FAMILY), []).append(m)
    out = []
    for k, fam in enumerate(sorted(groups, key=lambda f: (order.get(f, len(order)), f))):
        pref_order = {m: k for k, m in enumerate(HEADLINE.get(fam, ()))}
        ms = sorted(groups[fam], key=lambda m: (pref_order.get(m, len(pref_order)), m))
        pref = [m for m in ms if m in pref_order]
        out.append(
            {
                "id": fam,
                "name": fam.replace("_", " ").capitalize(),
                "metrics": ms,
                "headline": pref[0] if pref else sorted(ms)[0],
                "primary": k == 0,
            }
        )
    return out


CURVE_KINDS = ("deletion", "insertion", "lerf")


def is_curve_metric(metric: str, info: dict) -> bool:
    """Deletion-style curves (x = fraction of features in [0, 1], y = p(target)); other
    metrics' curves (e.g. ERASER's top-k drops) are summarised by their score only."""
    kind = (info.get("params") or {}).get("kind")
    return kind in CURVE_KINDS if kind else metric.split("_")[0] in CURVE_KINDS


def higher_is_better(metric: str, info: dict, summary: pd.DataFrame) -> bool:
    if info.get("higher_is_better") is not None:
        return bool(info["higher_is_better"])
    if "higher_is_better" in summary.columns:
        col = summary.loc[summary["metric"] == metric, "higher_is_better"].dropna()
        if len(col):
            return bool(col.iloc[0])
    return not any(w in metric for w in ("deletion", "sufficiency", "error", "loss"))


def metric_block(sub: pd.DataFrame, hib: bool) -> dict[str, Any]:
    """The card of one (task, metric), read from the decision columns of the summary
    (:func:`~xai_bench.runner.stats.decide`): best, tied group, markers per explainer."""
    sub = sub.sort_values(["mean", "explainer"], ascending=[not hib, True], na_position="last")
    if "verdict" in sub.columns:
        dec = sub[["verdict", "vs_random", "outcome", "recommended"]]
    else:
        dec = stats.decide(sub, hib)
    marks: dict[str, dict[str, Any]] = {}
    # plain lists, not iterrows: this card is built for every (task, metric)
    p_best = sub["p_vs_best"].tolist() if "p_vs_best" in sub else [None] * len(sub)
    cols = [dec[c].tolist() for c in ("verdict", "recommended", "vs_random")]
    for e, p, verdict, rec, vs_random in zip(sub["explainer"].tolist(), p_best, *cols, strict=True):
        marks[e] = {
            "best": verdict == "best",
            "tied": verdict == "tied",
            "inconclusive": verdict == "inconclusive",
            "recommended": bool(rec),
            "vs_random": vs_random or None,
            "p_vs_best": p,
        }
    outcome = str(dec["outcome"].iloc[0]) if len(dec) else "none"
    out: dict[str, Any] = {"marks": marks, "best": None, "ties": [], "verdict": outcome}
    out["n_needed"] = _int(sub["n_needed"].max()) if "n_needed" in sub else None
    picked = sub[(dec["verdict"] == "best").to_numpy()]
    if not len(picked):
        out["verdict"] = "none"
        return out
    best = picked.iloc[0]
    cands = sub[(dec["verdict"].isin(["best", "tied", "worse", "inconclusive"])).to_numpy()]
    ties = [r for _, r in cands.iterrows() if marks[r["explainer"]]["tied"]]
    controls = sub[sub["explainer"].isin(CONTROLS)]
    rand = controls.iloc[0] if len(controls) else None
    out.update(
        best=best,
        ties=ties,
        beaten=sum(1 for v in dec["verdict"].tolist() if v == "worse"),
        n_others=len(cands) - 1,
        rand=rand,
        runner_up=cands.iloc[1] if len(cands) > 1 else None,
        n_tested=_int(cands["n_tested"].min()) if "n_tested" in cands else None,
        p_floor=min(
            (
                float(r["p_floor_vs_best"])
                for _, r in cands.iterrows()
                if finite(r.get("p_floor_vs_best"))
            ),
            default=None,
        ),
        sanity=str(best.get("sanity", "") or ""),
        sanity_failed=[x for x in str(best.get("sanity_failed", "") or "").split(", ") if x],
    )
    if rand is not None and finite(rand["mean"]) and rand["mean"]:
        out["rel_random"] = (best["mean"] - rand["mean"]) / abs(rand["mean"])
    if rand is not None and finite(rand["mean"]):
        # in metric units, positive = better than random whatever the direction
        out["gain_random"] = (best["mean"] - rand["mean"]) * (1 if hib else -1)
    return out


def _int(v: Any) -> int | None:
    return int(v) if finite(v) else None


def mean_ranks(summary: pd.DataFrame, directions: dict[str, bool]) -> dict[tuple, float]:
    """(task, explainer) -> mean rank over metrics (1 = best)."""
    out: dict[tuple, list[float]] = {}
    for (task, metric), sub in summary.groupby(["task", "metric"], sort=False):
        if metric not in directions:
            continue
        if "mean_rank" in sub.columns and sub["mean_rank"].map(finite).all():
            ranks = sub["mean_rank"].astype(float)
        else:
            ranks = sub["mean"].rank(ascending=not directions[metric], method="average")
        for e, r in zip(sub["explainer"], ranks, strict=True):
            out.setdefault((task, e), []).append(float(r))
    return {k: float(np.mean(v)) for k, v in out.items()}


def seconds_per_explanation(results: Any) -> dict[tuple, tuple[float, float]]:
    """(task, explainer) -> (seconds, black-box model calls) per explained sample; the
    calls are 0 for white-box explainers (whose own count is of forward passes)."""
    out = _cost(results)
    inside = white_box(results)
    return {k: (secs, 0.0 if k[1] in inside else calls) for k, (secs, calls) in out.items()}


WHITE_BOX = ("torch_model", "sklearn_model")  # Requirement values: reads the model itself


def white_box(results: Any) -> set[str]:
    """Explainer labels of the run whose method reads the model's internals (gradients,
    weights, trees) instead of calling it as a black box."""
    from ..registry import explainer_class

    out = set()
    for spec in ((results.provenance or {}).get("config") or {}).get("explainers", []):
        try:
            caps = getattr(explainer_class(spec["id"]), "capabilities")  # noqa: B009
        except Exception:  # a plugin missing here: its calls are shown as counted
            continue
        if {str(r) for r in caps.requires} & set(WHITE_BOX):
            out.add(spec["label"])
    return out


def _cost(results: Any) -> dict[tuple, tuple[float, float]]:
    ex = results.explanations
    out: dict[tuple, tuple[float, float]] = {}
    if len(ex):
        calls = ex["model_calls"] if "model_calls" in ex else pd.Series(np.nan, index=ex.index)
        g = ex.assign(model_calls=pd.to_numeric(calls, errors="coerce")).groupby(
            ["task", "explainer"]
        )
        for (t, e), sub in g:
            out[(t, e)] = (
                float(pd.to_numeric(sub["seconds"]).mean()),
                float(sub["model_calls"].mean()),
            )
    for (t, e, _seed), expl in results.attributions.items():
        if (t, e) not in out and expl.n_samples:
            calls = expl.meta.get("model_calls", np.nan)
            out[(t, e)] = (
                expl.seconds / expl.n_samples,
                float(calls) / expl.n_samples if finite(calls) else np.nan,
            )
    return out


def startup_seconds(results: Any) -> dict[tuple, float]:
    """(task, explainer) -> mean one-time start-up seconds of a worker process: importing
    the explainer's library and its first call (numba/JIT compilation), which the runner
    pays before a worker's first job of the pair and keeps out of the per-explanation cost."""
    jobs = results.jobs
    if not len(jobs) or "startup" not in jobs:
        return {}
    warm = jobs[(jobs["kind"] == "explain") & pd.to_numeric(jobs["startup"]).notna()]
    means = warm.groupby(["task", "explainer"])["startup"].mean()
    return {k: float(v) for k, v in means.items()}


def pareto_front(points: list[dict], hib: bool) -> list[dict]:
    """The points ``{x: cost, y: score}`` no other point beats: none is at most as costly
    and at least as good with one of the two strictly. Controls and references (points
    with ``control`` or ``reference`` set) and non-finite points take no part. Returned
    cheapest first; equal points are all on the front."""
    pts = [
        p
        for p in points
        if not p.get("control") and not p.get("reference") and finite(p["x"]) and finite(p["y"])
    ]
    sign = 1.0 if hib else -1.0

    def beats(q: dict, p: dict) -> bool:
        good, cheap = sign * q["y"] >= sign * p["y"], q["x"] <= p["x"]
        return good and cheap and (q["x"] < p["x"] or sign * q["y"] > sign * p["y"])

    front = [p for p in pts if not any(beats(q, p) for q in pts)]
    return sorted(front, key=lambda p: (p["x"], -sign * p["y"]))


def curve_means(curves: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd and count of every curve point, indexed by (task, metric, explainer, step).

    One groupby for the whole report, sliced by ``curve_series`` (a groupby per chart
    cost a quarter of the report's time).
    """
    cols = ["task", "metric", "explainer", "step"]
    if not len(curves):
        empty = pd.DataFrame(columns=[*cols, "x", "y", "sd", "n"])
        return empty.set_index(cols)
    return curves.groupby(cols, sort=True).agg(
        x=("x", "mean"), y=("y", "mean"), sd=("y", "std"), n=("y", "size")
    )


def curve_series(means: pd.DataFrame, task: str, metric: str, palette: dict) -> list:
    """Mean curve per explainer with a 95% normal-approximation band over samples × seeds.

    ``means`` is ``curve_means(results.curves)``.
    """
    try:
        sub = means.loc[(task, metric)]
    except KeyError:
        return []
    # plain arrays sliced per explainer: a pandas groupby here cost ~0.1 s per chart
    names = sub.index.get_level_values("explainer").to_numpy(dtype=object)
    x, y, sd, n = (sub[c].to_numpy() for c in ("x", "y", "sd", "n"))
    series = []
    for e in sorted(set(names)):
        at = names == e
        ye = y[at]
        sde = sd[at]
        half = 1.96 * np.where(np.isnan(sde), 0.0, sde) / np.sqrt(n[at])
        lo, hi = ye - half, ye + half
        if ((ye >= 0) & (ye <= 1)).all():  # probabilities: the band cannot leave [0, 1]
            lo, hi = np.clip(lo, 0, 1), np.clip(hi, 0, 1)
        series.append(
            svg.Series(
                label=str(e),
                x=x[at].tolist(),
                y=ye.tolist(),
                lo=lo.tolist(),
                hi=hi.tolist(),
                color=palette.get(e, svg.CONTROL),
                dashed=e in CONTROLS,
            )
        )
    series.sort(key=lambda s: not s.dashed)  # controls drawn first, under the others
    return series


def _natural(s: str) -> tuple:
    """Sort key: numbers by value (seeds 2 < 10), then text."""
    return (0, int(s), "") if s.isdigit() else (1, 0, s)


def failures(results: Any) -> list[dict[str, Any]]:
    """Failed and skipped jobs, then degenerate and flagged results, with reasons."""
    family, fail = family_skips(results)
    rows: list[dict[str, Any]] = []
    grouped: dict[tuple, dict[str, Any]] = {}  # identical skips across tasks: one row
    for _, r in fail.sort_values("status", key=lambda s: s != "failed").iterrows():
        row = {
            k: ("" if pd.isna(r.get(k)) else r.get(k))
            for k in ("status", "task", "explainer", "metric", "seed", "reason")
        }
        key = (row["status"], row["explainer"], row["metric"], row["reason"])
        if row["status"] == "skipped" and key in grouped:
            for col in ("task", "seed"):  # list every task and seed the skip covers
                seen = str(grouped[key][col]).split(", ")
                if str(row[col]) not in seen:
                    grouped[key][col] = ", ".join(sorted([*seen, str(row[col])], key=_natural))
            continue
        grouped[key] = row
        rows.append(row)
    first = sum(r["status"] == "failed" for r in rows)
    rows[first:first] = family  # after the failures, with the other skips
    rows += missing(results)
    ex = results.explanations
    if len(ex) and "degenerate" in ex:
        deg = ex.assign(d=ex["degenerate"].astype(bool)).groupby(["task", "explainer"])["d"]
        for (t, e), s in deg:
            if s.any():
                rows.append(
                    {
                        "status": "degenerate",
                        "task": t,
                        "explainer": e,
                        "metric": "",
                        "seed": "",
                        "reason": f"All-equal attributions on {int(s.sum())} "
                        f"of {len(s)} samples; ranked by the seeded tie-break.",
                    }
                )
    sc = results.scores
    flags = [
        c
        for c in sc.columns
        if c not in ("task", "explainer", "metric", "sample", "seed", "score", "degenerate")
        and sc[c].dtype == bool
    ]
    for c in flags:
        # a flag is usually a property of the sample (e.g. the baseline scores like the
        # input), so one row per (task, flag) lists every explainer and metric it hit
        hit = sc[sc[c].astype(bool)]
        for t, g in hit.groupby("task"):
            total = sc[(sc["task"] == t)].groupby(["explainer", "metric"]).size().max()
            per = g.groupby(["explainer", "metric"]).size().max()
            rows.append(
                {
                    "status": c.replace("_", " "),
                    "task": t,
                    "explainer": ", ".join(sorted(set(g["explainer"]))),
                    "metric": ", ".join(sorted(set(g["metric"]))),
                    "seed": "",
                    "reason": f"{FLAG_TEXT.get(c, 'Flag ' + c)} ({int(per)} of {int(total)} "
                    "scores per explainer and metric).",
                }
            )
    return rows


def family_skips(results: Any) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """One row per (task, family) that cannot run on the task, and the other failures.

    A family cannot run when none of its metrics scored on the task and its jobs there
    were skipped; its skip rows (one per metric, explainer and seed) become one row that
    names the metrics and gives each distinct reason once.
    """
    fail = results.failures
    if not len(fail) or not {"status", "task", "metric"} <= set(fail.columns):
        return [], fail
    info = getattr(results, "metric_info", None) or {}
    named = fail["metric"].notna() & (fail["metric"].astype(str) != "")
    skip = fail[(fail["status"] == "skipped") & named]
    if not len(skip):
        return [], fail
    fams = {m: metric_family(m, info.get(m, {})) for m in {*info, *skip["metric"]}}
    sc = results.scores
    scored = {(t, fams.get(m)) for t, m in zip(sc["task"], sc["metric"], strict=True)}
    rows: list[dict[str, Any]] = []
    dropped: list[Any] = []
    for (task, fam), g in skip.groupby([skip["task"], skip["metric"].map(fams)], sort=True):
        if (task, fam) in scored:
            continue  # some of the family ran here: its skips stay per metric
        reasons: dict[str, list[str]] = {}
        for m, why in zip(g["metric"], g["reason"].fillna(""), strict=True):
            own = reasons.setdefault(str(why), [])
            if m not in own:
                own.append(str(m))
        metrics = sorted({str(m) for m in g["metric"]})
        explainers = sorted({str(e) for e in g["explainer"].dropna()})
        text = [
            why if len(reasons) == 1 else f"{why} ({', '.join(sorted(ms))})"
            for why, ms in reasons.items()
        ]
        seeds = sorted({str(v) for v in g["seed"].dropna()}, key=_natural) if "seed" in g else []
        rows.append(
            {
                "status": "skipped",
                "task": task,
                "explainer": f"all {len(explainers)}"
                if len(explainers) > 1
                else ", ".join(explainers),
                "metric": f"{fam.replace('_', ' ')} family ({len(metrics)}): {', '.join(metrics)}",
                "seed": ", ".join(seeds),
                "reason": "; ".join(text),
                "family": fam,
            }
        )
        dropped.extend(g.index)
    return rows, fail.drop(index=dropped)


MISSING_REASON = (
    "{k} of {n} {kind} jobs never ran (the run was interrupted, stopped early or ran out"
    " of disk); rerun the same command with --resume to compute them."
)


def missing(results: Any) -> list[dict[str, Any]]:
    """Jobs the run's config asks for that have no row at all in the store: one row per
    (task, explainer, seed) for explain jobs and per (task, explainer, metric, seed) for
    score jobs. Failed and skipped jobs have rows and are listed by :func:`failures`."""
    config = (getattr(results, "provenance", None) or {}).get("config") or {}
    size, jobs = config.get("chunk_size"), getattr(results, "jobs", pd.DataFrame())
    if not size or not {"kind", "task", "explainer", "metric", "chunk", "seed"} <= set(jobs):
        return []
    done = {
        (r.kind, r.task, r.explainer, r.metric if r.kind == "score" else None, r.chunk, r.seed)
        for r in jobs.itertuples()
    }
    metrics = [m["label"] for m in config.get("metrics", [])]
    rows: list[dict[str, Any]] = []
    for task in config.get("tasks", []):
        n = int((results.tasks.get(task) or {}).get("n_samples") or 0)
        chunks = range(-(-n // int(size)))
        for e in (x["label"] for x in config.get("explainers", [])):
            for seed in config.get("seeds", []):
                if ("explain", task, e, None, -1, seed) in done:
                    continue  # skipped as a whole
                ran = [c for c in chunks if ("explain", task, e, None, c, seed) in done]
                if len(ran) < len(chunks):
                    rows.append(
                        _missing_row(
                            task, e, "", seed, len(chunks) - len(ran), len(chunks), "explain"
                        )
                    )
                ok = jobs[
                    (jobs["kind"] == "explain")
                    & (jobs["task"] == task)
                    & (jobs["explainer"] == e)
                    & (jobs["seed"] == seed)
                    & (jobs["status"] == "ok")
                ]["chunk"].tolist()
                for m in metrics:
                    if ("score", task, e, m, -1, seed) in done:
                        continue
                    k = sum(("score", task, e, m, c, seed) not in done for c in ok)
                    if k:
                        rows.append(_missing_row(task, e, m, seed, k, len(ok), "score"))
    return rows


def _missing_row(task: str, e: str, m: str, seed: Any, k: int, n: int, kind: str) -> dict:
    return {
        "status": "missing",
        "task": task,
        "explainer": e,
        "metric": m,
        "seed": seed,
        "reason": MISSING_REASON.format(k=k, n=n, kind=kind),
    }
