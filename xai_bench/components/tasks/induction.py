"""Induction: predict the token that followed the last token's earlier occurrence.

Each sequence holds ``N_CTX - 1`` distinct tokens, then repeats one of them (at a
random position ``i``); the answer is the token at ``i + 1``. Solving it takes two
steps (a head that moves each token's predecessor forward, then a head at the last
position that finds the earlier copy and moves its successor), so no positional
shortcut exists. The counterfactual is an independent sequence; the answers are the
clean and the counterfactual successor.

``planted_induction`` trains with every head except ``PLANTED_INDUCTION`` fed another
row's write, so only the planted heads carry the sequence: the truth is known.
``free_induction`` trains the same model freely: the unknown-mechanism control.
"""

from __future__ import annotations

import numpy as np

from ..model import TinyTransformer
from ..task import ComponentTask
from ._train import cached_transformer, check_builder_args, fit_last_token

__all__ = ["PLANTED_INDUCTION", "free_induction", "planted_induction"]

VOCAB, N_CTX = 24, 12
CONFIG = dict(vocab=VOCAB, n_ctx=N_CTX, d_model=64, n_layers=2, n_heads=8, d_head=8)
PLANTED_INDUCTION = ("emb", "a0.h3", "a1.h5")  # previous-token head, induction head
STEPS, SEED = 800, 0
VERSION = "v1"


def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sequences (n, N_CTX) and their answers (n,)."""
    tokens = np.argsort(rng.random((n, VOCAB)), axis=1)[:, : N_CTX - 1]
    repeat = rng.integers(0, N_CTX - 2, size=n)
    rows = np.arange(n)
    tokens = np.concatenate([tokens, tokens[rows, repeat][:, None]], axis=1)
    return tokens, tokens[rows, repeat + 1]


def _pairs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clean and counterfactual sequences whose answers differ, and the answers (n, 2)."""
    rng = np.random.default_rng([seed, 1])  # a stream apart from training's
    clean, answer = draw(rng, n)
    counter, other = draw(rng, n)
    while (same := answer == other).any():
        counter[same], other[same] = draw(rng, int(same.sum()))
    return clean, counter, np.stack([answer, other], axis=1)


def _task(
    name: str, planted: tuple[str, ...] | None, n_examples: int, seed: int, behaviour: str
) -> ComponentTask:
    n_examples, seed = check_builder_args(n_examples, seed, behaviour)
    heads = None if planted is None else [c for c in planted if c != "emb"]

    def train(model: TinyTransformer) -> None:
        fit_last_token(model, draw, steps=STEPS, seed=SEED, planted=heads)

    model = cached_transformer(f"components_{name}_{VERSION}", CONFIG, train, SEED)
    clean, counter, answers = _pairs(n_examples, seed)
    return ComponentTask(
        name=name,
        model=model,
        clean=clean,
        counterfactual=counter,
        answers=answers,
        behaviour=behaviour,
        ground_truth=planted,
    )


def planted_induction(
    n_examples: int = 64, seed: int = 0, behaviour: str = "logit_diff"
) -> ComponentTask:
    """Induction on a 2-layer, 8-head model whose only carriers are ``PLANTED_INDUCTION``.

    ``seed`` draws the examples; the model is fixed (trained once, cached). ``behaviour``:
    ``"logit_diff"`` or ``"prob"`` (see :class:`ComponentTask`).
    """
    return _task("planted_induction", PLANTED_INDUCTION, n_examples, seed, behaviour)


def free_induction(
    n_examples: int = 64, seed: int = 0, behaviour: str = "logit_diff"
) -> ComponentTask:
    """The same task and model shape trained without planting: no ground truth."""
    return _task("free_induction", None, n_examples, seed, behaviour)
