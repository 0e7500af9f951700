"""Plugin explainers and a metric for the runner tests (importable by worker processes).

Importing this module registers nothing: tests get the plugins from the ``plugins``
fixture (``tests/runner/conftest.py``), which unregisters them afterwards, so which
tests run, and in which order, cannot change the ids other tests see.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from typing import ClassVar

import numpy as np

from xai_bench.explainer import BaseExplainer, Capabilities
from xai_bench.metrics.base import MetricInfo, MetricResult
from xai_bench.task import Modality

TAB = Capabilities(modalities=frozenset({Modality.TABULAR}))


class Raises(BaseExplainer):
    name: ClassVar[str] = "test.raises"
    capabilities: ClassVar[Capabilities] = TAB

    def __init__(self) -> None:
        pass

    def _attribute(self, task, X, targets, scorer):
        raise RuntimeError("boom from the test explainer")


class Sleeps(BaseExplainer):
    name: ClassVar[str] = "test.sleeps"
    capabilities: ClassVar[Capabilities] = TAB

    def __init__(self, seconds: float = 60.0) -> None:
        self.seconds = seconds

    def _attribute(self, task, X, targets, scorer):
        time.sleep(self.seconds)
        return np.zeros(X.shape)


class Exits(BaseExplainer):
    name: ClassVar[str] = "test.exits"
    capabilities: ClassVar[Capabilities] = TAB

    def __init__(self) -> None:
        pass

    def _attribute(self, task, X, targets, scorer):
        os._exit(3)


class Segfaults(BaseExplainer):
    name: ClassVar[str] = "test.segfaults"
    capabilities: ClassVar[Capabilities] = TAB

    def __init__(self) -> None:
        pass

    def _attribute(self, task, X, targets, scorer):
        os.kill(os.getpid(), signal.SIGSEGV)


class Killed(BaseExplainer):
    """Dies by SIGKILL, as when the kernel's OOM killer picks the process."""

    name: ClassVar[str] = "test.killed"
    capabilities: ClassVar[Capabilities] = TAB

    def __init__(self) -> None:
        pass

    def _attribute(self, task, X, targets, scorer):
        os.kill(os.getpid(), signal.SIGKILL)


class Hog(BaseExplainer):
    """Fills ``gib`` GiB of memory, as a runaway explainer does."""

    name: ClassVar[str] = "test.hog"
    capabilities: ClassVar[Capabilities] = TAB

    def __init__(self, gib: float = 3.0) -> None:
        self.gib = gib

    def _attribute(self, task, X, targets, scorer):
        block = np.ones(int(self.gib * 2**30) // 8)  # touches every page it gets
        return np.zeros(X.shape) + block[0]


class Slow(BaseExplainer):
    """Deterministic |x| attributions after a pause: an explainer-bound job."""

    name: ClassVar[str] = "test.slow"
    capabilities: ClassVar[Capabilities] = TAB

    def __init__(self, seconds: float = 0.2) -> None:
        self.seconds = seconds

    def _attribute(self, task, X, targets, scorer):
        time.sleep(self.seconds)
        return np.abs(X) + np.arange(X.shape[1]) * 1e-3


class Flaky(BaseExplainer):
    """|x| attributions, but raises on the batch that holds row ``bad_row`` of the task."""

    name: ClassVar[str] = "test.flaky"
    capabilities: ClassVar[Capabilities] = TAB

    def __init__(self, bad_row: int = 8) -> None:
        self.bad_row = bad_row

    def _attribute(self, task, X, targets, scorer):
        if (np.asarray(X) == np.asarray(task.X)[self.bad_row]).all(axis=1).any():
            raise RuntimeError(f"boom on the batch with row {self.bad_row}")
        return np.abs(X) + np.arange(X.shape[1]) * 1e-3


class TopMass:
    """Share of the top-3 attributed features that carry ground truth (a tiny metric)."""

    info: ClassVar[MetricInfo] = MetricInfo(
        name="test.top_mass", higher_is_better=True, range=(0, 1)
    )

    def __init__(self, k: int = 3) -> None:
        self.k = k

    def score(self, task, X, explanation):
        a = explanation.flat()
        truth = np.asarray(task.ground_truth)[: len(X)].reshape(len(X), -1)
        top = np.argsort(-a, axis=1, kind="stable")[:, : self.k]
        scores = np.take_along_axis(truth, top, axis=1).mean(axis=1)
        return MetricResult("test.top_mass", scores, params={"k": self.k})


EXPLAINERS = [Raises, Sleeps, Exits, Segfaults, Killed, Slow, Hog, Flaky]


def register_all(overwrite: bool = True) -> None:
    """Register every toy plugin for the rest of the process (subprocess scripts)."""
    import xai_bench as xb

    for cls in EXPLAINERS:
        xb.register_explainer(cls, overwrite=overwrite)
    xb.register_metric(TopMass, overwrite=overwrite)


@contextlib.contextmanager
def registered() -> Iterator[None]:
    """The toy plugins registered inside the block only (fails if already registered)."""
    from xai_bench.registry import unregister_explainer, unregister_metric

    register_all(overwrite=False)
    try:
        yield
    finally:
        for cls in EXPLAINERS:
            unregister_explainer(cls.name)
        unregister_metric(TopMass.info.name)


def make_task(n: int = 40):
    """A user task built by a config ``loader``: logistic regression on 4 features."""
    from sklearn.linear_model import LogisticRegression

    from xai_bench.task import Task

    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 4))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    return Task.from_sklearn(model, X, y, name="user.logreg")


class Interrupted(BaseExplainer):
    """Receives SIGINT, as a worker does when the user presses Ctrl-C."""

    name: ClassVar[str] = "test.interrupted"
    capabilities: ClassVar[Capabilities] = TAB

    def __init__(self) -> None:
        pass

    def _attribute(self, task, X, targets, scorer):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)


EXPLAINERS.append(Interrupted)
