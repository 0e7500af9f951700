"""Shared fixtures: offline, single-threaded, tiny, built once per session."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest


def pytest_configure(config: pytest.Config) -> None:
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass


@pytest.fixture(scope="session", autouse=True)
def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    # a shared cache for the whole session, so tiny models train once
    if "XAI_BENCH_CACHE" not in os.environ:
        os.environ["XAI_BENCH_CACHE"] = str(tmp_path_factory.mktemp("xai-bench-cache"))
