"""The Agreement section's measures: Kendall τ and top-k overlap on hand-made cases, and
one pre-rendered heatmap per measure in the report (the switch itself: test_report_browser)."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pytest

import xai_bench as xb
from xai_bench.errors import InvalidInputError
from xai_bench.metrics.agreement import agreement_matrix, rowwise_corr, topk_overlap
from xai_bench.reports import render_report

# 30 features ranked 1..30; the second ranking swaps the most and the least important.
# Kendall: the swapped pair and the 28 pairs each swapped feature makes with the middle
# ones flip, 57 of 435 discordant, τ = (378 − 57) / 435. Spearman: Σd² = 2 · 29², so
# ρ = 1 − 6 · 1682 / (30 · 899). Top 6 (20% of 30): {24..29} vs {0, 24..28}, 5 shared.
A = np.arange(1.0, 31.0)
B = A.copy()
B[[0, 29]] = B[[29, 0]]
TAU, RHO, TOP6 = 321 / 435, 1 - 6 * 1682 / (30 * 899), 5 / 6


def test_kendall_and_topk_of_the_hand_made_pair():
    assert rowwise_corr(A[None], B[None], "kendall")[0] == pytest.approx(TAU, abs=1e-12)
    assert rowwise_corr(A[None], B[None], "spearman")[0] == pytest.approx(RHO, abs=1e-12)
    assert topk_overlap(A[None], B[None], 0.2)[0] == pytest.approx(TOP6)
    assert topk_overlap(A[None], B[None], 6)[0] == pytest.approx(TOP6)
    assert topk_overlap(A[None], B[None], 1)[0] == 0.0  # 29 vs 0
    assert topk_overlap(-A[None], B[None], 0.2)[0] == pytest.approx(TOP6)  # by magnitude


def test_topk_overlap_ties_masks_and_bad_k():
    a = np.array([[3.0, 3.0, 1.0, 0.0, 0.0], [2.0, 2.0, 2.0, 2.0, 2.0]])
    b = np.array([[3.0, 0.0, 1.0, 0.0, 0.0], [5.0, 4.0, 3.0, 2.0, 1.0]])
    # a's top 1 is feature 0 or 1 (tied): each half in; b's is 0 -> expected 1/2;
    # an all-equal row shares chance, k / m = 1/5, with any ranking
    np.testing.assert_allclose(topk_overlap(a, b, 1), [0.5, 0.2])
    # k = 2: a {0, 1}, b {0, 2} -> 1/2; all-equal -> 2/5
    np.testing.assert_allclose(topk_overlap(a, b, 2), [0.5, 0.4])
    # masked to 3 valid entries, 20% rounds to k = 1; with k >= valid entries it is NaN
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0]], bool)
    np.testing.assert_allclose(topk_overlap(a, b, 0.2, mask), [0.5, 0.5])
    assert np.isnan(topk_overlap(a, b, 2, mask)[1])
    for bad in (0, 1.5, -0.2, 0.0):
        with pytest.raises(InvalidInputError, match="k="):
            topk_overlap(a, b, bad)


def test_agreement_matrix_measures_of_the_hand_made_pair():
    t = np.zeros(2, int)
    ex = {
        "a": xb.Explanation(np.vstack([A, A]), t, "a"),
        "b": xb.Explanation(np.vstack([B, B]), t, "b"),
    }
    assert agreement_matrix(ex, "kendall").loc["a", "b"] == pytest.approx(TAU)
    assert agreement_matrix(ex, "topk").loc["b", "a"] == pytest.approx(TOP6)
    assert agreement_matrix(ex, "topk", k=1).loc["a", "b"] == 0.0
    with pytest.raises(InvalidInputError, match="'jaccard'"):
        agreement_matrix(ex, "jaccard")


def hand_made(results):
    """``results`` with two real explainers' attributions replaced by the pair A, B (same
    for every sample) and only those two and the random control stored."""
    task = next(iter(results.tasks))
    keys = sorted(k for k in results.attributions if k[0] == task and k[2] == 0)
    random_key = next(k for k in keys if k[1] == "random")
    ka, kb = [k for k in keys if k[1] not in ("random", "oracle")][:2]
    xa, xb_ = results.attributions[ka], results.attributions[kb]
    n, m = xa.flat().shape
    assert m == len(A), "the hand-made pair needs a 30-feature task"
    att = {
        ka: replace(xa, attributions=np.tile(A, (n, 1)).reshape(xa.attributions.shape)),
        kb: replace(xb_, attributions=np.tile(B, (n, 1)).reshape(xb_.attributions.shape)),
        random_key: results.attributions[random_key],
    }
    return replace(results, attributions=att), task, ka[1], kb[1]


def _measures(html: str) -> dict[str, tuple[bool, str]]:
    section = html[html.index('<section id="agreement"') : html.index('<section id="cost"')]
    found = re.findall(
        r'<div class="measure" data-panel="(\w+)"( hidden)?>(.*?)</div>', section, re.S
    )
    return {key: (not hidden, body) for key, hidden, body in found}


def test_report_has_one_heatmap_per_measure(tabular_results, tmp_path):
    results, task, a, b = hand_made(tabular_results)
    html = render_report(results, tmp_path / "agree.html").read_text()
    panels = _measures(html)
    assert list(panels) == ["spearman", "kendall", "topk"]
    assert [shown for shown, _ in panels.values()] == [True, False, False]  # ρ without JS
    for key, title, symbol, value in (
        ("spearman", "Spearman ρ", "ρ", RHO),
        ("kendall", "Kendall τ", "τ", TAU),
        ("topk", "Top-6 overlap", "overlap", TOP6),
    ):
        body = panels[key][1]
        assert body.count("<svg") == 1 and f"<title>{title} — {task}</title>" in body
        assert f"<title>{a} × {b}: {value:.3f}</title>" in body  # the pair's cell
        # the only pair of methods is the least agreeing one, in this measure's unit
        assert f"methods: <code>{a}</code> vs <code>{b}</code> ({symbol} = {value:.2f})" in body
    topk = panels["topk"][1]
    assert "top 6 of 30 features" in topk and "chance ≈ 0.20" in topk
    assert '<button type="button" data-pick="kendall" aria-pressed="false">' in html


def test_least_agreement_leaves_out_the_controls():
    import pandas as pd

    from xai_bench.reports.render import _least_pair

    names = ["a", "b", "c", "oracle", "random"]
    mat = pd.DataFrame(np.eye(5), index=names, columns=names)
    for p, q, v in (("a", "b", 0.5), ("a", "c", 0.4), ("b", "c", 0.6), ("a", "oracle", 0.1)):
        mat.loc[p, q] = mat.loc[q, p] = v
    mat.loc["random"] = mat["random"] = -0.2
    assert _least_pair(mat) == {"a": "a", "b": "c", "value": 0.4}
