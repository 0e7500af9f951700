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
