"""Component explainers' cost, Captum direct vs wrapped, and batched circuit evaluation.

    python bench/bench_components.py [--part all|explainers|captum|circuits] [--repeats 5]
        [--examples 64] [--sizes 21] [--budget 4]

Torch and numpy on one thread; times are the best CPU time (``time.process_time``) of
interleaved rounds, so they hold up when other processes load the machine.

Tasks: ``planted`` (the hand-set first-token model: 3 layers x 4 heads, attention only,
13 nodes, 193 edges) and ``random`` (a random TinyTransformer, vocab 50, 16 positions,
d_model 64, 4 layers x 8 heads, MLP 128: 37 nodes, 1519 edges, 128 neurons in m0).

``explainers``: every component explainer, run on B examples. The bench counts passes
itself: a forward pre-hook on the model adds each call's rows, and a hook on the
logits' gradient adds each backward's rows; both / B are pass equivalents, checked
against what the explainer writes in meta. "t / fwd" is the CPU time in units of one
plain forward pass over the B examples (no hooks, no gradient) timed in the same run;
"/ exact" is the time relative to exact activation patching at the same granularity.
"t / fwd / bound" divides the time equivalents by the bound (the bound in wall terms).
Bounds of issue 14: AtP over all heads <= 3 passes (counted forward + backward; the
bench applies it to AtP, AtP* and EAP, which run the same passes), EAP-IG with s
steps <= s + 2 (counted forward passes; each step also runs one backward).

``captum``: the Captum layer methods called directly on the explainer's own forward
function (input embeddings -> behaviour) and baselines, one call per site, against the
same through the xai-bench explainer; the script checks both give the same scores.

``circuits``: K circuit sizes x B examples, batched vs one circuit at a time (patching
ablation, random model). Three ways to get the (K, B) behaviours:
- ``limit``: plain forward passes (no hooks) over the K*B clean rows, in one batch or
  in the masker's chunks;
- ``batched``: ``AblationMasker.evaluate`` (counterfactual pass + K*B patched rows in
  chunks of whole circuits, at most ``chunk_rows`` rows);
- ``loop``: counterfactual pass once, then one patched pass of B rows per circuit, the
  way MIB and TransformerLens's ``faithfulness()`` score circuits.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from xai_bench.components import (  # noqa: E402
    ACDC,
    AblationMasker,
    ActivationIG,
    ActivationNorm,
    ActivationPatching,
    AttentionHeuristic,
    AttributionPatching,
    AttributionPatchingStar,
    CaptumInternalInfluence,
    CaptumLayerActivation,
    CaptumLayerConductance,
    CaptumLayerFeatureAblation,
    CausalTracing,
    ComponentTask,
    EdgeAttributionPatching,
    EdgeAttributionPatchingIG,
    GradDrop,
    LinearProbe,
    RandomComponents,
    SparseProbe,
    TinyTransformer,
    captum_layer,  # noqa: E402
    edge_space,
    planted_task,
)
from xai_bench.components.space import per_component  # noqa: E402
from xai_bench.errors import IncompatibleError, InvalidInputError  # noqa: E402


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


# ---------------------------------------------------------------- pass counting


@dataclass
class Count:
    """Rows run forward and rows a backward pass reached the logits with, since start."""

    forward: int = 0
    backward: int = 0


@contextlib.contextmanager
def counted(model: torch.nn.Module) -> Iterator[Count]:
    """Count rows of every forward call (pre-hook) and of every gradient at the logits."""
    count = Count()

    def before(_module: Any, args: tuple[Any, ...]) -> None:
        count.forward += int(args[0].shape[0])

    def after(_module: Any, _args: Any, output: torch.Tensor) -> None:
        if output.requires_grad:

            def grad(g: torch.Tensor) -> None:
                count.backward += int(g.shape[0])

            output.register_hook(grad)

    handles = [model.register_forward_pre_hook(before), model.register_forward_hook(after)]
    try:
        yield count
    finally:
        for h in handles:
            h.remove()


def claimed(meta: dict[str, Any], n_examples: int) -> tuple[float | None, str]:
    """The forward passes (in B-row equivalents) an explainer's meta claims, and its key.

    Explainers built on ``_passes.count_passes`` write rows / B in ``passes``; ACDC,
    tracing, probes and the attention heuristic write forward calls in ``passes`` and
    rows in ``forward_rows``; exact patching writes ``forward_rows`` only.
    """
    if "forward_rows" in meta:
        return meta["forward_rows"] / n_examples, "forward_rows/B"
    if "passes" in meta:
        return float(meta["passes"]), "passes"
    if "forward_passes" in meta:
        return float(meta["forward_passes"]), "forward_passes"
    return None, "-"


# ---------------------------------------------------------------- tasks and explainers


def tasks(n_examples: int) -> dict[str, ComponentTask]:
    return {"planted": planted_task(n_examples), "random": build(n_examples, 2)[0]}


@dataclass
class Spec:
    """One explainer run: table label, granularity, how to run it, its bound (if any)."""

    label: str
    granularity: str  # "node", "edge" or "neuron": which exact patching it is compared to
    run: Callable[[ComponentTask], Any]
    bound: tuple[str, float] | None = None  # ("fwd+bwd" | "fwd", the limit)


def specs(task: ComponentTask) -> list[Spec]:
    """Every component explainer on ``task`` (probes only where the model has MLPs)."""
    out = [
        Spec("ActivationPatching node (exact)", "node", ActivationPatching().explain),
        Spec("AtP noising", "node", AttributionPatching().explain, ("fwd+bwd", 3)),
        Spec("AtP denoising", "node", AttributionPatching("denoising").explain, ("fwd+bwd", 3)),
        Spec("AtP* node (QK fix)", "node", AttributionPatchingStar().explain, ("fwd+bwd", 3)),
        Spec("GradDrop", "node", GradDrop().explain),
        Spec("ActivationIG (16 steps)", "node", ActivationIG().explain),
        Spec("CaptumLayerConductance (32)", "node", CaptumLayerConductance().explain),
        Spec("CaptumInternalInfluence (32)", "node", CaptumInternalInfluence().explain),
        Spec("CaptumLayerActivation", "node", CaptumLayerActivation().explain),
        Spec("CaptumLayerFeatureAblation", "node", CaptumLayerFeatureAblation().explain),
        Spec("CausalTracing", "node", CausalTracing().explain),
        Spec("ActivationNorm", "node", ActivationNorm().explain),
        Spec("AttentionHeuristic", "node", AttentionHeuristic().explain),
        Spec("RandomComponents", "node", RandomComponents().explain),
        Spec(
            "ActivationPatching edge (exact)",
            "edge",
            ActivationPatching(granularity="edge").explain,
        ),
        Spec("EAP", "edge", EdgeAttributionPatching().explain, ("fwd+bwd", 3)),
        Spec(
            "AtP* edge (QK fix)",
            "edge",
            AttributionPatchingStar(granularity="edge").explain,
            ("fwd+bwd", 3),
        ),
    ]
    for variant in ("inputs", "activations"):
        for steps in (1, 5, 10):
            explainer = EdgeAttributionPatchingIG(steps, variant)
            out.append(
                Spec(f"EAP-IG {variant} s={steps}", "edge", explainer.explain, ("fwd", steps + 2))
            )
    out.append(Spec("ACDC (tau 0.01, KL)", "edge", ACDC().explain))  # max_edges 200
    if task.model.d_mlp:
        neurons = task.neurons(0)
        out += [
            Spec("ActivationPatching m0 neurons (exact)", "neuron",
                 lambda _t: ActivationPatching().explain(neurons)),
            Spec("LinearProbe m0", "neuron", lambda _t: LinearProbe(0).explain(neurons)),
            Spec("SparseProbe m0 (k=8)", "neuron",
                 lambda _t: SparseProbe(8, layer=0).explain(neurons)),
        ]  # fmt: skip
    return out


def best_times(
    runs: dict[str, Callable[[], Any]],
    repeats: int,
    budget: float,
    first: dict[str, float] | None = None,
) -> dict[str, float]:
    """Best CPU time of each run over interleaved rounds; a run stops repeating once its
    total passes ``budget`` seconds (the slow ones run once). ``first``: times of a run
    already made (the counting run), which count as one round."""
    best = {name: (first or {}).get(name, np.inf) for name in runs}
    spent = {name: (first or {}).get(name, 0.0) for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            if spent[name] >= budget:
                continue
            t0 = time.process_time()
            run()
            seconds = time.process_time() - t0
            best[name], spent[name] = min(best[name], seconds), spent[name] + seconds
    return best


def plain_forward(task: ComponentTask) -> Callable[[], Any]:
    def run() -> Any:
        with torch.no_grad():
            return task.model(task.clean)

    return run


def explainers(tasks_: dict[str, ComponentTask], repeats: int, budget: float) -> None:
    for task_name, task in tasks_.items():
        n = task.n_examples
        counts, metas, runs, refused, first = {}, {}, {}, {}, {}
        for spec in specs(task):
            try:
                t0 = time.process_time()
                with counted(task.model) as count:
                    explanation = spec.run(task)  # the first run counts (and is timed)
                first[spec.label] = time.process_time() - t0
            except (IncompatibleError, InvalidInputError) as error:  # ACDC over max_edges
                refused[spec.label] = str(error).split(" (")[0]
                continue
            counts[spec.label], metas[spec.label] = count, explanation.meta
            runs[spec.label] = lambda spec=spec, task=task: spec.run(task)
        runs["(one plain forward pass, B rows)"] = plain_forward(task)
        best = best_times(runs, repeats, budget, first)
        unit = best.pop("(one plain forward pass, B rows)")
        exact = {s.granularity: best[s.label] for s in specs(task) if s.label.endswith("(exact)")}
        print(
            f"\n### {task_name}: {len(task.space)} nodes, {len(edge_space(task))} edges, "
            f"B={n}; one plain forward pass = {unit * 1e3:.2f} ms CPU\n"
        )
        print("| explainer | CPU s | t / fwd | / exact | fwd | bwd | meta fwd (key) "
              "| meta bwd | bound | counted / bound | met | t / fwd / bound |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for spec in specs(task):
            if spec.label in refused:
                print(f"| {spec.label} | refused: {refused[spec.label]} |" + " |" * 10)
                continue
            label, count, meta = spec.label, counts[spec.label], metas[spec.label]
            fwd, bwd = count.forward / n, count.backward / n
            claim, key = claimed(meta, n)
            agree = "" if claim is None else ("" if abs(claim - fwd) < 1e-9 else " **differs**")
            claim_text = "-" if claim is None else f"{claim:g} ({key}){agree}"
            meta_bwd = meta.get("backward_passes", "-")
            bound_text = ratio_text = met = timed = "-"
            if spec.bound is not None:
                basis, limit = spec.bound
                used = fwd + bwd if basis == "fwd+bwd" else fwd
                bound_text = f"{basis} <= {limit:g}"
                ratio_text = f"{used / limit:.2f}"
                met = "yes" if used <= limit + 1e-9 else "**no**"
                timed = f"{best[label] / unit / limit:.2f}"
            print(
                f"| {label} | {best[label]:.4f} | {best[label] / unit:.1f} "
                f"| {best[label] / exact[spec.granularity]:.3g} | {fwd:g} | {bwd:g} "
                f"| {claim_text} | {meta_bwd} | {bound_text} | {ratio_text} | {met} | {timed} |"
            )


# ---------------------------------------------------------------- Captum direct vs wrapped


def captum_direct(task: ComponentTask, method: str) -> torch.Tensor:
    """(B, F) scores from Captum called directly: the explainer's forward function,
    inputs and baselines, one Captum call per site, summed per component by hand."""
    from captum.attr import (
        InternalInfluence,
        LayerActivation,
        LayerConductance,
        LayerFeatureAblation,
    )

    masker = AblationMasker()
    emb, clean = captum_layer._embeddings(task)
    values = masker.values(task)
    baselines = captum_layer._emb_values(task, masker, values, emb)
    forward, rows = captum_layer._forward(task), (torch.arange(task.n_examples),)
    sites = task.space.sites
    if method == "activation":
        acts = LayerActivation(forward, [s.hook for s in sites]).attribute(
            emb, additional_forward_args=rows
        )
        squares = [(a.detach() - v) ** 2 for a, v in zip(acts, values, strict=True)]
        return torch.sqrt(per_component(task.space, squares))
    parts = []
    for site, c, v in zip(sites, clean, values, strict=True):
        if method == "conductance":
            parts.append(LayerConductance(forward, site.hook).attribute(
                emb, baselines, additional_forward_args=rows, n_steps=32,
                method="riemann_trapezoid").detach())  # fmt: skip
        elif method == "influence":
            influence = InternalInfluence(forward, site.hook).attribute(
                emb, baselines, additional_forward_args=rows, n_steps=32,
                method="gausslegendre")  # fmt: skip
            parts.append((c - v) * influence.detach())
        else:  # feature ablation: each element holds its group's effect; mean per group
            mask = captum_layer._group_mask(site, c)
            attr = LayerFeatureAblation(forward, site.hook).attribute(
                emb, layer_baselines=v, additional_forward_args=rows, layer_mask=mask
            )
            parts.append(attr.detach() / (attr.shape[1] * attr.shape[-1]))
    return per_component(task.space, parts)


CAPTUM = {
    "LayerConductance (32 steps)": ("conductance", CaptumLayerConductance),
    "InternalInfluence (32 steps)": ("influence", CaptumInternalInfluence),
    "LayerActivation": ("activation", CaptumLayerActivation),
    "LayerFeatureAblation": ("ablation", CaptumLayerFeatureAblation),
}


def captum(tasks_: dict[str, ComponentTask], repeats: int, budget: float) -> None:
    print("\n| task | Captum method | direct CPU s | via xai-bench CPU s | via / direct "
          "| max abs diff |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for task_name, task in tasks_.items():
        runs: dict[str, Callable[[], Any]] = {}
        diffs: dict[str, float] = {}
        for label, (method, explainer) in CAPTUM.items():
            direct = captum_direct(task, method).numpy()
            wrapped = explainer().explain(task).attributions
            diff = float(np.abs(direct - wrapped).max())
            assert diff <= 1e-4 * max(1.0, float(np.abs(wrapped).max())), (label, diff)
            runs[f"direct {label}"] = lambda m=method, t=task: captum_direct(t, m)
            runs[f"wrapped {label}"] = lambda e=explainer, t=task: e().explain(t)
            diffs[label] = diff
        best = best_times(runs, repeats, budget)
        for label in CAPTUM:
            d, w = best[f"direct {label}"], best[f"wrapped {label}"]
            print(f"| {task_name} | {label} | {d:.4f} | {w:.4f} | {w / d:.2f} "
                  f"| {diffs[label]:.1e} |")  # fmt: skip


# ---------------------------------------------------------------- circuit evaluation


def circuits(n_examples: int, n_sizes: int, repeats: int) -> None:
    task, keep = build(n_examples, n_sizes)
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
    best = best_times(ways, repeats, np.inf)
    rows = len(keep) * task.n_examples
    print(
        f"\n{len(task.space)} components, K={len(keep)} circuits x B={task.n_examples} = "
        f"{rows} rows\n"
    )
    floor = min(best[f"limit, chunks of {whole}"], best["limit, one batch"])
    print("| way | CPU s | / fastest limit |")
    print("|---|---|---|")
    for name, seconds in best.items():
        print(f"| {name} | {seconds:.4f} | {seconds / floor:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("all", "explainers", "captum", "circuits"),
                        default="all")  # fmt: skip
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--examples", type=int, default=64, help="B of the circuit table")
    parser.add_argument(
        "--explain-examples", type=int, default=16, help="B of the explainer and Captum tables"
    )
    parser.add_argument("--sizes", type=int, default=21)
    parser.add_argument("--budget", type=float, default=4.0,
                        help="CPU seconds after which an explainer stops repeating")  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.process_time()
    if args.part in ("all", "explainers", "captum"):
        tasks_ = tasks(args.explain_examples)
    if args.part in ("all", "explainers"):
        explainers(tasks_, args.repeats, args.budget)
    if args.part in ("all", "captum"):
        captum(tasks_, args.repeats, args.budget)
    if args.part in ("all", "circuits"):
        circuits(args.examples, args.sizes, args.repeats)
    print(f"\n(bench CPU time {time.process_time() - started:.0f} s; load average "
          f"{os.getloadavg()[0]:.1f})")  # fmt: skip


if __name__ == "__main__":
    main()
