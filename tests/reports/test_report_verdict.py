"""One decision function behind every verdict the report shows: cards, badges, markers,
dot plots, sanity warnings and downloads, on constructed results."""

from __future__ import annotations

import json
import re
from itertools import pairwise

import numpy as np
import pandas as pd

from xai_bench.reports import export as E
from xai_bench.reports import render_report
from xai_bench.reports import tables as T
from xai_bench.runner.results import Results
from xai_bench.runner.stats import RESOLUTION

DEL = {"higher_is_better": False, "id": "deletion_auc", "range": [0.0, 1.0]}
RAND = {"higher_is_better": False, "id": "model_randomisation", "range": [-1.0, 1.0]}


def results(tasks: dict[str, dict[str, dict[str, np.ndarray]]]) -> Results:
    """``{task: {metric: {explainer: per-sample scores}}}`` as Results (one seed)."""
    rows = [
        {"task": t, "explainer": e, "metric": m, "sample": i, "seed": 0, "score": float(v)}
        for t, metrics in tasks.items()
        for m, per in metrics.items()
        for e, vals in per.items()
        for i, v in enumerate(vals)
    ]
    return Results(
        scores=pd.DataFrame(rows),
        metric_info={"deletion_auc": DEL, "model_randomisation": RAND},
        tasks={t: {"modality": "tabular"} for t in tasks},
    )


def tie_task(n: int = 30) -> dict[str, np.ndarray]:
    # lime.text has the best mean (lower is better) but no test separates it from
    # captum.feature_ablation, which ranks first on more samples
    rng = np.random.default_rng(5)
    fa = rng.uniform(0.4, 0.6, size=n)
    noise = rng.normal(0, 0.05, size=n)
    return {
        "lime.text": fa + noise - noise.mean() - 0.002,
        "captum.feature_ablation": fa,
        "shap.kernel": fa + 0.2,
        "random": fa + 0.3,
    }


def win_task(n: int = 30) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(6)
    base = rng.uniform(0.4, 0.6, size=n)
    return {"ig": base - 0.2, "lime": base, "random": base + 0.3}


def ladder(n: int = 8, k: int = 7) -> dict[str, np.ndarray]:
    """k methods all clearly better than random on every sample (lower is better)."""
    base = np.random.default_rng(0).uniform(0.6, 0.7, size=n)
    return {"random": base, **{f"m{j}": base - 0.5 + 0.05 * j for j in range(k)}}


def sections(html: str) -> dict[str, str]:
    ids = ["summary", "leaderboard", "curves", "sanity", "failures", "provenance"]
    return {a: html[html.index(f'id="{a}"') : html.index(f'id="{b}"')] for a, b in pairwise(ids)}


def per_task(section: str) -> dict[str, str]:
    """The part of a section about each task (cards carry ``data-task``)."""
    parts = re.split(r'(?=<(?:article|div) data-task=")', section)[1:]
    return {re.search(r"<code>([^<]+)</code>", p).group(1): p for p in parts}


def visible(html: str) -> str:
    """Text a reader sees: tags, attribute values and SVG titles (hover text) removed."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"<title>[^<]*</title>", " ", html))


def test_the_badge_is_the_card(tmp_path):
    res = results({"t.tie": {"deletion_auc": tie_task()}, "t.win": {"deletion_auc": win_task()}})
    html = render_report(res, tmp_path / "r.html").read_text()
    s = sections(html)
    cards, boards = per_task(s["summary"]), per_task(s["leaderboard"])
    assert "≈ Tie" in cards["t.tie"] and "Recommended" not in cards["t.tie"]
    assert ">recommended</span>" not in boards["t.tie"]  # the old report badged lime.text
    assert "★ Recommended" in cards["t.win"]
    badged = re.findall(
        r"<code>([^<]+)</code>\s*<span class=\"tag good\"[^>]*>recommended<", boards["t.win"]
    )
    assert badged == ["ig"] and '<code class="big">ig</code>' in cards["t.win"]
    # the downloads say the same, from the same columns
    summary = res.summary()
    data = E.export_data(res, summary, {"deletion_auc": False})
    table = pd.DataFrame(data["summary"]["rows"], columns=data["summary"]["columns"])
    rec = table[table["recommended"].astype(bool)]
    assert rec[["task", "explainer"]].values.tolist() == [["t.win", "ig"]]
    assert set(table.loc[table["task"] == "t.tie", "outcome"]) == {"tie"}
    json.dumps(data, allow_nan=False)


def test_quick_preset_is_inconclusive_not_failed(tmp_path):
    res = results({"t": {"deletion_auc": ladder(8, 7)}})
    html = render_report(res, tmp_path / "r.html").read_text()
    s = sections(html)
    assert "? Inconclusive: n too small" in s["summary"]
    assert "need n ≥ 9" in s["summary"] and "0.055" in s["summary"]
    check = s["sanity"][s["sanity"].index('id="sanity-random"') :]
    check = check[: check.index("</table>")]
    assert '<span class="state ">inconclusive</span> Random control ranks last' in check
    assert "7 inconclusive: n too small (need n ≥ 9)" in check
    assert "fail" not in visible(check).replace("not a failure", "")
    # nine samples decide it: every method beats random and the check passes
    html9 = render_report(
        results({"t": {"deletion_auc": ladder(9, 7)}}), tmp_path / "r9.html"
    ).read_text()
    s9 = sections(html9)
    assert '<span class="state good">pass</span> Random control ranks last' in s9["sanity"]
    assert "★ Recommended" in s9["summary"]


def test_a_sanity_failure_warns_on_the_card_and_links_to_the_check(tmp_path):
    per = win_task()
    fails = {"ig": np.full(30, 0.9), "lime": np.full(30, 0.1), "random": np.ones(30)}
    passes = {"ig": np.full(30, 0.1), "lime": np.full(30, 0.9), "random": np.ones(30)}
    res = results(
        {
            "t.bad": {"deletion_auc": per, "model_randomisation": fails},
            "t.good": {"deletion_auc": per, "model_randomisation": passes},
            "t.none": {"deletion_auc": per},
        }
    )
    html = render_report(res, tmp_path / "r.html").read_text()
    s = sections(html)
    cards, boards = per_task(s["summary"]), per_task(s["leaderboard"])
    bad = cards["t.bad"]
    assert "★ Recommended" in bad and "⚠ fails a sanity check" in bad
    assert '<a href="#sanity-model_randomisation">model_randomisation</a>' in bad
    assert 'id="sanity-model_randomisation"' in s["sanity"]
    assert 'href="#sanity-model_randomisation"' in boards["t.bad"]  # next to the badge
    assert "✓ sanity" in cards["t.good"] and "⚠" not in cards["t.good"]
    assert "sanity not checked" in cards["t.none"]


def test_tied_card_answers_first_with_chips_and_hides_p_values(tmp_path):
    res = results({"t": {"deletion_auc": tie_task()}})
    html = render_report(res, tmp_path / "r.html").read_text()
    card = sections(html)["summary"]
    chips = card[card.index('<p class="chips">') :]
    chips = chips[: chips.index("</p>")]
    names = re.findall(r'<span class="tag chip[^"]*"[^>]*>([^<]+)</span>', chips)
    assert names == ["lime.text", "captum.feature_ablation"]
    assert "better than 1 other." in visible(chips)  # shap.kernel
    assert "p =" not in visible(card) and 'title="' in chips and "p = " in chips
    assert card.index('<p class="chips">') < card.index('<p class="why">')  # answer first


def test_dot_plot_names_every_dot_and_prints_winner_and_runner_up():
    block = T.metric_block(results({"t": {"deletion_auc": win_task()}}).summary(), hib=False)
    from xai_bench.reports.render import _strip

    rows = [
        {"explainer": e, "control": e == "random", "reference": False, "cells": [c]}
        for e, c in (
            (e, {"mean": m, "lo": m - 0.01, "hi": m + 0.01, **block["marks"][e]})
            for e, m in (("ig", 0.3), ("lime", 0.5), ("random", 0.8))
        )
    ]
    svg = str(_strip(rows, 0, "Deletion AUC", False, block))
    titles = re.findall(r"<title>([^<]+)</title>", svg)
    for e in ("ig", "lime", "random"):
        assert any(t.startswith(f"{e}: ") for t in titles)
    printed = re.findall(r'<text class="tick strip-label"[^>]*>([^<]+)</text>', svg)
    assert printed == ["ig (winner)", "lime (runner-up)"]


def test_the_rule_and_the_resolution_are_stated(tmp_path):
    html = render_report(
        results({"t": {"deletion_auc": win_task()}}), tmp_path / "r.html"
    ).read_text()
    s = sections(html)
    assert "they do not decide" in s["summary"]  # CIs are not the rule
    assert "non-overlapping CIs) separates" not in html
    conv = html[html.index('id="provenance"') :]
    assert "statistics (every verdict)" in conv and f"{RESOLUTION:g} × the metric" in conv
    assert "flat_baseline, degenerate, undefined" in conv


def test_only_controls_and_few_samples_render(tmp_path):
    # no method to recommend (oracle and random only), n = 4: nothing can be decided
    base = np.array([0.5, 0.6, 0.55, 0.65])
    res = results({"t": {"deletion_auc": {"oracle": base - 0.1, "random": base}}})
    html = render_report(res, tmp_path / "r.html").read_text()
    check = sections(html)["sanity"]
    assert "1 inconclusive: n too small (need n ≥ 6)" in check  # 1 * 2 / 2**6 < 0.05
    assert "no non-control explainer scored" in sections(html)["summary"]
