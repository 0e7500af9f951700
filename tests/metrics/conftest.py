"""Fixtures for the metric tests: the real built-in tasks, built once per session."""

from __future__ import annotations

import pytest

import xai_bench as xb
from xai_bench import Task


@pytest.fixture(scope="session")
def linear_task() -> Task:
    return xb.load_task("synthetic.linear")


@pytest.fixture(scope="session")
def mlp_task() -> Task:
    return xb.load_task("breast_cancer.mlp")


@pytest.fixture(scope="session")
def digits_task() -> Task:
    return xb.load_task("digits.cnn")


@pytest.fixture
def closed_form():
    """phi = w * (x - b) and phi = w, registered for one test (re-explaining metrics rebuild
    the explainer by id)."""
    from _reexplainers import Weights, WeightTimesInput

    from xai_bench.registry import unregister_explainer

    for cls in (WeightTimesInput, Weights):
        xb.register_explainer(cls)
    yield WeightTimesInput, Weights
    for cls in (WeightTimesInput, Weights):
        unregister_explainer(cls.name)
