"""Torch plumbing shared by the gradient adapters, the Hugging Face loaders and the tasks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["eval_mode", "model_dtype_device", "seeded"]


def model_dtype_device(module: Any) -> tuple[Any, Any]:
    """The dtype and device of a module's first floating parameter (float32/CPU if none)."""
    import torch

    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype, p.device
    return torch.float32, torch.device("cpu")


@contextlib.contextmanager
def eval_mode(module: Any) -> Iterator[Any]:
    """Put every submodule in eval mode; restore each one's own previous mode afterwards."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield module
    finally:
        for m, was_training in modes:
            m.training = was_training


@contextlib.contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Seed torch and numpy's global generators (Captum uses both), then restore them."""
    import torch

    if seed is None:
        yield
        return
    np_state = np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        np.random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(np_state)
