"""Read the rows of one run in a Store back into the tables of a Results.

The runner's modules import in one direction: store rows -> ``load`` (this module: row
decoding and the tables' columns) -> ``stats`` (numbers from the tables) -> ``results``
(``Results``, which holds the tables and calls both) -> ``benchmark``.
"""

from __future__ import annotations

import io
import json
from collections import defaultdict
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from ..explanation import Explanation
from .store import array as _checked_array
from .store import from_blob as _np_load

if TYPE_CHECKING:
    from .store import Store

__all__ = ["RunTables", "explanation_from_row", "read_run"]

SCORE_COLUMNS = ["task", "explainer", "metric", "sample", "seed", "score"]
CURVE_COLUMNS = ["task", "explainer", "metric", "sample", "seed", "step", "x", "y"]
EXPLANATION_COLUMNS = [
    "task",
    "explainer",
    "sample",
    "seed",
    "seconds",
    "model_calls",
    "degenerate",
]
FAILURE_COLUMNS = ["task", "explainer", "metric", "seed", "status", "reason"]
JOB_COLUMNS = ["kind", "chunk", "seconds", "pid", "worker_pid"]


_NPY_1_0 = b"\x93NUMPY\x01\x00"


@lru_cache(maxsize=1024)
def _npy_header(prefix: bytes) -> tuple[tuple[int, ...], bool, np.dtype]:
    f = io.BytesIO(prefix)
    np.lib.format.read_magic(f)
    return np.lib.format.read_array_header_1_0(f)


def from_blob(blob: bytes | None) -> np.ndarray | None:
    """``store.from_blob``, five times faster on a run's thousands of small arrays.

    A run stores a few distinct array headers many times: each is parsed once, then the
    data is read with ``frombuffer`` (a copy, as ``np.load`` gives). Anything else (other
    format versions, object dtypes, a damaged blob) goes to ``store.from_blob``.
    """
    if blob is None or not blob.startswith(_NPY_1_0):
        return _np_load(blob)
    end = 10 + int.from_bytes(blob[8:10], "little")
    try:
        shape, fortran, dtype = _npy_header(bytes(blob[:end]))
        if dtype.hasobject:
            return _np_load(blob)
        data = np.frombuffer(blob, dtype=dtype, offset=end, count=int(np.prod(shape)))
        if end + data.nbytes != len(blob):
            return _np_load(blob)
        return data.reshape(shape, order="F" if fortran else "C").copy(order="K")
    except ValueError:
        return _np_load(blob)


def array(blob: bytes) -> np.ndarray:
    """``from_blob`` for columns that always hold an array."""
    out = from_blob(blob)
    return _checked_array(blob) if out is None else out


class RunTables(Protocol):
    """What the statistics read from a run (``Results`` has it)."""

    scores: pd.DataFrame
    explanations: pd.DataFrame
    metric_info: dict[str, dict[str, Any]]


def explanation_from_row(row: Any) -> Explanation:
    """The Explanation stored in one row of the ``explanations`` table."""
    return Explanation(
        attributions=array(row["attributions"]),
        targets=array(row["targets"]),
        explainer=row["explainer"],
        params=json.loads(row["params"]),
        seconds=row["seconds"],
        meta=json.loads(row["meta"]),
        mask=from_blob(row["mask"]),
    )


def read_run(store: Store, run_id: str | None = None) -> dict[str, Any]:
    """The fields of the Results of ``run_id`` (default: the most recently updated run)."""
    if run_id is None:
        runs = store.runs()
        if not runs:
            from ..errors import StoreError

            raise StoreError(f"the store {str(store.path)!r} holds no runs; run a benchmark first.")
        run_id = runs[-1]
    run = store.run_row(run_id)
    explanations, attributions = _explanations(store, run_id)
    return dict(
        scores=_scores(store, run_id),
        curves=_curves(store, run_id),
        explanations=explanations,
        failures=_failures(store, run_id),
        attributions=attributions,
        tasks=_tasks(store, run_id),
        metric_info=_metric_info(store, run_id),
        provenance={
            **run["provenance"],
            "config": run["config"],
            "run_id": run_id,
            "store": str(store.path),
            "jobs": _job_counts(store, run_id),
        },
        jobs=_job_rows(store, run_id),
    )


def _scores(store: Store, run_id: str) -> pd.DataFrame:
    rows = store.conn.execute(
        "SELECT task, explainer, metric, sample, seed, score, flags FROM scores WHERE run_id=?"
        " ORDER BY task, explainer, metric, seed, sample",
        (run_id,),
    ).fetchall()
    if not rows:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    # one JSON document for all the flag cells: one parse instead of one per score
    flags = pd.DataFrame(json.loads("[" + ",".join(r[6] or "{}" for r in rows) + "]"))
    df = pd.DataFrame([r[:6] for r in rows], columns=SCORE_COLUMNS)
    for col in flags.columns:  # flags are booleans; per-sample extras are numbers
        values = flags[col]
        if all(isinstance(v, bool) for v in values.dropna()):
            df[col] = values.fillna(False).astype(bool).to_numpy()
        else:
            df[col] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    return df


def _frame(columns: dict[str, list[np.ndarray]], order: list[str]) -> pd.DataFrame:
    """One DataFrame from per-chunk column pieces (much faster than concatenating frames)."""
    if not columns[order[0]]:
        return pd.DataFrame(columns=order)
    return pd.DataFrame({c: np.concatenate(columns[c]) for c in order})


def _curves(store: Store, run_id: str) -> pd.DataFrame:
    """Long format, one row per curve point; columns built whole, not per stored row."""
    rows = list(
        store.rows(
            "SELECT task, explainer, metric, seed, samples, x, curves FROM metric_results"
            " WHERE run_id=? AND curves IS NOT NULL ORDER BY task, explainer, metric, seed, chunk",
            run_id,
        )
    )
    if not rows:
        return pd.DataFrame(columns=CURVE_COLUMNS)
    ys = [np.asarray(array(r["curves"]), dtype=np.float64) for r in rows]
    xs = []
    for r, y in zip(rows, ys, strict=True):
        x = from_blob(r["x"])
        xs.append(np.linspace(0, 1, y.shape[1]) if x is None else np.asarray(x, dtype=np.float64))
    ns = np.array([y.shape[0] for y in ys], dtype=np.int64)
    ks = np.array([y.shape[1] for y in ys], dtype=np.int64)
    points = ns * ks  # curve points per stored row
    k_of_sample = np.repeat(ks, ns)
    first_step = np.repeat(np.cumsum(k_of_sample) - k_of_sample, k_of_sample)
    step = np.arange(int(points.sum()), dtype=np.int64) - first_step
    x_start = np.repeat(np.cumsum(ks) - ks, points)
    cols = {
        name: np.repeat(np.array([r[name] for r in rows], dtype=object), points)
        for name in ("task", "explainer", "metric")
    }
    cols["seed"] = np.repeat(np.array([r["seed"] for r in rows]), points)
    cols["sample"] = np.repeat(np.concatenate([array(r["samples"]) for r in rows]), k_of_sample)
    cols["step"] = step
    cols["x"] = np.concatenate(xs)[x_start + step]
    cols["y"] = np.concatenate([y.reshape(-1) for y in ys])
    return pd.DataFrame({c: cols[c] for c in CURVE_COLUMNS})


def _explanations(
    store: Store, run_id: str
) -> tuple[pd.DataFrame, dict[tuple[str, str, int], Explanation]]:
    """Per-sample cost and flags, and the ``(task, explainer, seed)`` Explanations, from
    one pass over the stored explanations (each array decoded once)."""
    cols: dict[str, list[np.ndarray]] = defaultdict(list)
    groups: dict[tuple[str, str, int], list[tuple[np.ndarray, Explanation]]] = defaultdict(list)
    for r in store.rows(
        "SELECT * FROM explanations WHERE run_id=? ORDER BY task, explainer, seed, chunk", run_id
    ):
        samples = array(r["samples"])
        n = len(samples)
        expl = explanation_from_row(r)
        calls = expl.meta.get("model_calls")
        cols["task"].append(np.full(n, r["task"], dtype=object))
        cols["explainer"].append(np.full(n, r["explainer"], dtype=object))
        cols["sample"].append(samples)
        cols["seed"].append(np.full(n, r["seed"]))
        cols["seconds"].append(np.full(n, (r["seconds"] or 0.0) / n))
        cols["model_calls"].append(np.full(n, np.nan if calls is None else calls / n))
        cols["degenerate"].append(expl.degenerate())
        groups[(r["task"], r["explainer"], r["seed"])].append((samples, expl))
    return _frame(cols, EXPLANATION_COLUMNS), _concat(groups)


def _failures(store: Store, run_id: str) -> pd.DataFrame:
    rows = [
        dict(r)
        for r in store.rows(
            "SELECT task, explainer, metric, seed, status, reason, kind, chunk, seconds, pid,"
            " worker_pid FROM jobs WHERE run_id=? AND status != 'ok' ORDER BY key",
            run_id,
        )
    ]
    return pd.DataFrame(rows, columns=[*FAILURE_COLUMNS, *JOB_COLUMNS])


def _job_rows(store: Store, run_id: str) -> pd.DataFrame:
    rows = store.rows(
        "SELECT key, kind, task, explainer, metric, chunk, seed, status, reason, seconds,"
        " model_calls, pid, worker_pid, startup FROM jobs WHERE run_id=? ORDER BY key",
        run_id,
    )
    return pd.DataFrame([dict(r) for r in rows])


def _job_counts(store: Store, run_id: str) -> dict[str, int]:
    rows = store.rows(
        "SELECT status, COUNT(*) AS n FROM jobs WHERE run_id=? GROUP BY status", run_id
    )
    return {r["status"]: r["n"] for r in rows}


def _concat(
    groups: dict[tuple[str, str, int], list[tuple[np.ndarray, Explanation]]],
) -> dict[tuple[str, str, int], Explanation]:
    out = {}
    for key, parts in groups.items():
        expl = Explanation.concat([e for _, e in parts])
        samples = np.concatenate([s for s, _ in parts])
        out[key] = Explanation(
            expl.attributions,
            expl.targets,
            expl.explainer,
            expl.params,
            expl.seconds,
            {**expl.meta, "samples": samples.tolist()},
            expl.mask,
        )
    return out


def _tasks(store: Store, run_id: str) -> dict[str, dict[str, Any]]:
    out = {}
    for r in store.rows("SELECT * FROM tasks WHERE run_id=? ORDER BY task", run_id):
        info = json.loads(r["info"])
        out[r["task"]] = {
            **info,
            "X": from_blob(r["X"]),
            "ground_truth": from_blob(r["ground_truth"]),
        }
    return out


def _metric_info(store: Store, run_id: str) -> dict[str, dict[str, Any]]:
    out = {
        r["metric"]: json.loads(r["info"])
        for r in store.rows("SELECT metric, info FROM metric_info WHERE run_id=?", run_id)
    }
    for r in store.rows(
        "SELECT metric, params FROM metric_results WHERE run_id=? GROUP BY metric", run_id
    ):
        if r["metric"] in out:
            out[r["metric"]]["params"] = json.loads(r["params"])
    return out
