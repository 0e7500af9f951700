"""Jobs: what one unit of work is, how the grid expands into jobs, and how one job runs.

An *explain* job explains one chunk of samples of one task with one explainer and one
seed; a *score* job scores one stored explanation with one metric. ``execute`` runs a
job in the current process and never raises: every outcome is a dict with a ``status``
(``ok``, ``failed``, ``skipped``; the backends add ``timeout`` and ``crashed``).
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import IncompatibleError, InvalidInputError
from ..explanation import Explanation

__all__ = ["Component", "Job", "execute"]


def accepts(cls: Any, name: str) -> bool:
    """True when ``cls(...)`` takes a parameter called ``name``."""
    try:
        return name in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class Component:
    """An explainer or metric as the runner sees it: a label, an id, params, a class.

    ``instance`` is set when the user passed a ready-made object; otherwise ``cls`` is
    built with ``params`` per job, adding the job's seed when the class takes ``seed``
    and the user did not pin one. Explainers get the run seed (mixed with the chunk);
    metrics keep their own seed (the tie-break), so a deterministic explainer scores the
    same under every run seed and seed-to-seed spread measures the explainers alone.
    """

    label: str
    id: str
    cls: Any
    params: dict[str, Any] = field(default_factory=dict)
    instance: Any = None

    def build(self, seed: int | None) -> Any:
        if self.instance is not None:
            inst = self.instance
            get = getattr(inst, "get_params", None)
            if seed is not None and get is not None and "seed" in get():
                return type(inst)(**{**get(), "seed": seed})
            return inst
        params = dict(self.params)
        if seed is not None and "seed" not in params and accepts(self.cls, "seed"):
            params["seed"] = seed
        return self.cls(**params)

    def resolved_params(self, seed: int | None) -> dict[str, Any]:
        obj = self.build(seed)
        get = getattr(obj, "get_params", None)
        return dict(get()) if get is not None else dict(self.params)


@dataclass(frozen=True, eq=False)
class Job:
    """One unit of work; ``key`` is unique within a run and stable across reruns."""

    key: str
    kind: str  # "explain" | "score"
    task: str
    task_ref: Any  # task id (loaded where the job runs) or a Task object
    explainer: str
    chunk: int
    seed: int
    samples: np.ndarray
    explainer_spec: Component | None = None
    metric: str | None = None
    metric_spec: Component | None = None
    explanation: Explanation | None = None

    def warm_up(self) -> Iterator[float]:
        """Warm this process for the job before its clock starts; yields the seconds of
        each step: importing the explainer's library, then one explanation of the job's
        first sample (imports, numba/JIT compilation, first-call set-up). Done once per
        process and (task, explainer); both steps yield 0.0 when there is nothing to do.
        A failure here is left for the job itself to record."""
        spec = self.explainer_spec
        todo = (
            self.kind == "explain" and spec is not None and (self.task, self.explainer) not in _WARM
        )
        start = time.perf_counter()
        if todo and spec is not None:
            library = getattr(spec.cls, "library", None)
            if isinstance(library, str) and library != "xai-bench":
                with contextlib.suppress(Exception):
                    importlib.import_module(library)
        yield time.perf_counter() - start
        start = time.perf_counter()
        if todo and spec is not None:
            _WARM.add((self.task, self.explainer))
            with contextlib.suppress(Exception), local_joblib():
                task = resolve_task(self.task_ref)
                X = np.asarray(task.X)[self.samples[:1]]
                spec.build(job_seed(self.seed, self.chunk)).explain(task, X)
        yield time.perf_counter() - start


_WARM: set[tuple[str, str]] = set()  # (task, explainer) pairs this process has warmed


def job_seed(seed: int, chunk: int) -> int:
    """The seed an explainer or metric gets for one chunk: distinct per chunk, 31-bit."""
    state = np.random.SeedSequence(entropy=seed, spawn_key=(chunk,)).generate_state(1)
    return int(state[0] & 0x7FFFFFFF)


def explain_key(task: str, explainer: str, chunk: int, seed: int) -> str:
    return job_key("explain", task, explainer, None, chunk, seed)


def score_key(task: str, explainer: str, metric: str, chunk: int, seed: int) -> str:
    return job_key("score", task, explainer, metric, chunk, seed)


def job_key(kind: str, task: str, explainer: str, metric: str | None, chunk: int, seed: int) -> str:
    """A JSON array of the job's fields: unique whatever characters the labels hold
    (joining them with a separator let ``a|b``/``c`` and ``a``/``b|c`` share a key)."""
    parts = [kind, task, explainer, *([] if kind == "explain" else [metric]), int(chunk), int(seed)]
    return json.dumps(parts, ensure_ascii=False, separators=(",", ":"))


_TASKS: dict[str, Any] = {}


def resolve_task(ref: Any) -> Any:
    """A Task from an id (loaded once per process) or the Task itself."""
    if not isinstance(ref, str):
        return ref
    if ref not in _TASKS:
        from ..registry import load_task

        _TASKS[ref] = load_task(ref)
    return _TASKS[ref]


def prepare(job: Job) -> None:
    """Load the job's task in this process (before forking), so later jobs reuse it."""
    resolve_task(job.task_ref)


def execute(job: Job) -> dict[str, Any]:
    """Run ``job`` here and return its outcome; exceptions become failures or skips."""
    start = time.perf_counter()
    out: dict[str, Any] = {"pid": os.getpid(), "worker_pid": os.getpid()}
    try:
        with local_joblib():
            _run(job, out)
    except IncompatibleError as exc:
        out.update(status="skipped", reason=str(exc))
    except Exception as exc:
        out.update(
            status="failed",
            reason=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(limit=8),
        )
    out["seconds"] = time.perf_counter() - start
    return out


def local_joblib() -> Any:
    """joblib inside a job runs here, one call after the other: inside a dask job it
    would inherit the dask backend and block in ``Client.nthreads`` (LIME reaches it
    through scikit-learn's ``pairwise_distances``), and a job has one core anyway."""
    from joblib import parallel_config

    return parallel_config(backend="sequential", n_jobs=1)


def _run(job: Job, out: dict[str, Any]) -> None:
    """The job's own work; its outcome goes into ``out``."""
    task = resolve_task(job.task_ref)
    X = np.asarray(task.X)[job.samples]
    if job.kind == "explain" and job.explainer_spec is not None:
        expl = job.explainer_spec.build(job_seed(job.seed, job.chunk)).explain(task, X)
        _check_explanation(expl, len(X), job.explainer)
        out.update(status="ok", explanation=expl, model_calls=expl.meta.get("model_calls"))
    elif job.metric_spec is not None and job.explanation is not None:
        res = job.metric_spec.build(None).score(task, X, job.explanation)
        _check_result(res, len(X), job.metric or "")
        out.update(status="ok", result=res)
    else:
        raise InvalidInputError(
            f"job {job.key!r} without its explainer, metric or explanation",
            "a complete job",
            "This is a runner bug.",
        )


def _check_explanation(expl: Any, n: int, name: str) -> None:
    if not isinstance(expl, Explanation) or expl.n_samples != n:
        found = (
            type(expl).__name__ if not isinstance(expl, Explanation) else f"{expl.n_samples} rows"
        )
        raise InvalidInputError(
            f"explainer {name!r} returned {found}",
            f"an Explanation with {n} rows",
            "Fix the adapter's explain(); xai_bench.testing.check_explainer helps.",
        )


def _check_result(res: Any, n: int, name: str) -> None:
    scores = np.asarray(getattr(res, "scores", None), dtype=np.float64)
    if scores.shape != (n,):
        raise InvalidInputError(
            f"metric {name!r} returned scores of shape {scores.shape}",
            f"a MetricResult with scores of shape ({n},)",
            "Fix the metric's score(); xai_bench.testing.check_metric helps.",
        )
