"""A tabular MLP with distractor neurons: loud activations that nothing downstream reads.

Rows of ``N_FEATURES`` categorical features (``N_VALUES`` values each) are token
sequences ``x0 .. x4 QUERY`` (token ``f * N_VALUES + v`` is value ``v`` of feature
``f``); the label, answered at ``QUERY`` as token ``NO`` or ``YES``, is
``(x0 == x1) xor (x2 == 2)``: not linear in the one-hot features, so the MLP must
compute it. The counterfactual is a row of the other label.

Everything but the MLP and the unembedding is hand-set: one-hot embeddings, head
``a0.h0`` averaging the features into a code subspace at ``QUERY`` (an exact one-hot of
every feature), and head ``a0.h1`` writing the same code, three times louder, into a
``dump`` subspace that nothing reads. The MLP's odd neurons train; each even neuron is a
distractor: three times a real neuron's input weights, zero output weights. So at node
level ``a0.h1`` and at neuron level the even neurons have the largest activations and
exactly zero effect: activation-based rankings put them first, causal ones last.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from ..model import TinyTransformer
from ..task import ComponentTask
from ._train import cached_transformer, check_builder_args, fit_last_token

__all__ = ["MLP_NEURON_TRUTH", "PLANTED_MLP", "mlp_distractors", "mlp_neurons"]

N_FEATURES, N_VALUES = 5, 3
QUERY = N_FEATURES * N_VALUES
NO, YES = QUERY + 1, QUERY + 2
VOCAB, N_CTX = YES + 1, N_FEATURES + 1
N_CODE, N_DUMP, LOUD = N_FEATURES * N_VALUES, 8, 3.0
TOK, POS, CODE = 0, VOCAB, VOCAB + N_CTX
DUMP = CODE + N_CODE
D_MLP = 16
CONFIG = dict(vocab=VOCAB, n_ctx=N_CTX, d_model=DUMP + N_DUMP, n_layers=1, n_heads=2,
              d_head=N_CODE, d_mlp=D_MLP)  # fmt: skip
REAL = np.arange(1, D_MLP, 2)  # the trained neurons; neuron 2k is the distractor of 2k + 1
PLANTED_MLP = ("emb", "a0.h0", "m0")
MLP_NEURON_TRUTH = tuple(f"m0.n{i}" for i in REAL)
STEPS, SEED = 2000, 0
VERSION = "v1"


def rows() -> tuple[np.ndarray, np.ndarray]:
    """Every row (N_VALUES ** N_FEATURES, N_CTX) as tokens, and its label token."""
    values = np.array(list(itertools.product(range(N_VALUES), repeat=N_FEATURES)))
    tokens = values + N_VALUES * np.arange(N_FEATURES)
    tokens = np.concatenate([tokens, np.full((len(values), 1), QUERY)], axis=1)
    label = (values[:, 0] == values[:, 1]) ^ (values[:, 2] == 2)
    return tokens, np.where(label, YES, NO)


def _linears(model: TinyTransformer) -> tuple[nn.Linear, nn.Linear]:
    """The MLP's input and output layers."""
    mlp = model.block(0).mlp
    assert isinstance(mlp, nn.Sequential)
    first, last = mlp[0], mlp[2]
    assert isinstance(first, nn.Linear) and isinstance(last, nn.Linear)
    return first, last


def _hand_set(model: TinyTransformer) -> None:
    """Embeddings and both heads by hand, frozen; the MLP and unembedding left to train."""
    attn = model.block(0).attn
    with torch.no_grad():
        for p in (model.W_E, model.W_pos, attn.W_Q, attn.W_K, attn.W_V, attn.W_O):
            p.zero_()
            p.requires_grad_(False)  # zero queries and keys: uniform attention
        model.W_E[:, TOK : TOK + VOCAB] = torch.eye(VOCAB)
        model.W_pos[:, POS : POS + N_CTX] = torch.eye(N_CTX)
        code = torch.arange(N_CODE)
        for head, (start, scale) in enumerate(((CODE, 1.0), (DUMP, LOUD))):
            attn.W_V[head, TOK + code, code] = 1.0
            # x N_CTX undoes the average over the N_CTX positions QUERY attends to
            attn.W_O[head, code, start + code % (N_DUMP if head else N_CODE)] = scale * N_CTX
        (w_in, w_out), model.W_U[DUMP:] = _linears(model), 0.0
        w_in.weight[:, DUMP:] = 0.0  # nothing reads the dump
        w_out.weight[:, ::2] = 0.0  # distractors write nothing
        w_in.bias.fill_(0.5)  # every neuron starts alive
    w_in.weight.register_hook(lambda g: torch.cat([g[:, :DUMP], 0 * g[:, DUMP:]], 1))
    w_out.weight.register_hook(lambda g: g * (torch.arange(D_MLP) % 2 == 1))
    model.W_U.register_hook(lambda g: torch.cat([g[:DUMP], 0 * g[DUMP:]]))


def _train(model: TinyTransformer) -> None:
    tokens, labels = rows()

    def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        pick = rng.integers(0, len(tokens), size=n)
        return tokens[pick], labels[pick]

    _hand_set(model)
    fit_last_token(model, draw, steps=STEPS, seed=SEED, lr=1e-2)
    w_in = _linears(model)[0]
    with torch.no_grad():  # distractors: loud copies of their partners' inputs
        w_in.weight[::2] = LOUD * w_in.weight[1::2]
        w_in.bias[::2] = LOUD * w_in.bias[1::2]
    for p in model.parameters():
        p.requires_grad_(True)


def mlp_distractors(
    n_examples: int = 64, seed: int = 0, behaviour: str = "logit_diff"
) -> ComponentTask:
    """The tabular task; node truth ``PLANTED_MLP``, neuron truth ``MLP_NEURON_TRUTH``.

    ``seed`` draws the rows; the model is fixed (trained once, cached).
    """
    n_examples, seed = check_builder_args(n_examples, seed, behaviour)
    model = cached_transformer(f"components_mlp_distractors_{VERSION}", CONFIG, _train, SEED)
    tokens, labels = rows()
    rng = np.random.default_rng([seed, 1])
    clean = rng.integers(0, len(tokens), size=n_examples)
    counter = np.array([rng.choice(np.flatnonzero(labels != labels[i])) for i in clean])
    return ComponentTask(
        name="mlp_distractors",
        model=model,
        clean=tokens[clean],
        counterfactual=tokens[counter],
        answers=np.stack([labels[clean], labels[counter]], axis=1),
        behaviour=behaviour,
        ground_truth=PLANTED_MLP,
    )


def mlp_neurons(
    n_examples: int = 64, seed: int = 0, behaviour: str = "logit_diff"
) -> ComponentTask:
    """:func:`mlp_distractors` over the neurons ``m0.n{i}``, truth ``MLP_NEURON_TRUTH``."""
    task = mlp_distractors(n_examples, seed, behaviour).neurons(0, MLP_NEURON_TRUTH)
    return replace(task, name="mlp_neurons")
