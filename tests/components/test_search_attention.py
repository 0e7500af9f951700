"""Attention heuristics: previous-token and induction scores, by hand and on hand-set heads."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xai_bench.components import AttentionHeuristic, ComponentTask, TinyTransformer  # noqa: E402
from xai_bench.components.attention import (  # noqa: E402
    attention_patterns,
    induction_scores,
    previous_token_scores,
)
from xai_bench.components.planted import _HEADS, N_CTX  # noqa: E402
from xai_bench.errors import InvalidInputError  # noqa: E402

REPEAT = torch.tensor([[1, 2, 3, 1, 2, 3]])


def _pattern(rows):
    """(1, 1, T, T) with row t attending to key rows[t] (one-hot)."""
    t = len(rows)
    pattern = torch.zeros(1, 1, t, t)
    pattern[0, 0, torch.arange(t), torch.tensor(rows)] = 1.0
    return pattern


def test_scores_of_hand_built_patterns():
    previous = _pattern([0, 0, 1, 2, 3, 4])
    induction = _pattern([0, 0, 0, 1, 2, 3])  # t >= 3 attends t - 2: after t's last occurrence
    uniform = torch.ones(6, 6).tril()
    uniform = (uniform / uniform.sum(-1, keepdim=True))[None, None]
    assert float(previous_token_scores(previous)) == pytest.approx(1.0)
    assert float(previous_token_scores(induction)) == pytest.approx(1 / 5)  # only t = 1
    harmonic = np.mean([1 / (t + 1) for t in range(1, 6)])
    assert float(previous_token_scores(uniform)) == pytest.approx(harmonic)
    score, count = induction_scores(induction, REPEAT)
    assert float(score) == pytest.approx(1.0) and count.tolist() == [3]  # queries 3, 4, 5
    assert float(induction_scores(previous, REPEAT)[0]) == pytest.approx(0.0)
    expected = np.mean([1 / 4, 1 / 5, 1 / 6])
    assert float(induction_scores(uniform, REPEAT)[0]) == pytest.approx(expected)


def test_every_earlier_occurrence_counts_and_no_repeat_scores_zero():
    tokens = torch.tensor([[5, 5, 5], [1, 2, 3]])
    uniform = torch.ones(3, 3).tril()
    uniform = (uniform / uniform.sum(-1, keepdim=True))[None, None].expand(2, 1, 3, 3)
    score, count = induction_scores(uniform, tokens)
    # [5,5,5]: query 1 -> key 1 (1/2); query 2 -> keys 1 and 2 (2/3); no repeat: 0
    assert count.tolist() == [2, 0]
    assert score[:, 0].tolist() == pytest.approx([(1 / 2 + 2 / 3) / 2, 0.0])


def _fixed_key_previous_score(attend):
    """Previous-token score of a planted head attending to one key (None: uniform)."""
    total = 0.0
    for t in range(1, N_CTX):
        key = N_CTX - 1 if attend == "last" else attend
        if key is None or key > t:  # nothing to find yet: uniform over keys 0..t
            total += 1 / (t + 1)
        else:
            total += float(key == t - 1)
    return total / (N_CTX - 1)


def test_previous_token_scores_of_the_planted_heads_in_closed_form(planted):
    expl = AttentionHeuristic("previous_token").explain(planted)
    heads = expl.meta["heads"]
    assert heads == [f"a{layer}.h{h}" for layer in range(3) for h in range(4)]
    expected = [_fixed_key_previous_score(_HEADS.get((layer, h), (None,))[0])
                for layer in range(3) for h in range(4)]  # fmt: skip
    np.testing.assert_allclose(expl.meta["scores"]["previous_token"], expected, atol=1e-9)
    names = expl.meta["components"]
    assert expl.attributions[:, names.index("emb")].tolist() == [0.0] * 16
    view = expl.meta["attention"]
    assert view["tokens"] == [str(int(t)) for t in planted.clean[0]] and view["heads"] == heads
    patterns = np.array(view["patterns"])
    assert patterns.shape == (12, N_CTX, N_CTX)
    np.testing.assert_allclose(patterns.sum(-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(patterns[heads.index("a0.h0"), :, 0], 1.0, atol=1e-9)
    np.testing.assert_allclose(patterns[heads.index("a2.h0"), -1, -1], 1.0, atol=1e-9)
    np.testing.assert_allclose(expl.attributions[:, 1:].mean(0), expected, atol=1e-9)


V, T = 6, 8


def _induction_model():
    """a0.h0 copies the previous token into PREV; a1.h0 attends where PREV = own token."""
    tok, pos, prev = 0, V, V + T
    model = TinyTransformer(V, T, d_model=2 * V + T, n_layers=2, n_heads=2, d_head=T)
    sharp = 30.0 * np.sqrt(T)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.W_E[:, tok : tok + V] = torch.eye(V)
        model.W_pos[:, pos : pos + T] = torch.eye(T)
        first, second = model.block(0).attn, model.block(1).attn
        for t in range(T):
            first.W_Q[0, pos + t, t] = 1.0
            if t + 1 < T:
                first.W_K[0, pos + t, t + 1] = sharp  # query t finds key t - 1
        first.W_V[0, tok : tok + V, :V] = torch.eye(V)
        first.W_O[0, :V, prev : prev + V] = torch.eye(V)
        second.W_Q[0, tok : tok + V, :V] = torch.eye(V)
        second.W_K[0, prev : prev + V, :V] = sharp * torch.eye(V)
    return model.eval()


def test_the_hand_set_induction_head_scores_one_and_its_helper_is_previous_token():
    rng = np.random.default_rng(0)
    clean = rng.integers(0, V - 1, size=(12, T))
    clean[0] = np.arange(T) % (V - 1)  # repeats only its first two tokens at the end
    clean[:, 0] = V - 1  # BOS: position 0's PREV (its own token) matches no query
    task = ComponentTask("induction", _induction_model(), clean, clean[::-1].copy(),
                         np.zeros((12, 2), dtype=int))  # fmt: skip
    expl = AttentionHeuristic().explain(task)
    scores = expl.meta["scores"]
    assert scores["previous_token"][0] == pytest.approx(1.0, abs=1e-6)  # a0.h0
    assert scores["induction"][2] == pytest.approx(1.0, abs=1e-6)  # a1.h0
    assert scores["induction"][0] < 0.5 and scores["previous_token"][2] < 0.5
    names = expl.meta["components"]
    count = induction_scores(attention_patterns(task, task.clean)[1], task.clean)[1]
    assert count[0] == 2 and expl.meta["induction_queries"] == int(count.sum())
    np.testing.assert_allclose(expl.attributions[:, names.index("a1.h0")], 1.0, atol=1e-6)
    assert expl.meta["space"] == "node" and expl.meta["passes"] == 1


def test_an_unknown_score_is_refused():
    with pytest.raises(InvalidInputError):
        AttentionHeuristic("copying")
