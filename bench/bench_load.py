"""Reading a stored run back (``Results.load``): this tree against an older checkout.

    python bench/bench_load.py --old /path/to/old/checkout runs/default.sqlite [--repeats 3]

Loads the latest run of STORE with both trees' loaders in one process, interleaved,
checks that every table is identical (frames exactly, explanations bitwise), and prints
the best time of each and their ratio.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from pathlib import Path

import pandas as pd

from xai_bench.runner.results import Results
from xai_bench.runner.store import Store


def old_loader(tree: Path):
    spec = importlib.util.spec_from_file_location(
        "xai_bench.runner._old_load", tree / "xai_bench/runner/load.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load_results


def same(a: Results, b: Results) -> None:
    for name in ("scores", "curves", "explanations", "failures", "jobs"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert a.attributions.keys() == b.attributions.keys()
    for key, x in a.attributions.items():
        y = b.attributions[key]
        assert x.attributions.tobytes() == y.attributions.tobytes()
        assert x.targets.tobytes() == y.targets.tobytes() and x.meta == y.meta
    assert a.metric_info == b.metric_info and a.provenance == b.provenance


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--old", type=Path, required=True)
    p.add_argument("store")
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    load_old = old_loader(a.old)
    times: dict[str, list[float]] = {"old": [], "new": []}
    with Store(a.store) as db:
        run = db.runs()[-1]
        for _ in range(a.repeats):
            for name, fn in (("old", load_old), ("new", Results.load)):
                start = time.perf_counter()
                out = fn(db, run)
                times[name].append(time.perf_counter() - start)
                if name == "old":
                    ref = out
            same(ref, out)
    old, new = min(times["old"]), min(times["new"])
    print(f"{len(out.scores):,} scores, {len(out.curves):,} curve points: identical tables")
    print(
        f"Results.load best of {a.repeats}: old {old:.2f} s, new {new:.2f} s, new/old {new / old:.2f}"
    )


if __name__ == "__main__":
    main()
