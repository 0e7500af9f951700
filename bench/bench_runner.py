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

    def timed_run(workers: int) -> tuple[float, int]:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            res = bench(workers).run(store=f"{tmp}/s.sqlite", backend="processes")
            seconds = time.perf_counter() - start
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

    t1, jobs = timed_run(1)
    t2, _ = timed_run(2)
    loop = direct_loop()
    print(
        f"grid: {args.task} x {args.explainer}(n_samples={args.n_evals}) + random,"
        f" {args.samples} samples in chunks of {args.chunk}, 2 metrics: {jobs} jobs"
    )
    print(f"1 worker : {t1:7.2f} s  ({jobs / t1:.2f} jobs/s)")
    print(
        f"2 workers: {t2:7.2f} s  ({jobs / t2:.2f} jobs/s)   speed-up {t1 / t2:.2f}x"
        f"  (target >= 1.7x)"
    )
    print(
        f"direct loop over the adapters: {loop:7.2f} s; runner with 1 worker {t1:.2f} s"
        f"  overhead {100 * (t1 / loop - 1):+.1f}%  (target <= 10%)"
    )


if __name__ == "__main__":
    main()
