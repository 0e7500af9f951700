"""Runner benchmark: parallel throughput and overhead against a plain loop, in one run.

1. Throughput: the same explainer-bound grid with 1 and 2 local worker processes
   (``processes`` backend). Target: 2 workers >= 1.7x the jobs per second of 1.
2. Overhead: the Benchmark (1 worker, SQLite store, forked workers, Results) against
   calling the adapters and metrics directly in a loop over the same chunks.
   Target: <= 10% extra wall time.

    python bench/bench_runner.py [--samples 48] [--chunk 4] [--explainer shap.kernel]
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
    ap.add_argument("--n-evals", type=int, default=400, help="the explainer's n_samples")
    ap.add_argument("--samples", type=int, default=48)
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

    cores: dict[int, list[float]] = {1: [], 2: []}

    def timed_run(workers: int) -> tuple[float, int]:
        cpu0 = _cpu()
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            res = bench(workers).run(store=f"{tmp}/s.sqlite", backend="processes")
            seconds = time.perf_counter() - start
        # CPU seconds of this process and its reaped workers per wall second: how many
        # cores the run actually got (the machine is shared, so this can be < workers)
        cores[workers].append((_cpu() - cpu0) / seconds)
        assert set(res.jobs["status"]) == {"ok"}, res.failures
        return seconds, len(res.jobs)

    def direct_loop() -> float:
        from xai_bench.runner.jobs import job_seed

        start = time.perf_counter()
        X = np.asarray(task.X)[: args.samples]
        for name, params in explainers:
            for c, s in enumerate(range(0, len(X), args.chunk)):
                xc = X[s : s + args.chunk]
                expl = xb.get_explainer(name, **params, seed=job_seed(0, c)).explain(task, xc)
                for m, mp in metrics:
                    xb.get_metric(m, **mp).score(task, xc, expl)
        return time.perf_counter() - start

    reps = []
    for _ in range(args.repeats):  # interleaved, so load changes hit all three alike
        t1, jobs = timed_run(1)
        t2, _ = timed_run(2)
        reps.append((t1, t2, direct_loop()))
    print(
        f"grid: {args.task} x {args.explainer}(n_samples={args.n_evals}) + random,"
        f" {args.samples} samples in chunks of {args.chunk}, 2 metrics: {jobs} jobs;"
        f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    for t1, t2, loop in reps:
        print(f"  1 worker {t1:6.2f} s | 2 workers {t2:6.2f} s | direct loop {loop:6.2f} s")
    t1, t2, loop = (float(np.median([r[i] for r in reps])) for i in range(3))
    print(
        f"speed-up 2 vs 1 workers (median): {t1 / t2:.2f}x  (target >= 1.7x);"
        f" cores obtained: {np.median(cores[1]):.2f} with 1 worker,"
        f" {np.median(cores[2]):.2f} with 2"
    )
    print(
        f"runner overhead vs direct loop (median): {100 * (t1 / loop - 1):+.1f}%  (target <= 10%)"
    )


def _cpu() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    main()
