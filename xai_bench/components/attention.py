"""Attention-pattern heuristics: previous-token and induction scores per head.

Read off the clean run's attention patterns, no ablation: a head's previous-token score
is its mean attention from query t to key t - 1 (t >= 1); its induction score is, over
the queries whose token occurred before, the mean attention to the tokens right after
those earlier occurrences (where an induction head copies from). A heuristic ranking:
a head can look like an induction head and matter for nothing.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np
import torch

from .._torch import eval_mode
from ..explanation import Explanation
from ._common import (
    check_choice,
    check_node_task,
    check_task,
    component_explanation,
)
from ._passes import count_passes
from .task import ComponentTask

__all__ = [
    "HEURISTICS",
    "AttentionHeuristic",
    "attention_patterns",
    "induction_scores",
    "previous_token_scores",
]

HEURISTICS = ("induction", "previous_token")


def attention_patterns(task: ComponentTask, tokens: Any) -> list[torch.Tensor]:
    """Per layer, the attention pattern (B, H, T_query, T_key) of a run on ``tokens``."""
    seen: list[torch.Tensor] = []
    hooks = [
        task.model.block(layer).attn.hook_pattern.register_forward_hook(
            lambda _m, _i, out: seen.append(out.detach())
        )
        for layer in range(task.model.n_layers)
    ]
    try:
        with torch.no_grad(), eval_mode(task.model):
            task.model(torch.as_tensor(tokens))
    finally:
        for h in hooks:
            h.remove()
    return seen


def previous_token_scores(pattern: torch.Tensor) -> torch.Tensor:
    """(B, H): mean attention from query t to key t - 1 over t = 1 .. T-1."""
    return pattern.diagonal(offset=-1, dim1=-2, dim2=-1).double().mean(-1)


def induction_targets(tokens: torch.Tensor) -> torch.Tensor:
    """Bool (B, T_query, T_key): key j + 1 follows an earlier occurrence j of query t's token."""
    t = tokens.shape[1]
    same = tokens[:, :, None] == tokens[:, None, :]  # (B, query, j)
    earlier = same & torch.ones(t, t, dtype=torch.bool).tril(-1)  # j < query
    targets = torch.zeros_like(earlier)
    targets[:, :, 1:] = earlier[:, :, :-1]  # key j + 1 for occurrence j
    return targets


def induction_scores(pattern: torch.Tensor, tokens: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, H) induction scores and (B,) the number of queries that have a target.

    An example without a repeated token scores 0 (and counts 0 queries).
    """
    targets = induction_targets(torch.as_tensor(tokens))
    valid = targets.any(-1)  # (B, query)
    mass = (pattern.double() * targets[:, None].double()).sum(-1)  # (B, H, query)
    count = valid.sum(-1)
    score = (mass * valid[:, None]).sum(-1) / count.clamp(min=1)[:, None]
    return score, count


class AttentionHeuristic:
    """Rank heads by a pattern score on the clean inputs (MLPs and ``emb`` score 0).

    ``meta["attention"]`` holds the first example's tokens and every head's pattern
    (query x key), for the report's attention view.

    Parameters
    ----------
    score : {"induction", "previous_token"}
        Which score the attributions carry; ``meta["scores"]`` holds both, per head.
    """

    name: ClassVar[str] = "components.attention_pattern"

    def __init__(self, score: str = "induction") -> None:
        check_choice("score", score, HEURISTICS)
        self.score = score

    def explain(self, task: object) -> Explanation:
        task = check_node_task(check_task(task), "the attention heuristic")
        started = time.perf_counter()
        with count_passes(task.model, task.n_examples) as counts:
            patterns = attention_patterns(task, task.clean)
        previous = torch.cat([previous_token_scores(p) for p in patterns], dim=1)  # (B, L*H)
        pairs = [induction_scores(p, task.clean) for p in patterns]
        induction = torch.cat([s for s, _ in pairs], dim=1)
        count = pairs[0][1]
        heads = [n for n in task.space.names if n.startswith("a")]
        attributions = np.zeros((task.n_examples, len(task.space)))
        chosen = induction if self.score == "induction" else previous
        attributions[:, task.space.index(heads)] = chosen.numpy()
        # dataset scores weight every query alike (an example with no repeat adds none)
        pooled = (induction * count[:, None]).sum(0) / max(int(count.sum()), 1)
        return component_explanation(
            task,
            attributions,
            self.name,
            {"score": self.score},
            started,
            sign="unsigned: attention mass (a heuristic, not causal)",
            direction="none",
            ablation="none",
            heads=heads,
            scores={
                "previous_token": previous.mean(0).tolist(),
                "induction": pooled.tolist(),
            },
            induction_queries=int(count.sum()),
            attention={  # the report's attention view: every head on the first example
                "tokens": [str(int(t)) for t in task.clean[0]],
                "heads": heads,
                "patterns": torch.cat([p[0] for p in patterns]).tolist(),
            },
            passes=counts.calls,
            forward_rows=counts.rows,
        )
