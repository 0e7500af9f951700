"""What every component explainer shares: parameter checks and the Explanation it returns."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .._deps import version
from ..errors import IncompatibleError, InvalidInputError
from ..explanation import Explanation
from .task import ComponentTask

__all__ = [
    "DIRECTIONS",
    "SIGN",
    "check_choice",
    "check_direction",
    "check_node_task",
    "check_task",
    "component_explanation",
    "grad_of",
    "oriented",
]

DIRECTIONS = ("noising", "denoising")
SIGN = "positive = the component supports the clean behaviour"


def grad_of(write: Any) -> Any:
    """The gradient a backward pass left on a captured tensor (zero when none reached it)."""
    import torch

    return torch.zeros_like(write) if write.grad is None else write.grad


def check_choice(name: str, value: object, valid: tuple[str, ...]) -> None:
    """Raise InvalidInputError unless ``value`` is one of ``valid``."""
    if value not in valid:
        raise InvalidInputError(f"{name}={value!r}", f"one of {valid}", f"Pick a listed {name}.")


def check_direction(direction: str, ablation: str) -> None:
    """Denoising restores clean writes into the counterfactual run: patching only."""
    check_choice("direction", direction, DIRECTIONS)
    if direction == "denoising" and ablation != "patching":
        raise InvalidInputError(
            f"direction='denoising' with ablation={ablation!r}",
            "ablation='patching' (denoising runs the counterfactual input, restoring clean writes)",
            "Use direction='noising' for zero or mean ablation.",
        )


def oriented(task: ComponentTask, direction: str) -> tuple[ComponentTask, float]:
    """The task whose noising effects, times the sign, are the effects in ``direction``.

    Noising runs the clean input and ablates one write; denoising runs the counterfactual
    input and restores one clean write, which is noising the swapped task, negated.
    """
    return (task, 1.0) if direction == "noising" else (task.swapped(), -1.0)


def check_task(task: object) -> ComponentTask:
    """The task, if it is a ComponentTask (component explainers explain nothing else)."""
    if not isinstance(task, ComponentTask):
        raise InvalidInputError(
            f"a task of type {type(task).__name__}",
            "a xai_bench.components.ComponentTask",
            "Build one with ComponentTask(...) or planted_task().",
        )
    return task


def check_node_task(task: ComponentTask, method: str) -> ComponentTask:
    """The task, if its space is the node space (``method`` reads heads and their writes)."""
    if task.space.granularity != "node":  # a recorded skip in a run, not a failure
        raise IncompatibleError(
            f"{method} reads heads and component writes: it needs a task over the node "
            f"space, not the {task.space.granularity} space; explain the node-level task "
            "(the one built without .neurons(...))"
        )
    return task


def component_explanation(
    task: ComponentTask,
    attributions: np.ndarray,
    explainer: str,
    params: dict[str, Any],
    started: float,
    space: Any = None,
    **meta: Any,
) -> Explanation:
    """An Explanation (B, F) over ``space`` (default: the node space), conventions in meta."""
    space = task.space if space is None else space
    return Explanation(
        attributions=np.asarray(attributions, dtype=np.float64),
        targets=task.answers[:, 0].numpy(),
        explainer=explainer,
        params=params,
        seconds=time.perf_counter() - started,
        meta={
            "library": "torch",
            "version": version("torch"),
            "granularity": space.granularity,
            "space": space.granularity,
            "components": list(space.names),
            "behaviour": task.behaviour,
            "sign": SIGN,
            **meta,
        },
    )
