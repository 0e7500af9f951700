"""Benchmark: expand tasks x explainers x sample chunks x seeds into jobs, run, store, collect."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from ..explainer import check_compatible
from ..explanation import Explanation
from ..registry import explainer_class, metric_class
from .backends import Executor
from .jobs import _TASKS, Component, Job, execute, explain_key, prepare, resolve_task, score_key
from .load import explanation_from_row
from .memory import memory_hint, parse_size
from .progress import StageProgress
from .results import Results
from .store import Store, array, to_json

__all__ = ["Benchmark"]

CONTROL = "random"
COMPONENT_PREFIX = "components."
COMPONENT_CONTROL = "components.random"


class Benchmark:
    """A comparison grid: tasks x explainers x metrics over samples and seeds.

    Parameters
    ----------
    tasks : list of str or Task
        Task ids (``xai-bench list tasks``) or Task objects.
    explainers : list
        Explainer ids, ``(id, {params})`` pairs, or explainer instances. The seeded
        control of each level explained is always added: ``random`` for input-level
        explainers, ``components.random`` for a model's components (``components.*``).
    metrics : list
        Metric ids, ``(id, {params})`` pairs, or metric instances.
    n_samples : int
        Samples explained per task (the first ``n_samples`` rows of ``task.X``).
    seed : int or list of int
        Seed(s). Each explainer that takes ``seed`` gets one per (seed, chunk), derived
        with ``SeedSequence``; metrics keep their own ``seed`` parameter (the tie-break),
        so the spread across seeds measures the explainers alone.
    timeout : float, optional
        Seconds per job before it is killed (``processes`` and ``dask`` backends).
    chunk_size : int
        Samples per explain job.
    workers : int, optional
        Parallel jobs (default: the number of CPUs).
    name : str
        Prefix of the run id.
    progress : bool, optional
        None: bars on a terminal, one line per stage otherwise; False: silent.
    memory_limit : int or str, optional
        Address space each job may add to its worker process, in bytes or as ``"2GiB"``,
        ``"512MiB"``, ``"2GB"`` (``processes`` and ``dask``; see ``runner/memory.py``).
        A job past it is recorded as ``failed`` (MemoryError) or ``crashed``, and the
        run goes on. None (default): no cap.

    Examples
    --------
    >>> bench = xb.Benchmark(["synthetic.linear"], ["oracle"], ["deletion_auc"],
    ...                      n_samples=8, progress=False)
    >>> results = bench.run(backend="local")
    >>> sorted(results.scores["explainer"].unique())
    ['oracle', 'random']
    """

    def __init__(
        self,
        tasks: Sequence[Any],
        explainers: Sequence[Any],
        metrics: Sequence[Any],
        n_samples: int = 64,
        seed: int | Sequence[int] = 0,
        timeout: float | None = None,
        *,
        chunk_size: int = 16,
        workers: int | None = None,
        name: str = "benchmark",
        progress: bool | None = None,
        memory_limit: int | str | None = None,
    ) -> None:
        self.tasks = tasks
        self.explainers = explainers
        self.metrics = metrics
        self.n_samples = n_samples
        self.seed = seed
        self.timeout = timeout
        self.chunk_size = chunk_size
        self.workers = workers
        self.name = name
        self.progress = progress
        self.memory_limit = memory_limit

    # -- resolution --------------------------------------------------------------------
    @property
    def seeds(self) -> list[int]:
        if isinstance(self.seed, (int, np.integer)):
            return [int(self.seed)]
        return [int(s) for s in self.seed]

    def _tasks(self) -> list[_GridTask]:
        """The grid's tasks by label; an id is loaded only when something needs the task."""
        out = [_GridTask(ref) for ref in self.tasks]
        _unique([t.label for t in out], "task")
        return out

    def explainer_components(self) -> list[Component]:
        comps = [_component(e, explainer_class, "explainer") for e in self.explainers]
        ids = {c.id for c in comps}
        # the control of each level the grid explains: inputs, and a model's components
        inside = {i for i in ids if i.startswith(COMPONENT_PREFIX)}
        controls = ([CONTROL] if ids - inside else []) + ([COMPONENT_CONTROL] if inside else [])
        for control in controls:
            if control not in ids:
                comps.append(_component(control, explainer_class, "explainer"))
        return _label(comps)

    def metric_components(self) -> list[Component]:
        return _label([_component(m, metric_class, "metric") for m in self.metrics])

    def config(self) -> dict[str, Any]:
        """What determines the numbers; its hash names the run."""
        return {
            "tasks": [t.label for t in self._tasks()],
            "explainers": [_describe(c) for c in self.explainer_components()],
            "metrics": [_describe(c) for c in self.metric_components()],
            "n_samples": self.n_samples,
            "seeds": self.seeds,
            "chunk_size": self.chunk_size,
        }

    # -- running ---------------------------------------------------------------------
    def run(
        self,
        store: str | Path | Store | None = None,
        backend: str = "processes",
        address: str | None = None,
        resume: bool = True,
        *,
        run_id: str | None = None,
        retry_failed: bool = False,
    ) -> Results:
        """Run every missing job and return the Results of the whole run.

        Parameters
        ----------
        store : path, Store or None
            SQLite results store; None keeps results in memory.
        backend : {"local", "processes", "dask"}
        address : str, optional
            ``tcp://...`` of a dask scheduler; a LocalCluster when None.
        resume : bool
            Keep finished jobs of the same run and compute only the missing ones;
            False recomputes everything.
        run_id : str, optional
            Defaults to ``<name>-<hash of the grid>``, so rerunning the same grid resumes.
        retry_failed : bool
            On resume, run failed, timed-out and crashed jobs again (skips stay skips).
        """
        t0 = time.time()
        memory_limit = parse_size(self.memory_limit)
        tasks = self._tasks()
        explainers, metrics = self.explainer_components(), self.metric_components()
        for comp in [*explainers, *metrics]:
            _check_builds(comp)
        config = self.config()
        run_id = run_id or f"{self.name}-{_digest(config)}"
        db = store if isinstance(store, Store) else Store(store)
        from .provenance import collect

        prov = {
            **collect(),
            "seeds": self.seeds,
            "backend": backend,
            "workers": self.workers,
            "timeout": self.timeout,
            "memory_limit": memory_limit,
            "started": t0,
        }
        if not resume:
            db.clear_run(run_id)
        elif retry_failed:
            db.forget_failures(run_id)
        db.start_run(run_id, config, prov)
        stored = {r["task"]: json.loads(r["info"]) for r in db.rows(_STORED_TASKS, run_id)}
        for t in tasks:
            if t.label in stored:  # a resumed run: the task's rows are already there
                t.info = stored[t.label]
            else:
                t.info, X, truth = _task_info(t.task, self.n_samples)
                db.put_task(run_id, t.label, t.info, X, truth)
        for m in metrics:
            db.put_metric_info(run_id, m.label, _metric_info(m))

        jobs, skips = self._explain_jobs(tasks, explainers, db.done_keys(run_id), backend)
        executor = Executor(backend, self.workers, self.timeout, address, memory_limit)
        with executor:
            self._stage("explain", db, run_id, jobs, skips, executor)
            self._score(tasks, explainers, metrics, db, run_id, executor)

        db.start_run(
            run_id, config, {**prov, "finished": time.time(), "duration": time.time() - t0}
        )
        return Results.load(db, run_id)

    def _explain_jobs(
        self, tasks: list[_GridTask], explainers: list[Component], done: set[str], backend: str
    ) -> tuple[list, list]:
        """Explain jobs still to run, and one skip per pair an explainer cannot serve.

        A task is loaded only for a (task, explainer, seed) with a job missing, so that
        resuming a finished run loads no model.
        """
        jobs: list = []
        skips: list = []
        for t in tasks:
            label = t.label
            n = int(t.info["n_samples"])
            starts = range(0, n, self.chunk_size)
            chunks = [np.arange(s, min(s + self.chunk_size, n)) for s in starts]
            # forked workers find the task by label; dask workers need the object
            task_ref = label if backend != "dask" else t.ref
            for e in explainers:
                reason: str | None | bool = False  # False: not checked yet
                for seed in self.seeds:
                    keys = [explain_key(label, e.label, c, seed) for c in range(len(chunks))]
                    skip_key = explain_key(label, e.label, -1, seed)
                    if skip_key in done or all(k in done for k in keys):
                        continue
                    if reason is False:
                        caps = getattr(e.cls, "capabilities", None)
                        reason = (
                            check_compatible(caps, t.task, e.label) if caps is not None else None
                        )
                    if reason:
                        job = Job(
                            skip_key,
                            "explain",
                            label,
                            label,
                            e.label,
                            -1,
                            seed,
                            np.arange(n),
                            explainer_spec=e,
                        )
                        skips.append((job, reason))
                        continue
                    for c, samples in enumerate(chunks):
                        if keys[c] not in done:
                            job = Job(
                                keys[c],
                                "explain",
                                label,
                                task_ref,
                                e.label,
                                c,
                                seed,
                                samples,
                                explainer_spec=e,
                            )
                            jobs.append((job, None))
        return jobs, skips

    def _score(
        self,
        tasks: list,
        explainers: list[Component],
        metrics: list[Component],
        db: Store,
        run_id: str,
        executor: Executor,
    ) -> None:
        done = db.done_keys(run_id)
        task_by = {t.label: t for t in tasks}
        wanted = {e.label for e in explainers}
        jobs, skips = [], []
        for row in db.rows("SELECT * FROM explanations WHERE run_id=? ORDER BY key", run_id):
            pair = (row["task"], row["explainer"])
            if row["task"] not in task_by or row["explainer"] not in wanted:
                continue
            t = task_by[row["task"]]
            ref, modality = t.ref, t.info["modality"]
            expl: Explanation | None = None  # decoded only when a job needs it
            samples = array(row["samples"])
            for m in metrics:
                info = getattr(m.cls, "info", None)
                if info is not None and modality not in {x.value for x in info.modalities}:
                    key = score_key(row["task"], row["explainer"], m.label, -1, row["seed"])
                    if key not in done:  # one skip per pair and seed, not per chunk
                        done.add(key)
                        reason = f"metric {m.label} does not support {modality} tasks"
                        skips.append(
                            (
                                Job(
                                    key,
                                    "score",
                                    row["task"],
                                    row["task"],
                                    row["explainer"],
                                    -1,
                                    row["seed"],
                                    samples,
                                    metric=m.label,
                                    metric_spec=m,
                                ),
                                reason,
                            )
                        )
                    continue
                key = score_key(row["task"], row["explainer"], m.label, row["chunk"], row["seed"])
                if key in done or score_key(*pair, m.label, -1, row["seed"]) in done:
                    continue
                expl = expl or explanation_from_row(row)
                job = Job(
                    key,
                    "score",
                    row["task"],
                    row["task"] if executor.backend != "dask" else ref,
                    row["explainer"],
                    row["chunk"],
                    row["seed"],
                    samples,
                    metric=m.label,
                    metric_spec=m,
                    explanation=expl,
                )
                jobs.append((job, None))
        self._stage("score", db, run_id, jobs, skips, executor)

    def _stage(
        self,
        stage: str,
        db: Store,
        run_id: str,
        jobs: list,
        skips: list,
        executor: Executor,
    ) -> None:
        with StageProgress(stage, len(jobs) + len(skips), self.progress) as bar:
            for job, reason in skips:
                db.record(run_id, job, {"status": "skipped", "reason": reason})
                bar.update("skipped")
            todo = [job for job, _ in jobs]
            if stage == "score":  # a score job takes milliseconds: dispatch them in batches
                todo = self._batched(todo, db, run_id, executor, bar)
            for job, out in executor.map(todo, execute, prepare):
                if out["status"] == "interrupted":  # left missing: a resume reruns it
                    raise KeyboardInterrupt
                db.record(run_id, _pair_skip(job, out), out)
                bar.update(out["status"])

    def _batched(
        self, jobs: list[Job], db: Store, run_id: str, executor: Executor, bar: StageProgress
    ) -> list[Job]:
        """Run ``jobs`` in batches, one worker call each, and record every job's own outcome.

        Returns the jobs of batches that timed out or crashed as a whole, to be run again
        one by one, so that each of them gets its own timeout and its own status.
        """
        workers = executor.workers or os.cpu_count() or 1
        size = min(SCORE_BATCH, -(-len(jobs) // (4 * workers)))  # >= 4 batches per worker
        if size < 2:
            return jobs
        batches = [
            JobBatch(group[i : i + size])
            for group in _by_task(jobs)
            for i in range(0, len(group), size)
        ]
        alone: list[Job] = []
        for batch, out in executor.map(batches, execute_batch, prepare_batch):
            if out["status"] == "interrupted":
                raise KeyboardInterrupt
            if out["status"] != "ok":
                alone.extend(batch.jobs)
                continue
            for job, one in zip(batch.jobs, out["outcomes"], strict=True):
                one["pid"] = out.get("pid", one["pid"])
                one["worker_pid"] = out.get("worker_pid", one["worker_pid"])
                if one["status"] == "failed":
                    one["reason"] = memory_hint(one["reason"], "failed", executor.memory_limit)
                db.record(run_id, _pair_skip(job, one), one)
                bar.update(one["status"])
        return alone


def _pair_skip(job: Job, out: dict[str, Any]) -> Job:
    """A metric that skips one chunk skips the pair (e.g. a truth given over other
    features): recorded once, under the pair's key, which later chunks and resumes find."""
    if job.kind != "score" or out["status"] != "skipped" or job.chunk < 0:
        return job
    key = score_key(job.task, job.explainer, job.metric or "", -1, job.seed)
    return replace(job, key=key, chunk=-1)


# most score jobs take a few milliseconds, less than dispatching them to a worker and back
SCORE_BATCH = 16


@dataclass(frozen=True, eq=False)
class JobBatch:
    """Jobs of one task run one after the other in one worker call (``execute_batch``)."""

    jobs: list[Job]

    @property
    def key(self) -> str:
        return f"batch of {len(self.jobs)} from {self.jobs[0].key}"


def execute_batch(batch: JobBatch) -> dict[str, Any]:
    """``execute`` on each job of ``batch``, in order, in this process: the same numbers
    as running them one by one, since each job builds its own metric."""
    return {"status": "ok", "outcomes": [execute(job) for job in batch.jobs]}


def prepare_batch(batch: JobBatch) -> None:
    prepare(batch.jobs[0])


def _by_task(jobs: list[Job]) -> list[list[Job]]:
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job.task, []).append(job)
    return list(groups.values())


_STORED_TASKS = "SELECT task, info FROM tasks WHERE run_id=?"


class _GridTask:
    """A task of the grid: its label, how jobs refer to it, and the task once loaded."""

    def __init__(self, ref: Any) -> None:
        self.ref = ref
        self.info: dict[str, Any] = {}  # what the store keeps of it (_task_info)
        self._task: Any = None
        if not isinstance(ref, str):
            self._check(ref)
            self._task = ref
        self.label = ref if isinstance(ref, str) else ref.name
        if self._task is not None:  # forked workers find the task by label
            _TASKS[self.label] = self._task

    @property
    def task(self) -> Any:
        if self._task is None:
            self._task = self._check(resolve_task(self.ref))  # cached in this process
            _TASKS[self.label] = self._task
        return self._task

    def _check(self, task: Any) -> Any:
        if not hasattr(task, "modality") or not hasattr(task, "X"):
            raise InvalidInputError(
                f"task {self.ref!r} of type {type(self.ref).__name__}",
                "a task id or a xai_bench.Task",
                "See `xai-bench list tasks`.",
            )
        return task


def _component(spec: Any, resolve: Any, kind: str) -> Component:
    if isinstance(spec, str):
        return Component(spec, spec, resolve(spec))
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[0], str):
        params = dict(spec[1] or {})
        return Component(spec[0], spec[0], resolve(spec[0]), params)
    if isinstance(spec, dict) and isinstance(spec.get("id"), str):  # config form
        ident, params = spec["id"], dict(spec.get("params") or {})
        return Component(spec.get("label") or ident, ident, resolve(ident), params)
    name = getattr(spec, "name", None) or getattr(getattr(spec, "info", None), "name", None)
    if isinstance(name, str) and not isinstance(spec, type):
        get = getattr(spec, "get_params", None)
        params = dict(get()) if get is not None else {}
        return Component(name, name, type(spec), params, instance=spec)
    raise InvalidInputError(
        f"{kind} {spec!r}",
        f"a {kind} id, an (id, {{params}}) pair, or a {kind} instance",
        f"See `xai-bench list {kind}s`.",
    )


def _check_builds(comp: Component) -> None:
    """Fail before the run starts when params do not fit the constructor."""
    try:
        comp.build(0)
    except TypeError as exc:
        import inspect

        try:
            allowed = [p for p in inspect.signature(comp.cls).parameters if p != "self"]
        except (TypeError, ValueError):
            allowed = []
        raise InvalidInputError(
            f"parameters {sorted(comp.params)} for {comp.id!r} ({exc})",
            f"parameters among {allowed}",
            "Fix the spelling in the explainer/metric params.",
        ) from exc


def _label(comps: list[Component]) -> list[Component]:
    """Ids as labels; the same id twice gets its params appended."""
    counts: dict[str, int] = {}
    for c in comps:
        counts[c.id] = counts.get(c.id, 0) + 1
    out = []
    for c in comps:
        if counts[c.id] > 1 and c.label == c.id and c.params:  # the default keeps its id
            args = ",".join(f"{k}={v}" for k, v in sorted(c.params.items()))
            c = Component(f"{c.id}({args})", c.id, c.cls, c.params, c.instance)
        out.append(c)
    _unique([c.label for c in out], "explainer/metric")
    return out


def _unique(labels: list[str], kind: str) -> None:
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise InvalidInputError(
            f"the {kind} {dupes} listed twice",
            f"each {kind} once (or with different params)",
            "Remove the duplicate entry.",
        )


def _describe(c: Component) -> dict[str, Any]:
    return {"label": c.label, "id": c.id, "params": json.loads(to_json(c.params))}


def _digest(obj: Any) -> str:
    return hashlib.sha256(to_json(obj).encode()).hexdigest()[:10]


def _task_info(task: Any, n_samples: int) -> tuple[dict[str, Any], np.ndarray, Any]:
    n = min(n_samples, len(task.X))
    X = np.asarray(task.X)[:n]
    tokens = None
    if getattr(task, "tokenizer", None) is not None:
        try:
            tokens = task.token_strings(X)
        except Exception:  # tokens are for display only
            tokens = None
    y = None if task.y is None else np.asarray(task.y)[:n].tolist()
    target_tokens = None
    if task.modality.value == "generation" and y is not None and task.tokenizer is not None:
        target_tokens = list(task.tokenizer.convert_ids_to_tokens([int(t) for t in y]))
    info = {
        "modality": task.modality.value,
        "feature_names": list(task.feature_names) if task.feature_names else None,
        "class_names": list(task.class_names) if task.class_names else None,
        "output_kind": str(getattr(task, "output_kind", "classification")),
        "feature_shape": list(task.feature_shape),
        "n_samples": n,
        "y": y,
        "tokens": tokens,
        "target_tokens": target_tokens,  # the generated token each generation unit explains
        "meta": dict(task.meta),
    }
    truth = None
    if task.ground_truth is not None:
        gt = np.asarray(task.ground_truth)
        truth = gt[:n] if gt.shape[:1] == (len(task.X),) and gt.ndim == X.ndim else gt
    return info, X, truth


def _metric_info(m: Component) -> dict[str, Any]:
    info = getattr(m.cls, "info", None)
    if info is None:
        return {"higher_is_better": None, "id": m.id}
    return {
        "id": m.id,
        "higher_is_better": bool(info.higher_is_better),
        "range": [float(v) for v in info.range],
        "description": info.description,
        "reference": info.reference,
        "modalities": sorted(x.value for x in info.modalities),
        "constructor_params": m.params,
    }
