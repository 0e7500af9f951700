"""AtP*: the QK fix undoes a saturated softmax; GradDrop's per-layer sum in closed form."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xai_bench.components import (  # noqa: E402
    ActivationPatching,
    AttributionPatching,
    AttributionPatchingStar,
    ComponentTask,
    EdgeAttributionPatching,
    GradDrop,
    TinyTransformer,
)
from xai_bench.components._passes import count_passes  # noqa: E402
from xai_bench.errors import InvalidInputError  # noqa: E402


def _mean(explainer, task):
    expl = explainer.explain(task)
    return dict(zip(expl.meta["components"], expl.attributions.mean(axis=0), strict=True))


def test_qk_fix_recovers_the_effect_plain_atp_loses_in_a_saturated_softmax(saturated):
    """a0.h0 reaches the logits only through a1.h0's query (attention logit 30): exact 2,
    AtP ~1e-11, AtP* 2. emb reaches a1.h0's query only through a0.h0, a path the fix
    leaves linear, so AtP* misses it as AtP does."""
    task = saturated(30.0)
    exact = _mean(ActivationPatching(), task)
    atp = _mean(AttributionPatching(), task)
    star = _mean(AttributionPatchingStar(), task)
    assert exact == pytest.approx({"emb": 2, "a0.h0": 2, "a0.h1": 0, "a1.h0": 2, "a1.h1": 0})
    assert abs(atp["a0.h0"]) < 1e-9 and abs(atp["emb"]) < 1e-9 and atp["a1.h0"] == 2
    assert star["a0.h0"] == pytest.approx(2, abs=1e-9) and star["a1.h0"] == 2
    assert abs(star["emb"]) < 1e-9


def test_qk_fix_on_edges(saturated):
    task = saturated(30.0)
    exact = _mean(ActivationPatching(granularity="edge"), task)
    eap = _mean(EdgeAttributionPatching(), task)
    star = _mean(AttributionPatchingStar(granularity="edge"), task)
    assert {e for e, v in exact.items() if v} == {
        "emb->a0.h0.v",
        "a0.h0->a1.h0.q",
        "a1.h0->logits",
    }
    assert abs(eap["a0.h0->a1.h0.q"]) < 1e-9 and star["a0.h0->a1.h0.q"] == pytest.approx(2)
    assert abs(star["emb->a0.h0.v"]) < 1e-9  # a value read: linear, as in EAP
    others = [e for e in exact if e != "a0.h0->a1.h0.q"]
    np.testing.assert_allclose([star[e] for e in others], [eap[e] for e in others], atol=1e-9)


def test_qk_fix_is_exact_for_a_query_patch_at_any_sharpness(saturated):
    """Below saturation AtP is off too (0.749 against 0.881 at attention logit 2); the
    pattern is the only route, so AtP* equals exact patching for a0.h0."""
    task = saturated(2.0)
    exact, atp = _mean(ActivationPatching(), task), _mean(AttributionPatching(), task)
    star = _mean(AttributionPatchingStar(), task)
    assert exact["a0.h0"] - atp["a0.h0"] > 0.1
    assert star["a0.h0"] == pytest.approx(exact["a0.h0"], abs=1e-6)


@pytest.mark.parametrize("direction", ["noising", "denoising"])
@pytest.mark.parametrize("granularity", ["node", "edge"])
def test_atp_star_equals_atp_where_no_pattern_changes(planted, direction, granularity):
    """The planted model's patterns read positions only: the fix changes nothing."""
    star = AttributionPatchingStar(direction, granularity=granularity).explain(planted)
    plain = (AttributionPatching(direction) if granularity == "node" else
             EdgeAttributionPatching(direction)).explain(planted)  # fmt: skip
    np.testing.assert_allclose(star.attributions, plain.attributions, atol=1e-6)


def test_atp_star_node_is_its_edges_with_queries_and_keys_patched_together(random_task):
    """Without attention reads the node score is the sum of its edges' (EAP); the fix
    replaces each head's q and k edges by one joint exact-pattern term."""
    node = AttributionPatchingStar().explain(random_task).attributions
    atp = AttributionPatching().explain(random_task).attributions
    assert np.abs(node - atp).max() > 1e-4  # the random model's patterns do move
    assert np.corrcoef(node.ravel(), atp.ravel())[0, 1] > 0.9


def test_atp_star_runs_within_atp_cost(saturated):
    task = saturated()
    with count_passes(task.model, task.n_examples) as outside:
        expl = AttributionPatchingStar().explain(task)
    assert outside.passes == expl.meta["passes"] == 2 and expl.meta["backward_passes"] == 1


def test_graddrop_in_closed_form_on_the_planted_chain(planted):
    """Planted chain emb -> a0.h0 -> a2.h0 -> logits, L = 3, each link effect 2.
    a2.h0 loses its gradient only when its own layer drops: (2 + 2 + 0) / 2 = 2.
    a0.h0 and emb lose it when layer 0 or layer 2 drops: (0 + 2 + 0) / 2 = 1."""
    with count_passes(planted.model, planted.n_examples) as outside:
        expl = GradDrop().explain(planted)
    scores = dict(zip(expl.meta["components"], expl.attributions.mean(axis=0), strict=True))
    expected = dict.fromkeys(scores, 0.0) | {"emb": 1.0, "a0.h0": 1.0, "a2.h0": 2.0}
    assert scores == pytest.approx(expected, abs=1e-6)
    assert outside.passes == expl.meta["passes"] == 1 + 3
    assert expl.meta["sign"].startswith("unsigned")
    assert (expl.attributions >= 0).all()


def test_graddrop_of_a_direct_writer_is_its_atp(saturated):
    """Saturated task, L = 2: a1.h0 writes the readout directly, so dropping layer 0
    leaves its AtP (2) and dropping layer 1 zeroes it: 2 / (L - 1) = 2."""
    scores = _mean(GradDrop(), saturated())
    assert scores["a1.h0"] == pytest.approx(2.0) and scores["a0.h1"] == 0


def test_bad_parameters_and_spaces_are_refused(planted):
    with pytest.raises(InvalidInputError, match="granularity='wires'"):
        AttributionPatchingStar(granularity="wires")
    with pytest.raises(InvalidInputError, match="denoising"):
        GradDrop(direction="denoising", ablation="zero")
    with pytest.raises(InvalidInputError, match="ComponentTask"):
        AttributionPatchingStar().explain(object())


def test_atp_over_all_heads_runs_two_forward_passes(planted, random_task):
    """The issue's bound: AtP over all heads within 3 forward-pass equivalents (2 + 1)."""
    for task in (planted, random_task):
        with count_passes(task.model, task.n_examples) as outside:
            expl = AttributionPatching().explain(task)
        assert outside.passes == expl.meta["passes"] == 2 and expl.meta["backward_passes"] == 1
        assert expl.meta["space"] == "node"


def _cancelling_task():
    """u in {0, 1} (token 1 or 0 at position 0) reaches the answer's logit twice: a0.h0
    writes +u into it directly, and writes u into s1, which m1 reads as ReLU(2u - 1) and
    writes back -0.5x. At the clean u = 1 the slopes cancel (+1 - 1), so AtP of a0.h0 is
    0; the counterfactual u = 0 switches the ReLU off, so exact patching is 0.5."""
    tok, pos, s1, s2 = 0, 4, 6, 7
    model = TinyTransformer(vocab=4, n_ctx=2, d_model=11, n_layers=2, n_heads=1, d_head=4, d_mlp=1)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.W_E[:, tok : tok + 4] = torch.eye(4)
        model.W_pos[:, pos : pos + 2] = torch.eye(2)
        model.W_U[s2 : s2 + 4] = torch.eye(4)
        attn = model.block(0).attn
        attn.W_Q[0, pos : pos + 2, 0] = 1.0
        attn.W_K[0, pos, 0] = 30.0 * 2  # attends position 0: logit 30
        attn.W_V[0, tok + 1, 0] = 1.0  # u
        attn.W_O[0, 0, s1] = attn.W_O[0, 0, s2] = 1.0
        mlp = model.block(1).mlp
        mlp[0].weight[0, s1], mlp[0].bias[0] = 2.0, -1.0
        mlp[2].weight[s2, 0] = -0.5
    tokens = np.array([[1, 2]] * 4)
    return ComponentTask(
        name="cancelling",
        model=model.eval(),
        clean=tokens,
        counterfactual=np.array([[0, 2]] * 4),
        answers=np.array([[0, 1]] * 4),
    )


def test_graddrop_recovers_effects_that_cancel_in_atp():
    """emb and a0.h0: AtP 0, exact 0.5; with layer 1's gradient dropped only the direct
    path is left (1), with layer 0's nothing: GradDrop 1 / (L - 1) = 1. m1 (its own
    layer 1): |-0.5| once, so 0.5, which AtP and exact agree on (-0.5)."""
    task = _cancelling_task()
    exact, atp = _mean(ActivationPatching(), task), _mean(AttributionPatching(), task)
    drop = _mean(GradDrop(), task)
    for node in ("emb", "a0.h0"):
        assert exact[node] == pytest.approx(0.5) and atp[node] == pytest.approx(0, abs=1e-6)
        assert drop[node] == pytest.approx(1.0)
    assert exact["m1"] == pytest.approx(-0.5) and atp["m1"] == pytest.approx(-0.5)
    assert drop["m1"] == pytest.approx(0.5)
    assert drop["m0"] == drop["a1.h0"] == 0


def test_a_neuron_task_is_a_clean_skip(random_task):
    from xai_bench.errors import IncompatibleError

    for explainer in (AttributionPatchingStar(), GradDrop()):
        with pytest.raises(IncompatibleError, match="node space, not the neuron space"):
            explainer.explain(random_task.neurons(0))
