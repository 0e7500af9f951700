"""Inline SVG charts for the report: small, dependency-free, escaped.

Every function returns :class:`markupsafe.Markup`. Text that may come from users
(labels, titles, tokens) only enters through ``Markup.format`` or ``escape``, which
escape it; numbers are formatted here. Colours are CSS variables or computed
``rgb()`` strings, never user input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from markupsafe import Markup

__all__ = [
    "PALETTE",
    "Series",
    "diverging",
    "dot_strip",
    "heatmap",
    "hbar",
    "image_map",
    "line_chart",
    "scatter",
    "sequential",
]

# categorical palette readable on light and dark backgrounds (Okabe-Ito + extras)
PALETTE = (
    "#3b6fd8",
    "#e69f00",
    "#d9534f",
    "#2a9d8f",
    "#8e5bd6",
    "#4caf50",
    "#e377c2",
    "#8c564b",
    "#17becf",
    "#bcbd22",
    "#1f3a93",
    "#c71585",
)
CONTROL = "#8a8f98"


def _f(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".") if math.isfinite(v) else "0"


def _tick(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 100 or abs(v) < 0.01:
        return f"{v:.2g}"
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / (n - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    start = math.ceil(lo / step - 1e-9) * step
    return [round(start + i * step, 12) for i in range(int((hi - start) / step + 1e-9) + 1)]


def diverging(v: float, alpha: bool = False) -> str:
    """Red for positive, blue for negative; ``v`` in [-1, 1]."""
    v = max(-1.0, min(1.0, float(v) if math.isfinite(v) else 0.0))
    if alpha:
        rgb = "214,60,50" if v >= 0 else "45,110,200"
        return f"rgba({rgb},{abs(v) * 0.85:.2f})"
    t = abs(v)
    base = (214, 60, 50) if v >= 0 else (45, 110, 200)
    r, g, b = (round(255 + (c - 255) * t) for c in base)
    return f"rgb({r},{g},{b})"


def sequential(v: float) -> str:
    """White to indigo for ``v`` in [0, 1]; pale orange below 0 (anti-correlation)."""
    v = float(v) if math.isfinite(v) else 0.0
    if v < 0:
        t = min(1.0, -v)
        return f"rgb({round(255 - 25 * t)},{round(255 - 70 * t)},{round(255 - 150 * t)})"
    t = min(1.0, v)
    return f"rgb({round(255 - 165 * t)},{round(255 - 170 * t)},{round(255 - 35 * t)})"


def _ink(fill_t: float) -> str:
    return "#fff" if fill_t > 0.55 else "#111"


@dataclass
class Series:
    """One line of a line chart, with an optional band (lo, hi)."""

    label: str
    x: Sequence[float]
    y: Sequence[float]
    lo: Sequence[float] | None = None
    hi: Sequence[float] | None = None
    color: str = PALETTE[0]
    dashed: bool = False
    extra: dict = field(default_factory=dict)


def _frame(
    width: int, height: int, title: str, desc: str, body: list[Markup], cls: str = "chart"
) -> Markup:
    head = Markup(
        '<svg class="{}" viewBox="0 0 {} {}" width="{}" height="{}" role="img">'
        "<title>{}</title><desc>{}</desc>"
    ).format(cls, width, height, width, height, title, desc)
    return head + Markup("").join(body) + Markup("</svg>")


def _axes(
    x0: float,
    y0: float,
    w: float,
    h: float,
    xt: list[float],
    yt: list[float],
    sx,
    sy,
    xlabel: str,
    ylabel: str,
    xfmt=_tick,
) -> list[Markup]:
    out = [Markup('<g class="axes">')]
    for t in yt:
        y = sy(t)
        out.append(
            Markup(
                '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="tick" x="{}" y="{}" text-anchor="end">{}</text>'
            ).format(_f(x0), _f(x0 + w), _f(y), _f(y), _f(x0 - 5), _f(y + 3.5), _tick(t))
        )
    for t in xt:
        x = sx(t)
        out.append(
            Markup(
                '<line class="tickmark" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>'
            ).format(_f(x), _f(x), _f(y0 + h), _f(y0 + h + 4), _f(x), _f(y0 + h + 16), xfmt(t))
        )
    out.append(
        Markup(
            '<line class="axis" x1="{}" x2="{}" y1="{}" y2="{}"/>'
            '<text class="label" x="{}" y="{}" text-anchor="middle">{}</text>'
            '<text class="label" transform="translate({} {}) rotate(-90)" text-anchor="middle">{}</text>'
            "</g>"
        ).format(
            _f(x0),
            _f(x0 + w),
            _f(y0 + h),
            _f(y0 + h),
            _f(x0 + w / 2),
            _f(y0 + h + 32),
            xlabel,
            _f(x0 - 38),
            _f(y0 + h / 2),
            ylabel,
        )
    )
    return out


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    y_range: tuple[float, float] | None = None,
    width: int = 360,
    height: int = 250,
    x_percent: bool = True,
) -> Markup:
    """Lines with optional CI bands; dashed lines for controls."""
    x0, y0, w, h = 50.0, 10.0, width - 64.0, height - 56.0
    ys = [v for s in series for v in (*s.y, *(s.lo or ()), *(s.hi or ())) if math.isfinite(v)]
    lo, hi = y_range or ((min(ys), max(ys)) if ys else (0.0, 1.0))
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    sx = lambda v: x0 + w * float(v)  # noqa: E731  x is a fraction in [0, 1]
    sy = lambda v: y0 + h * (1 - (float(v) - lo) / (hi - lo))  # noqa: E731
    fmt = (lambda t: f"{round(t * 100)}%") if x_percent else _tick
    body = _axes(x0, y0, w, h, _ticks(0, 1), _ticks(lo, hi), sx, sy, xlabel, ylabel, fmt)
    for s in series:
        pts = [(sx(a), sy(b)) for a, b in zip(s.x, s.y, strict=True) if math.isfinite(b)]
        if s.lo is not None and s.hi is not None and len(s.x):
            top = [f"{_f(sx(a))},{_f(sy(b))}" for a, b in zip(s.x, s.hi, strict=True)]
            bot = [f"{_f(sx(a))},{_f(sy(b))}" for a, b in zip(s.x, s.lo, strict=True)][::-1]
            body.append(
                Markup('<polygon class="band" fill="{}" points="{}"/>').format(
                    s.color, " ".join(top + bot)
                )
            )
        path = " ".join(f"{_f(a)},{_f(b)}" for a, b in pts)
        body.append(
            Markup(
                '<polyline class="line{}" stroke="{}" points="{}"><title>{}</title></polyline>'
            ).format(" dashed" if s.dashed else "", s.color, path, s.label)
        )
    return _frame(width, height, title, f"{ylabel} against {xlabel}", body)


def hbar(value: float, scale: float, width: int = 110, height: int = 14) -> Markup:
    """One diverging horizontal bar around a centre line; ``scale`` is max |value|."""
    mid = width / 2
    frac = 0.0 if not scale or not math.isfinite(value) else max(-1.0, min(1.0, value / scale))
    x = mid if frac >= 0 else mid + frac * mid
    cls = "pos" if frac >= 0 else "neg"
    return Markup(
        '<svg class="hbar" viewBox="0 0 {} {}" width="{}" height="{}" aria-hidden="true">'
        '<line class="mid" x1="{}" x2="{}" y1="0" y2="{}"/>'
        '<rect class="{}" x="{}" y="2" width="{}" height="{}"/></svg>'
    ).format(
        width,
        height,
        width,
        height,
        _f(mid),
        _f(mid),
        height,
        cls,
        _f(x),
        _f(abs(frac) * mid),
        height - 4,
    )


def heatmap(
    matrix: np.ndarray,
    rows: Sequence[str],
    cols: Sequence[str],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    signed: bool = False,
    annotate: bool = True,
    cell: int = 34,
    label_width: int = 190,
    numbered: bool = False,
) -> Markup:
    """A labelled matrix. ``signed``: diverging colours scaled by max |value|.

    ``numbered``: columns are labelled 1..n and rows "name n" (square matrices with
    long names, e.g. agreement between explainers).
    """
    m = np.asarray(matrix, dtype=np.float64)
    n_r, n_c = m.shape
    top = 14
    names = [(str(r), str(c)) for r in rows for c in cols]  # tooltips keep the full names
    if numbered:
        rows = [f"{_clip(r, 30)}  {i + 1}" for i, r in enumerate(rows)]
        cols = [str(j + 1) for j in range(n_c)]
    longest = max((len(str(c)) for c in cols), default=1)
    foot = 40 if numbered else int(min(16, longest) * 5 + 34)
    width = label_width + max(n_c * cell + 10, 10 * len(xlabel) // 2 + 20)
    height = top + n_r * cell + foot
    scale = float(np.nanmax(np.abs(m))) if signed and np.isfinite(m).any() else 1.0
    scale = scale or 1.0
    body: list[Markup] = []
    for i in range(n_r):
        y = top + i * cell
        body.append(
            Markup('<text class="rowlab" x="{}" y="{}" text-anchor="end">{}</text>').format(
                label_width - 6, _f(y + cell / 2 + 4), _clip(rows[i], 34)
            )
        )
        for j in range(n_c):
            v = m[i, j]
            t = v / scale if signed else v
            fill = diverging(t) if signed else sequential(t)
            txt = "" if not math.isfinite(v) else (f"{round(v, 2) + 0.0:.2f}" if annotate else "")
            body.append(
                Markup(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                    "<title>{} × {}: {}</title></rect>"
                ).format(
                    label_width + j * cell,
                    y,
                    cell - 1,
                    cell - 1,
                    fill,
                    *names[i * n_c + j],
                    f"{v:.3f}" if math.isfinite(v) else "n/a",
                )
            )
            if txt and cell >= 26:
                body.append(
                    Markup(
                        '<text class="cellval" x="{}" y="{}" fill="{}" text-anchor="middle">{}</text>'
                    ).format(
                        _f(label_width + j * cell + cell / 2),
                        _f(y + cell / 2 + 4),
                        _ink(abs(t)),
                        txt.replace("0.", ".", 1),
                    )
                )
    ybot = top + n_r * cell
    for j in range(n_c):
        x = label_width + j * cell + cell / 2
        if numbered:
            body.append(
                Markup('<text class="collab" x="{}" y="{}" text-anchor="middle">{}</text>').format(
                    _f(x), _f(ybot + 14), cols[j]
                )
            )
            continue
        body.append(
            Markup(
                '<text class="collab" transform="translate({} {}) rotate(-50)" text-anchor="end">{}'
                "</text>"
            ).format(_f(x + 4), _f(ybot + 8), _clip(cols[j], 16))
        )
    body.append(
        Markup('<text class="label" x="{}" y="{}" text-anchor="middle">{}</text>').format(
            _f(label_width + n_c * cell / 2), height - 4, xlabel
        )
    )
    return _frame(width, height, title, f"{ylabel} by {xlabel}", body, "chart heat")


def _clip(s: str, n: int = 28) -> str:
    s = str(s)
    return s if len(s) <= n else s[: n - 1] + "…"


def image_map(image: np.ndarray, attr: np.ndarray | None, *, title: str, size: int = 128) -> Markup:
    """The grayscale input, or the attribution as a diverging heatmap (red +, blue −,
    scaled by max |a|) with dots marking the input's ink (darker = more ink)."""
    img = np.asarray(image, dtype=np.float64)
    h, w = img.shape
    c = size / max(h, w)
    lo, hi = float(np.nanmin(img)), float(np.nanmax(img))
    ink = (img - lo) / (hi - lo or 1.0)
    body: list[Markup] = []
    cell = Markup('<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>')
    if attr is None:
        for i in range(h):
            for j in range(w):
                g = round(255 * (1 - ink[i, j]))
                body.append(cell.format(_f(j * c), _f(i * c), _f(c), _f(c), f"rgb({g},{g},{g})"))
        return _frame(size, size, title, "the input image", body, "chart img")
    a = np.asarray(attr, dtype=np.float64)
    scale = float(np.nanmax(np.abs(a))) or 1.0
    for i in range(h):
        for j in range(w):
            body.append(cell.format(_f(j * c), _f(i * c), _f(c), _f(c), diverging(a[i, j] / scale)))
    dot = Markup('<circle cx="{}" cy="{}" r="{}" fill="#222" fill-opacity="{}"/>')
    for i in range(h):
        for j in range(w):
            if ink[i, j] > 0.15:
                body.append(
                    dot.format(
                        _f((j + 0.5) * c),
                        _f((i + 0.5) * c),
                        _f(c * 0.14),
                        f"{0.25 + 0.6 * ink[i, j]:.2f}",
                    )
                )
    return _frame(
        size, size, title, "attribution heatmap; dots mark the input's ink", body, "chart img"
    )


def scatter(
    points: Sequence[dict],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    logx: bool = True,
    invert_y: bool = False,
    front: Sequence[dict] = (),
    width: int = 460,
    height: int = 280,
) -> Markup:
    """Points ``{label, x, y, lo, hi, color, control}``; optional log x; y whiskers.

    ``front``: the Pareto-optimal points, cheapest first (see ``tables.pareto_front``),
    joined by a step line, ringed, and named in a legend.
    """
    x0, y0, w, h = 52.0, 12.0, width - 190.0, height - 58.0
    pts = [p for p in points if math.isfinite(p["x"]) and math.isfinite(p["y"])]
    if not pts:
        return Markup('<p class="muted">No cost data.</p>')
    xv = [math.log10(max(p["x"], 1e-6)) if logx else p["x"] for p in pts]
    yv = [
        v
        for p in pts
        for v in (p["y"], p.get("lo", p["y"]), p.get("hi", p["y"]))
        if math.isfinite(v)
    ]
    xlo, xhi = math.floor(min(xv)), math.ceil(max(xv))
    if xhi <= xlo:
        xhi = xlo + 1
    ylo, yhi = min(yv), max(yv)
    pad = (yhi - ylo) * 0.08 or 0.05
    ylo, yhi = ylo - pad, yhi + pad
    sx = lambda v: x0 + w * (v - xlo) / (xhi - xlo)  # noqa: E731
    if invert_y:
        sy = lambda v: y0 + h * (v - ylo) / (yhi - ylo)  # noqa: E731
    else:
        sy = lambda v: y0 + h * (1 - (v - ylo) / (yhi - ylo))  # noqa: E731
    xt = [float(t) for t in range(xlo, xhi + 1)] if logx else _ticks(xlo, xhi)
    fmt = (lambda t: _secs(10**t)) if logx else _tick
    body = _axes(x0, y0, w, h, xt, _ticks(ylo, yhi), sx, sy, xlabel, ylabel, fmt)
    centres = [(sx(xl), sy(p["y"])) for p, xl in zip(pts, xv, strict=True)]
    boxes: list[tuple[float, float, float, float]] = []
    on_front = [p for p in front if math.isfinite(p["x"]) and math.isfinite(p["y"])]
    if on_front:
        xy = [(sx(math.log10(max(p["x"], 1e-6)) if logx else p["x"]), sy(p["y"])) for p in on_front]
        # staircase: along the cheaper point's score to the next cost, then to its score
        d = f"M{_f(xy[0][0])} {_f(xy[0][1])}" + "".join(f" H{_f(x)} V{_f(y)}" for x, y in xy[1:])
        lx, ly = x0 + w + 14, y0 + 10  # the key sits top right, in the labels' margin
        boxes.append((lx - 4, ly - 11, float(width), ly + 4))  # labels keep clear of it
        body.append(
            Markup(
                '<path class="front" d="{}"/><g class="front-key">'
                '<path class="front" d="M{} {} h12 v-8 h12"/><circle class="pt front" cx="{}" '
                'cy="{}" r="4"/><text class="ptlab" x="{}" y="{}">Pareto front</text></g>'
            ).format(d, _f(lx), _f(ly), _f(lx + 12), _f(ly), _f(lx + 30), _f(ly - 1))
        )
    for k in sorted(range(len(pts)), key=lambda q: centres[q][1]):
        p, (cx, cy) = pts[k], centres[k]
        label = _clip(p["label"], 30)
        lx, ly, anchor = _place_label(cx, cy, 6.1 * len(label), centres, boxes, width)
        if abs(ly - (cy + 4)) > 1:  # pushed below its point: a leader says whose it is
            body.append(
                Markup('<line class="leader" x1="{}" y1="{}" x2="{}" y2="{}"/>').format(
                    _f(cx), _f(cy), _f(lx), _f(ly - 4)
                )
            )
        if math.isfinite(p.get("lo", math.nan)) and math.isfinite(p.get("hi", math.nan)):
            body.append(
                Markup(
                    '<line class="whisker" stroke="{}" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                ).format(p["color"], _f(cx), _f(cx), _f(sy(p["lo"])), _f(sy(p["hi"])))
            )
        body.append(
            Markup(
                '<circle class="{}" cx="{}" cy="{}" r="5" fill="{}"><title>{}: {} s, {}{}</title>'
                '</circle><text class="ptlab" x="{}" y="{}" text-anchor="{}">{}</text>'
            ).format(
                "pt ctl" if p.get("control") else ("pt on-front" if p.get("front") else "pt"),
                _f(cx),
                _f(cy),
                p["color"],
                p["label"],
                f"{p['x']:.3g}",
                f"{p['y']:.3f}",
                " · Pareto front" if p.get("front") else "",
                _f(lx),
                _f(ly),
                anchor,
                label,
            )
        )
    return _frame(width, height, title, f"{ylabel} against {xlabel}", body)


def _place_label(
    cx: float, cy: float, w: float, centres: list, boxes: list, width: float
) -> tuple[float, float, str]:
    """Right of the point, else left, else lower: the first spot that hits no other
    point and no label already placed. Appends the chosen box to ``boxes``."""

    def free(x0: float, y: float) -> bool:
        box = (x0, y - 9, x0 + w, y + 2)
        hit_pt = any(
            box[0] - 5 < px < box[2] + 5 and box[1] - 5 < py < box[3] + 5
            for px, py in centres
            if (px, py) != (cx, cy)
        )
        hit_box = any(
            box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in boxes
        )
        return not hit_pt and not hit_box and x0 >= 0 and x0 + w <= width

    for dy in range(0, 100, 11):
        for x0, anchor, tx in ((cx + 8, "start", cx + 8), (cx - 8 - w, "end", cx - 8)):
            if free(x0, cy + 4 + dy):
                boxes.append((x0, cy + 4 + dy - 9, x0 + w, cy + 4 + dy + 2))
                return tx, cy + 4 + dy, anchor
    boxes.append((cx + 8, cy - 5, cx + 8 + w, cy + 6))
    return cx + 8, cy + 4, "start"


def _secs(v: float) -> str:
    if v >= 1:
        return f"{v:g} s"
    if v >= 1e-3:
        return f"{v * 1e3:g} ms"
    return f"{v * 1e6:g} µs"


STRIP_CLASSES = {"best": "#1e9e4a", "tied": "#d99a00", "worse": "#9aa1ad", "control": "none"}


def dot_strip(points: Sequence[dict], *, title: str, xlabel: str, width: int = 420) -> Markup:
    """Each explainer's mean and 95% CI on one shared axis, one thin row each.

    ``points``: ``{label, mean, lo, hi, kind}`` with kind in best/tied/worse/control.
    """
    pts = [p for p in points if math.isfinite(p["mean"])]
    if not pts:
        return Markup("")
    vals = [v for p in pts for v in (p["mean"], p["lo"], p["hi"]) if math.isfinite(v)]
    lo, hi = min(vals), max(vals)
    pad = (hi - lo) * 0.05 or 0.05
    lo, hi = lo - pad, hi + pad
    x0, w, row = 10.0, width - 20.0, 7
    top = 6
    height = top + row * len(pts) + 34
    sx = lambda v: x0 + w * (v - lo) / (hi - lo)  # noqa: E731
    body: list[Markup] = []
    for i, p in enumerate(pts):
        y = top + row * i + row / 2
        color = STRIP_CLASSES.get(p["kind"], "#9aa1ad")
        if math.isfinite(p["lo"]) and math.isfinite(p["hi"]):
            body.append(
                Markup(
                    '<line class="whisker" stroke="{}" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                ).format(
                    "#9aa1ad" if color == "none" else color,
                    _f(sx(p["lo"])),
                    _f(sx(p["hi"])),
                    _f(y),
                    _f(y),
                )
            )
        body.append(
            Markup(
                '<circle class="{}" cx="{}" cy="{}" r="3.5" fill="{}"><title>{}: {}</title></circle>'
            ).format(
                "strip " + p["kind"],
                _f(sx(p["mean"])),
                _f(y),
                color,
                p["label"],
                f"{p['mean']:.3f}",
            )
        )
    ybase = top + row * len(pts) + 4
    for t in _ticks(lo, hi):
        body.append(
            Markup(
                '<line class="tickmark" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="tick" x="{}" y="{}" text-anchor="middle">{}</text>'
            ).format(_f(sx(t)), _f(sx(t)), ybase, ybase + 3, _f(sx(t)), ybase + 14, _tick(t))
        )
    body.append(
        Markup('<line class="axis" x1="{}" x2="{}" y1="{}" y2="{}"/>').format(
            _f(x0), _f(x0 + w), ybase, ybase
        )
    )
    body.append(
        Markup('<text class="label" x="{}" y="{}" text-anchor="middle">{}</text>').format(
            _f(x0 + w / 2), height - 2, xlabel
        )
    )
    return _frame(
        width, height, title, f"mean and 95% CI per explainer of {xlabel}", body, "chart strip"
    )


def ci_bar(
    mean: float, lo: float, hi: float, axis: tuple[float, float], color: str, width: int = 96
) -> Markup:
    """A mean dot and its CI as a line, on a scale shared by the whole column."""
    a, b = axis
    if not all(math.isfinite(v) for v in (mean, a, b)) or b <= a:
        return Markup("")
    sx = lambda v: 3 + (width - 6) * (min(max(v, a), b) - a) / (b - a)  # noqa: E731
    lo = lo if math.isfinite(lo) else mean
    hi = hi if math.isfinite(hi) else mean
    return Markup(
        '<svg class="cibar" viewBox="0 0 {w} 8" width="{w}" height="8" aria-hidden="true">'
        '<line class="track" x1="3" x2="{e}" y1="4" y2="4"/>'
        '<line x1="{l}" x2="{h}" y1="4" y2="4" stroke="{c}" stroke-width="2"/>'
        '<circle cx="{m}" cy="4" r="2.6" fill="{c}"/></svg>'
    ).format(w=width, e=width - 3, l=_f(sx(lo)), h=_f(sx(hi)), m=_f(sx(mean)), c=color)
