"""Report panels for component attributions (inside the model), as pure functions.

Each panel takes plain data (names, numbers, token strings) and returns inline SVG or
HTML as :class:`markupsafe.Markup`; user strings (component names, tokens, labels)
enter only through ``Markup.format`` or ``escape``. No script: the attention view
highlights one query's lines on hover or keyboard focus with CSS alone.

- :func:`circuit_graph`: the top edges of an edge-space explanation, nodes by layer.
- :func:`attention_view`: which query attends to which key, per head, on one example.
- :func:`tracing_heatmap`: causal tracing's effect per layer and position.
- :func:`probe_vs_patching`: a probe's neuron ranking against exact patching's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from markupsafe import Markup

from ..errors import InvalidInputError
from . import svg

__all__ = [
    "Node",
    "attention_view",
    "circuit_graph",
    "parse_node",
    "planted_edges",
    "probe_vs_patching",
    "rank_overlap",
    "split_edge",
    "tracing_heatmap",
]

_NODE = re.compile(r"^(?:emb|logits|a(\d+)\.h(\d+)|m(\d+)(?:\.n(\d+))?)$")
PORTS = ("q", "k", "v")
POS, NEG, PLANTED = "#d63c32", "#2d6ec8", "#e0a100"


@dataclass(frozen=True)
class Node:
    """A component's place in the graph: ``column`` (emb 0, heads of layer l 1 + 2l,
    the MLP of layer l 2 + 2l, logits last) and ``row`` (the head index, else 0)."""

    name: str
    column: int
    row: int


def parse_node(name: str, n_layers: int) -> Node:
    """Where ``name`` (``emb``, ``a1.h3``, ``m0``, ``m0.n17``, ``logits``) sits among
    ``n_layers`` layers; a name of another form goes to the first column."""
    m = _NODE.match(name)
    if m is None or name == "emb":
        return Node(name, 0, 0)
    if name == "logits":
        return Node(name, 2 * n_layers + 1, 0)
    if m.group(1) is not None:
        return Node(name, 1 + 2 * int(m.group(1)), int(m.group(2)))
    return Node(name, 2 + 2 * int(m.group(3)), int(m.group(4) or 0))


def split_edge(edge: str) -> tuple[str, str, str]:
    """``"a0.h0->a1.h3.q"`` as (writer, reader node, port): port q, k, v or ""."""
    writer, sep, reader = edge.partition("->")
    if not sep:
        raise InvalidInputError(
            f"edge name {edge!r}",
            "'writer->reader', e.g. 'a0.h0->a1.h3.q' (xai_bench.components.edge_space)",
            "Pass the names of an edge space.",
        )
    node, dot, port = reader.rpartition(".")
    if dot and port in PORTS and node:
        return writer, node, port
    return writer, reader, ""


def planted_edges(edges: Collection[str], truth: Collection[str]) -> set[str]:
    """The edges of a planted circuit: named in ``truth`` (edge names), or, when the
    truth names nodes, those whose writer and reader are both planted (the logits always
    are: every circuit ends there)."""
    truth = set(truth)
    if any("->" in t for t in truth):
        return {e for e in edges if e in truth}
    out = set()
    for e in edges:
        writer, reader, _ = split_edge(e)
        if writer in truth and (reader in truth or reader == "logits"):
            out.add(e)
    return out


def _layers(names: Collection[str]) -> int:
    found = [int(x) for n in names if (m := _NODE.match(n)) for x in (m.group(1), m.group(3)) if x]
    return max(found, default=-1) + 1


def circuit_graph(
    attributions: Mapping[str, float],
    *,
    top: int = 20,
    planted: Collection[str] = (),
    title: str = "Circuit graph",
    width: int = 720,
    show_missed: bool = True,
) -> Markup:
    """The ``top`` edges by |attribution| as a layered graph, left (embeddings) to right
    (logits): width by |attribution|, red = supports the clean behaviour, blue = against,
    planted edges (``planted``, edge names) haloed in gold, and (``show_missed``) planted
    edges outside the top drawn dotted. Edges scored exactly 0 are not drawn. Nodes of
    the model that no drawn edge touches are drawn faint.

    Parameters
    ----------
    attributions : mapping of edge name to score
        One score per edge, e.g. an edge-space explanation averaged over examples.
    top : int
    planted : collection of str
        Ground-truth edges (see :func:`planted_edges`).
    title : str
    width : int
    show_missed : bool
        Draw the planted edges outside the top; off when the truth names nodes only
        (then only some of the edges between planted nodes carry the circuit).

    Returns
    -------
    Markup
        An ``<svg>`` element.
    """
    scores = {str(k): float(v) for k, v in attributions.items() if math.isfinite(float(v))}
    if not scores:
        return Markup('<p class="muted">No edge attributions to draw.</p>')
    parts = {e: split_edge(e) for e in scores}
    planted = set(planted)
    order = sorted(scores, key=lambda e: (-abs(scores[e]), e))
    shown = [e for e in order[: max(1, int(top))] if scores[e] != 0] or order[:1]
    missed = [e for e in order if e in planted and e not in shown] if show_missed else []
    names = {x for w, r, _ in parts.values() for x in (w, r)}
    n_layers = _layers(names)
    nodes = {n: parse_node(n, n_layers) for n in names}
    used = {x for e in shown + missed for x in parts[e][:2]}
    # columns in layer order, empty ones (an attention-only model's MLPs) left out
    cols = sorted({node.column for node in nodes.values()})
    place = {c: k for k, c in enumerate(cols)}
    col_rows: dict[int, list[Node]] = {}
    for node in sorted(nodes.values(), key=lambda n: (n.column, n.row, n.name)):
        col_rows.setdefault(place[node.column], []).append(node)
    row_h, box_w, box_h, pad = 30.0, 58.0, 20.0, 16.0
    tallest = max(len(v) for v in col_rows.values())
    height = int(pad * 2 + tallest * row_h + 24)
    step = (width - 2 * pad - box_w) / max(1, len(cols) - 1)
    xy: dict[str, tuple[float, float]] = {}
    for col, members in col_rows.items():
        top_y = pad + (tallest - len(members)) * row_h / 2
        for k, node in enumerate(members):
            xy[node.name] = (pad + col * step, top_y + k * row_h)
    biggest = max(abs(scores[e]) for e in shown) or 1.0
    body: list[Markup] = []
    last = 2 * n_layers + 1
    for layer in range(n_layers):  # one band per layer, under its heads and its MLP
        own = [place[c] for c in (1 + 2 * layer, 2 + 2 * layer) if c in place and c != last]
        if not own:
            continue
        x = pad + own[0] * step - 7
        body.append(
            Markup(
                '<rect class="layer-band" x="{}" y="{}" width="{}" height="{}" rx="6"/>'
                '<text class="tick" x="{}" y="{}" text-anchor="middle">layer {}</text>'
            ).format(
                svg._f(x),
                svg._f(pad - 8),
                svg._f((own[-1] - own[0]) * step + box_w + 14),
                svg._f(tallest * row_h + 6),
                svg._f(x + ((own[-1] - own[0]) * step + box_w + 14) / 2),
                svg._f(height - 6),
                layer,
            )
        )

    def path(e: str) -> str:
        writer, reader, port = parts[e]
        (x1, y1), (x2, y2) = xy[writer], xy[reader]
        y1 += box_h / 2
        y2 += box_h / 2 + (PORTS.index(port) - 1) * 6 if port else box_h / 2
        x1 += box_w
        bend = max(24.0, (x2 - x1) / 2)
        return (
            f"M{svg._f(x1)} {svg._f(y1)} C{svg._f(x1 + bend)} {svg._f(y1)} "
            f"{svg._f(x2 - bend)} {svg._f(y2)} {svg._f(x2)} {svg._f(y2)}"
        )

    for e in missed:
        body.append(
            Markup(
                '<path class="edge missed" d="{}"><title>{}: {} (planted, rank {})</title></path>'
            ).format(path(e), e, svg._f(scores[e]), order.index(e) + 1)
        )
    for e in reversed(shown):  # the strongest drawn last, on top
        v = scores[e]
        w = 1.0 + 6.0 * abs(v) / biggest
        if e in planted:
            body.append(
                Markup('<path class="edge halo" stroke-width="{}" d="{}"/>').format(
                    svg._f(w + 5), path(e)
                )
            )
        body.append(
            Markup(
                '<path class="edge" stroke="{}" stroke-width="{}" d="{}">'
                "<title>{}: {} (rank {}{})</title></path>"
            ).format(
                POS if v >= 0 else NEG,
                svg._f(w),
                path(e),
                e,
                f"{v:+.4g}",
                order.index(e) + 1,
                ", planted" if e in planted else "",
            )
        )
    for name, (x, y) in xy.items():
        body.append(
            Markup(
                '<g class="node{}"><rect x="{}" y="{}" width="{}" height="{}" rx="4"/>'
                '<text x="{}" y="{}" text-anchor="middle">{}</text></g>'
            ).format(
                "" if name in used else " faint",
                svg._f(x),
                svg._f(y),
                svg._f(box_w),
                svg._f(box_h),
                svg._f(x + box_w / 2),
                svg._f(y + box_h / 2 + 4),
                svg._clip(name, 9),
            )
        )
    desc = f"top {len(shown)} of {len(scores)} edges by |attribution|"
    return svg._frame(width, height, title, desc, body, "chart circuit")


def attention_view(
    tokens: Sequence[str],
    patterns: Mapping[str, Any],
    *,
    scores: Mapping[str, float] | None = None,
    title: str = "Attention",
    min_weight: float = 0.02,
) -> Markup:
    """One small panel per head: queries (left) joined to the keys (right) they attend
    to, line opacity and width by the attention weight; hovering or focusing a query
    (Tab) shows its lines alone. A causal model's query attends to itself and earlier
    keys only.

    Parameters
    ----------
    tokens : sequence of str
        The example's tokens (T).
    patterns : mapping of head name to (T, T) array
        Attention weights, rows = queries, columns = keys (rows sum to 1).
    scores : mapping of head name to float, optional
        A number shown under each head's name (e.g. its attribution).
    title : str
    min_weight : float
        Weights below it are not drawn.

    Returns
    -------
    Markup
        A ``<div>`` of ``<svg>`` panels.
    """
    toks = [str(t) for t in tokens]
    n = len(toks)
    if not n or not patterns:
        return Markup('<p class="muted">No attention patterns to draw.</p>')
    row, label_w, gap = 17.0, 62.0, 70.0
    width, height = int(2 * label_w + gap + 8), int(n * row + 34)
    panels = []
    for head, pattern in patterns.items():
        a = np.asarray(pattern, dtype=np.float64)
        if a.shape != (n, n):
            raise InvalidInputError(
                f"an attention pattern of shape {a.shape} for head {head!r}",
                f"({n}, {n}): queries x keys over the {n} tokens",
                "Give one square pattern per head, over the example's tokens.",
            )
        xl, xr = label_w, label_w + gap
        body: list[Markup] = [
            Markup('<text class="attn-side" x="{}" y="11" text-anchor="end">query</text>').format(
                svg._f(xl - 6)
            ),
            Markup('<text class="attn-side" x="{}" y="11">key</text>').format(svg._f(xr + 6)),
        ]
        for j, t in enumerate(toks):  # keys: drawn once, under the queries' groups
            body.append(
                Markup('<text class="tok key" x="{}" y="{}">{}</text>').format(
                    svg._f(xr + 6), svg._f(28 + j * row), svg._clip(t, 9)
                )
            )
        for i, t in enumerate(toks):
            y1 = 24 + i * row
            lines = []
            for j in np.flatnonzero(a[i] >= min_weight).tolist():
                w = float(a[i, j])
                lines.append(
                    Markup(
                        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke-width="{}" '
                        'stroke-opacity="{}"><title>{} → {}: {}</title></line>'
                    ).format(
                        svg._f(xl),
                        svg._f(y1),
                        svg._f(xr),
                        svg._f(24 + j * row),
                        svg._f(0.6 + 3.4 * w),
                        f"{0.15 + 0.85 * w:.2f}",
                        t,
                        toks[j],
                        f"{w:.2f}",
                    )
                )
            body.append(
                Markup(
                    '<g class="q{}" tabindex="0" role="listitem" aria-label="query {} attends to {}">'
                    '<text class="tok" x="{}" y="{}" text-anchor="end">{}</text>{}</g>'
                ).format(
                    " last" if i == n - 1 else "",
                    t,
                    ", ".join(f"{toks[j]} {a[i, j]:.2f}" for j in np.argsort(-a[i])[:3]),
                    svg._f(xl - 6),
                    svg._f(y1 + 4),
                    svg._clip(t, 9),
                    Markup("").join(lines),
                )
            )
        score = "" if scores is None or head not in scores else f"{float(scores[head]):+.3g}"
        panels.append(
            Markup(
                '<figure class="attn-head"><figcaption><code>{}</code> <small>{}</small>'
                "</figcaption>{}</figure>"
            ).format(
                head,
                score,
                Markup(
                    '<svg class="chart attn" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
                    'role="list"><title>{t}: head {hd}</title>{b}</svg>'
                ).format(w=width, h=height, t=title, hd=head, b=Markup("").join(body)),
            )
        )
    return Markup('<div class="attn-heads">{}</div>').format(Markup("").join(panels))


def tracing_heatmap(
    layers: Sequence[str],
    positions: Sequence[str],
    effect: Any,
    *,
    title: str = "Causal tracing",
) -> Markup:
    """Causal tracing (Meng et al. 2022) as a layer x position heatmap: the effect of
    restoring one layer's clean state at one position into the corrupted run.

    ``effect`` is (len(layers), len(positions)) (the ``meta["tracing"]`` convention);
    red = restores the clean behaviour, blue = moves away from it, scaled by max |effect|.
    """
    e = np.asarray(effect, dtype=np.float64)
    if e.shape != (len(layers), len(positions)):
        raise InvalidInputError(
            f"a tracing effect of shape {e.shape}",
            f"({len(layers)}, {len(positions)}): one row per layer, one column per position",
            'Store meta["tracing"] = {"layers": [...], "positions": [...], "effect": [[...]]}.',
        )
    small = e.size <= 80  # numbers in the cells only where they stay legible
    return svg.heatmap(
        e,
        [str(x) for x in layers],
        [str(x) for x in positions],
        title=title,
        xlabel="position (token)",
        ylabel="restored layer",
        signed=True,
        annotate=small,
        cell=34 if small else 22,
        label_width=90,
    )


def rank_overlap(a: Mapping[str, float], b: Mapping[str, float], k: int) -> dict[str, Any]:
    """How two rankings by |score| agree: the shared top ``k`` (``overlap``, its share
    ``fraction``) and Spearman's rank correlation of |score| over the common names."""
    from scipy.stats import spearmanr

    common = sorted(set(a) & set(b))
    if not common:
        return {"k": 0, "overlap": [], "fraction": math.nan, "spearman": math.nan}
    k = max(1, min(int(k), len(common)))
    top_a = set(sorted(common, key=lambda n: (-abs(a[n]), n))[:k])
    top_b = set(sorted(common, key=lambda n: (-abs(b[n]), n))[:k])
    shared = sorted(top_a & top_b)
    x = [abs(a[n]) for n in common]
    y = [abs(b[n]) for n in common]
    rho = spearmanr(x, y).statistic if len(common) > 2 and np.ptp(x) and np.ptp(y) else math.nan
    return {
        "k": k,
        "overlap": shared,
        "fraction": len(shared) / k,
        "spearman": float(rho),
        "top_a": top_a,
        "top_b": top_b,
    }


def probe_vs_patching(
    probe: Mapping[str, float],
    patching: Mapping[str, float],
    *,
    k: int | None = None,
    title: str = "Probe vs patching",
    width: int = 460,
    height: int = 300,
) -> Markup:
    """A probe's (correlational) neuron ranking against exact patching's (causal): one
    point per neuron at (|patching effect|, |probe weight|), each scaled to its maximum,
    coloured by which top-``k`` it is in (both, probe only, patching only, neither).
    Neurons the probe picks but ablation shows to do nothing sit top left.

    ``k`` defaults to the number of neurons the probe selects (non-zero weights).
    """
    common = sorted(set(probe) & set(patching))
    if not common:
        return Markup('<p class="muted">The probe and patching share no neuron.</p>')
    if k is None:
        k = sum(1 for n in common if probe[n] != 0) or len(common)
    ov = rank_overlap(probe, patching, k)
    px = max(abs(patching[n]) for n in common) or 1.0
    py = max(abs(probe[n]) for n in common) or 1.0
    x0, y0, w, h = 52.0, 12.0, width - 205.0, height - 58.0
    sx = lambda v: x0 + w * v  # noqa: E731
    sy = lambda v: y0 + h * (1 - v)  # noqa: E731
    ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
    body = svg._axes(
        x0, y0, w, h, ticks, ticks, sx, sy, "|patching effect| / max", "|probe weight| / max"
    )
    kinds = {
        "both": ("#8e5bd6", "both top-k"),
        "probe": ("#e69f00", "probe only"),
        "patching": ("#2a9d8f", "patching only"),
        "neither": ("#b8bdc6", "neither"),
    }

    def kind_of(n: str) -> str:
        a, b = n in ov["top_a"], n in ov["top_b"]
        return "both" if a and b else "probe" if a else "patching" if b else "neither"

    kinds_of = {n: kind_of(n) for n in common}
    at = {n: (sx(abs(patching[n]) / px), sy(abs(probe[n]) / py)) for n in common}
    marks = []
    for n in sorted(common, key=lambda n: list(kinds).index(kinds_of[n]), reverse=True):
        kind = kinds_of[n]
        marks.append(
            Markup(
                '<circle class="pt" cx="{}" cy="{}" r="{}" fill="{}"><title>{}: patching {}, '
                "probe {} ({})</title></circle>"
            ).format(
                svg._f(at[n][0]),
                svg._f(at[n][1]),
                4.5 if kind != "neither" else 3,
                kinds[kind][0],
                n,
                f"{patching[n]:+.3g}",
                f"{probe[n]:+.3g}",
                kinds[kind][1],
            )
        )
    # name the probe's strongest false picks (the story) and the strongest causal ones
    boxes = [(cx - 5, cy - 5, cx + 5, cy + 5) for cx, cy in at.values()]
    segs = [(x0, y0 + h, x0 + w, y0 + h), (x0, y0, x0, y0 + h)]
    named = sorted((n for n in common if kinds_of[n] == "probe"), key=lambda n: -abs(probe[n]))
    named = named[:4] + sorted(common, key=lambda n: -abs(patching[n]))[:2]
    for n in dict.fromkeys(named):
        text = svg._clip(n, 12)
        lw = svg.CHAR_W * len(text)
        bx, by, _ = svg._place_label(*at[n], lw, boxes, segs, (x0 + 1, 0.0, x0 + w + 8, y0 + h))
        boxes.append((bx, by, bx + lw, by + svg.TEXT_H))
        marks.append(
            Markup('<text class="ptlab" x="{}" y="{}">{}</text>').format(
                svg._f(bx), svg._f(by + svg.TEXT_H - 2.5), text
            )
        )
    lx = x0 + w + 24
    key = [
        Markup('<text class="ptlab" x="{}" y="{}">top {} of {}</text>').format(
            svg._f(lx), svg._f(y0 + 8), ov["k"], len(common)
        )
    ]
    for r, (kind, (color, label)) in enumerate(kinds.items()):
        y = y0 + 26 + r * 16
        n_kind = sum(1 for v in kinds_of.values() if v == kind)
        key.append(
            Markup(
                '<circle cx="{}" cy="{}" r="4.5" fill="{}"/><text class="ptlab" x="{}" y="{}">'
                "{} ({})</text>"
            ).format(
                svg._f(lx + 4), svg._f(y - 3), color, svg._f(lx + 13), svg._f(y), label, n_kind
            )
        )
    desc = (
        f"top-{ov['k']} overlap {len(ov['overlap'])} of {ov['k']}; "
        f"Spearman rho of |scores| {ov['spearman']:.2f}"
    )
    return svg._frame(width, height, title, desc, body + marks + key, "chart probe")


# -- wiring: what a run's component task shows -------------------------------------------
MODALITY = "components"
EXACT = "components.activation_patching"  # the causal reference of the other rankings
TOP_HEADS = 4
TOP_EDGES = 20


def names_of(expl: Any, info: Mapping[str, Any] | None = None) -> list[str]:
    """The component names of an explanation's features: ``meta["components"]`` (or
    ``meta["feature_names"]``), else the task's ``feature_names`` when their count fits."""
    n = int(np.asarray(expl.attributions).reshape(len(expl.attributions), -1).shape[1])
    for names in (
        expl.meta.get("components"),
        expl.meta.get("feature_names"),
        (info or {}).get("feature_names"),
    ):
        if names is not None and len(names) == n:
            return [str(x) for x in names]
    return [f"#{j}" for j in range(n)]


def space_of(expl: Any, names: Sequence[str]) -> str:
    """``meta["space"]`` (or ``"granularity"``): node, edge or neuron; else from names."""
    space = expl.meta.get("space") or expl.meta.get("granularity")
    if space:
        return str(space)
    if any("->" in n for n in names):
        return "edge"
    return "neuron" if names and all(re.search(r"\.n\d+$", n) for n in names) else "node"


def mean_scores(expl: Any, names: Sequence[str]) -> dict[str, float]:
    """Component name -> attribution averaged over the explained examples."""
    a = np.asarray(expl.attributions, dtype=np.float64).reshape(len(expl.attributions), -1)
    return dict(zip(names, np.nanmean(a, axis=0).tolist(), strict=True))


def truth_names(info: Mapping[str, Any]) -> list[str]:
    """The task's planted components or edges (``ground_truth``, or ``meta["ground_truth"]``)
    as names; empty when unknown."""
    for gt in (info.get("ground_truth"), (info.get("meta") or {}).get("ground_truth")):
        if gt is None:
            continue
        arr = np.asarray(gt, dtype=object).ravel()
        if len(arr) and all(isinstance(v, str | np.str_) for v in arr):
            return [str(v) for v in arr]
    return []


def _attention(meta: Mapping[str, Any]) -> tuple[list[str], dict[str, Any]] | None:
    """``meta["attention"]``: ``{"tokens": [...], "patterns": {head: (T, T)}}`` or with
    ``"heads": [...]`` and ``"patterns"`` as an (H, T, T) list."""
    att = meta.get("attention")
    if not isinstance(att, Mapping) or "tokens" not in att or "patterns" not in att:
        return None
    pats = att["patterns"]
    if not isinstance(pats, Mapping):
        pats = dict(zip([str(h) for h in att.get("heads", [])], pats, strict=False))
    return [str(t) for t in att["tokens"]], {str(k): v for k, v in pats.items()}


def task_panels(results: Any, task: str, controls: Collection[str] = ()) -> dict[str, Any]:
    """The panels of one component task, from the lowest seed's explanations: circuit
    graphs (one per edge-space explainer, exact patching first), the attention view of
    the top heads, causal tracing and probe vs patching, each present only when the run
    holds its data. Values are Markup; ``picks`` name the circuit graphs' explainers."""
    info = dict(results.tasks.get(task, {}))
    seeds = sorted({s for (t, _e, s) in results.attributions if t == task})
    own = {
        e: x
        for (t, e, s), x in sorted(results.attributions.items())
        if seeds and t == task and s == seeds[0]
    }
    named = {e: names_of(x, info) for e, x in own.items()}
    spaces = {e: space_of(x, named[e]) for e, x in own.items()}
    truth = truth_names(info)
    out: dict[str, Any] = {"truth": truth}

    def ranked(space: str) -> list[str]:
        """Explainers of a space, exact patching first, the controls left out."""
        found = [e for e in own if spaces[e] == space and e not in controls]
        return sorted(found, key=lambda e: (own[e].explainer != EXACT, e))

    edge_truth = [t for t in truth if "->" in t]
    graphs = []
    for e in ranked("edge"):
        scores = mean_scores(own[e], named[e])
        planted = planted_edges(scores, truth) if truth else set()
        graphs.append(
            {
                "explainer": e,
                "exact": own[e].explainer == EXACT,
                "svg": circuit_graph(
                    scores,
                    top=TOP_EDGES,
                    planted=planted,
                    title=f"Circuit graph — {task} — {e}",
                    show_missed=bool(edge_truth),
                ),
                "n_edges": len(scores),
                "n_planted": len(planted),
            }
        )
    out["graphs"] = graphs

    nodes = ranked("node")
    reference = mean_scores(own[nodes[0]], named[nodes[0]]) if nodes else {}
    for e, x in own.items():
        att = _attention(x.meta)
        if att is None:
            continue
        tokens, pats = att
        heads = sorted(pats, key=lambda h: (-abs(reference.get(h, 0.0)), h))[:TOP_HEADS]
        out["attention"] = {
            "explainer": e,
            "ranked_by": nodes[0] if nodes else None,
            "svg": attention_view(
                tokens,
                {h: pats[h] for h in heads},
                scores={h: reference[h] for h in heads if h in reference},
                title=f"Attention — {task}",
            ),
        }
        break

    for e, x in own.items():
        tr = x.meta.get("tracing")
        if isinstance(tr, Mapping) and {"layers", "positions", "effect"} <= set(tr):
            # positions whose input was corrupted (the subject) in most examples get a *
            hit = list(tr.get("corrupted") or [])
            positions = [
                f"{p}*" if k < len(hit) and float(hit[k]) >= 0.5 else str(p)
                for k, p in enumerate(tr["positions"])
            ]
            out["tracing"] = {
                "explainer": e,
                "marked": any(p.endswith("*") for p in positions),
                "svg": tracing_heatmap(
                    tr["layers"], positions, tr["effect"], title=f"Causal tracing — {task}"
                ),
            }
            break

    probes = []
    neurons = [e for e in ranked("neuron") if "probe" not in own[e].meta]
    for e, x in own.items():
        meta = x.meta.get("probe")
        if not isinstance(meta, Mapping) or not neurons:
            continue
        ref = neurons[0]
        probe, patch = mean_scores(x, named[e]), mean_scores(own[ref], named[ref])
        k = meta.get("k")
        ov = rank_overlap(probe, patch, int(k) if k else sum(v != 0 for v in probe.values()))
        probes.append(
            {
                "explainer": e,
                "reference": ref,
                "accuracy": meta.get("accuracy"),
                "overlap": ov,
                "svg": probe_vs_patching(
                    probe, patch, k=ov["k"], title=f"Probe {e} vs {ref} — {task}"
                ),
            }
        )
    out["probes"] = probes
    return out
