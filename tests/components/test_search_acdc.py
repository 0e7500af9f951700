"""Greedy ACDC over the edge space: planted recovery, the two tau limits, batching = the loop."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xai_bench.components import ACDC, edge_space, planted_task  # noqa: E402
from xai_bench.components.acdc import reader_order  # noqa: E402
from xai_bench.errors import IncompatibleError, InvalidInputError  # noqa: E402

PLANTED_EDGES = ["emb->a0.h0.v", "a0.h0->a2.h0.v", "a2.h0->logits"]


@pytest.mark.parametrize(("metric", "tau"), [("kl", 0.01), ("behaviour", 0.1)])
def test_acdc_keeps_exactly_the_planted_edges(planted, metric, tau):
    expl = ACDC(tau=tau, metric=metric).explain(planted)
    assert expl.meta["circuit"] == PLANTED_EDGES
    names = expl.meta["components"]
    effect = expl.attributions[0]
    top = {names[j] for j in np.argsort(-effect)[:3]}
    assert top == set(PLANTED_EDGES)  # the effects rank what the circuit keeps
    np.testing.assert_array_equal(expl.attributions, np.tile(effect, (16, 1)))
    if metric == "behaviour":
        # every planted edge flips the logit difference from +1 to -1: |change| = 2
        np.testing.assert_allclose(effect[[names.index(e) for e in PLANTED_EDGES]], 2.0)
    assert expl.meta["distance"] == pytest.approx(0.0, abs=1e-9)  # the circuit is the model
    others = np.delete(effect, [names.index(e) for e in PLANTED_EDGES])
    assert np.abs(others).max() < tau


def test_tau_zero_keeps_every_edge_and_a_huge_tau_keeps_none():
    planted = planted_task(n_examples=4)  # tau = 0 tests every edge: keep it small
    n = len(edge_space(planted))
    everything = ACDC(tau=0.0).explain(planted)
    assert len(everything.meta["circuit"]) == n == 193
    assert everything.meta["tests"] == 13  # one batched test per reader node, no drop
    nothing = ACDC(tau=1e9).explain(planted)
    assert nothing.meta["circuit"] == []
    assert nothing.meta["tests"] == 1  # the logits' edges, all dropped in one pass
    # with nothing kept, KL(clean || counterfactual run) > 0 is what is left
    assert nothing.meta["distance"] > 0.1


def _one_edge_at_a_time(acdc, task):
    """Reference: ACDC's loop with one forward evaluation per edge and no shortcut."""
    space = edge_space(task)
    keep = np.ones(len(space), dtype=bool)
    current = 0.0
    for _node, edges in reader_order(space):
        for e in edges:
            trial = keep.copy()
            trial[e] = False
            d = float(acdc.distance(task, trial[None])[0])
            if d - current < acdc.tau:
                keep[e], current = False, d
    return keep


@pytest.mark.parametrize(("metric", "tau"), [("kl", 0.002), ("behaviour", 0.05)])
def test_batched_tests_give_the_one_edge_at_a_time_result(random_task, metric, tau):
    acdc = ACDC(tau=tau, metric=metric)
    expl = acdc.explain(random_task)
    keep = _one_edge_at_a_time(acdc, random_task)
    names = edge_space(random_task).names
    assert expl.meta["circuit"] == [names[e] for e in np.flatnonzero(keep)]
    assert 0 < len(expl.meta["circuit"]) < len(names)  # a real pruning, not a limit case
    # fewer batched tests than edges, and more than readers: decisions changed mid-reader
    assert len(reader_order(edge_space(random_task))) < expl.meta["tests"] < int(keep.size)


def test_reader_order_goes_from_the_logits_backwards(planted):
    order = reader_order(edge_space(planted))
    assert [node for node, _ in order[:2]] == ["logits", "a2.h3"]
    assert order[-1][0] == "a0.h0"
    names = edge_space(planted).names
    assert [names[e] for e in order[0][1][:2]] == ["a2.h3->logits", "a2.h2->logits"]


def test_meta_and_params_record_the_conventions(planted):
    expl = ACDC(tau=1e9, metric="behaviour", ablation="mean").explain(planted)
    assert expl.meta["space"] == "edge" and expl.meta["ablation"] == "mean"
    assert expl.meta["metric"] == "behaviour" and expl.meta["tau"] == 1e9
    assert expl.meta["passes"] >= expl.meta["tests"] > 0
    assert expl.params == {"tau": 1e9, "metric": "behaviour", "ablation": "mean", "max_edges": 200}
    assert expl.explainer == "components.acdc"


def test_a_graph_above_max_edges_is_refused_with_a_way_forward(planted):
    with pytest.raises(IncompatibleError, match="193 edges") as info:
        ACDC(max_edges=100).explain(planted)
    assert "components.eap" in str(info.value) and "max_edges=193" in str(info.value)


@pytest.mark.parametrize(
    "kwargs", [{"tau": -1.0}, {"tau": "big"}, {"metric": "loss"}, {"max_edges": 0}]
)
def test_bad_parameters_are_refused(kwargs):
    with pytest.raises(InvalidInputError):
        ACDC(**kwargs)
