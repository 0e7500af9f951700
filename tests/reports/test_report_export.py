"""The numbers behind the downloads and the Pareto front of the cost chart, without a browser."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from xai_bench.reports import export as E
from xai_bench.reports import render_report, svg
from xai_bench.reports import tables as T
from xai_bench.reports.render import build_context
from xai_bench.runner.results import Results


def _pt(label, x, y, **kw):
    return {"label": label, "x": x, "y": y, "color": "#000", **kw}


POINTS = [
    _pt("cheap", 1e-4, 0.50),
    _pt("mid", 1e-3, 0.70),
    _pt("mid_twin", 1e-3, 0.70),  # equal to mid: neither beats the other
    _pt("same_cost_worse", 1e-3, 0.60),  # as costly as mid, less good
    _pt("same_score_dearer", 1e-2, 0.70),  # as good as mid, dearer
    _pt("best", 1e-1, 0.90),
    _pt("dominated", 1e-1, 0.40),
    _pt("random", 1e-6, 0.99, control=True),
    _pt("oracle", 1e-6, 1.00, reference=True),
    _pt("no_cost", math.nan, 0.95),
]


def test_pareto_front_higher_is_better():
    front = T.pareto_front(POINTS, hib=True)
    assert [p["label"] for p in front] == ["cheap", "mid", "mid_twin", "best"]


def test_pareto_front_lower_is_better():
    # the same scores where lower is better: cheapest wins alone unless something cheaper
    # is also lower; "dominated" (0.40) is dearer than "cheap" but lower
    front = T.pareto_front(POINTS, hib=False)
    assert [p["label"] for p in front] == ["cheap", "dominated"]
    pts = [_pt("a", 1.0, 0.3), _pt("b", 2.0, 0.2), _pt("c", 2.0, 0.2), _pt("d", 3.0, 0.25)]
    assert [p["label"] for p in T.pareto_front(pts, hib=False)] == ["a", "b", "c"]


def test_pareto_front_without_candidates():
    assert T.pareto_front([_pt("random", 1.0, 0.5, control=True)], hib=True) == []
    assert T.pareto_front([], hib=False) == []


def test_scatter_draws_the_front_as_a_staircase():
    front = T.pareto_front(POINTS, hib=True)
    for p in POINTS:
        p["front"] = any(p is q for q in front)
    out = str(svg.scatter(POINTS, title="t", xlabel="x", ylabel="y", front=front))
    steps = re.findall(r'<path class="front" d="([^"]+)"', out)
    assert len(steps) == 2  # the front and its legend key
    # M, then H+V per further front point (the twin adds a zero step)
    assert steps[0].startswith("M") and steps[0].count("H") == steps[0].count("V") == 3
    assert "Pareto front" in out and out.count('class="pt on-front"') == 4
    plain = [{k: v for k, v in p.items() if k != "front"} for p in POINTS]
    none = str(svg.scatter(plain, title="t", xlabel="x", ylabel="y"))
    assert 'class="front"' not in none and "Pareto front" not in none


def test_report_marks_the_front_per_task(default_suite_results):
    ctx = build_context(default_suite_results)
    summary = default_suite_results.summary()
    checked = 0
    for t in ctx["tasks"]:
        if not t["cost"]:
            continue
        hib = next(m["hib"] for m in t["metrics"] if m["id"] == t["primary"])
        sign = 1 if hib else -1
        cands = [p for p in t["cost"] if not p["control"] and not p["reference"]]
        assert set(t["front"]) == {p["label"] for p in cands if p["front"]}
        for p in cands:  # brute force from the summary's own means
            row = summary[
                (summary["task"] == t["id"])
                & (summary["explainer"] == p["label"])
                & (summary["metric"] == t["primary"])
            ]
            assert p["y"] == pytest.approx(float(row["mean"].iloc[0]))
            beaten = any(
                q["x"] <= p["x"]
                and sign * q["y"] >= sign * p["y"]
                and (q["x"] < p["x"] or sign * q["y"] > sign * p["y"])
                for q in cands
            )
            assert p["front"] is not beaten
        assert not any(p["front"] for p in t["cost"] if p["control"] or p["reference"])
        assert str(t["cost_svg"]).count('class="front"') == 2
        checked += 1
    assert checked >= 3


def test_export_matches_the_results(default_suite_results):
    r = default_suite_results
    summary = r.summary()
    dirs = {m: T.higher_is_better(m, i, summary) for m, i in r.metric_info.items()}
    data = json.loads(json.dumps(E.export_data(r, summary, dirs), allow_nan=False))
    rows = [
        (g["task"], g["explainer"], g["metric"], s, g["seed"], v)
        for g in data["scores"]
        for s, v in zip(g["sample"], g["score"], strict=True)
    ]
    want = r.scores[list(E.SCORE_FIELDS)].itertuples(index=False, name=None)
    norm = lambda v: None if isinstance(v, float) and math.isnan(v) else v  # noqa: E731
    assert sorted(rows, key=str) == sorted(((*w[:5], norm(w[5])) for w in want), key=str)
    assert data["scores_omitted"] == 0

    table = pd.DataFrame(data["summary"]["rows"], columns=data["summary"]["columns"])
    assert len(table) == len(summary)
    merged = table.merge(summary, on=["task", "explainer", "metric"], suffixes=("", "_s"))
    assert len(merged) == len(summary)
    for col in ("mean", "ci_low", "ci_high", "n", "mean_rank"):
        np.testing.assert_allclose(merged[col].astype(float), merged[f"{col}_s"].astype(float))
    # rank: 1 = best in the metric's direction, within (task, metric)
    for (_t, m), sub in merged.groupby(["task", "metric"]):
        best = sub.loc[sub["mean"].idxmax() if dirs[m] else sub["mean"].idxmin()]
        assert best["rank"] == 1 and sub["rank"].max() <= len(sub)
        assert (sub["higher_is_better"] == dirs[m]).all()
    assert set(table.loc[table["explainer"] == "random", "role"]) == {"control"}


def test_export_leaves_out_scores_over_budget(tabular_results):
    r = tabular_results
    summary = r.summary()
    data = E.export_data(r, summary, {}, max_score_bytes=100)
    assert data["scores"] == [] and data["scores_omitted"] == len(r.scores)
    assert len(data["summary"]["rows"]) == len(summary)  # the summary always stays


def test_report_without_room_for_scores_says_so(tabular_results, tmp_path, monkeypatch):
    monkeypatch.setattr(E, "MAX_SCORE_BYTES", 100)
    html = render_report(tabular_results, tmp_path / "r.html").read_text()
    assert "are too many to embed" in html and 'data-download="scores.csv"' not in html
    assert 'data-download="summary.csv"' in html


def test_empty_results_export_nothing():
    data = E.export_data(Results(), pd.DataFrame(), {})
    assert data["scores"] == [] and data["summary"]["rows"] == []
