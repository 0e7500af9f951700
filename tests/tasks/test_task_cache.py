"""Built-in models: trained once with a one-line notice, then loaded from the cache fast."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest

import xai_bench as xb
from xai_bench.tasks import _cache


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def tiny_linear(calls: list[int]):
    import torch

    def build():
        return torch.nn.Linear(3, 2)

    def train(module):
        calls.append(1)
        with torch.no_grad():
            module.weight.copy_(torch.arange(6.0).reshape(2, 3))
            module.bias.fill_(0.5)

    return build, train


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh model cache; returns a terminal for ``sys.stderr``, set inside each test
    (pytest's capture swaps sys.stderr back between setup and the test itself)."""
    monkeypatch.setenv("XAI_BENCH_CACHE", str(tmp_path))
    monkeypatch.delenv("XAI_BENCH_QUIET", raising=False)
    return Terminal()


def test_first_build_says_what_it_trains_once(cache, monkeypatch):
    monkeypatch.setattr("sys.stderr", cache)
    calls: list[int] = []
    first = _cache.cached_torch("tiny", *tiny_linear(calls))
    lines = cache.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("xai-bench: training the built-in model tiny (first use")
    assert lines[0].split(" done in ")[1].endswith(" s")
    again = _cache.cached_torch("tiny", *tiny_linear(calls))
    assert calls == [1] and len(cache.getvalue().splitlines()) == 1  # cached: silent
    for a, b in zip(first.state_dict().values(), again.state_dict().values(), strict=True):
        assert np.array_equal(a.numpy(), b.numpy())


def test_notice_is_quiet_off_a_terminal_and_with_the_flag(cache, monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())
    _cache.cached_torch("a", *tiny_linear([]))
    monkeypatch.setattr("sys.stderr", cache)
    monkeypatch.setenv("XAI_BENCH_QUIET", "1")
    _cache.cached_torch("b", *tiny_linear([]))
    assert cache.getvalue() == ""


def test_sklearn_build_says_so_too(cache, monkeypatch):
    monkeypatch.setattr("sys.stderr", cache)
    from sklearn.linear_model import LogisticRegression

    X, y = np.eye(4), np.array([0, 1, 0, 1])
    _cache.cached_sklearn("logreg", lambda: LogisticRegression().fit(X, y))
    assert "training the built-in model logreg" in cache.getvalue()


def test_loading_a_cached_builtin_task_takes_under_a_second():
    first = xb.load_task("breast_cancer.mlp")  # trains into the session cache if needed
    start = time.perf_counter()
    task = xb.load_task("breast_cancer.mlp")
    assert time.perf_counter() - start < 1.0
    assert np.array_equal(task.predict(task.X[:16]), first.predict(first.X[:16]))
