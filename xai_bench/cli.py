"""The ``xai-bench`` command: run, report, list, validate, export.

Heavy libraries (torch, shap, pandas...) are imported only by the subcommands that need
them, so ``xai-bench list`` and ``xai-bench validate`` start fast.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import XaiBenchError

LIBRARIES = ("shap", "lime", "eli5", "captum", "inseq")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="xai-bench",
        description="Compare feature-attribution methods on faithfulness and write HTML reports.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a benchmark config (default: the built-in suite)")
    run.add_argument("config", nargs="?", help="YAML config; omit for the default suite")
    run.add_argument("--backend", choices=["local", "processes", "dask"])
    run.add_argument("--address", help="dask scheduler address tcp://host:port")
    run.add_argument("--workers", type=int, help="parallel jobs (default: CPU count)")
    run.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help="memory each job may add to its worker, e.g. 2GiB, 512MiB, 2GB"
        " (processes/dask backends; a job past it fails alone; default: the config's, else none)",
    )
    run.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="keep finished jobs of the same run and compute only the missing"
        " ones (default); --no-resume recomputes everything",
    )
    run.add_argument(
        "--retry-failed",
        action="store_true",
        help="with --resume, run failed, timed-out and crashed jobs again",
    )
    run.add_argument("--store", help="SQLite results store (default: runs/NAME.sqlite)")
    run.add_argument("--run-id", help="run id in the store (default: NAME-<hash of the grid>)")
    run.add_argument("-o", "--output", help="HTML report path (default: reports/NAME.html)")
    run.add_argument("--interactive", action="store_true", help="interactive report")
    run.add_argument("--quick", action="store_true", help="the config's quick settings")
    _override_args(run)

    rep = sub.add_parser("report", help="write the HTML report of a stored run")
    rep.add_argument("store")
    rep.add_argument("-o", "--output", required=True)
    rep.add_argument("--run", help="run id (default: the latest run in the store)")
    rep.add_argument("--interactive", action="store_true")

    lst = sub.add_parser("list", help="list explainers, metrics or tasks")
    lst.add_argument("kind", choices=["explainers", "metrics", "tasks"])

    val = sub.add_parser("validate", help="check a config without running it")
    val.add_argument("config")
    _override_args(val)

    exp = sub.add_parser("export", help="export a stored run to Parquet or CSV")
    exp.add_argument("store")
    exp.add_argument("-o", "--output", required=True, help="FILE.parquet or FILE.csv")
    exp.add_argument("--run", help="run id (default: the latest run)")
    exp.add_argument(
        "--table",
        default="scores",
        choices=["scores", "curves", "explanations", "failures", "summary"],
    )
    return p


def _override_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a config value, e.g. --set n_samples=16 (repeatable)",
    )
    p.add_argument("--explainers", help="comma-separated explainer ids to run")
    p.add_argument("--limit", type=int, help="at most this many samples per task")


# exit statuses (documented in the README)
OK, JOBS_FAILED, USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; 0 all ok, 1 some jobs failed or nothing was scored (``run``) or the
    report could not be written, 2 a usage, config or store error, 130 interrupted."""
    args = _parser().parse_args(argv)
    # the runner shows its own progress; silence the libraries' per-call tqdm bars
    # (tqdm reads this when it is first imported, which happens after this line)
    os.environ.setdefault("TQDM_DISABLE", "1")
    try:
        return int(COMMANDS[args.command](args) or 0)
    except XaiBenchError as exc:
        print(f"xai-bench: error: {exc}", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        print("xai-bench: interrupted; rerun the same command to resume.", file=sys.stderr)
        return 130


def _load(args: argparse.Namespace, quick: bool = False) -> Any:
    from .runner.config import load_config

    explainers = [e.strip() for e in args.explainers.split(",")] if args.explainers else None
    return load_config(
        args.config, sets=args.set, explainers=explainers, limit=args.limit, quick=quick
    )


def cmd_run(args: argparse.Namespace) -> int:
    config = _load(args, quick=args.quick)
    store = args.store or config.store or f"runs/{config.name}.sqlite"
    output = args.output or config.output or f"reports/{config.name}.html"
    address = args.address or config.address
    backend = args.backend or config.backend
    if backend == "dask" and address:
        _check_reachable(address)
    from .runner.store import check_report_path

    check_report_path(output, store)  # before the run, not after hours of it
    bench = config.benchmark()
    if args.workers:
        bench.workers = args.workers
    if args.memory_limit:
        from .runner.memory import parse_size

        bench.memory_limit = parse_size(args.memory_limit, "--memory-limit")
    results = bench.run(
        store=store,
        backend=backend,
        address=address,
        resume=args.resume,
        run_id=args.run_id,
        retry_failed=args.retry_failed,
    )
    run_id = results.provenance["run_id"]
    if not args.interactive and _report_up_to_date(output, store, run_id):
        print(f"results store: {store} (run {run_id})")
        print(f"report up to date (no new results since it was written): {output}")
        return _run_status(results)
    summary = results.summary()  # once: printed here, shown in the report
    _print_summary(results, summary)
    print(f"results store: {store} (run {run_id})")
    code = _write_report(results, output, args.interactive, summary)
    return max(code, _run_status(results))


def _report_up_to_date(output: str, store: str, run_id: str) -> bool:
    """Whether ``output`` is a report of ``run_id`` written after the run's last job.

    Every job row carries the time it finished, and the report is renamed into place
    once written, so a report younger than the newest job row shows every result.
    """
    import sqlite3
    from urllib.parse import quote

    out = Path(output)
    try:
        from markupsafe import escape  # as the report's Jinja2 autoescaping writes it

        written = out.stat().st_mtime
        uri = f"file:{quote(str(Path(store).resolve()))}?mode=ro"  # '?' or '#' in a name
        with sqlite3.connect(uri, uri=True) as conn:
            row = conn.execute("SELECT MAX(finished) FROM jobs WHERE run_id=?", (run_id,))
            (last,) = row.fetchone()
        conn.close()
        if last is None or written <= float(last):
            return False
        return f"<dt>run_id</dt><dd>{escape(run_id)}</dd>" in out.read_text(errors="replace")
    except (ImportError, OSError, sqlite3.Error, ValueError, TypeError):
        return False  # no report, or a store it cannot tell: render as before


def _run_status(results: Any) -> int:
    """1 when a job failed, timed out or crashed, or when nothing was scored; else 0."""
    fails = results.failures
    bad = fails[fails["status"] != "skipped"]
    if len(bad) or not len(results.scores):
        what = f"{len(bad)} job(s) did not finish" if len(bad) else "nothing was scored"
        print(f"xai-bench: {what}; exit status {JOBS_FAILED}.", file=sys.stderr)
        return JOBS_FAILED
    return OK


def _check_reachable(address: str) -> None:
    """Fail in seconds, with the address, when no dask scheduler answers there."""
    import socket
    from urllib.parse import urlsplit

    from .errors import InvalidInputError

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or not port:
        raise InvalidInputError(
            f"--address {address!r}", "tcp://HOST:PORT", "Give the scheduler's address."
        )
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError as exc:
        raise InvalidInputError(
            f"no dask scheduler answers at {address!r} ({exc.strerror or exc})",
            "the address of a running `dask scheduler`",
            "Start the scheduler, check the address, or drop --address to use a local cluster.",
        ) from None


def _written(out: Path, write: Any) -> Path:
    """Call ``write(tmp)`` on a temporary file next to ``out``, then rename it to ``out``:
    a full disk leaves the old file (or none), never a truncated one."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp{out.suffix}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, out)
    except OSError as exc:
        raise XaiBenchError(
            f"cannot write {str(out)!r}: {exc.strerror or exc}. Nothing was written there;"
            " free some space or pick another -o path."
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _write_report(results: Any, output: str, interactive: bool, summary: Any = None) -> int:
    from .runner.store import check_report_path

    check_report_path(output, results.provenance.get("store"))  # the temporary file is not
    try:
        path = _written(
            Path(output),
            lambda tmp: results.to_html(tmp, interactive=interactive, summary=summary),
        )
    except ImportError as exc:  # the report renderer is an optional part
        print(f"report not written ({exc}); it would go to {output}", file=sys.stderr)
        return 1
    except XaiBenchError:
        raise
    except Exception as exc:  # the results are stored; say how to retry the report alone
        print(
            f"report not written: {type(exc).__name__}: {exc}. The results are stored;"
            f" retry with `xai-bench report STORE -o {output}`.",
            file=sys.stderr,
        )
        return 1
    print(f"report: {path}")
    return 0


def _print_summary(results: Any, summary: Any) -> None:
    """A compact leaderboard: mean per explainer (rows) and metric (columns), per task.

    ``*`` marks a mean significantly better than the random control (Holm-corrected
    paired Wilcoxon); the full table is ``xai-bench export STORE --table summary``.
    """
    if summary.empty:
        print("no scores (see failures below)")
    else:
        arrows = {
            m: "↑" if hib else "↓"
            for m, hib in summary.groupby("metric")["higher_is_better"].first().items()
        }
        cells = summary.assign(
            cell=[
                f"{m:.3f}{'*' if sig else ' '}"
                for m, sig in zip(summary["mean"], summary["significant_vs_random"], strict=True)
            ]
        )
        for task, grp in cells.groupby("task", sort=True):
            table = grp.pivot(index="explainer", columns="metric", values="cell").fillna("")
            table.columns = [f"{c} {arrows.get(c, '')}" for c in table.columns]
            print(f"\n{task} (n={int(grp['n'].max())}; * = better than random, p < 0.05)")
            print(table.to_string())
    fails = results.failures
    bad = fails[fails["status"] != "skipped"]
    if len(bad):
        groups = bad.groupby(["task", "explainer", "metric", "status", "reason"], dropna=False)
        print(f"\n{len(bad)} job(s) failed:")
        for (task, explainer, metric, status, reason), grp in groups:
            where = f"{task} / {explainer}" + (f" / {metric}" if isinstance(metric, str) else "")
            print(f"  [{status}] {where} ({len(grp)} job(s)): {reason}")
    skipped = fails[fails["status"] == "skipped"]
    if len(skipped):
        print(f"\n{len(skipped)} incompatible pair(s) skipped, e.g.:")
        for reason in skipped["reason"].drop_duplicates().head(5):
            print(f"  {reason}")


def cmd_report(args: argparse.Namespace) -> int:
    results = _results(args.store, args.run, "report")
    return _write_report(results, args.output, args.interactive)


def _results(store: str, run: str | None, command: str) -> Any:
    """The stored run, or a StoreError saying what the file is and what is expected."""
    import sqlite3

    from .errors import StoreError
    from .runner.results import Results

    expected = (
        f"`xai-bench {command}` reads the SQLite results store that `xai-bench run` writes"
        " (runs/NAME.sqlite by default, or its --store path)"
    )
    path = Path(store)
    if path.is_file():
        with path.open("rb") as f:
            head = f.read(16)
        if head and head != b"SQLite format 3\x00":
            kind = "a text file" if _is_text(head) else "a binary file"
            raise StoreError(f"{store!r} is {kind}, not an SQLite database; {expected}.")
    try:
        return Results.load(store, run)
    except StoreError:
        raise
    except (sqlite3.DatabaseError, ValueError, LookupError, TypeError) as exc:
        raise StoreError(
            f"the results store {store!r} is damaged ({type(exc).__name__}: {exc}); {expected}."
            " Rerun `xai-bench run` into a new --store path."
        ) from None


def _is_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def cmd_list(args: argparse.Namespace) -> int:
    from . import registry

    if args.kind == "tasks":
        print("\n".join(registry.list_tasks()))
        return OK
    resolve = registry.explainer_class if args.kind == "explainers" else registry.metric_class
    rows, unavailable = [], {}
    for name in (
        registry.list_explainers() if args.kind == "explainers" else registry.list_metrics()
    ):
        reason = _missing_library(name, args.kind)
        if reason is None:
            try:
                rows.append((name, _describe_class(resolve(name))))
                continue
            except Exception as exc:  # a broken plugin: listed with its reason, not as valid
                reason = str(exc)
        unavailable[name] = reason
    width = max((len(n) for n, _ in rows), default=0)
    for name, what in rows:
        print(f"{name:<{width}}  {what}".rstrip())
    kind = args.kind.rstrip("s")
    unavailable.update(registry.unavailable(kind))
    if unavailable:
        print(f"\nunavailable {args.kind}:")
        for name, reason in sorted(unavailable.items()):
            print(f"  {name}: {reason}")
    refused = registry.refused(kind)
    if refused:
        print("\nrefused plugins (the built-in ids stay in use):")
        for name, reason in sorted(refused.items()):
            print(f"  {name}: {reason}")
    return OK


def _describe_class(cls: Any) -> str:
    """Modalities and requirements of an explainer class, or a metric's family and modalities."""
    caps = getattr(cls, "capabilities", None) or getattr(cls, "info", None)
    mods = ", ".join(sorted(m.value for m in getattr(caps, "modalities", ())))
    needs = ", ".join(sorted(r.value for r in getattr(caps, "requires", ())))
    family = getattr(getattr(cls, "info", None), "family", None)
    return (
        (f"{family:<13}  " if family else "")
        + f"{mods or '?'}"
        + (f"  (requires {needs})" if needs else "")
    )


def _missing_library(name: str, kind: str) -> str | None:
    """Why a built-in adapter cannot load, judged without importing its library."""
    lib = name.split(".")[0]
    if kind == "explainers" and lib in LIBRARIES and importlib.util.find_spec(lib) is None:
        return f"{lib} is not installed: pip install 'xai-bench[{lib}]'"
    return None


def cmd_validate(args: argparse.Namespace) -> int:
    # load_config checks every id and builds every explainer and metric from its params;
    # it never imports a task loader (that would run the config's code)
    config = _load(args)
    from .runner.store import check_report_path

    check_report_path(
        config.output or f"reports/{config.name}.html", config.store or f"runs/{config.name}.sqlite"
    )
    bench = config.benchmark(progress=False, load_tasks=False)
    explainers = bench.explainer_components()  # the random control added, labels unique
    metrics = bench.metric_components()
    grid = len(config.tasks) * len(explainers) * len(config.seeds)
    print(
        f"{args.config}: ok - {len(config.tasks)} task(s), {len(explainers)} explainer(s)"
        f" incl. the random control, {len(metrics)} metric(s), {config.n_samples} samples,"
        f" seeds {config.seeds}; {grid} task x explainer x seed cells"
    )
    return OK


def cmd_export(args: argparse.Namespace) -> int:
    from .errors import InvalidInputError

    out = Path(args.output)
    if out.suffix not in (".parquet", ".csv"):
        raise InvalidInputError(
            f"output {str(out)!r}",
            "a .parquet or .csv file name",
            "Name the output FILE.parquet or FILE.csv.",
        )
    results = _results(args.store, args.run, "export")
    frame = results.summary() if args.table == "summary" else getattr(results, args.table)
    if out.suffix == ".parquet":
        from ._deps import require

        require("pyarrow", "parquet")
        _written(out, lambda tmp: frame.to_parquet(tmp, index=False))
    else:
        from .reports.export import spreadsheet_safe

        _written(out, lambda tmp: spreadsheet_safe(frame).to_csv(tmp, index=False))
    print(f"{len(frame)} rows of {args.table} -> {out}")
    return OK


COMMANDS = {
    "run": cmd_run,
    "report": cmd_report,
    "list": cmd_list,
    "validate": cmd_validate,
    "export": cmd_export,
}

if __name__ == "__main__":
    sys.exit(main())
