"""Greedy ACDC (Conmy et al. 2023): prune the edge graph one edge at a time.

Readers are visited from the logits backwards; each incoming edge (later writers
first) is dropped when dropping it moves the circuit's output by less than ``tau``
from where the current circuit has it: d(H without e) - d(H) < tau, with d the KL
divergence from the clean model's next-token distribution, or the mean |behaviour
change| against the clean run. The edges of one reader are tested in one batched pass
that covers both "the earlier ones were kept" and "the earlier ones were dropped";
when a decision breaks the run, the untested rest are re-tested. The result equals
the one-edge-at-a-time loop, in one pass per change of decision. A reader that no kept
edge reads any more is skipped: its incoming edges change nothing (effect 0).
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

import numpy as np
import torch

from ..errors import IncompatibleError, InvalidInputError
from ..explanation import Explanation
from ._common import (
    check_choice,
    check_node_task,
    check_task,
    component_explanation,
)
from ._passes import count_passes
from .edges import EdgeMasker, EdgeSpace, edge_space
from .masker import record
from .task import ComponentTask

__all__ = ["ACDC", "ACDC_METRICS"]

ACDC_METRICS = ("kl", "behaviour")


def reader_order(space: EdgeSpace) -> list[tuple[str, list[int]]]:
    """(reader node, its incoming edge indices) from the logits backwards, later writers first."""
    groups: dict[str, list[int]] = {}
    for e, name in enumerate(space.names):
        reader = name.split("->")[1]
        node = reader.rsplit(".", 1)[0] if reader.endswith((".q", ".k", ".v")) else reader
        groups.setdefault(node, []).append(e)
    writers = {n: i for i, n in enumerate(space.nodes.names)}
    order = sorted(groups, key=lambda n: -writers.get(n, len(writers)))  # logits first
    return [
        (n, sorted(groups[n], key=lambda e: -writers[space.names[e].split("->")[0]])) for n in order
    ]


class ACDC:
    """Greedy edge pruning; attributions are each edge's metric change when it was tested.

    Parameters
    ----------
    tau : float
        Drop an edge when dropping it moves the metric by less than ``tau``.
    metric : {"kl", "behaviour"}
        ``kl``: mean KL(clean || circuit) of the last position's next-token distribution;
        ``behaviour``: mean |m(circuit) - m(clean)| of the task's behaviour.
    ablation : {"patching", "zero", "mean", "mean_positional"}
        What a dropped edge carries instead of its writer's clean value.
    max_edges : int
        Largest edge space accepted (the greedy loop costs one batched pass per drop).
    chunk_rows : int
        Most rows per forward pass.
    """

    name: ClassVar[str] = "components.acdc"

    def __init__(
        self,
        tau: float = 0.01,
        metric: str = "kl",
        ablation: str = "patching",
        max_edges: int = 200,
        chunk_rows: int = 512,
    ) -> None:
        if isinstance(tau, bool) or not isinstance(tau, int | float) or not tau >= 0:
            raise InvalidInputError(f"tau={tau!r}", "a number >= 0", "Pass e.g. tau=0.01.")
        check_choice("metric", metric, ACDC_METRICS)
        if isinstance(max_edges, bool) or not isinstance(max_edges, int) or max_edges < 1:
            raise InvalidInputError(
                f"max_edges={max_edges!r}", "a positive integer", "Pass e.g. max_edges=200."
            )
        self.masker = EdgeMasker(ablation, chunk_rows)
        self.tau, self.metric, self.ablation = float(tau), metric, ablation
        self.max_edges, self.chunk_rows = max_edges, chunk_rows

    def distance(self, task: ComponentTask, keep: np.ndarray) -> np.ndarray:
        """d(H) (K,) of each circuit in ``keep`` (K, E): how far it is from the clean run."""
        logits = record(task, task.clean)[0]
        if self.metric == "kl":
            clean = logits[:, -1].double().log_softmax(-1)

            def kl(out: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
                log_q = out[:, -1].double().log_softmax(-1)
                return (clean[rows].exp() * (clean[rows] - log_q)).sum(-1)

            per_example = self.masker.evaluate(task, keep, score=kl)
        else:
            behaviour = task.score(logits, torch.arange(task.n_examples)).double().numpy()
            per_example = np.abs(self.masker.evaluate(task, keep) - behaviour)
        return np.maximum(per_example, 0.0).mean(axis=1)  # KL >= 0: clip float noise

    def prune(self, task: ComponentTask, space: EdgeSpace) -> tuple[Any, Any, float, int]:
        """The greedy loop: kept edges (E,), effects (E,), d(circuit), batched tests run."""
        n = len(space)
        keep, effect = np.ones(n, dtype=bool), np.zeros(n)
        writer = np.array([name.split("->")[0] for name in space.names])
        current, tests = 0.0, 0  # d(full graph) = 0 by definition
        for node, edges in reader_order(space):
            if node != "logits" and not keep[writer == node].any():
                keep[edges] = not self.tau > 0  # nothing reads the node: effect 0
                continue
            pending = list(edges)
            while pending:
                current, done = self._decide(task, keep, effect, pending, current)
                tests += 1
                pending = pending[done:]
        return keep, effect, current, tests

    def _decide(
        self, task: ComponentTask, keep: Any, effect: Any, pending: list[int], current: float
    ) -> tuple[float, int]:
        """Test ``pending`` edges in order with one batched pass; return d and how many ran.

        The pass holds both speculations: every earlier edge kept (each edge dropped
        alone) and every earlier edge dropped (the prefixes dropped together). Decisions
        stay exact while they repeat the first one; the first change of mind is applied,
        and the rest wait for the next pass.
        """
        k = len(pending)
        trials = np.repeat(keep[None], 2 * k, axis=0)
        trials[np.arange(k), pending] = False
        trials[k:, pending] &= ~np.tri(k, dtype=bool)  # row k + i drops pending[: i + 1]
        d = self.distance(task, trials)
        alone, prefix = d[:k], d[k:]
        first = None
        for i, e in enumerate(pending):
            base = current if first is not True else float(prefix[i - 1])
            after = float(alone[i] if first is not True else prefix[i])
            effect[e] = after - base
            drop = bool(effect[e] < self.tau)
            if drop:
                keep[e] = False
            current = after if drop else base
            if first is None:
                first = drop
            elif drop != first:
                return current, i + 1
        return current, k

    def explain(self, task: object) -> Explanation:
        task = check_node_task(check_task(task), "ACDC")
        started = time.perf_counter()
        space = edge_space(task)
        n = len(space)
        if n > self.max_edges:
            # too large for this setting: a recorded skip in a run, not a failure
            raise IncompatibleError(
                f"an edge graph of {n} edges is over max_edges={self.max_edges} (greedy ACDC "
                "tests the edges one by one); rank the edges with components.eap or "
                f"edge-level activation patching, or pass max_edges={n} to accept the cost"
            )
        with count_passes(task.model, task.n_examples) as counts:
            keep, effect, current, tests = self.prune(task, space)
        circuit = [space.names[e] for e in np.flatnonzero(keep)]
        return component_explanation(
            task,
            np.repeat(effect[None], task.n_examples, axis=0),
            self.name,
            {
                "tau": self.tau,
                "metric": self.metric,
                "ablation": self.ablation,
                "max_edges": self.max_edges,
            },
            started,
            space,
            direction="noising",
            ablation=self.ablation,
            metric=self.metric,
            tau=self.tau,
            circuit=circuit,
            distance=current,
            tests=tests,
            passes=counts.calls,
            forward_rows=counts.rows,
        )
