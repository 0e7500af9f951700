"""Adapter overhead of captum.integrated_gradients: xai-bench vs calling Captum directly.

Both sides compute the same attributions (softmax-wrapped model, task removal-value
baseline, predicted-class targets, n_steps=64, Gauss-Legendre, convergence delta) on
the same inputs. Each repeat times Captum then xai-bench back to back; the printed ratio
is the median over 21 repeats of that pair's ratio (robust to load from other processes
on a shared machine), with the medians of the raw times. Target: <= 1.05x.

    /work/venv/bin/python bench/bench_captum_overhead.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch
from captum.attr import IntegratedGradients
from torch import nn

import xai_bench as xb

torch.set_num_threads(1)
REPEATS = 21


def direct(task: xb.Task, X: np.ndarray, targets: np.ndarray) -> np.ndarray:
    model = nn.Sequential(task.model, nn.Softmax(dim=-1)).eval()
    x = torch.tensor(X, dtype=torch.float32)
    base = torch.tensor(np.broadcast_to(task.removal_value(), X.shape).copy(), dtype=torch.float32)
    attr, _ = IntegratedGradients(model).attribute(
        x, base, target=torch.tensor(targets), n_steps=64, method="gausslegendre",
        return_convergence_delta=True,
    )  # fmt: skip
    return attr.detach().double().numpy()


def main() -> None:
    explainer = xb.get_explainer("captum.integrated_gradients")
    print(f"{'task':<20}{'n':>5}{'captum s':>11}{'xai-bench s':>13}{'ratio':>8}")
    for name, n in (("breast_cancer.mlp", 128), ("digits.cnn", 128)):
        task = xb.load_task(name)
        X = np.asarray(task.X[:n])
        targets = task.predicted(X)
        ours = explainer.explain(task, X)
        np.testing.assert_allclose(ours.attributions, direct(task, X, targets), atol=1e-6)
        t_direct, t_ours = [], []
        for _ in range(REPEATS):  # interleaved, so drift hits both sides alike
            start = time.perf_counter()
            direct(task, X, task.predicted(X))  # direct users also need the predicted class
            t_direct.append(time.perf_counter() - start)
            start = time.perf_counter()
            explainer.explain(task, X)
            t_ours.append(time.perf_counter() - start)
        a, b = statistics.median(t_direct), statistics.median(t_ours)
        ratio = statistics.median(o / d for o, d in zip(t_ours, t_direct, strict=True))
        print(f"{name:<20}{n:>5}{a:>11.4f}{b:>13.4f}{ratio:>8.3f}")


if __name__ == "__main__":
    main()
