"""Issue 14's report panels (pure functions) and their wiring for component tasks, on
real explanations of the hand-set planted model (its circuit is exact by construction)."""

from __future__ import annotations

import re
from dataclasses import replace
from html import unescape

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from xai_bench.errors import InvalidInputError
from xai_bench.explanation import Explanation
from xai_bench.reports import components as C
from xai_bench.reports import render_report
from xai_bench.runner.results import Results

torch = pytest.importorskip("torch")

HOSTILE = '</script><script>alert(1)</script>"><img src=x onerror=alert(1)>'
TASK = "components.planted"
CPR = {"higher_is_better": True, "id": "cpr", "family": "components", "range": [-1e9, 1e9]}
CMD = {"higher_is_better": False, "id": "cmd", "family": "components", "range": [0.0, 1e9]}


def neuron_explanation(name: str, values: dict[str, float], **meta) -> Explanation:
    return Explanation(
        attributions=np.array([list(values.values())]),
        targets=np.array([0]),
        explainer=name,
        meta={"components": list(values), "space": "neuron", **meta},
    )


@pytest.fixture(scope="module")
def planted():
    from xai_bench.components import planted_task

    return planted_task()


@pytest.fixture(scope="module")
def component_results(planted) -> Results:
    """A component run as the runner stores it (OWNERS.md's convention): explanations
    over the node, edge and neuron spaces, CPR/CMD scores and curves, and the extra
    panel data in meta (attention patterns, causal tracing, a probe)."""
    from xai_bench.components import (
        ActivationPatching,
        AttributionPatching,
        EdgeAttributionPatching,
        RandomComponents,
        cmd,
        cpr,
    )
    from xai_bench.components.attention import AttentionHeuristic
    from xai_bench.components.tracing import CausalTracing

    task = planted
    expl = {
        "components.activation_patching": ActivationPatching().explain(task),
        "components.atp": AttributionPatching().explain(task),
        "random": RandomComponents().explain(task),
        "components.eap": EdgeAttributionPatching().explain(task),
    }
    # the search methods as they run: the attention heuristic (patterns in meta) and
    # causal tracing (the layer x position matrix in meta)
    expl["components.attention_pattern"] = AttentionHeuristic().explain(task)
    expl["components.causal_tracing"] = CausalTracing().explain(task)
    # a probe that weights a silent neuron (n3: big activation, no effect) first
    patch = {f"m0.n{i}": float(v) for i, v in enumerate([3, 0, 2, 0.0, 1, 0, 0.5, 0])}
    probe = {f"m0.n{i}": float(v) for i, v in enumerate([1, 0, 0.8, 5, 0, 0, 0, 0])}
    expl["neurons.patching"] = neuron_explanation(C.EXACT, patch, ablation="patching")
    expl["neurons.probe"] = neuron_explanation(
        "components.probe", probe, probe={"accuracy": 0.97, "k": 3}
    )
    scores, curves = [], []
    for label in ("components.activation_patching", "components.atp", "random", "components.eap"):
        for fn in (cpr, cmd):
            r = fn(task, expl[label])
            scores.append(
                {"task": TASK, "explainer": label, "metric": r.metric, "sample": 0, "seed": 0}
                | {"score": float(r.scores[0])}
            )
            curves += [
                {"task": TASK, "explainer": label, "metric": r.metric, "sample": 0, "seed": 0}
                | {"step": k, "x": float(x), "y": float(y)}
                for k, (x, y) in enumerate(zip(r.x, r.curves[0], strict=True))
            ]
    return Results(
        scores=pd.DataFrame(scores),
        curves=pd.DataFrame(curves),
        attributions={(TASK, e, 0): x for e, x in expl.items()},
        tasks={TASK: {"modality": "components", "ground_truth": list(task.ground_truth)}},
        metric_info={"cpr": CPR, "cmd": CMD},
    )


# -- pure panels --------------------------------------------------------------------------
def test_edge_names_split_into_writer_reader_and_port():
    assert C.split_edge("a0.h0->a1.h3.q") == ("a0.h0", "a1.h3", "q")
    assert C.split_edge("emb->m1") == ("emb", "m1", "")
    assert C.split_edge("a1.h0->logits") == ("a1.h0", "logits", "")
    with pytest.raises(InvalidInputError, match="writer->reader"):
        C.split_edge("a0.h0")
    # columns: emb, then per layer its heads and its MLP, logits last
    cols = [C.parse_node(n, 2).column for n in ("emb", "a0.h2", "m0", "a1.h0", "m1", "logits")]
    assert cols == [0, 1, 2, 3, 4, 5] and C.parse_node("a1.h3", 2).row == 3


def test_planted_edges_from_edge_or_node_truth():
    edges = ["emb->a0.h0.q", "a0.h0->a1.h0.v", "a0.h1->a1.h0.v", "a1.h0->logits", "emb->logits"]
    assert C.planted_edges(edges, ["a0.h0->a1.h0.v"]) == {"a0.h0->a1.h0.v"}
    assert C.planted_edges(edges, ["emb", "a0.h0", "a1.h0"]) == {
        "emb->a0.h0.q",
        "a0.h0->a1.h0.v",
        "a1.h0->logits",
        "emb->logits",
    }


def _edges(svg: str) -> list[tuple[str, float, str]]:
    """(colour, width, title) of every drawn edge."""
    return [
        (c, float(w), unescape(t))
        for c, w, t in re.findall(
            r'<path class="edge" stroke="([^"]+)" stroke-width="([\d.]+)" d="[^"]+">'
            r"<title>([^<]+)</title>",
            svg,
        )
    ]


def test_circuit_graph_draws_the_top_edges_by_size_and_sign():
    scores = {"emb->a0.h0.v": 2.0, "a0.h0->a1.h0.k": -1.0, "a0.h1->logits": 0.5}
    scores |= {"a1.h0->logits": 0.25, "emb->logits": 0.0}
    out = str(C.circuit_graph(scores, top=3, planted={"a0.h0->a1.h0.k", "a1.h0->logits"}))
    drawn = _edges(out)
    assert [t.split(":")[0] for *_, t in drawn] == [
        "a0.h1->logits",
        "a0.h0->a1.h0.k",
        "emb->a0.h0.v",
    ]
    width = {t.split(":")[0]: w for _c, w, t in drawn}
    # width = 1 + 6 |a| / max |a|
    assert width == {"emb->a0.h0.v": 7.0, "a0.h0->a1.h0.k": 4.0, "a0.h1->logits": 2.5}
    assert {t.split(":")[0]: c for c, _w, t in drawn}["a0.h0->a1.h0.k"] == C.NEG
    assert out.count('class="edge halo"') == 1  # the planted edge in the top 3
    assert out.count('class="edge missed"') == 1  # the planted one outside it
    assert "(planted, rank 4)" in out
    assert out.count('class="node faint"') == 0  # every node touches a drawn edge
    without = str(C.circuit_graph(scores, top=2, planted={"a1.h0->logits"}, show_missed=False))
    assert 'class="edge missed"' not in without and 'class="node faint"' in without


def test_attention_view_draws_each_weight_above_the_floor():
    a = np.array([[1.0, 0, 0], [0.5, 0.5, 0], [0.01, 0.09, 0.9]])
    out = str(C.attention_view(["x", "y", HOSTILE], {"a0.h1": a}, scores={"a0.h1": 1.5}))
    groups = re.findall(r'<g class="q[^"]*" tabindex="0"[^>]*>(.*?)</g>', out)
    assert [g.count("<line") for g in groups] == [1, 2, 2]  # 0.01 < min_weight is left out
    op = [float(v) for v in re.findall(r'stroke-opacity="([\d.]+)"', groups[2])]
    assert op == sorted(op) and op[-1] == pytest.approx(0.15 + 0.85 * 0.9, abs=0.01)
    assert "<script>alert" not in out and "&lt;/script&gt;" in out
    assert "+1.5" in out  # the head's score under its name
    assert 'class="q last"' in out  # the last query, where the answer is read
    with pytest.raises(InvalidInputError, match=r"\(3, 3\)"):
        C.attention_view(["x", "y", "z"], {"a0.h0": np.eye(2)})


def test_tracing_heatmap_is_layer_by_position():
    eff = np.array([[0.0, 0.9, 0.1], [0.2, 0.0, -0.3]])
    out = str(C.tracing_heatmap(["L0", "L1"], ["a", "b", HOSTILE], eff))
    cells = re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="\d+" height="\d+" fill="([^"]+)">', out)
    assert len(cells) == 6
    assert cells[1] == "rgb(214,60,50)"  # the largest effect at full red
    assert cells[5].startswith("rgb(") and cells[5] != cells[1]
    assert "<script>alert" not in out
    with pytest.raises(InvalidInputError, match="one row per layer"):
        C.tracing_heatmap(["L0"], ["a", "b"], eff)


def test_rank_overlap_counts_the_shared_top_k_and_matches_scipy():
    a = {"n0": 5.0, "n1": -4.0, "n2": 0.1, "n3": 3.0, "n4": 0.0}
    b = {"n0": 1.0, "n1": 0.2, "n2": 2.0, "n3": 0.3, "n4": 0.1}
    ov = C.rank_overlap(a, b, 2)
    assert ov["overlap"] == ["n0"] and ov["fraction"] == 0.5
    names = sorted(a)
    rho = spearmanr([abs(a[n]) for n in names], [abs(b[n]) for n in names]).statistic
    assert ov["spearman"] == pytest.approx(rho)


def test_probe_panel_sorts_neurons_into_the_four_groups():
    probe = {"n0": 1.0, "n1": 0.9, "n2": 0.0, "n3": 0.0}
    patch = {"n0": 2.0, "n1": 0.0, "n2": 1.0, "n3": 0.0}
    out = str(C.probe_vs_patching(probe, patch, k=2))
    legend = dict(re.findall(r">(both top-k|probe only|patching only|neither) \((\d+)\)<", out))
    assert legend == {"both top-k": "1", "probe only": "1", "patching only": "1", "neither": "1"}
    assert re.search(r'class="ptlab"[^>]*>n1<', out)  # the probe's false pick is named


# -- wiring -------------------------------------------------------------------------------
def test_task_panels_read_the_run(component_results, planted):
    p = C.task_panels(component_results, TASK, ("random",))
    assert p["truth"] == list(planted.ground_truth)
    assert [g["explainer"] for g in p["graphs"]] == ["components.eap"]
    # heads ranked by exact patching: the planted heads first
    heads = re.findall(r"<figcaption><code>([^<]+)</code>", str(p["attention"]["svg"]))
    assert heads[:2] == ["a0.h0", "a2.h0"] and len(heads) == C.TOP_HEADS
    assert p["attention"]["ranked_by"] == "components.activation_patching"
    assert "tracing" in p and len(p["probes"]) == 1
    probe = p["probes"][0]
    assert probe["reference"] == "neurons.patching" and probe["overlap"]["k"] == 3
    assert probe["overlap"]["overlap"] == ["m0.n0", "m0.n2"]  # n3 is the probe's false pick


def test_report_shows_the_component_section(component_results, tmp_path):
    html = render_report(component_results, tmp_path / "r.html").read_text()
    inside = html[html.index('id="components"') : html.index('id="agreement"')]
    assert "Circuit graph" in inside and 'class="chart circuit"' in inside
    assert 'class="attn-heads"' in inside and "Causal tracing" in inside
    assert "Probe vs patching" in inside and "<b>2 of 3</b>" in inside
    # EAP ranks the planted path first: its edges are haloed as planted
    planted = re.findall(r'<path class="edge halo"', inside)
    assert planted and "CPR curve" in inside and "CMD curve" in inside
    # the leaderboard groups the component metrics as their own family
    board = html[html.index('id="leaderboard"') : html.index('id="curves"')]
    assert "CPR</button>" in board and "CMD</button>" in board
    # no per-sample view or agreement over mixed component spaces
    samples = html[html.index('id="samples"') : html.index('id="components"')]
    assert "data-picker" not in samples
    assert html.count("<script>") == 1


def test_component_names_and_tokens_are_escaped(component_results, tmp_path):
    atts = dict(component_results.attributions)
    eap = atts[(TASK, "components.eap", 0)]
    names = [n.replace("emb", HOSTILE) for n in eap.meta["components"]]
    atts[(TASK, "components.eap", 0)] = replace(eap, meta={**eap.meta, "components": names})
    heur = atts[(TASK, "components.attention_pattern", 0)]
    att = heur.meta["attention"]
    evil = {**att, "tokens": [HOSTILE] * len(att["tokens"])}
    key = (TASK, "components.attention_pattern", 0)
    atts[key] = replace(heur, meta={**heur.meta, "attention": evil})
    res = replace(
        component_results,
        attributions=atts,
        tasks={TASK: {"modality": "components", "ground_truth": [HOSTILE, "a0.h0"]}},
    )
    html = render_report(res, tmp_path / "r.html").read_text()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert html.count("<script>") == 1 and "&lt;/script&gt;&lt;script&gt;alert(1)" in html


@pytest.mark.browser
def test_component_panels_in_the_browser(component_results, watched, artifacts, tmp_path):
    page = watched.open(render_report(component_results, tmp_path / "r.html"))
    page.locator("#components").screenshot(path=str(artifacts / "components.png"))
    # focusing a query (keyboard) shows its lines alone
    q = page.locator("svg.attn .q").first
    q.focus()
    own = q.locator("line").first.evaluate("l => getComputedStyle(l).strokeOpacity")
    other = page.locator("svg.attn").first.locator(".q").nth(1).locator("line").first
    assert float(own) == 1.0
    assert float(other.evaluate("l => getComputedStyle(l).strokeOpacity")) < 0.1
    assert watched.errors == [] and watched.requests == []
