"""Component tasks shared by the component tests: the planted model and a random one."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xai_bench.components import ComponentTask, TinyTransformer, planted_task  # noqa: E402


@pytest.fixture(scope="session")
def planted():
    return planted_task(n_examples=16, seed=0)


@pytest.fixture(scope="session")
def random_task():
    """A randomly initialised model with MLPs: nonlinear in its writes."""
    torch.manual_seed(0)
    model = TinyTransformer(vocab=10, n_ctx=5, d_model=16, n_layers=2, n_heads=3, d_head=4, d_mlp=8)
    rng = np.random.default_rng(0)
    return ComponentTask(
        name="random",
        model=model,
        clean=rng.integers(0, 10, (6, 5)),
        counterfactual=rng.integers(0, 10, (6, 5)),
        answers=rng.integers(0, 10, (6, 2)),
    )


@pytest.fixture(scope="session")
def saturated():
    """Factory of a hand-set pointer task whose only route runs through a saturated softmax.

    Tokens ``[x0, a, b, 2]``: x0 in {0, 1} says which of positions 1, 2 to copy. a0.h0
    copies x0 into ``s1``; a1.h0's query at the last position reads ``s1`` and puts
    attention logit ``sharp`` on position 1 + x0, whose token it copies into the readout.
    The counterfactual flips x0, so exact patching of emb, a0.h0 and a1.h0 is 2 each,
    while at ``sharp=30`` the softmax gradient through a1.h0's query is ~1e-13.
    """

    def make(sharp=30.0, n_examples=8, seed=0):
        tok, pos, s1, s2 = 0, 8, 12, 14
        model = TinyTransformer(vocab=8, n_ctx=4, d_model=22, n_layers=2, n_heads=2, d_head=8)
        with torch.no_grad():
            for p in model.parameters():
                p.zero_()
            model.W_E[:, tok : tok + 8] = torch.eye(8)
            model.W_pos[:, pos : pos + 4] = torch.eye(4)
            model.W_U[s2 : s2 + 8] = torch.eye(8)
            key = sharp * np.sqrt(8)  # q . k / sqrt(d_head) = sharp
            a0, a1 = model.block(0).attn, model.block(1).attn
            a0.W_Q[0, pos : pos + 4, 0] = 1.0
            a0.W_K[0, pos, 0] = key
            a0.W_V[0, tok : tok + 2, :2] = torch.eye(2)
            a0.W_O[0, :2, s1 : s1 + 2] = torch.eye(2)
            a1.W_Q[0, s1, 0] = a1.W_Q[0, s1 + 1, 1] = 1.0
            a1.W_K[0, pos + 1, 0] = a1.W_K[0, pos + 2, 1] = key
            a1.W_V[0, tok : tok + 8] = torch.eye(8)
            a1.W_O[0, :, s2 : s2 + 8] = torch.eye(8)
        rng = np.random.default_rng(seed)
        clean = np.full((n_examples, 4), 2)
        clean[:, 0] = rng.integers(0, 2, n_examples)
        clean[:, 1:3] = np.stack([rng.choice(np.arange(4, 8), 2, replace=False) for _ in clean])
        counterfactual = clean.copy()
        counterfactual[:, 0] = 1 - clean[:, 0]
        rows = np.arange(n_examples)
        answers = np.stack([clean[rows, 1 + clean[:, 0]], clean[rows, 2 - clean[:, 0]]], axis=1)
        return ComponentTask(
            name="saturated_pointer",
            model=model.eval(),
            clean=clean,
            counterfactual=counterfactual,
            answers=answers,
        )

    return make
