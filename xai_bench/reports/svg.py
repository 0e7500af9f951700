"""Inline SVG charts for the report: small, dependency-free, escaped.

Every function returns :class:`markupsafe.Markup`. Text that may come from users
(labels, titles, tokens) only enters through ``Markup.format`` or ``escape``, which
escape it; numbers are formatted here. Colours are CSS variables or computed
``rgb()`` strings, never user input.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
from markupsafe import Markup

__all__ = [
    "PALETTE",
    "Series",
    "Style",
    "assign_styles",
    "line_width_tol",
    "shared_curves",
    "swatch",
    "diverging",
    "dot_strip",
    "heatmap",
    "hbar",
    "image_map",
    "line_chart",
    "scatter",
    "sequential",
]

# categorical palette readable on light and dark backgrounds: ten hues far enough apart to
# tell apart (no two blues, no two pinks); beyond ten, dashes tell the lines apart
PALETTE = (
    "#3b6fd8",
    "#e69f00",
    "#d9534f",
    "#2a9d8f",
    "#8e5bd6",
    "#6cbf3c",
    "#e377c2",
    "#8c564b",
    "#66ccff",
    "#b5a000",
)
CONTROL = "#8a8f98"
CONTROL_DASH = "5 4"
# line patterns beyond the palette (the controls' "5 4" is kept for them)
DASHES = ("", "9 3", "2 3", "9 3 2 3")


@dataclass(frozen=True)
class Style:
    """How one explainer is drawn everywhere in a report: colour and line dash."""

    color: str
    dash: str = ""


def assign_styles(
    groups: Sequence[Sequence[str]], controls: Sequence[str] = ()
) -> dict[str, Style]:
    """One style per name, fixed for the whole report, distinct within every group.

    A group is what one chart shows (a task's explainers). Names are taken in sorted
    order; each gets the first palette colour no name sharing a group with it has, and
    only when a group holds more names than colours, a colour with a new dash.
    Controls are grey and dashed.
    """
    combos = [Style(c, d) for d in DASHES for c in PALETTE]
    names = sorted({n for g in groups for n in g})
    out: dict[str, Style] = {n: Style(CONTROL, CONTROL_DASH) for n in names if n in controls}
    for n in names:
        if n in out:
            continue
        taken = {out[m] for g in groups if n in g for m in g if m in out}
        colours = {s.color for s in taken}
        free = [s for s in combos if s not in taken]
        out[n] = next((s for s in free if s.color not in colours), free[0] if free else combos[0])
    return out


def swatch(style: Style, width: int = 22) -> Markup:
    """A short line in the style, for legends."""
    return Markup(
        '<svg class="swatch" viewBox="0 0 {w} 8" width="{w}" height="8" aria-hidden="true">'
        '<line x1="1" x2="{e}" y1="4" y2="4" stroke="{c}" stroke-width="3"{d}/></svg>'
    ).format(
        w=width,
        e=width - 1,
        c=style.color,
        d=Markup(' stroke-dasharray="{}"').format(style.dash) if style.dash else "",
    )


def shared_curves(series: Sequence[Series], tol: float = 1e-9) -> list[list[str]]:
    """Groups (two or more labels, in series order) of series no further apart than
    ``tol`` at any point, which would hide each other; dashed controls are left out."""
    groups: list[list[Series]] = []
    for s in series:
        if s.dashed:
            continue
        for g in groups:
            r = g[0]
            same_x = len(r.x) == len(s.x) and np.allclose(r.x, s.x, atol=tol, rtol=0)
            if same_x and np.allclose(r.y, s.y, atol=tol, rtol=0, equal_nan=True):
                g.append(s)
                break
        else:
            groups.append([s])
    return [[s.label for s in g] for g in groups if len(g) > 1]


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
    dash: str = ""


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


def line_width_tol(y_range: tuple[float, float], height: int = 250) -> float:
    """The y distance one line's width (2 px) covers on a line chart of that range."""
    lo, hi = y_range
    return 2.0 * (hi - lo) / (height - 56.0)


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
    x_range: tuple[float, float] = (0.0, 1.0),
    bands: Collection[str] | None = None,
) -> Markup:
    """Lines with optional CI bands; dashed lines for controls.

    ``bands``: the labels whose band is drawn (default all): with many methods the
    overlapping bands of all of them hide each other. Series on identical points share
    their line as alternating dashes of each colour, so that none hides the others.
    """
    x0, y0, w, h = 50.0, 10.0, width - 64.0, height - 56.0
    ys = [v for s in series for v in (*s.y, *(s.lo or ()), *(s.hi or ())) if math.isfinite(v)]
    lo, hi = y_range or ((min(ys), max(ys)) if ys else (0.0, 1.0))
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    xa, xb = x_range
    sx = lambda v: x0 + w * (float(v) - xa) / (xb - xa)  # noqa: E731
    sy = lambda v: y0 + h * (1 - (float(v) - lo) / (hi - lo))  # noqa: E731
    fmt = (lambda t: f"{round(t * 100)}%") if x_percent else _tick
    xt = _ticks(xa, xb) if x_percent else [float(t) for t in range(math.ceil(xa), int(xb) + 1)]
    body = _axes(x0, y0, w, h, xt, _ticks(lo, hi), sx, sy, xlabel, ylabel, fmt)
    shared = {
        lab: (i, g)
        for g in shared_curves(series, line_width_tol((lo, hi), height))
        for i, lab in enumerate(g)
    }
    for s in series:
        i, group = shared.get(s.label, (0, [s.label]))
        draw_band = (bands is None or s.label in bands) and i == 0
        if draw_band and s.lo is not None and s.hi is not None and len(s.x):
            top = [f"{_f(sx(a))},{_f(sy(b))}" for a, b in zip(s.x, s.hi, strict=True)]
            bot = [f"{_f(sx(a))},{_f(sy(b))}" for a, b in zip(s.x, s.lo, strict=True)][::-1]
            body.append(
                Markup('<polygon class="band" fill="{}" points="{}"/>').format(
                    s.color, " ".join(top + bot)
                )
            )
    for s in series:
        i, group = shared.get(s.label, (0, [s.label]))
        pts = [(sx(a), sy(b)) for a, b in zip(s.x, s.y, strict=True) if math.isfinite(b)]
        path = " ".join(f"{_f(a)},{_f(b)}" for a, b in pts)
        dash = ""
        if len(group) > 1:  # k identical lines: each colour every k-th dash
            dash = f'stroke-dasharray="7 {7 * (len(group) - 1)}" stroke-dashoffset="{-7 * i}" '
        elif s.dash:
            dash = f'stroke-dasharray="{s.dash}" '
        same = [g for g in group if g != s.label]
        body.append(
            Markup(
                '<polyline class="line{}" stroke="{}" {}points="{}" data-label="{}"{}>'
                "<title>{}{}</title></polyline>"
            ).format(
                " dashed" if s.dashed else "",
                s.color,
                Markup(dash),
                path,
                s.label,
                Markup(' data-same="{}"').format(" ".join(same)) if same else "",
                s.label,
                (" = " + ", ".join(same)) if same else "",
            )
        )
    return _frame(width, height, title, f"{ylabel} against {xlabel}", body)


def hbar(value: float, scale: float, width: int = 110, height: int = 14) -> Markup:
    """One diverging horizontal bar around a centre line; ``scale`` is max |value|."""
    mid = width / 2
    frac = 0.0 if not scale or not math.isfinite(value) else max(-1.0, min(1.0, value / scale))
    x = mid if frac >= 0 else mid + frac * mid
    cls = "pos" if frac >= 0 else "neg"
    return Markup(
        '<svg class="hbar" viewBox="0 0 {} {}" width="{}" height="{}" preserveAspectRatio="none"'
        ' aria-hidden="true">'
        '<line class="mid" x1="{}" x2="{}" y1="0" y2="{}" vector-effect="non-scaling-stroke"/>'
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


def outline_path(mask: np.ndarray, c: float) -> str:
    """SVG path data tracing the border of the True cells of a 2-D ``mask`` drawn with
    cells of side ``c``: one segment per run of border edges, no fill."""
    m = np.pad(np.asarray(mask, dtype=bool), 1)
    parts: list[str] = []
    # horizontal borders: row i of dh lies at y = i, cell j spans x in [j, j + 1]
    for axis, diff in (
        ("h", m[1:, 1:-1] != m[:-1, 1:-1]),
        ("v", (m[1:-1, 1:] != m[1:-1, :-1]).T),
    ):
        for i, row in enumerate(diff):
            edges = np.flatnonzero(np.diff(np.concatenate([[0], row.astype(int), [0]])))
            for a, b in zip(edges[::2], edges[1::2], strict=True):
                x, y = (a, i) if axis == "h" else (i, a)
                parts.append(f"M{_f(x * c)} {_f(y * c)}{axis}{_f((b - a) * c)}")
    return "".join(parts)


def _outline(mask: np.ndarray | None, c: float) -> list[Markup]:
    if mask is None or not np.asarray(mask).any():
        return []
    d = outline_path(mask, c)
    return [Markup('<path class="truth-halo" d="{}"/><path class="truth" d="{}"/>').format(d, d)]


#: images with more pixels than this are drawn as one embedded PNG, not a rect per pixel
#: (a 32 x 32 map: ~3 KB instead of ~60 KB)
RASTER_PIXELS = 256


def png_data_uri(rgb: np.ndarray) -> str:
    """An (H, W, 3) uint8 image as a ``data:image/png`` URI (the report stays one file)."""
    import base64
    import struct
    import zlib

    a = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = a.shape[:2]
    raw = b"".join(b"\x00" + a[i].tobytes() for i in range(h))  # filter 0 per row

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _diverging_rgb(t: np.ndarray) -> np.ndarray:
    """:func:`diverging` for an array of values in [-1, 1], as (..., 3) uint8."""
    t = np.clip(np.nan_to_num(np.asarray(t, dtype=np.float64)), -1.0, 1.0)
    pos, neg = np.array([214, 60, 50]), np.array([45, 110, 200])
    base = np.where(t[..., None] >= 0, pos, neg)
    return np.rint(255 + (base - 255) * np.abs(t)[..., None]).astype(np.uint8)


def _raster(rgb: np.ndarray, size: float) -> Markup:
    return Markup(
        '<image class="raster" x="0" y="0" width="{}" height="{}" preserveAspectRatio="none" '
        'href="{}"/>'
    ).format(_f(size), _f(size), png_data_uri(rgb))


def image_map(
    image: np.ndarray,
    attr: np.ndarray | None,
    *,
    title: str,
    size: int = 128,
    outline: np.ndarray | None = None,
    rgb: np.ndarray | None = None,
) -> Markup:
    """The input (grayscale, or ``rgb`` (H, W, 3) in [0, 1]), or the attribution as a
    diverging heatmap (red +, blue −, scaled by max |a|) with dots marking the input's
    ink (darker = more ink). ``outline``: a boolean (H, W) mask (the task's ground
    truth) whose border is drawn over the map."""
    img = np.asarray(image, dtype=np.float64)
    h, w = img.shape
    c = size / max(h, w)
    lo, hi = float(np.nanmin(img)), float(np.nanmax(img))
    ink = (img - lo) / (hi - lo or 1.0)
    body: list[Markup] = []
    cell = Markup('<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>')
    what = "; the line outlines the true mask" if outline is not None else ""
    raster = h * w > RASTER_PIXELS
    if attr is None:
        if raster:
            grey = np.rint(255 * (1 - ink)).astype(np.uint8)
            pixels = (
                np.rint(255 * np.clip(rgb, 0, 1)).astype(np.uint8)
                if rgb is not None
                else np.repeat(grey[..., None], 3, axis=-1)
            )
            body = [_raster(pixels, size), *_outline(outline, c)]
            return _frame(size, size, title, "the input image" + what, body, "chart img")
        for i in range(h):
            for j in range(w):
                if rgb is not None:
                    r, g, b = (round(255 * float(np.clip(v, 0, 1))) for v in rgb[i, j])
                    fill = f"rgb({r},{g},{b})"
                else:
                    g = round(255 * (1 - ink[i, j]))
                    fill = f"rgb({g},{g},{g})"
                body.append(cell.format(_f(j * c), _f(i * c), _f(c), _f(c), fill))
        body += _outline(outline, c)
        return _frame(size, size, title, "the input image" + what, body, "chart img")
    a = np.asarray(attr, dtype=np.float64)
    scale = float(np.nanmax(np.abs(a))) or 1.0
    if raster:
        body.append(_raster(_diverging_rgb(a / scale), size))
    else:
        for i in range(h):
            for j in range(w):
                body.append(
                    cell.format(_f(j * c), _f(i * c), _f(c), _f(c), diverging(a[i, j] / scale))
                )
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
    body += _outline(outline, c)
    return _frame(
        size,
        size,
        title,
        "attribution heatmap; dots mark the input's ink" + what,
        body,
        "chart img",
    )


#: width of one character of the point labels (10 px monospace) and the text's height
CHAR_W, TEXT_H = 6.1, 11.0


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
    joined by a step line, ringed, and named in a legend. Labels are written in full
    where they cross no other label, point, whisker, the front's line or an axis; the
    axes leave room so that no point sits on them.
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
    # a margin around the data: a point never sits on an axis or its tick labels
    xpad = max((max(xv) - min(xv)) * 0.06, 0.25)
    xlo, xhi = min(xv) - xpad, max(xv) + xpad
    ylo, yhi = min(yv), max(yv)
    pad = (yhi - ylo) * 0.08 or 0.05
    ylo, yhi = ylo - pad, yhi + pad
    sx = lambda v: x0 + w * (v - xlo) / (xhi - xlo)  # noqa: E731
    if invert_y:
        sy = lambda v: y0 + h * (v - ylo) / (yhi - ylo)  # noqa: E731
    else:
        sy = lambda v: y0 + h * (1 - (v - ylo) / (yhi - ylo))  # noqa: E731
    if logx:
        xt = [float(t) for t in range(math.ceil(xlo), math.floor(xhi) + 1)]
        xt = xt or [float(round((xlo + xhi) / 2))]
    else:
        xt = [t for t in _ticks(xlo, xhi) if xlo <= t <= xhi]
    fmt = (lambda t: _secs(10**t)) if logx else _tick
    yt = [t for t in _ticks(ylo, yhi) if ylo <= t <= yhi]
    body = _axes(x0, y0, w, h, xt, yt, sx, sy, xlabel, ylabel, fmt)
    centres = [(sx(xl), sy(p["y"])) for p, xl in zip(pts, xv, strict=True)]
    # obstacles for the labels: boxes (x0, y0, x1, y1) and segments
    boxes: list[tuple[float, float, float, float]] = [
        (cx - 6, cy - 6, cx + 6, cy + 6) for cx, cy in centres
    ]
    segs: list[tuple[float, float, float, float]] = [
        (x0, y0 + h, width, y0 + h),  # the x axis (labels stay above it)
        (x0, 0, x0, y0 + h),  # the y axis (labels stay right of it)
    ]
    for p, (cx, _cy) in zip(pts, centres, strict=True):
        if math.isfinite(p.get("lo", math.nan)) and math.isfinite(p.get("hi", math.nan)):
            segs.append((cx, sy(p["lo"]), cx, sy(p["hi"])))
    on_front = [p for p in front if math.isfinite(p["x"]) and math.isfinite(p["y"])]
    if on_front:
        xy = [(sx(math.log10(max(p["x"], 1e-6)) if logx else p["x"]), sy(p["y"])) for p in on_front]
        # staircase: along the cheaper point's score to the next cost, then to its score
        d = f"M{_f(xy[0][0])} {_f(xy[0][1])}" + "".join(f" H{_f(x)} V{_f(y)}" for x, y in xy[1:])
        for (ax, ay), (bx, by) in zip(xy, xy[1:], strict=False):
            segs += [(ax, ay, bx, ay), (bx, ay, bx, by)]
        lx, ly = x0 + w + 14, y0 + 10  # the key sits top right, in the labels' margin
        boxes.append((lx - 4, ly - 11, float(width), ly + 4))  # labels keep clear of it
        body.append(
            Markup(
                '<path class="front" d="{}"/><g class="front-key">'
                '<path class="front" d="M{} {} h12 v-8 h12"/><circle class="pt front" cx="{}" '
                'cy="{}" r="4"/><text class="ptlab" x="{}" y="{}">Pareto front</text></g>'
            ).format(d, _f(lx), _f(ly), _f(lx + 12), _f(ly), _f(lx + 30), _f(ly - 1))
        )
    area = (x0 + 1, 0.0, float(width), y0 + h - 1)
    marks, labels = [], []
    for k in sorted(range(len(pts)), key=lambda q: centres[q][1]):
        p, (cx, cy) = pts[k], centres[k]
        lw = CHAR_W * len(str(p["label"]))
        bx, by, leader = _place_label(cx, cy, lw, boxes, segs, area)
        boxes.append((bx, by, bx + lw, by + TEXT_H))
        if leader:  # away from its point: a leader says whose it is
            labels.append(
                Markup('<line class="leader" x1="{}" y1="{}" x2="{}" y2="{}"/>').format(
                    _f(cx), _f(cy), *map(_f, _nearest(cx, cy, (bx, by, bx + lw, by + TEXT_H)))
                )
            )
        labels.append(
            Markup('<text class="ptlab" x="{}" y="{}">{}</text>').format(
                _f(bx), _f(by + TEXT_H - 2.5), p["label"]
            )
        )
        if math.isfinite(p.get("lo", math.nan)) and math.isfinite(p.get("hi", math.nan)):
            marks.append(
                Markup(
                    '<line class="whisker" stroke="{}" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                ).format(p["color"], _f(cx), _f(cx), _f(sy(p["lo"])), _f(sy(p["hi"])))
            )
        marks.append(
            Markup(
                '<circle class="{}" cx="{}" cy="{}" r="5" fill="{}"><title>{}: {} s, {}{}</title>'
                "</circle>"
            ).format(
                "pt ctl" if p.get("control") else ("pt on-front" if p.get("front") else "pt"),
                _f(cx),
                _f(cy),
                p["color"],
                p["label"],
                f"{p['x']:.3g}",
                f"{p['y']:.3f}",
                " · Pareto front" if p.get("front") else "",
            )
        )
    return _frame(width, height, title, f"{ylabel} against {xlabel}", body + marks + labels)


def _hits_segment(box: tuple, seg: tuple) -> bool:
    """Whether an axis-parallel segment crosses the box (segments here are horizontal
    or vertical: whiskers, axes and the staircase)."""
    x0, y0, x1, y1 = box
    ax, ay, bx, by = seg
    return min(ax, bx) <= x1 and max(ax, bx) >= x0 and min(ay, by) <= y1 and max(ay, by) >= y0


def _place_label(
    cx: float, cy: float, w: float, boxes: list, segs: list, area: tuple
) -> tuple[float, float, bool]:
    """Top-left corner of the label box nearest its point that stays in ``area`` and
    crosses no box and no segment, and whether it is far enough to need a leader line.
    When nothing is free, the candidate with the fewest crossings."""
    hh = TEXT_H
    xs = (cx + 8, cx - 8 - w, cx + 4, cx - 4 - w, cx - w / 2)
    spots = [(x, cy - hh / 2 + k * (hh / 2 + 1)) for k in range(-16, 17) for x in xs]
    near = [_nearest(cx, cy, (x, y, x + w, y + hh)) for x, y in spots]
    dist = [math.hypot(nx - cx, ny - cy) for nx, ny in near]
    order = sorted((i for i in range(len(spots)) if dist[i] >= 6), key=lambda i: dist[i])

    def cost(x: float, y: float) -> int:
        box = (x - 1, y, x + w + 1, y + hh)
        if box[0] < area[0] or box[2] > area[2] or box[1] < area[1] or box[3] > area[3]:
            return 1000
        pad = (box[0] - 2, box[1] - 1, box[2] + 2, box[3] + 1)
        hit = sum(
            pad[0] < b[2] and b[0] < pad[2] and pad[1] < b[3] and b[1] < pad[3] for b in boxes
        )
        return hit + sum(_hits_segment(pad, sg) for sg in segs)

    costs = {i: cost(*spots[i]) for i in order}
    best = next((i for i in order if costs[i] == 0), None)
    if best is None:
        best = min(order, key=lambda i: costs[i])
    x, y = spots[best]
    return x, y, dist[best] > 12


def _nearest(cx: float, cy: float, box: tuple) -> tuple[float, float]:
    """The point of ``box`` nearest (cx, cy), for a leader line's end."""
    return min(max(cx, box[0]), box[2]), min(max(cy, box[1]), box[3])


def _secs(v: float) -> str:
    if v >= 1:
        return f"{v:g} s"
    if v >= 1e-3:
        return f"{v * 1e3:g} ms"
    return f"{v * 1e6:g} µs"


STRIP_CLASSES = {
    "best": "#1e9e4a",
    "tied": "#d99a00",
    "worse": "#9aa1ad",
    "inconclusive": "#6b7fd1",
    "control": "none",
}


def dot_strip(points: Sequence[dict], *, title: str, xlabel: str, width: int = 420) -> Markup:
    """Each explainer's mean and 95% CI on one shared axis, one thin row each.

    ``points``: ``{label, mean, lo, hi, kind}`` with kind in best/tied/worse/inconclusive/
    control; optional ``note`` (more hover text) and ``tag`` (e.g. "winner": the row is
    taller and its label printed next to its CI). Every row names its method on hover.
    """
    pts = [p for p in points if math.isfinite(p["mean"])]
    if not pts:
        return Markup("")
    vals = [v for p in pts for v in (p["mean"], p["lo"], p["hi"]) if math.isfinite(v)]
    lo, hi = min(vals), max(vals)
    pad = (hi - lo) * 0.05 or 0.05
    lo, hi = lo - pad, hi + pad
    x0, w, row, tall = 10.0, width - 20.0, 7, 12
    top = 6
    rows = [tall if p.get("tag") else row for p in pts]
    height = top + sum(rows) + 34
    sx = lambda v: x0 + w * (v - lo) / (hi - lo)  # noqa: E731
    body: list[Markup] = []
    for i, p in enumerate(pts):
        y = top + sum(rows[:i]) + rows[i] / 2
        color = STRIP_CLASSES.get(p["kind"], "#9aa1ad")
        hover = f"{p['label']}: {p['mean']:.3f}" + (f" · {p['note']}" if p.get("note") else "")
        # a full-width hit area: the dots are too small to find with the mouse
        body.append(
            Markup(
                '<rect class="hit" x="0" y="{}" width="{}" height="{}" fill="transparent">'
                "<title>{}</title></rect>"
            ).format(_f(y - rows[i] / 2), width, rows[i], hover)
        )
        if math.isfinite(p["lo"]) and math.isfinite(p["hi"]):
            body.append(
                Markup(
                    '<line class="whisker" pointer-events="none" stroke="{}" x1="{}" x2="{}" y1="{}" y2="{}"/>'
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
                '<circle class="{}" cx="{}" cy="{}" r="3.5" fill="{}"><title>{}</title></circle>'
            ).format("strip " + p["kind"], _f(sx(p["mean"])), _f(y), color, hover)
        )
        if p.get("tag"):
            text = f"{p['label']} ({p['tag']})"
            need = 5.0 * len(text)  # ~5 px per character at 9 px
            right = sx(p["hi"] if math.isfinite(p["hi"]) else p["mean"]) + 5
            left = sx(p["lo"] if math.isfinite(p["lo"]) else p["mean"]) - 5
            # beside the CI where it fits, else against the edge with more room (never cut)
            if right + need <= width:
                x, anchor = right, "start"
            elif left - need >= 0:
                x, anchor = left, "end"
            else:
                x, anchor = (width - 2.0, "end") if width - right >= left else (2.0, "start")
            body.append(
                Markup(
                    '<text class="tick strip-label" x="{}" y="{}" text-anchor="{}">{}</text>'
                ).format(_f(x), _f(y + 3), anchor, text)
            )
    ybase = top + sum(rows) + 4
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
