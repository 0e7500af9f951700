"""The report's HTML without a browser: escaping, self-containment, verdicts, size."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from xai_bench.reports import render_report
from xai_bench.reports import samples as S
from xai_bench.reports import tables as T
from xai_bench.runner.results import Results

HOSTILE = '</script><script>alert(1)</script>"><img src=x onerror=alert(1)>javascript:alert(1)'


def _subset(results: Results, n: int) -> Results:
    """The same run restricted to its first ``n`` samples."""
    keep = lambda df: df[df["sample"].astype(int) < n] if "sample" in df else df  # noqa: E731
    tasks = {t: {**i, "X": np.asarray(i["X"])[:n]} for t, i in results.tasks.items()}
    return replace(
        results,
        scores=keep(results.scores),
        curves=keep(results.curves),
        explanations=keep(results.explanations),
        tasks=tasks,
        attributions={k: x.subset(slice(0, n)) for k, x in results.attributions.items()},
    )


def test_report_is_self_contained(tabular_results, tmp_path):
    html = render_report(tabular_results, tmp_path / "r.html").read_text()
    assert html.count("<script>") == 1  # our one inline script, no src=
    # the other one is inert data (the downloads' numbers)
    assert html.count("<script") == 2 and html.count('<script type="application/json"') == 1
    assert not re.search(r"<(link|img|iframe|object|embed)\b", html)
    assert not re.search(r"(src|href)\s*=\s*\"(?!#)", html)  # only in-page anchors
    assert "url(" not in html.replace("url(#", "")
    assert not re.search(r'=\s*"[a-z]+://', html)  # no URL in any attribute
    assert "default-src 'none'" in html  # CSP: the browser itself refuses any fetch
    for section in (
        "summary",
        "leaderboard",
        "curves",
        "samples",
        "agreement",
        "cost",
        "sanity",
        "failures",
        "provenance",
    ):
        assert f'id="{section}"' in html


def test_every_user_string_is_escaped(tabular_results, tmp_path):
    """Hostile ids, names, tokens, reasons and config values come out as text."""
    r = tabular_results
    task = next(iter(r.tasks))
    hostile_expl = "x" + HOSTILE
    ren = lambda df: df.replace({"explainer": {"random": hostile_expl}})  # noqa: E731
    attributions = {
        (t, hostile_expl if e == "random" else e, s): x for (t, e, s), x in r.attributions.items()
    }
    n_feat = len(r.tasks[task]["feature_names"])
    tasks = {
        task: {
            **r.tasks[task],
            "feature_names": [HOSTILE + str(i) for i in range(n_feat)],
            "class_names": [HOSTILE, "javascript:alert(2)"],
        }
    }
    failures = pd.DataFrame(
        [
            {
                "task": task,
                "explainer": HOSTILE,
                "metric": HOSTILE,
                "seed": 0,
                "status": "failed",
                "reason": HOSTILE,
            }
        ]
    )
    evil = replace(
        r,
        scores=ren(r.scores),
        curves=ren(r.curves),
        explanations=ren(r.explanations),
        attributions=attributions,
        tasks=tasks,
        failures=failures,
        metric_info={m: {**i, "description": HOSTILE} for m, i in r.metric_info.items()},
        provenance={**r.provenance, "name": HOSTILE, "config": {"tasks": [HOSTILE]}},
    )
    html = render_report(evil, tmp_path / "evil.html").read_text()
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert 'href="javascript' not in html
    assert html.count("<script>") == 1 and html.count("<script") == 2  # ours + inert data
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html


def test_interactive_embeds_plotly_once_and_json_safely(tabular_results, tmp_path):
    pytest.importorskip("plotly")
    plain = len(render_report(tabular_results, tmp_path / "a.html").read_text())
    html = render_report(tabular_results, tmp_path / "b.html", interactive=True).read_text()
    from plotly.offline import get_plotlyjs

    bundle = len(get_plotlyjs())
    assert html.count("<script>") == 2  # Plotly once, then ours
    assert plain + bundle < len(html) < plain + 2 * bundle  # embedded exactly once
    blocks = re.findall(
        r'<script type="application/json" class="plot-data">(.*?)</script>', html, re.S
    )
    assert blocks and all("</" not in b for b in blocks)


DATA_BLOCK = re.compile(r'<script type="application/json" id="report-data">.*?</script>', re.S)


def test_size_does_not_grow_with_samples(tabular_results, tmp_path):
    """Apart from the per-sample scores behind the downloads (a few dozen bytes each),
    only aggregates and three picked samples are embedded: the page is O(tasks ×
    explainers) and a default-suite-sized report stays far below 2 MB."""
    full = render_report(tabular_results, tmp_path / "full.html").read_text()
    half = render_report(_subset(tabular_results, 4), tmp_path / "half.html").read_text()
    assert len(full.encode()) <= 2_000_000
    page, half_page = DATA_BLOCK.sub("", full), DATA_BLOCK.sub("", half)
    assert abs(len(page) - len(half_page)) / len(half_page) < 0.1
    extra = len(tabular_results.scores) - len(_subset(tabular_results, 4).scores)
    assert extra > 0 and 0 < (len(full) - len(page)) - (len(half) - len(half_page)) < 40 * extra


def test_default_suite_report_size(default_suite_results, tmp_path):
    path = render_report(default_suite_results, tmp_path / "default.html")
    assert path.stat().st_size <= 2_000_000
    n = len(default_suite_results.scores)
    assert n >= 1000
    html = path.read_text()  # large counts with thousands separators: 18,680 not 18680
    assert f">{n:,} scores<" in html and f"{n:,} per-sample scores" in html


def test_sorting_script_is_a_few_kib():
    from importlib import resources

    js = resources.files("xai_bench.reports").joinpath("static", "report.js").read_bytes()
    assert len(js) <= 8 * 1024


def _summary(means, lo, hi, p=None):
    rows = [
        {"task": "t", "explainer": e, "metric": "m", "n": 10, "mean": m, "ci_low": a, "ci_high": b}
        for e, m, a, b in zip(["a", "b", "c", "random"], means, lo, hi, strict=True)
    ]
    df = pd.DataFrame(rows)
    if p is not None:  # the paired tests: p vs the best and vs random
        df["p_vs_best"], df["p_vs_random"] = p, [0.001, 0.001, 0.001, np.nan]
    return df


def test_win_only_when_significant():
    # lower is better; CIs of a and b overlap -> tie, c separated
    df = _summary([0.2, 0.25, 0.5, 0.9], [0.15, 0.18, 0.45, 0.85], [0.24, 0.3, 0.55, 0.95])
    block = T.metric_block(df, hib=False)
    assert block["best"]["explainer"] == "a"
    assert block["verdict"] == "tie" and [r["explainer"] for r in block["ties"]] == ["b"]
    assert block["beaten"] == 1 and block["marks"]["c"]["tied"] is False
    assert block["rel_random"] == pytest.approx((0.2 - 0.9) / 0.9)
    assert block["gain_random"] == pytest.approx(0.7)  # lower is better: 0.2 beats 0.9 by 0.7
    # a paired test that separates a from b overrides the CI overlap
    p = [np.nan, 0.01, 0.01, 0.01]
    block = T.metric_block(
        _summary([0.2, 0.25, 0.5, 0.9], [0.15, 0.18, 0.45, 0.85], [0.24, 0.3, 0.55, 0.95], p),
        hib=False,
    )
    assert block["verdict"] == "win" and block["ties"] == []
    assert block["marks"]["a"]["recommended"] and not block["marks"]["b"]["recommended"]


def test_random_is_never_recommended_and_direction_counts():
    df = _summary([0.2, 0.25, 0.5, 0.9], [0.1, 0.2, 0.4, 0.8], [0.3, 0.3, 0.6, 1.0])
    assert T.metric_block(df, hib=True)["best"]["explainer"] == "c"  # random (0.9) excluded
    ranks = T.mean_ranks(df, {"m": True})
    assert ranks[("t", "random")] == 1.0 and ranks[("t", "a")] == 4.0


def test_agreement_matches_scipy_spearman(tabular_results):
    task = next(iter(tabular_results.tasks))
    _seed, expls = S.explanations_for(tabular_results, task)
    names = list(expls)[:2]
    pair = S.spearman_per_sample({k: expls[k] for k in names})[tuple(names)]
    a, b = (expls[k].flat() for k in names)
    ref = [spearmanr(a[i], b[i]).statistic for i in range(len(pair))]
    np.testing.assert_allclose(pair, ref, atol=1e-12)
    # the heatmap's matrix (metrics.agreement_matrix) is the mean of these per-sample values
    assert S.agreement(expls).loc[names[0], names[1]] == pytest.approx(np.nanmean(ref))


def test_sample_picker_picks_best_and_worst(tabular_results):
    r = tabular_results
    task = next(iter(r.tasks))
    seed, expls = S.explanations_for(r, task)
    sc = r.scores[(r.scores["task"] == task) & (r.scores["metric"] == "deletion_auc")]
    sc = sc[sc["seed"] == seed]
    name = next(e for e in expls if e not in ("random", "oracle"))
    picks = {p["key"]: p for p in S.pick_samples(sc, expls, name, False)}
    own = sc[sc["explainer"] == name]
    assert len(own) >= 2 and own["score"].min() < own["score"].max()
    assert picks["best"]["value"] == pytest.approx(own["score"].min())
    assert picks["worst"]["value"] == pytest.approx(own["score"].max())
    dis = S.disagreement(expls)
    assert picks["disagree"]["sample"] == int(np.nanargmax(dis))


def test_empty_and_failure_only_results_render(tmp_path):
    failures = pd.DataFrame(
        [
            {
                "task": "t",
                "explainer": "e",
                "metric": None,
                "seed": 0,
                "status": "failed",
                "reason": "TimeoutError: job exceeded 5 s",
            }
        ]
    )
    html = render_report(Results(failures=failures), tmp_path / "f.html").read_text()
    assert "TimeoutError: job exceeded 5 s" in html
    assert '<span class="tag bad">failed</span>' in html
    assert render_report(Results(), tmp_path / "e.html").stat().st_size > 0


def test_without_paired_tests_ties_come_from_ci_overlap(tabular_results, tmp_path, monkeypatch):
    base = ["task", "explainer", "metric", "n", "mean", "median", "ci_low", "ci_high"]
    full = tabular_results.summary()
    monkeypatch.setattr(Results, "summary", lambda self, **kw: full[base])
    html = render_report(tabular_results, tmp_path / "r.html").read_text()
    assert "do not overlap (conservative)" in html


def test_grouped_skips_list_tasks_and_seeds_in_order():
    from types import SimpleNamespace

    skip = {"status": "skipped", "explainer": "e", "metric": None, "reason": "needs torch"}
    fail = pd.DataFrame(
        [{**skip, "task": t, "seed": s} for t, s in (("b", 10), ("c", 2), ("a", 1), ("b", 2))]
    )
    empty = pd.DataFrame(columns=["task", "explainer", "metric", "sample", "seed", "score"])
    rows = T.failures(SimpleNamespace(failures=fail, explanations=empty, scores=empty))
    assert [(r["task"], r["seed"]) for r in rows] == [("a, b, c", "1, 2, 10")]
