"""Issue 13 in the report: metric families in the leaderboard and the summary, one skip
row per family that cannot run, the true mask's outline in the per-sample view."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from test_report_verdict import per_task, sections, tie_task, win_task

from xai_bench.reports import render_report, svg
from xai_bench.reports import samples as S
from xai_bench.reports import tables as T
from xai_bench.runner.results import Results
from xai_bench.runner.stats import decide

HOSTILE = '</script><script>alert(1)</script>"><img src=x onerror=alert(1)>'
INFO = {
    "deletion_auc": {"higher_is_better": False, "id": "deletion_auc", "range": [0.0, 1.0]},
    "insertion_auc": {"higher_is_better": True, "id": "insertion_auc", "range": [0.0, 1.0]},
    "sparseness": {"higher_is_better": True, "id": "sparseness", "range": [0.0, 1.0]},
    "pointing_game": {"higher_is_better": True, "id": "pointing_game", "range": [0.0, 1.0]},
}


def results(tasks: dict, failures: pd.DataFrame | None = None, info: dict = INFO) -> Results:
    """``{task: {metric: {explainer: per-sample scores}}}`` as Results (one seed)."""
    rows = [
        {"task": t, "explainer": e, "metric": m, "sample": i, "seed": 0, "score": float(v)}
        for t, metrics in tasks.items()
        for m, per in metrics.items()
        for e, vals in per.items()
        for i, v in enumerate(vals)
    ]
    extra = {} if failures is None else {"failures": failures}
    return Results(
        scores=pd.DataFrame(rows),
        metric_info=info,
        tasks={t: {"modality": "tabular"} for t in tasks},
        **extra,
    )


def skips(task: str, metrics: list[str], explainers: list[str], reason: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"task": task, "explainer": e, "metric": m, "seed": 0, "status": "skipped"}
            | {"reason": reason.format(m=m)}
            for m in metrics
            for e in explainers
        ]
    )


def negate(per: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The same ranking for a higher-is-better metric."""
    return {e: 1 - v for e, v in per.items()}


# -- families ---------------------------------------------------------------------------
def test_family_comes_from_the_run_then_the_registry():
    assert T.metric_family("x", {"family": "robustness"}) == "robustness"
    assert T.metric_family("pg", {"id": "pointing_game"}) == "localisation"  # by id
    assert T.metric_family("sparseness", {}) == "complexity"
    assert T.metric_family("not-a-metric", {}) == "faithfulness"  # a plugin missing here


def test_groups_put_faithfulness_first_and_pick_each_headline():
    fams = {"sparseness": "complexity", "complexity": "complexity", "aopc": "faithfulness"}
    fams |= {"insertion_auc": "faithfulness", "deletion_auc": "faithfulness", "z": "zzz"}
    groups = T.family_groups(["z", "sparseness", "complexity", "aopc", "insertion_auc"], fams)
    assert [g["id"] for g in groups] == ["faithfulness", "complexity", "zzz"]
    assert [g["primary"] for g in groups] == [True, False, False]
    # headline first (insertion: deletion is not in the run), then the others by name
    assert groups[0]["metrics"] == ["insertion_auc", "aopc"]
    assert groups[0]["headline"] == "insertion_auc"
    assert groups[1]["headline"] == "sparseness" and groups[2]["headline"] == "z"
    # without faithfulness, the first family present is the primary one
    assert T.family_groups(["sparseness"], fams)[0]["primary"]


def test_summary_gives_one_recommendation_per_family_from_decide(tmp_path):
    """deletion (faithfulness) is a win for ig; sparseness (complexity) a tie; insertion
    (faithfulness, not the headline) gets no card of its own."""
    tie = negate(tie_task())
    res = results(
        {
            "t": {
                "deletion_auc": win_task(),
                "insertion_auc": negate(win_task()),
                "sparseness": tie,
            }
        }
    )
    html = render_report(res, tmp_path / "r.html").read_text()
    card = per_task(sections(html)["summary"])["t"]
    heads = re.findall(r'<h4 class="family">(\w+)', card)
    assert heads == ["Faithfulness", "Complexity"]  # faithfulness first
    assert card.count('class="verdict') == 2  # one per family, not one per metric
    primary = card[: card.index("Complexity")]
    assert '<span class="tag primary">primary</span>' in primary
    assert "★ Recommended" in primary and '<code class="big">ig</code>' in primary
    # each card is stats.decide's verdict on the family's headline metric
    summary = res.summary()
    for metric, outcome in (("deletion_auc", "win"), ("sparseness", "tie")):
        sub = summary[summary["metric"] == metric]
        assert set(decide(sub, bool(sub["higher_is_better"].iloc[0]))["outcome"]) == {outcome}
    rest = card[card.index("Complexity") :]
    assert "≈ Tie" in rest and "Recommended" not in rest
    assert 'data-outcome="tie"' in rest and 'data-outcome="win"' in primary


def test_leaderboard_has_one_board_per_family_and_a_switch(tmp_path):
    res = results({"t": {"deletion_auc": win_task(), "sparseness": negate(tie_task())}})
    html = render_report(res, tmp_path / "r.html").read_text()
    board = sections(html)["leaderboard"]
    buttons = re.findall(r'<button type="button" data-family="(\w+)" aria-pressed="(\w+)"', board)
    assert buttons == [("faithfulness", "true"), ("complexity", "false")]
    panels = re.findall(r'data-family-panel="(\w+)"( hidden)?>', board)
    assert panels == [("faithfulness", ""), ("complexity", " hidden")]
    faith, comp = board.split('data-family-panel="complexity"')
    assert "Deletion AUC</button>" in faith and "Sparseness</button>" not in faith
    assert "Sparseness</button>" in comp and "Deletion AUC</button>" not in comp
    # the badge of each board is its family's recommendation: ig wins deletion only
    assert re.findall(r"<code>(\w+)</code>\s*<span class=\"tag good\"", faith) == ["ig"]
    assert 'class="tag good"' not in comp.split("</table>")[0]


def test_one_family_keeps_the_plain_leaderboard(tmp_path):
    res = results({"t": {"deletion_auc": win_task(), "insertion_auc": negate(win_task())}})
    html = render_report(res, tmp_path / "r.html").read_text()
    assert "data-family=" not in html and '<h4 class="family">' not in html
    assert html.count('class="verdict') == 1 and "all metrics" in html


# -- skips ------------------------------------------------------------------------------
def test_a_family_that_cannot_run_is_one_skip_row(tmp_path):
    explainers = ["ig", "lime", "random"]
    no_truth = "task 'a' has no ground truth"
    fail = pd.concat(
        [
            skips("a", ["pointing_game", "relevance_rank_accuracy"], explainers, no_truth),
            skips("a", ["focus"], explainers, "metric {m} does not support tabular tasks"),
            # on task b the family ran (pointing_game scored): its skip stays per metric
            skips("b", ["focus"], explainers, "metric {m} does not support tabular tasks"),
        ],
        ignore_index=True,
    )
    info = INFO | {m: {"id": m} for m in ("relevance_rank_accuracy", "focus")}
    res = results(
        {
            "a": {"deletion_auc": win_task()},
            "b": {"deletion_auc": win_task(), "pointing_game": negate(win_task())},
        },
        fail,
        info,
    )
    rows = T.failures(res)
    family = [r for r in rows if r.get("family")]
    assert len(family) == 1  # 9 skip rows on task a: one line
    row = family[0]
    assert row["task"] == "a" and row["family"] == "localisation"
    assert row["explainer"] == "all 3"
    assert row["metric"] == (
        "localisation family (3): focus, pointing_game, relevance_rank_accuracy"
    )
    # each distinct reason once, with the metrics that gave it
    assert row["reason"] == (
        "task 'a' has no ground truth (pointing_game, relevance_rank_accuracy); "
        "metric focus does not support tabular tasks (focus)"
    )
    assert [r["task"] for r in rows if r["metric"] == "focus"] == ["b", "b", "b"]
    # the leaderboard's empty localisation board and the summary both point at it
    html = render_report(res, tmp_path / "r.html").read_text()
    s = sections(html)
    assert "cannot run on this task: task &#39;a&#39; has no ground truth" in s["summary"]
    board = per_task(s["leaderboard"])["a"]
    assert "No localisation metric scored on this task. Skipped: task &#39;a&#39;" in board
    assert s["failures"].count("localisation family (3)") == 1


def test_family_names_and_skip_reasons_are_escaped(tmp_path):
    info = {
        "deletion_auc": INFO["deletion_auc"],
        "evil": {"higher_is_better": True, "id": "evil", "family": HOSTILE},
        "evil2": {"higher_is_better": True, "id": "evil2", "family": HOSTILE},
    }
    fail = skips("b", ["evil2"], ["ig", "lime"], HOSTILE)
    res = results(
        {"a": {"deletion_auc": win_task(), "evil": negate(win_task())}, "b": {}}, fail, info
    )
    res = Results(
        scores=res.scores,
        metric_info=info,
        tasks={"a": {"modality": "tabular"}, "b": {"modality": "tabular"}},
        failures=fail,
    )
    html = render_report(res, tmp_path / "r.html").read_text()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert html.count("<script>") == 1
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in html


# -- the true mask ----------------------------------------------------------------------
def test_outline_traces_the_border_of_the_mask():
    m = np.zeros((4, 4), dtype=bool)
    m[1:3, 1:3] = True  # a 2x2 square: four sides of length 2 cells
    d = svg.outline_path(m, 10.0)
    assert sorted(re.findall(r"M[\d.]+ [\d.]+[hv][\d.]+", d)) == sorted(
        ["M10 10h20", "M10 30h20", "M10 10v20", "M30 10v20"]
    )
    m[0, 0] = True  # a pixel touching it at a corner: the perimeter grows by 4 sides
    lengths = re.findall(r"[hv]([\d.]+)", svg.outline_path(m, 10.0))
    assert sum(float(v) for v in lengths) == 10.0 * (8 + 4)


def test_true_mask_reads_per_sample_channel_masks():
    gt = np.zeros((2, 3, 4, 4), dtype=bool)
    gt[1, 2, 0, 1] = True  # one channel marks it: the pixel is in the mask
    info = {"ground_truth": gt}
    assert S.true_mask(info, 1, (4, 4)).sum() == 1 and S.true_mask(info, 1, (4, 4))[0, 1]
    assert not S.true_mask(info, 0, (4, 4)).any()
    assert S.true_mask(info, 1, (8, 8)) is None  # another image size: not drawn
    assert S.true_mask({"ground_truth": np.array([0, 1, 1])}, 0, (4, 4)) is None  # features


@pytest.fixture(scope="module")
def shapes_results(bench):
    return bench(["shapes.cnn"], ["random", "captum.saliency"], n_samples=4)


def test_per_sample_view_outlines_the_true_mask(shapes_results, tmp_path):
    info = shapes_results.tasks["shapes.cnn"]
    html = render_report(shapes_results, tmp_path / "r.html").read_text()
    samples = html[html.index('id="samples"') : html.index('id="agreement"')]
    first = samples[: samples.index('data-panel="worst"')]  # the first pick's panel
    i = int(re.search(r"sample <b>#(\d+)</b>", first).group(1))
    mask = S.true_mask(info, i, (32, 32))
    assert mask is not None and mask.any()
    d = svg.outline_path(mask, 128 / 32)
    # the input and the map of each shown explainer (the control is not) carry the
    # outline of this sample's own mask
    assert first.count(f'<path class="truth" d="{d}"/>') == 1 + 1
    assert "outlines the true mask" in first
    # the colour input is drawn in colour, not averaged to grey, as one PNG
    pixels = _decode_png(re.search(r'href="([^"]+)"', first.split("</svg>")[0]).group(1))
    assert pixels.shape == (32, 32, 3) and (pixels.max(-1) != pixels.min(-1)).any()


@pytest.mark.browser
def test_family_switch_works_by_mouse_and_keyboard(watched, tmp_path):
    res = results(
        {
            "t": {"deletion_auc": win_task(), "sparseness": negate(tie_task())},
            "u": {"deletion_auc": win_task()},
        }
    )
    page = watched.open(render_report(res, tmp_path / "r.html"))
    visible = "[data-family-panel]:visible"
    assert {p.get_attribute("data-family-panel") for p in page.locator(visible).all()} == {
        "faithfulness"
    }
    page.locator("button[data-family='complexity']").click()
    shown = page.locator(visible).all()
    assert {p.get_attribute("data-family-panel") for p in shown} == {"complexity"}
    assert len(shown) == 2  # every task's board switches; u says it has no such metric
    assert "No complexity metric scored" in page.locator("#task-1-complexity").inner_text()
    # keyboard: arrows move the focus between the buttons, Enter switches
    page.locator("button[data-family='complexity']").focus()
    page.keyboard.press("ArrowLeft")
    focused = page.evaluate("document.activeElement.getAttribute('data-family')")
    assert focused == "faithfulness"
    page.keyboard.press("Enter")
    assert page.locator("button[data-family='faithfulness']").get_attribute("aria-pressed") == (
        "true"
    )
    assert {p.get_attribute("data-family-panel") for p in page.locator(visible).all()} == {
        "faithfulness"
    }
    assert watched.errors == [] and watched.requests == []


def _decode_png(uri: str) -> np.ndarray:
    """The pixels of an 8-bit RGB, filter-0 PNG data URI (what png_data_uri writes)."""
    import base64
    import struct
    import zlib

    data = base64.b64decode(uri.split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        tag, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])
        assert crc == zlib.crc32(tag + body)
        chunks[tag] = body
        pos += 12 + n
    w, h = struct.unpack(">II", chunks[b"IHDR"][:8])
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype=np.uint8).reshape(h, -1)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(h, w, 3)


def test_large_maps_are_one_png_with_the_same_colours():
    rng = np.random.default_rng(0)
    att = rng.normal(size=(32, 32))
    out = str(svg.image_map(np.zeros((32, 32)), att, title="t"))
    assert out.count("<rect") == 0 and out.count('<image class="raster"') == 1
    pixels = _decode_png(re.search(r'href="([^"]+)"', out).group(1))
    scale = np.abs(att).max()
    for i, j in ((0, 0), (5, 17), (31, 31)):
        assert svg.diverging(att[i, j] / scale) == "rgb({},{},{})".format(*pixels[i, j])
    rgb = rng.uniform(size=(32, 32, 3))
    drawn = str(svg.image_map(rgb.mean(-1), None, title="in", rgb=rgb))
    back = _decode_png(re.search(r'href="([^"]+)"', drawn).group(1))
    assert np.abs(back.astype(int) - np.rint(255 * rgb)).max() == 0
    # small maps (8 x 8 digits) keep a rect per pixel, with its colour
    assert str(svg.image_map(np.zeros((8, 8)), att[:8, :8], title="t")).count("<rect") == 64
