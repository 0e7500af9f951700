"""A hand-set model whose circuit is exact by construction, with distractor heads.

Task: predict the first token of the sequence at the last position. First tokens come
from ``{0..3}``, the others from ``{4..7}``; the counterfactual changes the first token
only, and the answers are (clean first token, counterfactual first token).

The residual stream has named subspaces: ``tok`` and ``pos`` (one-hot embeddings),
``s1`` (the carried token), ``s2`` (what the unembedding reads) and ``dump`` (read by
nothing). The circuit is ``emb -> a0.h0 -> a2.h0 -> logits``: a0.h0 copies the token at
position 0 into ``s1``; a2.h0, at the last position, copies ``s1`` into ``s2``.
Distractors read the same signal but write into ``dump`` (some louder than the
circuit), or write into ``s2`` a token that clean and counterfactual share. Attention
patterns read only ``pos``, so the model is linear in every patched write (first-order
methods are exact on it).
"""

from __future__ import annotations

import numpy as np
import torch

from .model import TinyTransformer
from .task import ComponentTask

__all__ = ["PLANTED_CIRCUIT", "hand_set_model", "planted_model", "planted_task"]

VOCAB, N_CTX, N_FIRST = 8, 6, 4
PLANTED_CIRCUIT = ("emb", "a0.h0", "a2.h0")
SHARP = 30.0  # attention logit on the attended position: the rest get < 1e-12 weight

_SPACES = {"tok": 0, "pos": VOCAB, "s1": VOCAB + N_CTX, "s2": 2 * VOCAB + N_CTX}
_SPACES["dump"] = 3 * VOCAB + N_CTX
D_MODEL = 4 * VOCAB + N_CTX

# (layer, head): attended position ("last", "previous", an index, or None = uniform),
# read, written, and the write's scale (loud distractors fool rankings by activation size)
_HEADS = {
    (0, 0): (0, "tok", "s1", 1.0),  # planted
    (0, 1): (0, "tok", "dump", 3.0),  # reads the signal, writes loudly where nothing reads
    (0, 2): (1, "tok", "s2", 1.0),  # writes the readout, but the same token in both runs
    (0, 3): (None, "tok", "dump", 1.0),
    (1, 0): ("last", "s1", "dump", 3.0),  # reads the carrier, dead write
    (1, 1): (0, "tok", "dump", 2.0),
    (1, 3): (2, "tok", "s2", 1.0),
    (2, 0): ("last", "s1", "s2", 1.0),  # planted
    (2, 1): ("last", "s1", "dump", 2.0),
    (2, 2): (0, "tok", "dump", 1.0),
}


def _width(space: str) -> int:
    return N_CTX if space == "pos" else VOCAB


def planted_model() -> TinyTransformer:
    """The hand-set 3-layer, 4-head attention-only model (no training)."""
    return hand_set_model(_HEADS, n_layers=3)


def hand_set_model(heads: dict[tuple[int, int], tuple], n_layers: int) -> TinyTransformer:
    """A 4-head attention-only model on this module's subspaces, its heads set by ``heads``
    (``(layer, head) -> (attend, read, write, scale)``); heads not listed write nothing."""
    model = TinyTransformer(
        VOCAB, N_CTX, d_model=D_MODEL, n_layers=n_layers, n_heads=4, d_head=VOCAB
    )
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        eye = torch.eye(VOCAB)
        model.W_E[:, _SPACES["tok"] : _SPACES["tok"] + VOCAB] = eye
        model.W_pos[:, _SPACES["pos"] : _SPACES["pos"] + N_CTX] = torch.eye(N_CTX)
        model.W_U[_SPACES["s2"] : _SPACES["s2"] + VOCAB] = eye
        pos = slice(_SPACES["pos"], _SPACES["pos"] + N_CTX)
        for (layer, head), (attend, read, write, scale) in heads.items():
            attn = model.block(layer).attn
            if attend == "previous":  # query t asks for dim t; only key t - 1 has it
                for t in range(1, N_CTX):
                    attn.W_Q[head, _SPACES["pos"] + t, t] = 1.0
                    attn.W_K[head, _SPACES["pos"] + t - 1, t] = SHARP * np.sqrt(VOCAB)
            elif attend is not None:  # every query asks for dim 0; only the target key has it
                attn.W_Q[head, pos, 0] = 1.0
                key = N_CTX - 1 if attend == "last" else int(attend)
                attn.W_K[head, _SPACES["pos"] + key, 0] = SHARP * np.sqrt(VOCAB)
            attn.W_V[head, _SPACES[read] : _SPACES[read] + _width(read)] = eye
            attn.W_O[head, :, _SPACES[write] : _SPACES[write] + VOCAB] = scale * eye
    return model.eval()


def planted_task(
    n_examples: int = 64, seed: int = 0, behaviour: str = "logit_diff"
) -> ComponentTask:
    """The planted first-token task on :func:`planted_model`, with its circuit as truth."""
    rng = np.random.default_rng(seed)
    clean = rng.integers(N_FIRST, VOCAB, size=(n_examples, N_CTX))
    clean[:, 0] = rng.integers(0, N_FIRST, size=n_examples)
    counterfactual = clean.copy()
    counterfactual[:, 0] = (clean[:, 0] + rng.integers(1, N_FIRST, size=n_examples)) % N_FIRST
    return ComponentTask(
        name="planted_first_token",
        model=planted_model(),
        clean=clean,
        counterfactual=counterfactual,
        answers=np.stack([clean[:, 0], counterfactual[:, 0]], axis=1),
        behaviour=behaviour,
        ground_truth=PLANTED_CIRCUIT,
    )
