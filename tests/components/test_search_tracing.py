"""Causal tracing: the two limits of restoration, the noise, and the planted trace."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xai_bench.components import CausalTracing  # noqa: E402
from xai_bench.errors import InvalidInputError  # noqa: E402


def _scores(task, logits):
    return task.score(logits, torch.arange(task.n_examples)).double().numpy()


def _corrupted_by_hand(task, noise):
    handle = task.model.hook_emb.register_forward_hook(lambda _m, _i, out: out + noise)
    try:
        with torch.no_grad():
            return _scores(task, task.model(task.clean))
    finally:
        handle.remove()


@pytest.mark.parametrize("kind", ["components", "residual"])
@pytest.mark.parametrize("fixture", ["planted", "random_task"])
def test_restoring_everything_is_clean_and_nothing_is_corrupted(fixture, kind, request):
    task = request.getfixturevalue(fixture)
    tracing = CausalTracing(seed=3)
    n_pos = task.clean.shape[1]
    n = len(task.space) if kind == "components" else task.model.n_layers + 1
    restore = np.stack([np.ones((n_pos, n), bool), np.zeros((n_pos, n), bool)])
    m = tracing.evaluate(task, restore, kind)
    with torch.no_grad():
        clean = _scores(task, task.model(task.clean))
    np.testing.assert_allclose(m[0], clean, atol=1e-5)
    np.testing.assert_allclose(m[1], _corrupted_by_hand(task, tracing.corruption(task)), atol=1e-5)
    assert np.abs(m[1] - clean).mean() > 0.05  # the noise did corrupt


def test_noise_is_three_embedding_stds_on_the_subject_only_and_seeded(planted):
    noise = CausalTracing(seed=0).corruption(planted)
    subject = (planted.clean != planted.counterfactual).numpy()
    assert subject[:, 0].all() and not subject[:, 1:].any()  # the planted task's subject
    assert np.all(noise[:, 1:].numpy() == 0)
    std = float(planted.model.W_E.detach().std())
    assert float(noise[:, 0].std()) == pytest.approx(3 * std, rel=0.1)
    torch.testing.assert_close(noise, CausalTracing(seed=0).corruption(planted))
    assert not torch.equal(noise, CausalTracing(seed=1).corruption(planted))
    assert float(CausalTracing(noise=1.0).corruption(planted)[:, 0].std()) == pytest.approx(
        std, rel=0.1
    )


def test_the_planted_trace_peaks_at_the_subject_and_the_planted_heads(planted):
    """emb at position 0 (the subject), a0 and a2 at the last position each restore the
    clean run exactly (full recovery); nothing else carries the first token."""
    expl = CausalTracing().explain(planted)
    tracing = expl.meta["tracing"]
    assert tracing["layers"] == ["emb", "a0", "a1", "a2"]
    assert tracing["positions"] == [str(int(t)) for t in planted.clean[0]]
    assert tracing["corrupted"] == [1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    effect = np.array(tracing["effect"])
    with torch.no_grad():
        clean = _scores(planted, planted.model(planted.clean))
    corrupted = _corrupted_by_hand(planted, CausalTracing().corruption(planted))
    damage = np.abs(clean - corrupted)
    assert expl.meta["corrupted"] == pytest.approx(corrupted.mean(), abs=1e-6)
    peaks = {(0, 0), (1, 5), (3, 5)}
    assert effect[0, 0] == pytest.approx(damage.mean(), abs=1e-6)  # the clean run again
    # the heads recover most: noise in position 0's pos dims also moves sharp attention
    assert effect[1, 5] > 0.75 * damage.mean() and effect[3, 5] > 0.75 * damage.mean()
    rest = [effect[c] for c in np.ndindex(effect.shape) if c not in peaks]
    assert damage.mean() > 0.3 and np.abs(rest).max() < 0.2 * damage.mean()
    names = expl.meta["components"]
    node = expl.attributions.mean(axis=0)
    assert {names[j] for j in np.argsort(-node)[:3]} == {"emb", "a0.h0", "a2.h0"}
    np.testing.assert_allclose(expl.attributions[:, names.index("emb")], damage, atol=1e-6)
    a2 = expl.attributions[:, names.index("a2.h0")]
    assert a2.mean() > 0.75 * damage.mean()
    assert expl.meta["restored_all"] == pytest.approx(expl.meta["clean"])


def test_the_residual_trace_moves_from_the_subject_to_the_last_position(planted):
    """Meng's hidden-state picture: the embedding at the subject, then the residual at the
    last position from layer 0 on (a0.h0 has moved the token there); the final residual
    at the last position is all the logits read, so restoring it is the clean run."""
    expl = CausalTracing(restore="residual").explain(planted)
    tracing = expl.meta["tracing"]
    assert tracing["layers"] == ["emb", "resid0", "resid1", "resid2"]
    effect = np.array(tracing["effect"])
    with torch.no_grad():
        clean = _scores(planted, planted.model(planted.clean))
    full = np.abs(clean - _corrupted_by_hand(planted, CausalTracing().corruption(planted))).mean()
    assert effect[0, 0] == pytest.approx(full, abs=1e-6)
    assert effect[3, 5] == pytest.approx(full, abs=1e-6)
    assert effect[1, 5] > 0.75 * full and effect[2, 5] > 0.75 * full
    off = np.delete(effect.ravel(), [0, 11, 17, 23])  # everything but those four cells
    assert np.abs(off).max() < 0.2 * full
    assert expl.params["restore"] == "residual"
    # the per-component attributions do not depend on the matrix's rows
    components = CausalTracing().explain(planted).attributions
    np.testing.assert_allclose(expl.attributions, components)


def test_indirect_effect_is_meng_signed_difference(planted):
    """Restoring the subject's embedding gives back the clean run: m_clean - m_corrupted."""
    expl = CausalTracing(effect="indirect").explain(planted)
    effect = np.array(expl.meta["tracing"]["effect"])
    assert effect[0, 0] == pytest.approx(expl.meta["clean"] - expl.meta["corrupted"], abs=1e-6)
    with torch.no_grad():
        clean = _scores(planted, planted.model(planted.clean))
    corrupted = _corrupted_by_hand(planted, CausalTracing().corruption(planted))
    emb = expl.attributions[:, expl.meta["components"].index("emb")]
    np.testing.assert_allclose(emb, clean - corrupted, atol=1e-6)  # signed, per example
    assert (emb > 0).any() and (emb < 0).any()  # linear in the noise: both signs occur
    assert expl.meta["space"] == "node" and expl.meta["direction"] == "denoising"
    assert expl.meta["passes"] >= 2 and expl.params["effect"] == "indirect"


def test_an_examples_noise_does_not_depend_on_its_batch(planted):
    rows = [3, 5]
    part = replace(
        planted,
        clean=planted.clean[rows],
        counterfactual=planted.counterfactual[rows],
        answers=planted.answers[rows],
    )
    whole = CausalTracing(seed=7)
    torch.testing.assert_close(whole.corruption(part), whole.corruption(planted)[rows])
    np.testing.assert_allclose(
        whole.explain(part).attributions, whole.explain(planted).attributions[rows], atol=1e-6
    )


def test_a_given_subject_replaces_the_differing_positions(planted):
    noise = CausalTracing(subject=[1, 2]).corruption(planted)
    assert np.all(noise[:, [0, 3, 4, 5]].numpy() == 0) and np.all(noise[:, 1:3].numpy() != 0)


def test_bad_input_is_refused(planted):
    for kwargs in (
        {"noise": 0.0},
        {"seed": 1.5},
        {"effect": "total"},
        {"restore": "mlp"},
        {"chunk_rows": 0},
    ):
        with pytest.raises(InvalidInputError):
            CausalTracing(**kwargs)
    with pytest.raises(InvalidInputError, match="subject"):
        CausalTracing(subject=[9]).corruption(planted)
    same = replace(planted, counterfactual=planted.clean)
    with pytest.raises(InvalidInputError, match="subject="):
        CausalTracing().corruption(same)
    with pytest.raises(InvalidInputError, match="restore mask"):
        CausalTracing().evaluate(planted, np.ones((1, 6, 3), bool))
