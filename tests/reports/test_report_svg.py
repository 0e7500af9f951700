"""Chart styles and geometry: distinct colours per chart, shared curves, label placement."""

from __future__ import annotations

import re

import numpy as np

from xai_bench.reports import render_report, svg

# the three collisions of the default report, each pair in one task's charts
DEFAULT_GROUPS = [
    ["captum.deeplift", "captum.input_x_gradient", "captum.integrated_gradients", "lime.tabular",
     "random", "shap.gradient", "shap.kernel"],
    ["eli5.explain_prediction", "lime.tabular", "random", "shap.kernel", "shap.tree"],
    ["captum.deeplift", "captum.input_x_gradient", "captum.integrated_gradients",
     "captum.layer_integrated_gradients", "eli5.text", "lime.text", "oracle", "random"],
    ["captum.deeplift", "captum.input_x_gradient", "captum.integrated_gradients", "lime.tabular",
     "oracle", "random", "shap.gradient", "shap.kernel"],
    ["inseq.input_x_gradient", "inseq.integrated_gradients", "inseq.saliency", "random"],
]  # fmt: skip


def _lab(hex_colour: str) -> np.ndarray:
    rgb = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    lin = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    x, y, z = xyz @ lin / np.array([0.95047, 1.0, 1.08883])
    f = lambda t: t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116  # noqa: E731
    return np.array([116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))])


def test_palette_colours_are_far_apart():
    """No two palette colours (nor the control's grey) closer than CIE76 dE 23 (the old
    palette had a blue and a navy, a teal and a cyan)."""
    labs = [_lab(c) for c in (*svg.PALETTE, svg.CONTROL)]
    gaps = [np.linalg.norm(a - b) for i, a in enumerate(labs) for b in labs[i + 1 :]]
    assert min(gaps) > 23


def test_styles_distinct_within_each_chart_and_fixed_across_charts():
    styles = svg.assign_styles(DEFAULT_GROUPS, controls=("random",))
    for g in DEFAULT_GROUPS:
        colours = [styles[e].color for e in g]
        assert len(set(colours)) == len(g), g  # up to 10 methods: colours alone differ
    assert styles["random"] == svg.Style(svg.CONTROL, svg.CONTROL_DASH)
    for a, b in [
        ("captum.integrated_gradients", "shap.gradient"),
        ("lime.text", "captum.deeplift"),
        ("captum.input_x_gradient", "oracle"),
    ]:
        assert styles[a].color != styles[b].color
    # beyond the palette: dashes keep every line of a chart distinct
    big = [f"m{i:02d}" for i in range(25)]
    many = svg.assign_styles([big, big[:3] + ["x"]])
    assert len({many[e] for e in big}) == 25
    assert len({many[e].color for e in big[:10]}) == 10 and many["m10"].dash != ""
    assert many["x"].color not in {many[e].color for e in big[:3]}


def _series(label, y, **kw):
    y = [float(v) for v in y]
    x = np.linspace(0, 1, len(y)).tolist()
    return svg.Series(label, x, y, lo=[v - 0.1 for v in y], hi=[v + 0.1 for v in y], **kw)


def test_identical_curves_alternate_dashes_and_bands_only_where_asked():
    y = np.array([1.0, 0.5, 0.2, 0.1])
    series = [
        _series("random", y[::-1], dashed=True, color=svg.CONTROL),
        _series("a", y, color="#111111"),
        _series("b", y + 1e-4, color="#222222"),  # within a line's width of a
        _series("c", y, color="#333333"),
        _series("d", y * 0.5, color="#444444"),
    ]
    assert svg.shared_curves(series, 1e-9) == [["a", "c"]]
    assert svg.shared_curves(series, svg.line_width_tol((0.0, 1.0))) == [["a", "b", "c"]]
    out = str(
        svg.line_chart(series, title="t", xlabel="x", ylabel="y", y_range=(0, 1), bands={"d"})
    )
    dashes = re.findall(
        r'<polyline class="line" stroke="(#\w+)" stroke-dasharray="([\d ]+)" '
        r'stroke-dashoffset="(-?\d+)"',
        out,
    )
    assert dashes == [
        ("#111111", "7 14", "0"),
        ("#222222", "7 14", "-7"),
        ("#333333", "7 14", "-14"),
    ]
    assert 'data-label="b" data-same="a c"' in out and "<title>b = a, c</title>" in out
    assert out.count('<polygon class="band"') == 1 and 'fill="#444444"' in out


# the sentiment.transformer cost chart of the default report (seconds, deletion AUC)
COST = {
    "lime.text": (0.1062, 0.512),
    "captum.deeplift": (0.0052, 0.549),
    "captum.integrated_gradients": (0.0188, 0.515),
    "captum.layer_integrated_gradients": (0.0192, 0.515),
    "eli5.text": (0.1269, 0.514),
    "captum.input_x_gradient": (0.000286, 0.551),
    "oracle": (0.000011, 0.571),
    "random": (0.000010, 0.776),
}
FRONT = ["captum.input_x_gradient", "captum.deeplift", "captum.integrated_gradients", "lime.text"]


def _intersect(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _front_segments(d: str) -> list[tuple[float, float, float, float]]:
    """Segments of an "M x y H x V y ..." staircase path."""
    tokens = re.findall(r"([MHV])\s*(-?[\d.]+)(?:\s+(-?[\d.]+))?", d)
    x, y, segs = 0.0, 0.0, []
    for cmd, a, b in tokens:
        if cmd == "M":
            x, y = float(a), float(b)
        elif cmd == "H":
            segs.append((min(x, float(a)), y, max(x, float(a)), y))
            x = float(a)
        else:
            segs.append((x, min(y, float(a)), x, max(y, float(a))))
            y = float(a)
    return segs


def label_boxes(out: str) -> dict[str, tuple[float, float, float, float]]:
    """Boxes of the point labels (start-anchored 10 px monospace, baseline y)."""
    return {
        name: (
            float(x),
            float(y) - svg.TEXT_H + 2.5,
            float(x) + svg.CHAR_W * len(name),
            float(y) + 2.5,
        )
        for x, y, name in re.findall(
            r'<text class="ptlab" x="([\d.]+)" y="([\d.]+)">([^<]+)</text>', out
        )
    }


def test_cost_labels_are_whole_and_cross_nothing():
    pts = [
        {"label": k, "x": x, "y": y, "lo": y - 0.1, "hi": y + 0.1, "color": "#123456",
         "control": k == "random"}
        for k, (x, y) in COST.items()
    ]  # fmt: skip
    front = [p for k in FRONT for p in pts if p["label"] == k]
    width, height = 460, 280
    out = str(svg.scatter(pts, title="t", xlabel="s", ylabel="AUC", invert_y=True, front=front))
    boxes = label_boxes(out)
    assert set(boxes) == {*COST, "Pareto front"}  # every label, in full (no "…")
    x0, y0, h = 52.0, 12.0, height - 58.0
    d = re.search(r'<path class="front" d="([^"]+)"/>', out).group(1)
    segs = _front_segments(d)
    assert len(segs) == 2 * (len(FRONT) - 1)
    circles = [
        (float(a), float(b))
        for a, b in re.findall(r'<circle class="pt[^"]*" cx="([\d.]+)" cy="([\d.]+)"', out)
    ]
    names = list(boxes)
    for i, a in enumerate(names):
        box = boxes[a]
        assert x0 < box[0] and box[2] <= width and box[1] >= 0 and box[3] < y0 + h, a
        for b in names[i + 1 :]:
            assert not _intersect(box, boxes[b]), (a, b)
        for s in segs:
            assert not _intersect(box, (s[0] - 0.5, s[1] - 0.5, s[2] + 0.5, s[3] + 0.5)), (a, s)
        for cx, cy in circles:
            assert not _intersect(box, (cx - 5, cy - 5, cx + 5, cy + 5)), (a, cx, cy)
    for cx, cy in circles:  # no marker on an axis or its ticks
        assert cx - 5 > x0 and cy + 5 < y0 + h


def test_report_colours_distinct_per_chart_and_fixed_per_explainer(default_suite_results, tmp_path):
    """Every curve chart of the default report: one (colour, dash) per line and, below the
    palette's size, one colour per line; an explainer's colour is the same in every chart,
    the cost charts and the legends."""
    html = render_report(default_suite_results, tmp_path / "r.html").read_text()
    seen: dict[str, str] = {}
    charts = re.findall(r'<svg class="chart"[^>]*>.*?</svg>', html, flags=re.S)
    n_curve_charts = 0
    for chart in charts:
        lines = re.findall(
            r'<polyline class="line( dashed)?" stroke="(#\w+)" ([^>]*?)data-label="([^"]+)"', chart
        )
        if lines:
            n_curve_charts += 1
            colours = [c for d, c, _, _ in lines if not d]
            assert len(set(colours)) == len(colours), chart[:200]
            # bands for at most the top 3 and the control, however many methods
            assert chart.count('<polygon class="band"') <= 4
        for _d, colour, _a, name in lines:
            assert seen.setdefault(name, colour) == colour, name
        for colour, name in re.findall(r'fill="(#\w+)"><title>([^:<]+):', chart):  # cost
            assert seen.setdefault(name, colour) == colour, name
    assert n_curve_charts >= 2 * len(default_suite_results.tasks) - 1
    assert seen["random"] == svg.CONTROL
    legends = re.findall(
        r'<line x1="1" x2="21" y1="4" y2="4" stroke="(#\w+)"[^>]*/></svg><code>([^<]+)</code>', html
    )
    assert legends and all(seen.get(n, c) == c for c, n in legends)


def test_legend_names_shared_curves(default_suite_results, tmp_path):
    """sentiment.transformer: LIG's deletion curve is IG's; the legend says so."""
    html = render_report(default_suite_results, tmp_path / "r.html").read_text()
    shared = re.findall(r'data-label="([^"]+)" data-same="([^"]+)"', html)
    assert shared  # the default suite has coinciding curves (synthetic.linear, text)
    same = re.findall(r'<code>([^<]+)</code><small class="same">= <code>([^<]+)</code>', html)
    assert same
    for a, b in same:  # each named pair is a drawn pair
        assert any(x == a and b in y.split() for x, y in shared), (a, b)
