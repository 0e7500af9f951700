"""The edge space and masker: MIB's edge semantics, its two sanity checks, planted edges."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xai_bench.components import (  # noqa: E402
    ActivationPatching,
    AttributionPatching,
    EdgeAttributionPatching,
    EdgeMasker,
    cpr,
    edge_space,
)
from xai_bench.components.masker import record  # noqa: E402
from xai_bench.errors import InvalidInputError  # noqa: E402

PLANTED_EDGES = {"emb->a0.h0.v", "a0.h0->a2.h0.v", "a2.h0->logits"}


def _behaviour(task, tokens):
    with torch.no_grad():
        return task.score(task.model(tokens), torch.arange(task.n_examples)).double().numpy()


def test_edge_space_counts_every_writer_into_every_later_reader(planted, random_task):
    # planted: 12 q/k/v readers per layer with 1, 5, 9 writers, then 13 writers into logits
    space = edge_space(planted)
    assert len(space) == 12 * (1 + 5 + 9) + 13 and space.granularity == "edge"
    assert space.names[0] == "emb->a0.h0.q" and space.names[-1] == "a2.h3->logits"
    # with MLPs: layer 0 q/k/v (1 writer), m0 (4), layer 1 q/k/v (5), m1 (8), logits (9)
    names = edge_space(random_task).names
    assert len(names) == 9 * 1 + 4 + 9 * 5 + 8 + 9
    assert "a1.h2->m1" in names and "m0->a1.h0.k" in names and "m1->a1.h0.q" not in names


def test_all_kept_is_clean_and_none_kept_is_counterfactual(random_task, planted):
    for task in (random_task, planted):
        n = len(edge_space(task))
        keep = np.vstack([np.ones((1, n), bool), np.zeros((1, n), bool)])
        out = EdgeMasker().evaluate(task, keep)
        # q/k/v readers widen to one input per head: another einsum, float rounding apart
        np.testing.assert_allclose(out[0], _behaviour(task, task.clean), atol=1e-6)
        np.testing.assert_allclose(out[1], _behaviour(task, task.counterfactual), atol=1e-5)


def test_one_dropped_edge_adds_the_writers_difference_at_one_reader(random_task):
    """Drop emb->a0.h1.v: only head 1's value input sees the counterfactual embedding."""
    task = random_task
    emb_clean, emb_cf = record(task, task.clean)[1][0], record(task, task.counterfactual)[1][0]
    attn = task.model.block(0).attn

    def patch(_m, _i, out):  # one value input per head; head 1's gets the difference
        out = out[:, :, None, :].repeat(1, 1, task.model.n_heads, 1)
        out[:, :, 1] += emb_cf - emb_clean
        return out

    handle = attn.hook_v_in.register_forward_hook(patch)
    expected = _behaviour(task, task.clean)
    handle.remove()
    names = edge_space(task).names
    keep = np.ones((1, len(names)), bool)
    keep[0, names.index("emb->a0.h1.v")] = False
    np.testing.assert_allclose(EdgeMasker().evaluate(task, keep)[0], expected, atol=1e-6)
    assert not np.allclose(expected, _behaviour(task, task.clean))


def test_chunks_of_whole_circuits_and_gathered_rows_agree(random_task):
    keep = np.random.default_rng(2).random((5, len(edge_space(random_task)))) < 0.5
    whole = EdgeMasker(chunk_rows=12).evaluate(random_task, keep)  # 2 circuits per chunk
    gathered = EdgeMasker(chunk_rows=5).evaluate(random_task, keep)
    np.testing.assert_allclose(whole, gathered, atol=1e-6)


def test_exact_edge_patching_ranks_the_planted_edges_first(planted):
    expl = ActivationPatching(granularity="edge").explain(planted)
    names = expl.meta["components"]
    mean = expl.attributions.mean(axis=0)
    assert {names[j] for j in np.argsort(-mean)[:3]} == PLANTED_EDGES
    assert sorted(np.abs(mean))[-4] == 0.0  # every other edge does nothing
    # MIB grid on 193 edges: sizes 0, 0, 0, 1, 3, 9, 19, 38, 96, 193; f = 1 from 3 edges on
    result = cpr(planted, expl)
    assert result.params["sizes"] == [0, 0, 0, 1, 3, 9, 19, 38, 96, 193]
    assert result.curves[0].tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
    assert result.scores[0] == pytest.approx(0.5 * 0.01 + 0.98)


def test_keep_mask_over_nodes_is_refused_by_the_edge_masker(planted):
    with pytest.raises(InvalidInputError, match="edge space"):
        EdgeMasker().evaluate(planted, np.ones((1, len(planted.space)), bool))
    with pytest.raises(InvalidInputError, match="granularity='wires'"):
        ActivationPatching(granularity="wires")


@pytest.mark.parametrize("direction", ["noising", "denoising"])
def test_eap_equals_exact_edge_patching_on_the_linear_planted_model(planted, direction):
    exact = ActivationPatching(direction, granularity="edge").explain(planted)
    eap = EdgeAttributionPatching(direction).explain(planted)
    np.testing.assert_allclose(eap.attributions, exact.attributions, atol=1e-6)
    assert eap.meta["granularity"] == "edge" and eap.meta["components"] == exact.meta["components"]


@pytest.mark.parametrize("direction", ["noising", "denoising"])
def test_eap_out_of_a_writer_sums_to_its_node_atp(random_task, direction):
    """A write enters each later reader input additively, so the chain rule splits node
    AtP exactly over the writer's outgoing edges, on any model."""
    eap = EdgeAttributionPatching(direction).explain(random_task)
    atp = AttributionPatching(direction).explain(random_task).attributions
    writers = [name.split("->")[0] for name in eap.meta["components"]]
    for j, node in enumerate(random_task.space.names):
        out = [e for e, w in enumerate(writers) if w == node]
        np.testing.assert_allclose(eap.attributions[:, out].sum(axis=1), atp[:, j], atol=1e-5)
    exact = ActivationPatching(direction, granularity="edge").explain(random_task).attributions
    assert np.abs(eap.attributions - exact).max() > 1e-2  # an estimate on a nonlinear model
