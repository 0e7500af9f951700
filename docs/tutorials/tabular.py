"""# Tabular: which explainer is faithful to an MLP?

A scikit-learn MLP on the breast-cancer data. We explain 8 patients with three methods,
score them with deletion and insertion curves, then run the same comparison as a
`Benchmark` and write the HTML report.
"""

import os

import xai_bench as xb

task = xb.load_task("breast_cancer.mlp")
X = task.X[:8]
print(task.name, task.modality.value, "features:", X.shape[1])

for eid, params in [
    ("random", {}),
    ("shap.kernel", {"n_samples": 100}),
    ("lime.tabular", {"n_samples": 200}),
]:
    expl = xb.get_explainer(eid, **params).explain(task, X)
    deletion = xb.get_metric("deletion_auc", steps=10).score(task, X, expl)
    insertion = xb.get_metric("insertion_auc", steps=10).score(task, X, expl)
    # deletion: lower is better; insertion: higher is better
    print(f"{eid:14s} deletion {deletion.mean:.3f}  insertion {insertion.mean:.3f}")

print("conventions:", sorted(deletion.params))

bench = xb.Benchmark(
    tasks=["breast_cancer.mlp"],
    explainers=[
        "random",
        ("shap.kernel", {"n_samples": 100}),
        ("lime.tabular", {"n_samples": 200}),
    ],
    metrics=[("deletion_auc", {"steps": 10}), ("insertion_auc", {"steps": 10})],
    n_samples=8,
    seed=0,
    name="tabular",
    progress=False,
)
results = bench.run(store="tabular.sqlite", backend="local")
frame = results.to_frame()
print(frame.groupby(["explainer", "metric"])["score"].mean().round(3).unstack())
results.to_html(os.path.join(os.environ.get("XB_DOCS_OUT", "."), "tabular.html"))
