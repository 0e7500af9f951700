"""Score stage with and without batching, interleaved in one process.

    python bench/bench_score_batch.py [--samples 256] [--chunk 8] [--repeats 3]

The default suite's four cheap metrics (deletion, insertion, comprehensiveness,
sufficiency: 2-4 ms per job) on one task (default ``synthetic.linear``) with the
``random`` control and ``captum.input_x_gradient``, 2 workers, ``processes`` backend.
Each round runs the same grid with score batches (``SCORE_BATCH`` = 16) and with one
job per worker call (``SCORE_BATCH`` = 1); the score stage's wall seconds are printed
with their ratio (CPU is not: the pooled workers are reaped after the stage), and the
scores of the two runs are checked to be bitwise equal.
"""

from __future__ import annotations

import argparse
import statistics
import time

import pandas as pd

import xai_bench as xb
from xai_bench.runner import benchmark

METRICS = [
    ("deletion_auc", {"steps": 10}),
    ("insertion_auc", {"steps": 10}),
    "comprehensiveness",
    "sufficiency",
]


def score_stage(task: str, batch: int, samples: int, chunk: int) -> tuple[float, pd.DataFrame]:
    """Wall seconds of the score stage alone, and the scores."""
    benchmark.SCORE_BATCH = batch
    bench = xb.Benchmark(
        [task],
        ["random", "captum.input_x_gradient"],
        METRICS,
        n_samples=samples,
        chunk_size=chunk,
        workers=2,
        progress=False,
    )
    stage = benchmark.Benchmark._score
    spent: dict[str, float] = {}

    def timed(self, *args, **kwargs):
        start = time.perf_counter()
        stage(self, *args, **kwargs)
        spent["wall"] = time.perf_counter() - start

    benchmark.Benchmark._score = timed
    try:
        res = bench.run(None, backend="processes")
    finally:
        benchmark.Benchmark._score = stage
    return spent["wall"], res.scores


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="synthetic.linear")
    p.add_argument("--samples", type=int, default=256)
    p.add_argument("--chunk", type=int, default=8)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    rows: dict[int, list[float]] = {16: [], 1: []}
    for _ in range(a.repeats):
        scores = {}
        for batch in (16, 1):
            wall, scores[batch] = score_stage(a.task, batch, a.samples, a.chunk)
            rows[batch].append(wall)
        pd.testing.assert_frame_equal(scores[16], scores[1], check_exact=True)
    n_jobs = len(scores[1]) // a.chunk  # whole chunks
    print(f"{a.task}: ~{n_jobs} score jobs, 2 workers; scores bitwise equal in every round")
    for batch, walls in rows.items():
        print(
            f"SCORE_BATCH={batch:2d}: wall {statistics.median(walls):.2f} s"
            f" ({1000 * statistics.median(walls) / n_jobs:.2f} ms/job)"
        )
    ratio = statistics.median(b / s for b, s in zip(rows[16], rows[1], strict=True))
    print(f"batched / single (median of rounds): wall {ratio:.2f}")


if __name__ == "__main__":
    main()
