"""Component tasks shared by the component tests: the planted model and a random one."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xai_bench.components import ComponentTask, TinyTransformer, planted_task  # noqa: E402


@pytest.fixture(scope="session")
def planted():
    return planted_task(n_examples=16, seed=0)


@pytest.fixture(scope="session")
def random_task():
    """A randomly initialised model with MLPs: nonlinear in its writes."""
    torch.manual_seed(0)
    model = TinyTransformer(vocab=10, n_ctx=5, d_model=16, n_layers=2, n_heads=3, d_head=4, d_mlp=8)
    rng = np.random.default_rng(0)
    return ComponentTask(
        name="random",
        model=model,
        clean=rng.integers(0, 10, (6, 5)),
        counterfactual=rng.integers(0, 10, (6, 5)),
        answers=rng.integers(0, 10, (6, 2)),
    )
