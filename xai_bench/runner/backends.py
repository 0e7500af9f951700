"""Execution backends, written once against joblib.

- ``local``: joblib's sequential backend, jobs run in this process (for debugging; no
  timeout, a crash takes the run down).
- ``processes`` (default): joblib threads, each of which hands its job to a forked worker
  process and waits for it with a hard timeout. A hang is killed (SIGKILL), and a
  segfault, ``os._exit`` or OOM kill ends only that worker: the job is recorded as
  ``timeout`` or ``crashed``, a fresh worker is forked, and the run goes on. (A
  ``ProcessPoolExecutor`` or loky pool would instead break every pending job when one
  worker dies.) Workers are forked after the tasks are loaded, so they inherit models
  and in-process plugins, and they are reused, so a library is imported once per worker.
  With ``memory_limit`` each job may add at most that much address space to its worker
  (``RLIMIT_AS``, see ``runner/memory.py``): a runaway job fails or crashes alone.
- ``dask``: joblib's dask backend on a ``dask.distributed`` cluster (``address``, or a
  ``LocalCluster`` of ``workers`` processes). Inside each dask worker the job runs in a
  forked worker again, so timeouts and crashes are handled the same way.
"""

from __future__ import annotations

import contextlib
import gc
import os
import queue
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from multiprocessing.connection import Pipe
from typing import Any

from ..errors import InvalidInputError
from .memory import limit_address_space, memory_hint

__all__ = ["BACKENDS", "Executor", "isolated", "run_jobs"]

BACKENDS = ("local", "processes", "dask")


class _Worker:
    """A forked child that runs jobs sent over a pipe, one at a time, until it is closed.

    It inherits the parent's loaded tasks, models and registered plugins, and keeps what
    jobs import (shap, captum...) for the next job. A job that hangs or crashes takes
    only this child down; the pool forks a fresh one for the next job.
    """

    def __init__(self) -> None:
        parent, child = Pipe(duplex=True)
        # objects that exist now go to the permanent GC generation, so the child's
        # collector does not touch (and copy-on-write) the parent's heap
        gc.freeze()
        self.pid = os.fork()
        if self.pid:
            gc.unfreeze()
        if self.pid == 0:
            code = 0
            try:
                parent.close()
                _child_setup()
                _serve(child)
            except BaseException:
                code = 70
            finally:
                os._exit(code)
        child.close()
        self.conn = parent

    def run(
        self,
        fn: Callable[[Any], dict[str, Any]],
        job: Any,
        timeout: float | None,
        memory_limit: int | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """``(outcome, alive)`` of one job; a dead worker must not be reused."""
        import cloudpickle

        start = time.perf_counter()
        steps: list[float] = []  # seconds of the warm-up steps the child reported
        try:
            self.conn.send_bytes(cloudpickle.dumps((fn, job, memory_limit)))
            while True:
                ready = self.conn.poll(_limit(timeout, len(steps)))
                out = self.conn.recv() if ready else None
                if not isinstance(out, float):
                    break
                steps.append(out)
        except (EOFError, OSError):
            ready, out = True, None
        if out is not None:
            return _with_startup(out, steps), True
        base = {"seconds": time.perf_counter() - start, "pid": self.pid, "worker_pid": os.getpid()}
        if not ready:
            self.kill()
            return {
                **base,
                "status": "timeout",
                "reason": f"killed after the {_limit(timeout, len(steps)):g} s timeout"
                + WARMING[min(len(steps), len(WARMING) - 1)],
            }, False
        status = self.kill()
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGINT:
            # Ctrl-C reached the worker too: the job is not done, and not a crash
            return {**base, "status": "interrupted", "reason": "interrupted (Ctrl-C)"}, False
        return {**base, "status": "crashed", "reason": _describe_exit(status)}, False

    def kill(self) -> int:
        """Kill the child (if still running) and return its wait status."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.conn.close()
        return os.waitpid(self.pid, 0)[1]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send_bytes(b"")
        self.conn.close()
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            if os.waitpid(self.pid, os.WNOHANG)[0]:
                return
            time.sleep(0.01)
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)


def _serve(conn: Any) -> None:
    """The child's loop: receive (fn, job, memory_limit), send fn's outcome, until b""."""
    import pickle

    while True:
        msg = conn.recv_bytes()
        if not msg:
            return
        fn, job, memory_limit = pickle.loads(msg)
        with limit_address_space(memory_limit):
            for seconds in _warm_up(job):  # each step has its own time limit
                conn.send(seconds)
            out = fn(job)
        out["pid"], out["worker_pid"] = os.getpid(), os.getppid()
        try:
            conn.send(out)
        except Exception as exc:  # an unpicklable payload is a failure, not a crash
            conn.send(
                {
                    "status": "failed",
                    "reason": f"result not transferable: {exc!r}",
                    "pid": os.getpid(),
                    "worker_pid": os.getppid(),
                }
            )


# Warm-up (see ``Job.warm_up``): importing the library gets IMPORT_TIMEOUT (at least
# the timeout), the first call on one sample and then the job get the timeout each.
IMPORT_TIMEOUT = 600.0
WARMING = (
    " while importing the explainer's library",
    " while warming up (its first call, on one sample)",
    "",
)


def _limit(timeout: float | None, step: int) -> float | None:
    """The time limit of warm-up step ``step`` (0: import, 1: first call, 2: the job)."""
    if timeout is None:
        return None
    return max(timeout, IMPORT_TIMEOUT) if step == 0 else timeout


def _warm_up(job: Any) -> list[float] | Iterator[float]:
    """The job's warm-up steps (two), or two no-ops for jobs that have none."""
    warm = getattr(job, "warm_up", None)
    return warm() if warm is not None else [0.0, 0.0]


def _with_startup(out: dict[str, Any], steps: list[float]) -> dict[str, Any]:
    """``out`` with ``startup``: seconds spent warming up before the job, if any."""
    total = sum(steps)
    out["startup"] = total if total > 0.001 else None
    return out


def warmed(fn: Callable[[Any], dict[str, Any]], job: Any) -> dict[str, Any]:
    """``fn(job)`` after the job's warm-up, in this process (the ``local`` backend)."""
    steps = list(_warm_up(job))
    return _with_startup(fn(job), steps)


_IDLE: queue.LifoQueue[_Worker] = queue.LifoQueue()
_OWNER = {"pid": os.getpid()}


def isolated(
    fn: Callable[[Any], dict[str, Any]],
    job: Any,
    timeout: float | None,
    memory_limit: int | None = None,
) -> dict[str, Any]:
    """Run ``fn(job)`` in a pooled forked worker; kill it after ``timeout`` seconds.

    ``memory_limit`` caps the bytes of address space the job may add to the worker.
    Returns ``fn``'s outcome dict, or a ``timeout`` / ``crashed`` outcome.
    """
    if _OWNER["pid"] != os.getpid():  # a pool inherited through fork is not ours
        _OWNER["pid"] = os.getpid()
        while not _IDLE.empty():
            _IDLE.get_nowait()
    try:
        worker = _IDLE.get_nowait()
    except queue.Empty:
        worker = _Worker()
    out, alive = worker.run(fn, job, timeout, memory_limit)
    if alive:
        _IDLE.put(worker)
    if out.get("status") in ("failed", "crashed"):
        out["reason"] = memory_hint(str(out.get("reason")), out["status"], memory_limit)
    return out


def shutdown_workers() -> None:
    """Close every idle pooled worker (they hold the state of the run that forked them)."""
    while True:
        try:
            worker = _IDLE.get_nowait()
        except queue.Empty:
            return
        worker.close()


def _describe_exit(status: int) -> str:
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        name = signal.Signals(-code).name
        hint = " (out of memory?)" if -code == signal.SIGKILL else ""
        return f"worker process was killed by {name}{hint}"
    return f"worker process exited with code {code} before returning a result"


def _child_setup() -> None:
    # die with the parent: a kill -9 of the run must not leave orphans computing.
    # (PR_SET_PDEATHSIG would fire when the forking *thread* ends, so poll instead.)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    import faulthandler

    faulthandler.disable()  # a crashing job is reported as "crashed", not by a stack dump
    if "torch" in sys.modules:  # OpenMP pools do not survive fork; one thread per job
        sys.modules["torch"].set_num_threads(1)


class Executor:
    """A backend opened once per run: ``with Executor(...) as ex: ex.map(jobs, fn)``.

    Parameters
    ----------
    backend : {"local", "processes", "dask"}
    workers : int, optional
        Parallel jobs (default: CPU count; dask: workers of the LocalCluster).
    timeout : float, optional
        Seconds before a job's process is killed (not enforced by ``local``).
    address : str, optional
        Scheduler address for ``dask``; a LocalCluster when None.
    memory_limit : int, optional
        Bytes of address space a job may add to its worker process (not enforced by
        ``local``); None: no cap.
    """

    def __init__(
        self,
        backend: str = "processes",
        workers: int | None = None,
        timeout: float | None = None,
        address: str | None = None,
        memory_limit: int | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise InvalidInputError(
                f"backend {backend!r}", f"one of {list(BACKENDS)}", "Pick a listed backend."
            )
        if backend != "local" and not hasattr(os, "fork"):
            raise InvalidInputError(
                f"backend {backend!r} on a platform without fork()",
                "Linux or macOS for isolated worker processes",
                "Use backend='local' here, or run on Linux/macOS.",
            )
        if (
            memory_limit is not None
            and backend != "local"
            and not os.path.exists("/proc/self/statm")
        ):
            raise InvalidInputError(
                "memory_limit on a platform without /proc",
                "Linux, where a worker can measure and cap its address space",
                "Leave memory_limit unset here.",
            )
        self.backend = backend
        self.workers = workers
        self.timeout = timeout
        self.address = address
        self.memory_limit = memory_limit

    def __enter__(self) -> Executor:
        self._stack = contextlib.ExitStack()
        self._name, self._n_jobs = self._stack.enter_context(
            _backend(self.backend, self.workers, self.address)
        )
        return self

    def __exit__(self, *exc: object) -> None:
        shutdown_workers()
        self._stack.close()

    def map(
        self,
        jobs: Iterable[Any],
        fn: Callable[[Any], dict[str, Any]],
        prepare: Callable[[Any], None] | None = None,
    ) -> Iterator[tuple[Any, dict[str, Any]]]:
        """Yield ``(job, outcome)`` as jobs finish, in any order.

        ``prepare(job)`` runs in the worker before the job's process is forked, so what it
        loads (the task's model) is shared by later jobs on that worker.
        """
        from joblib import Parallel, delayed

        jobs = list(jobs)
        if not jobs:
            return
        if self.backend == "local":
            call: Callable[[Any], dict[str, Any]] = partial(warmed, fn)
        else:
            call = partial(isolated, fn, timeout=self.timeout, memory_limit=self.memory_limit)
        tagged = partial(_tag, call, prepare)
        par = Parallel(
            n_jobs=self._n_jobs,
            backend=self._name,
            return_as="generator_unordered",
            batch_size=1,  # auto-batching would queue slow jobs behind one thread
        )
        for index, out in par(delayed(tagged)(i, job) for i, job in enumerate(jobs)):
            yield jobs[index], out


def run_jobs(
    jobs: Iterable[Any],
    fn: Callable[[Any], dict[str, Any]],
    *,
    backend: str = "processes",
    workers: int | None = None,
    timeout: float | None = None,
    address: str | None = None,
    memory_limit: int | None = None,
) -> Iterator[tuple[Any, dict[str, Any]]]:
    """One-shot ``Executor(...).map(jobs, fn)``."""
    with Executor(backend, workers, timeout, address, memory_limit) as ex:
        yield from ex.map(jobs, fn)


def _tag(
    call: Callable[[Any], dict[str, Any]],
    prepare: Callable[[Any], None] | None,
    index: int,
    job: Any,
) -> tuple[int, dict[str, Any]]:
    if prepare is not None:
        with contextlib.suppress(Exception):  # the job itself will fail and record why
            prepare(job)
    return index, call(job)


@contextlib.contextmanager
def _backend(backend: str, workers: int | None, address: str | None) -> Iterator[tuple[Any, int]]:
    n = workers or os.cpu_count() or 1
    if backend == "local":
        yield "sequential", 1
    elif backend == "processes":
        yield "threading", n
    else:
        from .._deps import require

        require("distributed", "dask")
        from dask.distributed import Client, LocalCluster
        from joblib import parallel_config

        with contextlib.ExitStack() as stack:
            if address:
                client = stack.enter_context(Client(address))
            else:
                tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="xai-bench-dask-"))
                cluster = stack.enter_context(
                    LocalCluster(
                        n_workers=n,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=":0",
                        local_directory=tmp,
                    )
                )
                client = stack.enter_context(Client(cluster))
            stack.enter_context(parallel_config(backend="dask"))
            del client
            # backend=None picks the configured one; naming "dask" again in Parallel would
            # build a second backend that leaks joblib's nesting_level into client.submit
            yield None, -1
