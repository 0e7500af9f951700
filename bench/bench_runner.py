"""Runner benchmark: parallel throughput and overhead against a plain loop, in one run.

1. Throughput: the same explainer-bound grid with 1 and 2 local worker processes
   (``processes`` backend). Target: 2 workers >= 1.7x the jobs per second of 1.
2. Overhead: the Benchmark (1 worker, SQLite store, forked workers, Results) against
   calling the adapters and metrics directly in a loop over the same chunks.
   Target: <= 10% extra wall time. CPU seconds (this process and its workers) are
   printed too: they are robust to other processes loading a shared machine.

    python bench/bench_runner.py [--samples 96] [--chunk 4] [--n-evals 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="breast_cancer.mlp")
    ap.add_argument("--explainer", default="shap.kernel")
    ap.add_argument("--n-evals", type=int, default=2000, help="the explainer's n_samples")
    ap.add_argument("--samples", type=int, default=96)
    ap.add_argument("--chunk", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repetitions")
    args = ap.parse_args()

    import numpy as np
    import torch

    import xai_bench as xb

    torch.set_num_threads(1)
    task = xb.load_task(args.task)
    explainers = [(args.explainer, {"n_samples": args.n_evals}), ("random", {})]
    metrics = [("deletion_auc", {"steps": 10}), ("insertion_auc", {"steps": 10})]
    # warm up in this process: forked workers inherit the imported libraries
    xb.get_explainer(args.explainer, n_samples=args.n_evals).explain(task, task.X[:1])

    def bench(workers: int) -> xb.Benchmark:
        return xb.Benchmark(
            [args.task],
            explainers,
            metrics,
            n_samples=args.samples,
            chunk_size=args.chunk,
            workers=workers,
            progress=False,
        )

    def timed_run(workers: int) -> tuple[float, float, int]:
        """Wall seconds, CPU seconds (this process + its reaped workers), jobs."""
        cpu0 = _cpu()
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            res = bench(workers).run(store=f"{tmp}/s.sqlite", backend="processes")
            seconds = time.perf_counter() - start
        assert set(res.jobs["status"]) == {"ok"}, res.failures
        return seconds, _cpu() - cpu0, len(res.jobs)

    def direct_loop() -> tuple[float, float]:
        from xai_bench.runner.jobs import job_seed

        cpu0, start = _cpu(), time.perf_counter()
        X = np.asarray(task.X)[: args.samples]
        for name, params in explainers:
            for c, s in enumerate(range(0, len(X), args.chunk)):
                xc = X[s : s + args.chunk]
                expl = xb.get_explainer(name, **params, seed=job_seed(0, c)).explain(task, xc)
                for m, mp in metrics:
                    xb.get_metric(m, **mp).score(task, xc, expl)
        return time.perf_counter() - start, _cpu() - cpu0

    machine = machine_parallelism()
    sleep_1 = sleep_bound(xb, args.task, 1)
    sleep_2 = sleep_bound(xb, args.task, 2)
    rows = []
    for _ in range(args.repeats):  # interleaved, so load changes hit all three alike
        w1, c1, jobs = timed_run(1)
        w2, c2, _ = timed_run(2)
        wl, cl = direct_loop()
        rows.append((w1, c1, w2, c2, wl, cl))
    print(
        f"grid: {args.task} x {args.explainer}(n_samples={args.n_evals}) + random,"
        f" {args.samples} samples in chunks of {args.chunk}, 2 metrics: {jobs} jobs;"
        f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"machine check, 2 independent CPU-bound processes vs 1: {machine:.2f}x throughput"
        " (the ceiling for any 2-worker speed-up on this machine right now)"
    )
    print(
        f"dispatch check, sleep-bound jobs (no CPU needed): 1 worker {sleep_1:.2f} s,"
        f" 2 workers {sleep_2:.2f} s, speed-up {sleep_1 / sleep_2:.2f}x"
    )
    print("  wall s (cpu s):  1 worker        2 workers       direct loop")
    for w1, c1, w2, c2, wl, cl in rows:
        print(
            f"                  {w1:6.2f} ({c1:5.2f})  {w2:6.2f} ({c2:5.2f})  {wl:6.2f} ({cl:5.2f})"
        )
    w1, c1, w2, c2, wl, cl = (float(np.median([r[i] for r in rows])) for i in range(6))
    # cores obtained = CPU seconds per wall second; on a shared machine it can stay < 2
    print(
        f"speed-up 2 vs 1 workers (median wall): {w1 / w2:.2f}x  (target >= 1.7x);"
        f" cores obtained {c1 / w1:.2f} with 1 worker, {c2 / w2:.2f} with 2"
    )
    print(
        f"runner overhead vs direct loop (median): wall {100 * (w1 / wl - 1):+.1f}%,"
        f" CPU {100 * (c1 / cl - 1):+.1f}%  (target <= 10%)"
    )


def machine_parallelism() -> float:
    """Throughput of two concurrent pure-Python CPU loops relative to one."""
    import subprocess
    import sys

    code = "x = 0\nfor i in range(15_000_000): x += i"

    def wall(n: int) -> float:
        start = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(n)]
        for p in procs:
            p.wait()
        return time.perf_counter() - start

    return 2 * wall(1) / wall(2)


def sleep_bound(xb, task: str, workers: int, jobs: int = 16, seconds: float = 0.25) -> float:
    """Wall time of ``jobs`` explain jobs that only sleep: shows the dispatch is parallel
    even when the machine's cores are busy with other work."""
    import numpy as np

    from xai_bench.explainer import BaseExplainer, Capabilities
    from xai_bench.task import Modality

    class Sleep(BaseExplainer):
        name = "bench.sleep"
        capabilities = Capabilities(modalities=frozenset({Modality.TABULAR}))

        def __init__(self, seconds: float = seconds) -> None:
            self.seconds = seconds

        def _attribute(self, task, X, targets, scorer):
            time.sleep(self.seconds)
            return np.zeros(X.shape)

    xb.register_explainer(Sleep, overwrite=True)
    bench = xb.Benchmark(
        [task],
        ["bench.sleep"],
        [("deletion_auc", {"steps": 2})],
        n_samples=jobs,
        chunk_size=1,
        workers=workers,
        progress=False,
    )
    start = time.perf_counter()
    bench.run(backend="processes")
    return time.perf_counter() - start


def _cpu() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    main()
