"""Render a :class:`~xai_bench.runner.results.Results` as one self-contained HTML file.

The file needs no network: CSS, JS and charts (inline SVG) are embedded. With
``interactive=True`` Plotly's JS is embedded once and the curves become zoomable.
Every user string is escaped by Jinja2's autoescaping; data for scripts goes through
``|tojson`` into ``<script type="application/json">`` blocks.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from ..runner import stats
from . import components as C
from . import export as E
from . import samples as S
from . import svg
from . import tables as T

__all__ = ["render_report"]

ACRONYMS = {
    "auc",
    "aopc",
    "abpc",
    "lerf",
    "morf",
    "road",
    "cpr",
    "cmd",
    "auroc",
    "mprt",
    "irof",
    "pgi",
    "pgu",
}
# component curves that remove the top-ranked components instead of keeping them
REMOVING_CURVES = {"necessity"}


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("xai_bench.reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "separators": (",", ":")}
    env.filters["num"] = _num
    env.filters["secs"] = _secs
    env.filters["pct"] = lambda v: "" if not T.finite(v) else f"{v * 100:+.0f}%"
    env.filters["signed"] = _signed
    env.filters["grouped"] = lambda n: f"{int(n):,}"  # 18,680 scores, not 18680
    env.filters["split_id"] = lambda e: str(e).partition(".")[::2]
    return env


def _num(v: Any, digits: int = 3) -> str:
    if not T.finite(v):
        return "–"
    v = float(v)
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
        return f"{v:.2e}"
    return f"{v:.{digits}f}"


def _signed(v: Any) -> str:
    if not T.finite(v):
        return "–"
    v = float(v)
    if v == 0:
        return "0"
    return f"{v:+.1e}" if abs(v) < 1e-3 or abs(v) >= 1e4 else f"{v:+.3f}"


def _secs(v: Any) -> str:
    if not T.finite(v):
        return "–"
    v = float(v)
    if v >= 1:
        return f"{v:.2f} s"
    if v >= 1e-3:
        return f"{v * 1e3:.1f} ms"
    return f"{v * 1e6:.0f} µs"


def _static(name: str) -> str:
    return resources.files("xai_bench.reports").joinpath("static", name).read_text("utf-8")


def _plotly_js() -> Markup:
    from .._deps import require

    require("plotly", "interactive")
    from plotly.offline import get_plotlyjs

    # trusted vendored code; "</" is escaped so it can never close our <script> early
    return Markup(get_plotlyjs().replace("</", "<\\/"))


def render_report(
    results: Any, path: str | Path, *, interactive: bool = False, summary: Any = None
) -> Path:
    """Write the HTML comparison report of ``results`` to ``path``.

    Parameters
    ----------
    results : Results
    path : str or Path
        Output file; parent folders are created.
    interactive : bool
        Embed Plotly (needs the ``interactive`` extra) for zoomable curves.
    summary : DataFrame, optional
        ``results.summary()`` when the caller has it already (it takes ~0.5-1.7 s).

    Returns
    -------
    Path
        The written file.
    """
    from ..runner.store import check_report_path

    check_report_path(path, results.provenance.get("store"))
    ctx = build_context(results, summary)
    ctx["interactive"] = interactive
    ctx["plotly_js"] = _plotly_js() if interactive else ""
    ctx["css"] = Markup(_static("report.css"))
    ctx["js"] = Markup(_static("report.js").replace("</", "<\\/"))
    html = _env().get_template("report.html.j2").render(**ctx)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out


def build_context(results: Any, summary: Any = None) -> dict[str, Any]:
    """The template's data: one dict per section, all plain values or escaped Markup."""
    summary = results.summary() if summary is None else summary
    info = {
        m: dict(results.metric_info.get(m, {})) for m in sorted(results.scores["metric"].unique())
    }
    directions = {
        m: T.higher_is_better(m, i, summary) for m, i in info.items() if not T.is_sanity(m, i)
    }
    explainers = sorted(
        set(results.scores["explainer"])
        | {e for _, e, _ in results.attributions}
        | set(results.failures.get("explainer", pd.Series(dtype=str)).dropna())
    )
    # one style per explainer for the whole report, distinct within each task's charts
    styles = svg.assign_styles(_explainer_groups(results), controls=T.CONTROLS)
    palette = {e: st.color for e, st in styles.items()}
    ranks = T.mean_ranks(summary[summary["metric"].isin(directions)], directions)
    families = {m: T.metric_family(m, i) for m, i in info.items()}
    groups = T.family_groups(list(directions), families)
    for g in groups:  # the leaderboard ranks within each family
        g["ranks"] = T.mean_ranks(summary[summary["metric"].isin(g["metrics"])], directions)
    cost = T.seconds_per_explanation(results)
    startup = T.startup_seconds(results)
    task_names = list(dict.fromkeys([*results.tasks, *sorted(results.scores["task"].unique())]))

    means = T.curve_means(results.curves)
    tasks = [
        _task_block(results, t, summary, directions, styles, ranks, cost, info, means, groups)
        for t in task_names
    ]
    fails = T.failures(results)
    for t in tasks:  # a family absent from a task's leaderboard links to its skip row
        skipped = {f.get("family"): f["reason"] for f in fails if f["task"] == t["id"]}
        for b in t["boards"]:
            b["skipped"] = skipped.get(b["id"], "")
    for t in tasks:  # the one-time start-up cost, shown apart from the per-explanation cost
        for p in t["cost"]:
            p["startup"] = startup.get((t["id"], p["label"]), np.nan)
    for k, t in enumerate(tasks):
        t["anchor"] = f"task-{k}"
    statuses = pd.Series([f["status"] for f in fails], dtype=object)
    return {
        "title": str(results.provenance.get("name") or "xai-bench comparison report"),
        "generated": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "header": _header(results, tasks, explainers),
        "tasks": tasks,
        "measures": MEASURES,
        "palette": palette,
        "metrics": [
            {"id": m, "hib": directions.get(m), **_metric_meta(i)} for m, i in info.items()
        ],
        "directions": directions,
        "families": [{k: g[k] for k in ("id", "name", "primary")} for g in groups],
        "inside": [t for t in tasks if t["inside"]],
        "sanity": _sanity(results, tasks, summary, info),
        "cascades": _cascades(results, task_names, styles, info, means),
        "failures": fails,
        "n_failed": int((statuses == "failed").sum()) if len(statuses) else 0,
        "n_skipped": int((statuses == "skipped").sum()) if len(statuses) else 0,
        "conventions": _conventions(info),
        "explainer_params": _explainer_params(results),
        "provenance": _provenance(results.provenance),
        "stats_note": _stats_note(summary),
        "x_pick_labels": S.PICKS,
        "data": E.export_data(
            results, summary, {m: T.higher_is_better(m, i, summary) for m, i in info.items()}
        ),
    }


def _metric_meta(i: dict) -> dict[str, Any]:
    return {"description": str(i.get("description", "")), "reference": str(i.get("reference", ""))}


def _pretty(metric: str | None) -> str:
    if not metric:
        return ""
    words = [w.upper() if w in ACRONYMS else w for w in metric.replace("_", " ").split()]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def _explainer_groups(results: Any) -> list[list[str]]:
    """Per task, the explainers that produced something: what one chart can show."""
    pairs = set(zip(results.scores["task"], results.scores["explainer"], strict=True))
    pairs |= {(t, e) for t, e, _ in results.attributions}
    groups: dict[str, list[str]] = {}
    for t, e in sorted(pairs):
        groups.setdefault(t, []).append(e)
    return list(groups.values())


def _task_block(
    results, task, summary, directions, styles, ranks, cost, info, means, groups
) -> dict:
    palette = {e: st.color for e, st in styles.items()}
    tinfo = dict(results.tasks.get(task, {}))
    modality = str(tinfo.get("modality", "tabular"))
    tsum = summary[summary["task"] == task]
    present = set(tsum["metric"])
    families = {m: g["id"] for g in groups for m in g["metrics"]}
    # the task's metrics family by family (faithfulness first), headline first in each
    own = T.family_groups([m for m in directions if m in present], families)
    metrics = [m for g in own for m in g["metrics"]]
    blocks = {m: T.metric_block(tsum[tsum["metric"] == m], directions[m]) for m in metrics}
    # the primary metric: the headline of the first family scored here (faithfulness)
    primary = own[0]["headline"] if own else None
    explainers = sorted(set(tsum["explainer"]), key=lambda e: (e in T.CONTROLS, e))

    # leaderboard rows
    rows = []
    for e in explainers:
        cells: list[dict | None] = []
        for m in metrics:
            r = tsum[(tsum["explainer"] == e) & (tsum["metric"] == m)]
            if not len(r):
                cells.append(None)
                continue
            r = r.iloc[0]
            cells.append(
                {
                    "mean": r["mean"],
                    "lo": r["ci_low"],
                    "hi": r["ci_high"],
                    "n": int(r["n"]),
                    "p": r.get("p_vs_best"),
                    **blocks[m]["marks"].get(e, {}),
                }
            )
        secs, calls = cost.get((task, e), (np.nan, np.nan))
        if "seconds_per_explanation" in tsum.columns:
            v = tsum.loc[tsum["explainer"] == e, "seconds_per_explanation"].dropna()
            secs = float(v.iloc[0]) if len(v) else secs
        rows.append(
            {
                "explainer": e,
                "control": e in T.CONTROLS,
                "reference": e in T.REFERENCES,
                "color": palette.get(e, svg.CONTROL),
                "swatch": svg.swatch(styles.get(e, svg.Style(svg.CONTROL, svg.CONTROL_DASH))),
                "cells": cells,
                "rank": ranks.get((task, e), np.nan),
                "seconds": secs,
                "calls": calls,
                # the primary metric's card decides the badge (stats.decide, one rule)
                "recommended": primary is not None
                and blocks[primary]["marks"].get(e, {}).get("recommended", False),
                "sanity_failed": _sanity_failed(tsum, e),
                "sanity_links": _links(_sanity_failed(tsum, e)),
            }
        )
    rows.sort(key=lambda r: (r["control"], r["rank"] if T.finite(r["rank"]) else 1e9))
    for k in range(len(metrics)):  # CI bars share one scale per column
        column: list[dict] = [r["cells"][k] for r in rows if r["cells"][k]]
        ends = [v for c in column for v in (c["lo"], c["hi"], c["mean"]) if T.finite(v)]
        axis = (min(ends), max(ends)) if ends else (0.0, 1.0)
        for r in rows:
            c = r["cells"][k]
            if c:
                c["bar"] = svg.ci_bar(c["mean"], c["lo"], c["hi"], axis, r["color"])

    boards = _boards(task, rows, metrics, own, groups, blocks)

    # curves: bands for the top 3 by mean rank and the controls (7 bands hide each other)
    banded = [r["explainer"] for r in rows if not (r["control"] or r["reference"])][:3]
    banded += list(T.CONTROLS)
    curves = []
    present = (
        set(means.loc[task].index.get_level_values("metric")) if task in means.index else set()
    )
    for m in sorted(
        (m for m in present if T.is_curve_metric(m, info.get(m, {}))),
        key=lambda m: (m not in T.CURVE_PREFERENCE, m),
    ):
        series = T.curve_series(means, task, m, palette)
        if not series:
            continue
        for s in series:
            s.dash = styles[s.label].dash if s.label in styles and not s.dashed else ""
        ins = "insertion" in m
        curves.append(
            {
                "metric": m,
                "name": _pretty(m),
                "hib": directions.get(m),
                "svg": svg.line_chart(
                    series,
                    title=f"{_pretty(m)} curve — {task}",
                    xlabel=f"fraction of features {'inserted' if ins else 'removed'}",
                    ylabel="prediction"
                    if tinfo.get("output_kind") == "regression"
                    else "p(target)",
                    y_range=_curve_range(series),
                    bands=banded,
                ),
                "shared": svg.shared_curves(series, svg.line_width_tol(_curve_range(series))),
                "data": [
                    {
                        "label": s.label,
                        "x": s.x,
                        "y": s.y,
                        "lo": s.lo,
                        "hi": s.hi,
                        "color": s.color,
                        "dashed": s.dashed,
                        "dash": s.dash,
                    }
                    for s in series
                ],
                "y_range": list(_curve_range(series)),
                "xlabel": f"fraction of features {'inserted' if ins else 'removed'}",
            }
        )
    for r in rows:
        r["same"] = _same_curve(r["explainer"], curves, [q["explainer"] for q in rows])

    # per-sample views, agreement, cost
    inside = None
    seed: int | None = None
    expls: dict[str, Any] = {}
    if modality == C.MODALITY:
        # explanations over different component spaces (nodes, edges, neurons) share no
        # samples view nor agreement: the component panels show them instead
        inside = C.task_panels(results, task, T.CONTROLS)
        inside["curves"] = _component_curves(results, task, own, styles, means, directions)
    else:
        seed, expls = S.explanations_for(results, task)
    views, agreement = [], None
    if expls and modality != "components":  # input-level views; components differ in width
        ids = set(S.sample_ids(next(iter(expls.values()))).tolist())
        best = (
            blocks[primary]["best"]["explainer"]
            if primary and blocks[primary]["best"] is not None
            else None
        )
        pscores = results.scores[
            (results.scores["task"] == task) & (results.scores["metric"] == primary)
        ]
        if seed is not None:
            pscores = pscores[pscores["seed"] == seed]
        per_sample = S.sample_scores(results.scores, task, primary, seed) if primary else {}
        shown = {e: x for e, x in expls.items() if e not in T.CONTROLS} or expls
        for pick in S.pick_samples(pscores, shown, best, directions.get(primary, False)):
            if pick["sample"] in ids:
                views.append(
                    {
                        **pick,
                        **S.sample_view(
                            tinfo, shown, pick["sample"], per_sample.get(pick["sample"], {})
                        ),
                    }
                )
        if len(expls) > 1:
            agreement = _agreement(task, modality, expls)
    cost_pts = []
    if primary:
        for r in rows:
            c = r["cells"][metrics.index(primary)]
            if c and T.finite(r["seconds"]):
                cost_pts.append(
                    {
                        "label": r["explainer"],
                        "x": r["seconds"],
                        "y": c["mean"],
                        "lo": c["lo"],
                        "hi": c["hi"],
                        "color": r["color"],
                        "control": r["control"],
                        "reference": r["reference"],
                        "calls": r["calls"],
                    }
                )
    front = T.pareto_front(cost_pts, directions[primary]) if primary else []
    for p in cost_pts:
        p["front"] = any(p is q for q in front)
    cost_svg = (
        svg.scatter(
            cost_pts,
            title=f"Cost vs {_pretty(primary)} — {task}",
            xlabel="seconds per explanation (log scale)",
            ylabel=f"{_pretty(primary)} ({'higher' if directions[primary] else 'lower'} is better)",
            invert_y=not directions[primary],
            front=front,
        )
        if cost_pts
        else None
    )

    scored = results.scores[results.scores["task"] == task]
    n_samples, n_seeds = int(scored["sample"].nunique()), int(scored["seed"].nunique())
    X = tinfo.get("X")
    shape = tuple(np.shape(X)[1:]) if X is not None else ()
    cards = [
        {
            "id": m,
            "name": _pretty(m),
            "hib": directions[m],
            # the dot plot only where the summary shows it: the families' headlines
            "strip": _strip(rows, metrics.index(m), _pretty(m), directions[m], blocks[m])
            if any(g["headline"] == m for g in own)
            else "",
            **blocks[m],
            "sanity_links": _links(blocks[m].get("sanity_failed", [])),
        }
        for m in metrics
    ]
    return {
        "id": task,
        "modality": modality,
        "n_samples": n_samples,
        "n_seeds": n_seeds,
        "n_cell": int(tsum["n"].max()) if len(tsum) else 0,
        "shape": " × ".join(str(s) for s in shape),
        "n_explainers": len([e for e in explainers if e not in T.CONTROLS]),
        "metrics": cards,
        "families": [
            {
                "id": g["id"],
                "name": g["name"],
                "primary": g["primary"],
                "card": cards[metrics.index(g["headline"])],
                "others": [_pretty(m) for m in g["metrics"] if m != g["headline"]],
            }
            for g in own
        ],
        "boards": boards,
        "primary": primary,
        "primary_name": _pretty(primary) if primary else "",
        "rows": rows,
        "curves": curves,
        "views": views,
        "seed": seed,
        "agreement": agreement,
        "cost_svg": cost_svg,
        "cost": cost_pts,
        "front": [p["label"] for p in front],
        "model": {k: tinfo[k] for k in ("model", "accuracy") if k in tinfo},
        "inside": inside,
    }


def _component_curves(results, task, own, styles, means, directions) -> list[dict]:
    """Per component metric with stored curves (MIB's faithfulness f(C) over circuit
    sizes), its mean curve per explainer."""
    palette = {e: st.color for e, st in styles.items()}
    out = []
    for g in own:
        if g["id"] != "components":
            continue
        for m in g["metrics"]:
            series = T.curve_series(means, task, m, palette)
            if not series:
                continue
            for sr in series:
                sr.dash = styles[sr.label].dash if sr.label in styles and not sr.dashed else ""
            xs = [v for sr in series for v in sr.x if math.isfinite(v)]
            removes = m in REMOVING_CURVES  # necessity: the top components are ablated
            out.append(
                {
                    "metric": m,
                    "name": _pretty(m),
                    "removes": removes,
                    "hib": directions.get(m),
                    "svg": svg.line_chart(
                        series,
                        title=f"{_pretty(m)} curve — {task}",
                        xlabel="share of components removed, top-ranked first"
                        if removes
                        else "circuit size (share of components kept)",
                        ylabel="faithfulness f(C)",
                        x_range=(min(xs, default=0.0), max(xs, default=1.0)),
                        bands=(),
                    ),
                    "legend": [
                        {
                            "explainer": sr.label,
                            "swatch": svg.swatch(styles.get(sr.label, svg.Style(sr.color))),
                        }
                        for sr in series
                    ],
                }
            )
    return out


def _boards(task, rows, metrics, own, groups, blocks) -> list[dict]:
    """One leaderboard per family of the run (the family switch shows one at a time):
    the family's columns, its rows by mean rank over the family's metrics, and the badge
    of the family's recommendation (its headline's card). A family not scored on the
    task gets an empty board, which says so."""
    mine = {g["id"]: g for g in own}
    out = []
    for g in groups:
        board: dict[str, Any] = {"id": g["id"], "name": g["name"], "primary": g["primary"]}
        fam = mine.get(g["id"])
        if fam is None:
            out.append({**board, "cols": [], "rows": []})
            continue
        head = blocks[fam["headline"]]["marks"]
        rank = {r["explainer"]: g["ranks"].get((task, r["explainer"]), np.nan) for r in rows}
        order = sorted(
            rows,
            key=lambda r: (
                r["control"],
                rank[r["explainer"]] if T.finite(rank[r["explainer"]]) else 1e9,
            ),
        )
        out.append(
            {
                **board,
                "headline": _pretty(fam["headline"]),
                "cols": [metrics.index(m) for m in fam["metrics"]],
                "rows": [
                    {
                        **r,
                        "rank": rank[r["explainer"]],
                        "recommended": head.get(r["explainer"], {}).get("recommended", False),
                    }
                    for r in order
                ],
            }
        )
    return out


def _same_curve(explainer: str, curves: list[dict], order: list[str]) -> list[dict]:
    """Whose curve ``explainer``'s coincides with: the first of its group in legend
    ``order``, and on which curves (none named: all of them)."""
    where: dict[str, list[str]] = {}
    for c in curves:
        for g in c["shared"]:
            lead = min(g, key=lambda e: order.index(e) if e in order else len(order))
            if explainer in g and explainer != lead:
                where.setdefault(lead, []).append(c["name"])
    return [
        {"explainer": o, "on": "" if len(ns) == len(curves) else ", ".join(ns)}
        for o, ns in where.items()
    ]


def _links(checks: list[str]) -> list[dict]:
    return [{"name": c, "anchor": sanity_anchor(c)} for c in checks]


def _sanity_failed(tsum: pd.DataFrame, explainer: str) -> list[str]:
    col = (
        tsum.loc[tsum["explainer"] == explainer, "sanity_failed"] if "sanity_failed" in tsum else []
    )
    return sorted({x for v in col for x in str(v or "").split(", ") if x})


def _strip(rows: list[dict], idx: int, name: str, hib: bool, block: dict) -> Markup:
    """The card's dot plot: every dot named on hover, the top two named in print."""
    pts = []
    for r in rows:
        c = r["cells"][idx]
        if c:
            kind = (
                "control"
                if r["control"]
                else next((k for k in ("best", "tied", "inconclusive") if c.get(k)), "worse")
            )
            p = c.get("p_vs_best")
            note = " · ".join(
                x
                for x in (
                    "random control" if r["control"] else "reference" if r["reference"] else "",
                    {"best": "best mean", "tied": "tied with the best"}.get(kind, kind),
                    f"p = {_num(p)} vs the best" if T.finite(p) else "",
                )
                if x and x != "control"
            )
            pts.append(
                {
                    "label": r["explainer"],
                    "mean": c["mean"],
                    "lo": c["lo"],
                    "hi": c["hi"],
                    "kind": kind,
                    "note": note,
                }
            )
    pts.sort(key=lambda p: p["mean"] if T.finite(p["mean"]) else 0.0, reverse=hib)
    tags = {}
    if block.get("best") is not None:
        tags[block["best"]["explainer"]] = "winner" if block["verdict"] == "win" else "best"
    if block.get("runner_up") is not None:
        tags[block["runner_up"]["explainer"]] = "runner-up"
    for p in pts:
        p["tag"] = tags.get(p["label"])
    better = "higher" if hib else "lower"
    return svg.dot_strip(pts, title=f"{name} per explainer", xlabel=f"{name}, {better} is better")


def _curve_range(series: list) -> tuple[float, float]:
    vals = [v for s in series for v in (*s.lo, *s.hi) if math.isfinite(v)]
    lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
    return (min(0.0, lo), max(1.0, hi)) if lo >= -0.05 and hi <= 1.05 else (lo, hi)


# the agreement measures the report switches between: id, name, symbol in the caption
MEASURES = (
    ("spearman", "Spearman ρ", "ρ"),
    ("kendall", "Kendall τ", "τ"),
    ("topk", "Top-k overlap", "overlap"),
)
UNITS = {"image": "pixels", "text": "tokens", "generation": "tokens"}


def _agreement(task: str, modality: str, expls: dict[str, Any]) -> dict[str, Any]:
    """One heatmap per measure, its least-agreeing pair of methods, and the k of top-k."""
    sizes = S.topk_sizes(expls)
    measures = []
    for key, name, symbol in MEASURES:
        mat = S.agreement(expls, key)
        labels = [str(c) for c in mat.columns]
        title = f"Top-{sizes['k']} overlap" if key == "topk" else name
        measures.append(
            {
                "key": key,
                "name": name,
                "symbol": symbol,
                "svg": svg.heatmap(
                    mat.to_numpy(dtype=float),
                    labels,
                    labels,
                    title=f"{title} — {task}",
                    xlabel="explainer (numbered as the rows)",
                    ylabel="explainer",
                    cell=40,
                    label_width=250,
                    numbered=True,
                ),
                "least": _least_pair(mat),
            }
        )
    return {"measures": measures, "unit": UNITS.get(modality, "features"), **sizes}


def _least_pair(mat: pd.DataFrame) -> dict | None:
    """The two methods (not the random control, not the oracle) that agree least."""
    real = [c for c in mat.columns if c not in T.CONTROLS + T.REFERENCES]
    best = None
    for i, a in enumerate(real):
        for b in real[i + 1 :]:
            v = mat.loc[a, b]
            if T.finite(v) and (best is None or v < best["value"]):
                best = {"a": a, "b": b, "value": float(v)}
    return best


def _header(results, tasks, explainers) -> dict[str, Any]:
    prov = results.provenance
    return {
        "n_tasks": len(tasks),
        "modalities": sorted({t["modality"] for t in tasks}),
        "n_explainers": len(set(results.scores["explainer"]) - set(T.CONTROLS)),
        "n_scores": len(results.scores),
        "started": _when(prov.get("started") or prov.get("start_time")),
        "duration": prov.get("duration") or prov.get("seconds"),
        "machine": _flat(prov.get("machine", ""))
        or " · ".join(
            str(x)
            for x in (prov.get("platform"), prov.get("cpu_count") and f"{prov['cpu_count']} CPU")
            if x
        ),
        "command": str(prov.get("command", "")),
    }


def sanity_anchor(metric: str) -> str:
    """The id of a sanity check's card, which the summary cards link to."""
    return "sanity-" + re.sub(r"[^A-Za-z0-9_-]+", "-", metric)


def _state(ok: bool | None, inconclusive: bool = False) -> str:
    if inconclusive:
        return "inconclusive"
    return "info" if ok is None else ("pass" if ok else "fail")


def _sanity(results, tasks, summary, info) -> list[dict]:
    """Built-in check (random control ranks last) plus any sanity metrics in the scores.

    A comparison with random that too few samples cannot decide makes its row
    inconclusive, never failed."""
    out = []
    checks = []
    for t in tasks:
        methods = [r for r in t["rows"] if not r["control"]]
        if not any(r["control"] for r in t["rows"]) or not methods:
            continue
        for idx, m in enumerate(t["metrics"]):
            cells = [r["cells"][idx] for r in methods if r["cells"][idx]]
            if not cells or next(r for r in t["rows"] if r["control"])["cells"][idx] is None:
                continue
            said = [c.get("vs_random") for c in cells]
            beaten, unsure = said.count("better"), said.count("inconclusive")
            fail = beaten + unsure < len(cells)
            value = f"{beaten} of {len(cells)} methods beat random"
            if unsure:
                value += f"; {unsure} inconclusive: n too small (need n ≥ {m['n_needed']})"
            checks.append(
                {
                    "task": t["id"],
                    "label": m["id"],
                    "value": value,
                    "ok": False if fail else (True if not unsure else None),
                    "state": _state(not fail, inconclusive=unsure > 0 and not fail),
                }
            )
    if checks:
        said = [c["ok"] for c in checks]
        ok = False if False in said else (None if None in said else True)
        out.append(
            {
                "name": "Random control ranks last",
                "anchor": sanity_anchor("random"),
                "what": "Every method should be significantly better than the seeded random "
                "explainer; otherwise the metric cannot separate signal from noise here. "
                "Too few samples to decide is inconclusive, not a failure.",
                "ok": ok,
                "state": _state(ok, inconclusive=ok is None),
                "rows": checks,
            }
        )
    for m, i in info.items():
        if not T.is_sanity(m, i):
            continue
        sub = summary[summary["metric"] == m]
        thr = i.get("threshold", T.SANITY_THRESHOLDS.get(m))
        hib = bool(i.get("higher_is_better", True))
        rows = []
        for _, r in sub.iterrows():
            # the random control and the ground-truth oracle ignore the model by design
            control = r["explainer"] in T.CONTROLS + T.REFERENCES
            passed = None if control else stats.sanity_passes(m, i, r["mean"])
            rows.append(
                {
                    "task": r["task"],
                    "label": r["explainer"],
                    "value": f"{_num(r['mean'])} [{_num(r['ci_low'])}, {_num(r['ci_high'])}]"
                    + (" (control: ignores the model by design)" if control else ""),
                    "ok": passed,
                    "state": _state(passed),
                }
            )
        verdict = None if thr is None else all(r["ok"] is not False for r in rows)
        out.append(
            {
                "name": _pretty(m),
                "anchor": sanity_anchor(m),
                "what": str(i.get("description", ""))
                + ("" if thr is None else f". Pass: mean {'≥' if hib else '≤'} {thr}."),
                "reference": str(i.get("reference", "")),
                "ok": verdict,
                "state": _state(verdict),
                "rows": rows,
            }
        )
    return out


def _cascades(
    results: Any, task_names: list[str], styles: dict, info: dict, means: pd.DataFrame
) -> list[dict]:
    """Per task, the model-randomisation curve of each explainer: similarity against the
    number of layers re-initialised (top down), with the all-feature and non-zero-input
    scores. Only metrics that stored such curves (``metrics.randomisation``)."""
    cdf, out = results.curves, list[dict]()
    if not len(cdf):
        return out
    palette = {e: st.color for e, st in styles.items()}
    for m in sorted(set(cdf["metric"])):
        if not (T.is_sanity(m, info.get(m, {})) and "randomis" in m):
            continue
        params = dict(info.get(m, {}).get("params") or {})
        similarity = str(params.get("similarity", "rank correlation"))
        cascading = params.get("mode", "cascading") == "cascading"
        for task in task_names:
            series = T.curve_series(means, task, m, palette)
            if not series:
                continue
            for s in series:
                s.dash = styles[s.label].dash if s.label in styles and not s.dashed else ""
            n_layers = max(max(s.x) for s in series)
            sc = results.scores[(results.scores["task"] == task) & (results.scores["metric"] == m)]
            rows = []
            for s in series:
                own = sc[sc["explainer"] == s.label]
                nz = own["score_nonzero"] if "score_nonzero" in own else pd.Series(dtype=float)
                rows.append(
                    {
                        "explainer": s.label,
                        "swatch": svg.swatch(styles.get(s.label, svg.Style(svg.CONTROL))),
                        "all": float(own["score"].mean()) if len(own) else math.nan,
                        "nonzero": float(nz.mean()) if nz.notna().any() else math.nan,
                    }
                )
            rows.sort(key=lambda r: (r["explainer"] in T.CONTROLS, r["all"]))
            y_range = (min(0.0, *(v for s in series for v in s.y)), 1.0)
            shared = [{"name": m, "shared": svg.shared_curves(series, svg.line_width_tol(y_range))}]
            for r in rows:
                r["same"] = _same_curve(r["explainer"], shared, [q["explainer"] for q in rows])
            xlabel = "layers re-initialised, top down" if cascading else "layer re-initialised"
            out.append(
                {
                    "task": task,
                    "metric": m,
                    "similarity": similarity,
                    "cascading": cascading,
                    "rows": rows,
                    "svg": svg.line_chart(
                        series,
                        title=f"{_pretty(m)} — {task}",
                        xlabel=xlabel,
                        ylabel=similarity.replace("|phi|", "|φ|").replace(" phi", " φ"),
                        y_range=y_range,
                        x_percent=False,
                        x_range=(0.0, float(n_layers)),
                        bands=(),  # the sanity table above gives the CIs
                    ),
                }
            )
    return out


def _conventions(info: dict[str, dict]) -> list[dict]:
    tests = {
        "metric": "statistics (every verdict)",
        "description": stats.decision_rule(),
        "reference": "",
        "direction": "",
        "range": "",
        "params": [
            ("test", "paired two-sided Wilcoxon signed-rank over samples (seeds averaged)"),
            ("correction", "Holm, within each task and metric"),
            ("alpha", f"{stats.ALPHA:g}"),
            ("resolution", f"{stats.RESOLUTION:g} × the metric's range (else its observed span)"),
            ("excluded from tests", ", ".join(stats.FLAGS)),
            ("smallest attainable p", "m · 2 / 2ⁿ (n pairs, m comparisons)"),
        ],
    }
    return [tests] + [
        {
            "metric": m,
            "description": str(i.get("description", "")),
            "reference": str(i.get("reference", "")),
            "direction": "higher is better"
            if i.get("higher_is_better")
            else "lower is better"
            if "higher_is_better" in i
            else "",
            "range": str(tuple(i["range"])) if "range" in i else "",
            "params": [(str(k), _flat(v)) for k, v in dict(i.get("params") or {}).items()],
        }
        for m, i in info.items()
    ]


def _explainer_params(results) -> list[dict]:
    seen: dict[str, dict] = {}
    for (_t, e, _s), x in sorted(results.attributions.items()):
        if e in seen:
            continue
        meta = dict(x.meta)
        seen[e] = {
            "explainer": e,
            "params": [(str(k), _flat(v)) for k, v in x.params.items()],
            "meta": [
                (str(k), _flat(meta[k]))
                for k in ("library", "version", "output_space")
                if k in meta
            ],
        }
    return list(seen.values())


def _when(v: Any) -> str:
    """A timestamp (epoch seconds or text) as UTC text."""
    if T.finite(v) and float(v) > 1e8:
        return _dt.datetime.fromtimestamp(float(v), _dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return "" if v is None else str(v)


def _provenance(prov: dict[str, Any]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in prov.items():
        if k in ("started", "finished", "start_time", "end_time"):
            out.append((str(k), _when(v)))
        elif k in ("duration", "seconds"):
            out.append((str(k), _secs(v)))
        elif k == "config" and isinstance(v, dict | list):
            out.append((str(k), {"pre": yaml.safe_dump(_plain(v), sort_keys=False)}))
        else:
            out.append((str(k), _flat(v)))
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, str | int | float | bool) or v is None:
        return v
    return str(v)


def _flat(v: Any) -> str:
    if isinstance(v, dict):
        return " · ".join(f"{k} {_flat(x)}" for k, x in v.items())
    if isinstance(v, list | tuple):
        return ", ".join(_flat(x) for x in v)
    if isinstance(v, float):
        return _num(v)
    if isinstance(v, np.ndarray):
        return f"array{v.shape}"
    return str(v)


def _stats_note(summary: pd.DataFrame) -> str:
    if "p_vs_best" in summary.columns:
        return (
            "The rule: a paired Wilcoxon test against the best method, Holm-corrected, "
            f"α = {stats.ALPHA:g}; when n is too small for any p to reach α, inconclusive. "
            f"Differences below {stats.RESOLUTION:g} of a metric's range count as zero and "
            "flagged samples are left out. CIs describe the means; they do not decide. "
            "The full rule is under Conventions."
        )
    return (
        "No paired tests in these results: a difference is called significant only when "
        "the 95% bootstrap CIs do not overlap (conservative)."
    )
