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


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # the runner shows its own progress; silence the libraries' per-call tqdm bars
    # (tqdm reads this when it is first imported, which happens after this line)
    os.environ.setdefault("TQDM_DISABLE", "1")
    try:
        return int(COMMANDS[args.command](args) or 0)
    except XaiBenchError as exc:
        print(f"xai-bench: error: {exc}", file=sys.stderr)
        return 2
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
    bench = config.benchmark()
    if args.workers:
        bench.workers = args.workers
    if args.memory_limit:
        from .runner.memory import parse_size

        bench.memory_limit = parse_size(args.memory_limit, "--memory-limit")
    results = bench.run(
        store=store,
        backend=args.backend or config.backend,
        address=args.address or config.address,
        resume=args.resume,
        run_id=args.run_id,
        retry_failed=args.retry_failed,
    )
    summary = results.summary()  # once: printed here, shown in the report
    _print_summary(results, summary)
    print(f"results store: {store} (run {results.provenance['run_id']})")
    return _write_report(results, output, args.interactive, summary)


def _write_report(results: Any, output: str, interactive: bool, summary: Any = None) -> int:
    try:
        path = results.to_html(output, interactive=interactive, summary=summary)
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
    from .runner.results import Results

    results = Results.load(args.store, args.run)
    return _write_report(results, args.output, args.interactive)


def cmd_list(args: argparse.Namespace) -> int:
    from . import registry

    names = {
        "explainers": registry.list_explainers,
        "metrics": registry.list_metrics,
        "tasks": registry.list_tasks,
    }[args.kind]()
    broken = registry.unavailable()
    for name in names:
        reason = broken.get(name) or _missing_library(name, args.kind)
        print(f"{name}  (unavailable: {reason})" if reason else name)
    for name, reason in sorted(broken.items()):
        if name not in names:
            print(f"{name}  (unavailable: {reason})")
    return 0


def _missing_library(name: str, kind: str) -> str | None:
    """Why a built-in adapter cannot load, judged without importing its library."""
    lib = name.split(".")[0]
    if kind == "explainers" and lib in LIBRARIES and importlib.util.find_spec(lib) is None:
        return f"{lib} is not installed: pip install 'xai-bench[{lib}]'"
    return None


def cmd_validate(args: argparse.Namespace) -> int:
    config = _load(args)
    bench = config.benchmark(progress=False)
    try:  # resolving classes also checks params against their signatures
        explainers = bench.explainer_components()
        metrics = bench.metric_components()
        for comp in [*explainers, *metrics]:
            comp.build(None)
    except XaiBenchError:
        raise
    grid = len(config.tasks) * len(explainers) * len(config.seeds)
    print(
        f"{args.config}: ok - {len(config.tasks)} task(s), {len(explainers)} explainer(s)"
        f" incl. the random control, {len(metrics)} metric(s), {config.n_samples} samples,"
        f" seeds {config.seeds}; {grid} task x explainer x seed cells"
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .runner.results import Results

    results = Results.load(args.store, args.run)
    frame = results.summary() if args.table == "summary" else getattr(results, args.table)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        from ._deps import require

        require("pyarrow", "parquet")
        frame.to_parquet(out, index=False)
    elif out.suffix == ".csv":
        frame.to_csv(out, index=False)
    else:
        from .errors import InvalidInputError

        raise InvalidInputError(
            f"output {str(out)!r}",
            "a .parquet or .csv file name",
            "Name the output FILE.parquet or FILE.csv.",
        )
    print(f"{len(frame)} rows of {args.table} -> {out}")
    return 0


COMMANDS = {
    "run": cmd_run,
    "report": cmd_report,
    "list": cmd_list,
    "validate": cmd_validate,
    "export": cmd_export,
}

if __name__ == "__main__":
    sys.exit(main())
