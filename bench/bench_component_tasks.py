"""Built-in component tasks: training time, accuracy, and how well each explainer finds
the planted circuit (precision@|truth| over the task's space: nodes, or neurons).

    python bench/bench_component_tasks.py [--examples 64] [--cache DIR]

Torch on one thread. Training time is CPU time (``time.process_time``) of the first
build into ``--cache`` (an empty folder trains every model; default: a fresh temporary
one), so it holds up when other processes load the machine. Precision is per example,
averaged; "mean" ranks by the attribution averaged over the examples. EAP is scored at
node level by summing each writer's |edge attributions|; a method that does not apply to a
task (edges between neurons) is left out of its table.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from xai_bench.components import (  # noqa: E402
    ActivationIG,
    ActivationNorm,
    ActivationPatching,
    AttributionPatching,
    AttributionPatchingStar,
    EdgeAttributionPatching,
    EdgeAttributionPatchingIG,
    GradDrop,
    RandomComponents,
    precision_at_truth,
)
from xai_bench.components.tasks import BUILDERS  # noqa: E402
from xai_bench.components.tasks._train import accuracy  # noqa: E402
from xai_bench.errors import IncompatibleError, InvalidInputError  # noqa: E402
from xai_bench.explanation import Explanation  # noqa: E402

EXPLAINERS = {
    "patching (noising)": ActivationPatching(),
    "patching (denoising)": ActivationPatching("denoising"),
    "patching (mean abl.)": ActivationPatching(ablation="mean"),
    "AtP (noising)": AttributionPatching(),
    "AtP (denoising)": AttributionPatching("denoising"),
    "AtP* (QK fix)": AttributionPatchingStar(),
    "GradDrop": GradDrop(),
    "ActivationIG (8 steps)": ActivationIG(steps=8),
    "EAP (edges -> writers)": EdgeAttributionPatching(),
    "EAP-IG (5 steps, edges)": EdgeAttributionPatchingIG(),
    "ActivationNorm": ActivationNorm(),
    "RandomComponents": RandomComponents(0),
}


def node_scores(task, explanation):  # type: ignore[no-untyped-def]
    """Attributions over the node space; edge ones summed in |.| per writer."""
    if explanation.meta["granularity"] != "edge":
        return explanation.attributions
    writers = [name.split("->")[0] for name in explanation.meta["components"]]
    out = np.zeros((explanation.attributions.shape[0], len(task.space)))
    for e, writer in enumerate(writers):
        out[:, task.space.names.index(writer)] += np.abs(explanation.attributions[:, e])
    return out


def precision(task, scores):  # type: ignore[no-untyped-def]
    def of(a):  # type: ignore[no-untyped-def]
        expl = Explanation(attributions=a, targets=np.zeros(len(a), int), explainer="x")
        return float(precision_at_truth(task, expl).scores.mean())

    return of(scores), of(scores.mean(axis=0, keepdims=True))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--cache", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.environ["XAI_BENCH_CACHE"] = args.cache or tempfile.mkdtemp(prefix="xai-bench-cache-")
    tasks = {}
    for name, build in BUILDERS.items():
        start = time.process_time()
        tasks[name] = task = build(n_examples=args.examples)
        seconds = time.process_time() - start
        acc = accuracy(task.model, task.clean, task.answers[:, 0])
        print(f"{name:18s} build {seconds:5.1f} s CPU  accuracy (argmax = answer) {acc:.3f}")
    for name, task in tasks.items():
        if task.ground_truth is None:
            continue
        print(f"\n{name}: truth {task.ground_truth} of {len(task.space)} components")
        for label, explainer in EXPLAINERS.items():
            try:
                scores = node_scores(task, explainer.explain(task))
            except (InvalidInputError, IncompatibleError):  # e.g. no edges between neurons
                continue
            per_example, mean = precision(task, scores)
            print(f"  {label:24s} precision@|truth| {per_example:.3f}  (mean ranking {mean:.2f})")


if __name__ == "__main__":
    main()
