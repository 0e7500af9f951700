"""Built-in component tasks: one builder per task, ``<name>(n_examples=64, seed=0)``.

Trained models are trained once (seeded, under a minute on one CPU core) and cached
under ``~/.cache/xai-bench`` with a versioned name; ``seed`` draws the examples only.

- :func:`planted_induction`: induction on 16 heads, only two of which may carry it.
- :func:`free_induction`: the same, trained freely: no ground truth (the control).
- :func:`ioi`: an IOI-like name-mover task with a planted circuit.
- :func:`mlp_distractors`: a tabular MLP whose distractor neurons (and head) are loud
  but read by nothing; :func:`mlp_neurons`: the same over its neurons.
- :func:`previous_token`, :func:`first_token`: hand-set weights, circuits exact by
  construction, linear in every patched write.
"""

from __future__ import annotations

from .handset import PREVIOUS_TOKEN_CIRCUIT, PREVIOUS_TOKEN_EDGES, first_token, previous_token
from .induction import PLANTED_INDUCTION, free_induction, planted_induction
from .ioi import PLANTED_IOI, ioi
from .mlp import MLP_NEURON_TRUTH, PLANTED_MLP, mlp_distractors, mlp_neurons

__all__ = [
    "BUILDERS",
    "MLP_NEURON_TRUTH",
    "PLANTED_INDUCTION",
    "PLANTED_IOI",
    "PLANTED_MLP",
    "PREVIOUS_TOKEN_CIRCUIT",
    "PREVIOUS_TOKEN_EDGES",
    "first_token",
    "free_induction",
    "ioi",
    "mlp_distractors",
    "mlp_neurons",
    "planted_induction",
    "previous_token",
]

# task id (registered as ``components.<id>``) -> builder
BUILDERS = {
    "planted_induction": planted_induction,
    "free_induction": free_induction,
    "ioi": ioi,
    "mlp_distractors": mlp_distractors,
    "mlp_neurons": mlp_neurons,
    "previous_token": previous_token,
    "first_token": first_token,
}
