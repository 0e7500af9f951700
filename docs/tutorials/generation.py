"""# Generation: which prefix tokens drive each generated token?

A tiny GPT-2 trained offline, explained with Inseq. Each generated token is one target: the explanation
attributes it to the prefix tokens, with the earlier generated tokens forced.
"""

import os

import xai_bench as xb

task = xb.load_task("generation.tiny_gpt")
X = task.X[:4]
print(task.name, task.modality.value, "prefixes:", len(X))

for eid in ["random", "inseq.saliency", "inseq.integrated_gradients"]:
    expl = xb.get_explainer(eid).explain(task, X)
    res = xb.get_metric("deletion_auc", steps=5).score(task, X, expl)
    print(
        f"{eid:27s} deletion AUC {res.mean:.3f} (lower is better), attributions {expl.attributions.shape}"
    )

bench = xb.Benchmark(
    tasks=["generation.tiny_gpt"],
    explainers=["random", "inseq.saliency", "inseq.integrated_gradients"],
    metrics=[("deletion_auc", {"steps": 5})],
    n_samples=4,
    seed=0,
    name="generation",
    progress=False,
)
results = bench.run(store="generation.sqlite", backend="local")
print(results.to_frame().groupby(["explainer", "metric"])["score"].mean().round(3).unstack())
results.to_html(os.path.join(os.environ.get("XB_DOCS_OUT", "."), "generation.html"))
