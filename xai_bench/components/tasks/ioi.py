"""An IOI-like name-mover task on a tiny vocabulary, with a planted circuit.

Each sequence is ``n1 n2 f f s END``: two distinct names, two fillers, then the
subject ``s`` repeated (one of the two names); the answer is the other name, the
indirect object (Wang et al. 2023's "When Mary and John went to the store, John gave
a drink to" -> Mary). The counterfactual repeats the other name instead, so the
answers are (indirect object, subject) and the logit difference flips sign.

The model trains with every head except ``PLANTED_IOI`` fed another row's write, so
only the planted heads carry the sequence: one at layer 0 (the repeated name must
reach the end) and two name movers at layer 1. No single head can find the name that
was not repeated (one head's write is the same map of every token it attends to).
With one planted head per layer the model did not learn the task in 2000 steps (50 %
accuracy); with two name movers it did (100 %).
"""

from __future__ import annotations

import numpy as np

from ..model import TinyTransformer
from ..task import ComponentTask
from ._train import cached_transformer, check_builder_args, fit_last_token

__all__ = ["IOI_VOCAB", "PLANTED_IOI", "ioi"]

N_NAMES, N_FILLERS = 8, 4
END = N_NAMES + N_FILLERS
VOCAB, N_CTX = END + 1, 6
IOI_VOCAB = tuple(
    [f"name{i}" for i in range(N_NAMES)] + [f"filler{i}" for i in range(N_FILLERS)] + ["END"]
)
CONFIG = dict(vocab=VOCAB, n_ctx=N_CTX, d_model=32, n_layers=2, n_heads=4, d_head=8)
PLANTED_IOI = ("emb", "a0.h1", "a1.h2", "a1.h3")
STEPS, SEED = 1500, 0
VERSION = "v1"


def _sequences(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sequences (n, N_CTX) ending in the subject, their counterfactuals, and the answers."""
    names = np.argsort(rng.random((n, N_NAMES)), axis=1)[:, :2]
    fillers = rng.integers(N_NAMES, END, size=(n, 2))
    subject = rng.integers(0, 2, size=n)
    rows = np.arange(n)
    s, io = names[rows, subject], names[rows, 1 - subject]
    end = np.full((n, 1), END)
    clean = np.concatenate([names, fillers, s[:, None], end], axis=1)
    counter = np.concatenate([names, fillers, io[:, None], end], axis=1)
    return clean, counter, np.stack([io, s], axis=1)


def draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` training sequences and their answers (the indirect object)."""
    clean, _, answers = _sequences(rng, n)
    return clean, answers[:, 0]


def ioi(n_examples: int = 64, seed: int = 0, behaviour: str = "logit_diff") -> ComponentTask:
    """The IOI-like task on a 2-layer, 4-head model whose only carriers are ``PLANTED_IOI``.

    ``seed`` draws the examples; the model is fixed (trained once, cached).
    """
    n_examples, seed = check_builder_args(n_examples, seed, behaviour)
    heads = [c for c in PLANTED_IOI if c != "emb"]

    def train(model: TinyTransformer) -> None:
        fit_last_token(model, draw, steps=STEPS, seed=SEED, planted=heads)

    model = cached_transformer(f"components_ioi_{VERSION}", CONFIG, train, SEED)
    clean, counter, answers = _sequences(np.random.default_rng([seed, 1]), n_examples)
    return ComponentTask(
        name="ioi",
        model=model,
        clean=clean,
        counterfactual=counter,
        answers=answers,
        behaviour=behaviour,
        ground_truth=PLANTED_IOI,
    )
