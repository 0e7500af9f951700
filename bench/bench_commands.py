"""Everyday commands timed as whole processes, two source trees interleaved (A B A B ...).

    python bench/bench_commands.py --old /path/to/old/checkout [--rounds 3] [--no-suite] [--quick]

Per round and tree, in a fresh directory: ``xai-bench run`` (the default suite, model
cache warm), the same command again (resuming a completed run), ``xai-bench report`` on
that store, and ``xai-bench validate`` on a YAML syntax error. ``--quick`` runs the
default suite's quick grid (``run --quick``) instead. Wall and CPU seconds
(user + system of the command's processes) per command; the ratio new / old is taken
round by round, so that a machine shared with other work still gives comparable numbers.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NEW = Path(__file__).resolve().parents[1]
BAD_YAML = "name: broken\ntasks: [breast_cancer.mlp\n  explainers: x\n"


def timed(tree: Path, args: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall s, CPU s and output of ``python -m xai_bench.cli ARGS`` with ``tree`` first."""
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "xai_bench.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout + proc.stderr


def one_round(tree: Path, suite: bool, quick: bool = False) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="xai-bench-cmd-") as tmp:
        cwd = Path(tmp)
        (cwd / "bad.yaml").write_text(BAD_YAML)
        if suite:
            run = ["run", "--quick"] if quick else ["run"]
            wall, cpu, text = timed(tree, run, cwd)
            out["run (default suite)"] = (wall, cpu)
            for stage, secs in re.findall(r"\] (explain|score): .* in ([\d.]+) s", text):
                out[f"  {stage} stage"] = (float(secs), float("nan"))
            out["run again (resume, all done)"] = timed(tree, run, cwd)[:2]
            out["report (default store)"] = timed(
                tree, ["report", "runs/default.sqlite", "-o", "r.html"], cwd
            )[:2]
        out["validate (YAML syntax error)"] = timed(tree, ["validate", "bad.yaml"], cwd)[:2]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--old", type=Path, required=True, help="checkout to compare against")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--no-suite", action="store_true", help="validate only (seconds, not minutes)")
    p.add_argument("--quick", action="store_true", help="the quick grid (run --quick)")
    a = p.parse_args()
    rows: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for r in range(a.rounds):
        for name, tree in (("old", a.old), ("new", NEW)):
            for cmd, value in one_round(tree, not a.no_suite, a.quick).items():
                rows.setdefault(cmd, {"old": [], "new": []})[name].append(value)
        print(f"round {r + 1}/{a.rounds} done, load average {os.getloadavg()[0]:.1f}", flush=True)
    print(
        "\n| command | old wall s | new wall s | new/old wall | old cpu s | new cpu s | new/old cpu |"
    )
    print("|---|---|---|---|---|---|---|")
    for cmd, v in rows.items():
        old_w, new_w = [x[0] for x in v["old"]], [x[0] for x in v["new"]]
        old_c, new_c = [x[1] for x in v["old"]], [x[1] for x in v["new"]]
        ratio_w = statistics.median(n / o for n, o in zip(new_w, old_w, strict=True))
        ratio_c = statistics.median(n / o for n, o in zip(new_c, old_c, strict=True))
        print(
            f"| {cmd} | {statistics.median(old_w):.2f} | {statistics.median(new_w):.2f} |"
            f" {ratio_w:.2f} | {statistics.median(old_c):.2f} | {statistics.median(new_c):.2f} |"
            f" {ratio_c:.2f} |"
        )


if __name__ == "__main__":
    main()
