"""Hand-set models whose circuits are exact by construction (no training, no cache).

``previous_token``: predict the token before the last one. Tokens at the second-last
position come from ``{0..3}``, the others from ``{4..7}``; the counterfactual changes
the second-last token only. The circuit is ``emb -> a0.h1 -> logits``: a0.h1 copies
each position's previous token into the readout. Distractors read the same token but
write where nothing reads (one louder than the circuit), or write into the readout a
token that clean and counterfactual share; a layer-1 head reads the circuit's write and
discards it. Attention reads positions only, so the model is linear in every patched
write (first-order methods are exact on it). ``first_token`` is the 3-layer planted
task of :mod:`xai_bench.components.planted`.
"""

from __future__ import annotations

import numpy as np

from ..planted import N_CTX, N_FIRST, VOCAB, hand_set_model, planted_task
from ..task import ComponentTask
from ._train import check_builder_args

__all__ = ["PREVIOUS_TOKEN_CIRCUIT", "PREVIOUS_TOKEN_EDGES", "first_token", "previous_token"]

PREVIOUS_TOKEN_CIRCUIT = ("emb", "a0.h1")
PREVIOUS_TOKEN_EDGES = ("emb->a0.h1.v", "a0.h1->logits")

_HEADS = {
    (0, 0): ("previous", "tok", "dump", 3.0),  # the same copy, loud, where nothing reads
    (0, 1): ("previous", "tok", "s2", 1.0),  # the circuit
    (0, 2): ("last", "tok", "s2", 1.0),  # the last token: the same in both runs
    (1, 0): ("last", "s2", "dump", 2.0),  # reads the circuit's write, discards it
    (1, 1): ("previous", "tok", "s1", 2.0),  # s1: nothing reads it in two layers
    (1, 2): (0, "tok", "s2", 1.0),  # the first token: the same in both runs
}


def previous_token(
    n_examples: int = 64, seed: int = 0, behaviour: str = "logit_diff"
) -> ComponentTask:
    """The previous-token task on a hand-set 2-layer, 4-head model; truth
    ``PREVIOUS_TOKEN_CIRCUIT`` (edges: ``PREVIOUS_TOKEN_EDGES``)."""
    n_examples, seed = check_builder_args(n_examples, seed, behaviour)
    rng = np.random.default_rng(seed)
    clean = rng.integers(N_FIRST, VOCAB, size=(n_examples, N_CTX))
    clean[:, -2] = rng.integers(0, N_FIRST, size=n_examples)
    counter = clean.copy()
    counter[:, -2] = (clean[:, -2] + rng.integers(1, N_FIRST, size=n_examples)) % N_FIRST
    return ComponentTask(
        name="previous_token",
        model=hand_set_model(_HEADS, n_layers=2),
        clean=clean,
        counterfactual=counter,
        answers=np.stack([clean[:, -2], counter[:, -2]], axis=1),
        behaviour=behaviour,
        ground_truth=PREVIOUS_TOKEN_CIRCUIT,
    )


def first_token(
    n_examples: int = 64, seed: int = 0, behaviour: str = "logit_diff"
) -> ComponentTask:
    """The 3-layer hand-set first-token task (``planted_task``), arguments checked."""
    n_examples, seed = check_builder_args(n_examples, seed, behaviour)
    return planted_task(n_examples=n_examples, seed=seed, behaviour=behaviour)
