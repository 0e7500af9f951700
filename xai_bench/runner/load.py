"""Build a Results object from the rows of one run in a Store."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd

from ..explanation import Explanation
from .results import CURVE_COLUMNS, EXPLANATION_COLUMNS, FAILURE_COLUMNS, SCORE_COLUMNS, Results
from .store import Store, array, from_blob

JOB_COLUMNS = ["kind", "chunk", "seconds", "pid", "worker_pid"]


def load_results(store: Store, run_id: str | None = None) -> Results:
    """The Results of ``run_id`` (default: the most recently updated run)."""
    if run_id is None:
        runs = store.runs()
        if not runs:
            from ..errors import StoreError

            raise StoreError(f"the store {str(store.path)!r} holds no runs; run a benchmark first.")
        run_id = runs[-1]
    run = store.run_row(run_id)
    return Results(
        scores=_scores(store, run_id),
        curves=_curves(store, run_id),
        explanations=_explanations(store, run_id),
        failures=_failures(store, run_id),
        attributions=_attributions(store, run_id),
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
    rows = [
        dict(r)
        for r in store.rows(
            "SELECT task, explainer, metric, sample, seed, score, flags FROM scores WHERE run_id=?"
            " ORDER BY task, explainer, metric, seed, sample",
            run_id,
        )
    ]
    if not rows:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    flags = pd.DataFrame([json.loads(r.pop("flags") or "{}") for r in rows])
    df = pd.DataFrame(rows, columns=SCORE_COLUMNS)
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
    cols: dict[str, list[np.ndarray]] = defaultdict(list)
    for r in store.rows(
        "SELECT * FROM metric_results WHERE run_id=? AND curves IS NOT NULL"
        " ORDER BY task, explainer, metric, seed, chunk",
        run_id,
    ):
        y = np.asarray(array(r["curves"]), dtype=np.float64)
        samples = array(r["samples"])
        n, k = y.shape
        x = from_blob(r["x"])
        x = np.linspace(0, 1, k) if x is None else np.asarray(x, dtype=np.float64)
        for name in ("task", "explainer", "metric"):
            cols[name].append(np.full(n * k, r[name], dtype=object))
        cols["seed"].append(np.full(n * k, r["seed"]))
        cols["sample"].append(np.repeat(samples, k))
        cols["step"].append(np.tile(np.arange(k), n))
        cols["x"].append(np.tile(x, n))
        cols["y"].append(y.reshape(-1))
    return _frame(cols, CURVE_COLUMNS)


def _explanations(store: Store, run_id: str) -> pd.DataFrame:
    cols: dict[str, list[np.ndarray]] = defaultdict(list)
    for r in store.rows(
        "SELECT * FROM explanations WHERE run_id=? ORDER BY task, explainer, seed, chunk", run_id
    ):
        samples = array(r["samples"])
        n = len(samples)
        calls = json.loads(r["meta"]).get("model_calls")
        expl = Explanation(
            array(r["attributions"]),
            array(r["targets"]),
            r["explainer"],
            mask=from_blob(r["mask"]),
        )
        cols["task"].append(np.full(n, r["task"], dtype=object))
        cols["explainer"].append(np.full(n, r["explainer"], dtype=object))
        cols["sample"].append(samples)
        cols["seed"].append(np.full(n, r["seed"]))
        cols["seconds"].append(np.full(n, (r["seconds"] or 0.0) / n))
        cols["model_calls"].append(np.full(n, np.nan if calls is None else calls / n))
        cols["degenerate"].append(expl.degenerate())
    return _frame(cols, EXPLANATION_COLUMNS)


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


def _attributions(store: Store, run_id: str) -> dict[tuple[str, str, int], Explanation]:
    from .benchmark import explanation_from_row

    groups: dict[tuple[str, str, int], list[tuple[np.ndarray, Explanation]]] = defaultdict(list)
    for r in store.rows(
        "SELECT * FROM explanations WHERE run_id=? ORDER BY task, explainer, seed, chunk", run_id
    ):
        groups[(r["task"], r["explainer"], r["seed"])].append(
            (array(r["samples"]), explanation_from_row(r))
        )
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
