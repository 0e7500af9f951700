"""The results store: one SQLite file (WAL, busy timeout), one row per finished job.

Arrays are stored as ``np.save`` bytes (loaded with ``allow_pickle=False``), everything
else as JSON. A job's outcome and its payload are written in one transaction, so a
``kill -9`` leaves only whole jobs behind and ``--resume`` computes the rest.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sqlite3
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidInputError, StoreError

__all__ = ["Store", "check_report_path", "from_blob", "to_blob"]

WAL_PAGES = 256  # checkpoint the WAL into the store every ~1 MiB (4 KiB pages)

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, created REAL, updated REAL, config TEXT, provenance TEXT);
CREATE TABLE IF NOT EXISTS jobs (
    run_id TEXT, key TEXT, kind TEXT, task TEXT, explainer TEXT, metric TEXT,
    chunk INTEGER, seed INTEGER, status TEXT, reason TEXT, seconds REAL,
    model_calls INTEGER, pid INTEGER, worker_pid INTEGER, finished REAL, startup REAL,
    PRIMARY KEY (run_id, key));
CREATE TABLE IF NOT EXISTS explanations (
    run_id TEXT, key TEXT, task TEXT, explainer TEXT, chunk INTEGER, seed INTEGER,
    samples BLOB, attributions BLOB, targets BLOB, mask BLOB, params TEXT, meta TEXT,
    seconds REAL, PRIMARY KEY (run_id, key));
CREATE TABLE IF NOT EXISTS metric_results (
    run_id TEXT, key TEXT, task TEXT, explainer TEXT, metric TEXT, chunk INTEGER,
    seed INTEGER, samples BLOB, x BLOB, curves BLOB, params TEXT,
    PRIMARY KEY (run_id, key));
CREATE TABLE IF NOT EXISTS scores (
    run_id TEXT, task TEXT, explainer TEXT, metric TEXT, seed INTEGER, sample INTEGER,
    score REAL, flags TEXT, PRIMARY KEY (run_id, task, explainer, metric, seed, sample));
CREATE TABLE IF NOT EXISTS tasks (
    run_id TEXT, task TEXT, info TEXT, X BLOB, ground_truth BLOB,
    PRIMARY KEY (run_id, task));
CREATE TABLE IF NOT EXISTS metric_info (
    run_id TEXT, metric TEXT, info TEXT, PRIMARY KEY (run_id, metric));
"""


def to_blob(arr: Any) -> bytes | None:
    """``np.save`` bytes of an array (None stays None)."""
    if arr is None:
        return None
    buf = io.BytesIO()
    np.save(buf, np.asarray(arr), allow_pickle=False)
    return buf.getvalue()


def from_blob(blob: bytes | None) -> np.ndarray | None:
    """The array saved by ``to_blob`` (None stays None); never unpickles."""
    if blob is None:
        return None
    try:
        return np.load(io.BytesIO(blob), allow_pickle=False)
    except ValueError as exc:  # a pickled or unknown-version array: damage, never unpickled
        raise StoreError(
            f"an array in the results store cannot be read ({exc}); the store is damaged or"
            " was not written by xai-bench. Rerun into a new --store path."
        ) from None


def array(blob: bytes) -> np.ndarray:
    """``from_blob`` for columns that always hold an array."""
    out = from_blob(blob)
    if out is None:
        raise StoreError("a required array is missing from the results store")
    return out


def to_json(obj: Any) -> str:
    return json.dumps(obj, default=_json_default, sort_keys=True)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist() if obj.size <= 64 else f"<array shape={obj.shape}>"
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return repr(obj)


def _check_tables(conn: sqlite3.Connection, path: Path | str) -> None:
    """A store missing some of its tables or columns is damaged: never re-create them."""
    tables = {
        name: re.findall(r"(\w+) (?:TEXT|REAL|INTEGER|BLOB)", body)
        for name, body in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\);", SCHEMA, re.S)
    }
    have = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not have & set(tables):
        return  # a new store
    missing = [f"the {t} table" for t in tables if t not in have]
    for t in sorted(have & set(tables)):
        cols = {r[1] for r in conn.execute(f"PRAGMA table_info({t})")}
        missing += [f"column {t}.{c}" for c in tables[t] if c not in cols]
    if missing:
        raise StoreError(
            f"the results store {str(path)!r} is damaged (or from an incompatible xai-bench"
            f" version): it lacks {', '.join(missing)}. Rerun into a new --store path, or"
            " restore the file from a backup."
        )


def check_report_path(output: str | Path, store: str | Path | None = None) -> None:
    """Refuse to write a report over the results ``store`` or over any existing file that
    is not an HTML report (a report written there would destroy it).

    Raises
    ------
    InvalidInputError
        When ``output`` is the store, a folder, or a file that is not HTML.
    """
    out = Path(output)
    fix = (
        "Write the report to a new FILE.html (or over an older report), e.g. -o reports/NAME.html."
    )
    if store not in (None, ":memory:") and _same_file(out, Path(str(store))):
        raise InvalidInputError(
            f"report output {str(out)!r}, which is the results store",
            "an HTML file path other than the store",
            fix + " The store keeps the results; the report is made from it.",
        )
    if out.is_dir():
        raise InvalidInputError(f"report output {str(out)!r}, a folder", "an HTML file path", fix)
    if out.exists():
        head = b""
        with contextlib.suppress(OSError), out.open("rb") as f:
            head = f.read(512)
        if not _is_html(head):
            kind = "an SQLite database" if head.startswith(b"SQLite format 3") else "not HTML"
            raise InvalidInputError(
                f"report output {str(out)!r}, an existing file that is {kind}",
                "a new file, or an HTML report to replace",
                fix,
            )


def _same_file(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        return a.samefile(b)
    return a.resolve() == b.resolve()


def _is_html(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<!doctype html", b"<html"))


class Store:
    """A results store at ``path`` (``None`` or ``":memory:"`` keeps it in memory).

    Parameters
    ----------
    path : str or Path or None
    busy_timeout : float
        Seconds a writer waits for another writer's lock.
    """

    def __init__(self, path: str | Path | None = None, busy_timeout: float = 30.0) -> None:
        self.path = ":memory:" if path in (None, ":memory:") else Path(path)
        try:
            if isinstance(self.path, Path):
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(
                str(self.path),
                timeout=busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            if isinstance(self.path, Path):
                self.conn.execute("PRAGMA journal_mode = WAL")
                self.conn.execute("PRAGMA synchronous = NORMAL")
                # the WAL holds every page version since the last checkpoint: SQLite's
                # 1000-page default let it reach 4 MiB for a 1 MiB store and fill a small
                # disk long before the store did; keep it to about 1 MiB
                self.conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_PAGES}")
                self.conn.execute(f"PRAGMA journal_size_limit = {WAL_PAGES * 4096}")
            self._add_column("jobs", "startup REAL")  # before the check: older stores lack it
            _check_tables(self.conn, self.path)
            self.conn.executescript(SCHEMA)
            self._upgrade_keys()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"cannot open the results store {str(self.path)!r}: {exc}. Expected a writable"
                " path to an xai-bench SQLite file. Pick another --store path or delete the"
                " damaged file."
            ) from exc

    def _add_column(self, table: str, column: str) -> None:
        """Add a column that stores written by earlier releases lack."""
        have = {r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")}
        if have and column.split()[0] not in have:  # a table without it: an older store
            with contextlib.suppress(sqlite3.OperationalError):  # another process added it
                self.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column}")

    def _upgrade_keys(self) -> None:
        """Rewrite the ``explain|task|...`` keys of older stores as the JSON keys of
        ``jobs.job_key``, from each row's own columns, so that a resume finds its jobs."""
        old = "SELECT 1 FROM jobs WHERE key NOT LIKE '[%' LIMIT 1"
        if self.conn.execute(old).fetchone() is None:
            return
        from .jobs import job_key

        stmts = []
        for table, cols in (
            ("jobs", "kind, task, explainer, metric, chunk, seed"),
            ("explanations", "'explain', task, explainer, NULL, chunk, seed"),
            ("metric_results", "'score', task, explainer, metric, chunk, seed"),
        ):
            sql = f"SELECT rowid, {cols} FROM {table} WHERE key NOT LIKE '[%'"
            for rowid, *fields in self.conn.execute(sql).fetchall():
                stmts.append(
                    (
                        f"UPDATE OR REPLACE {table} SET key=? WHERE rowid=?",
                        (job_key(*fields), rowid),
                    )
                )
        self._write(stmts)

    # -- writing ---------------------------------------------------------------------
    def _write(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Run ``statements`` in one transaction; disk-full becomes a StoreError.

        On a full disk the WAL is first checkpointed into the store and truncated, and
        the transaction tried once more: what the WAL held twice then takes space once.
        """
        try:
            self._transaction(statements)
        except StoreError as exc:
            if "is full" not in str(exc) or not isinstance(self.path, Path):
                raise
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._transaction(statements)

    def _transaction(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            for sql, args in statements:
                self.conn.execute(sql, args)
            self.conn.execute("COMMIT")
        except BaseException as exc:
            if self.conn.in_transaction:  # SQLite may already have rolled back (disk full)
                self.conn.execute("ROLLBACK")
            if not isinstance(exc, sqlite3.Error):
                raise
            msg = str(exc)
            if "full" in msg:
                raise StoreError(
                    f"the results store {str(self.path)!r} is full ({msg}). Every job committed"
                    " so far is kept and the store stays readable. Free disk space, then rerun"
                    " the same command with --resume to finish the missing jobs."
                ) from exc
            raise StoreError(f"cannot write the results store {str(self.path)!r}: {msg}") from exc

    def start_run(
        self, run_id: str, config: Mapping[str, Any], provenance: Mapping[str, Any]
    ) -> None:
        now = time.time()
        self._write(
            [
                (
                    "INSERT OR IGNORE INTO runs VALUES (?,?,?,?,?)",
                    (run_id, now, now, to_json(config), to_json(provenance)),
                ),
                (
                    "UPDATE runs SET updated=?, provenance=? WHERE run_id=?",
                    (now, to_json(provenance), run_id),
                ),
            ]
        )

    def clear_run(self, run_id: str) -> None:
        tables = ["jobs", "explanations", "metric_results", "scores", "tasks", "metric_info"]
        self._write([(f"DELETE FROM {t} WHERE run_id=?", (run_id,)) for t in tables])

    def forget_failures(self, run_id: str) -> int:
        """Drop failed, timed-out and crashed jobs so that a resume runs them again."""
        n = self.conn.execute(
            "SELECT COUNT(*) FROM jobs WHERE run_id=? AND status IN ('failed','timeout','crashed')",
            (run_id,),
        ).fetchone()[0]
        self._write(
            [
                (
                    "DELETE FROM jobs WHERE run_id=? AND status IN ('failed','timeout','crashed')",
                    (run_id,),
                )
            ]
        )
        return int(n)

    def put_task(self, run_id: str, task: str, info: Mapping[str, Any], X: Any, truth: Any) -> None:
        self._write(
            [
                (
                    "INSERT OR REPLACE INTO tasks VALUES (?,?,?,?,?)",
                    (run_id, task, to_json(info), to_blob(X), to_blob(truth)),
                )
            ]
        )

    def put_metric_info(self, run_id: str, metric: str, info: Mapping[str, Any]) -> None:
        self._write(
            [("INSERT OR REPLACE INTO metric_info VALUES (?,?,?)", (run_id, metric, to_json(info)))]
        )

    def record(self, run_id: str, job: Any, outcome: Mapping[str, Any]) -> None:
        """Commit one finished job (its status row and its payload) atomically."""
        stmts: list[tuple[str, tuple[Any, ...]]] = [
            (
                "INSERT OR REPLACE INTO jobs (run_id, key, kind, task, explainer, metric, chunk,"
                " seed, status, reason, seconds, model_calls, pid, worker_pid, finished, startup)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    job.key,
                    job.kind,
                    job.task,
                    job.explainer,
                    job.metric,
                    job.chunk,
                    job.seed,
                    outcome["status"],
                    outcome.get("reason"),
                    outcome.get("seconds"),
                    outcome.get("model_calls"),
                    outcome.get("pid"),
                    outcome.get("worker_pid"),
                    time.time(),
                    outcome.get("startup"),
                ),
            )
        ]
        if outcome["status"] == "ok" and job.kind == "explain":
            e = outcome["explanation"]
            stmts.append(
                (
                    "INSERT OR REPLACE INTO explanations VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        run_id,
                        job.key,
                        job.task,
                        job.explainer,
                        job.chunk,
                        job.seed,
                        to_blob(job.samples),
                        to_blob(e.attributions),
                        to_blob(e.targets),
                        to_blob(e.mask),
                        to_json(e.params),
                        to_json(e.meta),
                        e.seconds,
                    ),
                )
            )
        elif outcome["status"] == "ok":
            r = outcome["result"]
            stmts.append(
                (
                    "INSERT OR REPLACE INTO metric_results VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        run_id,
                        job.key,
                        job.task,
                        job.explainer,
                        job.metric,
                        job.chunk,
                        job.seed,
                        to_blob(job.samples),
                        to_blob(r.x),
                        to_blob(r.curves),
                        to_json(r.params),
                    ),
                )
            )
            scores = np.asarray(r.scores, dtype=np.float64)
            flags = {k: np.asarray(v, dtype=bool) for k, v in r.flags.items()}
            n = len(scores)
            # per-sample numbers (f(x), f(baseline), raw AUCs...) ride along with the flags
            extra = {
                k: np.asarray(v, dtype=np.float64)
                for k, v in getattr(r, "extra", {}).items()
                if np.shape(v) == (n,) and np.asarray(v).dtype.kind in "biuf" and k not in flags
            }
            for i, sample in enumerate(job.samples):
                row_flags: dict[str, Any] = {k: bool(v[i]) for k, v in flags.items()}
                row_flags.update({k: float(v[i]) for k, v in extra.items()})
                stmts.append(
                    (
                        "INSERT OR REPLACE INTO scores VALUES (?,?,?,?,?,?,?,?)",
                        (
                            run_id,
                            job.task,
                            job.explainer,
                            job.metric,
                            job.seed,
                            int(sample),
                            float(scores[i]),
                            to_json(row_flags),
                        ),
                    )
                )
        self._write(stmts)

    # -- reading ---------------------------------------------------------------------
    def done_keys(self, run_id: str) -> set[str]:
        rows = self.conn.execute("SELECT key FROM jobs WHERE run_id=?", (run_id,))
        return {r[0] for r in rows}

    def runs(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT run_id FROM runs ORDER BY updated")]

    def run_row(self, run_id: str) -> dict[str, Any]:
        row = self.conn.execute(
            "SELECT created, updated, config, provenance FROM runs WHERE run_id=?", (run_id,)
        ).fetchone()
        if row is None:
            raise StoreError(
                f"run {run_id!r} is not in {str(self.path)!r}; runs stored: {self.runs()}."
                " Pass one of them with --run."
            )
        return {
            "created": row[0],
            "updated": row[1],
            "config": json.loads(row[2]),
            "provenance": json.loads(row[3]),
        }

    def rows(self, sql: str, *args: Any) -> Iterator[sqlite3.Row]:
        cur = self.conn.cursor()
        cur.row_factory = sqlite3.Row
        yield from cur.execute(sql, args)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
