"""Circuit evaluation: K circuit sizes x B examples, batched vs one circuit at a time.

    python bench/bench_components.py [--repeats 5] [--examples 64] [--sizes 21]

Torch and numpy on one thread; times are the best CPU time (``time.process_time``) of
interleaved rounds, so they hold up when other processes load the machine.

Workload: a random TinyTransformer (vocab 50, 16 positions, d_model 64, 4 layers x 8
heads, MLP 128: 37 node components), B examples, K circuits (top-k of a fixed ranking
on a uniform size grid), patching ablation. Three ways to get the (K, B) behaviours:
- ``limit``: plain forward passes (no hooks) over the K*B clean rows, in one batch or
  in the masker's chunks;
- ``batched``: ``AblationMasker.evaluate`` (counterfactual pass + K*B patched rows in
  chunks of whole circuits, at most ``chunk_rows`` rows);
- ``loop``: counterfactual pass once, then one patched pass of B rows per circuit, the
  way MIB and TransformerLens's ``faithfulness()`` score circuits.
"""

from __future__ import annotations

import argparse
import os
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from xai_bench.components import AblationMasker, ComponentTask, TinyTransformer  # noqa: E402


def build(n_examples: int, n_sizes: int) -> tuple[ComponentTask, np.ndarray]:
    torch.manual_seed(0)
    model = TinyTransformer(50, 16, d_model=64, n_layers=4, n_heads=8, d_head=8, d_mlp=128)
    rng = np.random.default_rng(0)
    task = ComponentTask(
        name="bench",
        model=model,
        clean=rng.integers(0, 50, (n_examples, 16)),
        counterfactual=rng.integers(0, 50, (n_examples, 16)),
        answers=rng.integers(0, 50, (n_examples, 2)),
    )
    n = len(task.space)
    order = rng.permutation(n)
    keep = np.zeros((n_sizes, n), dtype=bool)
    for row, k in enumerate(np.rint(np.linspace(0, n, n_sizes)).astype(int)):
        keep[row, order[:k]] = True
    return task, keep


def limit(task: ComponentTask, keep: np.ndarray, chunk: int) -> np.ndarray:
    """Plain forward passes (no hooks) over the K*B clean rows, ``chunk`` rows at a time."""
    tokens = task.clean.repeat(len(keep), 1)
    rows = torch.arange(len(tokens)) % task.n_examples
    out = []
    with torch.no_grad():
        for start in range(0, len(tokens), chunk):
            part = slice(start, start + chunk)
            out.append(task.score(task.model(tokens[part]), rows[part]))
    return torch.cat(out).reshape(len(keep), -1).numpy()


def loop(task: ComponentTask, keep: np.ndarray) -> np.ndarray:
    masker = AblationMasker("patching")
    values = masker.values(task)
    rows = torch.arange(task.n_examples)
    out = []
    with torch.no_grad():
        for circuit in torch.as_tensor(keep):
            logits = masker.forward(task, rows, circuit.expand(len(rows), -1), values)
            out.append(task.score(logits, rows).double().numpy())
    return np.stack(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--sizes", type=int, default=21)
    args = parser.parse_args()
    torch.set_num_threads(1)
    task, keep = build(args.examples, args.sizes)
    whole = (512 // task.n_examples) * task.n_examples  # the masker's chunk of whole circuits
    ways = {
        "limit, one batch": lambda: limit(task, keep, len(keep) * task.n_examples),
        f"limit, chunks of {whole}": lambda: limit(task, keep, whole),
        "batched, chunk_rows=4096 (one batch)": lambda: AblationMasker(chunk_rows=4096).evaluate(
            task, keep
        ),
        "batched, chunk_rows=512 (default)": lambda: AblationMasker(chunk_rows=512).evaluate(
            task, keep
        ),
        "loop, one circuit per pass": lambda: loop(task, keep),
    }
    batched = ways["batched, chunk_rows=512 (default)"]()
    np.testing.assert_allclose(ways["loop, one circuit per pass"](), batched, atol=1e-5)
    best = dict.fromkeys(ways, np.inf)
    for _ in range(args.repeats):
        for name, run in ways.items():
            t0 = time.process_time()
            run()
            best[name] = min(best[name], time.process_time() - t0)
    rows = len(keep) * task.n_examples
    print(
        f"{len(task.space)} components, K={len(keep)} circuits x B={task.n_examples} = {rows} rows"
    )
    floor = min(best[f"limit, chunks of {whole}"], best["limit, one batch"])
    print("| way | CPU s | / fastest limit |")
    print("|---|---|---|")
    for name, seconds in best.items():
        print(f"| {name} | {seconds:.4f} | {seconds / floor:.2f} |")


if __name__ == "__main__":
    main()
