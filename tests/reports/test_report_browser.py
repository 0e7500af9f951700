"""The report in a real browser (Playwright + Debian's chromium): offline, no errors,
sorting, sample picker, injection safety. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from xai_bench.reports import render_report

pytestmark = pytest.mark.browser

MODALITIES = ["tabular", "image", "text", "generation"]


def _column_keys(page, table: str, col: int) -> list[float]:
    return page.eval_on_selector_all(
        f"#{table} tbody tr",
        f"rows => rows.map(r => parseFloat(r.cells[{col}].getAttribute('data-sort')))",
    )


@pytest.mark.parametrize("modality", MODALITIES)
def test_report_in_browser(modality, modality_results, watched, artifacts, tmp_path):
    results = modality_results(modality)
    path = render_report(results, tmp_path / f"{modality}.html")
    page = watched.open(path)

    # sorting: the "Mean rank" column (last) ascending, then descending
    table = page.locator("table.board").first.get_attribute("id")
    header = page.locator(f"#{table} thead th").last
    header.locator("button").click()
    n_cols = page.locator(f"#{table} thead th").count()
    keys = [k for k in _column_keys(page, table, n_cols - 1) if k == k]
    assert keys == sorted(keys) and len(keys) >= 2
    assert header.get_attribute("aria-sort") == "ascending"
    header.locator("button").click()
    keys = [k for k in _column_keys(page, table, n_cols - 1) if k == k]
    assert keys == sorted(keys, reverse=True)
    # sorting by explainer name (text)
    page.locator(f"#{table} thead th").first.locator("button").click()
    names = page.eval_on_selector_all(
        f"#{table} tbody th", "c => c.map(x => x.getAttribute('data-sort').toLowerCase())"
    )
    assert names == sorted(names)

    # sample picker: another button shows another panel and hides the first
    picker = page.locator("[data-picker]").first
    first = picker.locator("[data-panel]:visible")
    assert first.count() == 1
    before = first.get_attribute("data-panel"), first.locator(".shead").inner_text()
    picker.locator("button[data-pick='worst']").click()
    shown = picker.locator("[data-panel]:visible")
    assert shown.count() == 1 and shown.get_attribute("data-panel") == "worst"
    assert (shown.get_attribute("data-panel"), shown.locator(".shead").inner_text()) != before
    assert picker.locator("button[data-pick='worst']").get_attribute("aria-pressed") == "true"

    # every modality draws its own per-sample view
    view = {
        "tabular": "table.feat",
        "image": ".images svg",
        "text": ".tokens .tok",
        "generation": ".tokens .tok",
    }[modality]
    assert shown.locator(view).count() > 0
    assert page.locator("svg.chart polyline.line.dashed").count() >= 1  # random control

    picker.locator("button[data-pick='best']").click()
    page.screenshot(path=str(artifacts / f"report-{modality}.png"), full_page=True)
    assert watched.errors == [] and watched.requests == [] and watched.dialogs == []


def test_interactive_report_in_browser(tabular_results, watched, tmp_path):
    pytest.importorskip("plotly")
    path = render_report(tabular_results, tmp_path / "i.html", interactive=True)
    page = watched.open(path)
    page.wait_for_selector(".plotly-box .main-svg", timeout=15_000)
    assert page.locator(".plotly-box").count() == page.locator("figure[data-plot]").count()
    assert watched.errors == [] and watched.requests == [] and watched.dialogs == []


def test_hostile_names_render_as_text(modality_results, watched, hostile, bench, tmp_path):
    """Feature names, class names, tokens and ids full of markup stay inert, visible text."""
    from sklearn.linear_model import LogisticRegression

    import xai_bench as xb

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = (X[:, 0] > 0).astype(int)
    names = list(hostile)
    task = xb.Task.from_sklearn(
        LogisticRegression().fit(X, y),
        X,
        y,
        feature_names=names,
        name="evil",
        class_names=(hostile[1], hostile[2]),
    )
    results = bench([task], ["random", "captum.feature_ablation", "lime.tabular"], 6)
    text = modality_results("text")
    ttask = next(iter(text.tasks))
    tokens = [[hostile[i % 3] for i in range(len(row))] for row in text.tasks[ttask]["tokens"]]
    text = replace(
        text,
        tasks={ttask: {**text.tasks[ttask], "tokens": tokens}},
        provenance={**text.provenance, "name": hostile[0], "config": {"note": hostile[2]}},
    )
    for name, res in (("evil-tabular", results), ("evil-text", text)):
        page = watched.open(render_report(res, tmp_path / f"{name}.html"))
        body = page.inner_text("body")
        for s in hostile if name == "evil-text" else names:
            assert s in body, s
        assert page.locator("img").count() == 0
        assert page.locator("script:not([type='application/json'])").count() == 1
        assert page.locator("script").count() == 2  # + the downloads' inert JSON
        assert page.locator("a[href^='javascript']").count() == 0
        assert page.evaluate("window.__pwned === undefined")
        page.locator("[data-picker] button[data-pick='disagree']").first.click()
    assert watched.dialogs == [] and watched.errors == [] and watched.requests == []


def test_task_filter_shows_one_task(modality_results, watched, tmp_path):
    import pandas as pd

    from xai_bench.runner.results import Results

    a, b = modality_results("tabular"), modality_results("image")
    both = Results(
        **{
            k: pd.concat([getattr(a, k), getattr(b, k)], ignore_index=True)
            for k in ("scores", "curves", "explanations", "failures")
        },
        attributions={**a.attributions, **b.attributions},
        tasks={**a.tasks, **b.tasks},
        metric_info={**a.metric_info, **b.metric_info},
        provenance=a.provenance,
    )
    page = watched.open(render_report(both, tmp_path / "both.html"))
    cards = page.locator("[data-task]")
    n_all = cards.count()
    page.locator("[data-task-filter='task-1']").click()
    visible = page.locator("[data-task]:visible")
    assert 0 < visible.count() < n_all
    assert set(visible.evaluate_all("els => els.map(e => e.dataset.task)")) == {"task-1"}
    page.locator("[data-task-filter='']").click()
    assert page.locator("[data-task]:visible").count() == n_all
    assert watched.errors == [] and watched.requests == []


def test_default_suite_report_in_browser(default_suite_results, watched, artifacts, tmp_path):
    page = watched.open(render_report(default_suite_results, tmp_path / "default.html"))
    n_tasks = len(default_suite_results.tasks)
    assert page.locator("table.board").count() == n_tasks
    assert page.locator("#curves svg.chart").count() >= n_tasks
    for picker in page.locator("#samples [data-picker]").all():
        picker.locator("button[data-pick='disagree']").click()
        assert picker.locator("[data-panel]:visible").get_attribute("data-panel") == "disagree"
    # a side-bar link brings its section's heading into view below the sticky task bar
    for link in page.locator("nav.side a").all():
        link.click()
        page.wait_for_timeout(50)
        heading = page.locator(f"{link.get_attribute('href')} h2").bounding_box()
        bar = page.locator(".taskbar").bounding_box()
        assert bar["y"] + bar["height"] <= heading["y"] < page.viewport_size["height"]
    page.screenshot(path=str(artifacts / "report-default-suite.png"), full_page=True)
    assert watched.errors == [] and watched.requests == [] and watched.dialogs == []


def test_agreement_measure_switch(tabular_results, watched, artifacts, tmp_path):
    """The measure buttons swap every task's heatmap and its "least agreement" caption."""
    page = watched.open(render_report(tabular_results, tmp_path / "agree.html"))
    section = page.locator("#agreement")
    n_figures = section.locator("figure").count()
    assert n_figures >= 1
    captions = {}
    for key, title, symbol in (
        ("kendall", "Kendall τ", "τ"),
        ("topk", "overlap", "overlap"),
        ("spearman", "Spearman ρ", "ρ"),
    ):
        button = section.locator(f"button[data-pick='{key}']")
        button.click()
        assert button.get_attribute("aria-pressed") == "true"
        assert section.locator("button[aria-pressed='true']").count() == 1
        shown = section.locator(".measure:visible")
        assert shown.count() == n_figures
        assert set(shown.evaluate_all("els => els.map(e => e.dataset.panel)")) == {key}
        assert title in shown.first.locator("svg title").first.text_content()
        captions[key] = shown.first.locator(".legend").inner_text()
        assert f"({symbol} = " in captions[key]
        section.screenshot(path=str(artifacts / f"report-agreement-{key}.png"))
    assert len(set(captions.values())) == 3  # each measure names its own least pair value
    assert "Share of the top" in captions["topk"]
    assert watched.errors == [] and watched.requests == [] and watched.dialogs == []


def _download(page, name: str) -> str:
    with page.expect_download() as info:
        page.locator(f"button[data-download='{name}']").click()
    download = info.value
    assert download.suggested_filename == f"xai-bench-{name}"
    raw = Path(download.path()).read_bytes()
    # CSVs start with a UTF-8 byte order mark so that Excel reads them as UTF-8
    assert raw.startswith(b"\xef\xbb\xbf") == name.endswith(".csv")
    return raw.decode("utf-8-sig")


def test_downloads_hold_the_results_numbers(tabular_results, watched, hostile, tmp_path):
    """Click each download; the CSV and JSON files hold exactly the numbers of Results,
    and hostile explainer names come out as inert text (formula cells prefixed)."""
    r = tabular_results
    formula, markup = "=cmd|' /C calc'!A0", hostile[0] + ',"quoted"'
    real = sorted(e for e in r.scores["explainer"].unique() if e not in ("random", "oracle"))
    names = {real[0]: formula, real[1]: markup, real[2]: "shap.kernel (Ünïcödé ✓ 特徴)"}
    ren = lambda df: df.replace({"explainer": names})  # noqa: E731
    r = replace(
        r,
        scores=ren(r.scores),
        curves=ren(r.curves),
        explanations=ren(r.explanations),
        attributions={(t, names.get(e, e), s): x for (t, e, s), x in r.attributions.items()},
    )
    page = watched.open(render_report(r, tmp_path / "d.html"))
    want = sorted(
        r.scores[["task", "explainer", "metric", "sample", "seed", "score"]].itertuples(
            index=False, name=None
        )
    )

    def unformula(name: str) -> str:  # what a reader undoes: the guard quote
        return name[1:] if name.startswith("'=") else name

    rows = list(csv.DictReader(io.StringIO(_download(page, "scores.csv"))))
    # guarded, quoted, non-ASCII intact
    assert {row["explainer"] for row in rows} >= {"'" + formula, markup, names[real[2]]}
    got = sorted(
        (
            x["task"],
            unformula(x["explainer"]),
            x["metric"],
            int(x["sample"]),
            int(x["seed"]),
            float(x["score"]),
        )
        for x in rows
    )
    assert got == want  # every score, bit for bit

    summary = r.summary().set_index(["task", "explainer", "metric"])
    rows = list(csv.DictReader(io.StringIO(_download(page, "summary.csv"))))
    assert len(rows) == len(summary)
    for x in rows:
        s = summary.loc[(x["task"], unformula(x["explainer"]), x["metric"])]
        for col in ("mean", "ci_low", "ci_high"):
            assert float(x[col]) == s[col]
        assert (
            int(x["n"]) == s["n"]
            and x["higher_is_better"] == str(bool(s["higher_is_better"])).lower()
        )
    ranks = {(x["task"], x["metric"], x["explainer"]): int(x["rank"]) for x in rows}
    for (t, m), sub in summary.reset_index().groupby(["task", "metric"]):
        hib = bool(sub["higher_is_better"].iloc[0])
        best = sub.sort_values("mean", ascending=not hib)["explainer"].iloc[0]
        key = "'" + best if best == formula else best
        assert ranks[(t, m, key)] == 1

    data = json.loads(_download(page, "results.json"))
    assert data["scores_omitted"] == 0
    got = sorted(
        tuple(x[k] for k in ("task", "explainer", "metric", "sample", "seed", "score"))
        for x in data["scores"]
    )
    assert got == want  # JSON keeps names verbatim: it is not a spreadsheet
    assert len(data["summary"]) == len(summary)
    for x in data["summary"]:
        assert x["mean"] == summary.loc[(x["task"], x["explainer"], x["metric"]), "mean"]
    assert page.evaluate("window.__pwned === undefined")
    assert watched.errors == [] and watched.requests == [] and watched.dialogs == []


EIGHT = [
    "random",
    "captum.integrated_gradients",
    "captum.saliency",
    "captum.input_x_gradient",
    "captum.deeplift",
    "captum.feature_ablation",
    "captum.gradient_shap",
    ("shap.kernel", {"n_samples": 32}),
    ("lime.tabular", {"n_samples": 50}),
]


def test_per_sample_tables_never_scroll_sideways(bench, watched, artifacts, tmp_path):
    """8 explainers on a 30-feature task: every column of every per-sample table is on
    screen at 1400 and 1920 px, with no horizontal scrolling."""
    results = bench(["breast_cancer.mlp"], EIGHT, 4)
    page = watched.open(render_report(results, tmp_path / "eight.html"))
    picker = page.locator("#samples [data-picker]").first
    for width in (1400, 1920):
        page.set_viewport_size({"width": width, "height": 900})
        for key in ("best", "worst", "disagree"):
            picker.locator(f"button[data-pick='{key}']").click()
            table = picker.locator("[data-panel]:visible table.feat")
            assert table.locator("thead th.ex").count() == 8
            box = table.evaluate(
                """t => { const s = t.closest('.scroll'), c = t.closest('.card');
                  const r = c.getBoundingClientRect();
                  return {sw: s.scrollWidth, cw: s.clientWidth, tw: t.scrollWidth,
                    right: Math.max(...[...t.querySelectorAll('th, td')].map(
                      e => e.getBoundingClientRect().right)), card: r.right,
                    page: document.documentElement.scrollWidth, view: innerWidth}; }"""
            )
            assert box["sw"] <= box["cw"] and box["tw"] <= box["cw"], (width, box)
            assert box["right"] <= box["card"] and box["page"] <= box["view"], (width, box)
        picker.screenshot(path=str(artifacts / f"report-eight-explainers-{width}.png"))
    assert watched.errors == [] and watched.requests == []


def test_cost_labels_overlap_nothing_in_browser(default_suite_results, watched, tmp_path):
    """Measured with the browser's own font metrics: no point label crosses another
    label, a marker, the Pareto line or the plot's edge; none is cut short."""
    page = watched.open(render_report(default_suite_results, tmp_path / "cost.html"))
    page.set_viewport_size({"width": 1400, "height": 900})
    charts = page.locator("#cost svg.chart").all()
    assert len(charts) == len(default_suite_results.tasks)
    for chart in charts:
        g = chart.evaluate(
            """svg => {
              const vb = svg.viewBox.baseVal, bb = e => { const b = e.getBBox();
                return [b.x, b.y, b.x + b.width, b.y + b.height]; };
              const axis = svg.querySelector('line.axis');
              const front = svg.querySelector(':scope > path.front'), line = [];
              if (front) for (let t = 0; t <= front.getTotalLength(); t += 0.5) {
                const p = front.getPointAtLength(t); line.push([p.x, p.y]); }
              return {w: vb.width, h: vb.height, x0: +axis.getAttribute('x1'),
                ybot: +axis.getAttribute('y1'), line,
                labels: [...svg.querySelectorAll(':scope > text.ptlab')].map(
                  t => [t.textContent, bb(t)]),
                dots: [...svg.querySelectorAll('circle.pt')].map(bb),
                names: [...svg.querySelectorAll('circle.pt title')].map(
                  t => t.textContent.split(':')[0])}; }"""
        )
        labels = dict(g["labels"])
        assert set(labels) == set(g["names"])  # every point named in full
        boxes = list(labels.items())
        for i, (name, b) in enumerate(boxes):
            assert g["x0"] < b[0] and b[2] <= g["w"] and b[1] >= 0 and b[3] <= g["ybot"], name
            for other, c in boxes[i + 1 :]:
                assert not (b[0] < c[2] and c[0] < b[2] and b[1] < c[3] and c[1] < b[3]), (
                    name,
                    other,
                )
            for d in g["dots"]:
                assert not (b[0] < d[2] and d[0] < b[2] and b[1] < d[3] and d[1] < b[3]), name
            assert not any(b[0] < x < b[2] and b[1] < y < b[3] for x, y in g["line"]), name
        for d in g["dots"]:  # no marker on the axes
            assert d[0] > g["x0"] and d[3] < g["ybot"]
    assert watched.errors == []


def test_summary_verdicts_in_browser(default_suite_results, watched, artifacts, tmp_path):
    """--quick default suite: every summary dot names its method under the mouse, printed
    labels stay inside their plot, sanity links land on their check, and n = 8 with 7
    comparisons reads inconclusive, never fail."""
    page = watched.open(render_report(default_suite_results, tmp_path / "default.html"))
    names = set(default_suite_results.scores["explainer"])
    dots = page.locator("#summary svg.strip circle.strip")
    assert dots.count() >= len(default_suite_results.tasks) * 3
    for dot in dots.all():
        dot.scroll_into_view_if_needed()
        box = dot.bounding_box()
        hover = page.evaluate(
            "([x, y]) => { const e = document.elementFromPoint(x, y);"
            " const t = e && (e.querySelector('title') || e.closest('svg').querySelector('title'));"
            " return t ? t.textContent : ''; }",
            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2],
        )
        assert hover.split(":")[0] in names, hover
    for label in page.locator("#summary svg.strip text.strip-label").all():
        svg_box = label.locator("xpath=ancestor::*[name()='svg'][1]").bounding_box()
        box = label.bounding_box()
        assert (
            svg_box["x"] - 1 <= box["x"]
            and box["x"] + box["width"] <= svg_box["x"] + svg_box["width"] + 1
        )
    links = page.locator("#summary .sanity-status a")
    if links.count():
        target = links.first.get_attribute("href")
        links.first.click()
        page.wait_for_timeout(50)
        assert page.locator(target).is_visible() and page.locator(target).locator("h3").count() == 1
    summary = default_suite_results.summary()
    floor = summary.groupby("task")["p_floor_vs_random"].min()
    check = page.locator("#sanity-random tbody tr")
    for row in check.all():
        task = row.locator("td").first.inner_text()
        status = row.locator("td").last.inner_text()
        if floor.get(task, 0) >= 0.05:  # no test can decide: inconclusive, not fail
            assert status == "inconclusive", task
    page.locator("#summary").screenshot(path=str(artifacts / "report-summary.png"))
    assert watched.errors == [] and watched.requests == [] and watched.dialogs == []
